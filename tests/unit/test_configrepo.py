"""One rule for finding the config repo, shared by promotions, previews and the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.configrepo.location import resolve_config_repo
from shipyard.errors import ShipyardError
from shipyard.spec.loader import parse_spec

SPEC = "org: acme\ndomain: acme.example.com\nregistry: {url: harbor.acme.example.com}\n"


def test_urls_and_scp_like_locations_are_used_as_given(tmp_path: Path) -> None:
    platform = parse_spec(SPEC)
    for location in (
        "https://git.example.com/acme/gitops-config.git",
        "git@github.com:acme/config.git",
        "ssh://git@host/acme/config.git",
    ):
        assert resolve_config_repo(platform, tmp_path, location) == location


def test_spec_paths_are_relative_to_the_spec_and_arguments_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ws" / ".shipyard" / "config.git").mkdir(parents=True)
    (tmp_path / "elsewhere" / "config.git").mkdir(parents=True)
    platform = parse_spec(SPEC + "repos: {config: .shipyard/config.git}\n")
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert resolve_config_repo(platform, tmp_path / "ws", None) == str(tmp_path / "ws" / ".shipyard" / "config.git")
    assert resolve_config_repo(platform, tmp_path / "ws", "config.git") == str(tmp_path / "elsewhere" / "config.git")


def test_missing_config_repo_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ShipyardError, match=r"no repos\.config"):
        resolve_config_repo(parse_spec(SPEC), tmp_path, None)
    with pytest.raises(ShipyardError, match="does not exist"):
        resolve_config_repo(parse_spec(SPEC), tmp_path, str(tmp_path / "nope.git"))
