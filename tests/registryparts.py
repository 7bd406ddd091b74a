"""Real registry parts for the tests and the benchmark: Debian's docker-registry on a free loopback
port with its own config and storage, and a fault-injecting HTTP proxy in front of it."""

from __future__ import annotations

import http.client
import random
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from shipyard.demo.parts.registry import RegistryServer as RegistryServer
from shipyard.demo.parts.registry import start_registry as start
from tests.localhttp import serve, stop


def start_registry(binary: str, workdir: Path, auth: str = "") -> RegistryServer:
    """Start docker-registry under ``workdir`` (the demo's starter: one way to run it); ``auth`` is an
    optional ``auth:`` section of its config."""
    return start(workdir, binary=binary, auth=auth)


@dataclass
class FaultProxy:
    """Forwards to ``upstream``; a share of requests get 429, 503 or a dropped connection instead."""

    upstream: str
    share: float
    seed: int = 7
    injected: dict[str, int] = field(default_factory=lambda: {"429": 0, "503": 0, "drop": 0})
    server: ThreadingHTTPServer | None = None

    @property
    def host(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FaultProxy:
        rng = random.Random(self.seed)
        lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _fault(self) -> str | None:
                with lock:
                    if rng.random() >= proxy.share:
                        return None
                    kind = rng.choice(["429", "503", "drop"])
                    proxy.injected[kind] += 1
                    return kind

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = self._fault()
                if fault == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault is not None:
                    self.send_response(int(fault))
                    self.send_header("Content-Length", "0")
                    if fault == "429":
                        self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                connection = http.client.HTTPConnection(proxy.upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                connection.request(self.command, self.path, body=body, headers=headers)
                reply = connection.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                for key, value in reply.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                length_header = reply.getheader("Content-Length")
                if self.command == "HEAD" and length_header:  # a HEAD answer keeps the length of the body it omits
                    self.send_header("Content-Length", length_header)
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                connection.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815 - http.server's names

        self.server = serve(Handler)
        return self

    def stop(self) -> None:
        stop(self.server)
