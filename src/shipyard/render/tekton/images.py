"""The third-party images the rendered steps run, each pinned to an explicit release (never ``latest``).

Everything else runs in Shipyard's own image (``platform.shipyard_image``), pinned to Shipyard's version.
"""

from __future__ import annotations

import re

BUILDAH = "quay.io/buildah/stable:v1.39.0"
TRIVY = "docker.io/aquasec/trivy:0.74.0"

# name components may hold a registry port ("host:5000/"), the last one never a colon: what follows it is the tag.
_PINNED = re.compile(r"(?:[^/@\s]+/)*[^/:@\s]+(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(@sha256:[0-9a-f]{64})?")


def pin_problem(image: str) -> str | None:
    """Why an image reference is not pinned (no tag or digest, or a moving tag such as ``latest``), or None."""
    match = _PINNED.fullmatch(image)
    if match is None:
        return f"'{image}' is not an image reference"
    has_digest = "@sha256:" in image
    tag = match.group("tag")
    if tag in ("latest", "stable", "edge", "nightly") and not has_digest:
        return f"'{image}' uses the moving tag '{tag}'; pin an explicit version or digest"
    if tag is None and not has_digest:
        return f"'{image}' has neither a tag nor a digest (that means latest)"
    return None
