"""A real OCI registry for the demo (and the tests): Debian's docker-registry on a free loopback port, storage
in the scratch folder. The rendered pipelines push with buildah to a registry server, and the embedded
default's OCI layout is a folder, not a server: the demo's platform points its registry at this one instead."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import ShipyardError


@dataclass
class RegistryServer:
    """A running docker-registry; ``host`` is ``127.0.0.1:<port>``."""

    process: subprocess.Popen[bytes]
    host: str
    storage: Path

    def stop(self) -> None:
        """Stop the registry (its storage stays in the scratch folder)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_registry(folder: Path, *, binary: str | None = None, auth: str = "") -> RegistryServer:
    """Start docker-registry with its config, storage and log under ``folder``; ``auth`` is an optional
    ``auth:`` section of its config (then the registry is up when it asks for a token)."""
    binary = binary or shutil.which("docker-registry")
    if binary is None:
        raise ShipyardError("docker-registry is not installed", hint="apt-get install docker-registry (Debian)")
    port = _free_port()
    storage = folder / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        "  cache:\n    blobdescriptor: inmemory\n"
        f"http:\n  addr: 127.0.0.1:{port}\n{auth}",
        encoding="utf-8",
    )
    log = folder / "registry.log"
    with log.open("wb") as out:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT)
    server = RegistryServer(process, f"127.0.0.1:{port}", storage)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ShipyardError(f"docker-registry exited: {log.read_text(errors='replace').strip()}")
        try:
            with urllib.request.urlopen(f"http://{server.host}/v2/", timeout=1) as reply:
                if reply.status == 200:
                    return server
        except urllib.error.HTTPError as exc:
            if exc.code == 401 and auth:  # up, and asking for a token
                return server
            time.sleep(0.05)
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    server.stop()
    raise ShipyardError("docker-registry did not answer within 20s")
