"""A stand-in for the ``trivy`` command, put first on a pipeline step's PATH by the tests.

Trivy cannot scan here: its vulnerability database is downloaded from the internet, which no machine here
reaches. The stand-in does what the rendered scan step relies on and no more: it accepts the step's exact
command line (``trivy image --quiet --format json --output FILE IMAGE@DIGEST``), checks that the image it is
asked about is in the registry (a HEAD of the manifest by digest, with the credentials Trivy would use: those
of ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``, and no others), and writes a recorded Trivy
report (one of ``../shared/reference/trivy/``, SchemaVersion 2) with its
``ArtifactName`` set to that image. Each call is logged as a JSON line: the image, and where Trivy would have
read registry credentials (``$DOCKER_CONFIG/config.json``, if there).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.registry.auth import find_credentials
from shipyard.registry.client import RemoteRegistry

_USAGE = "usage: trivy image --quiet --format json --output FILE IMAGE@sha256:DIGEST"


def main(argv: list[str]) -> int:
    """Run as ``trivy``; the report and the log come from TRIVY_STANDIN_REPORT and TRIVY_STANDIN_LOG."""
    if argv[:4] != ["image", "--quiet", "--format", "json"] or len(argv) != 7 or argv[4] != "--output":
        print(f"trivy stand-in: unexpected arguments {argv}; {_USAGE}", file=sys.stderr)
        return 2
    output, image = argv[5], argv[6]
    name, _, digest = image.partition("@")
    host, _, repository = name.partition("/")
    if not digest.startswith("sha256:") or not repository:
        print(f"trivy stand-in: {image} is not IMAGE@sha256:DIGEST", file=sys.stderr)
        return 2
    config = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json"
    credentials = find_credentials(host, {"REGISTRY_AUTH_FILE": str(config)})
    client = RemoteRegistry(host, credentials=credentials)
    client.credentials = credentials  # Trivy's own place only, never the containers tools' REGISTRY_AUTH_FILE
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
    report = json.loads(Path(os.environ["TRIVY_STANDIN_REPORT"]).read_text())
    report["ArtifactName"] = image
    Path(output).write_text(json.dumps(report))
    entry = {"image": image, "dockerConfig": str(config) if config.is_file() else None}
    with Path(os.environ["TRIVY_STANDIN_LOG"]).open("a") as log:
        log.write(json.dumps(entry) + "\n")
    return 0


def install(folder: Path) -> Path:
    """Write an executable ``trivy`` into ``folder`` that runs this stand-in with this Python."""
    folder.mkdir(parents=True, exist_ok=True)
    command = folder / "trivy"
    command.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        "from tests.standins.trivy import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    command.chmod(0o755)
    return command


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
