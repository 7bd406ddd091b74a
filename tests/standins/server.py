"""A local HTTP stand-in for a remote API that cannot be reached from the tests (GitHub, Harbor), held to
the API's own description: every request must match a documented operation, its parameters and body
(otherwise 400, and the violation is recorded so the test fails), and every answer the stand-in gives is
checked against the documented response schema. Subclasses keep state and implement ``serve``."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.standins.openapi import OpenAPI, Operation

Reply = tuple[int, Any, dict[str, str]]


@dataclass
class Recorded:
    """A request as the stand-in saw it, with the contract problems found in it (or in the answer)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    problems: list[str]


class ContractStandIn:
    """Serves on 127.0.0.1; ``url`` is its root. Use ``running()`` to start and stop it."""

    def __init__(self, api: OpenAPI) -> None:
        self.api = api
        self.requests: list[Recorded] = []
        self.refusals: list[Reply] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    # What a subclass provides.

    def unauthorized(self, headers: dict[str, str]) -> Reply | None:
        """The refusal for a request without valid credentials, or None when it may proceed."""
        return None

    def header_problems(self, headers: dict[str, str]) -> list[str]:
        """Contract problems in the request headers."""
        return []

    def serve(self, op: Operation, values: dict[str, str], path: str, query: dict[str, str], body: Any) -> Reply:
        """Answer a valid request."""
        return 501, {"message": f"the stand-in does not implement {op.method} {op.template}"}, {}

    # The machinery.

    @property
    def violations(self) -> list[str]:
        """Contract violations seen, by requests or by the stand-in's own answers."""
        return [p for r in self.requests for p in r.problems]

    def refuse_next(self, status: int, headers: dict[str, str], body: Any) -> None:
        """Answer the next valid request with this refusal (a rate limit, an outage) instead of serving it."""
        self.refusals.append((status, body, headers))

    def handle(self, method: str, raw_path: str, headers: dict[str, str], raw_body: bytes) -> Reply:
        """One request, start to end (also callable without HTTP)."""
        parts = urllib.parse.urlsplit(raw_path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        problems: list[str] = []
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except json.JSONDecodeError:
                problems.append("the body is not JSON")
        with self.lock:
            self.requests.append(Recorded(method, parts.path, query, headers, body, problems))
            refused = self.unauthorized(headers)
            if refused is not None:
                return refused
            problems += self.header_problems(headers)
            found = self.api.find(method, parts.path)
            if found is None:
                problems.append(f"{method} {parts.path} is not an operation of the API")
                return 404, {"message": "Not Found"}, {}
            op, values = found
            problems += self.api.check_request(op, values, query, body)
            if problems:
                return 400, {"message": "; ".join(problems)}, {}
            if self.refusals:
                return self.refusals.pop(0)
            status, answer, extra = self.serve(op, values, parts.path, query, body)
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
                status, answer, extra = stand_in.handle(self.command, self.path, headers, raw)
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            # http.server dispatches on these names.
            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _any  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    @contextmanager
    def running(self) -> Iterator[ContractStandIn]:
        """Serve in a thread for the duration of the block."""
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join()
