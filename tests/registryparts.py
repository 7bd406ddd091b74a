"""Real registry parts for the tests and the benchmark: Debian's docker-registry on a free loopback
port with its own config and storage, and a fault-injecting HTTP proxy in front of it."""

from __future__ import annotations

import http.client
import random
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.localhttp import free_port, serve, stop


@dataclass
class RegistryServer:
    """A running docker-registry; ``host`` is ``127.0.0.1:<port>``."""

    process: subprocess.Popen[bytes]
    host: str
    storage: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_registry(binary: str, workdir: Path, auth: str = "") -> RegistryServer:
    """Start docker-registry with a config file and storage folder under ``workdir``; ``auth`` is an
    optional ``auth:`` section of its config."""
    port = free_port()
    storage = workdir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        "  cache:\n    blobdescriptor: inmemory\n"
        f"http:\n  addr: 127.0.0.1:{port}\n{auth}",
        encoding="utf-8",
    )
    log = (workdir / "registry.log").open("wb")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {(workdir / 'registry.log').read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1) as reply:
                if reply.status == 200:
                    return RegistryServer(process, f"127.0.0.1:{port}", storage)
        except urllib.error.HTTPError as exc:
            if exc.code == 401 and auth:  # up, and asking for a token
                return RegistryServer(process, f"127.0.0.1:{port}", storage)
            time.sleep(0.05)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("docker-registry did not answer within 20s")


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
