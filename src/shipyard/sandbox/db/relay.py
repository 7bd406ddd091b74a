"""Streaming one COPY into another at libpq level: the clone's data path.

psycopg's Copy object costs several microseconds per row (a generator round trip for every row
libpq hands over); with millions of rows that alone would make the clone several times slower than
``pg_dump | psql``. Here each row is one libpq call on each side of a tight loop and rows are batched
into ~1 MiB writes, so a table streams through in constant memory at close to the server's speed.
"""

from __future__ import annotations

from typing import Any

from shipyard.errors import ShipyardError

CHUNK = 1 << 20


class RelayError(ShipyardError):
    """One side of the copy failed; carries the server's message."""


def _message(result: Any, pgconn: Any) -> str:
    raw = (result.error_message if result is not None else b"") or pgconn.error_message or b"unknown error"
    return bytes(raw).decode("utf-8", "replace").strip()


def _finish(pgconn: Any) -> tuple[Any, Any]:
    """Read results until libpq has none left; return the first one and the first failed one."""
    from psycopg import pq

    first = failed = None
    while (result := pgconn.get_result()) is not None:
        first = first or result
        if failed is None and result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
            failed = result
    return first, failed


def _drain_out(pgconn: Any) -> None:
    while pgconn.get_copy_data(0)[0] >= 0:
        pass
    _finish(pgconn)


def _cancel(conn: Any) -> None:
    """Stop the source's COPY (the target failed) and read what is left, so the connection is usable."""
    cancel = getattr(conn, "cancel_safe", None) or conn.cancel  # cancel_safe is psycopg >= 3.2
    cancel()
    _drain_out(conn.pgconn)


def relay(src: Any, dst: Any, copy_out: str, copy_in: str) -> tuple[int, int]:
    """Run ``copy_out`` (COPY ... TO STDOUT) on ``src`` into ``copy_in`` (COPY ... FROM STDIN) on ``dst``.

    Both are psycopg connections, idle or inside their transaction. Returns (rows, bytes).
    """
    from psycopg import pq

    source, target = src.pgconn, dst.pgconn
    saved = (source.nonblocking, target.nonblocking)
    source.nonblocking = target.nonblocking = 0  # blocking calls keep the loop simple and tight
    try:
        started = source.exec_(copy_out.encode())
        if started.status != pq.ExecStatus.COPY_OUT:
            raise RelayError(_message(started, source))
        loading = target.exec_(copy_in.encode())
        if loading.status != pq.ExecStatus.COPY_IN:
            _cancel(src)
            raise RelayError(_message(loading, target))
        size = 0
        buffer = bytearray()
        get, put = source.get_copy_data, target.put_copy_data
        while True:
            count, data = get(0)
            if count < 0:
                break
            buffer += data
            if len(buffer) >= CHUNK:
                if put(bytes(buffer)) < 0:
                    _cancel(src)
                    _, failed = _finish(target)
                    raise RelayError(_message(failed, target))
                size += len(buffer)
                buffer.clear()
        _, failed = _finish(source)
        if count == -2 or failed is not None:
            target.put_copy_end(b"the source query failed")
            _finish(target)
            raise RelayError(_message(failed, source))
        if buffer:
            put(bytes(buffer))
            size += len(buffer)
        target.put_copy_end(None)
        result, failed = _finish(target)
        if failed is not None or result is None:
            raise RelayError(_message(failed, target))
        return int(result.command_tuples or 0), size
    finally:
        source.nonblocking, target.nonblocking = saved
