"""The rendered Tasks' step scripts: packaged files, POSIX sh that shellcheck passes, with every Tekton
substitution handed over through the step's env (shellcheck would read `$(params.x)` as a command)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from shipyard.k8s.yaml import load_all
from shipyard.render.tekton.target import render_tekton
from shipyard.spec.loader import load_spec
from shipyard.workspace.discovery import discover
from tests.realparts import REPO_ROOT, need_binary

pytestmark = pytest.mark.integration

SCRIPTS = resources.files("shipyard.render.tekton").joinpath("scripts")
# Tekton's variables: spliced into a script they are text Tekton pastes in unescaped.
TEKTON_VARIABLE = re.compile(r"\$\((params|results|workspaces|context|tasks|steps)\.")


def _packaged() -> dict[str, str]:
    return {f.name: f.read_text(encoding="utf-8") for f in SCRIPTS.iterdir() if f.name.endswith(".sh")}


def _rendered_steps(acme: Path) -> dict[str, str]:
    """``<task>-<step>.sh`` -> the step's ``script:``, from the rendered YAML of every Task, for the scaffold's
    platform and for the same platform on Harbor (whose alpha pipeline also applies Harbor's settings)."""
    steps: dict[str, str] = {}
    spec = load_spec(acme / "shipyard.yaml")
    on_harbor = spec.model_copy(update={"registry": spec.registry.model_copy(update={"kind": "harbor"})})
    for platform in (spec, on_harbor):
        for text in render_tekton(platform, discover(acme)).values():
            for doc in load_all(text):
                if doc["kind"] == "Task":
                    task = doc["metadata"]["name"].removeprefix("shipyard-")
                    steps |= {f"{task}-{step['name']}.sh": step["script"] for step in doc["spec"]["steps"]}
    return steps


def _shellcheck(folder: Path, scripts: dict[str, str]) -> subprocess.CompletedProcess[str]:
    shellcheck = need_binary("shellcheck", "listed in deps/apt-test.txt")
    for name, text in scripts.items():
        (folder / name).write_text(text)
    return subprocess.run(
        [shellcheck, "-s", "sh", *sorted(scripts)], cwd=folder, capture_output=True, text=True, check=False
    )


def test_every_packaged_script_passes_shellcheck(tmp_path: Path) -> None:
    scripts = _packaged()
    assert len(scripts) == 26
    result = _shellcheck(tmp_path, scripts)
    assert result.returncode == 0, result.stdout


def test_every_rendered_step_script_passes_shellcheck(acme: Path, tmp_path: Path) -> None:
    steps = _rendered_steps(acme)
    result = _shellcheck(tmp_path, steps)
    assert result.returncode == 0, result.stdout


def test_each_step_runs_its_packaged_script_byte_for_byte(acme: Path) -> None:
    assert _rendered_steps(acme) == _packaged()


def test_no_tekton_variable_is_spliced_into_a_script(acme: Path) -> None:
    for name, text in {**_packaged(), **_rendered_steps(acme)}.items():
        assert text.startswith("#!/bin/sh\nset -eu\n"), name
        assert not TEKTON_VARIABLE.search(text), name


def test_shellcheck_catches_a_spliced_variable(tmp_path: Path) -> None:
    # The mistake the env hand-over avoids: shellcheck sees a command substitution whose result is masked.
    spliced = '#!/bin/sh\nset -eu\nexport NPM_CONFIG_USERCONFIG="$(workspaces.npm-auth.path)/.npmrc"\n'
    result = _shellcheck(tmp_path, {"spliced.sh": spliced})
    assert result.returncode != 0 and "SC2155" in result.stdout


def test_a_wheel_carries_the_scripts() -> None:
    data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = REPO_ROOT / "src" / "shipyard"
    carried = {p for pattern in data["shipyard"] for p in package.glob(pattern)}
    assert {package / "render" / "tekton" / "scripts" / name for name in _packaged()} <= carried
