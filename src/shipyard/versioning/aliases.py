"""Which moving tags a new version takes. Every alias moves only forward: a version takes an alias
only when it is at least as high as every published version that alias could point at."""

from __future__ import annotations

from collections.abc import Iterable

from shipyard.versioning.semver import Version


def image_tags(version: Version, published: Iterable[Version], prefix: str = "v") -> list[str]:
    """The full tag plus the aliases to move now, for an image of ``version``.

    ``published`` are the versions already tagged (any order, may include ``version``).
    alpha -> alpha, latest-alpha; beta -> beta, latest-beta; stable -> stable, latest, vX.Y, vX, where
    a stable release on an older line (v1.1.5 after v1.2.0) moves vX.Y only.
    """
    tags = [version.format(prefix)]
    maturity = version.maturity
    known = list(published)
    if maturity in ("alpha", "beta"):
        same = [v for v in known if v.maturity == maturity]
        if all(version >= v for v in same):
            tags += [maturity, f"latest-{maturity}"]
    elif maturity == "stable":
        stables = [v for v in known if v.maturity == "stable"]
        if all(version >= v for v in stables):
            tags += ["stable", "latest"]
        if all(version >= v for v in stables if v.major == version.major):
            tags.append(f"{prefix}{version.major}")
        if all(version >= v for v in stables if (v.major, v.minor) == (version.major, version.minor)):
            tags.append(f"{prefix}{version.major}.{version.minor}")
    return tags


def npm_version(version: Version) -> str:
    """The npm version: the same version without the tag prefix."""
    return version.format(prefix="")


def npm_dist_tag(version: Version, published: Iterable[Version]) -> str:
    """The dist-tag to publish ``version`` under.

    A prerelease never takes ``latest``: alpha and beta take their maturity (``alpha-X.Y`` when a newer
    one exists, so the tag never moves backwards). A stable takes ``latest`` only when it is the
    highest stable; an older line gets ``latest-X.Y`` (npm rejects tags that parse as version ranges,
    which ``X.Y`` would).
    """
    known = list(published)
    maturity = version.maturity
    if maturity == "stable":
        stables = [v for v in known if v.maturity == "stable"]
        if all(version >= v for v in stables):
            return "latest"
        return f"latest-{version.major}.{version.minor}"
    label = maturity or "next"
    same = [v for v in known if v.maturity == maturity]
    if all(version >= v for v in same):
        return label
    return f"{label}-{version.major}.{version.minor}"
