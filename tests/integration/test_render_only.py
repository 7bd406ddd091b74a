"""One writer for every render target: `shipyard render --only TARGET`, and `shipyard ci render` as the alias of
`render --only tekton` (the same plan, the same --check, the same writer), run as users run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.render.targets import NAMES
from shipyard.render.writer import with_header

pytestmark = pytest.mark.integration


def _shipyard(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _same(acme: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `ci render ARGS` and `render --only tekton ARGS`; they must answer alike, byte for byte."""
    alias = _shipyard(acme, "ci", "render", *args)
    direct = _shipyard(acme, "render", "--only", "tekton", *args)
    assert (alias.returncode, alias.stdout, alias.stderr) == (direct.returncode, direct.stdout, direct.stderr), args
    return alias


@pytest.mark.parametrize("state", ["fresh", "written", "stale"])
def test_ci_render_is_render_only_tekton(acme: Path, state: str) -> None:
    if state != "fresh":
        assert _shipyard(acme, "render", "--only", "tekton").returncode == 0
    if state == "stale":
        (acme / "tekton" / "rbac.yaml").write_text("# edited by hand\n")
        (acme / "tekton" / "tasks" / "shipyard-retired.yaml").write_text(with_header("x.yaml", "kind: Task\n"))
    before = _snapshot(acme)
    plan = _same(acme, "--dry-run", "--json")
    assert plan.returncode == 0 and '"command": "shipyard render"' in plan.stdout
    check = _same(acme, "--check")
    assert check.returncode == (0 if state == "written" else 1)
    _same(acme, "--check", "--json")
    _same(acme, "--diff")
    assert _snapshot(acme) == before, "--check, --diff and --dry-run write nothing"
    if state == "stale":
        assert check.stdout.splitlines() == [
            "update  tekton/rbac.yaml",
            "delete  tekton/tasks/shipyard-retired.yaml",
        ]


def test_both_entry_points_write_the_same_files(acme: Path, tmp_path: Path) -> None:
    assert _shipyard(acme, "ci", "render").returncode == 0
    by_alias = _snapshot(acme / "tekton")
    assert len(by_alias) == 31
    (acme / "tekton" / "tasks" / "shipyard-retired.yaml").write_text(with_header("x.yaml", "kind: Task\n"))
    # The render cache only checks the files it wrote; a file added beside them is seen without it.
    assert _shipyard(acme, "ci", "render", SHIPYARD_NO_CACHE="1").returncode == 0
    assert _snapshot(acme / "tekton") == by_alias, "the alias removes the files render owns and no longer makes"
    for path in (acme / "tekton").rglob("*.yaml"):
        path.unlink()
    assert _shipyard(acme, "render", "--only", "tekton").returncode == 0
    assert _snapshot(acme / "tekton") == by_alias


def test_ci_render_app_dir_names_the_monorepo(acme: Path, tmp_path: Path) -> None:
    result = _shipyard(tmp_path, "ci", "render", "--app-dir", str(acme))
    assert result.returncode == 0, result.stderr
    assert (acme / "tekton" / "kustomization.yaml").is_file()
    assert _shipyard(tmp_path, "ci", "render", "--app-dir", str(acme), "--check").returncode == 0


def test_only_tekton_needs_no_config_repo(tmp_path: Path) -> None:
    from shipyard.scaffold.init import InitOptions, init

    app = tmp_path / "acme"
    init(InitOptions(directory=app, org="acme", domain="acme.example.com", registry="harbor.acme.example.com"))
    everything = _shipyard(app, "render")
    assert everything.returncode == 2 and "--out is required" in everything.stderr
    assert not (app / "tekton").exists()
    only = _shipyard(app, "render", "--only", "tekton")
    assert only.returncode == 0, only.stderr
    assert (app / "tekton" / "kustomization.yaml").is_file() and not (app / ".shipyard" / "gitops-config").exists()


def test_an_unknown_target_is_exit_2_naming_the_valid_ones(acme: Path) -> None:
    before = _snapshot(acme)
    result = _shipyard(acme, "render", "--only", "tekton", "--only", "helm")
    assert result.returncode == 2
    assert "unknown render target 'helm'" in result.stderr and ", ".join(NAMES) in result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(acme) == before


def test_only_touches_the_folders_of_the_targets_named(acme: Path, tmp_path: Path) -> None:
    out = tmp_path / "config"
    assert _shipyard(acme, "render", "--out", str(out)).returncode == 0
    stray = out / "argocd" / "applications" / "retired.yaml"
    stray.write_text(with_header("x.yaml", "kind: Application\n"))
    (out / "argocd" / "applications" / "dev.yaml").unlink()
    stage = out / "kargo" / "stages" / "dev.yaml"
    rendered_stage = stage.read_text()
    stage.write_text(rendered_stage + "# edit\n")
    kargo = _shipyard(acme, "render", "--out", str(out), "--only", "kargo", "--check")
    assert kargo.returncode == 1 and kargo.stdout.splitlines() == ["update  kargo/stages/dev.yaml"]
    assert _shipyard(acme, "render", "--out", str(out), "--only", "kargo").returncode == 0
    assert stage.read_text() == rendered_stage
    assert stray.exists() and not (out / "argocd" / "applications" / "dev.yaml").exists()
    assert _shipyard(acme, "render", "--out", str(out), "--check").stdout.splitlines()[:2] == [
        "create  argocd/applications/dev.yaml",
        "delete  argocd/applications/retired.yaml",
    ]


def _main(*args: str) -> int:
    from shipyard.cli.main import main

    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.mark.parametrize(
    "args",
    [("ci", "render"), ("render", "--only", "tekton"), ("render",)],
    ids=["ci-render", "render-only-tekton", "render"],
)
def test_a_failing_tekton_check_is_exit_2_and_writes_nothing(
    acme: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    # The real render always passes its checks; an unpinned image is the one defect planted here, in-process.
    from shipyard.render.tekton import images

    monkeypatch.setattr(images, "BUILDAH", "quay.io/buildah/stable")
    monkeypatch.chdir(acme)
    checkout = ".shipyard/gitops-config/"  # a full render clones the config repo first; it must stay empty

    def files() -> dict[str, bytes]:
        return {p: b for p, b in _snapshot(acme).items() if not p.startswith(checkout + ".git/")}

    before = files()
    assert _main(*args) == 2
    err = capsys.readouterr().err
    assert "the rendered tekton breaks Shipyard's checks" in err and "neither a tag nor a digest" in err
    assert files() == before
