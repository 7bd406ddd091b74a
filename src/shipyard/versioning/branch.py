"""The branch model (GitFlow): main, develop, release/vX.Y.Z, feature/<project>-<desc>, hotfix/<desc>.
Anything else is rejected with the rule it breaks."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shipyard.git.refname import ref_format_problem


class BranchKind(StrEnum):
    """The kinds of branch the workflow knows."""

    main = "main"
    develop = "develop"
    release = "release"
    feature = "feature"
    hotfix = "hotfix"


_RELEASE = re.compile(r"release/v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_DESC = re.compile(r"[a-z0-9][a-z0-9._-]*")
# Pull requests go from a kind of branch into these targets (hotfixes are back-merged to develop by
# `shipyard hotfix finish`, not by a pull request).
PR_TARGETS: dict[BranchKind, tuple[str, ...]] = {
    BranchKind.feature: ("develop",),
    BranchKind.release: ("main",),
    BranchKind.hotfix: ("main",),
}


@dataclass(frozen=True)
class Branch:
    """A classified branch name."""

    name: str
    kind: BranchKind
    version: tuple[int, int, int] | None = None
    project: str | None = None
    description: str | None = None


class BranchError(ValueError):
    """A branch name that breaks a rule; the message names the rule."""


def classify(name: str, projects: Iterable[str] | None = None) -> Branch:
    """Classify a branch name, or raise BranchError with the rule it breaks.

    ``projects`` are the workspace's service and package names; when given, a feature branch must
    start with one of them (the longest that prefixes it wins, so ``api-client-x`` is not ``api``).
    """
    problem = ref_format_problem(name)
    if problem:
        raise BranchError(f"'{_printable(name)}' is not a valid git branch name: {problem}")
    if name in ("main", "develop"):
        return Branch(name, BranchKind(name))
    if name.startswith("release/"):
        match = _RELEASE.fullmatch(name)
        if not match:
            raise BranchError(
                f"'{name}' is not a release branch: write release/vMAJOR.MINOR.PATCH, e.g. release/v1.2.0"
            )
        major, minor, patch = (int(g) for g in match.groups())
        return Branch(name, BranchKind.release, version=(major, minor, patch))
    if name.startswith("hotfix/"):
        desc = name.removeprefix("hotfix/")
        if not _DESC.fullmatch(desc):
            raise BranchError(
                f"'{name}' is not a hotfix branch: write hotfix/<description> in lower case letters, "
                "digits, '.', '_' and '-', e.g. hotfix/security-cve-2024-1234"
            )
        return Branch(name, BranchKind.hotfix, description=desc)
    if name.startswith("feature/"):
        rest = name.removeprefix("feature/")
        if not _DESC.fullmatch(rest):
            raise BranchError(
                f"'{name}' is not a feature branch: write feature/<project>-<description> in lower case "
                "letters, digits, '.', '_' and '-', e.g. feature/user-service-oauth2"
            )
        if projects is None:
            return Branch(name, BranchKind.feature, description=rest)
        known = sorted(projects, key=len, reverse=True)
        for project in known:
            if rest.startswith(project + "-") and len(rest) > len(project) + 1:
                return Branch(name, BranchKind.feature, project=project, description=rest[len(project) + 1 :])
        listed = ", ".join(sorted(known)) or "(none found)"
        raise BranchError(
            f"'{name}' does not name a project: write feature/<project>-<description>, where <project> "
            f"is one of {listed}"
        )
    raise BranchError(
        f"'{_printable(name)}' is not a workflow branch: use main, develop, release/vX.Y.Z, "
        "feature/<project>-<description> or hotfix/<description>"
    )


def check_pr_target(branch: Branch, target: str) -> str | None:
    """Why a pull request from ``branch`` into ``target`` breaks the workflow, or None if it is allowed."""
    allowed = PR_TARGETS.get(branch.kind)
    if allowed is None:
        return f"{branch.kind.value} branches are not merged by pull request"
    if target not in allowed:
        return f"{branch.kind.value} branches merge into {' or '.join(allowed)}, not {_printable(target)}"
    return None


@dataclass(frozen=True)
class BranchCheck:
    """The answer of ``branch check``: is the name a workflow branch, and may it merge into ``target``?"""

    name: str
    branch: Branch | None
    target: str | None = None
    reason: str | None = None
    note: str | None = None

    @property
    def valid(self) -> bool:
        """True when the name follows the rules (and, with a target, may merge into it)."""
        return self.reason is None

    def to_json(self) -> dict[str, Any]:
        """For JSON output: only the keys that apply (``kind``, ``version``, ``project`` of a valid name)."""
        data: dict[str, Any] = {"name": self.name, "valid": self.valid}
        branch = self.branch
        if branch is not None:
            data["kind"] = branch.kind.value
            if branch.version:
                data["version"] = "{}.{}.{}".format(*branch.version)
            if branch.project:
                data["project"] = branch.project
        if self.target is not None and branch is not None:
            data["target"] = self.target
        for key, value in (("reason", self.reason), ("note", self.note)):
            if value is not None:
                data[key] = value
        return data


def check_branch(name: str, target: str | None, projects: Iterable[str] | None) -> BranchCheck:
    """Check ``name`` against the workflow's rules and, with ``target``, the pull request's direction.

    ``projects`` None means no workspace was found: a feature branch's project is then not checked (and the
    answer says so)."""
    try:
        branch = classify(name, projects)
    except BranchError as exc:
        return BranchCheck(name, None, reason=str(exc))
    note = None
    if projects is None and branch.kind is BranchKind.feature:
        note = "no shipyard.yaml found: the feature branch's project was not checked"
    reason = check_pr_target(branch, target) if target is not None else None
    return BranchCheck(name, branch, target, reason, note)


def _printable(name: str) -> str:
    return name.encode("unicode_escape").decode("ascii")
