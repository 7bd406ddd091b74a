"""Options several commands share, above all those read from environment variables.

Every environment variable a command reads is declared on its option (``envvar=``), so ``--help`` lists
it. Secrets are never shown as defaults; set them in the environment (or a file) rather than on the
command line, where other users of the machine can read them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from shipyard.cli.output import CONFIG_REPO_HELP

if TYPE_CHECKING:
    from shipyard.registry.auth import Credentials

_SECRET = " A secret: prefer the environment variable to the command line."

CONFIG_REPO = typer.Option(None, "--config-repo", envvar="SHIPYARD_CONFIG_REPO", help=CONFIG_REPO_HELP)

APPROVER = typer.Option(
    None,
    "--approver",
    envvar="SHIPYARD_APPROVER",
    help="Who approves: a person's id or email from shipyard.yaml's people (default: git config user.email); "
    "when it lists no people, any name (default: git config user.name). Recorded in the commit's trailer.",
)

APP_REPO = typer.Option(
    None,
    "--app-repo",
    help="The application repository whose history names the source commit's authors, for the four-eyes rule "
    "(default: the workspace's).",
)

GITHUB_TOKEN = typer.Option(
    None,
    "--github-token",
    envvar=["GITHUB_TOKEN", "GH_TOKEN"],
    show_default=False,
    help="The GitHub token (--token-file wins)." + _SECRET,
)

GITHUB_API_URL = typer.Option(
    "https://api.github.com",
    "--api-url",
    envvar="GITHUB_API_URL",
    help="GitHub's API (Enterprise: https://<host>/api/v3).",
)

HARBOR_USERNAME = typer.Option(
    None, "--harbor-username", envvar="SHIPYARD_HARBOR_USERNAME", help="Harbor user (an admin, or a robot)."
)
HARBOR_PASSWORD = typer.Option(
    None,
    "--harbor-password",
    envvar="SHIPYARD_HARBOR_PASSWORD",
    show_default=False,
    help="Harbor password or robot secret." + _SECRET,
)

REGISTRY_USERNAME = typer.Option(
    None,
    "--registry-username",
    envvar="SHIPYARD_REGISTRY_USERNAME",
    help="Registry user; without it, the auth file of docker, podman and buildah "
    "($REGISTRY_AUTH_FILE or ~/.docker/config.json).",
)
REGISTRY_PASSWORD = typer.Option(
    None,
    "--registry-password",
    envvar="SHIPYARD_REGISTRY_PASSWORD",
    show_default=False,
    help="Registry password or token." + _SECRET,
)


def harbor_credentials(username: str | None, password: str | None) -> tuple[str, str] | None:
    """Harbor's basic-auth pair, when both parts are given, each checked by ``shipyard.secretfile``."""
    from shipyard.secretfile import check_secret

    if not (username and password):
        return None
    user = check_secret(username, "--harbor-username (SHIPYARD_HARBOR_USERNAME)")
    return user, check_secret(password, "--harbor-password (SHIPYARD_HARBOR_PASSWORD)")


def registry_credentials(username: str | None, password: str | None) -> Credentials | None:
    """Registry credentials, when a user name is given (an empty password is a password); each part is
    checked by ``shipyard.secretfile`` (one line of printable ASCII: it goes into a header)."""
    if not username or password is None:
        return None
    from shipyard.registry.auth import Credentials
    from shipyard.secretfile import check_secret

    secret = check_secret(password, "--registry-password (SHIPYARD_REGISTRY_PASSWORD)") if password else password
    return Credentials(check_secret(username, "--registry-username (SHIPYARD_REGISTRY_USERNAME)"), secret)
