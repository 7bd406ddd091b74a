"""Secret files: read with a size limit, stripped, one line of printable ASCII; never echoed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.secretfile import SecretError, check_secret, read_secret

TOKEN = "ghp_0123456789abcdefABCDEF"


def test_a_trailing_newline_is_not_part_of_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}\r\n")
    assert read_secret(path, "the GitHub token") == TOKEN


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f"{TOKEN}\nsecond-line\n", "a line break at position 27"),
        (f"{TOKEN}\x00", "a control character"),
        ("tökén", "a non-ASCII character"),
        ("\n\n", "is empty"),
    ],
)
def test_a_secret_that_cannot_go_into_a_header_is_refused_without_showing_it(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "token"
    path.write_text(content)
    with pytest.raises(SecretError, match=message) as info:
        read_secret(path, "the GitHub token")
    assert TOKEN not in str(info.value) and "second-line" not in str(info.value)


def test_dev_zero_and_huge_files_are_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="larger than 64 KiB"):
        read_secret(Path("/dev/zero"), "the GitHub token")
    big = tmp_path / "big"
    big.write_bytes(b"a" * (64 * 1024 + 1))
    with pytest.raises(SecretError, match="cannot be a secret"):
        read_secret(big, "the webhook secret")


def test_a_file_that_is_not_utf8_or_not_there_is_named(tmp_path: Path) -> None:
    (tmp_path / "bin").write_bytes(b"\xff\xfe")
    with pytest.raises(SecretError, match="not UTF-8"):
        read_secret(tmp_path / "bin", "the token")
    with pytest.raises(SecretError, match="cannot read"):
        read_secret(tmp_path / "absent", "the token")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_value_is_accepted_only_as_printable_ascii(value: str) -> None:
    try:
        checked = check_secret(value, "the token")
    except SecretError as exc:
        assert value.strip() == "" or any(not " " <= c <= "~" for c in value.strip())
        assert all(part not in str(exc) for part in value.split() if len(part) > 3)
    else:
        assert checked == value.strip() and all(" " <= c <= "~" for c in checked)


def test_the_review_case_a_token_file_with_two_lines_is_one_clear_line(tmp_path: Path) -> None:
    # Before: a traceback from deep inside the HTTP client printed the token.
    path = tmp_path / "token"
    path.write_text(f"{TOKEN}\nextra\n")
    (tmp_path / "shipyard.yaml").write_text("org: acme\ndomain: acme.example.com\nregistry: {url: r.example.com}\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shipyard",
            "pr",
            "comment",
            "--repo",
            "acme/app",
            "--pr",
            "1",
            "--token-file",
            str(path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and TOKEN not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) <= 2
