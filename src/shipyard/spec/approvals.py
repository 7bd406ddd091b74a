"""Who may approve: the people and groups of the spec, each manual stage's ``approvals``, and how
``shipyard serve`` knows people (``identity``: token hashes on one machine, OIDC on a cluster).

A person is a stable id (the key under ``people``, e.g. a GitHub login) with the emails they commit
with; the emails tie a person to git (``git config user.email`` on a laptop, the author of a freight's
source commit for the four-eyes rule) and to an OIDC provider's verified ``email`` claim. Group
membership is written here, in git, so whoever reads the config repo's history can re-check every
decision with nothing but git. No secret is ever part of the spec: tokens are stored as hashes in a
file outside git, and the OIDC client secret is named by the Secret that holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from shipyard.spec.base import DnsLabel, SpecModel
from shipyard.spec.urls import line_problem, location_problem, word_problem

if TYPE_CHECKING:
    from shipyard.spec.model import Platform

PERSON_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
GROUP_PREFIX = "group:"
PersonId = Annotated[str, Field(pattern=PERSON_ID)]
GroupName = Annotated[str, Field(pattern=PERSON_ID)]
Email = Annotated[str, Field(pattern=r"^[^@\s<>,;:\"]+@[^@\s<>,;:\"]+$", max_length=254)]
Claim = Annotated[str, Field(pattern=r"^[A-Za-z0-9_:./-]{1,100}$")]
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}

Loc = tuple[str | int, ...]


def _checked(value: str | None, problem_of: Callable[[str], str | None]) -> str | None:
    """``value`` when ``problem_of`` finds nothing wrong with it; a ValueError (a spec problem) otherwise."""
    problem = None if value is None else problem_of(value)
    if problem:
        raise ValueError(problem)
    return value


class Person(SpecModel):
    """Someone who may decide on a manual stage. The key under ``people`` is their stable id."""

    name: str | None = Field(default=None, max_length=200)
    """How to show them; the id is what the config repo records."""
    emails: list[Email] = Field(min_length=1)
    """Every email they commit with (GitHub's noreply address too): git and OIDC identify them by these."""
    oidc_subject: str | None = Field(default=None, min_length=1, max_length=255)
    """The OIDC provider's ``sub`` claim for them, which never changes when an email does."""

    @field_validator("name", "oidc_subject")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return _checked(value, line_problem)


class ApprovalPolicy(SpecModel):
    """Who decides on freight entering a manual stage, and how many of them must approve."""

    approvers: list[str] = Field(min_length=1)
    """People by id, and groups as ``group:<name>``."""
    required: int = Field(default=1, ge=1)
    """How many different people must approve."""
    four_eyes: bool = True
    """The author of the freight's source commit may not approve it."""


class TokenSettings(SpecModel):
    """Where ``shipyard serve`` on one machine finds people's API tokens: a file of their hashes."""

    file: str = Field(default=".shipyard/tokens", min_length=1, max_length=4096)
    """``person: sha256:<hex>`` lines; relative to shipyard.yaml, or absolute (where a secret store puts it)."""
    secret: DnsLabel | None = None
    """The Secret (from ``secrets.store`` when set) that holds the file under the key ``tokens``, on a cluster."""

    @field_validator("file")
    @classmethod
    def _a_path(cls, file: str) -> str:
        if line_problem(file):
            raise ValueError("the tokens file must be a path (no line break or other control character)")
        return file


class OidcSettings(SpecModel):
    """How ``shipyard serve`` on a cluster logs people in with an OpenID Connect provider."""

    issuer: str = Field(max_length=2048)
    client_id: str = Field(min_length=1, max_length=255)
    client_secret: DnsLabel
    """The Secret that holds the client secret under the key ``clientSecret``; never the secret itself."""
    scopes: list[Annotated[str, Field(pattern=r"^[\x21-\x7e]{1,100}$")]] = Field(
        default_factory=lambda: ["openid", "email", "profile"]
    )
    email_claim: Claim = "email"
    groups_claim: Claim = "groups"
    required_groups: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(default_factory=list)
    """When set, only people whose groups claim names one of these may log in (on top of ``people``)."""

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, client_id: str) -> str:
        return _checked(client_id, word_problem) or client_id

    @field_validator("required_groups")
    @classmethod
    def _groups(cls, groups: list[str]) -> list[str]:
        for group in groups:
            _checked(group, line_problem)
        return groups

    @field_validator("issuer")
    @classmethod
    def _https(cls, issuer: str) -> str:
        _checked(issuer, lambda url: location_problem(url, "oidc"))
        parts = urlsplit(issuer)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"'{issuer}' is not an issuer URL such as https://login.example.com")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ValueError("the OIDC issuer must use https (plain http only on this machine: localhost)")
        if parts.username or parts.password:
            raise ValueError("the OIDC issuer URL must not carry credentials")
        return issuer

    @field_validator("scopes")
    @classmethod
    def _openid(cls, scopes: list[str]) -> list[str]:
        if "openid" not in scopes:
            raise ValueError("OIDC scopes must include openid")
        return scopes


class IdentitySettings(SpecModel):
    """How ``shipyard serve`` authenticates people: tokens on one machine, OIDC on a cluster."""

    tokens: TokenSettings = Field(default_factory=TokenSettings)
    oidc: OidcSettings | None = None


def approver_people(platform: Platform, approvers: list[str]) -> set[str]:
    """The people a list of approvers names, its groups expanded (unknown names are left out)."""
    found: set[str] = set()
    for name in approvers:
        if name.startswith(GROUP_PREFIX):
            found.update(platform.groups.get(name.removeprefix(GROUP_PREFIX), []))
        elif name in platform.people:
            found.add(name)
    return found & set(platform.people)


def approval_problems(platform: Platform) -> list[tuple[Loc, str]]:
    """Cross-field checks of people, groups and each environment's ``approvals``."""
    people = sorted(platform.people)
    valid_people = ", ".join(people) or "none: list them under people"
    problems: list[tuple[Loc, str]] = []
    for group, members in platform.groups.items():
        for index, member in enumerate(members):
            if member not in platform.people:
                problems.append(((("groups", group, index)), f"'{member}' is not a person; valid: {valid_people}"))
            elif members.index(member) != index:
                problems.append((("groups", group, index), f"'{member}' is listed twice in group '{group}'"))
    owner: dict[str, str] = {}
    subjects: dict[str, str] = {}
    for person_id, person in platform.people.items():
        for index, email in enumerate(person.emails):
            key = email.casefold()
            if key in owner and owner[key] != person_id:
                problems.append(
                    (
                        ("people", person_id, "emails", index),
                        f"{email} is also {owner[key]}'s: an email names one person",
                    )
                )
            owner.setdefault(key, person_id)
        if person.oidc_subject is not None:
            other = subjects.setdefault(person.oidc_subject, person_id)
            if other != person_id:
                problems.append(
                    (
                        ("people", person_id, "oidcSubject"),
                        f"this subject is also {other}'s: a subject names one person",
                    )
                )
    groups = sorted(platform.groups)
    valid = ", ".join([*people, *(f"{GROUP_PREFIX}{g}" for g in groups)]) or "none: list people under people"
    for index, env in enumerate(platform.environments):
        policy = env.approvals
        if policy is None:
            continue
        at: Loc = ("environments", index, "approvals")
        if env.promotion.value != "manual":
            problems.append(
                (at, f"approvals apply to manual stages; '{env.name}' has promotion: {env.promotion.value}")
            )
            continue
        for position, name in enumerate(policy.approvers):
            known = (
                name.removeprefix(GROUP_PREFIX) in platform.groups
                if name.startswith(GROUP_PREFIX)
                else name in platform.people
            )
            if not known:
                kind = "group" if name.startswith(GROUP_PREFIX) else "person"
                problems.append(((*at, "approvers", position), f"unknown {kind} '{name}'; valid: {valid}"))
            elif policy.approvers.index(name) != position:
                problems.append(((*at, "approvers", position), f"'{name}' is named twice"))
        named = approver_people(platform, policy.approvers)
        if policy.required > len(named):
            who = ", ".join(sorted(named)) or "nobody"
            problems.append(
                (
                    (*at, "required"),
                    f"{policy.required} approvals required but the approvers name {len(named)} "
                    f"{'person' if len(named) == 1 else 'people'} ({who}); valid: 1 to {max(len(named), 1)}",
                )
            )
    return problems
