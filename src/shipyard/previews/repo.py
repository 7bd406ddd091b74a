"""Previews in the config repo: the one source of truth. A preview exists while ``previews/pr-<n>/`` does.

Every change is made in a throw-away clone and pushed the ``change_branch`` way (fetch, re-apply on the
newest tip, commit with trailers, push, retry on a lost race), so concurrent CI runs never lose an
update, and each change is re-derived from the state it lands on. ``up`` and ``down`` use
``change_branch`` itself; the clean-up (``previews.cleanup``) does the same on git's objects alone.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shipyard.configrepo.checkout import publish
from shipyard.configrepo.location import BRANCH, REMOTE
from shipyard.errors import ShipyardError
from shipyard.git import Git, temporary_clone
from shipyard.plan import Op, Plan
from shipyard.previews.marks import Marked, NamePattern, read_marks
from shipyard.previews.read import PREVIEWS, PreviewInfo, directory_candidate, preview_info, preview_marks
from shipyard.previews.render import PreviewRequest, preview_urls, render_preview
from shipyard.spec.model import Platform, pr_number_problem
from shipyard.times import format_rfc3339

_SHA = re.compile(r"[0-9a-fA-F]{7,64}", re.ASCII)


@contextmanager
def config_checkout(source: str, sparse: Sequence[str] = ()) -> Iterator[Path]:
    """A fresh clone of the config repo (remote ``origin``, nothing checked out yet), removed afterwards.

    With ``sparse`` patterns, checkouts write only the matching files: a preview's change then costs the
    same in a config repo of thousands of previews as in an empty one.
    """
    with temporary_clone(source, "--no-checkout") as checkout:
        if sparse:
            Git(checkout).run("sparse-checkout", "set", "--no-cone", *sparse)
        yield checkout


def one_preview(name: str) -> tuple[str, ...]:
    """The sparse patterns ``up`` and ``down`` need: the preview's own directory and the bases it names."""
    return (f"/{PREVIEWS}/{name}/", "/base/*/kustomization.yaml")


def checkout_branch(checkout: Path) -> bool:
    """Check out the config repo's branch; False when the config repo does not have it yet (empty repo)."""
    git = Git(checkout)
    if not git.has_ref(f"refs/remotes/{REMOTE}/{BRANCH}"):
        return False
    git.run("checkout", "--quiet", "-B", BRANCH, f"refs/remotes/{REMOTE}/{BRANCH}")
    return True


@dataclass
class CommentOutcome:
    """The preview section written to (or planned for) the PR's comment, or why GitHub refused it."""

    plan: Plan | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``comment`` and ``commentError`` keys of ``up`` and ``down``."""
        return {"comment": self.plan.to_json() if self.plan else None, "commentError": self.error}


# up


@dataclass
class UpResult:
    """What ``preview up`` did or would do."""

    plan: Plan
    namespace: str
    created_at: datetime
    urls: dict[str, str]
    commit: str | None = None
    dry_run: bool = False
    comment: CommentOutcome | None = None

    def to_json(self) -> dict[str, Any]:
        """For JSON output (documented in docs/previews.md); ``comment`` keys only with ``--comment``."""
        return {
            "namespace": self.namespace,
            "createdAt": format_rfc3339(self.created_at),
            "urls": self.urls,
            "commit": self.commit,
            "plan": self.plan.to_json(),
            "dryRun": self.dry_run,
            **(self.comment.to_json() if self.comment else {}),
        }


def check_pr(number: int) -> int:
    """``number`` when it is a pull request number; a ShipyardError naming ``--pr`` otherwise."""
    problem = pr_number_problem(number)
    if problem:
        raise ShipyardError(f"--pr {problem}")
    return number


def check_request(number: int, sha: str, services: list[str] | None, known: list[str]) -> PreviewRequest:
    """Validate ``preview up``'s input; a ShipyardError names the bad value and the valid ones.

    ``services`` None means every service; an empty list means none was built, and the preview then runs no
    service (``preview up`` removes it), because only the images CI built for this commit exist.
    """
    check_pr(number)
    if not _SHA.fullmatch(sha):
        raise ShipyardError(f"--sha {sha[:80]!r} is not a commit id (7 to 64 hexadecimal digits)")
    chosen = sorted(set(known if services is None else services))
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ShipyardError(f"unknown service(s): {', '.join(unknown)}; valid: {', '.join(known) or '(none)'}")
    if not chosen and services is None:
        raise ShipyardError("the workspace has no services to preview", hint="services live in services/<name>/")
    return PreviewRequest(number=number, sha=sha.lower(), services=tuple(chosen))


def read_services_file(path: Path) -> list[str]:
    """The services CI built, from its affected-services matrix file (a JSON list of names)."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ShipyardError(f"--services-file {path}: cannot be read as JSON ({exc})") from None
    if not isinstance(data, list) or not all(isinstance(name, str) for name in data):
        raise ShipyardError(f'--services-file {path}: expected a JSON list of service names, such as ["api"]')
    return [name.strip() for name in data if name.strip()]


def _existing_created_at(directory: Path, names: NamePattern, protected: frozenset[str]) -> datetime | None:
    """The created-at of a preview already there (kept on update); refuses a directory that is not Shipyard's."""
    if not directory.exists():
        return None
    candidate = directory_candidate(directory)
    marked = candidate.problem or read_marks(candidate.name, candidate.labels, candidate.annotations, names, protected)
    if not isinstance(marked, Marked):
        raise ShipyardError(
            f"{PREVIEWS}/{directory.name} exists but is not a Shipyard preview ({marked})",
            hint="Shipyard never overwrites what it did not create; remove that directory by hand if it is stale",
        )
    return marked.created_at


def plan_up(checkout: Path, platform: Platform, request: PreviewRequest, now: datetime) -> tuple[Plan, dict[str, str]]:
    """The files ``preview up`` writes and the plan saying which change; reads ``checkout``, writes nothing."""
    names, protected = preview_marks(platform)
    name = names.name(request.number)
    if name in protected:
        raise ShipyardError(f"preview namespace '{name}' is a protected namespace; change preview.namespace")
    directory = checkout / PREVIEWS / name
    created_at = _existing_created_at(directory, names, protected) or now
    plan = Plan(command=f"shipyard preview up --pr {request.number}")
    if not request.services:
        # Nothing was built for this commit: no image of pr-<n>-<sha7> exists, so no service may run.
        plan.notes.append(f"no service of PR {request.number} was built at {request.sha[:7]}: no preview runs")
        if directory.exists():
            plan.add(Op.delete, f"{PREVIEWS}/{name}", f"Argo CD prunes namespace {name}")
            plan.add(Op.commit, f"{PREVIEWS}/{name}", "no service was built", sha=request.sha)
            plan.add(Op.push, "config repo")
        return plan, {}
    files = render_preview(platform, request, created_at)
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


def preview_up(source: str, platform: Platform, request: PreviewRequest, now: datetime, *, dry_run: bool) -> UpResult:
    """Create or update ``previews/pr-<n>/`` and push it; with ``dry_run`` only compute the plan."""
    names, protected = preview_marks(platform)
    with config_checkout(source, one_preview(names.name(request.number))) as checkout:
        checkout_branch(checkout)
        created = _existing_created_at(checkout / PREVIEWS / names.name(request.number), names, protected)
        plan, _ = plan_up(checkout, platform, request, now)
        result = UpResult(
            plan, names.name(request.number), created or now, preview_urls(platform, request), dry_run=dry_run
        )
        if dry_run or plan.empty:
            return result

        def apply(work: Path) -> str | None:
            fresh, files = plan_up(work, platform, request, now)
            if fresh.empty:
                return None
            directory = work / PREVIEWS / names.name(request.number)
            if not files:
                shutil.rmtree(directory)
                return f"Close the preview of PR {request.number}: no service was built at {request.sha[:7]}"
            directory.mkdir(parents=True, exist_ok=True)
            for stale in directory.iterdir():
                if stale.name not in files:
                    shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
            for filename, text in files.items():
                (directory / filename).write_text(text, encoding="utf-8")
            verb = "Update" if created else "Open"
            return f"{verb} the preview of PR {request.number} at {request.sha[:7]}"

        result.commit = publish(checkout, apply, up_trailers(request))
        return result


# down


@dataclass
class DownResult:
    """What ``preview down`` did or would do."""

    plan: Plan
    commit: str | None
    dry_run: bool
    comment: CommentOutcome | None = None

    def to_json(self) -> dict[str, Any]:
        """For JSON output (documented in docs/previews.md); ``comment`` keys only with ``--comment``."""
        data: dict[str, Any] = {"plan": self.plan.to_json(), "commit": self.commit, "dryRun": self.dry_run}
        return {**data, **(self.comment.to_json() if self.comment else {})}


def plan_down(checkout: Path, platform: Platform, number: int) -> Plan:
    """The plan removing one preview; refuses a directory that is not Shipyard's."""
    names, protected = preview_marks(platform)
    name = names.name(check_pr(number))
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


def preview_down(source: str, platform: Platform, number: int, *, dry_run: bool) -> tuple[Plan, str | None]:
    """Remove ``previews/pr-<n>/`` and push; returns the plan and the pushed commit (None if nothing changed)."""
    check_pr(number)
    with config_checkout(source, one_preview(NamePattern(platform.preview.namespace).name(number))) as checkout:
        if not checkout_branch(checkout):
            return plan_down(checkout, platform, number), None
        plan = plan_down(checkout, platform, number)
        if dry_run or plan.empty:
            return plan, None

        def apply(work: Path) -> str | None:
            if plan_down(work, platform, number).empty:
                return None
            shutil.rmtree(work / PREVIEWS / NamePattern(platform.preview.namespace).name(number))
            return f"Close the preview of PR {number}"

        return plan, publish(checkout, apply, [("Shipyard-PR", str(number))])


# list


@dataclass
class PreviewList:
    """The previews ``preview list`` shows, as of ``now``."""

    now: datetime
    previews: list[PreviewInfo]

    def to_json(self) -> dict[str, Any]:
        """For JSON output (documented in docs/previews.md)."""
        return {"now": format_rfc3339(self.now), "previews": [p.to_json() for p in self.previews]}


def list_previews(source: str, platform: Platform, now: datetime) -> list[PreviewInfo]:
    """Every directory under ``previews/``, with age, expiry and URLs, oldest PR first."""
    with config_checkout(source) as checkout:
        if not checkout_branch(checkout) or not (checkout / PREVIEWS).is_dir():
            return []
        infos = [preview_info(d, platform, now) for d in sorted((checkout / PREVIEWS).iterdir()) if d.is_dir()]
    return sorted(infos, key=lambda i: (i.number is None, i.number or 0, i.name))
