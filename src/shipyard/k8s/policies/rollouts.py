"""Argo Rollouts as its controller (v1.9) will read the built overlays: is it installed where a Rollout runs, do
a canary's weights mean what they say, do its references resolve, and does something abort a bad version."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from shipyard.k8s.documents import Document, Finding, json_path
from shipyard.k8s.policies.tree import Tree

ROLLOUT_API = "argoproj.io/"
HASH_LABEL = "rollouts-pod-template-hash"
WEIGHT_TOLERANCE = 5
"""How many percentage points a canary step's real share of traffic may differ from its ``setWeight``."""
_INSTALL = re.compile(r"argoproj/argo-rollouts/releases/download/[^/]+/(namespace-)?install\.yaml\Z")


def _rollouts(docs: list[Document]) -> list[Document]:
    return [d for d in docs if d.kind == "Rollout" and str(d.data.get("apiVersion", "")).startswith(ROLLOUT_API)]


def _finding(doc: Document, path: Sequence[str | int], check: str, message: str) -> Finding:
    return Finding(doc.file, doc.index, doc.label, json_path(path), check, "error", message)


def _installs(kustomization: Document | None) -> bool:
    """True when a kustomization deploys Argo Rollouts' release manifest."""
    resources = kustomization.data.get("resources") or [] if kustomization is not None else []
    return any(isinstance(r, str) and _INSTALL.search(r) for r in resources)


def controller(tree: Tree) -> list[Finding]:
    """Every cluster an Application deploys a Rollout to has Argo Rollouts installed by an Application.

    The Rollouts controller (its release ``install.yaml`` or chart) watches the cluster it runs in only; in a
    cluster without it a Rollout (if its CRD is there at all) never creates a pod, and the Deployment it
    took over is kept at zero replicas.
    """
    installed: set[str] = set()
    for app in tree.applications:
        source = (app.doc.data.get("spec") or {}).get("source") or {}
        if source.get("chart") == "argo-rollouts" or (app.path is not None and _installs(tree.kustomization(app.path))):
            installed.add(app.server)
    findings: list[Finding] = []
    for app in tree.applications:
        if app.built is not None and _rollouts(app.built) and app.server not in installed:
            findings.append(
                _finding(
                    app.doc,
                    ["spec", "destination"],
                    "rollouts/controller",
                    f"this Application deploys Rollouts to {app.server}, where no Application installs Argo "
                    "Rollouts: nothing would run their pods",
                )
            )
    return findings


def _surge(canary: dict[str, Any], replicas: int) -> int:
    value = canary.get("maxSurge", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(replicas * int(value[:-1]) / 100)
    return int(value)


def replica_share(replicas: int, weight: int, max_surge: int) -> float:
    """The share of pods (so, without traffic routing, of requests) the canary gets at ``weight``: Argo Rollouts'
    own approximation (utils/replicaset/canary.go ``approximateWeightedCanaryStableReplicaCounts``), the closest
    of a ceiling and a floor of canary pods, over ``replicas`` or, with a surge, one more."""
    if replicas == 0:
        return float(weight)
    exact = replicas * weight / 100
    ceiling, floor = math.ceil(exact), math.floor(exact)
    zero_allowed = weight in (0, 100) or (replicas == 1 and max_surge == 0)

    def tied(total: int) -> bool:
        return math.modf(total * weight / 100)[0] == 0.5

    options: list[tuple[int, int]] = []
    if ceiling < replicas or zero_allowed:
        options.append((ceiling, replicas))
    if not tied(replicas) and (floor != 0 or zero_allowed):
        options.append((floor, replicas))
    if max_surge > 0:
        options.append((ceiling, replicas + 1))
        if not tied(replicas + 1) and (floor != 0 or zero_allowed):
            options.append((floor, replicas + 1))
    if not options:
        return 0.0
    canary, total = min(options, key=lambda o: abs(o[0] * 100 / o[1] - weight))
    return canary * 100 / total


def canary_weights(tree: Tree) -> list[Finding]:
    """A canary's ``setWeight`` steps without traffic routing are kept within a few points.

    Without ``trafficRouting`` Argo Rollouts splits traffic only by the number of pods behind one Service: with
    2 replicas, ``setWeight: 10`` runs one canary pod beside two stable ones, a third of the requests.
    """
    findings: list[Finding] = []
    for docs in tree.builds.values():
        for rollout in _rollouts(docs):
            spec = rollout.data.get("spec") or {}
            canary = (spec.get("strategy") or {}).get("canary")
            if not isinstance(canary, dict) or canary.get("trafficRouting"):
                continue
            replicas = int(spec.get("replicas", 1))
            surge = _surge(canary, replicas)
            off = [
                f"setWeight {w} gives it {replica_share(replicas, w, surge):.0f}%"
                for w in (s.get("setWeight") for s in canary.get("steps") or [] if isinstance(s, dict))
                if isinstance(w, int) and abs(replica_share(replicas, w, surge) - w) > WEIGHT_TOLERANCE
            ]
            if off:
                findings.append(
                    _finding(
                        rollout,
                        ["spec", "strategy", "canary"],
                        "rollouts/canary-weights",
                        f"without trafficRouting the canary's share of requests is its share of {replicas} pods: "
                        f"{'; '.join(off)}; route traffic (e.g. trafficRouting.nginx) so each weight is exact",
                    )
                )
    return findings


def _template_labels(rollout: Document, docs: list[Document]) -> dict[str, Any]:
    """The labels of the pods a Rollout runs: its own template's, or those of the Deployment it references."""
    spec = rollout.data.get("spec") or {}
    template = spec.get("template")
    reference = spec.get("workloadRef") or {}
    if not template and reference:
        owner = next((d for d in docs if d.kind == reference.get("kind") and d.name == reference.get("name")), None)
        template = ((owner.data.get("spec") or {}).get("template")) if owner else None
    return dict(((template or {}).get("metadata") or {}).get("labels") or {})


def _has_backend(ingress: Document, service: str) -> bool:
    for rule in (ingress.data.get("spec") or {}).get("rules") or []:
        for path in ((rule or {}).get("http") or {}).get("paths") or []:
            if (((path or {}).get("backend") or {}).get("service") or {}).get("name") == service:
                return True
    return False


def traffic_routing(tree: Tree) -> list[Finding]:
    """A canary with traffic routing names a canary and a stable Service that exist, differ and select its pods,
    and ingress-nginx's stable Ingress exists and sends to the stable Service.

    Argo Rollouts refuses such a Rollout otherwise (pkg/apis/rollouts/validation: "Canary service and Stable
    service must to be set to use Traffic Routing", ``ValidateService``, and for nginx "ingress ... has no
    rules using service ... backend"); the canary Ingress it makes is a copy of the stable one.
    """
    findings: list[Finding] = []
    for docs in tree.builds.values():
        services = {d.name: d for d in docs if d.kind == "Service"}
        ingresses = {d.name: d for d in docs if d.kind == "Ingress"}
        for rollout in _rollouts(docs):
            canary = ((rollout.data.get("spec") or {}).get("strategy") or {}).get("canary")
            if not isinstance(canary, dict) or not canary.get("trafficRouting"):
                continue
            where = ["spec", "strategy", "canary"]
            problems: list[str] = []
            names = {role: canary.get(f"{role}Service") for role in ("canary", "stable")}
            if not all(names.values()):
                problems.append("traffic routing needs both canaryService and stableService")
            elif names["canary"] == names["stable"]:
                problems.append("canaryService and stableService must be two Services")
            labels = _template_labels(rollout, docs)
            for role, name in names.items():
                if not name:
                    continue
                service = services.get(str(name))
                if service is None:
                    problems.append(f"{role}Service {name} is not deployed with it")
                    continue
                selector = (service.data.get("spec") or {}).get("selector") or {}
                wrong = sorted(k for k, v in selector.items() if k != HASH_LABEL and labels.get(k) != v)
                if wrong:
                    problems.append(f"{role}Service {name} selects {', '.join(wrong)} that its pods do not carry")
            nginx = (canary.get("trafficRouting") or {}).get("nginx")
            if isinstance(nginx, dict):
                stable = [nginx.get("stableIngress"), *(nginx.get("stableIngresses") or [])]
                for name in [s for s in stable if s]:
                    ingress = ingresses.get(str(name))
                    if ingress is None:
                        problems.append(f"stable Ingress {name} is not deployed with it")
                    elif names["stable"] and not _has_backend(ingress, str(names["stable"])):
                        problems.append(f"Ingress {name} has no rule sending to stableService {names['stable']}")
            findings += [_finding(rollout, where, "rollouts/traffic-routing", p) for p in problems]
    return findings


def _references(spec: dict[str, Any]) -> list[tuple[list[str | int], dict[str, Any], bool]]:
    """Every analysis of a Rollout: (where, the analysis, whether it runs in the background)."""
    strategy = spec.get("strategy") or {}
    found: list[tuple[list[str | int], dict[str, Any], bool]] = []
    canary = strategy.get("canary") or {}
    if isinstance(canary.get("analysis"), dict):
        found.append((["spec", "strategy", "canary", "analysis"], canary["analysis"], True))
    for index, step in enumerate(canary.get("steps") or []):
        if isinstance(step, dict) and isinstance(step.get("analysis"), dict):
            found.append((["spec", "strategy", "canary", "steps", index, "analysis"], step["analysis"], False))
    blue_green = strategy.get("blueGreen") or {}
    for key in ("prePromotionAnalysis", "postPromotionAnalysis"):
        if isinstance(blue_green.get(key), dict):
            found.append((["spec", "strategy", "blueGreen", key], blue_green[key], False))
    return found


def analysis(tree: Tree) -> list[Finding]:
    """A canary that shifts traffic has an analysis, so a bad canary aborts by itself; every analysis names
    templates that exist, a blocking one ends, and a background one is given the arguments it needs.

    Argo Rollouts aborts a Rollout whose AnalysisRun fails or errors (rollout/analysis.go). Without an analysis
    a canary goes on to 100% whatever it answers. A missing template makes the Rollout invalid; a template
    used by a step or a blue-green switch must count its measurements (else it "runs indefinitely"), and a
    background template's arguments without a value must come from the Rollout (pkg/apis/rollouts/validation,
    ``ValidateAnalysisTemplateWithType``).
    """
    cluster_templates = {
        d.name: d
        for docs in [tree.documents, *tree.builds.values()]
        for d in docs
        if d.kind == "ClusterAnalysisTemplate"
    }
    findings: list[Finding] = []
    for docs in tree.builds.values():
        templates = {d.name: d for d in docs if d.kind == "AnalysisTemplate"}
        for rollout in _rollouts(docs):
            spec = rollout.data.get("spec") or {}
            references = _references(spec)
            canary = (spec.get("strategy") or {}).get("canary") or {}
            weighted = any(isinstance(s, dict) and "setWeight" in s for s in canary.get("steps") or [])
            if weighted and not references:
                findings.append(
                    _finding(
                        rollout,
                        ["spec", "strategy", "canary"],
                        "rollouts/analysis",
                        "nothing aborts a bad canary by itself: add an analysis (canary.analysis, or an analysis "
                        "step) whose failure aborts the rollout",
                    )
                )
            for where, entry, background in references:
                given = {a.get("name") for a in entry.get("args") or [] if isinstance(a, dict)}
                for index, ref in enumerate(entry.get("templates") or []):
                    name = str((ref or {}).get("templateName"))
                    scope = cluster_templates if (ref or {}).get("clusterScope") else templates
                    template = scope.get(name)
                    at = [*where, "templates", index]
                    if template is None:
                        kind = "ClusterAnalysisTemplate" if scope is cluster_templates else "AnalysisTemplate"
                        findings.append(
                            _finding(rollout, at, "rollouts/analysis", f"{kind} {name} is not deployed with it")
                        )
                        continue
                    body = template.data.get("spec") or {}
                    if not background:
                        endless = [
                            m.get("name")
                            for m in body.get("metrics") or []
                            if isinstance(m, dict) and m.get("count") is None
                        ]
                        if endless:
                            findings.append(
                                _finding(
                                    rollout,
                                    at,
                                    "rollouts/analysis",
                                    f"AnalysisTemplate {name} runs {', '.join(map(str, endless))} without a count, "
                                    "but this analysis must end before the rollout goes on",
                                )
                            )
                    missing = [
                        a.get("name")
                        for a in body.get("args") or []
                        if isinstance(a, dict)
                        and "value" not in a
                        and "valueFrom" not in a
                        and a.get("name") not in given
                    ]
                    if missing:
                        findings.append(
                            _finding(
                                rollout,
                                at,
                                "rollouts/analysis",
                                f"AnalysisTemplate {name} needs the argument(s) {', '.join(map(str, missing))}",
                            )
                        )
    return findings
