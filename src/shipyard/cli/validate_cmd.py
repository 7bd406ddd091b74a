"""``shipyard validate``: schemas, builds and policies of a rendered config repo."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli.output import Format, chosen, emit, exit_with, is_machine, json_option, output_option, say


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
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Exit 0 when every document, overlay and policy check passes, 1 when any fails."""
    import shutil

    from shipyard.errors import ShipyardError
    from shipyard.k8s.schemas import load_schemas
    from shipyard.k8s.validate import validate_tree

    fmt = chosen(output, as_json)
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
    if is_machine(fmt):
        emit(report.to_json(), fmt)
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
    from shipyard.cli.context import find_context
    from shipyard.errors import ShipyardError

    try:
        ctx = find_context(Path())
    except ShipyardError:  # an invalid spec: validate the folder it is run in
        return Path()
    return (ctx.local_checkout if ctx else None) or Path()
