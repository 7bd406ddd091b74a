"""A private git server on loopback: ``git http-backend`` (git's own smart-HTTP server, run as CGI) behind a
small HTTP server that asks for Basic credentials, as a private config repo's host does. A request without
them, or with others, gets 401 and ``WWW-Authenticate``, the answer git's credential machinery reacts to."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

from tests.localhttp import serve, stop


@dataclass
class GitServer:
    url: str
    """The server's root, e.g. ``http://127.0.0.1:PORT/``; repositories are below it."""
    refused: list[str] = field(default_factory=list)
    """The paths answered 401."""


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(handler.rfile.readline().strip().split(b";")[0], 16)
            if size == 0:
                handler.rfile.readline()
                return body
            body += handler.rfile.read(size)
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


@contextmanager
def private_git_server(root: Path, username: str, password: str) -> Iterator[GitServer]:
    """Serve the bare repositories under ``root`` to ``username``/``password`` only (pushes allowed)."""
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    backend = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()
    state = GitServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            if self.headers.get("Authorization") != expected:
                state.refused.append(parts.path)
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="config repo"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = _read_body(self)
            env = {
                "PATH": os.environ["PATH"],
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": parts.path,
                "QUERY_STRING": parts.query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": username,  # an authenticated user: http-backend then allows receive-pack
                "REMOTE_ADDR": "127.0.0.1",
            }
            for header in ("Content-Encoding", "Git-Protocol"):
                if self.headers.get(header):
                    env["HTTP_" + header.upper().replace("-", "_")] = self.headers[header]
            out = subprocess.run(
                [str(Path(backend) / "git-http-backend")], input=body, capture_output=True, env=env, check=False
            ).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            if not _:
                head, _, payload = out.partition(b"\n\n")
            status = 200
            headers: list[tuple[str, str]] = []
            for line in head.decode("latin-1").splitlines():
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def log_message(self, *_: object) -> None:
            pass

    server = serve(Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield state
    finally:
        stop(server)
