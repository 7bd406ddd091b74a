"""A stand-in for the part of GitHub's REST API the platform uses, on 127.0.0.1: no GitHub is reachable from
here. Shipyard's own GitHub client talks to it through ``GITHUB_API_URL``, exactly as it talks to
api.github.com: pull requests (opened here, numbered as GitHub numbers them), their issue comments (the
Shipyard comment of ``pr comment`` and ``preview up --comment``) and reviews. Everything is kept in memory.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, Any]
_NOT_FOUND: Reply = (404, {"message": "Not Found"})
_REPO = r"/repos/(?P<repo>[\w.-]+/[\w.-]+)"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubStandIn:
    """Pull requests, issue comments and reviews of any repository, for one token. ``url`` is the API root."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.pulls: dict[tuple[str, int], dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.reviews: dict[int, dict[str, Any]] = {}
        self._next_id = 1
        self._lock = threading.Lock()
        self._routes: list[tuple[str, re.Pattern[str], Callable[[dict[str, str], Any], Reply]]] = [
            ("POST", re.compile(_REPO + r"/pulls"), self._open_pull),
            ("GET", re.compile(_REPO + r"/pulls/(?P<n>\d+)"), self._get_pull),
            ("GET", re.compile(_REPO + r"/issues/(?P<n>\d+)/comments"), self._list_comments),
            ("POST", re.compile(_REPO + r"/issues/(?P<n>\d+)/comments"), self._add_comment),
            ("PATCH", re.compile(_REPO + r"/issues/comments/(?P<id>\d+)"), self._edit_comment),
            ("GET", re.compile(_REPO + r"/pulls/(?P<n>\d+)/reviews"), self._list_reviews),
            ("POST", re.compile(_REPO + r"/pulls/(?P<n>\d+)/reviews"), self._add_review),
            ("PUT", re.compile(_REPO + r"/pulls/(?P<n>\d+)/reviews/(?P<id>\d+)/dismissals"), self._dismiss),
        ]
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> GitHubStandIn:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def merge(self, repo: str, number: int) -> None:
        """Mark a pull request merged and closed, as GitHub does when its merge button is pressed."""
        with self._lock:
            pull = self.pulls[(repo, number)]
            pull.update(state="closed", merged=True, merged_at=_now(), closed_at=_now())

    def comments_of(self, repo: str, number: int) -> list[str]:
        """The bodies of a pull request's comments, oldest first."""
        return [c["body"] for c in self.comments.values() if c["x-key"] == [repo, number]]

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _open_pull(self, match: dict[str, str], body: Any) -> Reply:
        repo = match["repo"]
        # GitHub numbers pull requests and issues of a repository together, from 1.
        number = 1 + max((n for r, n in self.pulls if r == repo), default=0)
        pull = {
            "id": self._id(),
            "number": number,
            "state": "open",
            "merged": False,
            "title": body["title"],
            "head": {"ref": body["head"]},
            "base": {"ref": body["base"]},
            "created_at": _now(),
            "merged_at": None,
            "closed_at": None,
            "html_url": f"https://github.com/{repo}/pull/{number}",
        }
        self.pulls[(repo, number)] = pull
        return 201, pull

    def _get_pull(self, match: dict[str, str], body: Any) -> Reply:
        pull = self.pulls.get((match["repo"], int(match["n"])))
        return _NOT_FOUND if pull is None else (200, pull)

    def _list_comments(self, match: dict[str, str], body: Any) -> Reply:
        key = [match["repo"], int(match["n"])]
        return 200, [self._public(c) for c in self.comments.values() if c["x-key"] == key]

    def _add_comment(self, match: dict[str, str], body: Any) -> Reply:
        ident = self._id()
        comment = {"id": ident, "body": body["body"], "user": {"login": "shipyard-bot"}, "created_at": _now()}
        self.comments[ident] = {**comment, "x-key": [match["repo"], int(match["n"])]}
        return 201, comment

    def _edit_comment(self, match: dict[str, str], body: Any) -> Reply:
        found = self.comments.get(int(match["id"]))
        if found is None or found["x-key"][0] != match["repo"]:
            return _NOT_FOUND
        found.update(body=body["body"], updated_at=_now())
        return 200, self._public(found)

    def _list_reviews(self, match: dict[str, str], body: Any) -> Reply:
        key = [match["repo"], int(match["n"])]
        return 200, [self._public(r) for r in self.reviews.values() if r["x-key"] == key]

    def _add_review(self, match: dict[str, str], body: Any) -> Reply:
        states = {"REQUEST_CHANGES": "CHANGES_REQUESTED", "APPROVE": "APPROVED", "COMMENT": "COMMENTED"}
        ident = self._id()
        review = {"id": ident, "body": body.get("body", ""), "state": states.get(body.get("event", ""), "PENDING")}
        self.reviews[ident] = {**review, "x-key": [match["repo"], int(match["n"])]}
        return 200, review

    def _dismiss(self, match: dict[str, str], body: Any) -> Reply:
        found = self.reviews.get(int(match["id"]))
        if found is None:
            return _NOT_FOUND
        found["state"] = "DISMISSED"
        return 200, self._public(found)

    @staticmethod
    def _public(item: dict[str, Any]) -> dict[str, Any]:
        # "x-" keys are the stand-in's bookkeeping; GitHub's fields never start so.
        return {k: v for k, v in item.items() if not k.startswith("x-")}

    def answer(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        """The reply to one request: 401 without the token, 404 for what GitHub (or this stand-in) lacks."""
        if headers.get("authorization") not in (f"Bearer {self.token}", f"token {self.token}"):
            return 401, {"message": "Bad credentials"}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return 400, {"message": "Problems parsing JSON"}
        route = path.split("?", 1)[0]
        for verb, pattern, handler in self._routes:
            found = pattern.fullmatch(route)
            if verb == method and found:
                with self._lock:
                    return handler(found.groupdict(), body)
        return _NOT_FOUND

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = standin.answer(self.command, self.path, headers, raw)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._reply()

            def do_POST(self) -> None:
                self._reply()

            def do_PATCH(self) -> None:
                self._reply()

            def do_PUT(self) -> None:
                self._reply()

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
