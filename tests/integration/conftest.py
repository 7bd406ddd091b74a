"""Session fixtures shared by integration modules: real services started once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ci_parts import npm_file
from tests.npmparts import Verdaccio, start_verdaccio
from tests.realparts import need_binary
from tests.registryparts import RegistryServer, start_registry
from tests.standins.github import TEST_TOKEN, GitHubStandIn
from tests.standins.openapi import OpenAPI


@pytest.fixture(scope="session")
def registry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """Debian's docker-registry on a free loopback port, without auth; tests use their own repositories."""
    binary = need_binary("docker-registry", "install Debian's docker-registry (deps/apt-test.txt)")
    server = start_registry(binary, tmp_path_factory.mktemp("docker-registry"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def github_api() -> OpenAPI:
    """GitHub's own OpenAPI description (npm @octokit/openapi), read once per session."""
    return OpenAPI(npm_file("@octokit", "openapi", "generated", "api.github.com.json"))


@pytest.fixture
def github(github_api: OpenAPI) -> Iterator[GitHubStandIn]:
    """A stand-in for GitHub's REST API that checks every request against that description; no GitHub
    is reachable from here. A contract violation fails the test that caused it."""
    stand_in = GitHubStandIn(github_api, TEST_TOKEN)
    with stand_in.running():
        yield stand_in
    assert stand_in.violations == [], stand_in.violations


@pytest.fixture(scope="session")
def verdaccio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Verdaccio]:
    """A real Verdaccio (npm verdaccio@6.8.0) on a free loopback port, user ``ci`` logged in, no uplinks."""
    server = start_verdaccio(tmp_path_factory.mktemp("verdaccio"))
    yield server
    server.stop()
