"""A stand-in for GitHub's REST API on 127.0.0.1: no GitHub is reachable from here, so tests talk to this.

It is held to GitHub's own OpenAPI description (npm @octokit/openapi): every request must match a documented
operation, its parameters and its body schema, or it is answered 400 with the reasons (and recorded, so the
test fails); every answer it gives is checked against the documented response schema before it is sent.
It keeps issue comments and pull request reviews in memory, paginates with ``Link`` like GitHub, and can
be told to answer the next requests with rate-limit refusals.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.standins.openapi import OpenAPI, Operation

Reply = tuple[int, Any, dict[str, str]]


@dataclass
class Recorded:
    """A request as the stand-in saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    problems: list[str]


@dataclass
class GitHubState:
    """What the stand-in remembers between requests."""

    token: str
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    refusals: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    next_id: int = 1000

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    @property
    def violations(self) -> list[str]:
        """Contract violations seen, by requests or by the stand-in's own answers."""
        return [p for r in self.requests for p in r.problems]


class GitHubStandIn:
    """The server; ``url`` is its API root. Use ``running(...)`` to start and stop it."""

    def __init__(self, api: OpenAPI, token: str) -> None:
        self.api = api
        self.state = GitHubState(token=token)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def refuse_next(self, status: int, headers: dict[str, str], message: str) -> None:
        """Answer the next request with a refusal (e.g. 429 with Retry-After) instead of serving it."""
        self.state.refusals.append((status, headers, message))

    def add_comment(self, repo: str, number: int, body: str, login: str = "someone") -> dict[str, Any]:
        """Seed a comment, as if a person had written it."""
        op, _ = self._op("POST", f"/repos/{repo}/issues/{number}/comments")
        comment = self._comment(op, repo, number, body, login)
        self.state.comments[comment["id"]] = comment
        return comment

    def _op(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        found = self.api.find(method, path)
        if found is None:
            raise LookupError(f"{method} {path} is not in GitHub's API")
        return found

    def _comment(self, op: Operation, repo: str, number: int, body: str, login: str) -> dict[str, Any]:
        comment: dict[str, Any] = self.api.fake(self.api.response_schema(op, 201))
        ident = self.state.new_id()
        base = f"{self.url}/repos/{repo}"
        comment.update(
            id=ident,
            body=body,
            url=f"{base}/issues/comments/{ident}",
            html_url=f"https://github.example.invalid/{repo}/pull/{number}#issuecomment-{ident}",
            issue_url=f"{base}/issues/{number}",
        )
        comment.update({"x-issue": number, "x-repo": repo})
        comment["user"]["login"] = login
        return comment

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        # "x-" keys are the stand-in's own bookkeeping; GitHub's fields never start so.
        return {k: v for k, v in obj.items() if not k.startswith("x-")}

    def _page(self, items: list[dict[str, Any]], path: str, query: dict[str, str]) -> Reply:
        per_page = min(int(query.get("per_page", "30")), 100)
        page = int(query.get("page", "1"))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            following = urllib.parse.urlencode({**query, "page": str(page + 1)})
            headers["Link"] = f'<{self.url}{path}?{following}>; rel="next"'
        return 200, [self._public(i) for i in chunk], headers

    def _serve(self, op: Operation, values: dict[str, str], path: str, query: dict[str, str], body: Any) -> Reply:
        repo = f"{values.get('owner')}/{values.get('repo')}"
        comments, reviews = self.state.comments, self.state.reviews
        key = (op.method, op.template)
        if key == ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"):
            number = int(values["issue_number"])
            mine = [c for c in comments.values() if c["x-repo"] == repo and c["x-issue"] == number]
            return self._page(mine, path, query)
        if key == ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"):
            comment = self._comment(op, repo, int(values["issue_number"]), body["body"], "shipyard-bot")
            comments[comment["id"]] = comment
            return 201, self._public(comment), {}
        if key == ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"):
            comment = comments.get(int(values["comment_id"]))
            if comment is None or comment["x-repo"] != repo:
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}
            comment.update(body=body["body"], updated_at="2026-01-02T00:00:00Z")
            return 200, self._public(comment), {}
        if key == ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"):
            number = int(values["pull_number"])
            return self._page([r for r in reviews.values() if r["x-repo"] == repo and r["x-pr"] == number], path, query)
        if key == ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"):
            review: dict[str, Any] = self.api.fake(self.api.response_schema(op, 200))
            states = {"REQUEST_CHANGES": "CHANGES_REQUESTED", "APPROVE": "APPROVED", "COMMENT": "COMMENTED"}
            review.update(
                id=self.state.new_id(),
                body=body.get("body", ""),
                state=states.get(body.get("event", ""), "PENDING"),
            )
            review.update({"x-repo": repo, "x-pr": int(values["pull_number"])})
            reviews[review["id"]] = review
            return 200, self._public(review), {}
        if key == ("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals"):
            review = reviews.get(int(values["review_id"]))
            if review is None:
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}
            review["state"] = "DISMISSED"
            return 200, self._public(review), {}
        return 501, {"message": f"the stand-in does not implement {op.method} {op.template}"}, {}

    def _handle(self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes) -> Reply:
        parts = urllib.parse.urlsplit(raw_path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        problems: list[str] = []
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except json.JSONDecodeError:
                problems.append("the body is not JSON")
        record = Recorded(method, parts.path, query, headers, body, problems)
        with self.lock:
            self.state.requests.append(record)
            if headers.get("authorization") != f"Bearer {self.state.token}":
                return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, {}
            if "application/vnd.github" not in headers.get("accept", ""):
                problems.append("Accept must ask for application/vnd.github+json")
            found = self.api.find(method, parts.path)
            if found is None:
                problems.append(f"{method} {parts.path} is not an operation of GitHub's API")
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}
            op, values = found
            problems += self.api.check_request(op, values, query, body)
            if problems:
                return 400, {"message": "; ".join(problems)}, {}
            if self.state.refusals:
                status, extra, message = self.state.refusals.pop(0)
                return status, {"message": message, "documentation_url": "https://docs.github.com/rest"}, extra
            status, answer, extra = self._serve(op, values, parts.path, query, body)
            if status < 300:
                problems += [f"stand-in answer: {p}" for p in self.api.check_response(op, status, answer)]
            return status, answer, extra

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer, extra = stand_in._handle(self.command, self.path, headers, raw)
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            # http.server dispatches on these names.
            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    @contextmanager
    def running(self) -> Iterator[GitHubStandIn]:
        """Serve in a thread for the duration of the block."""
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join()
