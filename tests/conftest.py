"""Fixtures shared by every test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# Timings are never assertions in tests: the machines that run the suite are shared and their speed varies,
# so hypothesis's per-example deadline is off (every other setting keeps its default).
settings.register_profile("shipyard", deadline=None)
settings.load_profile("shipyard")


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Tests make real commits; give git an identity and keep the user's config out of the way. The global
    # config is an empty file of the test's own, never /dev/null: a `git config --global` run by the code
    # under test would replace /dev/null itself with a file (git writes a lock file and renames it).
    config = tmp_path_factory.mktemp("git-global") / "gitconfig"
    config.touch()
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(key, "Test")
    for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(key, "test@example.com")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "init.defaultBranch")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "main")
    yield


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    """A freshly scaffolded example monorepo (what `shipyard init` writes), as a git repository."""
    from shipyard.scaffold.init import InitOptions, init

    root = tmp_path / "acme"
    init(InitOptions(directory=root, org="acme", domain="acme.example.com"))
    return root
