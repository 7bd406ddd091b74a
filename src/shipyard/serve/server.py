"""Running the app: uvicorn on one host and port, one process (the queue and its workers live in it)."""

from __future__ import annotations

import logging

from shipyard.serve.app import create_app
from shipyard.serve.settings import Settings


def serve(settings: Settings, host: str, port: int, *, log_level: str = "info") -> None:
    """Serve until interrupted. Access logs name method, path and status only: never a header or a body."""
    import uvicorn

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=False,  # the client address decides trust (proxy auth): never take it from a header
        server_header=False,
        timeout_graceful_shutdown=15,
    )
    uvicorn.Server(config).run()
