"""A stand-in for the ``trivy`` command, first on the demo's pipeline steps' PATH.

Trivy cannot scan here: its vulnerability database is downloaded from the internet, which this machine does
not reach. The stand-in answers the rendered scan step's exact command line (``trivy image --quiet --format
json --output FILE IMAGE@DIGEST``): it checks the image is in the registry by that digest (as Trivy would pull
it), then writes the recorded report below, with ``ArtifactName`` set to that image. The gate that reads it
(``shipyard scan gate``, ``pr comment``) is the same code that reads a real Trivy's report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.registry.client import RemoteRegistry

_USAGE = "usage: trivy image --quiet --format json --output FILE IMAGE@sha256:DIGEST"

# A Trivy report (SchemaVersion 2) of a Debian-based image with one MEDIUM and one LOW finding: below the
# platform's default threshold (high), so the gate passes and the PR comment lists them.
RECORDED_REPORT: dict[str, Any] = {
    "SchemaVersion": 2,
    "ArtifactType": "container_image",
    "Results": [
        {
            "Target": "debian 12.8",
            "Class": "os-pkgs",
            "Type": "debian",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2023-50495",
                    "PkgName": "ncurses-base",
                    "InstalledVersion": "6.4-4",
                    "Severity": "MEDIUM",
                    "Status": "affected",
                    "Title": "ncurses: segmentation fault via _nc_wrap_entry()",
                },
                {
                    "VulnerabilityID": "CVE-2011-3374",
                    "PkgName": "apt",
                    "InstalledVersion": "2.6.1",
                    "Severity": "LOW",
                    "Status": "affected",
                    "Title": "apt: does not correctly validate the keyring",
                },
            ],
        }
    ],
}


def main(argv: list[str]) -> int:
    """Run as ``trivy``."""
    if argv[:4] != ["image", "--quiet", "--format", "json"] or len(argv) != 7 or argv[4] != "--output":
        print(f"trivy stand-in: unexpected arguments {argv}; {_USAGE}", file=sys.stderr)
        return 2
    output, image = argv[5], argv[6]
    name, _, digest = image.partition("@")
    host, _, repository = name.partition("/")
    if not digest.startswith("sha256:") or not repository:
        print(f"trivy stand-in: {image} is not IMAGE@sha256:DIGEST", file=sys.stderr)
        return 2
    client = RemoteRegistry(host)
    try:
        found = client.head_manifest(repository, digest)
    except ShipyardError as exc:
        print(f"trivy stand-in: cannot read {image}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    if found != digest:
        print(f"trivy stand-in: {image} is not in the registry", file=sys.stderr)
        return 1
    Path(output).write_text(json.dumps({**RECORDED_REPORT, "ArtifactName": image}), encoding="utf-8")
    print(f"trivy stand-in: recorded report written for {image} (no vulnerability database here)", file=sys.stderr)
    return 0


def install(folder: Path) -> Path:
    """Write an executable ``trivy`` into ``folder`` that runs this stand-in with this Python."""
    folder.mkdir(parents=True, exist_ok=True)
    command = folder / "trivy"
    command.write_text(
        f"#!{sys.executable}\nimport sys\nfrom shipyard.demo.parts.trivy import main\nsys.exit(main(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    command.chmod(0o755)
    return command


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
