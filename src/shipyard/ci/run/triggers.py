"""Which triggers of the rendered EventListener fire for a webhook delivery, and the PipelineRuns their
templates create, as Tekton Triggers' sink does (``pkg/sink``): interceptors in order, then bindings, then the
template.

The github interceptor's ``eventTypes`` list is read from the rendered object. Its HMAC check is the CLI's
``--signature`` (done before the body is parsed). A CEL filter is evaluated through the Condition of Shipyard's
route table that compiles to exactly the rendered text: the two are one definition (``ci plan`` uses the same),
and cel-python evaluating the compiled CEL agrees with the Condition on every payload the tests generate. A CEL
filter that is not one Shipyard compiles (edited by hand, or from elsewhere) is refused, never guessed.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shipyard.ci.run.bindings import apply_template, resolve_params
from shipyard.ci.run.catalog import Catalog, model_error
from shipyard.ci.run.errors import TektonInputError, UnsupportedFeature
from shipyard.k8s.tekton import EventListener, EventListenerTrigger, PipelineRun
from shipyard.render.tekton.conditions import Condition
from shipyard.render.tekton.routes import ROUTES, plan_event

# Kubernetes' generateName suffix: five characters from an alphabet without vowels or look-alikes.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_GITHUB_PARAMS = {"secretRef", "eventTypes"}


@dataclass(frozen=True)
class TriggeredRun:
    """One PipelineRun a trigger creates: its template params and the run, named as the API server names it."""

    trigger: str
    params: dict[str, str]
    run: PipelineRun
    name: str
    namespace: str


@dataclass(frozen=True)
class Selection:
    """What one delivery starts: the PipelineRuns of the triggers that fire, or why none does."""

    event: str
    listener: str
    runs: tuple[TriggeredRun, ...]
    ignored: str | None


def listener_of(catalog: Catalog) -> EventListener:
    """The folder's one EventListener (a webhook is delivered to one)."""
    if len(catalog.listeners) != 1:
        found = ", ".join(sorted(catalog.listeners)) or "none"
        raise TektonInputError(f"{catalog.root}: expected one EventListener, found {found}")
    return next(iter(catalog.listeners.values()))


def select(
    catalog: Catalog,
    event: str,
    body: Any,
    headers: dict[str, str],
    rng: random.Random | None = None,
) -> Selection:
    """The PipelineRuns ``event`` (with ``body`` and ``headers``) starts through the folder's EventListener."""
    rng = rng or random.Random()
    listener = listener_of(catalog)
    where = catalog.where("EventListener", listener.metadata.name)
    namespace = listener.metadata.namespace or "default"
    event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    payload = {"body": body, "header": headers, "extensions": {}, "context": {"eventID": event_id}}
    runs = []
    for trigger in listener.spec.triggers:
        if _fires(trigger, event, body, f"{where}, trigger {trigger.name}"):
            runs.append(_instantiate(catalog, trigger, payload, namespace, rng))
    ignored = None
    if not runs:
        ignored = plan_event(event, body).ignored or f"no trigger of EventListener {listener.metadata.name} fires"
    return Selection(event, listener.metadata.name, tuple(runs), ignored)


def _compiled_filters() -> dict[str, Condition]:
    return {route.condition.cel(): route.condition for route in ROUTES}


def _fires(trigger: EventListenerTrigger, event: str, body: Any, where: str) -> bool:
    for interceptor in trigger.interceptors:
        ref = interceptor.ref
        params = {p.name: p.value for p in interceptor.params}
        if ref.kind != "ClusterInterceptor" or ref.name not in ("github", "cel"):
            raise UnsupportedFeature(f"{ref.kind} {ref.name}", where=where, hint="ci run runs github and cel")
        if ref.name == "github":
            extra = sorted(set(params) - _GITHUB_PARAMS)
            if extra:
                raise UnsupportedFeature(f"github interceptor param {extra[0]}", where=where)
            allowed = params.get("eventTypes")
            if allowed is not None and event not in allowed:
                return False  # "event type ... is not allowed": the chain stops
            continue
        extra = sorted(set(params) - {"filter"})
        if extra:
            raise UnsupportedFeature(f"CEL interceptor {extra[0]}", where=where)
        text = params.get("filter")
        if text is None:
            continue
        condition = _compiled_filters().get(str(text))
        if condition is None:
            raise UnsupportedFeature(
                f"CEL filter {text!r}",
                where=where,
                hint="ci run evaluates the filters Shipyard compiles; re-render tekton/ with `shipyard ci render`",
            )
        # An error in CEL (a missing field) stops the chain like false does.
        if condition.holds(body) is not True:
            return False
    return True


def _instantiate(
    catalog: Catalog, trigger: EventListenerTrigger, payload: dict[str, Any], namespace: str, rng: random.Random
) -> TriggeredRun:
    where = f"trigger {trigger.name}"
    pairs: list[tuple[str, str]] = []
    for ref in trigger.bindings:
        if ref.ref not in catalog.bindings:
            raise TektonInputError(f"{where}: TriggerBinding {ref.ref} is not in {catalog.root}")
        pairs.extend((p.name, p.value) for p in catalog.bindings[ref.ref].spec.params)
    names = [name for name, _ in pairs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TektonInputError(f"{where}: duplicate param name: {duplicates[0]}")
    if trigger.template.ref not in catalog.templates:
        raise TektonInputError(f"{where}: TriggerTemplate {trigger.template.ref} is not in {catalog.root}")
    template = catalog.templates[trigger.template.ref]
    defaults = {p.name: p.default for p in template.spec.params if isinstance(p.default, str)}
    params = resolve_params(pairs, payload, defaults, where)
    if len(template.spec.resourcetemplates) != 1:
        raise UnsupportedFeature("a TriggerTemplate with several resource templates", where=where)
    uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    text = apply_template(json.dumps(template.spec.resourcetemplates[0].to_dict()), params, uid)
    template_where = catalog.where("TriggerTemplate", template.metadata.name)
    try:
        run = PipelineRun.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise TektonInputError(
            f"{template_where}: the PipelineRun is not valid JSON once its params are in ({exc.msg}); "
            "a param that holds JSON text (an object from the body) breaks it on a cluster too"
        ) from None
    except ValidationError as exc:
        raise model_error(exc, template_where) from None
    suffix = "".join(rng.choice(_NAME_ALPHABET) for _ in range(5))
    return TriggeredRun(trigger.name, params, run, run.metadata.generate_name + suffix, namespace)
