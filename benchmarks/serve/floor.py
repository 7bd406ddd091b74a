"""The floor the benchmark compares ``shipyard serve`` with: a minimal Starlette endpoint on uvicorn that only
checks the HMAC of each delivery and answers 202 (no validation, no queue, no disk, no processing).

Run: ``python -m benchmarks.serve.floor PORT SECRET_FILE``.
"""

from __future__ import annotations

import hashlib
import hmac
import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def app(secret: bytes) -> Starlette:
    """The HMAC-only endpoint at ``/hooks/github``."""

    async def hook(request: Request) -> Response:
        body = await request.body()
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(expected, request.headers.get("x-hub-signature-256", ""))
        return Response(status_code=202 if ok else 401)

    return Starlette(routes=[Route("/hooks/github", hook, methods=["POST"])])


if __name__ == "__main__":
    import uvicorn

    port, secret_file = int(sys.argv[1]), Path(sys.argv[2])
    uvicorn.run(app(secret_file.read_bytes().strip()), host="127.0.0.1", port=port, log_level="warning")
