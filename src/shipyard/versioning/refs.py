"""Everything the version rules need from a repository's refs, read in one ``git for-each-ref`` call.

Version tags, release and hotfix branches (local and remote-tracking) and the main/develop refs: reading
them once and answering every later question from memory is what keeps versions fast on 20,000 tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from shipyard.gitflow.git import Git
from shipyard.versioning.semver import Version

_RELEASE = re.compile(r"(?:^|/)release/v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


@dataclass
class RefSnapshot:
    """Version tags and workflow branches of one repository at one moment."""

    prefix: str
    tags: dict[str, str] = field(default_factory=dict)  # tag name -> commit
    versions: dict[Version, str] = field(default_factory=dict)  # version -> commit
    by_commit: dict[str, list[Version]] = field(default_factory=dict)
    release_branches: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # refname -> X.Y.Z
    release_heads: dict[str, str] = field(default_factory=dict)  # refname -> commit
    hotfix_heads: dict[str, str] = field(default_factory=dict)  # refname -> commit
    mainlines: list[str] = field(default_factory=list)  # refs of main and develop, local and remote

    @classmethod
    def read(cls, git: Git, prefix: str = "v", remote_refs: Iterable[tuple[str, str]] = ()) -> RefSnapshot:
        """Read the repository's refs (plus ``remote_refs`` from ``ls-remote`` for a shallow clone)."""
        snapshot = cls(prefix=prefix)
        local = git.refs(f"refs/tags/{prefix}*", "refs/heads", "refs/remotes")
        for name, commit in [*local, *remote_refs]:
            snapshot.add(name, commit)
        return snapshot

    def add(self, refname: str, commit: str) -> None:
        """Record one ref."""
        if refname.startswith("refs/tags/"):
            tag = refname.removeprefix("refs/tags/")
            if tag in self.tags:
                return  # a local tag wins over the remote's listing of the same name
            version = Version.try_parse(tag, self.prefix) if tag.startswith(self.prefix) else None
            if version is None or version.maturity is None or version.build:
                return
            self.tags[tag] = commit
            self.versions[version] = commit
            self.by_commit.setdefault(commit, []).append(version)
            return
        short = refname.removeprefix("refs/heads/").removeprefix("refs/remotes/")
        match = _RELEASE.search(short)
        if match:
            self.release_branches[refname] = (int(match[1]), int(match[2]), int(match[3]))
            self.release_heads[refname] = commit
        elif "hotfix/" in short:
            self.hotfix_heads[refname] = commit
        elif short in ("main", "develop") or short.endswith(("/main", "/develop")):
            self.mainlines.append(refname)

    def tagged(self, commit: str, maturity: str | None = None) -> list[Version]:
        """The versions tagged on ``commit`` (of one maturity if given), highest first."""
        found = self.by_commit.get(commit, [])
        return sorted((v for v in found if maturity is None or v.maturity == maturity), reverse=True)

    def of(self, maturity: str) -> list[Version]:
        """Every tagged version of one maturity."""
        return [v for v in self.versions if v.maturity == maturity]

    def highest_stable(self) -> Version | None:
        """The highest stable version tagged anywhere."""
        return max(self.of("stable"), default=None)

    def highest_cut(self) -> tuple[int, int, int] | None:
        """The highest release already cut: a release branch, or a beta tag (of a release or a hotfix)."""
        cores = [*self.release_branches.values(), *(v.core for v in self.of("beta"))]
        return max(cores, default=None)

    def highest_beta(self, core: tuple[int, int, int]) -> int:
        """The highest beta number of ``core`` over all tags (0 when there is none)."""
        numbers = [v.number or 0 for v in self.of("beta") if v.core == core]
        return max(numbers, default=0)

    def has_stable(self, core: tuple[int, int, int]) -> bool:
        """True when the stable ``core`` is tagged."""
        return Version(*core) in self.versions

    def mainline_refs(self) -> list[str]:
        """The main and develop refs that exist (local and remote-tracking)."""
        return list(self.mainlines)
