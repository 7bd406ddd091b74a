"""Everything the version rules need from a repository's refs, read in one ``git for-each-ref`` call.

Version tags, release and hotfix branches (local and remote-tracking) and the main/develop refs: reading
them once and answering every later question from memory is what keeps versions fast on 20,000 tags.
Tags are kept as text and parsed only when a question needs them: a develop commit's version looks at a
handful of tags by commit, the few hundred stables and betas, and the highest alpha (found by comparing
integer keys, not by building 20,000 version objects).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from shipyard.git import Git
from shipyard.versioning.semver import Version

_RELEASE = re.compile(r"(?:^|/)release/v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\Z")
_NUM = r"(0|[1-9]\d*)"
# The shape Shipyard writes; anything else goes through the full SemVer parser.
_FAST = re.compile(rf"{_NUM}\.{_NUM}\.{_NUM}(?:-(alpha|beta)\.{_NUM})?", re.ASCII)

Core = tuple[int, int, int]


@dataclass
class RefSnapshot:
    """Version tags and workflow branches of one repository at one moment."""

    prefix: str
    tags: dict[str, str] = field(default_factory=dict)  # tag name -> commit, for tags that look like versions
    by_commit: dict[str, list[str]] = field(default_factory=dict)  # commit -> its version tag names
    release_branches: dict[str, Core] = field(default_factory=dict)  # refname -> X.Y.Z
    release_heads: dict[str, str] = field(default_factory=dict)  # refname -> commit
    hotfix_heads: dict[str, str] = field(default_factory=dict)  # refname -> commit
    mainlines: list[str] = field(default_factory=list)  # refs of main and develop, local and remote
    # Refs known only from the remote's listing (a shallow clone): their commits are not here.
    remote_only: set[str] = field(default_factory=set)
    _parsed: dict[str, list[Version]] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, git: Git, prefix: str = "v", remote_refs: Iterable[tuple[str, str]] = ()) -> RefSnapshot:
        """Read the repository's refs (plus ``remote_refs`` from ``ls-remote`` for a shallow clone)."""
        snapshot = cls(prefix=prefix)
        local = git.refs(f"refs/tags/{prefix}", "refs/heads", "refs/remotes")
        # Tags in bulk (20,000 of them on a big repository): no per-tag method calls.
        start = len("refs/tags/") + len(prefix)
        tag_start = f"refs/tags/{prefix}"
        tags = {n[10:]: c for n, c in local if n.startswith(tag_start) and n[start : start + 1].isdigit()}
        snapshot.tags = tags
        by_commit = snapshot.by_commit
        for tag, commit in tags.items():
            if commit in by_commit:
                by_commit[commit].append(tag)
            else:
                by_commit[commit] = [tag]
        for name, commit in local:
            if not name.startswith("refs/tags/"):
                snapshot.add(name, commit)
        listed = list(remote_refs)
        here = {name for name, _ in local} if listed else set()  # only a shallow clone pays for the set
        for name, commit in listed:
            if name not in here:
                snapshot.remote_only.add(name)
            snapshot.add(name, commit)
        return snapshot

    def add(self, refname: str, commit: str) -> None:
        """Record one ref."""
        if refname.startswith("refs/tags/"):
            tag = refname[10:]
            # A local tag wins over the remote's listing of the same name; non-versions are not ours.
            if (
                tag not in self.tags
                and tag.startswith(self.prefix)
                and tag[len(self.prefix) : len(self.prefix) + 1].isdigit()
            ):
                self.tags[tag] = commit
                self.by_commit.setdefault(commit, []).append(tag)
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

    # Parsing, only where needed

    def parse(self, tag: str) -> Version | None:
        """The version a tag names: alpha, beta or stable, without build metadata; None otherwise."""
        version = Version.try_parse(tag, self.prefix)
        if version is None or version.maturity is None or version.build:
            return None
        return version

    def _of_text(self, maturity: str) -> list[str]:
        marker = f"-{maturity}."
        if maturity == "stable":
            return [t for t in self.tags if "-" not in t and "+" not in t]
        return [t for t in self.tags if marker in t]

    def of(self, maturity: str) -> list[Version]:
        """Every tagged version of one maturity (parsed on first use; the many alphas are rarely needed)."""
        cached = self._parsed.get(maturity)
        if cached is None:
            parsed = (self.parse(t) for t in self._of_text(maturity))
            cached = self._parsed[maturity] = [v for v in parsed if v is not None and v.maturity == maturity]
        return cached

    @cached_property
    def versions(self) -> dict[Version, str]:
        """Every version -> its commit (parses every tag: for the workflow's few lookups, not hot paths)."""
        result: dict[Version, str] = {}
        for tag, commit in self.tags.items():
            version = self.parse(tag)
            if version is not None:
                result.setdefault(version, commit)
        return result

    def owner(self, version: Version) -> str | None:
        """The commit tagged with ``version``, if any."""
        return self.tags.get(version.format(self.prefix))

    def tagged(self, commit: str, maturity: str | None = None) -> list[Version]:
        """The versions tagged on ``commit`` (of one maturity if given), highest first."""
        parsed = (self.parse(t) for t in self.by_commit.get(commit, ()))
        return sorted((v for v in parsed if v and (maturity is None or v.maturity == maturity)), reverse=True)

    def highest(self, maturity: str) -> Version | None:
        """The highest version of one maturity; alphas are compared by integer keys before any parsing."""
        if maturity != "alpha":
            return max(self.of(maturity), default=None)
        best: tuple[int, ...] | None = None
        best_tag = None
        odd: list[Version] = []
        start = len(self.prefix)
        for tag in self._of_text("alpha"):
            match = _FAST.fullmatch(tag, start)
            if match is None:
                version = self.parse(tag)
                if version is not None and version.maturity == "alpha":
                    odd.append(version)
                continue
            key = (int(match[1]), int(match[2]), int(match[3]), int(match[5]))
            if best is None or key > best:
                best, best_tag = key, tag
        candidates = [*odd, *([v] if best_tag and (v := self.parse(best_tag)) else [])]
        return max(candidates, default=None)

    def frontier(self) -> list[Version]:
        """The versions the alias rules compare against: the highest alpha and beta, and the highest stable of
        each X.Y line (which includes the highest of each major and overall)."""
        lines: dict[tuple[int, int], Version] = {}
        for version in self.of("stable"):
            key = (version.major, version.minor)
            if key not in lines or version > lines[key]:
                lines[key] = version
        return [v for v in (self.highest("alpha"), self.highest("beta")) if v] + list(lines.values())

    def highest_stable(self) -> Version | None:
        """The highest stable version tagged anywhere."""
        return self.highest("stable")

    def highest_cut(self) -> Core | None:
        """The highest release already cut: a release branch, or a beta tag (of a release or a hotfix)."""
        cores = [*self.release_branches.values(), *(v.core for v in self.of("beta"))]
        return max(cores, default=None)

    def highest_beta(self, core: Core) -> int:
        """The highest beta number of ``core`` over all tags (0 when there is none)."""
        numbers = [v.number or 0 for v in self.of("beta") if v.core == core]
        return max(numbers, default=0)

    def has_stable(self, core: Core) -> bool:
        """True when the stable ``core`` is tagged."""
        return self.owner(Version(*core)) is not None

    def mainline_refs(self) -> list[str]:
        """The main and develop refs that exist (local and remote-tracking)."""
        return list(self.mainlines)
