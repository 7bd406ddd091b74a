"""The rendered CronJobs reach a private config repo: their command run here as the kubelet would start it
(``tests.podrun``), against a real git server on loopback that answers 401 without the right credentials
(``git http-backend`` behind Basic authentication, ``tests.gitauth``). The Secret ``shipyard-git`` is given as
the files its volume would hold."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.git import Git
from shipyard.render.jobs import render_jobs
from shipyard.spec.loader import load_spec
from shipyard.workspace.discovery import discover
from tests.gitauth import private_git_server
from tests.podrun import run_container

pytestmark = pytest.mark.integration

USER, PASSWORD = "shipyard-bot", "t0ken-for-the-config-repo"


def served_config_repo(acme: Path, root: Path) -> None:
    """The scaffold's config repo, rendered, as a bare repository under ``root`` (``config.git``)."""
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard", "render", "--commit"], cwd=acme, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    shutil.copytree(acme / ".shipyard" / "gitops-config.git", root / "config.git")


def jobs_for(acme: Path, url: str) -> tuple[dict[str, str], dict[str, Any]]:
    """The rendered jobs of the scaffold's platform with its config repo at ``url``: the spec ConfigMap's data
    and the documents by file."""
    spec = acme / "shipyard.yaml"
    spec.write_text(spec.read_text().replace("config: .shipyard/gitops-config.git", f"config: {url}"))
    files = render_jobs(load_spec(spec), discover(acme))
    documents = {name: yaml.safe_load(text) for name, text in files.items() if "\n---" not in text}
    return documents["jobs/spec.yaml"]["data"], documents


def test_the_jobs_clone_and_push_through_a_401_server_and_the_old_form_does_not(acme: Path, tmp_path: Path) -> None:
    served_config_repo(acme, tmp_path / "served")
    with private_git_server(tmp_path / "served", USER, PASSWORD) as server:
        spec, documents = jobs_for(acme, server.url + "config.git")
        job = documents["jobs/sandbox-sync.yaml"]
        good = {"shipyard-git": {"username": USER, "password": PASSWORD}}

        # What the jobs had: the credentials as GIT_USERNAME/GIT_PASSWORD, which git never reads.
        old = run_container(
            job,
            tmp_path / "old",
            configmaps={"shipyard-spec": spec},
            secrets={"shipyard-git": {}},
            extra_env={"GIT_USERNAME": USER, "GIT_PASSWORD": PASSWORD, "GIT_CONFIG_COUNT": "0"},
        )
        assert old.returncode == 2, old.stdout + old.stderr
        assert "Authentication failed" in old.stderr or "could not read Username" in old.stderr
        assert server.refused

        wrong = run_container(
            job,
            tmp_path / "wrong",
            configmaps={"shipyard-spec": spec},
            secrets={"shipyard-git": {"username": USER, "password": "not-it"}},
        )
        assert wrong.returncode == 2 and "Traceback" not in wrong.stderr

        ran = run_container(job, tmp_path / "ran", configmaps={"shipyard-spec": spec}, secrets=good)
        assert ran.returncode == 0, ran.stdout + ran.stderr
    log = Git(tmp_path / "served" / "config.git").run("log", "-1", "--format=%s", "main")
    assert log.startswith("Sync the sandbox to production")


def test_the_git_credentials_are_given_to_the_config_repos_host_only(acme: Path) -> None:
    _, documents = jobs_for(acme, "https://git.example.com/acme/gitops-config.git")
    for name in ("jobs/sandbox-sync.yaml", "jobs/sandbox-reset.yaml", "jobs/preview-cleanup.yaml"):
        container = documents[name]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["GIT_CONFIG_KEY_0"] == "credential.https://git.example.com.helper", name
        assert container["command"] == ["shipyard"]
