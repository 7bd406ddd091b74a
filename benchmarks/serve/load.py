"""Signed GitHub deliveries at a fixed rate (open loop: each is sent at its own time, whatever the answers
before it), with the answer and latency of each. Shared by the benchmark and the load test."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Load:
    """What was sent and how it was answered."""

    ids: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def accepted(self) -> int:
        """Deliveries answered 202."""
        return self.statuses.count(202)


def delivery(secret: bytes, number: int) -> tuple[str, bytes, dict[str, str]]:
    """A signed ``pull_request`` delivery (each with its own id and pull request number)."""
    ident = str(uuid.uuid4())
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = json.dumps(
        {
            "action": "synchronize",
            "number": number,
            "pull_request": {"head": {"sha": f"{number:040x}"}, "base": {"ref": "develop"}, "updated_at": now},
            "repository": {"clone_url": "https://github.com/acme/monorepo.git", "full_name": "acme/monorepo"},
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": ident,
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest(),
    }
    return ident, body, headers


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    """One request on a kept-alive connection; the answer's status (its body is read and dropped)."""
    writer.write(request)
    await writer.drain()
    status = int((await reader.readuntil(b"\r\n")).split()[1])
    length = 0
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _send(url: str, secret: bytes, rate: float, seconds: float, connections: int) -> Load:
    # A plain HTTP/1.1 client on asyncio streams: a general client (httpx) costs more CPU per request than the
    # servers measured here, and on a busy machine the load generator would measure itself.
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    load = Load()
    planned = []
    for index in range(int(rate * seconds)):
        ident, body, headers = delivery(secret, index % 500 + 1)
        head = f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        planned.append((ident, head.encode() + body))
    due: asyncio.Queue[int | None] = asyncio.Queue()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (index := await due.get()) is not None:
                ident, request = planned[index]
                sent = time.perf_counter()
                try:
                    status = await _exchange(reader, writer, request)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    load.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                load.latencies.append(time.perf_counter() - sent)
                load.statuses.append(status)
                if status == 202:
                    load.ids.append(ident)
        finally:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start = time.perf_counter()
    for index in range(len(planned)):
        await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
        due.put_nowait(index)
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    load.seconds = time.perf_counter() - start
    return load


def send_at_rate(url: str, secret: bytes, rate: float, seconds: float, connections: int = 16) -> Load:
    """Send ``rate`` deliveries a second for ``seconds`` to ``url`` over ``connections`` kept-alive
    connections; the answers."""
    return asyncio.run(_send(url, secret, rate, seconds, connections))


def percentile(values: list[float], share: float) -> float:
    """The ``share`` (0..1) percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else float("nan")
