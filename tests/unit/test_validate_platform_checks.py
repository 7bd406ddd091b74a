"""The cross-object checks of ``shipyard validate`` about the platform's own parts on a cluster (Verdaccio, the
CronJobs, Ingresses and previews, syncs that nothing requests): each fires, by name, on a copy of the example
config repo given the defect it is about, and the example itself passes them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shipyard.k8s.documents import Finding
from shipyard.k8s.validate import check_policies, load_documents
from tests.realparts import REPO_ROOT

GOLDEN = REPO_ROOT / "examples" / "acme" / "gitops-config"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the example config repo to break."""
    target = tmp_path / "config"
    shutil.copytree(GOLDEN, target)
    return target


def errors(tree: Path, check: str) -> list[Finding]:
    documents, _ = load_documents(tree)
    return [f for f in check_policies(tree, documents) if f.severity == "error" and f.check == check]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def cut(path: Path, start: str, end: str) -> None:
    """Remove the lines from the one holding ``start`` up to (not including) the one holding ``end``."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if start in line)
    last = next(i for i, line in enumerate(lines) if i > first and end in line)
    path.write_text("".join(lines[:first] + lines[last:]), encoding="utf-8")


def test_the_example_passes(tree: Path) -> None:
    documents, _ = load_documents(tree)
    assert [f.line() for f in check_policies(tree, documents) if f.severity == "error"] == []


# Verdaccio


def test_verdaccio_without_the_generated_config_runs_the_charts_proxying_default(tree: Path) -> None:
    app = tree / "bootstrap" / "verdaccio.yaml"
    cut(app, "configMap: |", "persistence:")
    found = errors(tree, "verdaccio/scope-proxied")
    assert [f.file for f in found] == ["bootstrap/verdaccio.yaml"]
    assert "'@*/*'" in found[0].message


def test_a_broader_proxied_pattern_before_the_scope_is_dependency_confusion(tree: Path) -> None:
    app = tree / "bootstrap" / "verdaccio.yaml"
    edit(app, "'@acme/*':", "'@*/*':\n              access: $all\n              proxy: npmjs\n            '@acme/*':")
    found = errors(tree, "verdaccio/scope-proxied")
    assert len(found) == 1 and "@acme/* packages match '@*/*'" in found[0].message


def test_values_other_than_the_reviewed_file_are_an_error(tree: Path) -> None:
    edit(tree / "verdaccio" / "values.yaml", "size: 50Gi", "size: 8Gi")
    found = errors(tree, "verdaccio/deployed-config")
    assert len(found) == 1 and "(persistence)" in found[0].message
