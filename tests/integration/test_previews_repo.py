"""Previews against real git config repos (a bare remote and fresh clones): up, update, down, gc, and the
built result checked with ``kubectl kustomize`` where kubectl is installed."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.git import Git, parse_trailers
from shipyard.k8s.yaml import dump, load_all
from shipyard.previews.cleanup import preview_gc
from shipyard.previews.prstate import PrStates, read_pr_states
from shipyard.previews.render import PreviewRequest
from shipyard.previews.repo import list_previews, preview_down, preview_up
from shipyard.retry import Policy, Retrier
from shipyard.spec.loader import load_spec
from shipyard.spec.model import Platform
from shipyard.times import parse_rfc3339
from tests.realparts import need_binary

pytestmark = pytest.mark.integration

SERVICES = ("notification-service", "payment-service", "user-service")
SHA1 = "0123456789abcdef0123456789abcdef01234567"
SHA2 = "fedcba9876543210fedcba9876543210fedcba98"
T0 = datetime(2024, 11, 14, 15, 30, 45, tzinfo=UTC)


def base_files(platform: Platform, service: str) -> dict[str, str]:
    """A minimal ``base/<service>/``: the Deployment, Service and ConfigMap named for the service that a preview
    overlay patches (render writes the real one)."""
    labels = {"app.kubernetes.io/name": service}
    port = platform.service(service).port
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": service, "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": service,
                            "image": platform.registry.image(service),
                            "ports": [{"containerPort": port}],
                        }
                    ]
                },
            },
        },
    }
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": service, "labels": labels},
        "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": port}]},
    }
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{service}-config"}, "data": {}}
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["deployment.yaml", "service.yaml", "configmap.yaml"],
    }
    return {
        "deployment.yaml": dump(deployment),
        "service.yaml": dump(svc),
        "configmap.yaml": dump(config),
        "kustomization.yaml": dump(kustomization),
    }


@pytest.fixture
def platform(acme: Path) -> Platform:
    return load_spec(acme / "shipyard.yaml")


@pytest.fixture
def remote(acme: Path, platform: Platform, tmp_path: Path) -> str:
    """The scaffold's bare config repo, seeded with the services' bases on main."""
    bare = acme / ".shipyard" / "gitops-config.git"
    seed = tmp_path / "seed"
    Git(tmp_path).run("clone", "--quiet", str(bare), str(seed))
    git = Git(seed)
    git.run("checkout", "--quiet", "-b", "main")
    for service in SERVICES:
        for name, text in base_files(platform, service).items():
            path = seed / "base" / service / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    git.commit("Seed the service bases")
    git.run("push", "--quiet", "origin", "main")
    return str(bare)


def clone(remote: str, where: Path) -> Path:
    if where.exists():
        Git(where).run("pull", "--quiet", "--ff-only")
    else:
        Git(where.parent).run("clone", "--quiet", remote, str(where))
    return where


def namespace_of(checkout: Path, name: str) -> dict[str, object]:
    [namespace] = load_all((checkout / "previews" / name / "namespace.yaml").read_text())
    return dict(namespace["metadata"])


def last_message(checkout: Path) -> str:
    return Git(checkout).run("log", "-1", "--format=%B")


def request(number: int = 42, sha: str = SHA1, services: tuple[str, ...] = SERVICES) -> PreviewRequest:
    return PreviewRequest(number=number, sha=sha, services=services)


def test_up_writes_the_preview_with_all_marks_and_trailers(platform: Platform, remote: str, tmp_path: Path) -> None:
    result = preview_up(remote, platform, request(), T0, dry_run=False)
    assert result.commit
    assert result.plan.notes == [], "the bases are in the config repo, so nothing is missing"
    assert result.urls["user-service"] == "https://pr-42-user-service.preview.acme.example.com"
    checkout = clone(remote, tmp_path / "view")
    assert Git(checkout).rev_parse("HEAD") == result.commit
    meta = namespace_of(checkout, "pr-42")
    assert meta["name"] == "pr-42"
    assert meta["labels"] == {"shipyard.dev/preview": "true", "app.kubernetes.io/managed-by": "shipyard"}
    assert meta["annotations"] == {
        "shipyard.dev/managed-by": "shipyard",
        "shipyard.dev/pr-number": "42",
        "shipyard.dev/created-at": "2024-11-14T15:30:45Z",
        "shipyard.dev/ttl": "7d",
    }
    [kustomization] = load_all((checkout / "previews/pr-42/kustomization.yaml").read_text())
    assert kustomization["namespace"] == "pr-42"
    assert [r for r in kustomization["resources"] if r.startswith("../../base/")] == [
        f"../../base/{s}" for s in SERVICES
    ]
    assert {i["name"]: i["newTag"] for i in kustomization["images"]} == {
        f"localhost/services/{s}": "pr-42-0123456" for s in SERVICES
    }
    database = (checkout / "previews/pr-42/database.yaml").read_text()
    # The password is generated in the namespace at run time; git only holds references to it.
    assert "kind: StatefulSet" in database and "kind: Secret" not in database and "stringData" not in database
    trailers = parse_trailers(last_message(checkout))
    assert ("Shipyard-PR", "42") in trailers
    assert ("Shipyard-Source-Commit", SHA1) in trailers
    assert [v for k, v in trailers if k == "Shipyard-Service"] == list(SERVICES)


def test_update_keeps_created_at_and_moves_the_tag(platform: Platform, remote: str, tmp_path: Path) -> None:
    preview_up(remote, platform, request(), T0, dry_run=False)
    later = datetime(2024, 11, 16, tzinfo=UTC)
    again = preview_up(remote, platform, request(sha=SHA1), later, dry_run=False)
    assert again.commit is None and again.plan.empty, "the same commit again changes nothing"
    updated = preview_up(remote, platform, request(sha=SHA2, services=("user-service",)), later, dry_run=False)
    assert updated.commit and updated.created_at == T0
    checkout = clone(remote, tmp_path / "view")
    assert namespace_of(checkout, "pr-42")["annotations"]["shipyard.dev/created-at"] == "2024-11-14T15:30:45Z"  # type: ignore[index]
    text = (checkout / "previews/pr-42/kustomization.yaml").read_text()
    assert "pr-42-fedcba9" in text and "payment-service" not in text
    assert last_message(checkout).startswith("Update the preview of PR 42 at fedcba9")
    assert Git(checkout).run("log", "--format=%s", "--", "previews").splitlines() == [
        "Update the preview of PR 42 at fedcba9",
        "Open the preview of PR 42 at 0123456",
    ]


def test_dry_run_changes_nothing(platform: Platform, remote: str) -> None:
    before = Git(Path(remote)).rev_parse("main")
    result = preview_up(remote, platform, request(), T0, dry_run=True)
    assert [a.op.value for a in result.plan.actions] == ["create"] * 4 + ["commit", "push"]
    assert result.commit is None
    assert Git(Path(remote)).rev_parse("main") == before


def test_down_removes_the_directory(platform: Platform, remote: str, tmp_path: Path) -> None:
    preview_up(remote, platform, request(), T0, dry_run=False)
    preview_up(remote, platform, request(number=43), T0, dry_run=False)
    plan, commit = preview_down(remote, platform, 42, dry_run=False)
    assert commit and plan.actions[0].target == "previews/pr-42"
    checkout = clone(remote, tmp_path / "view")
    assert not (checkout / "previews/pr-42").exists()
    assert (checkout / "previews/pr-43").is_dir()
    assert ("Shipyard-PR", "42") in parse_trailers(last_message(checkout))
    plan, commit = preview_down(remote, platform, 42, dry_run=False)
    assert commit is None and plan.empty and "does not exist" in plan.notes[0]


def commit_directory(remote: str, tmp_path: Path, name: str, namespace_yaml: str) -> None:
    checkout = clone(remote, tmp_path / "writer")
    folder = checkout / "previews" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "namespace.yaml").write_text(namespace_yaml)
    Git(checkout).commit(f"hand-made {name}")
    Git(checkout).run("push", "--quiet", "origin", "HEAD:main")


def test_up_refuses_a_directory_shipyard_did_not_create(platform: Platform, remote: str, tmp_path: Path) -> None:
    commit_directory(remote, tmp_path, "pr-7", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: pr-7\n")
    with pytest.raises(ShipyardError, match="not a Shipyard preview"):
        preview_up(remote, platform, request(number=7), T0, dry_run=False)
    with pytest.raises(ShipyardError, match="not a Shipyard preview"):
        preview_down(remote, platform, 7, dry_run=False)


def test_gc_removes_expired_and_closed_only_within_the_cap(platform: Platform, remote: str, tmp_path: Path) -> None:
    for number, day in [(1, 1), (2, 2), (3, 3), (4, 20), (5, 21)]:
        preview_up(remote, platform, request(number=number), datetime(2024, 11, day, tzinfo=UTC), dry_run=False)
    # A preview whose TTL is malformed, and a directory that is somebody else's.
    commit_directory(
        remote,
        tmp_path,
        "pr-6",
        dump(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": "pr-6",
                    "labels": {"shipyard.dev/preview": "true"},
                    "annotations": {
                        "shipyard.dev/managed-by": "shipyard",
                        "shipyard.dev/pr-number": "6",
                        "shipyard.dev/created-at": "2024-11-01T00:00:00Z",
                        "shipyard.dev/ttl": "seven days",
                    },
                },
            }
        ),
    )
    commit_directory(remote, tmp_path, "team-a", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n")
    states = tmp_path / "states.json"
    states.write_text(json.dumps([{"number": 5, "state": "closed"}, {"number": 4, "state": "open"}]))
    now = datetime(2024, 11, 22, tzinfo=UTC)  # pr-1..3 expired (7d TTL), pr-4 open and fresh, pr-5 closed

    events: list[tuple[str, int, int | None]] = []
    report, commit = preview_gc(
        remote,
        platform,
        now,
        max_deletions=2,
        pr_states=read_pr_states(states),
        dry_run=False,
        progress=lambda *e: events.append(e),
    )
    assert events == [("read previews", 7, 7)]
    assert commit
    assert [d.name for d in report.delete] == ["pr-1", "pr-2"]
    assert [d.name for d in report.deferred] == ["pr-3", "pr-5"]
    assert {s.name for s in report.skipped} == {"pr-6", "team-a"}
    checkout = clone(remote, tmp_path / "view")
    assert sorted(p.name for p in (checkout / "previews").iterdir()) == ["pr-3", "pr-4", "pr-5", "pr-6", "team-a"]
    assert [v for k, v in parse_trailers(last_message(checkout)) if k == "Shipyard-PR"] == ["1", "2"]

    report, commit = preview_gc(
        remote, platform, now, max_deletions=10, pr_states=read_pr_states(states), dry_run=False
    )
    assert {d.name: d.reason for d in report.delete} == {"pr-3": "expired", "pr-5": "closed"}
    clone(remote, checkout)
    assert sorted(p.name for p in (checkout / "previews").iterdir()) == ["pr-4", "pr-6", "team-a"]

    # An unreadable PR state file is refused before anything is decided.
    with pytest.raises(ShipyardError, match="cannot read"):
        read_pr_states(tmp_path / "absent.json")


def test_gc_dry_run_plans_without_pushing(platform: Platform, remote: str) -> None:
    preview_up(remote, platform, request(number=9), T0, dry_run=False)
    before = Git(Path(remote)).rev_parse("main")
    report, commit = preview_gc(
        remote, platform, datetime(2030, 1, 1, tzinfo=UTC), max_deletions=5, pr_states=None, dry_run=True
    )
    assert commit is None and [d.name for d in report.delete] == ["pr-9"]
    assert report.plan().actions[0].target == "previews/pr-9"
    assert Git(Path(remote)).rev_parse("main") == before


def test_list_shows_age_expiry_and_urls(platform: Platform, remote: str) -> None:
    preview_up(remote, platform, request(number=42, services=("user-service",)), T0, dry_run=False)
    [info] = list_previews(remote, platform, datetime(2024, 11, 22, tzinfo=UTC))
    data = info.to_json()
    assert data["pr"] == 42 and data["tag"] == "pr-42-0123456" and data["services"] == ["user-service"]
    assert data["expiresAt"] == "2024-11-21T15:30:45Z" and data["expired"] is True
    assert data["urls"] == {"user-service": "https://pr-42-user-service.preview.acme.example.com"}
    assert parse_rfc3339(data["createdAt"]) == T0


def test_concurrent_ups_for_different_prs_both_land(platform: Platform, remote: str, tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def open_preview(number: int) -> None:
        try:
            preview_up(remote, platform, request(number=number), T0, dry_run=False)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=open_preview, args=(n,)) for n in (101, 102, 103)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    checkout = clone(remote, tmp_path / "view")
    assert sorted(p.name for p in (checkout / "previews").iterdir()) == ["pr-101", "pr-102", "pr-103"]


def test_each_preview_builds_with_kubectl_kustomize(platform: Platform, remote: str, tmp_path: Path) -> None:
    kubectl = need_binary("kubectl")
    preview_up(remote, platform, request(number=42), T0, dry_run=False)
    preview_up(remote, platform, request(number=43, services=("payment-service",)), T0, dry_run=False)
    checkout = clone(remote, tmp_path / "view")
    for name, services in (("pr-42", SERVICES), ("pr-43", ("payment-service",))):
        proc = subprocess.run(
            [kubectl, "kustomize", str(checkout / "previews" / name)], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr
        objects = load_all(proc.stdout)
        kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
        assert ("Namespace", name) in kinds and ("StatefulSet", "preview-db") in kinds
        assert all(o["metadata"].get("namespace") == name for o in objects if o["kind"] != "Namespace")
        tag = f"{name}-0123456"
        for o in objects:
            if o["kind"] == "Deployment":
                [container] = o["spec"]["template"]["spec"]["containers"]
                assert container["image"] == f"localhost/services/{o['metadata']['name']}:{tag}"
                assert {e["name"] for e in container["env"]} == {"DATABASE_URL", "DATABASE_USER", "DATABASE_PASSWORD"}
        assert sorted(o["metadata"]["name"] for o in objects if o["kind"] == "Deployment") == sorted(services)
        assert not [o for o in objects if o["kind"] == "Secret"], "no secret values in git"
        [job] = [o for o in objects if o["kind"] == "Job" and o["metadata"]["name"] == "preview-db-credentials"]
        [creator] = job["spec"]["template"]["spec"]["containers"]
        assert creator["image"] == platform.shipyard_image
        assert creator["command"][:3] == ["shipyard", "preview", "db-secret"]
        assert f"--namespace={name}" in creator["command"]


def test_gc_racing_other_writers_loses_nothing(platform: Platform, remote: str, tmp_path: Path) -> None:
    for number in (1, 2, 3):
        preview_up(remote, platform, request(number=number), T0, dry_run=False)
    later = datetime(2024, 12, 1, tzinfo=UTC)
    errors: list[BaseException] = []

    def run(action: Callable[[], object]) -> None:
        try:
            action()
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    actions: list[Callable[[], object]] = [
        lambda: preview_gc(remote, platform, later, max_deletions=10, pr_states=None, dry_run=False),
        lambda: preview_gc(remote, platform, later, max_deletions=10, pr_states=None, dry_run=False),
        lambda: preview_up(remote, platform, request(number=50), later, dry_run=False),
        lambda: preview_up(remote, platform, request(number=51), later, dry_run=False),
    ]
    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    checkout = clone(remote, tmp_path / "view")
    assert sorted(p.name for p in (checkout / "previews").iterdir()) == ["pr-50", "pr-51"]
    assert (checkout / "base" / "user-service" / "kustomization.yaml").is_file(), "the rest of the repo is untouched"


def test_gc_stops_at_its_bound_when_other_writers_always_win(platform: Platform, remote: str, tmp_path: Path) -> None:
    for number in (1, 2):
        preview_up(remote, platform, request(number=number), T0, dry_run=False)
    asked = 0

    def racing_lookup(numbers: Sequence[int]) -> PrStates:
        nonlocal asked
        asked += 1
        # While the clean-up decides, another pull request opens its preview: its push wins the race.
        preview_up(remote, platform, request(number=100 + asked), T0, dry_run=False)
        return PrStates("racing test", dict.fromkeys(numbers, "closed"))

    sleeps: list[float] = []
    retry = Retrier(Policy(attempts=3, base=0.5, cap=1.0, max_wait=1.0, max_total=5.0), sleep=sleeps.append)
    with pytest.raises(ShipyardError, match="clean-up to main after 3 attempts: other writers kept winning"):
        preview_gc(remote, platform, T0, max_deletions=10, pr_states=racing_lookup, dry_run=False, retry=retry)
    assert asked == 3 and len(sleeps) == 2
    checkout = clone(remote, tmp_path / "view")
    assert sorted(p.name for p in (checkout / "previews").iterdir()) == ["pr-1", "pr-101", "pr-102", "pr-103", "pr-2"]
