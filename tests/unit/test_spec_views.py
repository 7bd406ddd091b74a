"""Spec views: cached by content and by every piece of code and library that shapes them, derived in a
forked child on a miss, and right whatever the child did."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.cache import Cache
from shipyard.errors import SpecError
from shipyard.spec import views
from shipyard.spec.views import start_view, view_key
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
SRC = Path(views.__file__).parents[2]


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "shipyard.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.mark.parametrize("beside", [True, False])
def test_a_miss_is_derived_and_cached_then_read_back(spec: Path, tmp_path: Path, beside: bool) -> None:
    cache = Cache(tmp_path / "cache")
    first = start_view(spec, AffectedSettings, cache, beside=beside)()
    assert first.rules.global_files == ("tsconfig.base.json",)
    assert first.image("api") == "harbor.acme.example.com/services/api"
    assert len(list((tmp_path / "cache" / AffectedSettings.kind).glob("*.json"))) == 1
    assert start_view(spec, AffectedSettings, cache)() == first


def test_when_the_child_cannot_write_this_process_derives_the_view(spec: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    cache = Cache(blocker / "cache")  # set, so a child is forked, but nothing can be written there
    assert start_view(spec, AffectedSettings, cache)().images == "harbor.acme.example.com/services"


def test_an_invalid_spec_raises_where_the_view_is_asked_for(spec: Path, tmp_path: Path) -> None:
    spec.write_text(SPEC.replace("globalFiles", "globalFile"), encoding="utf-8")
    pending = start_view(spec, AffectedSettings, Cache(tmp_path / "cache"))
    with pytest.raises(SpecError, match="globalFile"):
        pending()
    assert not list((tmp_path / "cache").glob("*/*.json"))


# Loads and validates a valid and an invalid spec, then names the Shipyard files and the libraries
# (top-level modules outside the standard library) that this imported.
_IMPORTS = """
import json, sys
before = set(sys.modules)
from shipyard.errors import SpecError
from shipyard.spec.loader import parse_spec
parse_spec(sys.argv[1], "shipyard.yaml")
try:
    parse_spec(sys.argv[1].replace("domain:", "domian:"), "shipyard.yaml")
except SpecError:
    pass
loaded = {name.split(".")[0] for name in set(sys.modules) - before}
print(json.dumps({
    "shipyard": sorted(m.__file__ for name, m in sys.modules.items() if name.split(".")[0] == "shipyard"),
    "libraries": sorted(
        name for name in loaded
        if name not in sys.stdlib_module_names and not name.startswith(("shipyard", "_sysconfigdata"))
    ),
}))
"""


def test_the_key_names_every_module_and_library_a_spec_load_imports() -> None:
    proc = subprocess.run([sys.executable, "-c", _IMPORTS, SPEC], capture_output=True, text=True, check=True)
    imported = json.loads(proc.stdout)
    assert set(imported["shipyard"]) <= set(views.MEANING), "add these to views.MEANING"
    assert set(imported["libraries"]) <= {module for module, _ in views.LIBRARIES}, "add these to views.LIBRARIES"
    assert "pydantic_core" in imported["libraries"] and "ruamel" in imported["libraries"]


# In a copy of the package: the view's key, then again after each file of the view's code is touched
# (a new modification time) and after it grows by a byte. Prints the files whose changes went unseen.
_TOUCH = """
import os, sys
from pathlib import Path
from shipyard.spec.views import MEANING, view_key
from shipyard.workspace import affected_settings
from shipyard.workspace.affected_settings import AffectedSettings
files = [*MEANING, affected_settings.__file__]
assert all(f.startswith(sys.argv[1]) for f in files), files
missed = []
for name in files:
    before = view_key(AffectedSettings, b"spec")
    info = os.stat(name)
    os.utime(name, ns=(info.st_atime_ns, info.st_mtime_ns + 10**9))
    touched = view_key(AffectedSettings, b"spec")
    os.utime(name, ns=(info.st_atime_ns, info.st_mtime_ns))
    with open(name, "a") as out:
        out.write(" ")
    os.utime(name, ns=(info.st_atime_ns, info.st_mtime_ns))
    grown = view_key(AffectedSettings, b"spec")
    missed += [Path(name).name] if before is None or before in (touched, grown) else []
print(" ".join(missed))
"""


def test_touching_or_editing_any_file_of_the_view_code_changes_the_key(tmp_path: Path) -> None:
    copy = tmp_path / "src"
    shutil.copytree(SRC / "shipyard", copy / "shipyard", ignore=shutil.ignore_patterns("__pycache__", "templates"))
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _TOUCH, str(copy)], capture_output=True, text=True, check=True, env=env, cwd=tmp_path
    )
    assert proc.stdout.split() == []


def test_another_library_version_is_another_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    (site / "fakelib").mkdir(parents=True)
    (site / "fakelib" / "__init__.py").write_text("")
    (site / "fakelib-1.0.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(views, "LIBRARIES", (*views.LIBRARIES, ("fakelib", "fakelib")))
    before = view_key(AffectedSettings, b"spec")
    (site / "fakelib-1.0.dist-info").rename(site / "fakelib-1.1.dist-info")
    after = view_key(AffectedSettings, b"spec")
    assert before is not None and after is not None and before != after


def test_without_a_library_version_nothing_is_cached(
    spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "bare").mkdir(parents=True)
    (site / "bare" / "__init__.py").write_text("")  # no metadata folder: its version cannot be told
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(views, "LIBRARIES", (*views.LIBRARIES, ("bare", "bare")))
    assert view_key(AffectedSettings, b"spec") is None
    cache = Cache(tmp_path / "cache")
    assert start_view(spec, AffectedSettings, cache)().images == "harbor.acme.example.com/services"
    assert not (tmp_path / "cache").exists()
