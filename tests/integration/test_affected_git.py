"""`shipyard affected` on real git repositories: the scaffolded monorepo, changed the way people change it."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.git import Git
from shipyard.workspace.affected import AffectedError, Rules, find_affected

pytestmark = pytest.mark.integration

RULES = Rules(global_files=("tsconfig.base.json",), ignore=("docs/**", "**/*.md", "LICENSE"))
ALL_SERVICES = ("notification-service", "payment-service", "user-service")
ALL_PACKAGES = ("api-client", "common-types", "utils")


def commit(repo: Path, message: str, files: dict[str, str | None]) -> str:
    """Write (or delete, for None) files and commit them."""
    for relative, text in files.items():
        path = repo / relative
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    sha = Git(repo).commit(message)
    assert sha is not None
    return sha


def feature(repo: Path, name: str = "feature/x") -> Git:
    git = Git(repo)
    git.run("checkout", "-q", "-b", name, "develop")
    return git


def append(repo: Path, relative: str, line: str = "// changed\n") -> str:
    return (repo / relative).read_text(encoding="utf-8") + line


def shipyard(repo: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard", *args], cwd=repo, capture_output=True, text=True, check=False
    )
    assert proc.returncode == expect, proc.stdout + proc.stderr
    return proc


def test_empty_range_affects_nothing(acme: Path) -> None:
    result, span = find_affected(acme, RULES, "develop", "develop")
    assert (result.services, result.packages, result.all) == ((), (), False)
    # HEAD behind the base: nothing on HEAD that the base lacks.
    feature(acme)
    commit(acme, "ahead", {"services/user-service/src/server.js": append(acme, "services/user-service/src/server.js")})
    result, span = find_affected(acme, RULES, "feature/x", "develop")
    assert span.merge_base == span.head
    assert result.services == () and result.packages == ()


def test_change_two_levels_below_a_service_reaches_it_with_the_path(acme: Path) -> None:
    feature(acme)
    commit(acme, "utils", {"packages/utils/src/index.ts": append(acme, "packages/utils/src/index.ts")})
    result, _ = find_affected(acme, RULES, "develop")
    assert result.services == ("payment-service", "user-service")
    assert result.packages == ("api-client", "utils")
    user = result.reasons["user-service"]
    assert user.kind == "dependency"
    assert user.path == ("user-service", "api-client", "utils")
    assert user.via == (
        "services/user-service/package.json dependencies",
        "packages/api-client/package.json dependencies",
    )
    assert result.reasons["utils"].files == ("packages/utils/src/index.ts",)


def test_dockerfile_only_edge_counts(acme: Path) -> None:
    # notification-service is Python: it has no package.json; only its Dockerfile copies common-types.
    feature(acme)
    commit(acme, "types", {"packages/common-types/src/index.ts": append(acme, "packages/common-types/src/index.ts")})
    result, _ = find_affected(acme, RULES, "develop")
    assert result.services == ALL_SERVICES
    assert result.packages == ALL_PACKAGES
    assert not result.all
    reason = result.reasons["notification-service"]
    assert reason.path == ("notification-service", "common-types")
    assert reason.via == ("services/notification-service/Dockerfile:6",)


def test_merge_commits_count_only_what_the_branch_brings(acme: Path) -> None:
    git = feature(acme)
    commit(
        acme,
        "notify",
        {"services/notification-service/src/app.py": append(acme, "services/notification-service/src/app.py", "# x\n")},
    )
    git.run("checkout", "-q", "develop")
    commit(acme, "users", {"services/user-service/src/server.js": append(acme, "services/user-service/src/server.js")})
    git.run("checkout", "-q", "feature/x")
    git.run("merge", "-q", "--no-edit", "develop")
    result, _ = find_affected(acme, RULES, "develop")
    assert result.services == ("notification-service",) and result.packages == ()
    # And a no-fast-forward merge of the feature into develop brings exactly the feature's change.
    git.run("checkout", "-q", "develop")
    before = git.rev_parse("HEAD")
    git.run("merge", "-q", "--no-ff", "--no-edit", "feature/x")
    result, _ = find_affected(acme, RULES, before, "develop")
    assert result.services == ("notification-service",)


def test_renamed_project_is_removed_under_its_old_name(acme: Path) -> None:
    git = feature(acme)
    git.run("mv", "services/payment-service", "services/billing-service")
    git.commit("rename payment-service")
    result, _ = find_affected(acme, RULES, "develop")
    assert result.services == ("billing-service",)
    assert result.removed_services == ("payment-service",)
    assert result.reasons["payment-service"].text() == "removed: moved to services/billing-service/Dockerfile"
    assert result.packages == ()


def test_moving_a_file_between_projects_affects_both(acme: Path) -> None:
    git = feature(acme)
    git.run("mv", "packages/utils/src/index.ts", "packages/api-client/src/utils.ts")
    git.commit("move a file")
    result, _ = find_affected(acme, RULES, "develop")
    assert "utils" in result.reasons and result.reasons["utils"].kind == "changed"
    assert result.reasons["api-client"].kind == "changed"
    assert result.removed_packages == ()


def test_deleted_package_is_listed_as_removed(acme: Path) -> None:
    git = feature(acme)
    manifest = json.loads((acme / "services/user-service/package.json").read_text())
    del manifest["dependencies"]["@acme/api-client"]
    (acme / "services/user-service/package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    git.run("rm", "-r", "-q", "packages/api-client")
    git.commit("drop api-client")
    result, _ = find_affected(acme, RULES, "develop")
    assert result.removed_packages == ("api-client",)
    assert result.reasons["api-client"].text() == "removed: packages/api-client/package.json deleted"
    assert result.services == ("user-service",)
    assert result.packages == ()
    assert result.unowned == ()  # the removed project's files are not "outside every project"


def test_deleting_a_dockerfile_removes_the_service(acme: Path) -> None:
    feature(acme)
    commit(acme, "no image", {"services/notification-service/Dockerfile": None})
    result, _ = find_affected(acme, RULES, "develop")
    assert result.removed_services == ("notification-service",)
    assert result.services == ()


def test_global_files_mark_everything(acme: Path) -> None:
    feature(acme)
    commit(acme, "spec", {"shipyard.yaml": append(acme, "shipyard.yaml", "# note\n")})
    result, _ = find_affected(acme, RULES, "develop")
    assert result.all and result.services == ALL_SERVICES and result.packages == ALL_PACKAGES
    assert result.reasons["utils"].text() == "everything: shipyard.yaml changed"
    base = Git(acme).rev_parse("HEAD")
    commit(acme, "tsconfig", {"tsconfig.base.json": "{}\n"})
    result, _ = find_affected(acme, RULES, base)
    assert result.all
    assert "tsconfig.base.json changed (a global file" in result.reasons["api-client"].text()


@pytest.mark.parametrize(
    ("field", "value", "everything"),
    [
        ("scripts", {"build": "echo"}, False),
        ("description", "the acme monorepo", False),
        ("workspaces", ["packages/*", "services/*", "tools/*"], True),
        ("packageManager", "npm@10.9.3", True),
        ("overrides", {"lodash": "4.17.21"}, True),
        ("devDependencies", {"typescript": "^5.7.0"}, True),
    ],
)
def test_root_package_json_is_judged_field_by_field(acme: Path, field: str, value: object, everything: bool) -> None:
    feature(acme)
    manifest = json.loads((acme / "package.json").read_text())
    manifest[field] = value
    commit(acme, f"root {field}", {"package.json": json.dumps(manifest, indent=2) + "\n"})
    result, _ = find_affected(acme, RULES, "develop")
    assert result.all is everything
    if everything:
        assert field in result.reasons["utils"].text()
    else:
        assert result.services == () and result.packages == ()
        assert any(field in note for note in result.notes)


def test_docs_and_ignored_files_affect_nothing(acme: Path) -> None:
    feature(acme)
    commit(
        acme,
        "docs",
        {
            "docs/architecture.md": append(acme, "docs/architecture.md", "more\n"),
            "docs/diagram.svg": "<svg/>\n",
            "services/user-service/README.md": "# users\n",
            "Makefile": "all:\n",
        },
    )
    result, _ = find_affected(acme, RULES, "develop")
    assert result.services == () and result.packages == () and not result.all
    assert result.ignored == ("docs/architecture.md", "docs/diagram.svg", "services/user-service/README.md")
    assert result.unowned == ("Makefile",)


def _npm_lock(lodash: str = "4.17.21", isnumber: str = "7.0.0", root_ts: str = "5.6.3") -> str:
    packages = {
        "": {
            "name": "acme-monorepo",
            "workspaces": ["packages/*", "services/*"],
            "devDependencies": {"typescript": "^5.6.0"},
        },
        "node_modules/typescript": {"version": root_ts},
        "node_modules/@acme/utils": {"resolved": "packages/utils", "link": True},
        "node_modules/lodash": {"version": lodash},
        "node_modules/is-odd": {"version": "3.0.1", "dependencies": {"is-number": "^6.0.0"}},
        "node_modules/is-odd/node_modules/is-number": {"version": "6.0.0"},
        "node_modules/is-number": {"version": isnumber},
        "packages/utils": {"name": "@acme/utils", "dependencies": {"lodash": "^4.17.0", "@acme/common-types": "*"}},
        "packages/api-client": {"name": "@acme/api-client", "dependencies": {"is-odd": "^3.0.0"}},
        "packages/common-types": {"name": "@acme/common-types", "dependencies": {"is-number": "^7.0.0"}},
    }
    return json.dumps({"name": "acme-monorepo", "lockfileVersion": 3, "requires": True, "packages": packages}, indent=2)


@pytest.mark.parametrize(
    ("change", "services", "packages", "everything"),
    [
        # lodash is utils' own: utils and what depends on it (api-client, both node services).
        ({"lodash": "4.17.22"}, ("payment-service", "user-service"), ("api-client", "utils"), False),
        # the hoisted is-number 7 is common-types' (is-odd uses its nested 6): common-types and everyone.
        ({"isnumber": "7.0.1"}, ALL_SERVICES, ALL_PACKAGES, False),
        # typescript is the root's: workspace-wide tooling.
        ({"root_ts": "5.7.2"}, ALL_SERVICES, ALL_PACKAGES, True),
    ],
)
def test_npm_lockfile_is_compared_per_package(
    acme: Path, change: dict[str, str], services: tuple[str, ...], packages: tuple[str, ...], everything: bool
) -> None:
    commit(acme, "lockfile", {"package-lock.json": _npm_lock()})
    Git(acme).run("branch", "-f", "develop", "HEAD")
    feature(acme)
    commit(acme, "bump", {"package-lock.json": _npm_lock(**change)})
    result, _ = find_affected(acme, RULES, "develop")
    assert (result.services, result.packages, result.all) == (services, packages, everything)
    if not everything:
        owner, entry = ("utils", "lodash") if "lodash" in change else ("common-types", "is-number")
        assert result.reasons[owner].text() == f"package-lock.json: its dependency node_modules/{entry} changed"


def test_npm_lockfile_nested_entry_affects_only_its_user(acme: Path) -> None:
    commit(acme, "lockfile", {"package-lock.json": _npm_lock()})
    Git(acme).run("branch", "-f", "develop", "HEAD")
    feature(acme)
    bumped = json.loads(_npm_lock())
    bumped["packages"]["node_modules/is-odd/node_modules/is-number"]["version"] = "6.0.1"
    commit(acme, "bump nested", {"package-lock.json": json.dumps(bumped, indent=2)})
    result, _ = find_affected(acme, RULES, "develop")
    assert result.packages == ("api-client",)
    assert result.services == ("user-service",)
    assert result.reasons["api-client"].text() == (
        "package-lock.json: its dependency node_modules/is-odd/node_modules/is-number changed"
    )


PNPM_LOCK = """\
lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    devDependencies:
      typescript:
        specifier: ^5.6.0
        version: 5.6.3

  packages/utils:
    dependencies:
      '@acme/common-types':
        specifier: workspace:*
        version: link:../common-types
      chalk:
        specifier: ^5.0.0
        version: 5.3.0

  packages/common-types: {}

  packages/api-client:
    dependencies:
      debug:
        specifier: ^4.0.0
        version: 4.3.7

packages:

  chalk@5.3.0:
    resolution: {integrity: sha512-chalk}

  debug@4.3.7:
    resolution: {integrity: sha512-debug}

  ms@MS:
    resolution: {integrity: sha512-ms}

  typescript@5.6.3:
    resolution: {integrity: sha512-ts}

snapshots:

  chalk@5.3.0: {}

  debug@4.3.7:
    dependencies:
      ms: MS

  ms@MS: {}

  typescript@5.6.3: {}
"""


def test_pnpm_lockfile_is_compared_per_package(acme: Path) -> None:
    commit(acme, "lockfile", {"pnpm-lock.yaml": PNPM_LOCK.replace("MS", "2.1.3")})
    Git(acme).run("branch", "-f", "develop", "HEAD")
    feature(acme)
    commit(acme, "bump ms", {"pnpm-lock.yaml": PNPM_LOCK.replace("MS", "2.1.4")})
    result, _ = find_affected(acme, RULES, "develop")
    assert result.packages == ("api-client",) and result.services == ("user-service",)
    assert result.reasons["api-client"].text() == "pnpm-lock.yaml: its dependency debug@4.3.7 changed"
    base = Git(acme).rev_parse("HEAD")
    commit(acme, "settings", {"pnpm-lock.yaml": PNPM_LOCK.replace("MS", "2.1.4").replace("true", "false")})
    result, _ = find_affected(acme, RULES, base)
    assert result.all


def _clone(source: Path, target: Path, *args: str) -> Path:
    subprocess.run(["git", "clone", "-q", *args, f"file://{source}", str(target)], check=True)
    return target


def _run_hint(repo: Path, message: str) -> None:
    hint = message.split("then run again: ", 1)[1].strip()
    for command in hint.split(" && "):
        subprocess.run(shlex.split(command), cwd=repo, check=True, capture_output=True)


def test_shallow_clone_without_the_base_names_the_fetch(acme: Path, tmp_path: Path) -> None:
    git = feature(acme)
    for n in range(3):
        commit(
            acme, f"c{n}", {"services/user-service/src/server.js": append(acme, "services/user-service/src/server.js")}
        )
    git.run("checkout", "-q", "develop")
    commit(acme, "develop moves", {"packages/utils/src/index.ts": append(acme, "packages/utils/src/index.ts")})
    clone = _clone(acme, tmp_path / "ci", "--depth", "1", "--single-branch", "--branch", "feature/x")
    with pytest.raises(AffectedError) as missing:
        find_affected(clone, RULES, "origin/develop")
    text = str(missing.value)
    assert "'origin/develop': no such commit in this shallow clone" in text
    assert "git fetch --unshallow origin +refs/heads/develop:refs/remotes/origin/develop" in text
    _run_hint(clone, text)
    result, _ = find_affected(clone, RULES, "origin/develop")
    assert result.services == ("user-service",) and result.packages == ()


def test_shallow_clone_cut_before_the_merge_base_names_the_fetch(acme: Path, tmp_path: Path) -> None:
    git = feature(acme)
    for n in range(3):
        commit(
            acme, f"c{n}", {"services/user-service/src/server.js": append(acme, "services/user-service/src/server.js")}
        )
    git.run("checkout", "-q", "develop")
    commit(acme, "develop moves", {"packages/utils/src/index.ts": append(acme, "packages/utils/src/index.ts")})
    clone = _clone(acme, tmp_path / "ci", "--depth", "1", "--no-single-branch")
    Git(clone).run("checkout", "-q", "feature/x")
    with pytest.raises(AffectedError) as cut:
        find_affected(clone, RULES, "origin/develop")
    text = str(cut.value)
    assert "shallow clone" in text and "cut off" in text
    assert "git fetch --unshallow origin +refs/heads/develop:refs/remotes/origin/develop" in text
    _run_hint(clone, text)
    result, _ = find_affected(clone, RULES, "origin/develop")
    assert result.services == ("user-service",)


def test_missing_ref_in_a_full_clone_names_the_fetch(acme: Path, tmp_path: Path) -> None:
    feature(acme)
    commit(acme, "c", {"services/user-service/src/server.js": append(acme, "services/user-service/src/server.js")})
    clone = _clone(acme, tmp_path / "full", "--single-branch", "--branch", "feature/x")
    with pytest.raises(AffectedError) as missing:
        find_affected(clone, RULES, "origin/develop")
    assert "git fetch origin +refs/heads/develop:refs/remotes/origin/develop" in str(missing.value)
    with pytest.raises(AffectedError) as local:
        find_affected(clone, RULES, "release/v1.0.0")
    assert "git fetch origin +refs/heads/release/v1.0.0:refs/heads/release/v1.0.0" in str(local.value)


def test_cli_json_matrix_explain_and_exit_codes(acme: Path) -> None:
    feature(acme)
    commit(acme, "types", {"packages/common-types/src/index.ts": append(acme, "packages/common-types/src/index.ts")})
    data = json.loads(shipyard(acme, "affected", "--base", "develop", "--json").stdout)
    assert list(data) == ["all", "packages", "reasons", "removed", "services"]
    assert data["services"][0] == {"image": "localhost/services/notification-service", "name": "notification-service"}
    assert [p["name"] for p in data["packages"]] == list(ALL_PACKAGES)
    assert data["removed"] == {"packages": [], "services": []}
    assert data["reasons"]["notification-service"] == "depends on common-types: notification-service -> common-types"
    matrix = shipyard(acme, "affected", "--base", "develop", "--format", "matrix").stdout
    assert json.loads(matrix) == list(ALL_SERVICES)
    explain = shipyard(acme, "affected", "--base", "develop", "--explain").stdout
    assert "notification-service -> common-types  (services/notification-service/Dockerfile:6)" in explain
    assert "common-types changed: packages/common-types/src/index.ts" in explain
    failed = shipyard(acme, "affected", "--base", "origin/nope", expect=2)
    assert "Traceback" not in failed.stderr and "origin/nope" in failed.stderr
    unknown = shipyard(acme, "affected", "--base", "develop", "--format", "yaml", expect=2)
    assert "Invalid value for '--format'" in unknown.stderr and "Traceback" not in unknown.stderr


def test_defaults_to_main_without_a_remote(acme: Path) -> None:
    feature(acme)
    commit(acme, "c", {"services/user-service/src/server.js": append(acme, "services/user-service/src/server.js")})
    matrix = shipyard(acme, "affected", "--format", "matrix", expect=0).stdout
    assert json.loads(matrix) == ["user-service"]


def test_workspace_in_a_subfolder_of_the_repository(tmp_path: Path) -> None:
    from shipyard.scaffold.init import InitOptions, init

    outer = tmp_path / "outer"
    init(InitOptions(directory=outer / "platform", org="acme", domain="acme.example.com"))
    nested = outer / "platform"
    Git(outer).run("init", "-q", "--initial-branch=main")
    (outer / "README.md").write_text("# outer\n")
    subprocess.run(["rm", "-rf", str(nested / ".git")], check=True)
    Git(outer).commit("outer repository holding the platform")
    base = Git(outer).rev_parse("HEAD")
    source = nested / "packages/utils/src/index.ts"
    source.write_text(source.read_text() + "// x\n")
    (outer / "elsewhere.txt").write_text("not in the workspace\n")
    Git(outer).commit("change utils")
    result, _ = find_affected(nested, RULES, base)
    assert result.packages == ("api-client", "utils")
    assert result.services == ("payment-service", "user-service")
    assert result.unowned == ()


def test_relative_base_in_a_depth_one_clone_names_the_fetch(acme: Path, tmp_path: Path) -> None:
    # CI on a push event: `--base HEAD~1` in a clone made with --depth 1.
    feature(acme)
    commit(acme, "c", {"packages/utils/src/index.ts": append(acme, "packages/utils/src/index.ts")})
    clone = _clone(acme, tmp_path / "push", "--depth", "1", "--branch", "feature/x")
    with pytest.raises(AffectedError) as missing:
        find_affected(clone, RULES, "HEAD~1")
    assert "then run again: git fetch --unshallow origin" in str(missing.value)
    _run_hint(clone, str(missing.value))
    result, _ = find_affected(clone, RULES, "HEAD~1")
    assert result.packages == ("api-client", "utils")
    # In a full clone, a revision before the first commit cannot be fetched: say so.
    root = Git(acme).run("rev-list", "--max-parents=0", "HEAD").strip()
    with pytest.raises(AffectedError) as before_first:
        find_affected(_clone(acme, tmp_path / "full", "--branch", "feature/x"), RULES, f"{root}~1")
    assert "the history starts later" in str(before_first.value)
