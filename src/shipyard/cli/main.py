"""Entry point. Command modules are imported only when their command runs: CI calls ``shipyard`` in
many short steps, so start-up time matters more than in most tools."""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING

from shipyard import __version__

if TYPE_CHECKING:
    import typer

# name -> module with a `register(app)` function. Order is the order of `shipyard --help`.
COMMANDS: dict[str, str] = {
    "init": "shipyard.cli.init_cmd",
    "check": "shipyard.cli.check_cmd",
    "branch": "shipyard.cli.branch_cmd",
    "demo": "shipyard.cli.demo_cmd",
    "version": "shipyard.cli.version_cmd",
    "release": "shipyard.cli.release_cmd",
    "hotfix": "shipyard.cli.hotfix_cmd",
    "affected": "shipyard.cli.affected_cmd",
    "render": "shipyard.cli.render_cmd",
    "validate": "shipyard.cli.validate_cmd",
    "ci": "shipyard.cli.ci_cmd",
    "scan": "shipyard.cli.scan_cmd",
    "pr": "shipyard.cli.pr_cmd",
    "image": "shipyard.cli.image_cmd",
    "harbor": "shipyard.cli.harbor_cmd",
    "packages": "shipyard.cli.packages_cmd",
    "freight": "shipyard.cli.freight_cmd",
    "promote": "shipyard.cli.promote_cmd",
    "rollback": "shipyard.cli.promote_cmd",
    "status": "shipyard.cli.status_cmd",
    "trace": "shipyard.cli.status_cmd",
    "approvals": "shipyard.cli.approvals_cmd",
    "preview": "shipyard.cli.preview_cmd",
    "sandbox": "shipyard.cli.sandbox_cmd",
    "serve": "shipyard.cli.serve_cmd",
}


def _version(value: bool) -> None:
    import typer

    if value:
        print(f"shipyard {__version__}")
        raise typer.Exit()


def build_app(only: str | None = None) -> typer.Typer:
    """The typer app with every command, or just ``only`` (what a normal run needs)."""
    import typer

    app = typer.Typer(
        name="shipyard",
        help="Shipyard: a GitOps release platform for monorepos, from pull request to production.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=True,
        rich_markup_mode=None,
    )

    @app.callback()
    def root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print Shipyard's version and exit."
        ),
    ) -> None:
        """Shipyard: a GitOps release platform for monorepos, from pull request to production."""

    # One module may register several commands (promote and rollback); register each module once.
    registered: set[str] = set()
    for name, module in COMMANDS.items():
        if only not in (None, name) or module in registered:
            continue
        registered.add(module)
        importlib.import_module(module).register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a user's mistake ends with a message and exit code 2, never a traceback."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:  # the cheapest call of all: no CLI framework needed
        print(f"shipyard {__version__}")
        return
    # Shipyard uses no pydantic plugins; looking for them reads every installed package's metadata.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from shipyard.errors import ShipyardError

    try:
        first = next((a for a in args if not a.startswith("-")), None)
        build_app(first if first in COMMANDS else None)(args=args, prog_name="shipyard")
    except ShipyardError as exc:
        from shipyard.redact import redact

        # Every message passes the one redaction: a URL or a tool's output in it may carry a credential.
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception:  # a bug: its traceback is useful, but it is redacted like every other message
        import traceback

        from shipyard.redact import redact

        print(redact(traceback.format_exc()), file=sys.stderr, end="")
        sys.exit(1)
