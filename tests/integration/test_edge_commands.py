"""Commands that write check every input before their first change: values at the edge (numbers, commit
ids, names, tags) are refused with exit 2 and one line, and the config repo is left as it was (real git)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SHA = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "a" * 64


def shipyard(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


def refs(repo: Path) -> str:
    return subprocess.run(["git", "-C", str(repo), "for-each-ref"], capture_output=True, text=True, check=True).stdout


def refused(proc: subprocess.CompletedProcess[str], message: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source-commit", "abc1234\nShipyard-Approved-By: mallory"], "--source-commit"),
        (["--source-commit", "not-hex"], "is not a commit id"),
        (["--pr", "0"], "not a pull request number"),
        (["--pr", "9" * 70], "not a pull request number"),
        (["--package", "--exec=x=1.0.0"], "--package"),
        (["--package", "@acme/utils=1.0.0\n"], "--package"),
    ],
)
def test_freight_add_refuses_values_that_would_forge_a_trailer_or_not_fit(
    acme: Path, args: list[str], message: str
) -> None:
    config = acme / ".shipyard" / "gitops-config.git"
    before = refs(config)
    proc = shipyard(acme, "freight", "add", "--version", "v1.0.0-beta.1", "--image", f"user-service={DIGEST}", *args)
    refused(proc, message)
    assert refs(config) == before


def test_version_pr_numbers_make_image_tags(acme: Path) -> None:
    refused(shipyard(acme, "version", "--pr", "9" * 70), "not a pull request number")
    refused(shipyard(acme, "version", "--pr", "0"), "not a pull request number")


def test_pr_comment_checks_the_number_and_the_repository_first(acme: Path, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("ghp_0123456789\n")
    common = ["--token-file", str(token), "--api-url", "http://127.0.0.1:9"]
    refused(
        shipyard(acme, "pr", "comment", "--repo", "acme/app", "--pr", "9" * 12, *common), "not a pull request number"
    )
    refused(shipyard(acme, "pr", "comment", "--repo", "../../x", "--pr", "1", *common), "is not a GitHub repository")


@pytest.mark.parametrize(
    ("service", "tag", "message"),
    [
        ("../../etc", "v1", "is not a service name"),
        ("--file=/etc/passwd", "v1", "is not a service name"),
        ("user-service", "v1\n", "not a valid tag"),
        ("user-service", "x" * 129, "not a valid tag"),
    ],
)
def test_image_build_never_hands_buildah_a_path_or_option_from_outside(
    acme: Path, service: str, tag: str, message: str
) -> None:
    # After "--", the CLI takes even "--file=..." as the service's name: the library must refuse it.
    refused(shipyard(acme, "image", "build", "--tag", tag, "--dry-run", "--", service), message)


def test_release_start_refuses_a_version_that_cannot_be_a_tag(acme: Path) -> None:
    subprocess.run(["git", "-C", str(acme), "remote", "add", "origin", str(acme)], check=True)
    proc = shipyard(acme, "release", "start", "1" * 130 + ".0.0", "--dry-run")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


def test_check_refuses_a_service_whose_preview_host_would_not_be_a_dns_name(acme: Path) -> None:
    name = "s" * 55  # a DNS label, but pr-2147483647-<name> is 69 characters
    folder = acme / "services" / name
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM scratch\n")
    refused(shipyard(acme, "check"), "preview.host")


def test_check_refuses_a_service_folder_that_is_not_a_dns_label(acme: Path) -> None:
    folder = acme / "services" / "Payment_Service"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM scratch\n")
    refused(shipyard(acme, "check"), "cannot be a service's name")
