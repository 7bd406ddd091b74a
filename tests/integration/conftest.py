"""Session fixtures shared by integration modules: real services started once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.realparts import need_binary
from tests.registryparts import RegistryServer, start_registry


@pytest.fixture(scope="session")
def registry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """Debian's docker-registry on a free loopback port, without auth; tests use their own repositories."""
    binary = need_binary("docker-registry", "install Debian's docker-registry (deps/apt-test.txt)")
    server = start_registry(binary, tmp_path_factory.mktemp("docker-registry"))
    yield server
    server.stop()
