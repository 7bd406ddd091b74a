"""A private git server for the tests: git's own smart HTTP server (``git http-backend``, run as a CGI program)
behind HTTP basic auth on 127.0.0.1, serving the bare repositories of one folder, as a private GitHub
repository is served to a clone with a token."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tests.localhttp import serve, stop
from tests.realparts import missing


@dataclass
class GitHttpServer:
    """Serves ``root/<name>.git`` at ``url/<name>.git`` to ``username``:``password`` only."""

    root: Path
    username: str
    password: str
    refused: int = 0
    served: int = 0
    server: ThreadingHTTPServer | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> GitHttpServer:
        git = shutil.which("git")
        if git is None:
            missing("the 'git' command", "install git")
        exec_path = subprocess.run([str(git), "--exec-path"], capture_output=True, text=True, check=True).stdout
        backend = Path(exec_path.strip()) / "git-http-backend"
        if not backend.exists():
            missing(str(backend), "git's smart HTTP server comes with git")
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def _handle(self) -> None:
                if self.headers.get("Authorization") != expected:
                    owner.refused += 1
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                owner.served += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                env = {
                    "PATH": os.environ.get("PATH", ""),
                    "GIT_PROJECT_ROOT": str(owner.root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "PATH_INFO": parts.path,
                    "QUERY_STRING": parts.query,
                    "REQUEST_METHOD": self.command,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                    "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                    "REMOTE_USER": owner.username,
                    "REMOTE_ADDR": "127.0.0.1",
                }
                proc = subprocess.run([str(backend)], input=body, env=env, capture_output=True, check=False)
                head, _, payload = proc.stdout.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode("latin-1").split("\r\n"):
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

            do_GET = do_POST = _handle  # noqa: N815 - http.server's names

        self.server = serve(Handler)
        return self

    def stop(self) -> None:
        stop(self.server)
