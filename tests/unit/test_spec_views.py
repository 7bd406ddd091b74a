"""Spec views: cached by content, derived in a forked child on a miss, and right whatever the child did."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.cache import Cache
from shipyard.errors import SpecError
from shipyard.spec.views import start_view
from shipyard.workspace import affected_settings
from shipyard.workspace.affected_settings import AffectedSettings

SPEC = """\
apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: acme
domain: acme.example.com
registry:
  url: harbor.acme.example.com
workspace:
  globalFiles: [tsconfig.base.json]
"""
SOURCE = affected_settings.__file__


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "shipyard.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.mark.parametrize("beside", [True, False])
def test_a_miss_is_derived_and_cached_then_read_back(spec: Path, tmp_path: Path, beside: bool) -> None:
    cache = Cache(tmp_path / "cache")
    first = start_view(spec, AffectedSettings, cache, source=SOURCE, beside=beside)()
    assert first.rules.global_files == ("tsconfig.base.json",)
    assert first.image("api") == "harbor.acme.example.com/services/api"
    assert len(list((tmp_path / "cache" / AffectedSettings.kind).glob("*.json"))) == 1
    assert start_view(spec, AffectedSettings, cache, source=SOURCE)() == first


def test_when_the_child_cannot_write_this_process_derives_the_view(spec: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    cache = Cache(blocker / "cache")  # set, so a child is forked, but nothing can be written there
    assert start_view(spec, AffectedSettings, cache, source=SOURCE)().images == "harbor.acme.example.com/services"


def test_an_invalid_spec_raises_where_the_view_is_asked_for(spec: Path, tmp_path: Path) -> None:
    spec.write_text(SPEC.replace("globalFiles", "globalFile"), encoding="utf-8")
    pending = start_view(spec, AffectedSettings, Cache(tmp_path / "cache"), source=SOURCE)
    with pytest.raises(SpecError, match="globalFile"):
        pending()
    assert not list((tmp_path / "cache").glob("*/*.json"))
