"""Build once, promote by digest: does main's tree equal the last beta of its release? Then the stable
release adds its tags to that beta's images; otherwise it builds, and says why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.git import Git, GitError
from shipyard.versioning.semver import Version


@dataclass(frozen=True)
class StableSource:
    """``retag`` from ``source_tag``, or ``build`` (``source_tag`` then names the beta to compare with, if any)."""

    mode: str
    source_tag: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        """As JSON data."""
        return {"mode": self.mode, "sourceTag": self.source_tag or None, "reason": self.reason}


def _tree(git: Git, ref: str) -> str:
    return git.run("rev-parse", "--verify", f"{ref}^{{tree}}").strip()


def stable_source(git: Git, version: str, prefix: str = "v") -> StableSource:
    """Find the highest beta tag of ``version``'s X.Y.Z and compare its tree with HEAD's."""
    stable = Version.try_parse(version, prefix)
    if stable is None or stable.maturity != "stable":
        raise ShipyardError(f"'{version}' is not a stable version such as {prefix}1.2.3")
    tags = git.run("tag", "--list", f"{prefix}{stable.base}-beta.*").split()
    betas = sorted(
        (v for v in (Version.try_parse(t, prefix) for t in tags) if v is not None and v.maturity == "beta"),
    )
    if not betas:
        return StableSource("build", "", f"no beta of {stable.base} was tagged: building {version}")
    last = betas[-1]
    tag = last.format(prefix)
    try:
        same = _tree(git, tag) == _tree(git, "HEAD")
    except GitError as exc:
        raise ShipyardError(f"cannot compare HEAD with {tag}: {exc}") from exc
    if same:
        return StableSource("retag", tag, f"HEAD's tree is {tag}'s: its tested digests get the stable tags")
    changed = git.run("diff", "--name-only", tag, "HEAD").split()
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return StableSource("build", tag, f"HEAD differs from {tag} ({shown}): building {version}")
