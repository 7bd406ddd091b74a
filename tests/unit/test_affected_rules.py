"""The pure half of affected: globs, diff parsing, root package.json fields, lockfile graphs."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from shipyard.workspace import lockfiles
from shipyard.workspace.affected import (
    Change,
    Rules,
    compile_globs,
    compute,
    parse_name_status,
    root_manifest_change,
)
from shipyard.workspace.discovery import Candidate, build_workspace
from shipyard.workspace.model import ProjectKind, Workspace

segment = st.text(alphabet="abcxyz-_.", min_size=1, max_size=6).filter(lambda s: s not in (".", ".."))
paths = st.lists(segment, min_size=1, max_size=5).map("/".join)


@given(paths)
def test_double_star_slash_matches_at_any_depth(path: str) -> None:
    name = path.rsplit("/", 1)[-1]
    assert compile_globs([f"**/{name}"])(path)
    assert compile_globs(["**"])(path)


@given(segment, paths)
def test_folder_globs_match_everything_below_and_nothing_beside(folder: str, rest: str) -> None:
    assert compile_globs([f"{folder}/**"])(f"{folder}/{rest}")
    assert compile_globs([f"{folder}/"])(f"{folder}/{rest}")
    assert not compile_globs([f"{folder}/**"])(f"{folder}x/{rest}")


@given(paths)
def test_single_star_stays_in_one_folder(path: str) -> None:
    depth = path.count("/")
    pattern = "/".join(["*"] * (depth + 1))
    assert compile_globs([pattern])(path)
    assert not compile_globs(["/".join(["*"] * (depth + 2))])(path)


def test_glob_details() -> None:
    match = compile_globs(["docs/**", "**/*.md", "LICENSE", "config/[ab]?.json", "x/[!z].txt"])
    assert match("docs/a/b.png") and match("README.md") and match("services/a/README.md") and match("LICENSE")
    assert match("config/a1.json") and not match("config/c1.json") and not match("config/a12.json")
    assert match("x/y.txt") and not match("x/z.txt")
    assert not match("services/LICENSE") and not match("src/docs/a")
    assert not compile_globs([])("anything")
    assert compile_globs(["a.b"])("a.b") and not compile_globs(["a.b"])("axb")


@given(st.lists(st.tuples(st.sampled_from("AMDTR"), paths, paths), max_size=8))
def test_name_status_round_trip(records: list[tuple[str, str, str]]) -> None:
    raw = ""
    expected = []
    for status, a, b in records:
        if status == "R":
            raw += f"R087\0{a}\0{b}\0"
            expected.append(Change("R", b, a))
        else:
            raw += f"{status}\0{a}\0"
            expected.append(Change(status, a))
    assert parse_name_status(raw) == expected


def test_root_manifest_fields() -> None:
    base = {"name": "m", "scripts": {"a": "x"}, "workspaces": ["packages/*"], "packageManager": "npm@10.9.2"}
    same_but_scripts = {**base, "scripts": {"a": "y"}, "version": "1.0.0"}
    assert root_manifest_change(json.dumps(base), json.dumps(same_but_scripts)) == (
        False,
        "package.json: only root-local field(s) changed (scripts, version)",
    )
    assert root_manifest_change(json.dumps(base), json.dumps(base, indent=4))[0] is False
    wide = {**base, "overrides": {"x": "1"}, "packageManager": "npm@10.9.3"}
    assert root_manifest_change(json.dumps(base), json.dumps(wide)) == (
        True,
        "package.json: workspace-wide field(s) changed: overrides, packageManager",
    )
    assert root_manifest_change(json.dumps(base), "{not json")[0] is True
    assert root_manifest_change(None, json.dumps(base)) == (True, "package.json was added")


def _workspace() -> Workspace:
    def pkg(name: str, deps: dict[str, str] | None = None) -> Candidate:
        manifest = {"name": f"@a/{name}", "dependencies": deps or {}}
        return Candidate(ProjectKind.package, name, json.dumps(manifest), None)

    return build_workspace(
        Path("/nowhere"),
        [
            pkg("base"),
            pkg("mid", {"@a/base": "*"}),
            Candidate(ProjectKind.service, "svc", json.dumps({"dependencies": {"@a/mid": "*"}}), "FROM x\n"),
            Candidate(ProjectKind.service, "copier", None, "FROM x\nCOPY packages/base/dist /b\n"),
        ],
    )


def test_compute_is_pure_and_explains() -> None:
    workspace = _workspace()
    result = compute(workspace, [Change("M", "packages/base/src/a.ts")], Rules(), {})
    assert result.services == ("copier", "svc") and result.packages == ("base", "mid")
    assert result.reasons["svc"].path == ("svc", "mid", "base")
    assert result.reasons["copier"].via == ("services/copier/Dockerfile:2",)
    assert result.to_json(lambda s: f"r/{s}")["services"] == [
        {"name": "copier", "image": "r/copier"},
        {"name": "svc", "image": "r/svc"},
    ]


def _npm(packages: dict[str, object]) -> str:
    return json.dumps({"name": "r", "lockfileVersion": 3, "requires": True, "packages": packages})


# A lockfile whose entries form chains: importer i depends on external e<i>, which depends on e<i+1>.
@given(st.integers(min_value=1, max_value=6), st.data())
def test_changing_an_entry_affects_exactly_the_importers_reaching_it(width: int, data: st.DataObject) -> None:
    packages: dict[str, object] = {"": {"name": "r"}}
    for i in range(width):
        packages[f"packages/p{i}"] = {"dependencies": {f"e{i}": "*"}}
        packages[f"node_modules/e{i}"] = {
            "version": "1.0.0",
            **({"dependencies": {f"e{i + 1}": "*"}} if i + 1 < width else {}),
        }
    target = data.draw(st.integers(min_value=0, max_value=width - 1))
    bumped = json.loads(_npm(packages))
    bumped["packages"][f"node_modules/e{target}"]["version"] = "1.0.1"
    outcome = lockfiles.compare("package-lock.json", _npm(packages), json.dumps(bumped))
    assert outcome.everything is None
    assert sorted(outcome.importers) == [f"packages/p{i}" for i in range(target + 1)]
    assert lockfiles.compare("package-lock.json", _npm(packages), _npm(packages)) == lockfiles.LockfileChange()


def test_npm_lockfile_formats_we_cannot_compare_affect_everything() -> None:
    v1 = json.dumps({"lockfileVersion": 1, "dependencies": {}})
    assert "lockfileVersion 1" in (lockfiles.compare("package-lock.json", v1, v1 + " ").everything or "")
    assert "not valid JSON" in (lockfiles.compare("package-lock.json", "{", "{}").everything or "")
    assert lockfiles.compare("package-lock.json", None, _npm({})).everything == "package-lock.json was added"
    moved = _npm({"": {"name": "r"}})
    upgraded = lockfiles.compare(
        "package-lock.json", moved.replace('"lockfileVersion": 3', '"lockfileVersion": 2'), moved
    )
    assert upgraded.everything == "package-lock.json: workspace-wide settings changed"


def test_pnpm_v6_keys() -> None:
    base = """\
lockfileVersion: '6.0'
importers:
  .: {}
  packages/a:
    dependencies:
      foo:
        specifier: ^1.0.0
        version: 1.0.0
  packages/b:
    dependencies:
      bar:
        specifier: ^2.0.0
        version: 2.0.0(foo@1.0.0)
packages:
  /foo@1.0.0:
    resolution: {integrity: sha512-A}
  /bar@2.0.0(foo@1.0.0):
    resolution: {integrity: sha512-B}
    dependencies:
      baz: 3.0.0
  /baz@3.0.0:
    resolution: {integrity: sha512-C}
"""
    outcome = lockfiles.compare("pnpm-lock.yaml", base, base.replace("sha512-C", "sha512-D"))
    assert outcome.everything is None and list(outcome.importers) == ["packages/b"]
    outcome = lockfiles.compare("pnpm-lock.yaml", base, base.replace("'6.0'", "'5.4'"))
    assert outcome.everything is not None and re.search("5.4", outcome.everything)


def test_global_files_win_over_ignore_and_other_lockfiles_mark_everything() -> None:
    workspace = _workspace()
    rules = Rules(global_files=("docs/shared.md",), ignore=("docs/**", "**/*.md"))
    assert compute(workspace, [Change("M", "docs/shared.md")], rules, {}).all
    assert not compute(workspace, [Change("M", "docs/other.md")], rules, {}).all
    result = compute(workspace, [Change("M", "yarn.lock")], rules, {})
    assert result.all and result.services == ("copier", "svc") and result.packages == ("base", "mid")
    assert (
        result.reasons["svc"].text()
        == "everything: yarn.lock changed (this lockfile format is not compared per package)"
    )


def test_removed_and_changed_together() -> None:
    workspace = _workspace()
    changes = [
        Change("D", "packages/gone/package.json"),
        Change("D", "packages/gone/src/a.ts"),
        Change("M", "packages/mid/x"),
    ]
    result = compute(workspace, changes, Rules(), {})
    assert result.removed_packages == ("gone",) and result.unowned == ()
    assert result.packages == ("mid",) and result.services == ("svc",)
    assert result.to_json(str)["removed"] == {"services": [], "packages": ["gone"]}
    assert result.to_json(str)["reasons"]["gone"] == "removed: packages/gone/package.json deleted"
