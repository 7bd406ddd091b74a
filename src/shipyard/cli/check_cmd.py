"""``shipyard check``: validate the spec and the workspace and summarise the platform."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli.output import Format, chosen, emit, is_machine, json_option, output_option


def register(app: typer.Typer) -> None:
    """Add the ``check`` command."""
    app.command("check")(check)


def check(
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Validate shipyard.yaml and the monorepo; print services, packages, edges and environments."""
    from shipyard.cli.context import load_context
    from shipyard.summary import summarize

    fmt = chosen(output, as_json)
    ctx = load_context(root)
    summary = summarize(ctx.spec_path, ctx.platform, ctx.workspace()).to_json()
    if is_machine(fmt):
        emit(summary, fmt)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{summary['org']}[/] on {summary['domain']}  (spec: {summary['spec']})")
    projects = Table("project", "kind", "language", "depends on", title="Workspace")
    for project in summary["projects"]:
        projects.add_row(project["name"], project["kind"], project["language"], ", ".join(project["dependsOn"]))
    console.print(projects)
    envs = Table(
        "environment",
        "cluster",
        "namespace",
        "access",
        "strategy",
        "promotion",
        "accepts",
        "host",
        title="Environments",
    )
    for env in summary["environments"]:
        envs.add_row(
            env["name"],
            env["cluster"],
            env["namespace"],
            env["access"],
            env["strategy"],
            env["promotion"],
            ", ".join(env["maturities"]),
            env["host"],
        )
    console.print(envs)
    console.print(
        f"[green]ok[/]: {len(summary['services'])} services, {len(summary['packages'])} packages, "
        f"{len(summary['edges'])} dependency edges, {len(summary['environments'])} environments"
    )
