"""The spec's people, groups, approvals and identity: what loads, and what is refused with file:line."""

from __future__ import annotations

import pytest

from shipyard.errors import SpecError
from shipyard.spec.loader import parse_spec

MINIMAL = """\
apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: acme
domain: acme.example.com
registry: {url: harbor.acme.example.com}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(MINIMAL + text, "shipyard.yaml")
    return [str(p) for p in info.value.problems]


def test_a_spec_without_people_has_no_approvals_and_default_identity() -> None:
    platform = parse_spec(MINIMAL)
    assert platform.people == {} and platform.groups == {}
    assert all(env.approvals is None for env in platform.environments)
    assert platform.identity.tokens.file == ".shipyard/tokens" and platform.identity.oidc is None


def test_people_groups_approvals_and_oidc_load() -> None:
    platform = parse_spec(
        MINIMAL
        + """\
people:
  alice: {name: Alice, emails: [alice@acme.example.com], oidcSubject: "00u1"}
  bob: {emails: [bob@acme.example.com]}
groups:
  release-managers: [alice, bob]
environments:
  - name: production
    approvals: {approvers: ["group:release-managers"], required: 2}
identity:
  tokens: {file: /run/secrets/shipyard/tokens, secret: shipyard-serve-tokens}
  oidc:
    issuer: https://login.acme.example.com
    clientId: shipyard
    clientSecret: shipyard-oidc
    requiredGroups: [engineering]
"""
    )
    production = platform.environment("production")
    assert production.approvals is not None and production.approvals.required == 2
    assert production.approvals.four_eyes is True
    assert production.strategy.kind == "blueGreen"  # the rest of the default environment is kept
    assert platform.identity.oidc is not None and platform.identity.oidc.groups_claim == "groups"


def test_cross_references_are_refused_where_they_are_written() -> None:
    found = problems(
        """\
people:
  alice: {emails: [alice@acme.example.com], oidcSubject: s1}
  bob: {emails: [ALICE@acme.example.com], oidcSubject: s1}
groups:
  rm: [alice, carol, alice]
environments:
  - name: dev
    approvals: {approvers: [alice]}
  - name: production
    approvals:
      approvers: [alice, "group:rm", "group:nope", alice, dan]
      required: 3
"""
    )
    assert found == [
        "shipyard.yaml:10:15: groups.rm[1]: 'carol' is not a person; valid: alice, bob",
        "shipyard.yaml:10:22: groups.rm[2]: 'alice' is listed twice in group 'rm'",
        "shipyard.yaml:8:18: people.bob.emails[0]: ALICE@acme.example.com is also alice's: an email names one person",
        "shipyard.yaml:8:43: people.bob.oidcSubject: this subject is also alice's: a subject names one person",
        "shipyard.yaml:13:5: environments[0].approvals: approvals apply to manual stages; 'dev' has promotion: auto",
        "shipyard.yaml:16:38: environments[1].approvals.approvers[2]: unknown group 'group:nope'; valid: alice, bob, "
        "group:rm",
        "shipyard.yaml:16:52: environments[1].approvals.approvers[3]: 'alice' is named twice",
        "shipyard.yaml:16:59: environments[1].approvals.approvers[4]: unknown person 'dan'; valid: alice, bob, "
        "group:rm",
        "shipyard.yaml:17:7: environments[1].approvals.required: 3 approvals required but the approvers name 1 person "
        "(alice); valid: 1 to 1",
    ]


def test_field_rules_name_what_is_valid() -> None:
    found = problems(
        """\
people:
  alice: {emails: []}
  bob: {emails: [not-an-email]}
environments:
  - name: uat
    approvals: {approvers: [], required: 0}
identity:
  tokens: {token: shy_abc}
  oidc: {issuer: "http://login.acme.example.com", clientId: x, clientSecret: "s3cr3t value", scopes: [email]}
"""
    )
    text = "\n".join(found)
    assert "people.alice.emails: List should have at least 1 item" in text
    assert "people.bob.emails[0]: String should match pattern" in text
    assert "environments[0].approvals.approvers: List should have at least 1 item" in text
    assert "environments[0].approvals.required: Input should be greater than or equal to 1" in text
    assert "identity.tokens.token: unknown key 'token'; valid: file, secret" in text
    assert "identity.oidc.issuer: the OIDC issuer must use https" in text
    assert "identity.oidc.clientSecret: String should match pattern" in text
    assert "identity.oidc.scopes: OIDC scopes must include openid" in text


def test_an_approvals_section_needs_people() -> None:
    assert problems("environments:\n  - {name: uat, approvals: {approvers: [alice]}}\n")[0].endswith(
        "unknown person 'alice'; valid: none: list people under people"
    )
