"""`shipyard affected` with its cache: the same answers as without it, and no model loaded on a hit.

Real git repositories; the cache lives in the repository's git folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.cache import Cache
from shipyard.git import Git
from shipyard.workspace.affected import Rules, find_affected
from shipyard.workspace.discovery import discover
from shipyard.workspace.gittree import CACHE_KIND
from shipyard.workspace.model import Workspace

pytestmark = pytest.mark.integration

# Runs the CLI in-process, then says on stderr whether the spec model (and so pydantic) was loaded.
PROBE = """
import sys
from shipyard.cli.main import main
sys.argv = ["shipyard", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
print("MODEL-LOADED" if "shipyard.spec.model" in sys.modules else "MODEL-NOT-LOADED", file=sys.stderr)
sys.exit(code)
"""


def affected(repo: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "affected", *args], cwd=repo, capture_output=True, text=True, check=False
    )
    assert proc.returncode == expect, proc.stdout + proc.stderr
    return proc


def change(repo: Path, relative: str, text: str, message: str) -> None:
    path = repo / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    assert Git(repo).commit(message) is not None


@pytest.fixture
def feature(acme: Path) -> Path:
    Git(acme).run("checkout", "-q", "-b", "feature/x", "develop")
    utils = acme / "packages" / "utils" / "src" / "index.ts"
    change(acme, "packages/utils/src/index.ts", utils.read_text(encoding="utf-8") + "// x\n", "change utils")
    return acme


def settings_entries(repo: Path) -> list[Path]:
    return list((repo / ".git" / "shipyard" / "cache").glob("affected-settings/*.json"))


def test_a_second_run_reads_the_cache_and_answers_the_same(feature: Path) -> None:
    first = affected(feature, "--base", "develop", "--json")
    # The miss is validated by a forked child that writes the cache; this process never loads the model.
    assert "MODEL-NOT-LOADED" in first.stderr and len(settings_entries(feature)) == 1
    second = affected(feature, "--base", "develop", "--json")
    assert "MODEL-NOT-LOADED" in second.stderr, "a hit must not load pydantic or the spec model"
    assert second.stdout == first.stdout
    answer = json.loads(second.stdout)
    assert "utils" in {p["name"] for p in answer["packages"]}
    assert {s["image"] for s in answer["services"]} >= {"localhost/services/user-service"}
    folders = {p.parent.name for p in (feature / ".git" / "shipyard" / "cache").glob("*/*.json")}
    assert folders == {"affected-settings", CACHE_KIND}


def test_without_the_cache_the_spec_is_validated_here_with_the_same_answer(
    feature: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = affected(feature, "--base", "develop", "--json")
    monkeypatch.setenv("SHIPYARD_NO_CACHE", "1")
    uncached = affected(feature, "--base", "develop", "--json")
    assert "MODEL-LOADED" in uncached.stderr and uncached.stdout == cached.stdout


def test_an_edited_spec_is_validated_again_and_its_rules_apply(feature: Path) -> None:
    affected(feature, "--base", "develop", "--json")
    spec = feature / "shipyard.yaml"
    spec.write_text(
        spec.read_text(encoding="utf-8") + "workspace:\n  ignore: ['packages/utils/src/**']\n", encoding="utf-8"
    )
    edited = affected(feature, "--base", "develop", "--json")
    assert len(settings_entries(feature)) == 2, "new content, new entry"
    assert json.loads(edited.stdout)["packages"] == []
    again = affected(feature, "--base", "develop", "--json")
    assert "MODEL-NOT-LOADED" in again.stderr and again.stdout == edited.stdout
    assert len(settings_entries(feature)) == 2


def test_an_invalid_spec_is_never_cached(feature: Path) -> None:
    spec = feature / "shipyard.yaml"
    spec.write_text(spec.read_text(encoding="utf-8") + "workspace:\n  ignroe: []\n", encoding="utf-8")
    for _ in range(2):
        proc = affected(feature, "--base", "develop", "--json", expect=2)
        assert "ignroe" in proc.stderr and "shipyard.yaml:" in proc.stderr
        assert "MODEL-LOADED" in proc.stderr, "the error comes from this process, not the child"
    assert not settings_entries(feature)


def test_a_spec_error_is_reported_before_a_git_error(feature: Path) -> None:
    spec = feature / "shipyard.yaml"
    spec.write_text(spec.read_text(encoding="utf-8") + "workspace:\n  ignroe: []\n", encoding="utf-8")
    proc = affected(feature, "--base", "no-such-branch", "--json", expect=2)
    assert "ignroe" in proc.stderr and "no-such-branch" not in proc.stderr


def test_the_cached_workspace_follows_every_commit(feature: Path) -> None:
    rules = Rules(ignore=("docs/**",))
    cache = Cache.for_repository(feature)
    for step in range(3):
        with_cache = find_affected(feature, rules, "develop", "HEAD", cache)[0]
        assert with_cache == find_affected(feature, rules, "develop", "HEAD", cache)[0]
        assert with_cache == find_affected(feature, rules, "develop", "HEAD")[0]
        # A new package depending on utils: the graph changes, so the cached one must not be reused.
        manifest = {"name": f"@acme/extra-{step}", "version": "1.0.0", "dependencies": {"@acme/utils": "*"}}
        change(feature, f"packages/extra-{step}/package.json", json.dumps(manifest), f"extra {step}")
        assert f"extra-{step}" in find_affected(feature, rules, "develop", "HEAD", cache)[0].packages


def test_a_cached_workspace_of_another_shape_is_rebuilt(feature: Path) -> None:
    cache = Cache.for_repository(feature)
    expected = find_affected(feature, Rules(), "develop", "HEAD", cache)[0]
    assert cache.folder is not None
    for entry in (cache.folder / CACHE_KIND).glob("*.json"):
        entry.write_text(json.dumps({"projects": [["x", "not-a-kind", "p", "l", None, None]], "edges": []}))
    assert find_affected(feature, Rules(), "develop", "HEAD", cache)[0] == expected


def test_workspace_json_round_trip(acme: Path) -> None:
    workspace = discover(acme)
    again = Workspace.from_json(workspace.root, json.loads(json.dumps(workspace.to_json())))
    assert again.projects == workspace.projects and again.edges == workspace.edges
    assert again.dependents("utils") == workspace.dependents("utils")
