"""Approvals with identity, without git: who may decide, the four-eyes rule, counting N approvals,
rejections, and decisions read back from their commit messages."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.errors import ShipyardError
from shipyard.git import format_message
from shipyard.promotion.approvals import Decision, clean_comment, may_decide, review, tally
from shipyard.promotion.ledger import Entry, Ledger, entry_from_commit
from shipyard.promotion.people import Directory, GitIdentity, approver_text, policy_for
from shipyard.spec.model import Platform
from shipyard.stages.graph import build_graph

F1 = "1" * 40
F2 = "2" * 40


def platform(**extra: Any) -> Platform:
    data: dict[str, Any] = {
        "apiVersion": "shipyard.dev/v1alpha1",
        "kind": "Platform",
        "org": "acme",
        "domain": "acme.example.com",
        "registry": {"kind": "local", "url": "registry"},
    }
    return Platform.model_validate({**data, **extra})


PEOPLE = {
    "alice": {"emails": ["alice@acme.example.com", "1+alice@users.noreply.github.com"]},
    "bob": {"emails": ["bob@acme.example.com"]},
    "carol": {"emails": ["Carol@Acme.example.com"]},
    "dan": {"emails": ["dan@acme.example.com"]},
}


def team(**approvals: Any) -> Platform:
    return platform(
        people=PEOPLE,
        groups={"release-managers": ["bob", "carol"]},
        environments=[{"name": "preprod", "approvals": approvals}] if approvals else [],
    )


def decision(person: str, kind: str = "approve", freight: str = F1, stage: str = "preprod") -> Decision:
    return Decision(person, stage, freight, "v1.2.0-beta.1", kind)  # type: ignore[arg-type]


def entry(d: Decision, commit: str = "c") -> Entry:
    found = entry_from_commit(
        commit, "Shipyard", "2026-11-25T10:00:00+00:00", format_message(d.message(), d.trailers())
    )
    assert found is not None
    return found


def test_a_person_decides_by_name_or_through_a_group() -> None:
    spec = team(approvers=["alice", "group:release-managers"], required=1)
    policy, directory = policy_for(spec, "preprod"), Directory.of(spec)
    assert policy.people == {"alice", "bob", "carol"} and policy.mode == "approvals"
    assert may_decide(policy, directory, "alice", "approve", ["x@acme.example.com"]) is None
    assert may_decide(policy, directory, "carol", "approve", ["x@acme.example.com"]) is None
    refused = may_decide(policy, directory, "dan", "approve", ["x@acme.example.com"])
    assert refused is not None and "dan may not decide on preprod" in refused
    assert "group:release-managers (bob, carol)" in refused
    outsider = may_decide(policy, directory, "mallory", "approve", ["x@acme.example.com"])
    assert outsider is not None and "not a person listed" in outsider


def test_four_eyes_refuses_the_author_by_any_of_their_emails_and_an_unknown_author() -> None:
    spec = team(approvers=["alice", "bob"], required=1)
    policy, directory = policy_for(spec, "preprod"), Directory.of(spec)
    for authors in (["alice@acme.example.com"], ["1+ALICE@users.noreply.github.com", "bob@x.example.com"]):
        why = may_decide(policy, directory, "alice", "approve", authors)
        assert why is not None and "alice wrote the freight's source commit" in why
    assert may_decide(policy, directory, "bob", "approve", ["alice@acme.example.com"]) is None
    unknown = may_decide(policy, directory, "bob", "approve", [])
    assert unknown is not None and "nobody knows it" in unknown
    # The author may still reject their own freight; the rule guards approvals only.
    assert may_decide(policy, directory, "alice", "reject", ["alice@acme.example.com"]) is None
    lax = team(approvers=["alice", "bob"], required=1, fourEyes=False)
    assert may_decide(policy_for(lax, "preprod"), Directory.of(lax), "alice", "approve", []) is None
    # Who may still approve leaves the author out, as the rule does.
    assert tally(policy, directory, F1, "v1", [], ["alice@acme.example.com"]).eligible == ("bob",)
    assert tally(policy_for(lax, "preprod"), Directory.of(lax), F1, "v1", [], ["alice@acme.example.com"]).eligible == (
        "alice",
        "bob",
    )


def test_n_distinct_approvals_are_needed() -> None:
    spec = team(approvers=["alice", "group:release-managers"], required=2)
    policy, directory = policy_for(spec, "preprod"), Directory.of(spec)
    authors = ["dan@acme.example.com"]
    one = tally(policy, directory, F1, "v1", [decision("bob"), decision("bob")], authors)
    assert (one.approved_by, one.missing, one.satisfied) == (("bob",), 1, False)
    assert one.eligible == ("alice", "carol")  # bob counted already
    assert one.ignored[0][1] == "bob approved before; each person counts once"
    two = tally(policy, directory, F1, "v1", [decision("bob"), decision("carol")], authors)
    assert two.satisfied and two.summary() == "approved by bob, carol (2 of 2)"
    outsider = tally(policy, directory, F1, "v1", [decision("bob"), decision("dan")], authors)
    assert not outsider.satisfied and [d.person for d, _ in outsider.ignored] == ["dan"]


def test_a_rejection_stops_that_freight_but_not_the_next() -> None:
    spec = team(approvers=["alice", "group:release-managers"], required=1)
    graph = build_graph(spec)
    node = graph.stage("preprod")
    rejected = Ledger([entry(decision("carol", "reject"), "r1")])
    authors = ("dan@acme.example.com",)
    verdict = review(spec, node, rejected, F1, "v1.2.0-beta.1", approve=True, approver="bob", authors=authors)
    assert not verdict.gate.passed and "carol rejected v1.2.0-beta.1" in verdict.gate.reason
    assert verdict.record is None
    fresh = review(spec, node, rejected, F2, "v1.2.0-beta.2", approve=True, approver="bob", authors=authors)
    assert fresh.gate.passed and fresh.record is not None and fresh.record.freight == F2
    # A rejection by someone who may not decide on the stage does not count.
    spec_without_carol = team(approvers=["alice", "bob"], required=1)
    ignored = review(
        spec_without_carol, node, rejected, F1, "v1.2.0-beta.1", approve=True, approver="bob", authors=authors
    )
    assert ignored.gate.passed


def test_review_records_the_runners_approval_and_counts_it() -> None:
    spec = team(approvers=["alice", "group:release-managers"], required=2)
    node = build_graph(spec).stage("preprod")
    authors = ("alice@acme.example.com",)
    first = review(spec, node, Ledger(), F1, "v", approve=True, approver="bob@ACME.example.com", authors=authors)
    assert not first.gate.passed and first.record is not None and first.record.person == "bob"
    assert "approved by bob (1 of 2); preprod needs 1 more approval" in first.gate.reason
    recorded = Ledger([entry(first.record)])
    second = review(spec, node, recorded, F1, "v", approve=True, approver="carol", authors=authors)
    assert second.gate.passed and second.approvers == ("bob", "carol")
    nobody = review(spec, node, recorded, F1, "v", approve=False, approver=None, authors=authors)
    assert not nobody.gate.passed and "approved by bob (1 of 2); pass --approve" in nobody.gate.reason
    author = review(spec, node, recorded, F1, "v", approve=True, approver="alice", authors=authors)
    assert not author.gate.passed and "four-eyes" in author.gate.reason and author.record is None
    stranger = review(spec, node, recorded, F1, "v", approve=True, approver="Alice Liddell", authors=authors)
    assert not stranger.gate.passed and "'Alice Liddell' is not a person listed" in stranger.gate.reason


def test_without_people_anyone_approves_as_before_and_nothing_is_recorded_first() -> None:
    spec = platform()
    node = build_graph(spec).stage("uat")
    assert policy_for(spec, "uat").mode == "open"
    verdict = review(spec, node, Ledger(), F1, "v", approve=True, approver="Riley Release")
    assert verdict.gate.passed and verdict.record is None and verdict.approvers == ("Riley Release",)
    assert not review(spec, node, Ledger(), F1, "v", approve=False, approver=None).gate.passed
    nobody = review(spec, node, Ledger(), F1, "v", approve=True, approver=None)
    assert "set `git config user.name`" in nobody.gate.reason
    auto = review(spec, build_graph(spec).stage("dev"), Ledger(), F1, "v", approve=False, approver=None)
    assert auto.gate.passed and auto.tally is None


def test_people_without_an_approvals_section_means_any_person_with_four_eyes() -> None:
    spec = team()
    policy = policy_for(spec, "production")
    assert (policy.mode, policy.people, policy.required, policy.four_eyes) == (
        "people",
        frozenset(PEOPLE),
        1,
        True,
    )
    assert policy_for(spec, "dev").mode == "auto"


def test_the_cli_approver_is_the_git_email_when_people_are_listed() -> None:
    listed, nobody = Directory.of(team()), Directory.of(platform())
    local = GitIdentity(email="bob@acme.example.com", name="Bob B")
    assert approver_text(listed, None, local) == "bob@acme.example.com"
    assert approver_text(listed, "  carol ", local) == "carol"
    assert approver_text(listed, None, GitIdentity(email="x@y.example.com", name="dan")) == "dan"
    assert approver_text(listed, None, GitIdentity(email="x@y.example.com", name="X")) == "x@y.example.com"
    assert approver_text(nobody, None, local) == "Bob B"
    assert listed.identify("CAROL@acme.example.com") == "carol" and listed.identify("Bob B") is None


comments = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029"),
    max_size=300,
)


@given(
    person=st.sampled_from(sorted(PEOPLE)),
    kind=st.sampled_from(["approve", "reject"]),
    comment=comments,
    stage=st.sampled_from(["uat", "preprod", "production"]),
)
def test_a_decision_reads_back_from_its_commit_message(person: str, kind: str, comment: str, stage: str) -> None:
    try:
        text = clean_comment(comment)
    except ShipyardError:
        return  # control characters: refused before anything is written
    made = Decision(person, stage, F1, "v1.2.0", kind, text, source_commit="abc1234")  # type: ignore[arg-type]
    found = entry_from_commit(
        "c1", "Shipyard", "2026-11-25T10:00:00+00:00", format_message(made.message(), made.trailers())
    )
    assert found is not None and found.kind == "decision"
    back = Decision.from_entry(found)
    assert (back.person, back.stage, back.freight, back.decision, back.comment) == (person, stage, F1, kind, text)
    assert Ledger([found]).moves() == [] and Ledger([found]).decisions(stage, F1) == [found]


def test_comments_are_bounded_and_plain() -> None:
    assert clean_comment("  Looks good.  \r\n\r\n\r\n\tShip it.\n") == "Looks good.\n\n Ship it."
    assert clean_comment(None) == ""
    with pytest.raises(ShipyardError, match="control characters"):
        clean_comment("bell\x07")
    with pytest.raises(ShipyardError, match="at most 2000"):
        clean_comment("x" * 2001)


def test_a_decision_commit_that_does_not_say_who_or_what_decides_nothing() -> None:
    made = decision("bob")
    trailers = [t for t in made.trailers() if t[0] != "Shipyard-Approved-By"]
    assert entry_from_commit("c", "a", "d", format_message(made.message(), trailers)) is None
    odd = [("Shipyard-Decision", "approved"), *made.trailers()[1:]]
    assert entry_from_commit("c", "a", "d", format_message(made.message(), odd)) is None


people_ids = st.sampled_from(["p0", "p1", "p2", "p3", "p4", "p5"])


@settings(max_examples=150, deadline=None)
@given(
    approvers=st.sets(people_ids, min_size=1),
    grouped=st.sets(people_ids),
    required=st.integers(1, 6),
    four_eyes=st.booleans(),
    authors=st.sets(people_ids, max_size=2),
    decisions=st.lists(st.tuples(st.one_of(people_ids, st.just("stranger")), st.sampled_from(["approve", "reject"]))),
)
def test_the_count_follows_the_rules_for_any_approvers_and_decisions(
    approvers: set[str],
    grouped: set[str],
    required: int,
    four_eyes: bool,
    authors: set[str],
    decisions: list[tuple[str, str]],
) -> None:
    named = sorted(approvers) + (["group:g"] if grouped else [])
    allowed = approvers | grouped
    if required > len(allowed):
        return  # the spec refuses it (see the spec tests)
    spec = platform(
        people={p: {"emails": [f"{p}@acme.example.com"]} for p in ["p0", "p1", "p2", "p3", "p4", "p5"]},
        groups={"g": sorted(grouped)} if grouped else {},
        environments=[
            {"name": "preprod", "approvals": {"approvers": named, "required": required, "fourEyes": four_eyes}}
        ],
    )
    written = [f"{p}@acme.example.com" for p in authors]
    counted = tally(
        policy_for(spec, "preprod"),
        Directory.of(spec),
        F1,
        "v",
        [decision(p, k) for p, k in decisions],
        written,
    )

    def counts(person: str, kind: str) -> bool:
        if person not in allowed:
            return False
        return kind == "reject" or not four_eyes or (bool(authors) and person not in authors)

    rejected = any(k == "reject" and counts(p, k) for p, k in decisions)
    approving = {p for p, k in decisions if k == "approve" and counts(p, k)}
    assert (counted.rejection is not None) == rejected
    assert set(counted.approved_by) == approving
    assert counted.satisfied == (not rejected and len(approving) >= required)
    assert len(counted.approvals) + len(counted.ignored) + (1 if rejected else 0) <= len(decisions)
