"""Notification service: renders and records notifications for users."""

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

SENT: list[dict[str, str]] = []


def render(kind: str, name: str) -> str:
    """The text of a notification of ``kind`` for a user called ``name``."""
    templates = {"welcome": "Welcome, {name}!", "receipt": "Thank you for your payment, {name}."}
    if kind not in templates:
        raise ValueError(f"unknown notification kind {kind!r}")
    return templates[kind].format(name=name)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._reply(200 if self.path == "/healthz" else 404, {"status": "ok"} if self.path == "/healthz" else {})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
            message = {"to": data["to"], "text": render(data["kind"], data.get("name", ""))}
        except (KeyError, ValueError) as exc:
            self._reply(400, {"error": str(exc)})
            return
        SENT.append(message)
        self._reply(201, message)

    def _reply(self, status: int, payload: dict[str, str]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    HTTPServer(("", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
