"""``harbor apply``: read Harbor's state, compute the requests that make it match the spec, send them.

Planning only reads (GET), so a dry run and a second apply send no mutating request. The robot's
secret exists only in the apply result (for the CLI to print once); it is never part of a plan, a
message or an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from shipyard.registry.harbor import desired
from shipyard.registry.harbor.client import HarborClient, HarborError
from shipyard.spec.model import Platform


@dataclass
class Change:
    """One mutating request: what it changes (for people) and how to send it."""

    action: str  # create | update
    target: str
    method: str
    path: str
    send: Callable[[HarborClient], str | None] = field(repr=False)

    def to_json(self) -> dict[str, str]:
        """JSON-ready (no bodies: they may carry secrets such as the webhook's auth header)."""
        return {"action": self.action, "target": self.target, "method": self.method, "path": self.path}


def _p(name: str) -> str:
    return "/projects/" + quote(name, safe="")


def _selectors(rule: dict[str, Any]) -> Any:
    return [(s.get("kind"), s.get("decoration"), s.get("pattern")) for s in rule.get("tag_selectors") or []]


def _rule_key(rule: dict[str, Any]) -> tuple[Any, ...]:
    scopes = {
        k: sorted((s.get("kind"), s.get("decoration"), s.get("pattern")) for s in v)
        for k, v in (rule.get("scope_selectors") or {}).items()
    }
    params = {k: int(v) if isinstance(v, int | float) else v for k, v in (rule.get("params") or {}).items()}
    return (
        bool(rule.get("disabled")),
        rule.get("action"),
        rule.get("template"),
        sorted(params.items()),
        _selectors(rule),
        sorted(scopes.items()),
    )


def _permissions_key(permissions: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    return {
        (str(p.get("kind")), str(p.get("namespace")), str(a.get("resource")), str(a.get("action")))
        for p in permissions
        for a in p.get("access") or []
        if a.get("effect", "allow") == "allow"
    }


def _webhook_key(policy: dict[str, Any]) -> tuple[Any, ...]:
    targets = sorted(
        (str(t.get("type")), str(t.get("address")), bool(t.get("skip_cert_verify")))
        for t in policy.get("targets") or []
    )
    return (bool(policy.get("enabled")), sorted(policy.get("event_types") or []), targets)


def plan_project(
    client: HarborClient, platform: Platform, name: str, managed: bool, hook: dict[str, Any]
) -> list[Change]:
    """Changes for one project; ``managed`` projects (services) also get immutability and retention."""
    changes: list[Change] = []
    metadata = desired.project_metadata(platform)
    project = client.get_json(_p(name), allow=(404,))
    if project is None:
        body = {"project_name": name, "metadata": metadata}
        changes.append(
            Change("create", f"project {name}", "POST", "/projects", lambda c: _send(c, "POST", "/projects", body))
        )
        current_meta: dict[str, str] = {}
        rules: list[dict[str, Any]] = []
        hooks: list[dict[str, Any]] = []
    else:
        current_meta = {k: str(v) for k, v in (project.get("metadata") or {}).items()}
        wanted = {k: v for k, v in metadata.items() if current_meta.get(k) != v}
        if wanted:
            body = {"metadata": {**current_meta, **metadata}}
            changes.append(
                Change(
                    "update",
                    f"project {name} metadata ({', '.join(sorted(wanted))})",
                    "PUT",
                    _p(name),
                    lambda c: _send(c, "PUT", _p(name), body),
                )
            )
        rules = client.list_all(_p(name) + "/immutabletagrules") if managed else []
        hooks = client.list_all(_p(name) + "/webhook/policies")

    if managed:
        changes += _plan_immutable(platform, name, rules)
        changes += _plan_retention(client, platform, name, current_meta.get("retention_id"))
    changes += _plan_webhook(name, hooks, hook)
    return changes


def _send(client: HarborClient, method: str, path: str, body: Any) -> None:
    client.call(method, path, body=body)


def _plan_immutable(platform: Platform, project: str, rules: list[dict[str, Any]]) -> list[Change]:
    want = desired.immutable_rule(platform)
    path = _p(project) + "/immutabletagrules"
    same_pattern = [r for r in rules if _selectors(r) == _selectors(want)]
    if not same_pattern:
        return [
            Change(
                "create",
                f"immutable rule {project} {want['tag_selectors'][0]['pattern']}",
                "POST",
                path,
                lambda c: _send(c, "POST", path, want),
            )
        ]
    current = same_pattern[0]
    if _rule_key(current) == _rule_key(want):
        return []
    rule_path = f"{path}/{current['id']}"
    body = {**want, "id": current["id"], "priority": current.get("priority", 0)}
    return [Change("update", f"immutable rule {project}", "PUT", rule_path, lambda c: _send(c, "PUT", rule_path, body))]


def _plan_retention(client: HarborClient, platform: Platform, project: str, retention_id: str | None) -> list[Change]:
    current = client.get_json(f"/retentions/{int(retention_id)}", allow=(404,)) if retention_id else None
    if current is None:

        def create(c: HarborClient) -> None:
            # The project may have been created by this apply: its id is known only now.
            found = c.get_json(_p(project))
            c.call("POST", "/retentions", body=desired.retention_policy(platform, int(found["project_id"])))

        return [Change("create", f"retention {project} (pr-*, alpha)", "POST", "/retentions", create)]
    want = desired.retention_policy(platform, int(current.get("scope", {}).get("ref") or 0))
    same_rules = sorted(map(_rule_key, current.get("rules") or [])) == sorted(map(_rule_key, want["rules"]))
    same_trigger = (current.get("trigger") or {}).get("settings", {}).get("cron") == want["trigger"]["settings"]["cron"]
    if same_rules and same_trigger and current.get("algorithm") == want["algorithm"]:
        return []
    path = f"/retentions/{int(str(retention_id))}"
    body = {**want, "id": int(str(retention_id))}
    return [Change("update", f"retention {project}", "PUT", path, lambda c: _send(c, "PUT", path, body))]


def _plan_webhook(project: str, hooks: list[dict[str, Any]], want: dict[str, Any]) -> list[Change]:
    path = _p(project) + "/webhook/policies"
    mine = [h for h in hooks if h.get("name") == desired.WEBHOOK_NAME]
    if not mine:
        return [
            Change(
                "create",
                f"webhook {project} {', '.join(desired.WEBHOOK_EVENTS)}",
                "POST",
                path,
                lambda c: _send(c, "POST", path, want),
            )
        ]
    if _webhook_key(mine[0]) == _webhook_key(want):
        return []
    hook_path = f"{path}/{mine[0]['id']}"
    body = {**want, "id": mine[0]["id"]}
    return [Change("update", f"webhook {project}", "PUT", hook_path, lambda c: _send(c, "PUT", hook_path, body))]


def plan_robot(client: HarborClient, platform: Platform) -> list[Change]:
    """Create the CI robot, or bring its permissions back to least privilege."""
    want = desired.robot_create(platform)
    robots = client.list_all("/robots", {"q": f"name=~{desired.ROBOT_NAME}"})
    mine = [r for r in robots if str(r.get("name", "")).split("$", 1)[-1] == desired.ROBOT_NAME]
    if not mine:

        def create(c: HarborClient) -> str | None:
            created = c.call("POST", "/robots", body=want).json()
            secret = created.get("secret") if isinstance(created, dict) else None
            return str(secret) if secret else None

        return [
            Change("create", f"robot {desired.ROBOT_NAME} (system level, least privilege)", "POST", "/robots", create)
        ]
    robot = mine[0]
    if _permissions_key(robot.get("permissions") or []) == _permissions_key(want["permissions"]) and not robot.get(
        "disable"
    ):
        return []
    path = f"/robots/{int(robot['id'])}"
    body = {
        "id": int(robot["id"]),
        "name": robot.get("name"),
        "description": want["description"],
        "level": want["level"],
        "duration": robot.get("duration", -1),
        "disable": False,
        "permissions": want["permissions"],
    }
    return [
        Change("update", f"robot {desired.ROBOT_NAME} permissions", "PUT", path, lambda c: _send(c, "PUT", path, body))
    ]


def plan_harbor(
    client: HarborClient, platform: Platform, webhook_url: str, webhook_auth: str | None, *, robot: bool = True
) -> list[Change]:
    """Every change Harbor needs (the CI robot's only when ``robot``); only GET requests are sent."""
    if platform.registry.kind != "harbor":
        raise HarborError(f"registry.kind is '{platform.registry.kind}'; harbor apply needs registry.kind: harbor")
    if webhook_auth is not None:
        from shipyard.secretfile import check_secret

        webhook_auth = check_secret(webhook_auth, "the webhook's Authorization header (SHIPYARD_HARBOR_WEBHOOK_AUTH)")
    hook = desired.webhook_policy(webhook_url, webhook_auth)
    projects = platform.registry.projects
    changes = plan_project(client, platform, projects.services, True, hook)
    changes += plan_project(client, platform, projects.base_images, False, hook)
    if robot:
        changes += plan_robot(client, platform)
    return changes


@dataclass
class ApplyResult:
    """What an apply did; ``robot_secret`` is set only when the robot was created just now."""

    changes: list[Change]
    robot_secret: str | None = None
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        """For JSON output (documented in docs/registries.md); the robot's secret appears once, when created."""
        robot = {"name": f"robot${desired.ROBOT_NAME}", "secret": self.robot_secret} if self.robot_secret else None
        return {
            "command": "shipyard harbor apply",
            "dryRun": self.dry_run,
            "changes": [c.to_json() for c in self.changes],
            "robot": robot,
        }


def apply_changes(client: HarborClient, changes: list[Change]) -> ApplyResult:
    """Send the changes in order (projects before what they hold)."""
    result = ApplyResult(changes)
    for change in changes:
        secret = change.send(client)
        if secret:
            result.robot_secret = secret
    return result
