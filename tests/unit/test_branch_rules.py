"""Branch classification: the workflow's rules, and never accepting a name git would reject."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.git.refname import ref_format_problem
from shipyard.versioning.branch import BranchError, BranchKind, check_pr_target, classify
from tests.realparts import need_binary

PROJECTS = ["api", "api-client", "user-service", "utils"]


def git_accepts(name: str) -> bool:
    git = need_binary("git")
    proc = subprocess.run([git, "check-ref-format", "--branch", name], capture_output=True, check=False)
    return proc.returncode == 0


@pytest.mark.parametrize(
    ("name", "kind", "extra"),
    [
        ("main", BranchKind.main, {}),
        ("develop", BranchKind.develop, {}),
        ("release/v1.2.0", BranchKind.release, {"version": (1, 2, 0)}),
        ("release/v10.0.12", BranchKind.release, {"version": (10, 0, 12)}),
        ("hotfix/security-cve-2024-1234", BranchKind.hotfix, {"description": "security-cve-2024-1234"}),
        ("feature/user-service-oauth2", BranchKind.feature, {"project": "user-service", "description": "oauth2"}),
        ("feature/api-client-retry", BranchKind.feature, {"project": "api-client", "description": "retry"}),
        ("feature/api-x", BranchKind.feature, {"project": "api", "description": "x"}),
    ],
)
def test_valid_branches(name: str, kind: BranchKind, extra: dict[str, object]) -> None:
    branch = classify(name, PROJECTS)
    assert branch.kind is kind
    for key, value in extra.items():
        assert getattr(branch, key) == value


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("release/v1.2", "release/vMAJOR.MINOR.PATCH"),
        ("release/1.2.0", "release/vMAJOR.MINOR.PATCH"),
        ("release/v01.2.0", "release/vMAJOR.MINOR.PATCH"),
        ("feature/billing-x", "does not name a project"),
        ("feature/user-service", "does not name a project"),
        ("feature/user-service-", "does not name a project"),
        ("feature/User-service-x", "feature/<project>-<description>"),
        ("hotfix/", "cannot start or end with '/'"),
        ("hotfix/Bad", "hotfix/<description>"),
        ("bugfix/thing", "not a workflow branch"),
        ("master", "not a workflow branch"),
        ("feature/a..b", "'..' is not allowed"),
        ("main\n", "control characters"),
        ("feature/x y", "not allowed"),
        ("-main", "cannot start with '-'"),
        ("HEAD", "reserved"),
        ("hotfix/x.lock", "'.lock'"),
        ("feature/x@{1}", "'@{'"),
        ("", "empty"),
    ],
)
def test_invalid_branches_name_the_rule(name: str, rule: str) -> None:
    with pytest.raises(BranchError) as info:
        classify(name, PROJECTS)
    assert rule in str(info.value)


def test_feature_without_workspace_is_classified_without_project() -> None:
    branch = classify("feature/anything-goes")
    assert branch.kind is BranchKind.feature and branch.project is None


@pytest.mark.parametrize(
    ("name", "target", "problem"),
    [
        ("feature/user-service-x", "develop", None),
        ("feature/user-service-x", "main", "feature branches merge into develop, not main"),
        ("release/v1.2.0", "main", None),
        ("release/v1.2.0", "develop", "release branches merge into main, not develop"),
        ("hotfix/x", "main", None),
        ("develop", "main", "develop branches are not merged by pull request"),
    ],
)
def test_pr_targets(name: str, target: str, problem: str | None) -> None:
    assert check_pr_target(classify(name, PROJECTS), target) == problem


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(min_size=0, max_size=40))
def test_never_crashes_and_never_accepts_what_git_rejects(name: str) -> None:
    try:
        classify(name, PROJECTS)
    except BranchError:
        return
    assert git_accepts(name), name


# Names built from the branch kinds' own pieces: the classifier must accept every one.
_desc = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True).filter(lambda d: not d.endswith(".lock"))
_version = st.tuples(*(st.integers(min_value=0, max_value=999) for _ in range(3)))
valid_names = st.one_of(
    st.sampled_from(["main", "develop"]),
    _version.map(lambda v: "release/v{}.{}.{}".format(*v)),
    _desc.map(lambda d: f"hotfix/{d}"),
    st.tuples(st.sampled_from(PROJECTS), _desc).map(lambda pd: f"feature/{pd[0]}-{pd[1]}"),
)


@settings(max_examples=200, deadline=None)
@given(valid_names)
def test_accepts_every_generated_valid_name(name: str) -> None:
    branch = classify(name, PROJECTS)
    assert branch.name == name
    assert git_accepts(name)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab./-_@{}~^:?*[\\ .lock")), max_size=12))
def test_ref_format_agrees_with_git_on_tricky_alphabets(name: str) -> None:
    if name == "@":  # git's --branch reads a lone '@' as HEAD's shorthand; we refuse it on purpose
        assert ref_format_problem(name) is not None
        return
    assert (ref_format_problem(name) is None) == git_accepts(name), name
