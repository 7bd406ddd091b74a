"""Affected projects: which services and packages a range of commits touches.

Two halves. ``compute`` is pure: from the workspace at the head, the changed paths and the texts of
the few global files that changed, it decides what is affected and why. ``read_range`` feeds it
from git with a fixed, small number of git processes (resolve, merge base, one diff, and the reads
of the head's tree), whatever the size of the range: CI runs this on every event. ``find_affected``
is both in one call, for when the rules are known before git is read.

Rules, in order, for each changed path:
1. ``shipyard.yaml``, other lockfiles than npm's and pnpm's, and the spec's ``workspace.globalFiles``
   affect everything; the root package.json does when a workspace-wide field changed (not when only
   ``scripts`` or metadata did); npm and pnpm lockfiles are compared entry by entry.
2. Paths matching ``workspace.ignore`` (docs, Markdown by default) affect nothing.
3. A path inside a project affects that project; then every project depending on it, transitively.
4. Other paths (outside any project) affect nothing and are listed as such.
A project whose Dockerfile (service) or package.json (package) was deleted or moved away is removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from shipyard.errors import ShipyardError
from shipyard.git import Git
from shipyard.git.refname import check_revision
from shipyard.workspace import lockfiles
from shipyard.workspace.model import ProjectKind, Workspace

if TYPE_CHECKING:
    from shipyard.cache import Cache

SPEC_FILE = "shipyard.yaml"
# Tried in order when no base is given: the remote's default branch, then main.
DEFAULT_BASES = ("origin/HEAD", "origin/main", "main")
ROOT_MANIFEST = "package.json"
# Root package.json fields that only the root uses (its own scripts) or that describe it; a change
# to them builds nothing differently. Every other field (workspaces, packageManager, overrides,
# dependencies, engines, ...) is workspace-wide.
ROOT_LOCAL_FIELDS = frozenset(
    {
        "name",
        "version",
        "description",
        "private",
        "scripts",
        "author",
        "contributors",
        "maintainers",
        "license",
        "repository",
        "homepage",
        "bugs",
        "keywords",
        "funding",
    }
)


class AffectedError(ShipyardError):
    """The range cannot be computed from this clone (a missing ref, cut-off history)."""


@dataclass(frozen=True)
class Change:
    """One line of ``git diff --name-status``: a status letter, the path, and for renames the old path."""

    status: str
    path: str
    old_path: str | None = None


@dataclass(frozen=True)
class Rules:
    """The spec's ``workspace`` section: globs for global files and for files that affect nothing."""

    global_files: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


ReasonKind = Literal["changed", "dependency", "global", "lockfile", "removed"]


@dataclass(frozen=True)
class Reason:
    """Why a project is in the answer: its files, a dependency path, a global file, a lockfile entry."""

    kind: ReasonKind
    files: tuple[str, ...] = ()
    path: tuple[str, ...] = ()  # from this project down to the changed one
    via: tuple[str, ...] = ()  # where each hop of ``path`` is declared
    detail: str = ""

    def text(self) -> str:
        """One line for people and for the JSON ``reasons`` map."""
        if self.kind == "changed":
            more = f" and {len(self.files) - 1} more file(s)" if len(self.files) > 1 else ""
            return f"changed: {self.files[0]}{more}"
        if self.kind == "dependency":
            return f"depends on {self.path[-1]}: {' -> '.join(self.path)}"
        return self.detail


@dataclass(frozen=True)
class Affected:
    """The answer: affected services and packages, removed ones, and why each is there."""

    services: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    removed_services: tuple[str, ...] = ()
    removed_packages: tuple[str, ...] = ()
    all: bool = False
    reasons: dict[str, Reason] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()  # changed paths the ignore rules matched
    unowned: tuple[str, ...] = ()  # changed paths outside every project
    notes: tuple[str, ...] = ()  # global files that changed without affecting anything

    def to_json(self, image: Callable[[str], str]) -> dict[str, Any]:
        """The ``--json`` shape; ``image`` names a service's image repository."""
        return {
            "services": [{"name": s, "image": image(s)} for s in self.services],
            "packages": [{"name": p} for p in self.packages],
            "removed": {"services": list(self.removed_services), "packages": list(self.removed_packages)},
            "all": self.all,
            "reasons": {name: self.reasons[name].text() for name in sorted(self.reasons)},
        }


# Pure part


def needs_texts(changes: Sequence[Change]) -> list[str]:
    """The changed global files whose old and new text ``compute`` compares (root package.json, lockfiles)."""
    wanted = {ROOT_MANIFEST, *lockfiles.SUPPORTED}
    return sorted({p for c in changes for p in (c.path, c.old_path) if p in wanted})


def compute(
    workspace: Workspace,
    changes: Sequence[Change],
    rules: Rules,
    texts: Mapping[str, tuple[str | None, str | None]],
) -> Affected:
    """Decide what ``changes`` affect in ``workspace`` (the head's).

    ``texts`` maps each path of ``needs_texts(changes)`` to its (base, head) text, None where absent.
    """
    global_match = compile_globs(rules.global_files)
    ignore_match = compile_globs(rules.ignore)
    everything: list[str] = []
    notes: list[str] = []
    changed: dict[str, list[str]] = {}
    from_lockfile: dict[str, str] = {}
    removed: dict[str, tuple[ProjectKind, str]] = {}
    ignored: set[str] = set()
    unowned: set[str] = set()

    # A project is gone when the file that made it one is gone from its folder.
    for change in changes:
        gone = change.old_path if change.old_path else (change.path if change.status == "D" else None)
        if gone is None:
            continue
        parts = gone.split("/")
        if len(parts) != 3:
            continue
        kind = {("services", "Dockerfile"): ProjectKind.service, ("packages", "package.json"): ProjectKind.package}
        was = kind.get((parts[0], parts[2]))
        now = workspace.projects.get(parts[1])
        if was is not None and (now is None or now.kind is not was):
            moved = f"moved to {change.path}" if change.old_path else f"{gone} deleted"
            removed[parts[1]] = (was, f"removed: {moved}")

    for change in changes:
        for path in dict.fromkeys(p for p in (change.old_path, change.path) if p):
            if path == SPEC_FILE:
                everything.append(f"{SPEC_FILE} changed")
            elif path == ROOT_MANIFEST:
                wide, why = root_manifest_change(*texts.get(path, (None, None)))
                (everything if wide else notes).append(why)
            elif path in lockfiles.SUPPORTED:
                outcome = lockfiles.compare(path, *texts.get(path, (None, None)))
                if outcome.everything:
                    everything.append(outcome.everything)
                for folder, why in outcome.importers.items():
                    project = workspace.project_of(f"{folder}/{ROOT_MANIFEST}")
                    if project is not None and project.path == folder:
                        from_lockfile.setdefault(project.name, why)
            elif path in lockfiles.OTHER_LOCKFILES:
                everything.append(f"{path} changed (this lockfile format is not compared per package)")
            elif global_match(path):
                everything.append(f"{path} changed (a global file: workspace.globalFiles)")
            elif ignore_match(path):
                ignored.add(path)
            else:
                project = workspace.project_of(path)
                if project is not None:
                    changed.setdefault(project.name, []).append(path)
                elif path.count("/") >= 2 and path.split("/", 2)[1] in removed:
                    continue  # a file of a removed project
                else:
                    unowned.add(path)

    reasons: dict[str, Reason] = {}
    if everything:
        detail = "everything: " + "; ".join(dict.fromkeys(everything))
        names = set(workspace.projects)
        reasons = {name: Reason("global", detail=detail) for name in names}
    else:
        seeds = set(changed) | set(from_lockfile)
        vias = {(e.source, e.target): e.via for e in workspace.edges}
        for name, chain in workspace.dependents_closure(seeds).items():
            if name in changed:
                reasons[name] = Reason("changed", files=tuple(sorted(set(changed[name]))))
            elif name in from_lockfile:
                reasons[name] = Reason("lockfile", detail=from_lockfile[name])
            else:
                down = tuple(reversed(chain))
                reasons[name] = Reason(
                    "dependency", path=down, via=tuple(vias.get(pair, "") for pair in pairwise(down))
                )
        names = set(reasons)
    for name, (_, why) in removed.items():
        # A name reused by a project of the other kind keeps its affected reason; `removed` still lists it.
        reasons.setdefault(name, Reason("removed", detail=why))

    def of_kind(kind: ProjectKind) -> tuple[str, ...]:
        return tuple(sorted(n for n in names if workspace.projects[n].kind is kind))

    return Affected(
        services=of_kind(ProjectKind.service),
        packages=of_kind(ProjectKind.package),
        removed_services=tuple(sorted(n for n, (k, _) in removed.items() if k is ProjectKind.service)),
        removed_packages=tuple(sorted(n for n, (k, _) in removed.items() if k is ProjectKind.package)),
        all=bool(everything),
        reasons=reasons,
        ignored=tuple(sorted(ignored)),
        unowned=tuple(sorted(unowned)),
        notes=tuple(dict.fromkeys(notes)),
    )


def root_manifest_change(base: str | None, head: str | None) -> tuple[bool, str]:
    """Whether a root package.json change is workspace-wide, and a sentence saying which fields changed."""
    if base is None or head is None:
        return True, f"{ROOT_MANIFEST} was {'added' if base is None else 'deleted'}"
    from shipyard.bounded import InputError, parse_json

    try:
        old, new = parse_json(base, ROOT_MANIFEST), parse_json(head, ROOT_MANIFEST)
    except InputError as exc:
        return True, f"{exc.message}, so every field counts as changed"
    if not isinstance(old, dict) or not isinstance(new, dict):
        return True, f"{ROOT_MANIFEST}: not a JSON object, so every field counts as changed"
    fields = sorted(k for k in set(old) | set(new) if old.get(k, ...) != new.get(k, ...))
    wide = [f for f in fields if f not in ROOT_LOCAL_FIELDS]
    if wide:
        return True, f"{ROOT_MANIFEST}: workspace-wide field(s) changed: {', '.join(wide)}"
    return False, f"{ROOT_MANIFEST}: only root-local field(s) changed ({', '.join(fields) or 'formatting'})"


def compile_globs(patterns: Sequence[str]) -> Callable[[str], bool]:
    """A matcher for repository-relative paths: ``*`` and ``?`` stay in one folder, ``**`` crosses folders,
    ``[...]`` is a set, and a pattern ending in ``/`` means everything under that folder."""
    if not patterns:
        return lambda _path: False
    regex = re.compile("|".join(f"(?:{glob_to_regex(p)})" for p in patterns))
    return lambda path: regex.fullmatch(path) is not None


def glob_to_regex(pattern: str) -> str:
    """The regular expression (for ``fullmatch``) of one glob pattern."""
    pattern = pattern.strip().lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("(?:/.*)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            escaped = body.replace("\\", "\\\\")
            out.append(f"[{'^' if negate else ''}{escaped}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


# Git part


def parse_name_status(output: str) -> list[Change]:
    """Parse ``git diff --name-status -z`` output (renames and copies carry two paths)."""
    tokens = output.split("\0")
    changes: list[Change] = []
    i = 0
    while i < len(tokens) and tokens[i]:
        status = tokens[i][0]
        if status in ("R", "C"):
            old, new = tokens[i + 1], tokens[i + 2]
            changes.append(Change("R" if status == "R" else "A", new, old if status == "R" else None))
            i += 3
        else:
            changes.append(Change(status, tokens[i + 1]))
            i += 2
    return changes


@dataclass(frozen=True)
class Range:
    """The commits compared: the base and head asked for, and their merge base."""

    base: str
    head: str
    merge_base: str


@dataclass(frozen=True)
class RangeReading:
    """What git says about a range: the commits, the changed paths, the texts ``compute`` compares,
    and the head's workspace (None when nothing changed, so nothing needs it)."""

    span: Range
    changes: tuple[Change, ...] = ()
    texts: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    workspace: Workspace | None = None

    def decide(self, rules: Rules) -> Affected:
        """The affected projects under ``rules``."""
        if self.workspace is None:
            return Affected()
        return compute(self.workspace, self.changes, rules, self.texts)


def read_range(root: Path, base: str, head: str = "HEAD", cache: Cache | None = None) -> RangeReading:
    """Everything ``compute`` needs from git about the range from the merge base of ``base`` to ``head``
    in the repository at ``root``; ``cache`` keeps the head's workspace graph for the next run on the
    same project trees."""
    from shipyard.workspace.gittree import read_blobs, workspace_at

    for ref, flag in ((base, "--base"), (head, "--head")):
        if not ref or ref.startswith("-"):
            raise AffectedError(f"'{ref}' is not a git revision", hint="pass a branch, tag or commit")
        check_revision(ref, flag)
    git = Git(root)
    resolved = git.execute("rev-parse", "--show-prefix", f"{base}^{{commit}}", f"{head}^{{commit}}")
    if resolved.returncode != 0:
        raise _missing_ref(git, base, head, resolved.stderr)
    prefix, base_sha, head_sha = resolved.stdout.split("\n")[:3]
    merge_base = git.execute("merge-base", base_sha, head_sha)
    if merge_base.returncode != 0:
        raise _no_merge_base(git, base, head, merge_base.stderr)
    span = Range(base_sha, head_sha, merge_base.stdout.strip())
    if span.merge_base == head_sha:
        return RangeReading(span)  # nothing on head that base lacks: an empty range
    diff = git.run("diff", "--name-status", "-z", "-M", "--relative", "--no-ext-diff", span.merge_base, head_sha)
    changes = parse_name_status(diff)
    if not changes:
        return RangeReading(span)
    wanted = needs_texts(changes)
    blobs = read_blobs(root, [f"{c}:{prefix}{p}" for p in wanted for c in (span.merge_base, head_sha)])

    def text(commit: str, path: str) -> str | None:
        blob = blobs.get(f"{commit}:{prefix}{path}")
        return None if blob is None else blob.decode("utf-8", "replace")

    texts = {p: (text(span.merge_base, p), text(head_sha, p)) for p in wanted}
    return RangeReading(span, tuple(changes), texts, workspace_at(root, head_sha, cache))


def default_base(root: Path) -> str:
    """The first of ``DEFAULT_BASES`` that exists in the repository at ``root``."""
    git = Git(root)
    found = next((ref for ref in DEFAULT_BASES if git.has_ref(ref)), None)
    if found is None:
        raise AffectedError(
            "no --base given and none of origin/HEAD, origin/main, main exists here",
            hint="pass --base (the branch the change merges into), e.g. --base origin/develop",
        )
    return found


def find_affected(
    root: Path, rules: Rules, base: str, head: str = "HEAD", cache: Cache | None = None
) -> tuple[Affected, Range]:
    """What changed between the merge base of ``base`` and ``head`` in the repository at ``root``."""
    reading = read_range(root, base, head, cache)
    return reading.decide(rules), reading.span


def _remote_for(git: Git) -> str | None:
    remotes = git.run("remote", check=False).split()
    return "origin" if "origin" in remotes else (remotes[0] if remotes else None)


def fetch_command(git: Git, ref: str, *, shallow: bool) -> str | None:
    """The ``git fetch`` that brings ``ref`` here, or None when no fetch can (no remote, or a relative
    revision such as ``HEAD~1`` in a full clone, which names a commit before the first)."""
    remotes = git.run("remote", check=False).split()
    remote = _remote_for(git)
    if remote is None:
        return None
    deepen = "--unshallow " if shallow else ""
    if re.search(r"[~^]|@\{", ref):
        # HEAD~1 in a depth-1 clone: the commit is there upstream, only the history is cut.
        return f"git fetch --unshallow {remote}" if shallow else None
    name = ref.removeprefix("refs/remotes/")
    first, _, rest = name.partition("/")
    if first in remotes and rest:
        return f"git fetch {deepen}{first} +refs/heads/{rest}:refs/remotes/{first}/{rest}"
    if re.fullmatch(r"[0-9a-f]{40}", ref):
        return f"git fetch {deepen}{remote} {ref}"
    if ref.startswith("refs/tags/"):
        return f"git fetch {deepen}{remote} +{ref}:{ref}"
    branch = ref.removeprefix("refs/heads/")
    return f"git fetch {deepen}{remote} +refs/heads/{branch}:refs/heads/{branch}"


def _missing_ref(git: Git, base: str, head: str, stderr: str) -> AffectedError:
    missing = [r for r in dict.fromkeys((base, head)) if not git.has_ref(r)]
    if not missing:
        return AffectedError(f"git could not resolve {base} and {head}: {stderr.strip()}")
    shallow = git.is_shallow()
    fixes = list(dict.fromkeys(f for f in (fetch_command(git, r, shallow=shallow) for r in missing) if f))
    where = "this shallow clone" if shallow else "this clone"
    message = f"{', '.join(repr(r) for r in missing)}: no such commit in {where}, so the affected projects are unknown"
    if not fixes:
        if _remote_for(git) is None:
            hint = "no git remote is configured to fetch it from; add one with git remote add"
        else:
            hint = "that revision does not exist (the history starts later); pass a --base that does"
        return AffectedError(message, hint=hint)
    return AffectedError(message, hint="fetch it, then run again: " + " && ".join(fixes))


def _no_merge_base(git: Git, base: str, head: str, stderr: str) -> AffectedError:
    if git.is_shallow():
        remote = _remote_for(git)
        fix = None
        if remote is not None:
            first = base.removeprefix("refs/remotes/").partition("/")[0]
            tracking = first in git.run("remote", check=False).split()
            fix = fetch_command(git, base, shallow=True) if tracking else f"git fetch --unshallow {remote}"
        return AffectedError(
            f"this is a shallow clone and the history of {base} and {head} is cut off before they meet, "
            "so their merge base (and the affected projects) is unknown",
            hint=f"deepen the clone, then run again: {fix}" if fix else "clone with full history (no --depth)",
        )
    detail = f": {stderr.strip()}" if stderr.strip() else ""
    return AffectedError(
        f"{base} and {head} have no common history{detail}", hint="pass a --base that shares history with --head"
    )
