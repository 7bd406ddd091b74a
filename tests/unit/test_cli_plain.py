"""Commands parsed with argparse: run without typer, listed and reachable through the typer app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.cli import main as cli
from shipyard.errors import ShipyardError

# Imports the CLI and runs `affected`; prints its answer, then whether the CLI framework was loaded.
_RUN_WITHOUT_TYPER = (
    "import sys; from shipyard.cli.main import main; main(sys.argv[1:]); "
    "print(json.dumps(sorted(m for m in ('typer', 'click') if m in sys.modules)))"
)


@pytest.mark.integration  # git answers which projects changed
@pytest.mark.parametrize("name", sorted(cli.PLAIN_COMMANDS))
def test_every_plain_command_runs_without_typer(name: str, acme: Path) -> None:
    assert name == "affected"  # the one plain command; a new one gets its own arguments here
    proc = subprocess.run(
        [sys.executable, "-c", "import json; " + _RUN_WITHOUT_TYPER, name, "--base", "HEAD", "--json"],
        cwd=acme,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    answer, frameworks = proc.stdout.rsplit("\n", 2)[:2]
    assert json.loads(answer)["services"] == []  # nothing changed since HEAD
    assert json.loads(frameworks) == []


def test_help_lists_affected_in_its_place(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.build_app()(args=["--help"], prog_name="shipyard")
    assert exit_.value.code == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    commands = [name for name in listed if name in cli.COMMANDS]
    assert sorted(commands) == sorted(cli.COMMANDS)
    # Typer lists single commands before groups, each in registration order (COMMANDS' order).
    assert commands.index("version") < commands.index("affected") < commands.index("render")


@pytest.mark.parametrize("through_typer", [False, True])
def test_affected_help_reaches_argparse(through_typer: bool, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        if through_typer:
            cli.build_app()(args=["affected", "--help"], prog_name="shipyard")
        else:
            cli.main(["affected", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: shipyard affected") and "--format {text,json,matrix}" in out


def test_a_misspelt_option_names_the_right_one() -> None:
    from shipyard.cli.affected_cmd import run

    with pytest.raises(ShipyardError) as error:
        run(["--bse", "origin/develop"])
    assert "--bse" in str(error.value) and "did you mean --base?" in (error.value.hint or "")
    with pytest.raises(ShipyardError):
        run(["--bas", "origin/develop"])  # no abbreviations: a prefix is not an option
