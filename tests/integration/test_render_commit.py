"""The embedded default: the config repo is a local bare repository; `render --commit` pushes the
render to its main through a checkout, and re-running changes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.git import Git

pytestmark = pytest.mark.integration


def _shipyard(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_render_commit_into_the_local_config_repo(acme: Path) -> None:
    bare = Git(acme / ".shipyard" / "gitops-config.git")
    first = _shipyard(acme, "render", "--commit")
    assert first.returncode == 0, first.stderr
    assert "pushed" in first.stderr
    files = bare.run("ls-tree", "-r", "--name-only", "main").split()
    assert "overlays/production/images/kustomization.yaml" in files and "kargo/stages/uat.yaml" in files
    assert len(bare.run("rev-list", "main").split()) == 1

    again = _shipyard(acme, "render", "--commit")
    assert again.returncode == 0 and "already up to date" in again.stderr
    assert len(bare.run("rev-list", "main").split()) == 1

    spec = acme / "shipyard.yaml"
    spec.write_text(spec.read_text() + "services:\n  user-service: {port: 9090}\n")
    assert _shipyard(acme, "render", "--commit").returncode == 0
    assert len(bare.run("rev-list", "main").split()) == 2
    assert "9090" in bare.run("show", "main:base/user-service/deployment.yaml")
    # The checkout the commit went through is the default --out, so --check sees it up to date.
    assert _shipyard(acme, "render", "--check").returncode == 0


def test_render_without_out_for_a_remote_config_repo_says_what_to_pass(tmp_path: Path) -> None:
    from shipyard.scaffold.init import InitOptions, init

    app = tmp_path / "acme"
    init(InitOptions(directory=app, org="acme", domain="acme.example.com", registry="harbor.acme.example.com"))
    result = _shipyard(app, "render")
    assert result.returncode == 2
    assert "--out is required" in result.stderr and "Traceback" not in result.stderr
