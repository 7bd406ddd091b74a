"""The commands as a user runs them on a scaffolded workspace: ``-o json`` and ``-o yaml`` print the same data,
every key Shipyard names is camelCase, and progress is drawn only for people on a terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.cli.main import main
from shipyard.registry import LayoutStore
from tests.ociimages import push_image
from tests.realparts import need_binary, need_reference

pytestmark = pytest.mark.integration

CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
# Maps keyed by data (service, package, column and parameter names, severities, MIME types), not by Shipyard.
DATA_MAPS = {"urls", "params", "reasons", "counts", "totals", "columns", "services", "images", "reports"}
NOW = "2024-11-14T16:00:00Z"
DIGEST = "sha256:" + "a" * 64
ALPHA = "v0.1.0-alpha.20240101000000"


def _keys(data: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """Every key Shipyard names in ``data``, with where it is; the keys of data maps are skipped."""
    if isinstance(data, list):
        for index, item in enumerate(data):
            yield from _keys(item, f"{path}[{index}]")
    elif isinstance(data, dict):
        data_map = path.rsplit(".", 1)[-1] in DATA_MAPS
        for key, value in data.items():
            if not data_map:
                yield key, path
            yield from _keys(value, f"{path}.{key}")


class Shell:
    """Runs ``shipyard`` in-process in a folder, as the console script does."""

    def __init__(self, cwd: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.cwd, self.capsys, self.monkeypatch = cwd, capsys, monkeypatch

    def run(self, *args: str, expect: int = 0) -> str:
        self.monkeypatch.chdir(self.cwd)
        self.capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 0
        out, err = self.capsys.readouterr()
        assert code == expect, f"shipyard {' '.join(args)}: exit {code}\n{out}\n{err}"
        return out

    def data(self, *args: str, expect: int = 0, yaml_too: bool = True) -> Any:
        """The JSON a command prints; for commands that change nothing, the YAML must be the same data."""
        parsed = json.loads(self.run(*args, "-o", "json", expect=expect))
        if yaml_too:
            assert yaml.safe_load(self.run(*args, "-o", "yaml", expect=expect)) == parsed, args
        bad = [f"{where}: {key}" for key, where in _keys(parsed) if not CAMEL.match(key)]
        assert not bad, f"shipyard {' '.join(args)}: keys not in camelCase: {bad}"
        return parsed


@pytest.fixture
def shell(acme: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Shell:
    return Shell(acme, capsys, monkeypatch)


def test_every_command_prints_camel_case_json_and_the_same_yaml(acme: Path, shell: Shell, tmp_path: Path) -> None:
    need_binary("git")
    init = shell.data("init", str(tmp_path / "other"), "--org", "acme", "--domain", "acme.example.com", "--dry-run")
    assert init["command"] == "shipyard init"
    assert shell.data("check")["services"] == ["notification-service", "payment-service", "user-service"]
    assert shell.data("branch", "check", "feature/user-service-x", "--target", "develop")["valid"] is True
    assert shell.data("branch", "check", "nope", expect=1)["valid"] is False
    assert shell.data("version")["npm"]["distTag"] == "latest"
    assert shell.data("release", "tag", "--dry-run")["dryRun"] is True

    shell.run("render", "--commit")
    assert shell.data("render", "--check")["command"] == "shipyard render"
    assert shell.data("validate", "--no-build")["ok"] is True
    assert shell.data("ci", "render", "--dry-run")["command"] == "shipyard render"  # the alias of render --only tekton
    assert shell.data("ci", "services")["services"][0] == "notification-service"
    push = tmp_path / "push.json"
    push.write_text(
        json.dumps(
            {
                "ref": "refs/heads/develop",
                "before": "0" * 40,
                "after": "1" * 40,
                "commits": [],
                "pusher": {"name": "dana"},
                "repository": {"full_name": "acme/monorepo", "clone_url": "https://github.com/acme/monorepo.git"},
            }
        )
    )
    assert shell.data("ci", "plan", str(push))["event"] == "push"
    trivy = need_reference("trivy", "debian-buster.json")
    gate = shell.data("scan", "gate", str(trivy), expect=1)
    assert gate["passed"] is False and "ignoreUnfixed" in gate and "expiredAllowlistEntries" in gate

    store = LayoutStore(acme / ".shipyard" / "registry")
    push_image(store, "services/user-service", ALPHA, layers=1)
    image = f"localhost/services/user-service:{ALPHA}"
    assert shell.data("image", "resolve", image)["digest"].startswith("sha256:")
    assert shell.data("image", "tags", "localhost/services/user-service")["tags"] == [ALPHA]
    assert shell.data("image", "tag", image, "qa", "--dry-run")["dryRun"] is True

    assert shell.data("sandbox", "status")["state"] == "never-synced"
    assert shell.data("sandbox", "sync", "--dry-run", yaml_too=False)["command"] == "sandbox sync"  # now moves
    recorded = shell.data("freight", "add", "--version", ALPHA, "--from-registry", yaml_too=False)
    assert recorded["freight"]["sourceCommit"] is None and recorded["commit"]
    assert shell.data("freight", "list")[0]["version"] == ALPHA
    assert shell.data("promote", "--auto", yaml_too=False)["moves"][0]["stage"] == "dev"
    assert "dev" in shell.data("status")["services"]["user-service"]
    assert shell.data("trace", "user-service")["environments"][0]["promotedBy"]
    later = "v0.1.0-alpha.20240102000000"
    shell.run("freight", "add", "--version", later, "--image", f"user-service={DIGEST}")
    assert shell.data("promote", "--to", "dev", "--version", later, "--dry-run")["dryRun"] is True
    shell.run("promote", "--to", "dev", "--version", later)
    assert shell.data("rollback", "--env", "dev", "--dry-run")["moves"][0]["version"] == ALPHA

    up = shell.data("preview", "up", "--pr", "7", "--sha", "abcdef1", "--now", NOW, yaml_too=False)
    assert up["createdAt"] == NOW and up["dryRun"] is False
    assert shell.data("preview", "list", "--now", NOW)["previews"][0]["pr"] == 7
    assert shell.data("preview", "gc", "--dry-run", "--now", NOW)["prState"] is None
    assert shell.data("preview", "down", "--pr", "7", "--dry-run")["dryRun"] is True
    assert shell.data("sandbox", "sync", yaml_too=False)["commit"]


def test_json_and_an_output_format_must_agree(shell: Shell) -> None:
    assert shell.run("check", "--json", "-o", "json").startswith("{")
    shell.run("check", "--json", "-o", "yaml", expect=2)


def _render(acme: Path, *args: str, tty: bool) -> tuple[subprocess.CompletedProcess[bytes], bytes]:
    """``shipyard render`` with stderr on a pseudo-terminal (as in a shell) or a pipe (as in CI logs)."""
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    command = [sys.executable, "-m", "shipyard", "render", "--dry-run", *args]
    if not tty:
        return subprocess.run(command, cwd=acme, env=env, capture_output=True, check=False), b""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(command, cwd=acme, env=env, stdout=subprocess.PIPE, stderr=follower, check=False)
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)
    return proc, drawn


def test_progress_is_drawn_on_a_terminal_and_never_for_machines(acme: Path) -> None:
    need_binary("git")
    people, drawn = _render(acme, tty=True)
    assert people.returncode == 0
    assert b"render targets" in drawn  # the bar, on the terminal

    machines, drawn = _render(acme, "-o", "json", tty=True)
    assert machines.returncode == 0
    assert json.loads(machines.stdout)["command"] == "shipyard render"
    assert b"render targets" not in drawn and b"\x1b[" not in drawn

    logs, _ = _render(acme, tty=False)
    assert logs.returncode == 0
    assert b"render targets" not in logs.stderr and b"\x1b[" not in logs.stderr
