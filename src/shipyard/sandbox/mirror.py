"""The sandbox lifecycle in the config repo: mirror production's images, keep a TTL, report status.

``sync`` makes the sandbox's promotable Component (``overlays/sandbox/images/kustomization.yaml``) carry exactly
the image references of production's (its digests; none before production's first promotion), editing the
file in place so comments and layout survive, and writes the TTL state (``sandbox_state.py``). It
copies nothing else from production: no Secrets, no database settings; the sandbox's own overlay
(rendered from the spec's sandbox environment) points at the sandbox's namespace, hosts, database and
secret references. Every change is one commit with a ``Shipyard-Mirrors`` trailer naming the
production commit mirrored, pushed through ``configrepo.checkout.publish`` (fetch, re-apply, retry on a lost race).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shipyard.configrepo.checkout import publish, scratch_clone
from shipyard.configrepo.location import BRANCH, REMOTE, config_for_reading
from shipyard.configrepo.promotable import ImageChange, mirror_images, overlay_dir, promotable_path, read_entries
from shipyard.errors import ShipyardError
from shipyard.git import Git
from shipyard.plan import Op, Plan
from shipyard.sandbox.state import STATE_FILE, SandboxState
from shipyard.spec.model import Platform
from shipyard.times import format_rfc3339


@dataclass(frozen=True)
class SandboxTarget:
    """Which overlay is the sandbox, which one it mirrors, its namespace and TTL."""

    env: str
    source: str
    namespace: str
    ttl: str

    @property
    def kustomization(self) -> str:
        """The sandbox's promotable state, relative to the config repo."""
        return promotable_path(self.env)

    @property
    def source_kustomization(self) -> str:
        """Production's promotable state, relative to the config repo."""
        return promotable_path(self.source)

    @property
    def state_file(self) -> str:
        """The TTL state file, relative to the config repo."""
        return f"{overlay_dir(self.env)}/{STATE_FILE}"


def sandbox_target(platform: Platform) -> SandboxTarget:
    """The sandbox of a platform: the environment that mirrors another one (``sandbox`` by default).

    A spec whose sandbox database may be production's never gets here: loading it refuses it.
    """
    env = platform.sandbox_environment
    if env is None:
        raise ShipyardError("shipyard.yaml has no sandbox environment (an environment with promotion: mirror)")
    source = platform.environment(env.upstream or "production")
    return SandboxTarget(env=env.name, source=source.name, namespace=env.ns, ttl=platform.sandbox.ttl)


@dataclass
class SyncOutcome:
    """What a sync or reset decided: the files to write, the image changes and the new state."""

    target: SandboxTarget
    mirrors: str
    state: SandboxState | None
    changes: list[ImageChange] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    commit: str | None = None  # set by ``sync`` once pushed

    @property
    def expires_at(self) -> str | None:
        """The new TTL's end (RFC 3339, UTC), when the sandbox changed."""
        return format_rfc3339(self.state.expires_at) if self.state else None

    def to_json(self) -> dict[str, Any]:
        """The outcome of a sync or reset as JSON data (documented in docs/sandbox.md)."""
        return {
            "commit": self.commit,
            "mirrors": self.mirrors,
            "reason": self.reason,
            "changes": [{"image": c.name, "before": c.before, "after": c.after} for c in self.changes],
            "expiresAt": self.expires_at,
        }

    def plan(self, command: str) -> Plan:
        """The outcome as a Plan (what --dry-run prints)."""
        plan = Plan(command=command)
        if not self.files:
            plan.notes.append(self.reason)
            return plan
        for change in self.changes:
            plan.add(Op.update, f"{self.target.kustomization}#{change.name}", change.line())
        for path in self.files:
            if path != self.target.kustomization or not self.changes:
                plan.add(Op.update, path)
        if self.state:
            plan.add(Op.commit, BRANCH, f"mirror {self.target.source} at {self.mirrors[:7]}, expires {self.expires_at}")
        plan.add(Op.push, f"{REMOTE}/{BRANCH}")
        plan.notes.append(self.reason)
        return plan


def _last_change(git: Git, path: str, ref: str = "HEAD") -> str | None:
    found = git.run("log", "-1", "--format=%H", ref, "--", path, check=False).strip()
    return found or None


def decide(checkout: Path, target: SandboxTarget, now: datetime, *, reset: bool, if_expired: bool) -> SyncOutcome:
    """Work out the sync on a checkout of the config repo, changing nothing."""
    source_path = checkout / target.source_kustomization
    if not source_path.is_file():
        raise ShipyardError(
            f"the config repo has no {target.source_kustomization}: {target.source} has no state to mirror yet",
            hint="run `shipyard render` (and promote to production) first",
        )
    mirrors = _last_change(Git(checkout), target.source_kustomization) or ""
    sandbox_path = checkout / target.kustomization
    state_path = checkout / target.state_file
    old = SandboxState.from_yaml(_read_config_file(state_path)) if state_path.is_file() else None
    if if_expired and old is not None and not old.due(now):
        return SyncOutcome(
            target, mirrors, None, reason=f"not expired: the sandbox expires at {old.expires_at:%Y-%m-%dT%H:%M:%SZ}"
        )
    sandbox_text = _read_config_file(sandbox_path) if sandbox_path.is_file() else None
    text, changes = mirror_images(_read_config_file(source_path), sandbox_text, fresh=reset)
    if reset:
        reason = "reset: images re-mirrored from scratch and the TTL restarted"
    elif old is None:
        reason = "first sync"
    elif old.expired(now):
        reason = "the TTL ran out"
    elif old.mirrors != mirrors or changes or text != sandbox_text:
        reason = f"{target.source} changed"
    else:
        return SyncOutcome(target, mirrors, None, reason=f"already mirrors {target.source} at {mirrors[:7]}")
    # The TTL governs the reset: a sync that follows production keeps the sandbox's TTL running; only a reset,
    # a first sync or a TTL that ran out starts a new one.
    keep = not reset and old is not None and not old.expired(now) and old.ttl == target.ttl
    state = SandboxState(
        namespace=target.namespace,
        created_at=old.created_at if keep and old is not None else now.replace(microsecond=0),
        ttl=target.ttl,
        mirrors=mirrors,
        source=target.source,
    )
    files = {target.kustomization: text, target.state_file: state.to_yaml()}
    return SyncOutcome(target, mirrors, state, changes, files, reason)


def sync(
    config_repo: str,
    target: SandboxTarget,
    now: datetime,
    *,
    reset: bool = False,
    if_expired: bool = False,
    dry_run: bool = False,
) -> tuple[SyncOutcome, str | None]:
    """Sync (or reset) the sandbox overlay; returns the outcome and the pushed commit (None: nothing pushed)."""
    with scratch_clone(config_repo, start=False) as checkout:
        if dry_run:
            return decide(checkout, target, now, reset=reset, if_expired=if_expired), None
        decided: list[SyncOutcome] = []
        trailers: list[tuple[str, str]] = []

        def apply(work: Path) -> str | None:
            # Re-decided on every attempt: on a lost race the newest production state is what we mirror.
            outcome = decide(work, target, now, reset=reset, if_expired=if_expired)
            decided[:] = [outcome]
            if not outcome.files:
                return None
            for path, text in outcome.files.items():
                (work / path).parent.mkdir(parents=True, exist_ok=True)
                (work / path).write_text(text, encoding="utf-8")
            # change_branch commits with this same list after apply returns, so it names this attempt's commit.
            trailers[:] = [("Shipyard-Mirrors", outcome.mirrors), ("Shipyard-Stage", target.env)]
            verb = "Reset" if reset else "Sync"
            return f"{verb} the sandbox to {target.source} at {outcome.mirrors[:7]}\n\n{outcome.reason}."

        commit = publish(checkout, apply, trailers)
        decided[0].commit = commit
        return decided[0], commit


def _show(repo: Git, ref: str, path: str) -> str | None:
    proc = repo.execute("show", f"{ref}:{path}")
    return proc.stdout if proc.returncode == 0 else None


@dataclass(frozen=True)
class SandboxStatus:
    """The sandbox as the config repo records it, seen at ``now``."""

    target: SandboxTarget
    production_commit: str | None
    images: list[dict[str, str]]
    state: SandboxState | None
    now: datetime

    def to_json(self) -> dict[str, Any]:
        """As JSON data (documented in docs/sandbox.md)."""
        target, state = self.target, self.state
        result: dict[str, Any] = {
            "environment": target.env,
            "namespace": target.namespace,
            "source": target.source,
            "ttl": target.ttl,
            "productionCommit": self.production_commit,
            "images": self.images,
            "state": "never-synced",
            "mirrors": None,
            "createdAt": None,
            "expiresAt": None,
            "ageSeconds": None,
            "upToDate": False,
        }
        if state is not None:
            result.update(
                state="expired" if state.expired(self.now) else "active",
                mirrors=state.mirrors,
                createdAt=format_rfc3339(state.created_at),
                expiresAt=format_rfc3339(state.expires_at),
                ageSeconds=int(state.age(self.now).total_seconds()),
                ttl=state.ttl,
                upToDate=state.mirrors == self.production_commit,
            )
        return result


def status(config_repo: str, target: SandboxTarget, now: datetime) -> SandboxStatus:
    """The sandbox's age, expiry, the production commit it mirrors and whether production moved since."""
    with config_for_reading(config_repo) as (git, ref):
        if not git.has_ref(ref):
            raise ShipyardError(f"the config repo {config_repo} has no {BRANCH} branch yet")
        state_text = _show(git, ref, target.state_file)
        images_text = _show(git, ref, target.kustomization)
        production = _last_change(git, target.source_kustomization, ref)
    state = SandboxState.from_yaml(state_text) if state_text else None
    return SandboxStatus(target, production, read_entries(images_text) if images_text else [], state, now)


def _read_config_file(path: Path) -> str:
    """A YAML file of the config repo, checked within bounds (1 MiB, nesting, aliases) before the round-trip
    editor reads it: the config repo is shared, so its files are input from outside like any other."""
    from shipyard.bounded import MIB, load_yaml_all, read_text

    text = read_text(path, MIB)
    load_yaml_all(text, str(path), limit=MIB)
    return text
