"""The Secret workspaces written for ``ci run``: the files and keys the step scripts read, readable by this
user only, and nothing written for a secret not given."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

from shipyard.ci.workspaces import PipelineSecrets, write_secret_workspaces


def test_each_secret_is_written_where_its_step_reads_it(tmp_path: Path) -> None:
    folders = write_secret_workspaces(
        tmp_path,
        PipelineSecrets(
            registry={"registry.example.com": ("ci", "pw")},
            git_credentials=("https://ci:t0ken@github.com",),
            github_token="ghp_x",
            npm_token="npm_x",
            harbor=("admin", "h4rbor"),
        ),
    )
    assert sorted(folders) == ["git-credentials", "github-token", "harbor-auth", "npm-auth", "registry-auth"]
    auths = json.loads((folders["registry-auth"] / ".dockerconfigjson").read_text())["auths"]
    assert base64.b64decode(auths["registry.example.com"]["auth"]) == b"ci:pw"
    assert (folders["git-credentials"] / ".git-credentials").read_text() == "https://ci:t0ken@github.com\n"
    assert (folders["github-token"] / "token").read_text() == "ghp_x"
    assert (folders["npm-auth"] / "token").read_text() == "npm_x"
    assert (folders["harbor-auth"] / "password").read_text() == "h4rbor"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_only_the_workspaces_pushing_needs_are_written_without_secrets(tmp_path: Path) -> None:
    folders = write_secret_workspaces(tmp_path, PipelineSecrets())
    assert sorted(folders) == ["git-credentials", "registry-auth"]
    assert json.loads((folders["registry-auth"] / ".dockerconfigjson").read_text()) == {"auths": {}}
    assert (folders["git-credentials"] / ".git-credentials").read_text() == ""
