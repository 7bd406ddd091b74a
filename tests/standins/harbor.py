"""A stand-in for Harbor's API. No Harbor can run here (it needs a Docker engine and a dozen
services), so the tests talk to this small HTTP server instead. It checks every request against
Harbor's own API description (../shared/reference/harbor/swagger.yaml, Swagger 2.0): the operation,
its path, query and header parameters, and its body. It keeps state for the operations Shipyard
uses, so a second apply sees what the first one made. Problems are collected in ``violations``.
"""

from __future__ import annotations

import itertools
import json
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.localhttp import serve, stop
from tests.standins.swagger import SwaggerChecker

Reply = tuple[int, Any, dict[str, str]]


@dataclass
class HarborState:
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    immutable: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    webhooks: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    retentions: dict[int, dict[str, Any]] = field(default_factory=dict)
    robots: dict[int, dict[str, Any]] = field(default_factory=dict)
    vulnerabilities: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    artifacts: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """(project, repository, tag or digest) -> the artifact's digest."""
    artifact_details: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    """(project, repository, digest) -> the whole artifact Harbor answers (tags, annotations)."""
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class HarborStandin:
    """Serves on 127.0.0.1; ``requests`` lists (method, path) received, ``violations`` the problems."""

    def __init__(self, checker: SwaggerChecker) -> None:
        self.checker = checker
        self.state = HarborState()
        self.requests: list[tuple[str, str]] = []
        self.violations: list[str] = []
        self.refusals: list[Reply] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> HarborStandin:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes; without this, Nagle's algorithm and the client's
                # delayed ACK hold each kept-alive answer back for about 40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: object) -> None:
                return

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                status, payload, headers = standin.handle(
                    self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body
                )
                # Bytes go out as they are: a test can serve JSON no encoder writes (duplicate keys).
                data = (
                    payload if isinstance(payload, bytes) else b"" if payload is None else json.dumps(payload).encode()
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815 - http.server's names

        self.server = serve(Handler)
        return self

    def stop(self) -> None:
        stop(self.server)

    def refuse_next(self, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next valid request with ``status`` (a rate limit, an outage) instead of serving it."""
        self.refusals.append((status, {"errors": [{"code": str(status), "message": "refused"}]}, headers or {}))

    # -- request handling ----------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes | None
    ) -> Reply:
        with self.lock:
            self.requests.append((method, path))
            op, params, problems = self.checker.check(method, path, query, headers, body)
            self.violations += problems
            if op is None or problems:
                return 400, {"errors": [{"code": "BAD_REQUEST", "message": "; ".join(problems)}]}, {}
            if self.refusals:
                return self.refusals.pop(0)
            handler: Callable[..., Reply] | None = getattr(self, f"op_{op.operation_id}", None)
            if handler is None:
                self.violations.append(f"{op.operation_id}: valid, but the stand-in does not implement it")
                return 501, None, {}
            data = json.loads(body) if body and body.strip() else None
            return handler({k: unquote(v) for k, v in params.items()}, query, data)

    def _project(self, name_or_id: str) -> dict[str, Any] | None:
        if name_or_id in self.state.projects:
            return self.state.projects[name_or_id]
        return next((p for p in self.state.projects.values() if str(p["project_id"]) == name_or_id), None)

    @staticmethod
    def _missing(what: str) -> Reply:
        return 404, {"errors": [{"code": "NOT_FOUND", "message": f"{what} not found"}]}, {}

    @staticmethod
    def _page(items: list[Any], query: dict[str, list[str]]) -> Reply:
        page = int(query.get("page", ["1"])[0])
        size = int(query.get("page_size", ["10"])[0])
        return 200, items[(page - 1) * size : page * size], {"X-Total-Count": str(len(items))}

    # projects
    def op_getProject(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        project = self._project(params["project_name_or_id"])
        return (200, project, {}) if project else self._missing("project")

    def op_createProject(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        name = body["project_name"]
        if name in self.state.projects:
            return 409, {"errors": [{"code": "CONFLICT", "message": "exists"}]}, {}
        project_id = next(self.state.ids)
        self.state.projects[name] = {
            "project_id": project_id,
            "name": name,
            "metadata": dict(body.get("metadata") or {}),
        }
        return 201, None, {"Location": f"/api/v2.0/projects/{project_id}"}

    def op_updateProject(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        project = self._project(params["project_name_or_id"])
        if project is None:
            return self._missing("project")
        project["metadata"].update(body.get("metadata") or {})
        return 200, None, {}

    # immutable tag rules
    def op_ListImmuRules(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        project = self._project(params["project_name_or_id"])
        if project is None:
            return self._missing("project")
        return self._page(self.state.immutable.get(project["project_id"], []), query)

    def op_CreateImmuRule(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        project = self._project(params["project_name_or_id"])
        if project is None:
            return self._missing("project")
        rule = {**body, "id": next(self.state.ids), "priority": 0}
        self.state.immutable.setdefault(project["project_id"], []).append(rule)
        return 201, None, {}

    def op_UpdateImmuRule(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        project = self._project(params["project_name_or_id"])
        rules = self.state.immutable.get(project["project_id"], []) if project else []
        for index, rule in enumerate(rules):
            if str(rule["id"]) == params["immutable_rule_id"]:
                rules[index] = {**body, "id": rule["id"]}
                return 200, None, {}
        return self._missing("rule")

    # webhooks
    def op_ListWebhookPoliciesOfProject(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        project = self._project(params["project_name_or_id"])
        if project is None:
            return self._missing("project")
        return self._page(self.state.webhooks.get(project["project_id"], []), query)

    def op_CreateWebhookPolicyOfProject(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        project = self._project(params["project_name_or_id"])
        if project is None:
            return self._missing("project")
        if not body.get("targets") or not body.get("event_types"):
            return 400, {"errors": [{"code": "BAD_REQUEST", "message": "targets and event_types needed"}]}, {}
        policy = {**body, "id": next(self.state.ids), "project_id": project["project_id"]}
        self.state.webhooks.setdefault(project["project_id"], []).append(policy)
        return 201, None, {}

    def op_UpdateWebhookPolicyOfProject(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        project = self._project(params["project_name_or_id"])
        policies = self.state.webhooks.get(project["project_id"], []) if project else []
        for index, policy in enumerate(policies):
            if str(policy["id"]) == params["webhook_policy_id"]:
                policies[index] = {**body, "id": policy["id"], "project_id": policy["project_id"]}
                return 200, None, {}
        return self._missing("webhook policy")

    # retention
    def op_getRetention(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        policy = self.state.retentions.get(int(params["id"]))
        return (200, policy, {}) if policy else self._missing("retention")

    def op_createRetention(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        project = self._project(str(body["scope"]["ref"]))
        if project is None or body["scope"].get("level") != "project":
            return 400, {"errors": [{"code": "BAD_REQUEST", "message": "scope must name a project"}]}, {}
        if "retention_id" in project["metadata"]:
            return 400, {"errors": [{"code": "BAD_REQUEST", "message": "project already has a policy"}]}, {}
        policy_id = next(self.state.ids)
        self.state.retentions[policy_id] = {**body, "id": policy_id}
        project["metadata"]["retention_id"] = str(policy_id)  # Harbor binds the policy to the project
        return 201, None, {"Location": f"/api/v2.0/retentions/{policy_id}"}

    def op_updateRetention(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        policy_id = int(params["id"])
        if policy_id not in self.state.retentions:
            return self._missing("retention")
        self.state.retentions[policy_id] = {**body, "id": policy_id}
        return 200, None, {}

    # robots
    def op_ListRobot(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        robots = [{k: v for k, v in r.items() if k != "secret"} for r in self.state.robots.values()]
        for clause in query.get("q", [""])[0].split(","):
            key, _, value = clause.partition("=")
            if key == "name":
                robots = [
                    r for r in robots if (value[1:] in r["name"] if value.startswith("~") else r["name"] == value)
                ]
        return self._page(robots, query)

    def op_CreateRobot(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        robot_id = next(self.state.ids)
        name = f"robot${body['name']}"
        secret = secrets.token_urlsafe(24)
        self.state.robots[robot_id] = {**body, "id": robot_id, "name": name, "secret": secret, "editable": True}
        return 201, {"id": robot_id, "name": name, "secret": secret}, {"Location": f"/api/v2.0/robots/{robot_id}"}

    def op_UpdateRobot(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        robot_id = int(params["robot_id"])
        if robot_id not in self.state.robots:
            return self._missing("robot")
        self.state.robots[robot_id].update({k: v for k, v in body.items() if k not in ("id", "name", "secret")})
        return 200, None, {}

    # artifacts
    def op_getArtifact(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        project, repository, reference = params["project_name"], unquote(params["repository_name"]), params["reference"]
        digest = self.state.artifacts.get((project, repository, reference))
        for (p, r, known), artifact in self.state.artifact_details.items():
            tags = [t["name"] for t in artifact.get("tags") or []]
            if (p, r) == (project, repository) and (reference in (known, *tags) or known == digest):
                return 200, artifact, {}
        if digest is None:
            return self._missing("artifact")
        return 200, {"digest": digest, "media_type": "application/vnd.oci.image.manifest.v1+json"}, {}

    def op_getVulnerabilitiesAddition(self, params: dict[str, str], query: dict[str, list[str]], body: Any) -> Reply:
        key = (params["project_name"], unquote(params["repository_name"]), params["reference"])
        return 200, self.state.vulnerabilities.get(key, {}), {}
