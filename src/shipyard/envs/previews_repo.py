"""Previews in the config repo: the one source of truth. A preview exists while ``previews/pr-<n>/`` does.

Every change is made in a throw-away clone and pushed the ``change_branch`` way (fetch, re-apply on the
newest tip, commit with trailers, push, retry on a lost race), so concurrent CI runs never lose an
update, and each change is re-derived from the state it lands on. ``up`` and ``down`` use
``change_branch`` itself; the clean-up, which may remove thousands of directories, does the same on git's
objects alone (a bare clone and ``mktree``), so it never writes a work tree.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shipyard.envs.previews_fastyaml import read_namespace
from shipyard.envs.previews_gc import Candidate, GcReport, plan_gc
from shipyard.envs.previews_marks import Marked, NamePattern, format_rfc3339, protected_namespaces, read_marks
from shipyard.envs.previews_prstate import PrStates
from shipyard.envs.previews_render import PreviewRequest, preview_urls, render_preview
from shipyard.errors import ShipyardError
from shipyard.gitflow.git import Git, PushRejected, Trailers, change_branch, format_message
from shipyard.k8s.yaml import load_all
from shipyard.plan import Op, Plan
from shipyard.spec.model import Platform

PREVIEWS = "previews"
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


def resolve_config_repo(given: str | None, platform: Platform, root: Path) -> str:
    """The config repo to use: ``--config-repo``, else ``repos.config`` of the spec (relative to the spec)."""
    source = given or platform.repos.config
    if not source:
        raise ShipyardError(
            "no config repo: shipyard.yaml has no repos.config",
            hint="set repos.config in shipyard.yaml, or pass --config-repo URL|PATH",
        )
    if "://" in source or source.startswith("git@"):
        return source
    path = Path(source)
    path = path if path.is_absolute() else (root if given is None else Path.cwd()) / path
    if not path.exists():
        raise ShipyardError(f"config repo {path} does not exist", hint="run `shipyard init`, or pass --config-repo")
    return str(path.resolve())


@contextmanager
def config_checkout(source: str) -> Iterator[Path]:
    """A fresh clone of the config repo (remote ``origin``, nothing checked out yet), removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="shipyard-config-"))
    try:
        checkout = scratch / "config"
        Git(scratch).run("clone", "--quiet", "--no-checkout", source, str(checkout))
        yield checkout
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def push_change(
    checkout: Path, branch: str, apply: Callable[[Path], str | None], trailers: Trailers = ()
) -> str | None:
    """``change_branch``, plus the first commit of an empty config repo (a branch that does not exist yet)."""
    git = Git(checkout)
    if not git.run("ls-remote", "--heads", "origin", branch).strip():
        git.run("checkout", "--quiet", "--orphan", branch)
        message = apply(checkout)
        if message is None:
            return None
        commit = git.commit(message, trailers)
        try:
            git.push("origin", [f"HEAD:refs/heads/{branch}"])
            return commit
        except PushRejected:
            pass  # another writer created the branch first: re-apply on top of theirs
    return change_branch(checkout, "origin", branch, apply, trailers)


def checkout_branch(checkout: Path, branch: str) -> bool:
    """Check out ``branch`` of origin; False when the config repo does not have it yet (empty repo)."""
    git = Git(checkout)
    if not git.has_ref(f"refs/remotes/origin/{branch}"):
        return False
    git.run("checkout", "--quiet", "-B", branch, f"refs/remotes/origin/{branch}")
    return True


def _namespace_candidate(directory: Path) -> Candidate:
    try:
        text: str | None = (directory / "namespace.yaml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = None
    return namespace_candidate(directory.name, text)


def namespace_candidate(name: str, text: str | None) -> Candidate:
    """A clean-up candidate from a preview directory's name and its ``namespace.yaml`` text (None: absent)."""
    if text is None:
        return Candidate(name, None, None, problem="no readable namespace.yaml")
    fast = read_namespace(text)
    try:
        documents = [fast] if fast is not None else load_all(text)
    except Exception as exc:  # a YAML error of any kind: the entry is unreadable, so it is skipped
        return Candidate(name, None, None, problem=f"namespace.yaml is not valid YAML: {type(exc).__name__}")
    namespace = next((d for d in documents if isinstance(d, dict) and d.get("kind") == "Namespace"), None)
    metadata = namespace.get("metadata") if namespace else None
    if not isinstance(metadata, dict):
        return Candidate(name, None, None, problem="namespace.yaml holds no Namespace")
    if metadata.get("name") != name:
        return Candidate(name, None, None, problem=f"the Namespace is named {metadata.get('name')!r}, not {name!r}")
    return Candidate(name, metadata.get("labels"), metadata.get("annotations"))


def read_committed_candidates(checkout: Path, rev: str = "HEAD") -> list[Candidate]:
    """Every directory under ``previews/`` at ``rev`` as a clean-up candidate, read from git's objects.

    Nothing is written to disk: one ``ls-tree`` lists the directories and one ``cat-file --batch`` reads
    every ``namespace.yaml``, so deciding over thousands of previews needs no checkout at all.
    """
    git = Git(checkout)
    if not git.has_ref(rev):
        return []
    listing = git.run("ls-tree", "-r", "-z", rev, "--", f"{PREVIEWS}/").split("\0")
    directories: set[str] = set()
    blobs: dict[str, str] = {}
    for entry in listing:
        info, _, path = entry.partition("\t")
        parts = path.split("/")
        if len(parts) < 3:
            continue
        directories.add(parts[1])
        if len(parts) == 3 and parts[2] == "namespace.yaml" and info.split(" ")[1:2] == ["blob"]:
            blobs[parts[1]] = info.split(" ")[2]
    texts = _read_blobs(git, [blobs[d] for d in sorted(blobs)])
    by_name = dict(zip(sorted(blobs), texts, strict=True))
    return [namespace_candidate(d, by_name.get(d)) for d in sorted(directories)]


def _read_blobs(git: Git, oids: list[str]) -> list[str | None]:
    """The text of each blob, in order (None where it is not UTF-8), through one ``cat-file --batch``."""
    if not oids:
        return []
    proc = subprocess.run(
        ["git", "-C", str(git.path), "cat-file", "--batch"],
        input="".join(f"{oid}\n" for oid in oids).encode(),
        capture_output=True,
        check=True,
    )
    out, position = proc.stdout, 0
    texts: list[str | None] = []
    for _ in oids:
        header_end = out.index(b"\n", position)
        size = int(out[position:header_end].split(b" ")[2])
        body = out[header_end + 1 : header_end + 1 + size]
        position = header_end + 1 + size + 1
        try:
            texts.append(body.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(None)
    return texts


def _marks(platform: Platform) -> tuple[NamePattern, frozenset[str]]:
    protected = protected_namespaces([e.ns for e in platform.environments] + [platform.sandbox.namespace])
    return NamePattern(platform.preview.namespace), protected


# up


@dataclass
class UpResult:
    """What ``preview up`` did or would do."""

    plan: Plan
    namespace: str
    created_at: datetime
    urls: dict[str, str]
    commit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """For JSON output."""
        return {
            "namespace": self.namespace,
            "createdAt": format_rfc3339(self.created_at),
            "urls": self.urls,
            "commit": self.commit,
            "plan": self.plan.model_dump(mode="json"),
        }


def check_request(number: int, sha: str, services: list[str], known: list[str]) -> PreviewRequest:
    """Validate ``preview up``'s input; a ShipyardError names the bad value and the valid ones."""
    if number < 1:
        raise ShipyardError(f"--pr {number} is not a pull request number (a positive integer)")
    if not _SHA.match(sha):
        raise ShipyardError(f"--sha '{sha}' is not a commit id (7 to 64 hexadecimal digits)")
    chosen = sorted(set(services or known))
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ShipyardError(f"unknown service(s): {', '.join(unknown)}; valid: {', '.join(known) or '(none)'}")
    if not chosen:
        raise ShipyardError("the workspace has no services to preview", hint="services live in services/<name>/")
    return PreviewRequest(number=number, sha=sha.lower(), services=tuple(chosen))


def _existing_created_at(directory: Path, names: NamePattern, protected: frozenset[str]) -> datetime | None:
    """The created-at of a preview already there (kept on update); refuses a directory that is not Shipyard's."""
    if not directory.exists():
        return None
    candidate = _namespace_candidate(directory)
    marked = candidate.problem or read_marks(candidate.name, candidate.labels, candidate.annotations, names, protected)
    if not isinstance(marked, Marked):
        raise ShipyardError(
            f"{PREVIEWS}/{directory.name} exists but is not a Shipyard preview ({marked})",
            hint="Shipyard never overwrites what it did not create; remove that directory by hand if it is stale",
        )
    return marked.created_at


def plan_up(checkout: Path, platform: Platform, request: PreviewRequest, now: datetime) -> tuple[Plan, dict[str, str]]:
    """The files ``preview up`` writes and the plan saying which change; reads ``checkout``, writes nothing."""
    names, protected = _marks(platform)
    name = names.name(request.number)
    if name in protected:
        raise ShipyardError(f"preview namespace '{name}' is a protected namespace; change preview.namespace")
    directory = checkout / PREVIEWS / name
    created_at = _existing_created_at(directory, names, protected) or now
    files = render_preview(platform, request, created_at)
    plan = Plan(command=f"shipyard preview up --pr {request.number}")
    for filename, text in files.items():
        path = directory / filename
        if not path.exists():
            plan.add(Op.create, f"{PREVIEWS}/{name}/{filename}")
        elif path.read_text(encoding="utf-8") != text:
            plan.add(Op.update, f"{PREVIEWS}/{name}/{filename}")
    if directory.is_dir():
        for stale in sorted(p.name for p in directory.iterdir() if p.name not in files):
            plan.add(Op.delete, f"{PREVIEWS}/{name}/{stale}", "not part of a preview any more")
    for service in request.services:
        if not (checkout / "base" / service / "kustomization.yaml").is_file():
            plan.notes.append(f"base/{service} is not in the config repo yet (`shipyard render` writes it)")
    if not plan.empty:
        plan.add(Op.commit, f"{PREVIEWS}/{name}", f"image tag {request.tag}", sha=request.sha)
        plan.add(Op.push, "config repo")
    return plan, files


def up_trailers(request: PreviewRequest) -> list[tuple[str, str]]:
    """The commit trailers of a preview change."""
    return [
        ("Shipyard-PR", str(request.number)),
        ("Shipyard-Source-Commit", request.sha),
        *(("Shipyard-Service", s) for s in request.services),
    ]


def preview_up(
    source: str, platform: Platform, request: PreviewRequest, now: datetime, *, branch: str = "main", dry_run: bool
) -> UpResult:
    """Create or update ``previews/pr-<n>/`` and push it; with ``dry_run`` only compute the plan."""
    names, protected = _marks(platform)
    with config_checkout(source) as checkout:
        checkout_branch(checkout, branch)
        created = _existing_created_at(checkout / PREVIEWS / names.name(request.number), names, protected)
        plan, _ = plan_up(checkout, platform, request, now)
        result = UpResult(plan, names.name(request.number), created or now, preview_urls(platform, request))
        if dry_run or plan.empty:
            return result

        def apply(work: Path) -> str | None:
            fresh, files = plan_up(work, platform, request, now)
            if fresh.empty:
                return None
            directory = work / PREVIEWS / names.name(request.number)
            directory.mkdir(parents=True, exist_ok=True)
            for stale in directory.iterdir():
                if stale.name not in files:
                    shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
            for filename, text in files.items():
                (directory / filename).write_text(text, encoding="utf-8")
            verb = "Update" if created else "Open"
            return f"{verb} the preview of PR {request.number} at {request.sha[:7]}"

        result.commit = push_change(checkout, branch, apply, up_trailers(request))
        return result


# down


def plan_down(checkout: Path, platform: Platform, number: int) -> Plan:
    """The plan removing one preview; refuses a directory that is not Shipyard's."""
    names, protected = _marks(platform)
    name = names.name(number)
    plan = Plan(command=f"shipyard preview down --pr {number}")
    directory = checkout / PREVIEWS / name
    if not directory.exists():
        plan.notes.append(f"no preview for PR {number}: {PREVIEWS}/{name} does not exist")
        return plan
    _existing_created_at(directory, names, protected)  # refuses a directory Shipyard did not create
    plan.add(Op.delete, f"{PREVIEWS}/{name}", f"the preview of PR {number}; Argo CD prunes namespace {name}")
    plan.add(Op.commit, f"{PREVIEWS}/{name}")
    plan.add(Op.push, "config repo")
    return plan


def preview_down(
    source: str, platform: Platform, number: int, *, branch: str = "main", dry_run: bool
) -> tuple[Plan, str | None]:
    """Remove ``previews/pr-<n>/`` and push; returns the plan and the pushed commit (None if nothing changed)."""
    with config_checkout(source) as checkout:
        if not checkout_branch(checkout, branch):
            return plan_down(checkout, platform, number), None
        plan = plan_down(checkout, platform, number)
        if dry_run or plan.empty:
            return plan, None

        def apply(work: Path) -> str | None:
            if plan_down(work, platform, number).empty:
                return None
            shutil.rmtree(work / PREVIEWS / NamePattern(platform.preview.namespace).name(number))
            return f"Close the preview of PR {number}"

        return plan, push_change(checkout, branch, apply, [("Shipyard-PR", str(number))])


# list


@dataclass
class PreviewInfo:
    """One preview as ``preview list`` shows it."""

    name: str
    number: int | None
    services: list[str]
    tag: str | None
    urls: dict[str, str]
    created_at: datetime | None
    ttl: str | None
    expires_at: datetime | None
    now: datetime
    problem: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def age_seconds(self) -> int | None:
        """Seconds since creation."""
        return int((self.now - self.created_at).total_seconds()) if self.created_at else None

    @property
    def expired(self) -> bool | None:
        """True when the TTL has run out; None when unreadable."""
        return self.expires_at <= self.now if self.expires_at else None

    def to_dict(self) -> dict[str, Any]:
        """For JSON output."""
        return {
            "name": self.name,
            "pr": self.number,
            "services": self.services,
            "tag": self.tag,
            "urls": self.urls,
            "createdAt": format_rfc3339(self.created_at) if self.created_at else None,
            "ttl": self.ttl,
            "ageSeconds": self.age_seconds,
            "expiresAt": format_rfc3339(self.expires_at) if self.expires_at else None,
            "expired": self.expired,
            "problem": self.problem,
        }


def _read_yaml(path: Path) -> list[Any]:
    try:
        return load_all(path.read_text(encoding="utf-8"))
    except Exception:  # an unreadable file shows up as missing data in the listing, not as a crash
        return []


def _info(directory: Path, platform: Platform, now: datetime) -> PreviewInfo:
    names, protected = _marks(platform)
    candidate = _namespace_candidate(directory)
    marked = candidate.problem or read_marks(candidate.name, candidate.labels, candidate.annotations, names, protected)
    kustomization: Any = next(iter(_read_yaml(directory / "kustomization.yaml")), {})
    resources = kustomization.get("resources", []) if isinstance(kustomization, dict) else []
    services = sorted(r.rsplit("/", 1)[-1] for r in resources if isinstance(r, str) and r.startswith("../../base/"))
    images = kustomization.get("images", []) if isinstance(kustomization, dict) else []
    tag = next((i.get("newTag") for i in images if isinstance(i, dict) and i.get("newTag")), None)
    urls: dict[str, str] = {}
    for ingress in _read_yaml(directory / "ingress.yaml"):
        for rule in (ingress.get("spec") or {}).get("rules", []) if isinstance(ingress, dict) else []:
            backend = (((rule.get("http") or {}).get("paths") or [{}])[0].get("backend") or {}).get("service") or {}
            if rule.get("host") and backend.get("name"):
                urls[str(backend["name"])] = f"https://{rule['host']}"
    if isinstance(marked, str):
        return PreviewInfo(
            directory.name, None, services, tag, urls, None, None, None, now, f"not Shipyard's: {marked}"
        )
    ttl = (candidate.annotations or {}).get("shipyard.dev/ttl")
    return PreviewInfo(
        directory.name,
        marked.number,
        services,
        tag,
        urls,
        marked.created_at,
        ttl if isinstance(ttl, str) else None,
        marked.expires_at,
        now,
        marked.problem,
    )


def list_previews(source: str, platform: Platform, now: datetime, *, branch: str = "main") -> list[PreviewInfo]:
    """Every directory under ``previews/``, with age, expiry and URLs, oldest PR first."""
    with config_checkout(source) as checkout:
        if not checkout_branch(checkout, branch) or not (checkout / PREVIEWS).is_dir():
            return []
        infos = [_info(d, platform, now) for d in sorted((checkout / PREVIEWS).iterdir()) if d.is_dir()]
    return sorted(infos, key=lambda i: (i.number is None, i.number or 0, i.name))


# gc


@contextmanager
def config_objects(source: str) -> Iterator[Path]:
    """A bare clone of the config repo (no work tree at all), removed afterwards: what the clean-up reads."""
    scratch = Path(tempfile.mkdtemp(prefix="shipyard-config-"))
    try:
        clone = scratch / "config.git"
        Git(scratch).run("clone", "--quiet", "--bare", source, str(clone))
        yield clone
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def remote_tip(clone: Path, branch: str) -> str | None:
    """Fetch ``branch`` of origin into ``clone``; its commit, or None when the config repo has no such branch."""
    git = Git(clone)
    if not git.run("ls-remote", "--heads", "origin", branch).strip():
        return None
    git.run("fetch", "--quiet", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}")
    return git.rev_parse(f"refs/remotes/origin/{branch}")


def commit_removal(clone: Path, tip: str, names: Sequence[str], message: str) -> str:
    """A commit on ``tip`` without ``previews/<name>`` for each name, built from trees alone (``mktree``).

    No index and no work tree: only the ``previews`` tree and the root tree are rewritten, so removing
    thousands of previews costs two tree writes.
    """
    git = Git(clone)
    gone = set(names)

    def entries(treeish: str) -> list[tuple[str, str]]:
        found = []
        for entry in git.run("ls-tree", "-z", treeish).split("\0"):
            if entry:
                info, _, name = entry.partition("\t")
                found.append((info, name))
        return found

    kept = [(info, name) for info, name in entries(f"{tip}:{PREVIEWS}") if name not in gone]
    previews = git.run("mktree", "-z", input="".join(f"{info}\t{name}\0" for info, name in kept)).strip()
    root = [(info, name) for info, name in entries(tip) if name != PREVIEWS]
    if kept:
        root.append((f"040000 tree {previews}", PREVIEWS))
    tree = git.run("mktree", "-z", input="".join(f"{info}\t{name}\0" for info, name in root)).strip()
    return git.run("commit-tree", tree, "-p", tip, "-F", "-", input=message).strip()


def plan_repo_gc(
    clone: Path, rev: str | None, platform: Platform, now: datetime, max_deletions: int, pr_states: PrStates | None
) -> GcReport:
    """The clean-up's decisions for the previews committed at ``rev`` (none when ``rev`` is None)."""
    names, protected = _marks(platform)
    return plan_gc(
        read_committed_candidates(clone, rev) if rev else [],
        now=now,
        max_deletions=max_deletions,
        protected=protected,
        names=names,
        pr_states=pr_states,
    )


def gc_message(report: GcReport) -> str:
    """The commit message of a clean-up, with one Shipyard-PR trailer per removed preview."""
    lines = [f"Clean up {len(report.delete)} preview(s)", ""]
    lines += [f"- {d.name}: {d.to_dict()['reason']}" for d in report.delete]
    trailers = [("Shipyard-PR", str(d.marked.number)) for d in report.delete]
    return format_message("\n".join(lines), trailers)


def preview_gc(
    source: str,
    platform: Platform,
    now: datetime,
    *,
    max_deletions: int,
    pr_states: PrStates | None,
    branch: str = "main",
    dry_run: bool,
    attempts: int = 20,
) -> tuple[GcReport, str | None]:
    """Remove expired and closed previews from the config repo (at most ``max_deletions``) and push.

    It works on git's objects alone (a bare clone, a scratch index), so a run over thousands of previews
    writes no files. Like ``change_branch``, a push that loses a race fetches the new tip and decides again
    from it, so a preview updated or removed meanwhile is judged as it is now.
    """
    with config_objects(source) as clone:
        git = Git(clone)
        for attempt in range(attempts):
            tip = remote_tip(clone, branch)
            report = plan_repo_gc(clone, tip, platform, now, max_deletions, pr_states)
            if tip is None or dry_run or not report.delete:
                return report, None
            commit = commit_removal(clone, tip, [d.name for d in report.delete], gc_message(report))
            try:
                git.push("origin", [f"{commit}:refs/heads/{branch}"])
                return report, commit
            except PushRejected:
                time.sleep(min(0.05 * (2**attempt), 1.0) * random.uniform(0.5, 1.5))
    raise ShipyardError(
        f"could not push the clean-up to {branch} after {attempts} attempts: other writers kept winning",
        hint="run it again; nothing was half-applied",
    )
