"""Who is who, and who decides on each manual stage, as the spec says.

The ``Directory`` answers from ``people`` and ``groups``; ``policy_for`` gives a stage's rule. Three
cases, so that a spec without any of this keeps working as it always has:

- the stage has ``approvals``: its approvers (people, and groups expanded), ``required`` and ``fourEyes``;
- the spec lists people but the stage has no ``approvals``: any listed person, one approval, four eyes;
- the spec lists nobody (the embedded default, the demo): *open*, meaning anyone who names themselves
  approves, one approval, no four-eyes rule. Nothing is identified then; the name is only recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shipyard.git import Git
from shipyard.spec.approvals import GROUP_PREFIX, Person
from shipyard.spec.model import Platform, PromotionMode


@dataclass(frozen=True)
class Directory:
    """The people of the spec, their emails and OIDC subjects, and the groups they are in."""

    people: Mapping[str, Person]
    groups: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, platform: Platform) -> Directory:
        """The directory of ``platform``'s ``people`` and ``groups``."""
        return cls(
            people=dict(platform.people),
            groups={name: tuple(members) for name, members in platform.groups.items()},
        )

    @property
    def configured(self) -> bool:
        """True when the spec lists people: from then on every approver must be one of them."""
        return bool(self.people)

    def identify(self, text: str | None) -> str | None:
        """The person ``text`` names: their id, or one of their emails (any case); None for nobody."""
        if not text:
            return None
        if text in self.people:
            return text
        return self.by_email(text)

    def by_email(self, email: str) -> str | None:
        """The person with ``email`` among their emails (any case)."""
        wanted = email.strip().casefold()
        for person, record in self.people.items():
            if any(known.casefold() == wanted for known in record.emails):
                return person
        return None

    def by_subject(self, subject: str) -> str | None:
        """The person whose ``oidcSubject`` is ``subject``."""
        return next((p for p, record in self.people.items() if record.oidc_subject == subject), None)

    def emails(self, person: str) -> frozenset[str]:
        """A person's emails, lower-cased (none for someone not listed)."""
        record = self.people.get(person)
        return frozenset(e.casefold() for e in record.emails) if record else frozenset()

    def members(self, group: str) -> frozenset[str]:
        """The people in ``group``."""
        return frozenset(self.groups.get(group, ()))

    def expand(self, approvers: tuple[str, ...]) -> frozenset[str]:
        """Every person a list of approvers (ids and ``group:`` names) names."""
        found: set[str] = set()
        for name in approvers:
            if name.startswith(GROUP_PREFIX):
                found |= self.members(name.removeprefix(GROUP_PREFIX))
            elif name in self.people:
                found.add(name)
        return frozenset(found)


@dataclass(frozen=True)
class Policy:
    """The approval rule of one manual stage."""

    stage: str
    approvers: tuple[str, ...]
    """As the spec names them: person ids and ``group:<name>``; empty when open or implicit."""
    people: frozenset[str]
    """Who may decide: the approvers with their groups expanded (empty when open: anyone may)."""
    required: int
    four_eyes: bool
    mode: str
    """``approvals`` (the stage's own section), ``people`` (any listed person), ``open`` (anyone) or
    ``auto`` (an automatic stage: nothing to decide)."""
    description: str = ""
    """Who may decide, for messages: ``alice, group:release-managers (bob, carol)``."""

    @property
    def open(self) -> bool:
        """True when nobody is listed: any name approves, and is only recorded."""
        return self.mode == "open"

    def to_json(self) -> dict[str, object]:
        """As JSON (see docs/promotion.md)."""
        return {
            "stage": self.stage,
            "mode": self.mode,
            "approvers": list(self.approvers),
            "people": sorted(self.people),
            "required": self.required,
            "fourEyes": self.four_eyes,
        }


def _describe(approvers: tuple[str, ...], directory: Directory) -> str:
    parts = []
    for name in approvers:
        if name.startswith(GROUP_PREFIX):
            members = sorted(directory.members(name.removeprefix(GROUP_PREFIX)))
            parts.append(f"{name} ({', '.join(members) or 'nobody'})")
        else:
            parts.append(name)
    return ", ".join(parts)


def policy_for(platform: Platform, stage: str) -> Policy:
    """The approval rule of ``stage``, an environment of ``platform`` (see the module's three cases)."""
    env = platform.environment(stage)
    directory = Directory.of(platform)
    if env.promotion is not PromotionMode.manual:
        return Policy(stage, (), frozenset(), 0, False, "auto", "nobody: it promotes automatically")
    if env.approvals is not None:
        rule = env.approvals
        approvers = tuple(rule.approvers)
        return Policy(
            stage,
            approvers,
            directory.expand(approvers),
            rule.required,
            rule.four_eyes,
            "approvals",
            _describe(approvers, directory),
        )
    if platform.people:
        everyone = frozenset(directory.people)
        return Policy(stage, (), everyone, 1, True, "people", "any person listed: " + ", ".join(sorted(everyone)))
    return Policy(stage, (), frozenset(), 1, False, "open", "anyone (shipyard.yaml lists no people)")


@dataclass(frozen=True)
class GitIdentity:
    """Who git says is working here: ``user.email`` and ``user.name`` (either may be unset)."""

    email: str | None
    name: str | None


def git_identity(cwd: Path) -> GitIdentity:
    """``git config user.email`` and ``user.name`` where the command runs. Anyone can set these: they
    name someone, they prove nothing (see docs/security.md)."""
    git = Git(cwd)

    def value(key: str) -> str | None:
        return " ".join(git.run("config", key, check=False).split()) or None

    return GitIdentity(email=value("user.email"), name=value("user.name"))


def approver_text(directory: Directory, given: str | None, local: GitIdentity) -> str | None:
    """Who a CLI run approves as: ``--approver`` (an id or an email), else the local git identity.

    With people listed, git's ``user.email`` names the person (``user.name`` counts only when it is a
    person's id); without, the name is recorded as it is, ``user.name`` first, as it always was.
    """
    named = " ".join((given or "").split())  # one line: it becomes a trailer
    if named:
        return named
    if not directory.configured:
        return local.name or local.email
    if local.email and directory.identify(local.email):
        return local.email
    if local.name and local.name in directory.people:
        return local.name
    return local.email or local.name
