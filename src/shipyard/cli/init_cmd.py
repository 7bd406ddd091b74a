"""``shipyard init``: scaffold the seed's monorepo with a valid platform spec."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli.output import Format, chosen, emit_plan, is_machine, json_option, output_option, say


def register(app: typer.Typer) -> None:
    """Add the ``init`` command."""
    app.command("init")(init)


def init(
    directory: Path = typer.Argument(Path(), help="Where to create the monorepo (new or empty)."),
    org: str = typer.Option(..., "--org", help="Your organisation, a DNS label such as 'acme'."),
    domain: str = typer.Option(..., "--domain", help="The platform's DNS domain, e.g. acme.example.com."),
    registry: str | None = typer.Option(
        None,
        "--registry",
        help="Harbor host for images. Without it: a local OCI layout and a local config repo.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be created, change nothing."),
    output: Format = output_option(),
    as_json: bool = json_option("Print the plan (what was, or would be, created) as JSON (the same as -o json)."),
) -> None:
    """Scaffold services, packages and shipyard.yaml as a git repository with main and develop."""
    from shipyard.scaffold.init import InitOptions, plan_init
    from shipyard.scaffold.init import init as do_init

    fmt = chosen(output, as_json)
    options = InitOptions(directory=directory, org=org, domain=domain, registry=registry)
    if dry_run:
        emit_plan(plan_init(options), fmt)
        return
    plan = do_init(options)
    if is_machine(fmt):
        emit_plan(plan, fmt)
    say(f"created {len(plan.actions)} items in {directory}")
    say(f"next: cd {directory} && shipyard check")
