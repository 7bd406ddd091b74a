"""Approvals with identity on real git repositories: a bare config remote, an application repo whose
history names the source commit's authors, real commits and pushes.

The right person approves and the promotion lands; anyone else, and the source commit's authors, are
refused without a trace in the config repo; two approvals are counted across two commands; a rejection
stops a freight and a new one passes; every decision is a commit with trailers that status and trace read.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

from shipyard.cli.main import main
from shipyard.configrepo.checkout import scratch_clone
from shipyard.git import Git, parse_trailers
from shipyard.promotion.approvals import Decision, DecisionRefused, commit_decision
from shipyard.promotion.board import board, trace
from shipyard.promotion.decide import approval_queue, decide
from shipyard.promotion.executor import promote, record_freight
from shipyard.promotion.freight import FreightImage, make_freight
from shipyard.promotion.gates import GateRefused
from shipyard.promotion.ledger import read_ledger
from shipyard.promotion.tags import StoreTags
from shipyard.promotion.tokens import TokenStore
from shipyard.registry.stores import Stores
from shipyard.spec.loader import parse_spec
from shipyard.spec.model import Platform
from shipyard.stages.graph import build_graph

pytestmark = pytest.mark.integration

PEOPLE = """\
people:
  alice: {name: Alice, emails: [alice@acme.example.com]}
  bob: {emails: [bob@acme.example.com]}
  carol: {emails: [carol@acme.example.com]}
  dan: {emails: [dan@acme.example.com]}
groups:
  release-managers: [bob, carol]
environments:
  - name: uat
    approvals: {approvers: [alice, bob, carol]}
  - name: preprod
    approvals: {approvers: ["group:release-managers", alice], required: 2}
"""
SPEC = (
    """\
apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: acme
domain: acme.example.com
registry: {kind: local, url: registry}
"""
    + PEOPLE
)
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
def app(tmp_path: Path) -> tuple[Path, str, str]:
    """The application repo: a commit by alice, and one by dan with alice as co-author."""
    path = tmp_path / "app"
    path.mkdir()
    git = Git(path)
    git.run("init", "--quiet")
    (path / "a.txt").write_text("a\n")
    alice = {"GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "Alice@Acme.example.com"}
    git.run("add", "a.txt")
    git.run("commit", "--quiet", "-m", "feat: by alice", env=alice)
    by_alice = git.rev_parse("HEAD")
    (path / "b.txt").write_text("b\n")
    git.run("add", "b.txt")
    dan = {"GIT_AUTHOR_NAME": "Dan", "GIT_AUTHOR_EMAIL": "dan@acme.example.com"}
    git.run("commit", "--quiet", "-m", "fix: pair\n\nCo-authored-by: Alice <alice@acme.example.com>", env=dan)
    return path, by_alice, git.rev_parse("HEAD")


@pytest.fixture
def layout(tmp_path: Path) -> StoreTags:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": []}))
    return StoreTags(Stores(layout=root))


def record(remote: str, version: str, source: str | None, authors: list[str] | None = None) -> str:
    images = {"user-service": FreightImage(image="localhost/services/user-service", digest=digest(version))}
    freight = make_freight(version, images, source_commit=source, authors=authors)
    record_freight(remote, freight)
    return freight.id


def head(remote: str) -> str:
    return Git(Path(remote)).rev_parse("main")


def messages(remote: str, count: int) -> list[str]:
    out = Git(Path(remote)).run("log", f"-{count}", "--format=%B%x1e", "main")
    return [m.strip() for m in out.split("\x1e") if m.strip()][::-1]


def test_the_right_person_approves_and_the_promotion_lands(
    platform: Platform, remote: str, app: tuple[Path, str, str], layout: StoreTags
) -> None:
    app_repo, by_alice, _ = app
    freight = record(remote, BETA1, by_alice)  # no authors recorded: the app repo's history names alice
    outcome = promote(
        platform, remote, "uat", layout, version=BETA1, approve=True, approver="bob", app_repo=app_repo, comment="ok"
    )
    move = outcome.moves[0]
    assert move.changed and move.approved_by == "bob"
    assert move.approval is not None and move.approval.authors == ("alice@acme.example.com",)
    decision, promotion = messages(remote, 2)
    assert decision.startswith("Approve v1.2.0-beta.1 for uat\n\nok\n\n")
    assert parse_trailers(decision) == [
        ("Shipyard-Decision", "approve"),
        ("Shipyard-Freight", freight),
        ("Shipyard-Version", BETA1),
        ("Shipyard-Stage", "uat"),
        ("Shipyard-Source-Commit", by_alice),
        ("Shipyard-Approved-By", "bob"),
    ]
    assert promotion.startswith("Promote v1.2.0-beta.1 to uat")
    assert ("Shipyard-Approved-By", "bob") in parse_trailers(promotion)
    ledger = read_ledger(remote)
    assert [e.kind for e in ledger.entries] == ["freight", "decision", "promotion"]
    [placement] = trace(build_graph(platform), ledger, "user-service", "uat")
    assert placement.promoted_by == "bob" and placement.version == BETA1


def test_anyone_not_allowed_is_refused_and_nothing_is_written(
    platform: Platform, remote: str, app: tuple[Path, str, str], layout: StoreTags
) -> None:
    app_repo, by_alice, _ = app
    record(remote, BETA1, by_alice)
    before = head(remote)
    refusals = {
        "mallory@evil.example.com": "'mallory@evil.example.com' is not a person listed",
        "dan": "dan may not decide on uat; its approvers: alice, bob, carol",
        "alice": "alice wrote the freight's source commit (alice@acme.example.com)",
        "ALICE@acme.example.com": "alice wrote the freight's source commit",
    }
    for approver, reason in refusals.items():
        with pytest.raises(GateRefused) as info:
            promote(platform, remote, "uat", layout, version=BETA1, approve=True, approver=approver, app_repo=app_repo)
        assert reason in str(info.value)
    for approver in ("dan", "alice"):
        with pytest.raises(GateRefused):
            decide(platform, remote, "uat", "approve", approver, version=BETA1, app_repo=app_repo)
    assert head(remote) == before


def test_the_authors_come_from_the_record_or_the_history_and_unknown_is_refused(
    platform: Platform, remote: str, app: tuple[Path, str, str], layout: StoreTags
) -> None:
    app_repo, _, paired = app
    record(remote, BETA1, paired)  # dan wrote it, alice co-authored it; the record names nobody
    with pytest.raises(GateRefused, match="alice wrote the freight's source commit"):
        promote(platform, remote, "uat", layout, version=BETA1, approve=True, approver="alice", app_repo=app_repo)
    with pytest.raises(GateRefused, match="nobody knows it"):  # without the app repo nobody knows who wrote it
        promote(platform, remote, "uat", layout, version=BETA1, approve=True, approver="bob")
    record(remote, BETA2, None, authors=["Carol@acme.example.com"])
    with pytest.raises(GateRefused, match="carol wrote"):
        promote(platform, remote, "uat", layout, version=BETA2, approve=True, approver="carol")
    assert promote(platform, remote, "uat", layout, version=BETA2, approve=True, approver="alice").moves[0].changed


def test_two_approvals_are_counted_across_two_commands(
    platform: Platform, remote: str, app: tuple[Path, str, str], layout: StoreTags
) -> None:
    app_repo, by_alice, _ = app
    freight = record(remote, BETA1, by_alice)
    promote(platform, remote, "uat", layout, version=BETA1, approve=True, approver="carol", app_repo=app_repo)
    with pytest.raises(GateRefused) as info:
        promote(platform, remote, "preprod", layout, version=BETA1, approve=True, approver="bob", app_repo=app_repo)
    assert "bob's approval recorded in" in str(info.value) and "approved by bob (1 of 2)" in str(info.value)
    assert messages(remote, 1)[0].startswith("Approve v1.2.0-beta.1 for preprod")
    queue = approval_queue(platform, read_ledger(remote), app_repo)
    [waiting] = queue.for_stage("preprod")
    assert (waiting.freight, waiting.approved_by, waiting.missing) == (freight, ("bob",), 1)
    pending = board(build_graph(platform), read_ledger(remote), queue.waiting).pending
    assert [p.note for p in pending if p.stage == "preprod"] == ["waits for approval; approved by bob (1 of 2)"]
    with pytest.raises(GateRefused, match="approved by bob \\(1 of 2\\); pass --approve"):
        promote(platform, remote, "preprod", layout, version=BETA1, app_repo=app_repo)
    # bob again: recorded once, still one of two.
    with pytest.raises(GateRefused, match="approved by bob \\(1 of 2\\)"):
        promote(platform, remote, "preprod", layout, version=BETA1, approve=True, approver="bob", app_repo=app_repo)
    assert messages(remote, 1)[0].startswith("Approve v1.2.0-beta.1 for preprod")
    outcome = promote(
        platform, remote, "preprod", layout, version=BETA1, approve=True, approver="carol", app_repo=app_repo
    )
    assert outcome.moves[0].approved_by == "bob, carol"
    trailers = parse_trailers(messages(remote, 1)[0])
    assert [v for k, v in trailers if k == "Shipyard-Approved-By"] == ["bob", "carol"]
    ledger = read_ledger(remote)
    assert [e.kind for e in ledger.entries].count("decision") == 3
    [placement] = trace(build_graph(platform), ledger, "user-service", "preprod")
    assert placement.promoted_by == "bob, carol" and [hop.by for hop in placement.path] == ["carol", "bob, carol"]
    assert approval_queue(platform, ledger, app_repo).for_stage("preprod") == []


def test_a_rejection_stops_that_freight_and_a_new_one_passes(
    platform: Platform, remote: str, app: tuple[Path, str, str], layout: StoreTags
) -> None:
    app_repo, by_alice, _ = app
    record(remote, BETA1, by_alice)
    done = decide(platform, remote, "uat", "reject", "carol", version=BETA1, comment="Breaks login.\n\nSee #12.")
    assert done.commit is not None and done.tally.rejection is not None
    assert messages(remote, 1)[0].startswith("Reject v1.2.0-beta.1 for uat\n\nBreaks login.\n\nSee #12.\n\n")
    assert ("Shipyard-Rejected-By", "carol") in parse_trailers(messages(remote, 1)[0])
    with pytest.raises(GateRefused, match=r"carol rejected v1\.2\.0-beta\.1 .* \(Breaks login\.\)"):
        promote(platform, remote, "uat", layout, version=BETA1, approve=True, approver="bob", app_repo=app_repo)
    with pytest.raises(GateRefused, match="carol rejected"):
        decide(platform, remote, "uat", "approve", "bob", version=BETA1, app_repo=app_repo)
    again = decide(platform, remote, "uat", "reject", "carol", version=BETA1)
    assert again.commit is None and again.plan.notes == ["carol has rejected v1.2.0-beta.1 for uat already"]
    record(remote, BETA2, by_alice)
    assert (
        promote(platform, remote, "uat", layout, version=BETA2, approve=True, approver="bob", app_repo=app_repo)
        .moves[0]
        .changed
    )


def test_an_approval_is_refused_when_a_rejection_lands_while_it_is_being_recorded(
    platform: Platform, remote: str, app: tuple[Path, str, str]
) -> None:
    _, by_alice, _ = app
    freight = record(remote, BETA1, by_alice)
    approval = Decision("bob", "uat", freight, BETA1, "approve")
    with scratch_clone(remote) as checkout:  # bob's clone, taken before carol's rejection lands
        decide(platform, remote, "uat", "reject", "carol", version=BETA1)
        with pytest.raises(DecisionRefused, match=r"carol rejected v1\.2\.0-beta\.1 for uat meanwhile"):
            commit_decision(checkout, approval)
        assert commit_decision(checkout, Decision("carol", "uat", freight, BETA1, "reject")) is None  # once
    assert [e.decision for e in read_ledger(remote).decisions("uat")] == ["reject"]


def test_concurrent_approvals_both_land_and_then_the_promotion_needs_no_one_else(
    platform: Platform, remote: str, app: tuple[Path, str, str], layout: StoreTags
) -> None:
    app_repo, by_alice, _ = app
    record(remote, BETA1, by_alice)
    promote(platform, remote, "uat", layout, version=BETA1, approve=True, approver="bob", app_repo=app_repo)
    errors: list[BaseException] = []

    def approve(person: str) -> None:
        try:
            decide(platform, remote, "preprod", "approve", person, version=BETA1, app_repo=app_repo)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=approve, args=(p,)) for p in ("bob", "carol")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    moved = promote(platform, remote, "preprod", layout, version=BETA1, app_repo=app_repo).moves[0]
    assert moved.changed and sorted(moved.approved_by.split(", ")) == ["bob", "carol"]  # type: ignore[union-attr]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_knows_the_approver_from_git_and_refuses_a_stranger(
    acme: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHIPYARD_APPROVER", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    with (acme / "shipyard.yaml").open("a") as spec:
        spec.write(PEOPLE)
    git = Git(acme)
    git.run("config", "user.email", "alice@acme.example.com")
    (acme / "change.txt").write_text("x\n")
    git.run("add", "change.txt")
    git.run("commit", "--quiet", "-m", "feat: by alice", env={"GIT_AUTHOR_EMAIL": "alice@acme.example.com"})
    root = ("--root", str(acme))
    image = f"user-service={digest('b1')}"
    source = git.rev_parse("HEAD")
    code, out, _ = run(
        capsys, "freight", "add", "--version", BETA1, "--image", image, "--source-commit", source, *root, "--json"
    )
    assert code == 0 and json.loads(out)["freight"]["authors"] == ["alice@acme.example.com"]

    code, out, err = run(capsys, "promote", "--version", BETA1, "--to", "uat", "--approve", *root)  # alice, by git
    assert code == 1 and "alice wrote the freight's source commit" in err
    code, out, err = run(
        capsys, "promote", "--version", BETA1, "--to", "uat", "--approve", "--approver", "Mallory", *root, "--json"
    )
    refused = {g["gate"]: g for g in json.loads(out)["gates"]}
    assert code == 1 and "'Mallory' is not a person listed" in refused["approval"]["reason"]
    git.run("config", "user.email", "carol@acme.example.com")
    code, out, err = run(capsys, "promote", "--version", BETA1, "--to", "uat", "--approve", "--dry-run", *root)
    assert code == 0 and "commit  main  (Approve v1.2.0-beta.1 for uat)" in out
    code, out, err = run(capsys, "promote", "--version", BETA1, "--to", "uat", "--approve", *root, "--json")
    move = json.loads(out)["moves"][0]
    assert code == 0 and move["approvedBy"] == "carol" and move["approval"]["approvedBy"] == ["carol"]

    code, out, err = run(
        capsys, "approvals", "approve", "--to", "preprod", "--version", BETA1, "--comment", "fine", *root
    )
    assert code == 0 and "preprod: approved by carol (1 of 2)" in err
    code, out, _ = run(capsys, "approvals", "list", "--stage", "preprod", *root, "--json")
    [waiting] = json.loads(out)
    assert waiting["approvedBy"] == ["carol"] and waiting["approvals"][0]["comment"] == "fine"
    code, out, _ = run(capsys, "status", *root, "--json")
    [pending] = [p for p in json.loads(out)["pending"] if p["stage"] == "preprod"]
    assert pending["approval"]["approvedBy"] == ["carol"] and pending["approval"]["missing"] == 1
    code, out, _ = run(capsys, "status", *root)
    assert "pending: v1.2.0-beta.1 -> preprod (manual: waits for approval; approved by carol (1 of 2))" in out
    code, out, err = run(
        capsys, "approvals", "reject", "--to", "preprod", "--version", BETA1, "--approver", "dan", *root
    )
    assert code == 1 and "dan may not decide on preprod" in err
    code, out, err = run(capsys, "approvals", "approve", "--to", "dev", "--version", BETA1, "--approver", "bob", *root)
    assert code == 1 and "dev promotes automatically" in err
    code, out, err = run(capsys, "trace", "user-service", "--env", "uat", *root)
    assert code == 0 and "promoted by carol" in out


def test_tokens_are_shown_once_stored_as_hashes_and_kept_out_of_git(
    acme: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (acme / "shipyard.yaml").open("a") as spec:
        spec.write(PEOPLE)
    root = ("--root", str(acme))
    code, token, err = run(capsys, "approvals", "token", "add", "bob", *root)
    token = token.strip()
    stored = (acme / ".shipyard" / "tokens").read_text()
    assert code == 0 and token.startswith("shy_") and token not in stored and "shown once" in err
    assert os.stat(acme / ".shipyard" / "tokens").st_mode & 0o777 == 0o600
    assert TokenStore.load(acme / ".shipyard" / "tokens").verify(token) == "bob"
    code, out, _ = run(capsys, "approvals", "token", "add", "carol", *root, "--json")
    assert code == 0 and TokenStore.load(acme / ".shipyard" / "tokens").verify(json.loads(out)["token"]) == "carol"
    code, _, err = run(capsys, "approvals", "token", "add", "mallory", *root)
    assert code == 2 and "no person 'mallory'" in err
    code, out, _ = run(capsys, "approvals", "token", "revoke", "bob", *root, "--json")
    assert code == 0 and json.loads(out)["revoked"] == 1
    assert TokenStore.load(acme / ".shipyard" / "tokens").verify(token) is None
    assert Git(acme).run("status", "--porcelain", "--", ".shipyard").strip() == ""

    with (acme / "shipyard.yaml").open("a") as spec:
        spec.write("identity: {tokens: {file: config/tokens}}\n")
    code, _, err = run(capsys, "approvals", "token", "add", "bob", *root)
    assert code == 2 and "is not ignored by git" in err and not (acme / "config" / "tokens").exists()
