"""Commands parsed with argparse instead of typer, for the hot paths of CI.

Such a module has ``SUMMARY`` (its line in ``shipyard --help``) and ``run(args)``. ``main`` calls
``run`` without importing typer; ``register`` lists the command in the typer app, which hands it
its arguments untouched (``--help`` included), so ``shipyard --help`` still shows every command.
"""

# No `from __future__ import annotations`: typer reads the annotation of `ctx` at run time.
import importlib

import typer


def register(app: typer.Typer, name: str, module: str) -> None:
    """Add command ``name``, implemented by ``module``'s ``run``, to ``app``."""
    implementation = importlib.import_module(module)

    def command(ctx: typer.Context) -> None:
        implementation.run(list(ctx.args))

    app.command(
        name,
        help=implementation.SUMMARY,
        add_help_option=False,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(command)
