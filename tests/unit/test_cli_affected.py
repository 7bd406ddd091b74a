"""``shipyard affected``'s command line: listed with the other commands, its options and its mistakes."""

from __future__ import annotations

import pytest

from shipyard.cli import main as cli


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    assert listed >= set(cli.COMMANDS)


def test_affected_help_names_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["affected", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ("--base", "--head", "--json", "--explain", "--format", "--root", "text|json|matrix"):
        assert option in out


@pytest.mark.parametrize("argument", ["--bse", "--bas"])  # a prefix is not an option either
def test_a_misspelt_option_is_exit_2_naming_the_right_one(argument: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["affected", argument, "origin/develop"])
    assert exit_.value.code == 2
    assert "--base" in capsys.readouterr().err
