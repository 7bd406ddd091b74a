"""The private npm registry's configuration: Verdaccio's ``config.yaml`` and the Helm values that deploy it.

The platform's scope (``@<org>/*``) is served only from Verdaccio, readable and publishable by
authenticated users and **never proxied**, so a public package of the same name can never be
installed in its place (dependency confusion). Every other name is proxied to the public registry.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from shipyard.k8s.yaml import dump
from shipyard.spec.model import Platform
from shipyard.workspace.model import Workspace

PUBLIC_UPLINK = "npmjs"
PUBLIC_UPLINK_URL = "https://registry.npmjs.org/"
STORAGE = "/verdaccio/storage/data"
HTPASSWD = "/verdaccio/storage/htpasswd"


def verdaccio_config(
    platform: Platform,
    *,
    storage: str = STORAGE,
    htpasswd: str = HTPASSWD,
    uplink: str | None = PUBLIC_UPLINK_URL,
) -> dict[str, Any]:
    """Verdaccio's config as data. ``uplink=None`` leaves out the public proxy (an offline registry)."""
    public: dict[str, Any] = {"access": "$all", "publish": "$authenticated", "unpublish": "$authenticated"}
    if uplink:
        public["proxy"] = PUBLIC_UPLINK
    config: dict[str, Any] = {
        "storage": storage,
        # Users are created by the platform's admins (one CI robot account), never self-registered.
        "auth": {"htpasswd": {"file": htpasswd, "max_users": -1}},
    }
    if uplink:
        config["uplinks"] = {PUBLIC_UPLINK: {"url": uplink, "timeout": "30s", "cache": True}}
    config["packages"] = {
        # No proxy: a scoped name resolves only here (no dependency confusion).
        f"{platform.npm_scope}/*": {
            "access": "$authenticated",
            "publish": "$authenticated",
            "unpublish": "$authenticated",
        },
        "**": public,
    }
    config["server"] = {"keepAliveTimeout": 60}
    config["log"] = {"type": "stdout", "format": "json", "level": "warn"}
    return config


def render_verdaccio(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """``verdaccio/config.yaml`` and ``verdaccio/values.yaml`` (values for the Verdaccio Helm chart).

    The workspace is not needed: the scope rule covers every package, present and future.
    """
    config_text = dump(verdaccio_config(platform))
    host = urlsplit(platform.npm_registry).hostname or f"verdaccio.{platform.domain}"
    values: dict[str, Any] = {
        "configMap": config_text,
        "persistence": {"enabled": True, "size": "8Gi"},
        "ingress": {
            "enabled": True,
            "hosts": [host],
            "paths": ["/"],
            "tls": [{"secretName": "verdaccio-tls", "hosts": [host]}],
        },
    }
    return {"verdaccio/config.yaml": config_text, "verdaccio/values.yaml": dump(values)}
