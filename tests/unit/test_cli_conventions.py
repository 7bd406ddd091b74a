"""Every registered command follows the CLI's conventions: ``-o json|yaml`` (and ``--json``) where it prints
data, every environment variable it reads declared on an option and shown by ``--help``, no secret shown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from shipyard.cli.main import PLAIN_COMMANDS, build_app

# Commands that print no data, and why. Everything else must take -o json|yaml and --json.
NO_DATA = {
    "demo": "a walkthrough for people, step by step",
    "preview db-secret": "one status line for the log of the Job that runs it",
    "serve": "a server: its data is JSON over HTTP (its --dry-run prints its settings as JSON)",
}
# ``ci batches --output FILE`` names the batches file the pipeline's step writes: its data is --json only.
JSON_ONLY = {"ci batches"}
# What the commands read from the environment, each declared on an option.
ENV_VARS = {
    "GH_TOKEN",
    "GITHUB_API_URL",
    "GITHUB_TOKEN",
    "NPM_TOKEN",
    "SHIPYARD_APPROVER",
    "SHIPYARD_CONFIG_REPO",
    "SHIPYARD_HARBOR_PASSWORD",
    "SHIPYARD_HARBOR_URL",
    "SHIPYARD_HARBOR_USERNAME",
    "SHIPYARD_HARBOR_WEBHOOK_AUTH",
    "SHIPYARD_NO_CACHE",
    "SHIPYARD_NPM_TOKEN",
    "SHIPYARD_REGISTRY_PASSWORD",
    "SHIPYARD_REGISTRY_USERNAME",
    "SHIPYARD_SANDBOX_SALT",
    "SHIPYARD_SESSION_SECRET_FILE",
    "SHIPYARD_WEBHOOK_SECRET_FILE",
}
SECRETS = {name for name in ENV_VARS if re.search("TOKEN|PASSWORD|SALT|AUTH", name)}
SRC = Path(__file__).resolve().parents[2] / "src" / "shipyard"
# Library modules that may read the environment themselves, and why.
LIBRARY_ENV_READERS = {
    "cache.py": "SHIPYARD_NO_CACHE, for `affected`, which is parsed without typer; and git's own location variables",
    "registry/auth.py": "REGISTRY_AUTH_FILE: the containers tools' convention, set by the rendered build step",
    "k8s/kubeconfig.py": "KUBECONFIG and the in-cluster service variables: kubectl's own conventions",
    "git/repo.py": "passes the environment on to git",
    "packages/publish.py": "passes the environment on to npm",
    "dburl.py": "libpq's own PG* variables and service files, to compare URLs as libpq completes them",
    "sandbox/db/pg.py": "libpq's PGOPTIONS, kept beside the masking key in the start-up options",
    "ci/run/engine.py": "passes the environment on to the steps it runs, as a container's runtime would",
    "demo/context.py": "passes the environment on to the commands it runs",
}


def _commands() -> Iterator[tuple[str, Any]]:
    def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), command

    yield from walk(typer.main.get_command(build_app()), [])


COMMANDS = dict(_commands())


def _option(command: Any, flag: str) -> Any:
    return next((p for p in command.params if flag in getattr(p, "opts", [])), None)


def _param_envvars(param: Any) -> set[str]:
    names = getattr(param, "envvar", None) or []
    return {names} if isinstance(names, str) else set(names)


def _envvars(command: Any) -> set[str]:
    return set().union(*(_param_envvars(param) for param in command.params))


def test_the_walk_sees_every_command() -> None:
    assert {"check", "render", "scan gate", "ci render", "image release", "sandbox db clone"} <= set(COMMANDS)
    assert len(COMMANDS) > 40


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_commands_that_print_data_take_o_json_and_yaml(path: str) -> None:
    command = COMMANDS[path]
    if path in NO_DATA or path in PLAIN_COMMANDS:  # argparse commands keep their own --format and --json
        assert _option(command, "-o") is None
        return
    assert _option(command, "--json") is not None, f"{path}: no --json"
    if path in JSON_ONLY:
        return
    output = _option(command, "-o")
    assert output is not None and "--output" in output.opts, f"{path}: no -o/--output"
    assert {"table", "json", "yaml"} <= set(output.type.choices)
    assert output.default == "table"


@pytest.mark.parametrize("path", sorted(set(COMMANDS) - PLAIN_COMMANDS))
def test_every_envvar_is_shown_by_help_and_no_secret_is(
    path: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SECRETS:
        monkeypatch.setenv(name, f"sentinel-{name.lower()}")
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exit_:
        build_app()(args=[*path.split(), "--help"], prog_name="shipyard")
    assert exit_.value.code == 0
    shown = capsys.readouterr().out
    for name in _envvars(COMMANDS[path]):
        assert name in shown, f"{path} --help does not name {name}"
    assert "sentinel-" not in shown, f"{path} --help shows a secret's value"
    for param in COMMANDS[path].params:
        if _param_envvars(param) & SECRETS:
            assert param.default is None and not param.show_default, f"{path}: a secret with a default shown"


def test_every_variable_the_commands_read_is_declared() -> None:
    declared = set().union(*(_envvars(command) for command in COMMANDS.values()))
    assert declared == ENV_VARS


def test_libraries_read_no_environment_the_cli_could_pass() -> None:
    readers = {
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "cli" not in path.relative_to(SRC).parts
        and "templates" not in path.parts
        and re.search(r"os\.environ|getenv\(", path.read_text(encoding="utf-8"))
    }
    assert readers == set(LIBRARY_ENV_READERS)


@pytest.mark.parametrize(
    ("words", "expected"),
    [("shipyard ima", ["image"]), ("shipyard check -o ", ["table", "json", "yaml"]), ("shipyard preview g", ["gc"])],
)
def test_shell_completion_knows_the_lazily_registered_commands(words: str, expected: list[str]) -> None:
    env = {**os.environ, "_SHIPYARD_COMPLETE": "complete_bash", "COMP_WORDS": words}
    env["COMP_CWORD"] = str(len(words.split()) - (0 if words.endswith(" ") else 1))
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard"], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == expected
