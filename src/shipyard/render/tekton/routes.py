"""Which GitHub event starts which pipeline, with which parameters: the table behind both ``ci plan`` and the
rendered EventListener (one trigger per route)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shipyard.render.tekton.conditions import (
    All,
    Any_,
    Condition,
    Eq,
    Equal,
    IsType,
    Not,
    OneOf,
    StartsWith,
    TouchesPath,
)

PR_ACTIONS = ("opened", "synchronize", "reopened")
PACKAGES_PREFIX = "packages/"

# Each pipeline declares exactly these params (and uses each one), so binding, template and pipeline agree.
_FORK_PR_PARAMS = {
    "git-url": "repository.clone_url",
    "git-revision": "pull_request.head.sha",
    "pr-number": "number",
    "base-ref": "pull_request.base.ref",
    "head-ref": "pull_request.head.ref",
}
_PR_PARAMS = {**_FORK_PR_PARAMS, "repo-full-name": "repository.full_name"}
_TEARDOWN_PARAMS = {"git-url": "repository.clone_url", "pr-number": "number"}
_PUSH_PARAMS = {"git-url": "repository.clone_url", "git-revision": "after", "git-ref": "ref", "git-before": "before"}
_PACKAGE_PARAMS = {"git-url": "repository.clone_url", "git-revision": "after", "git-ref": "ref"}

# A pull request from a branch of the repository itself: its head repository is the base repository. A fork's
# head is another repository, or null once the fork is deleted; its code is untrusted and runs without secrets.
_HEAD_REPO = "pull_request.head.repo"
_SAME_REPOSITORY = All(
    (
        IsType(_HEAD_REPO, "map"),
        IsType(f"{_HEAD_REPO}.full_name", "string"),
        IsType("pull_request.base.repo.full_name", "string"),
        Equal(f"{_HEAD_REPO}.full_name", "pull_request.base.repo.full_name"),
    )
)
_PR_OPENED = OneOf("action", PR_ACTIONS)
_LIVE = Eq("deleted", False)  # a push that deletes a branch carries the ref too: never build it
_RELEASE_OR_HOTFIX = Any_((StartsWith("ref", "refs/heads/release/"), StartsWith("ref", "refs/heads/hotfix/")))
_RELEASE_LINE = Any_(
    (
        Eq("ref", "refs/heads/develop"),
        Eq("ref", "refs/heads/main"),
        StartsWith("ref", "refs/heads/release/"),
        StartsWith("ref", "refs/heads/hotfix/"),
    )
)


@dataclass(frozen=True)
class Route:
    """One trigger: an event type, a filter over the body, the pipeline it starts and where its params come from."""

    pipeline: str
    event: str
    condition: Condition
    params: dict[str, str] = field(default_factory=dict)
    description: str = ""


ROUTES: tuple[Route, ...] = (
    Route(
        "pr-validation",
        "pull_request",
        All((_PR_OPENED, _SAME_REPOSITORY)),
        _PR_PARAMS,
        "check, test, build, scan and preview a PR",
    ),
    Route(
        "pr-validation-fork",
        "pull_request",
        All((_PR_OPENED, Not(_SAME_REPOSITORY))),
        _FORK_PR_PARAMS,
        "check, test and build a fork's PR, without secrets",
    ),
    Route("preview-teardown", "pull_request", Eq("action", "closed"), _TEARDOWN_PARAMS, "remove a closed PR's preview"),
    Route("alpha-build", "push", All((Eq("ref", "refs/heads/develop"), _LIVE)), _PUSH_PARAMS, "alpha from develop"),
    Route("beta-build", "push", All((_RELEASE_OR_HOTFIX, _LIVE)), _PUSH_PARAMS, "beta from release/* and hotfix/*"),
    Route("stable-release", "push", All((Eq("ref", "refs/heads/main"), _LIVE)), _PUSH_PARAMS, "stable from main"),
    Route(
        "package-build",
        "push",
        All((_RELEASE_LINE, _LIVE, TouchesPath(PACKAGES_PREFIX))),
        _PACKAGE_PARAMS,
        "npm packages changed on a release line",
    ),
)

EVENT_TYPES: tuple[str, ...] = tuple(sorted({r.event for r in ROUTES}))


def _param(body: Any, path: str) -> str:
    value: Any = body
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    # TriggerBindings pass non-strings as their JSON text; a missing field becomes an empty string here.
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


@dataclass(frozen=True)
class EventPlan:
    """What an event starts: pipelines with their params, or the reason nothing runs."""

    event: str
    pipelines: tuple[tuple[str, dict[str, str]], ...]
    ignored: str | None

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON data."""
        return {
            "event": self.event,
            "pipelines": [{"name": name, "params": params} for name, params in self.pipelines],
            "ignored": self.ignored,
        }


def plan_event(event: str, body: Any) -> EventPlan:
    """Route one webhook delivery: every matching trigger's pipeline, or why none matches."""
    matched = tuple(
        (route.pipeline, {name: _param(body, path) for name, path in route.params.items()})
        for route in ROUTES
        if route.event == event and route.condition.holds(body) is True
    )
    return EventPlan(event, matched, None if matched else _why_ignored(event, body))


def _why_ignored(event: str, body: Any) -> str:
    data = body if isinstance(body, dict) else {}
    if event == "pull_request":
        action = data.get("action")
        if action in PR_ACTIONS:
            return (
                f"pull_request {action} without the head and base repositories' full names: "
                "cannot tell a branch of the repository from a fork"
            )
        return (
            f"pull_request action '{action}' starts no pipeline; "
            f"only {', '.join(PR_ACTIONS)} (validation) and closed (preview tear-down) do"
        )
    if event == "push":
        ref = data.get("ref")
        if not isinstance(ref, str):
            return "a push without a ref"
        if data.get("deleted") is True:
            return f"a deletion of {ref} builds nothing"
        if ref.startswith("refs/tags/"):
            return f"a tag push ({ref}) builds nothing: Shipyard's pipelines make the tags"
        branch = ref.removeprefix("refs/heads/")
        if branch in ("develop", "main") or branch.startswith(("release/", "hotfix/")):
            return f"the push to {branch} did not match a pipeline's filter"
        return (
            f"pushes to '{branch}' start no pipeline: only develop, main, release/* and hotfix/* build; "
            "other branches are validated through their pull requests"
        )
    if event == "ping":
        return "ping: GitHub checks the webhook; nothing to run"
    if event == "create":
        return "create events start nothing: a new branch's first push does"
    if event == "delete":
        return "delete events start nothing: a closed pull request tears its preview down"
    return f"'{event}' events start no pipeline; handled: {', '.join(EVENT_TYPES)}"


def infer_event_type(body: Any) -> str | None:
    """The event type from the payload's shape, for when no X-GitHub-Event header was kept; None if unsure."""
    if not isinstance(body, dict):
        return None
    keys = set(body)
    if {"zen", "hook_id"} <= keys:
        return "ping"
    if {"ref", "before", "after", "commits", "pusher"} <= keys:
        return "push"
    if {"ref", "ref_type", "master_branch", "pusher_type"} <= keys:
        return "create"
    if {"ref", "ref_type", "pusher_type"} <= keys and "master_branch" not in keys:
        return "delete"
    # Review and comment events also carry a pull_request: only the bare shape is a pull_request event.
    if {"action", "number", "pull_request"} <= keys and not keys & {"review", "comment", "thread", "requested_team"}:
        return "pull_request"
    return None
