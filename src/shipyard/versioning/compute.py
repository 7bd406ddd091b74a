"""The version of a commit, from git alone, by the branch it is on and the tags that exist:

- A tagged commit keeps its tag (one version per maturity per commit), on every branch.
- develop: ``vX.Y.Z-alpha.<UTC yyyymmddHHMMSS>``; X.Y.Z is the next minor after the highest of the
  latest stable and the highest release already cut, and never below the newest alpha among the
  commit's ancestors; the timestamp is the committer time, raised to one second after that alpha and
  past any alpha already tagged on another commit.
- release/vX.Y.Z: ``vX.Y.Z-beta.N``; N continues from the highest beta of X.Y.Z in all tags, and the
  untagged commits of the branch are numbered in first-parent order (``release tag`` tags them together).
- main: the stable of the merged release branch; a merged hotfix is a patch bump of the latest stable.
- hotfix/<desc>: ``vX.Y.(Z+1)-beta.N`` on the stable line it branched from.
- pull requests: the image tag ``pr-<n>-<sha7>``.

Every rule reads all refs once and walks first parents only as far as the nearest tagged commit, so the
cost does not grow with the size of the history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shipyard.errors import ShipyardError
from shipyard.git import Git
from shipyard.git.refname import check_revision, check_value
from shipyard.spec.model import pr_number_problem
from shipyard.versioning.aliases import image_tags, npm_dist_tag, npm_version
from shipyard.versioning.branch import BranchError, BranchKind, classify
from shipyard.versioning.history import History, MissingRefs, TruncatedHistory, pick_remote, with_history
from shipyard.versioning.refs import RefSnapshot
from shipyard.versioning.semver import Version

Core = tuple[int, int, int]
Maturity = Literal["alpha", "beta", "stable", "pr"]

_STAMP = "%Y%m%d%H%M%S"
_MERGED_RELEASE = re.compile(r"release/v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\b", re.ASCII)
_BREAKING = (r"^[A-Za-z]+(\([^)]*\))?!:", r"^BREAKING[ -]CHANGE:")


class NpmInfo(BaseModel):
    """The npm form of a version: the version without the prefix and the dist-tag to publish it under."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    version: str
    dist_tag: str = Field(alias="distTag")


class PendingTag(BaseModel):
    """A version tag ``release tag`` would create, and the commit it goes on."""

    model_config = ConfigDict(frozen=True)

    tag: str
    commit: str


class VersionInfo(BaseModel):
    """The version of one commit, with the aliases to move and why. ``--json`` prints this (by alias)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    version: str
    maturity: Maturity
    base: str
    tags: list[str]
    npm: NpmInfo
    reason: str
    commit: str
    branch: str | None
    existing: bool = Field(description="True when the version is already a tag on this commit")
    pending: list[PendingTag] = Field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """The JSON form (``npm.distTag`` spelled as npm spells it)."""
        return self.model_dump(mode="json", by_alias=True)


@dataclass
class _Answer:
    version: Version
    reason: str
    pending: list[tuple[Version, str]] = field(default_factory=list)
    existing: bool = False


def compute_version(
    repo: Path,
    ref: str = "HEAD",
    branch: str | None = None,
    pr: int | None = None,
    tag_prefix: str = "v",
    *,
    bump: Literal["minor", "conventional"] = "minor",
    remote: str | None = None,
    fetch: bool = True,
) -> VersionInfo:
    """The version of ``ref`` in the repository at ``repo``.

    ``branch`` names the branch for a detached HEAD (CI checkouts); by default it is the checked-out
    branch (or the branch ``ref`` names). ``pr`` gives the pull request build tag instead. ``bump``
    is the spec's ``versioning.bump``. In a shallow clone the history is deepened from ``remote``
    (default origin) as far as the answer needs, unless ``fetch`` is False.
    """
    check_revision(ref, "--ref")
    if branch is not None:
        check_value(branch, "--branch")
    if remote is not None:
        check_value(remote, "--remote")
    git = Git(repo)
    commit = _resolve(git, ref)
    name = branch or _branch_of(git, ref)

    def compute(history: History) -> VersionInfo:
        snapshot = _snapshot(git, tag_prefix, history, remote, fetch)
        return _compute(git, history, snapshot, commit, name, pr, bump)

    return with_history(git, compute, remote=remote, fetch=fetch)


def _resolve(git: Git, ref: str) -> str:
    commit = git.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False).strip()
    if not commit:
        raise ShipyardError(f"'{ref}' is not a commit in {git.path}", hint="give a branch, tag or commit id")
    return commit


def _branch_of(git: Git, ref: str) -> str | None:
    if ref == "HEAD":
        return git.current_branch()
    full = git.run(
        "rev-parse", "--symbolic-full-name", "--verify", "--quiet", "--end-of-options", ref, check=False
    ).strip()
    if full.startswith("refs/heads/"):
        return full.removeprefix("refs/heads/")
    if full.startswith("refs/remotes/"):
        return full.removeprefix("refs/remotes/").partition("/")[2] or None
    return None


def _snapshot(git: Git, prefix: str, history: History, remote: str | None, fetch: bool) -> RefSnapshot:
    # A shallow clone often lacks the tags of other branches; the remote lists them without any download.
    extra: list[tuple[str, str]] = []
    if history.shallow and fetch:
        source = pick_remote(git, remote)
        if source:
            extra = git.remote_refs(source, f"refs/tags/{prefix}*", "refs/heads/*")
            extra = [(n.replace("refs/heads/", f"refs/remotes/{source}/", 1), c) for n, c in extra]
    return RefSnapshot.read(git, prefix, extra)


def _compute(
    git: Git,
    history: History,
    snapshot: RefSnapshot,
    commit: str,
    name: str | None,
    pr: int | None,
    bump: str,
) -> VersionInfo:
    prefix = snapshot.prefix
    kind: BranchKind | None = None
    parsed = None
    if name is not None:
        try:
            parsed = classify(name)
        except BranchError as exc:
            if pr is None:
                raise ShipyardError(str(exc), hint="versions are computed for workflow branches only") from exc
        else:
            kind = parsed.kind
    if pr is not None:
        return _pull_request(git, history, snapshot, commit, name, pr, bump, kind)
    if kind is None:
        tagged = snapshot.tagged(commit)
        if tagged:
            return _info(
                snapshot,
                commit,
                name,
                _Answer(tagged[0], f"{commit[:7]} is tagged {tagged[0].format(prefix)}", existing=True),
            )
        raise ShipyardError(
            f"cannot tell the branch of {commit[:7]} (detached HEAD)",
            hint="pass --branch NAME (in CI: the branch that triggered the build)",
        )
    if kind is BranchKind.feature:
        raise ShipyardError(
            f"{name}: feature branches are versioned only as pull request builds",
            hint="pass --pr NUMBER for the image tag pr-<number>-<sha7>; merged to develop it gets an alpha",
        )
    answer = _by_kind(git, history, snapshot, commit, kind, parsed.version if parsed else None, bump)
    return _info(snapshot, commit, name, answer)


def _by_kind(
    git: Git,
    history: History,
    snapshot: RefSnapshot,
    commit: str,
    kind: BranchKind,
    release: Core | None,
    bump: str,
) -> _Answer:
    if kind is BranchKind.develop:
        return _develop(git, history, snapshot, commit, bump)
    if kind is BranchKind.release:
        assert release is not None
        return _release(history, snapshot, commit, release)
    if kind is BranchKind.hotfix:
        return _hotfix(history, snapshot, commit)
    return _main(git, history, snapshot, commit)


def _info(snapshot: RefSnapshot, commit: str, name: str | None, answer: _Answer) -> VersionInfo:
    prefix = snapshot.prefix
    version = answer.version
    published = [*snapshot.frontier(), version]
    maturity = version.maturity
    assert maturity in ("alpha", "beta", "stable")
    return VersionInfo(
        version=version.format(prefix),
        maturity=maturity,
        base=version.base,
        tags=image_tags(version, published, prefix),
        npm=NpmInfo(version=npm_version(version), dist_tag=npm_dist_tag(version, published)),
        reason=answer.reason,
        commit=commit,
        branch=name,
        existing=answer.existing,
        pending=[PendingTag(tag=v.format(prefix), commit=c) for v, c in answer.pending],
    )


def _kept(snapshot: RefSnapshot, commit: str, maturity: str, core: Core | None = None) -> _Answer | None:
    """A tagged commit keeps its tag: the highest of the branch's maturity already on it."""
    found = [v for v in snapshot.tagged(commit, maturity) if core is None or v.core == core]
    if not found:
        return None
    return _Answer(found[0], f"{commit[:7]} is already tagged {found[0].format(snapshot.prefix)}", existing=True)


def _fmt(core: Core | None) -> str:
    return "none" if core is None else "{}.{}.{}".format(*core)


# develop


def _develop(git: Git, history: History, snapshot: RefSnapshot, commit: str, bump: str) -> _Answer:
    kept = _kept(snapshot, commit, "alpha")
    if kept:
        return kept
    walk = history.walk(
        commit, lambda sha: sha != commit and bool(snapshot.tagged(sha, "alpha")), "an alpha-tagged ancestor"
    )
    previous = snapshot.tagged(walk.stop, "alpha")[0] if walk.stop else None
    # The untagged develop commits since that alpha get theirs first, oldest first (``release tag`` tags them
    # together), so a commit CI skipped or reached late can never later take a higher alpha than its child.
    # Without any alpha before it (a repository adopting Shipyard) only the commit itself is versioned.
    chain = list(reversed(walk.visited)) if previous else walk.visited[:1]
    pending: list[tuple[Version, str]] = []
    taken: set[Version] = set()
    reason = ""
    for sha, committed_at in chain:
        version, reason = _alpha(git, history, snapshot, sha, committed_at, previous, bump, taken)
        pending.append((version, sha))
        taken.add(version)
        previous = version
    if len(chain) > 1:
        reason += f"; the {len(chain) - 1} untagged develop commit(s) before it take the alphas below"
    return _Answer(pending[-1][0], reason, pending)


def _alpha(
    git: Git,
    history: History,
    snapshot: RefSnapshot,
    commit: str,
    committed_at: int,
    previous: Version | None,
    bump: str,
    taken: set[Version],
) -> tuple[Version, str]:
    """The alpha of one develop commit, given the alpha of the develop commit before it."""
    stable = snapshot.highest_stable()
    cut = snapshot.highest_cut()
    top = max(stable.core if stable else (0, 0, 0), cut or (0, 0, 0))
    core: Core = (top[0], top[1] + 1, 0)
    why = f"the next minor after {_fmt(top)} (latest stable {_fmt(stable.core if stable else None)}, "
    why += f"highest release cut {_fmt(cut)})"
    if bump == "conventional":
        breaking = _breaking_change(git, history, snapshot, commit, top)
        if breaking:
            core = (top[0] + 1, 0, 0)
            why = f"the next major after {_fmt(top)}: {breaking[:7]} is a breaking change since the last release"
    if previous and previous.core > core:
        core = previous.core
        why = (
            f"{_fmt(core)}, kept from the alpha {previous.format(snapshot.prefix)} before it (develop never goes back)"
        )
    committed = datetime.fromtimestamp(committed_at, UTC)
    stamp = committed
    raised = ""
    if previous and previous.number is not None:
        floor = datetime.strptime(str(previous.number), _STAMP).replace(tzinfo=UTC) + timedelta(seconds=1)
        if stamp < floor:
            stamp = floor
            raised = f", raised above the alpha {previous.format(snapshot.prefix)} before it"
    while True:
        version = Version(*core, ("alpha", int(stamp.strftime(_STAMP))))
        owner = snapshot.owner(version)
        if version not in taken and (owner is None or owner == commit):
            break
        stamp += timedelta(seconds=1)
        raised += f"; {version.format(snapshot.prefix)} is taken, so the next free second"
    return version, f"develop: {why}; alpha number from the commit time {committed:%Y-%m-%d %H:%M:%S} UTC{raised}"


def _need_here(snapshot: RefSnapshot, refnames: list[str]) -> None:
    """Raise MissingRefs for those of ``refnames`` a shallow clone knows only from the remote's listing."""
    missing = [ref for ref in refnames if ref in snapshot.remote_only]
    if missing:
        raise MissingRefs(missing)


def _breaking_change(git: Git, history: History, snapshot: RefSnapshot, commit: str, top: Core) -> str | None:
    """The newest breaking-change commit not yet in the last stable or the highest release cut."""
    released = [v for v in (*snapshot.of("stable"), *snapshot.of("beta")) if v.core == top]
    cuts = [r for r, core in snapshot.release_branches.items() if core == top]
    # A shallow clone may know the last release only from the remote's listing; the log needs it here.
    _need_here(snapshot, [*(f"refs/tags/{v.format(snapshot.prefix)}" for v in released), *cuts])
    bounds = {c for c in (snapshot.owner(v) for v in released) if c}
    bounds |= {snapshot.release_heads[r] for r in cuts}
    for bound in sorted(bounds) if history.shallow else ():
        # The log below stops at the clone's boundary; only once the history meets the release is it whole.
        if git.execute("merge-base", commit, bound).returncode != 0:
            raise TruncatedHistory(commit, min(history.boundary), "where the last release left develop")
    args = ["log", "--format=%H", "-n", "1", "-E"]
    for pattern in _BREAKING:
        args += ["--grep", pattern]
    found = git.run(*args, commit, *(["--not", *sorted(bounds)] if bounds else []), "--").strip()
    return found or None


# release and hotfix betas


def _betas(history: History, snapshot: RefSnapshot, commit: str, core: Core, why: str) -> _Answer:
    # The untagged commits of the branch (first parents back to the nearest tagged commit, or to where
    # the branch left main/develop) get their numbers in first-parent order, oldest first.
    mainlines = snapshot.mainline_refs()
    _need_here(snapshot, mainlines)  # a single-branch shallow clone: where did the branch leave them?
    walk = history.walk(commit, lambda sha: bool(snapshot.by_commit.get(sha)), "a tagged commit", tuple(mainlines))
    chain = [sha for sha, _ in reversed(walk.visited)]
    if not chain or chain[-1] != commit:
        chain = [commit]
    start = snapshot.highest_beta(core)
    pending = [(Version(*core, ("beta", start + i + 1)), sha) for i, sha in enumerate(chain)]
    version = pending[-1][0]
    count = f"; {len(chain) - 1} untagged commit(s) before it take the numbers below" if len(chain) > 1 else ""
    highest = f"the highest beta of {_fmt(core)} is {start}" if start else f"{_fmt(core)} has no beta yet"
    return _Answer(version, f"{why}; {highest}, so this is beta {version.number}{count}", pending)


def _release(history: History, snapshot: RefSnapshot, commit: str, core: Core) -> _Answer:
    kept = _kept(snapshot, commit, "beta", core)
    if kept:
        return kept
    if snapshot.has_stable(core):
        owner = snapshot.owner(Version(*core)) or "?"
        raise ShipyardError(
            f"release/v{_fmt(core)} is finished: v{_fmt(core)} is tagged on {owner[:7]}",
            hint="new work goes to develop; fixes to production go through `shipyard hotfix start`",
        )
    return _betas(history, snapshot, commit, core, f"release/v{_fmt(core)}: betas of {_fmt(core)}")


def _hotfix(history: History, snapshot: RefSnapshot, commit: str) -> _Answer:
    kept = _kept(snapshot, commit, "stable") or _kept(snapshot, commit, "beta")
    if kept:
        return kept
    line = _nearest(history, snapshot, commit, "stable", include_start=True)
    if line is None:
        raise ShipyardError(
            f"hotfix branch at {commit[:7]} does not start from a stable release",
            hint="start hotfixes with `shipyard hotfix start DESC [--from vX.Y.Z]`",
        )
    core = (line.major, line.minor, line.patch + 1)
    if snapshot.has_stable(core):
        raise ShipyardError(
            f"v{_fmt(core)} is already released, so this hotfix from {line.format(snapshot.prefix)} is stale",
            hint=f"start a new hotfix from v{_fmt(core)}, or merge it into this branch",
        )
    why = f"hotfix on the {line.major}.{line.minor} line from {line.format(snapshot.prefix)}: betas of {_fmt(core)}"
    return _betas(history, snapshot, commit, core, why)


def _nearest(
    history: History, snapshot: RefSnapshot, commit: str, maturity: str, *, include_start: bool
) -> Version | None:
    walk = history.walk(
        commit,
        lambda sha: (include_start or sha != commit) and bool(snapshot.tagged(sha, maturity)),
        f"a {maturity} tag",
    )
    return snapshot.tagged(walk.stop, maturity)[0] if walk.stop else None


# main


def _main(git: Git, history: History, snapshot: RefSnapshot, commit: str) -> _Answer:
    kept = _kept(snapshot, commit, "stable")
    if kept:
        return kept
    parents = git.parents(commit)
    previous = _nearest(history, snapshot, parents[0], "stable", include_start=True) if parents else None
    line = previous.core if previous else (0, 0, 0)
    patch: Core = (line[0], line[1], line[2] + 1)
    squashed = _MERGED_RELEASE.search(git.subject(commit)) if len(parents) < 2 else None
    if squashed:
        # A release merged by squashing still names its branch in the subject.
        core = (int(squashed[1]), int(squashed[2]), int(squashed[3]))
        why = f"the stable of release/v{_fmt(core)}, named by the commit's subject"
    elif len(parents) < 2:
        core, why = patch, f"a commit on main that merges nothing: a patch after {_fmt(line)}"
    else:
        core, why = _merged(git, history, snapshot, commit, parents[1], patch)
    if previous and core <= previous.core:
        raise ShipyardError(
            f"main at {commit[:7]} would be v{_fmt(core)}, not above {previous.format(snapshot.prefix)} before it",
            hint="a release merged to main must be newer than every stable on main",
        )
    version = Version(*core)
    owner = snapshot.owner(version)
    if owner is not None and owner != commit:
        raise ShipyardError(
            f"v{_fmt(core)} is already tagged on {owner[:7]}, so {commit[:7]} cannot take it",
            hint="a version names one commit; merge each release or hotfix to main once",
        )
    return _Answer(version, f"main: {why}", [(version, commit)])


def _merged(
    git: Git, history: History, snapshot: RefSnapshot, commit: str, merged: str, patch: Core
) -> tuple[Core, str]:
    subject = git.subject(commit)
    match = _MERGED_RELEASE.search(subject)
    if match:
        core = (int(match[1]), int(match[2]), int(match[3]))
        return core, f"the stable of the merged release branch release/v{_fmt(core)}"
    walk = history.walk(merged, lambda sha: bool(snapshot.by_commit.get(sha)), "a tagged commit")
    found = snapshot.tagged(walk.stop) if walk.stop else []
    beta = next((v for v in found if v.maturity == "beta"), None)
    if beta is not None and not snapshot.has_stable(beta.core):
        return beta.core, f"the stable of the merged betas of {beta.base} ({beta.format(snapshot.prefix)})"
    return patch, f"a merged hotfix: the patch after {_fmt((patch[0], patch[1], patch[2] - 1))}"


# pull requests


def _pull_request(
    git: Git,
    history: History,
    snapshot: RefSnapshot,
    commit: str,
    name: str | None,
    pr: int,
    bump: str,
    kind: BranchKind | None,
) -> VersionInfo:
    problem = pr_number_problem(pr)
    if problem:
        # The build tag pr-<n>-<sha7> is an image tag: a number out of range would not fit one.
        raise ShipyardError(f"--pr {problem}")
    target = kind if kind in (BranchKind.release, BranchKind.hotfix) else BranchKind.develop
    parsed = classify(name) if name and kind is BranchKind.release else None
    base = _by_kind(git, history, snapshot, commit, target, parsed.version if parsed else None, bump).version
    tag = f"pr-{pr}-{commit[:7]}"
    return VersionInfo(
        version=tag,
        maturity="pr",
        base=base.base,
        tags=[tag],
        npm=NpmInfo(version=f"{base.base}-{tag}", dist_tag=f"pr-{pr}"),
        reason=f"pull request #{pr} at {commit[:7]}: a build tag, not a version (merged, it takes {base.base})",
        commit=commit,
        branch=name,
        existing=False,
    )
