"""``shipyard serve`` as a real process on a free loopback port, and signed deliveries for it."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.localhttp import free_port

SECRET = b"serve-test-secret"


@dataclass
class ServeProcess:
    """A running ``shipyard serve``; ``url`` is its root."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        """Stop it at once, as a crash would (SIGKILL to its process group: nothing is cleaned up)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """Stop it as an operator would (SIGTERM), then make sure it is gone."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_done(self, count: int, timeout: float = 120.0) -> dict[str, Any]:
        """Poll ``/runs`` until ``count`` deliveries are done and none waits or runs; the last answer."""
        deadline = time.monotonic() + timeout
        data: dict[str, Any] = {}
        while time.monotonic() < deadline:
            data = httpx.get(f"{self.url}/runs", params={"limit": "1000"}, timeout=10).json()
            if len(data["done"]) >= count and not data["waiting"] and not data["running"]:
                return data
            time.sleep(0.2)
        raise AssertionError(f"not done in {timeout} s: {len(data.get('done', []))} of {count}\n{self.log.read_text()}")


def start_serve(cwd: Path, *args: str, env: dict[str, str] | None = None, log: Path | None = None) -> ServeProcess:
    """Start ``shipyard serve ARGS`` in ``cwd`` on a free loopback port and wait until it is ready."""
    port = free_port()
    log = log or cwd.parent / f"serve-{port}.log"
    handle = log.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "shipyard", "serve", "--port", str(port), *args],
        cwd=cwd,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so a kill takes every child with it
    )
    handle.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return ServeProcess(process, url, log)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError(f"serve did not become ready:\n{log.read_text()}")


def github_delivery(
    event: str, body: dict[str, Any], *, secret: bytes = SECRET, delivery: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """A body and the headers GitHub sends with it, signed with ``secret``."""
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest(),
    }
    return raw, headers


def closed_pr(number: int, clone_url: str, updated_at: float | None = None) -> dict[str, Any]:
    """A pull_request ``closed`` body (updated now, unless ``updated_at`` says when): it starts preview-teardown."""
    moment = datetime.fromtimestamp(time.time() if updated_at is None else updated_at, UTC)
    return {
        "action": "closed",
        "number": number,
        "pull_request": {
            "head": {"sha": "0123456789abcdef0123456789abcdef01234567"},
            "updated_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "repository": {"clone_url": clone_url, "full_name": "acme/monorepo"},
    }
