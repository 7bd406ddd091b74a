"""Promotion scenarios on real git repositories: a bare config remote, scratch clones, real pushes.

Every gate of the stage graph, approval, rollback, the recorded trailers, the board and the trace, and
concurrent promotions into one environment.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.git import Git, parse_trailers
from shipyard.promotion.board import board, trace
from shipyard.promotion.executor import promote, promote_auto, record_freight, rollback
from shipyard.promotion.freight import FreightImage, make_freight
from shipyard.promotion.gates import GateRefused
from shipyard.promotion.ledger import read_ledger
from shipyard.promotion.tags import StoreTags
from shipyard.registry.stores import Stores
from shipyard.spec.loader import parse_spec
from shipyard.spec.model import Platform
from shipyard.stages.graph import build_graph

pytestmark = pytest.mark.integration

SPEC = """\
apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: acme
domain: acme.example.com
registry: {kind: local, url: registry}
"""
ALPHA = "v1.2.0-alpha.20261101120000"
ALPHA2 = "v1.3.0-alpha.20261102120000"
BETA1 = "v1.2.0-beta.1"
BETA2 = "v1.2.0-beta.2"


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def platform() -> Platform:
    return parse_spec(SPEC)


@pytest.fixture
def remote(tmp_path: Path) -> str:
    path = tmp_path / "config.git"
    path.mkdir()
    Git(path).run("init", "--quiet", "--bare", "--initial-branch=main")
    return str(path)


@pytest.fixture
def layout(tmp_path: Path) -> StoreTags:
    """The tag lookup of ``registry.kind: local``: the layout store of the platform's folder."""
    root = tmp_path / "registry"
    root.mkdir()
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": []}))
    return StoreTags(Stores(layout=root))


def tag(layout: StoreTags, service: str, tag_name: str, image_digest: str) -> None:
    """Point services/<service>:<tag> at a digest in the layout's index.json, as the layout store writes it
    (the digests here are made up, so no manifest blob exists to store through the layout store)."""
    root = layout.stores.layout
    assert root is not None
    index = json.loads((root / "index.json").read_text())
    index["manifests"].append(
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": image_digest,
            "size": 1,
            "annotations": {"org.opencontainers.image.ref.name": f"services/{service}:{tag_name}"},
        }
    )
    (root / "index.json").write_text(json.dumps(index))


def add(platform: Platform, remote: str, version: str, services: tuple[str, ...] = ("api", "web")) -> str:
    images = {s: FreightImage(image=platform.registry.image(s), digest=digest(f"{s}@{version}")) for s in services}
    freight = make_freight(version, images, {"@acme/utils": version[1:]}, source_commit="abc1234def", pr=42)
    _, commit = record_freight(remote, freight)
    assert commit is not None
    return freight.id


def head_message(remote: str) -> str:
    return Git(Path(remote)).run("log", "-1", "--format=%B", "main")


def show(remote: str, path: str) -> str:
    return Git(Path(remote)).run("show", f"main:{path}")


def refused(excinfo: pytest.ExceptionInfo[GateRefused]) -> dict[str, bool]:
    return {g.name: g.passed for g in excinfo.value.gates}


def test_freight_is_recorded_once_with_trailers(platform: Platform, remote: str) -> None:
    freight_id = add(platform, remote, ALPHA)
    trailers = parse_trailers(head_message(remote))
    assert ("Shipyard-Freight", freight_id) in trailers
    assert ("Shipyard-Version", ALPHA) in trailers
    assert ("Shipyard-Source-Commit", "abc1234def") in trailers and ("Shipyard-PR", "42") in trailers
    assert [v for k, v in trailers if k == "Shipyard-Service"] == ["api", "web"]
    assert f"id: {freight_id}" in show(remote, f"freight/{ALPHA}.yaml")
    same = make_freight(
        ALPHA,
        {s: FreightImage(image=platform.registry.image(s), digest=digest(f"{s}@{ALPHA}")) for s in ("api", "web")},
        {"@acme/utils": ALPHA[1:]},
        source_commit="abc1234def",
        pr=42,
    )
    assert record_freight(remote, same)[1] is None  # the same content again: nothing to do
    other = make_freight(ALPHA, {"api": FreightImage(image="x/api", digest=digest("other"))})
    with pytest.raises(ShipyardError, match="versions never move"):
        record_freight(remote, other)


def test_auto_promotes_alpha_through_dev_then_staging_only(platform: Platform, remote: str, layout: StoreTags) -> None:
    alpha = add(platform, remote, ALPHA)
    add(platform, remote, BETA1)
    outcome = promote_auto(platform, remote, layout)
    assert [(m.stage, m.version) for m in outcome.moves] == [("dev", ALPHA), ("staging", ALPHA)]
    assert all(m.commit for m in outcome.moves)
    ledger = read_ledger(remote)
    assert ledger.passed(alpha, "dev") and ledger.passed(alpha, "staging")
    assert ledger.moves("uat") == []  # beta freight waits for a manual promotion
    assert promote_auto(platform, remote, layout).moves == []  # nothing new: idempotent
    overlay = show(remote, "overlays/staging/images/kustomization.yaml")
    assert f"digest: {digest('api@' + ALPHA)}" in overlay and "kind: Component\n" in overlay

    add(platform, remote, ALPHA2)
    dry = promote_auto(platform, remote, layout, dry_run=True)
    assert [(m.stage, m.version) for m in dry.moves] == [("dev", ALPHA2), ("staging", ALPHA2)]
    current = read_ledger(remote).current("dev")
    assert current is not None and current.version == ALPHA  # a dry run changes nothing


def test_maturity_gate(platform: Platform, remote: str, layout: StoreTags) -> None:
    add(platform, remote, ALPHA)
    add(platform, remote, BETA1)
    with pytest.raises(GateRefused) as alpha_to_uat:
        promote(platform, remote, "uat", layout, version=ALPHA, approve=True, approver="alice")
    assert refused(alpha_to_uat) == {"maturity": False, "upstream": True, "approval": True, "vulnerabilities": True}
    with pytest.raises(GateRefused) as beta_to_dev:
        promote(platform, remote, "dev", layout, version=BETA1)
    assert refused(beta_to_dev)["maturity"] is False
    assert read_ledger(remote).moves() == []


def test_upstream_gate(platform: Platform, remote: str, layout: StoreTags) -> None:
    add(platform, remote, ALPHA)
    add(platform, remote, BETA1)
    with pytest.raises(GateRefused) as skip_dev:
        promote(platform, remote, "staging", layout, version=ALPHA)
    assert refused(skip_dev) == {"maturity": True, "upstream": False, "approval": True}
    with pytest.raises(GateRefused, match="has not been promoted to uat"):
        promote(platform, remote, "preprod", layout, version=BETA1, approve=True, approver="alice")
    promote(platform, remote, "dev", layout, version=ALPHA)
    assert promote(platform, remote, "staging", layout, version=ALPHA).moves[0].changed
    again = promote(platform, remote, "staging", layout, version=ALPHA)
    assert not again.moves[0].changed and "already runs" in again.plan.notes[0]  # idempotent


def test_manual_stage_needs_approval_and_records_the_approver(
    platform: Platform, remote: str, layout: StoreTags
) -> None:
    beta = add(platform, remote, BETA1)
    with pytest.raises(GateRefused, match="pass --approve"):
        promote(platform, remote, "uat", layout, version=BETA1)
    with pytest.raises(GateRefused, match="no approver known"):
        promote(platform, remote, "uat", layout, version=BETA1, approve=True, approver=None)
    dry = promote(platform, remote, "uat", layout, freight=beta[:10], approve=True, approver="alice", dry_run=True)
    assert dry.moves[0].commit is None and read_ledger(remote).moves() == []
    outcome = promote(platform, remote, "uat", layout, freight=beta[:10], approve=True, approver="alice")
    trailers = parse_trailers(head_message(remote))
    assert ("Shipyard-Stage", "uat") in trailers
    assert ("Shipyard-Approved-By", "alice") in trailers
    assert ("Shipyard-Freight", beta) in trailers and ("Shipyard-Version", BETA1) in trailers
    assert ("Shipyard-Source-Commit", "abc1234def") in trailers and ("Shipyard-PR", "42") in trailers
    pairs = [(k, v) for k, v in trailers if k in ("Shipyard-Service", "Shipyard-Digest")]
    assert pairs == [
        ("Shipyard-Service", "api"),
        ("Shipyard-Digest", digest(f"api@{BETA1}")),
        ("Shipyard-Service", "web"),
        ("Shipyard-Digest", digest(f"web@{BETA1}")),
    ]
    assert outcome.moves[0].commit == Git(Path(remote)).rev_parse("main")


def test_production_takes_preprod_freight_once_it_carries_the_stable_tag(
    platform: Platform, remote: str, layout: StoreTags
) -> None:
    beta1 = add(platform, remote, BETA1)
    beta2 = add(platform, remote, BETA2)
    for stage in ("uat", "preprod"):
        promote(platform, remote, stage, layout, version=BETA2, approve=True, approver="alice")
    promote(platform, remote, "uat", layout, version=BETA1, approve=True, approver="alice")
    with pytest.raises(GateRefused) as untagged:
        promote(platform, remote, "production", layout, version="v1.2.0", approve=True, approver="bob")
    assert refused(untagged)["stable-tag"] is False
    tag(layout, "api", "v1.2.0", digest(f"api@{BETA2}"))
    with pytest.raises(GateRefused, match="web"):  # every digest must carry it, not just one
        promote(platform, remote, "production", layout, version="v1.2.0", approve=True, approver="bob")
    tag(layout, "web", "v1.2.0", digest(f"web@{BETA2}"))
    with pytest.raises(GateRefused, match="has not been promoted to preprod"):
        promote(platform, remote, "production", layout, freight=beta1, approve=True, approver="bob")
    with pytest.raises(GateRefused, match="pass --approve"):
        promote(platform, remote, "production", layout, version="v1.2.0")
    outcome = promote(platform, remote, "production", layout, version="v1.2.0", approve=True, approver="bob")
    move = outcome.moves[0]
    assert (move.freight, move.version) == (beta2, "v1.2.0")
    trailers = parse_trailers(head_message(remote))
    assert ("Shipyard-Version", "v1.2.0") in trailers and ("Shipyard-Freight", beta2) in trailers
    assert ("Shipyard-Approved-By", "bob") in trailers
    with pytest.raises(GateRefused, match=r"no beta freight of release 1\.3\.0"):
        promote(platform, remote, "production", layout, version="v1.3.0", approve=True, approver="bob")


def test_promotion_keeps_the_users_comments_and_formatting(
    platform: Platform, remote: str, layout: StoreTags, tmp_path: Path
) -> None:
    add(platform, remote, ALPHA)
    work = tmp_path / "work"
    Git(tmp_path).run("clone", "--quiet", remote, str(work))
    overlay = work / "overlays" / "dev" / "images" / "kustomization.yaml"
    overlay.parent.mkdir(parents=True)
    original = (
        "# dev: owned by the platform team\n"
        "kind: Component\n"
        "images:\n"
        "- name: localhost/services/api  # the API\n"
        "  newTag: alpha\n"
        "- name: localhost/services/legacy\n"
        "  newTag: '1.0'   # pinned by hand\n"
    )
    overlay.write_text(original)
    Git(work).commit("Seed dev", paths=["overlays"])
    Git(work).push("origin", ["HEAD:refs/heads/main"])
    promote(platform, remote, "dev", layout, version=ALPHA)
    text = show(remote, "overlays/dev/images/kustomization.yaml")
    assert text == (
        "# dev: owned by the platform team\n"
        "kind: Component\n"
        "images:\n"
        "- name: localhost/services/api  # the API\n"
        f"  digest: {digest('api@' + ALPHA)}\n"
        "- name: localhost/services/legacy\n"
        "  newTag: '1.0'   # pinned by hand\n"
        "- name: localhost/services/web\n"
        f"  digest: {digest('web@' + ALPHA)}\n"
    )


def test_rollback_returns_to_an_earlier_freight_as_a_new_commit(
    platform: Platform, remote: str, layout: StoreTags
) -> None:
    add(platform, remote, ALPHA)
    promote(platform, remote, "dev", layout, version=ALPHA)
    add(platform, remote, ALPHA2, services=("api",))  # a freight may carry only the services that changed
    promote(platform, remote, "dev", layout, version=ALPHA2)
    before = Git(Path(remote)).rev_parse("main")
    with pytest.raises(ShipyardError, match=r"never ran v9\.9\.9"):
        rollback(platform, remote, "dev", to="v9.9.9", actor="carol")
    outcome = rollback(platform, remote, "dev", actor="carol")
    move = outcome.moves[0]
    assert move.version == ALPHA and move.rollback
    repo = Git(Path(remote))
    assert repo.run("merge-base", "--is-ancestor", before, "main", check=False) == ""  # history kept
    assert repo.run("log", "-1", "--format=%s", "main").strip() == f"Roll back dev to {ALPHA}"
    text = show(remote, "overlays/dev/images/kustomization.yaml")
    assert digest(f"api@{ALPHA}") in text and digest(f"api@{ALPHA2}") not in text
    assert ("Shipyard-Approved-By", "carol") in parse_trailers(head_message(remote))
    again = rollback(platform, remote, "dev", to=ALPHA2, actor="carol")
    assert again.moves[0].version == ALPHA2
    assert digest(f"api@{ALPHA2}") in show(remote, "overlays/dev/images/kustomization.yaml")
    with pytest.raises(ShipyardError, match="already runs"):
        rollback(platform, remote, "dev", to=ALPHA2, actor="carol")
    with pytest.raises(ShipyardError, match="never been promoted"):
        rollback(platform, remote, "uat", actor="carol")


def test_status_board_and_trace_read_the_history(platform: Platform, remote: str, layout: StoreTags) -> None:
    alpha = add(platform, remote, ALPHA)
    add(platform, remote, BETA1)
    promote_auto(platform, remote, layout)
    promote(platform, remote, "uat", layout, version=BETA1, approve=True, approver="alice")
    add(platform, remote, ALPHA2)
    graph = build_graph(platform)
    ledger = read_ledger(remote)
    result = board(graph, ledger)
    assert result.environments == ["dev", "staging", "uat", "preprod", "production"]
    assert result.services == ["api", "web"]
    assert result.cells[("api", "dev")].version == ALPHA and result.cells[("api", "dev")].maturity == "alpha"
    assert result.cells[("web", "uat")].version == BETA1
    assert ("api", "preprod") not in result.cells
    assert [(p.stage, p.version, p.mode) for p in result.pending] == [
        ("dev", ALPHA2, "auto"),
        ("preprod", BETA1, "manual"),
    ]
    placements = trace(graph, ledger, "api")
    staging = next(p for p in placements if p.env == "staging")
    assert staging.freight == alpha and staging.source_commit == "abc1234def" and staging.pr == "42"
    assert [hop.stage for hop in staging.path] == ["dev", "staging"]
    uat = trace(graph, ledger, "api", "uat")
    assert len(uat) == 1 and uat[0].promoted_by == "alice"
    with pytest.raises(ShipyardError, match="services seen: api, web"):
        trace(graph, ledger, "nope")


def test_ten_concurrent_promotions_into_one_environment_lose_no_update(
    platform: Platform, remote: str, layout: StoreTags
) -> None:
    services = [f"svc-{n}" for n in range(10)]
    versions = [f"v1.{n}.0-alpha.2026110112{n:02d}00" for n in range(10)]
    for service, version in zip(services, versions, strict=True):
        add(platform, remote, version, services=(service,))
    start = threading.Barrier(10)
    errors: list[BaseException] = []

    def run(version: str) -> None:
        try:
            start.wait()
            promote(platform, remote, "dev", layout, version=version)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(v,)) for v in versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    moves = read_ledger(remote).moves("dev")
    assert sorted(m.version for m in moves) == sorted(versions)
    repo = Git(Path(remote))
    commits = repo.run("rev-list", "--reverse", "--first-parent", "main").split()[-10:]
    assert [m.commit for m in moves] == commits  # one linear history, each promotion one commit
    seen: set[str] = set()
    for commit, move in zip(commits, moves, strict=True):
        text = repo.run("show", f"{commit}:overlays/dev/images/kustomization.yaml")
        pinned = {s for s in services if f"services/{s}\n" in text}
        assert pinned == seen | {move.images[0][0]}  # the previous state plus this one
        seen = pinned
    assert seen == set(services)
