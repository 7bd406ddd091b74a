"""``shipyard serve``: one web service for the platform's webhooks (GitHub, Harbor), its JSON API and its
pages, with a durable queue of accepted deliveries.

``create_app(settings)`` builds the ASGI app; ``serve(settings, host, port)`` runs it on uvicorn.
"""

from shipyard.serve.app import ROUTE_MODULES, ServeState, create_app
from shipyard.serve.server import serve
from shipyard.serve.settings import AuthSettings, GitHubAccess, HarborAccess, Settings

__all__ = [
    "ROUTE_MODULES",
    "AuthSettings",
    "GitHubAccess",
    "HarborAccess",
    "ServeState",
    "Settings",
    "create_app",
    "serve",
]
