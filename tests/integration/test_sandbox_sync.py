"""sandbox sync, reset and status on a real bare config repo (the scaffold's local one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.git import Git, parse_trailers
from shipyard.sandbox.mirror import sandbox_target, status, sync
from shipyard.spec.loader import load_spec, parse_spec

pytestmark = pytest.mark.integration

NOW = datetime(2024, 11, 14, 15, 30, 45, tzinfo=UTC)
PROD = """# production: what runs now (promotions edit the images)
kind: Component
images:
  # the user service, promoted by digest
  - name: localhost/services/user-service
    digest: sha256:{user}
  - name: localhost/services/order-service
    newTag: v1.0.0
"""
SANDBOX = """# sandbox: a daily mirror of production (keep this comment)
kind: Component
images:
  - name: localhost/services/user-service  # mirrored
    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
"""
SECRET = "apiVersion: v1\nkind: Secret\nmetadata: {name: production-db}\nstringData: {password: hunter2}\n"


def _digest(char: str) -> str:
    return char * 64


def _seed_config(acme: Path) -> Path:
    """Give the scaffold's bare config repo the minimal production and sandbox overlay state."""
    bare = acme / ".shipyard" / "gitops-config.git"
    work = acme.parent / "config-work"
    Git(acme.parent).run("clone", "--quiet", str(bare), str(work))
    for folder in ("overlays/production/generated", "overlays/production/images", "overlays/sandbox/images"):
        (work / folder).mkdir(parents=True)
    (work / "overlays/production/images/kustomization.yaml").write_text(PROD.format(user=_digest("a")))
    (work / "overlays/production/generated/secret.yaml").write_text(SECRET)
    (work / "overlays/sandbox/images/kustomization.yaml").write_text(SANDBOX)
    git = Git(work)
    git.run("checkout", "--quiet", "-b", "main")
    git.commit("Render the overlays")
    git.push("origin", ["HEAD:refs/heads/main"])
    return work


def _promote(work: Path, user: str) -> str:
    git = Git(work)
    git.run("pull", "--quiet", "origin", "main")
    (work / "overlays/production/images/kustomization.yaml").write_text(PROD.format(user=_digest(user)))
    commit = git.commit("Promote user-service to production")
    git.push("origin", ["HEAD:refs/heads/main"])
    assert commit
    return commit


def _show(acme: Path, path: str) -> str:
    return Git(acme / ".shipyard" / "gitops-config.git").run("show", f"main:{path}")


@pytest.fixture
def config(acme: Path) -> tuple[Path, str, Path]:
    work = _seed_config(acme)
    return acme, str(acme / ".shipyard" / "gitops-config.git"), work


def test_sync_mirrors_production_images_and_nothing_else(config: tuple[Path, str, Path]) -> None:
    acme, repo, work = config
    target = sandbox_target(load_spec(acme / "shipyard.yaml"))
    production_commit = Git(work).rev_parse("HEAD")
    outcome, commit = sync(repo, target, NOW)
    assert commit is not None
    text = _show(acme, "overlays/sandbox/images/kustomization.yaml")
    assert "# sandbox: a daily mirror of production (keep this comment)" in text
    assert "# mirrored" in text
    assert f"digest: sha256:{_digest('a')}" in text
    assert "newTag: v1.0.0" in text
    assert "0000000000" not in text
    # Only the promotable state and the TTL file change: no Secret, nothing else of production's.
    changed = Git(Path(repo)).run("show", "--name-only", "--format=", "main").split()
    assert sorted(changed) == ["overlays/sandbox/images/kustomization.yaml", "overlays/sandbox/sandbox-state.yaml"]
    assert "hunter2" not in Git(Path(repo)).run("show", "main", "--", "overlays/sandbox")
    message = Git(Path(repo)).run("log", "-1", "--format=%B", "main")
    assert ("Shipyard-Mirrors", production_commit) in parse_trailers(message)
    state = _show(acme, "overlays/sandbox/sandbox-state.yaml")
    assert "shipyard.dev/created-at: '2024-11-14T15:30:45Z'" in state
    assert "shipyard.dev/expires-at: '2024-11-15T15:30:45Z'" in state
    assert {c.name for c in outcome.changes} == {"localhost/services/user-service", "localhost/services/order-service"}
    # Idempotent: nothing changed in production, so a second sync changes nothing.
    again, second = sync(repo, target, NOW + timedelta(hours=1))
    assert second is None
    assert "already mirrors production" in again.reason


def test_a_promotion_shows_as_behind_then_sync_follows_it(config: tuple[Path, str, Path]) -> None:
    acme, repo, work = config
    target = sandbox_target(load_spec(acme / "shipyard.yaml"))
    sync(repo, target, NOW)
    promoted = _promote(work, "b")
    before = status(repo, target, NOW + timedelta(hours=2)).to_json()
    assert before["upToDate"] is False
    assert before["productionCommit"] == promoted
    outcome, commit = sync(repo, target, NOW + timedelta(hours=2))
    assert commit
    assert [(c.name, c.after) for c in outcome.changes] == [
        ("localhost/services/user-service", f"digest sha256:{_digest('b')}")
    ]
    assert ("Shipyard-Mirrors", promoted) in parse_trailers(Git(Path(repo)).run("log", "-1", "--format=%B", "main"))
    after = status(repo, target, NOW + timedelta(hours=3)).to_json()
    assert after["upToDate"] is True
    assert after["state"] == "active"
    # The TTL governs the reset: following production's images keeps the sandbox's TTL running.
    assert after["ageSeconds"] == 3 * 3600
    assert after["expiresAt"] == "2024-11-15T15:30:45Z"


def test_the_ttl_check_resets_at_the_check_nearest_the_end_of_the_ttl(config: tuple[Path, str, Path]) -> None:
    acme, repo, _ = config
    target = sandbox_target(load_spec(acme / "shipyard.yaml"))
    sync(repo, target, NOW)
    # The check five minutes before the end waits; the one a few seconds before it resets (no day-long drift).
    early, none = sync(repo, target, NOW + timedelta(hours=23, minutes=55), reset=True, if_expired=True)
    assert none is None and "not expired" in early.reason
    _, commit = sync(repo, target, NOW + timedelta(hours=23, minutes=59, seconds=58), reset=True, if_expired=True)
    assert commit
    assert "2024-11-15T15:30:43Z" in _show(acme, "overlays/sandbox/sandbox-state.yaml")


def test_a_ttl_over_a_day_is_honoured(config: tuple[Path, str, Path]) -> None:
    acme, repo, _ = config
    spec = acme / "shipyard.yaml"
    spec.write_text(spec.read_text() + "sandbox:\n  ttl: 48h\n")
    target = sandbox_target(load_spec(spec))
    sync(repo, target, NOW)
    for hours in (24, 36, 47):  # the daily sync and the checks of the first two days leave it alone
        sync(repo, target, NOW + timedelta(hours=hours))
        _, none = sync(repo, target, NOW + timedelta(hours=hours), reset=True, if_expired=True)
        assert none is None
    _, commit = sync(repo, target, NOW + timedelta(hours=48), reset=True, if_expired=True)
    assert commit


def test_reset_if_expired_waits_for_the_ttl_and_wipes_experiments(config: tuple[Path, str, Path]) -> None:
    acme, repo, work = config
    target = sandbox_target(load_spec(acme / "shipyard.yaml"))
    sync(repo, target, NOW)
    # Someone experiments in the sandbox with an image production does not run.
    git = Git(work)
    git.run("pull", "--quiet", "origin", "main")
    path = work / "overlays/sandbox/images/kustomization.yaml"
    path.write_text(path.read_text() + "  - name: localhost/services/experiment\n    newTag: try-1\n")
    git.commit("Experiment in the sandbox")
    git.push("origin", ["HEAD:refs/heads/main"])
    early, none = sync(repo, target, NOW + timedelta(hours=23), reset=True, if_expired=True)
    assert none is None
    assert "not expired" in early.reason
    assert status(repo, target, NOW + timedelta(hours=25)).to_json()["state"] == "expired"
    _, commit = sync(repo, target, NOW + timedelta(hours=25), reset=True, if_expired=True)
    assert commit
    assert "experiment" not in _show(acme, "overlays/sandbox/images/kustomization.yaml")
    assert "2024-11-15T16:30:45Z" in _show(acme, "overlays/sandbox/sandbox-state.yaml")


def test_dry_run_changes_nothing(config: tuple[Path, str, Path]) -> None:
    acme, repo, _ = config
    target = sandbox_target(load_spec(acme / "shipyard.yaml"))
    tip = Git(Path(repo)).rev_parse("main")
    outcome, commit = sync(repo, target, NOW, dry_run=True)
    assert commit is None
    text = outcome.plan("sandbox sync").to_text()
    assert "overlays/sandbox/images/kustomization.yaml#localhost/services/user-service" in text
    assert Git(Path(repo)).rev_parse("main") == tip


def test_refuses_without_production_state(acme: Path) -> None:
    bare = acme / ".shipyard" / "gitops-config.git"
    work = acme.parent / "empty-work"
    Git(acme.parent).run("clone", "--quiet", str(bare), str(work))
    (work / "README.md").write_text("config\n")
    Git(work).run("checkout", "--quiet", "-b", "main")
    Git(work).commit("Start")
    Git(work).push("origin", ["HEAD:refs/heads/main"])
    with pytest.raises(ShipyardError, match=r"no overlays/production/images/kustomization\.yaml"):
        sync(str(bare), sandbox_target(load_spec(acme / "shipyard.yaml")), NOW)


def test_a_sandbox_database_that_is_production_is_refused() -> None:
    spec = """apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: acme
domain: acme.example.com
registry: {url: harbor.acme.example.com}
environments:
  - name: sandbox
    database: {url: "postgresql://production-db.production.svc.cluster.local:5432/acme", secretRef: sandbox-db}
"""
    # Loading the spec refuses it, so sync, reset and status never see it.
    with pytest.raises(ShipyardError, match=r"environments\[0\]\.database\.url: the sandbox's database may be"):
        sandbox_target(parse_spec(spec))


def test_cli_sync_and_status(config: tuple[Path, str, Path]) -> None:
    acme, _, _ = config

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shipyard", "sandbox", *args],
            cwd=acme,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ},
        )

    dry = run("sync", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["command"] == "sandbox sync"
    done = run("sync", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["commit"]
    shown = run("status", "--json")
    assert shown.returncode == 0, shown.stderr
    result = json.loads(shown.stdout)
    assert result["state"] == "active"
    assert result["upToDate"] is True
    assert run("status").stdout.startswith("sandbox (sandbox): active")


def test_concurrent_syncs_make_one_commit(config: tuple[Path, str, Path]) -> None:
    import threading

    acme, repo, _ = config
    target = sandbox_target(load_spec(acme / "shipyard.yaml"))
    commits: list[str | None] = []

    def run(offset: int) -> None:
        commits.append(sync(repo, target, NOW + timedelta(minutes=offset))[1])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Whoever lost the race re-decided on the new tip and found nothing left to do.
    assert len([c for c in commits if c]) == 1
    log = Git(Path(repo)).run("log", "--format=%s", "main").splitlines()
    assert len([line for line in log if line.startswith("Sync the sandbox")]) == 1
