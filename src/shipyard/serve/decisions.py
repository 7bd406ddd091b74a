"""Approving and rejecting freight for a manual stage, as the person who is signed in.

``POST /approvals/{stage}/{freight}/approve`` (or ``/reject``), with an optional ``comment``, calls the
approvals library exactly as ``shipyard approvals approve|reject`` does: ``decide`` checks that the person
may decide (the stage's approvers, the four-eyes rule, an earlier rejection) and records the decision as a
commit with its trailers in the config repo, which is the audit log. When an approval brings the count to
what the stage requires, the promotion follows (``promote``, as ``shipyard promote`` without ``--approve``
does once the approvals are in); if another gate still says no (the stable tag, Harbor's scan), the
approval stays recorded and the answer says what the promotion waits for.

Only a person decides: an anonymous reader is refused (401), and so is anyone the rules refuse (403, with
the gate's reason; nothing is written). The CSRF middleware has checked the request before it gets here.

The answer is ``{"decision": <approvals approve --json>, "promotion": <promote --json> | <its refusal> |
null}``, or the page that shows it.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shipyard.errors import ShipyardError
from shipyard.serve.api import SortedJSON, wants_html
from shipyard.serve.csrf import MAX_FORM, Refusal, read_body

if TYPE_CHECKING:
    from shipyard.serve.app import ServeState

FREIGHT_ID = re.compile(r"[0-9a-f]{7,64}")
STAGE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
Verdict = Literal["approve", "reject"]


def _answer(request: Request, status: int, data: dict[str, Any]) -> Response:
    state: ServeState = request.app.state.shipyard
    if wants_html(request):
        return state.templates.TemplateResponse(request, "decision.html", {"data": data}, status_code=status)
    return SortedJSON(data, status)


async def _comment(request: Request) -> str | None:
    body = await read_body(request.receive, MAX_FORM)
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise Refusal(400, "the body is not JSON") from None
        comment = data.get("comment") if isinstance(data, dict) else None
        if comment is not None and not isinstance(comment, str):
            raise Refusal(400, "comment must be text")
        return comment
    return next(iter(parse_qs(body.decode("utf-8", "replace")).get("comment") or []), None)


def decide_and_promote(
    state: ServeState, stage: str, freight: str, verdict: Verdict, person: str, comment: str | None
) -> tuple[int, dict[str, Any]]:
    """Record ``person``'s decision; promote when an approval completes the count. (status, answer)."""
    from shipyard.promotion.approvals import DecisionRefused
    from shipyard.promotion.decide import decide
    from shipyard.promotion.executor import promote
    from shipyard.promotion.gates import GateRefused

    settings = state.settings
    assert settings.platform is not None and settings.config_repo is not None
    platform, repo = settings.platform, settings.config_repo
    try:
        decided = decide(
            platform, repo, stage, verdict, person, freight=freight, comment=comment, app_repo=settings.root
        )
    except GateRefused as refused:
        return 403, {"decision": refused.to_json(), "promotion": None}
    except DecisionRefused as refused:
        return 409, {"decision": {"refused": True, "stage": stage, "error": str(refused)}, "promotion": None}
    except ShipyardError as exc:
        return 400, {"decision": {"refused": True, "stage": stage, "error": str(exc)}, "promotion": None}
    answer: dict[str, Any] = {"decision": decided.to_json(), "promotion": None}
    if verdict == "approve" and decided.tally.satisfied:
        harbor = settings.harbor.credentials if settings.harbor else None
        try:
            outcome = promote(
                platform,
                repo,
                stage,
                state.tags(),
                freight=decided.decision.freight,
                harbor_credentials=harbor,
                app_repo=settings.root,
            )
        except GateRefused as refused:
            answer["promotion"] = refused.to_json()
        except ShipyardError as exc:
            answer["promotion"] = {"refused": True, "stage": stage, "error": str(exc)}
        else:
            answer["promotion"] = outcome.to_json()
    return 200, answer


async def decision(request: Request) -> Response:
    """Approve or reject a freight for a manual stage as the signed-in person."""
    state: ServeState = request.app.state.shipyard
    stage, freight, verdict = (request.path_params[k] for k in ("stage", "freight", "verdict"))
    if verdict not in ("approve", "reject") or not STAGE.fullmatch(stage) or not FREIGHT_ID.fullmatch(freight):
        return _answer(request, 404, {"decision": {"refused": True, "error": "no such decision to make"}})
    if state.settings.platform is None or state.settings.config_repo is None:
        return _answer(request, 404, {"decision": {"refused": True, "error": "serve was started without a workspace"}})
    person = request.state.identity.name
    if person is None:
        error = "only a person who is signed in decides: sign in with your token"
        return _answer(request, 401, {"decision": {"refused": True, "stage": stage, "error": error}})
    try:
        comment = await _comment(request)
    except Refusal as refused:
        return _answer(request, refused.status, {"decision": {"refused": True, "error": refused.reason}})
    status, answer = await run_in_threadpool(decide_and_promote, state, stage, freight, verdict, person, comment)
    promoted = answer["promotion"] or {}
    state.events.append(
        "decision",
        person=person,
        stage=stage,
        freight=freight,
        decision=verdict,
        status=status,
        commit=answer["decision"].get("commit"),
        promoted=[m.get("commit") for m in promoted.get("moves", [])] or None,
    )
    if status == 200:
        from shipyard.serve.app import config_tip

        tip = await run_in_threadpool(config_tip, state.settings.config_repo, state.settings.state_dir)
        if tip is not None and tip != state.config_tip:
            state.config_tip = tip
            state.hub.publish("config", {"commit": tip})  # every open page shows the decision now
    return _answer(request, status, answer)


def routes(state: ServeState) -> list[BaseRoute]:
    """The decisions' route."""
    del state
    return [Route("/approvals/{stage:str}/{freight:str}/{verdict:str}", decision, methods=["POST"], name="decide")]
