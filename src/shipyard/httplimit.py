"""HTTP answers within a size limit: a transport that wraps any httpx transport.

A registry, Harbor, an npm registry or an API server that answers with 300 MB (or with a small gzip
body that inflates to gigabytes) would otherwise be read whole into memory. ``BoundedTransport`` asks
for bodies without compression, inflates one that is compressed anyway itself, and stops reading a
body once it passes the limit with ``shipyard.bounded.TooLarge``, before the client holds it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

from shipyard.bounded import MAX_BODY, InputError, TooLarge, check_size


class _BoundedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, limit: int, what: str, encoding: str) -> None:
        self._inner = inner
        self._limit = limit
        self._what = what
        self._encoding = encoding

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        # gzip or zlib (told apart by their header), inflated here so its size is counted as it grows.
        inflate = zlib.decompressobj(zlib.MAX_WBITS | 32) if self._encoding not in ("", "identity") else None
        for chunk in self._inner:
            data = chunk
            while data:
                if inflate is None:
                    piece, data = data, b""
                else:  # never more than one byte past the limit: a bomb stops here
                    piece = inflate.decompress(data, self._limit - size + 1)
                    data = inflate.unconsumed_tail
                size += len(piece)
                check_size(size, self._limit, self._what)
                if piece:
                    yield piece

    def close(self) -> None:
        self._inner.close()


class BoundedTransport(httpx.BaseTransport):
    """``inner`` with every response body limited to ``limit`` bytes (after any decompression)."""

    def __init__(self, inner: httpx.BaseTransport, limit: int = MAX_BODY) -> None:
        self._inner = inner
        self._limit = limit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` asking for an uncompressed body; the answer's body is read within the limit."""
        request.headers["Accept-Encoding"] = "identity"
        response = self._inner.handle_request(request)
        what = f"the answer to {request.method} {request.url.host}{request.url.path}"
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            response.close()
            raise InputError(f"{what} is encoded as {encoding!r}, which cannot be read within a size limit")
        length = response.headers.get("content-length", "")
        if request.method != "HEAD" and length.isdigit() and encoding in ("", "identity"):
            try:
                check_size(int(length), self._limit, what)
            except TooLarge:
                response.close()
                raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-encoding"]
        if encoding not in ("", "identity"):
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        return httpx.Response(
            status_code=response.status_code,
            headers=headers,
            stream=_BoundedStream(response.stream, self._limit, what, encoding),
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()


def bounded(transport: httpx.BaseTransport | None = None, limit: int = MAX_BODY) -> BoundedTransport:
    """A BoundedTransport around ``transport`` (a default ``httpx.HTTPTransport`` when None)."""
    return BoundedTransport(transport or httpx.HTTPTransport(), limit)
