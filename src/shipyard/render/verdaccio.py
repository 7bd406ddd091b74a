"""The private npm registry's configuration: Verdaccio's ``config.yaml`` and the Helm values that deploy it.

The platform's scope (``@<org>/*``) is served only from Verdaccio, readable and publishable by
authenticated users and **never proxied**, so a public package of the same name can never be
installed in its place (dependency confusion). Every other name is proxied to the public registry.

The values are made once, here, and written twice: ``verdaccio/values.yaml`` (for people, and ``helm
install -f``) and the bootstrap Application's ``valuesObject``, which is what Argo CD deploys. The Verdaccio
chart writes its ``configMap`` value into the ConfigMap the server reads (``/verdaccio/conf/config.yaml``);
without it the chart's own default config runs, and that one proxies every scope (``'@*/*'``) to
the public registry.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from shipyard.k8s.yaml import dump
from shipyard.spec.model import INGRESS_CLASS, Access, Platform
from shipyard.workspace.model import Workspace

PUBLIC_UPLINK = "npmjs"
PUBLIC_UPLINK_URL = "https://registry.npmjs.org/"
STORAGE = "/verdaccio/storage/data"
HTPASSWD = "/verdaccio/storage/htpasswd"
# The one size of Verdaccio's volume: private packages and the cache of every public one installed.
STORAGE_SIZE = "50Gi"
# The Secret (key ``htpasswd``, an htpasswd file: the CI robot and the people who publish) that the chart
# mounts over the config's htpasswd file. Registration is off (max_users -1), so these are the only users.
HTPASSWD_SECRET = "verdaccio-htpasswd"


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


def verdaccio_values(platform: Platform) -> dict[str, Any]:
    """The Verdaccio chart's values (chart 4.26): the generated config, the volume, the users, the Ingress.

    The Ingress is the internal controller's: CI and developers reach the registry from the private
    network, and its ``**`` rule would make a public one an open proxy of the public registry.
    """
    host = urlsplit(platform.npm_registry).hostname or f"verdaccio.{platform.domain}"
    return {
        "configMap": dump(verdaccio_config(platform)),
        "persistence": {
            "enabled": True,
            "size": STORAGE_SIZE,
            # The chart renders these two as they are: the users' Secret, mounted over the htpasswd file.
            "volumes": [{"name": "htpasswd", "secret": {"secretName": HTPASSWD_SECRET}}],
            "mounts": [{"name": "htpasswd", "mountPath": HTPASSWD, "subPath": "htpasswd", "readOnly": True}],
        },
        "service": {"port": 4873},
        "ingress": {
            "enabled": True,
            "className": INGRESS_CLASS[Access.internal],
            "hosts": [host],
            "paths": ["/"],
            "tls": [{"secretName": "verdaccio-tls", "hosts": [host]}],
        },
    }


def render_verdaccio(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """``verdaccio/config.yaml`` and ``verdaccio/values.yaml`` (values for the Verdaccio Helm chart).

    The workspace is not needed: the scope rule covers every package, present and future.
    """
    values = verdaccio_values(platform)
    return {"verdaccio/config.yaml": values["configMap"], "verdaccio/values.yaml": dump(values)}
