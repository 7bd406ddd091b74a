"""``shipyard validate``: schemas, builds and policies of a rendered config repo."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli.output import emit_json, exit_with, say


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command."""
    app.command("validate")(validate)


def validate(
    directory: Path | None = typer.Argument(
        None, help="The config repo checkout (default: .shipyard/gitops-config for a local config repo, else .)."
    ),
    schemas: Path | None = typer.Option(
        None, "--schemas", help="A folder of CRDs and Kargo JSON Schemas (searched recursively)."
    ),
    build: bool = typer.Option(True, "--build/--no-build", help="Build every overlay with kubectl kustomize."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Exit 0 when every document, overlay and policy check passes, 1 when any fails."""
    import shutil

    from shipyard.errors import ShipyardError
    from shipyard.k8s.schemas import load_schemas
    from shipyard.k8s.validate import validate_tree

    if directory is None:
        directory = _default_directory()
    if not directory.is_dir():
        raise ShipyardError(f"{directory} is not a folder", hint="pass a checkout of the config repo")
    kubectl = shutil.which("kubectl") if build else None
    if build and kubectl is None:
        raise ShipyardError(
            "kubectl is not installed, so overlays cannot be built", hint="install it, or pass --no-build"
        )
    report = validate_tree(directory, load_schemas(schemas) if schemas else None, kubectl)
    if as_json:
        emit_json(report.to_json())
    else:
        for finding in report.findings:
            print(finding.line())
        errors = sum(f.severity == "error" for f in report.findings)
        say(
            f"{'ok' if report.ok else 'failed'}: {report.documents} documents, {report.overlays} overlays built, "
            f"{errors} error(s), {len(report.findings) - errors} note(s)"
        )
    if not report.ok:
        exit_with(1)


def _default_directory() -> Path:
    """The checkout `shipyard render` uses for a local config repo, when run inside such a workspace."""
    from shipyard.configrepo.location import is_remote
    from shipyard.errors import ShipyardError
    from shipyard.spec.loader import load_spec
    from shipyard.spec.locate import find_spec

    try:
        spec = find_spec(Path())
        config = load_spec(spec).repos.config
    except ShipyardError:
        return Path()
    if config and not is_remote(config):
        return spec.parent / ".shipyard" / "gitops-config"
    return Path()
