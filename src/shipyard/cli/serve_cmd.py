"""``shipyard serve``: the platform's web service (webhooks, the JSON API, the event stream, the pages)."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shipyard.cli import options
from shipyard.cli.output import emit_json, say
from shipyard.errors import ShipyardError

if TYPE_CHECKING:
    from shipyard.serve.settings import AuthSettings, GitHubAccess, HarborAccess, Settings
    from shipyard.spec.model import Platform


class ServeMode(StrEnum):
    """Where pipelines run: here (``ci run``), or on a cluster (Tekton), serve then only records events."""

    embedded = "embedded"
    cluster = "cluster"


class AuthChoice(StrEnum):
    """Who may read the board and the API."""

    open = "open"
    token = "token"
    proxy = "proxy"


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command."""
    app.command("serve")(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="The address to listen on."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="The port to listen on."),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    config_repo: str | None = options.CONFIG_REPO,
    mode: ServeMode = typer.Option(
        ServeMode.embedded, "--mode", help="embedded: run pipelines here with ci run; cluster: record events only."
    ),
    state_dir: Path | None = typer.Option(
        None, "--state-dir", help="The queue, runs and event log (default: .shipyard/serve in the workspace)."
    ),
    webhook_secret_file: Path | None = typer.Option(
        None,
        "--webhook-secret-file",
        envvar="SHIPYARD_WEBHOOK_SECRET_FILE",
        help="File with GitHub's webhook secret; without it the GitHub hook is off.",
    ),
    harbor_auth_file: Path | None = typer.Option(
        None, "--harbor-auth-file", help="File with the Authorization header Harbor sends (see harbor apply)."
    ),
    harbor_auth: str | None = typer.Option(
        None,
        "--harbor-auth",
        envvar="SHIPYARD_HARBOR_WEBHOOK_AUTH",
        show_default=False,
        help="The Authorization header Harbor sends (--harbor-auth-file wins). A secret: prefer the file.",
    ),
    harbor_url: str = typer.Option("", "--harbor-url", help="Harbor's URL (default: https://<registry.url>)."),
    harbor_username: str | None = options.HARBOR_USERNAME,
    harbor_password: str | None = options.HARBOR_PASSWORD,
    github_token: str | None = options.GITHUB_TOKEN,
    token_file: Path | None = typer.Option(None, "--token-file", help="File with the GitHub token."),
    github_repo: str | None = typer.Option(
        None, "--github-repo", help="owner/name of the monorepo on GitHub (default: from repos.app)."
    ),
    github_api_url: str = typer.Option("https://api.github.com", "--github-api-url", help="GitHub's API."),
    workspace: list[str] = typer.Option(
        [], "--workspace", metavar="NAME=DIR", help="Embedded: a folder for a Pipeline workspace (as ci run)."
    ),
    forward_to: str | None = typer.Option(
        None, "--forward-to", help="Cluster: the EventListener's URL, which is handed every GitHub delivery."
    ),
    concurrency: int = typer.Option(
        1, "--concurrency", min=1, max=16, help="Deliveries processed at once (never two of one ref)."
    ),
    replay_window: str = typer.Option("72h", "--replay-window", help="Events older than this are refused."),
    auth: AuthChoice | None = typer.Option(
        None, "--auth", help="open, token or proxy (default: open on a loopback address, else required)."
    ),
    tokens_file: Path | None = typer.Option(
        None,
        "--tokens-file",
        help="People's token hashes, as `approvals token add` writes them (default: identity.tokens.file).",
    ),
    session_secret_file: Path | None = typer.Option(
        None,
        "--session-secret-file",
        envvar="SHIPYARD_SESSION_SECRET_FILE",
        help="Signs the session cookies (default: one made in the state folder).",
    ),
    public_url: str | None = typer.Option(
        None, "--public-url", help="Where people reach serve (https://ci.<domain>): forms may come from there."
    ),
    proxy_header: str = typer.Option(
        "X-Auth-Request-User", "--proxy-header", help="--auth proxy: the header naming the user."
    ),
    trusted_proxy: list[str] = typer.Option(
        [], "--trusted-proxy", metavar="CIDR", help="--auth proxy: addresses whose header is believed (repeatable)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be served (no secrets) and exit."),
) -> None:
    """Serve webhooks (/hooks/github, /hooks/harbor), the JSON API, /events and the pages until interrupted."""
    from datetime import timedelta

    from shipyard.ci.signature import read_secret
    from shipyard.cli.context import load_context
    from shipyard.serve.settings import STATE_DIR, Settings
    from shipyard.times import parse_duration

    ctx = load_context(root, config_repo)
    try:
        window: timedelta = parse_duration(replay_window)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--replay-window") from None
    secret = read_secret(webhook_secret_file) if webhook_secret_file else None
    harbor_header = (
        read_secret(harbor_auth_file, "Harbor's webhook auth")
        if harbor_auth_file
        else (harbor_auth.strip().encode() if harbor_auth and harbor_auth.strip() else None)
    )
    tekton = ctx.root / "tekton"
    if mode is ServeMode.embedded and secret is not None and not tekton.is_dir():
        raise ShipyardError(f"{tekton}: no rendered pipelines to run", hint="render them with `shipyard ci render`")
    if mode is ServeMode.embedded and forward_to:
        raise ShipyardError("--forward-to hands events to a cluster's EventListener: it needs --mode cluster")
    github = harbor = None
    if harbor_header is not None:
        github = _github(ctx.platform, github_token, token_file, github_repo, github_api_url)
        harbor = _harbor(ctx.platform, harbor_url, harbor_username, harbor_password)
    settings = Settings(
        state_dir=(state_dir or ctx.root / STATE_DIR).resolve(),
        mode=mode.value,
        github_secret=secret,
        harbor_auth=harbor_header,
        platform=ctx.platform,
        root=ctx.root,
        config_repo=ctx.config_repo,
        tekton=tekton.resolve(),
        workspaces=_workspace_folders(workspace),
        forward_to=forward_to,
        github=github,
        harbor=harbor,
        auth=_auth(ctx.platform, ctx.root, host, auth, tokens_file, proxy_header, trusted_proxy),
        replay_window=window.total_seconds(),
        concurrency=concurrency,
    )
    settings = _with_sessions(settings, session_secret_file, public_url)
    if dry_run:
        emit_json(_summary(settings, host, port))
        return
    from shipyard.serve import serve as run_server

    say(f"shipyard serve ({settings.mode}) on http://{host}:{port}; state in {settings.state_dir}")
    run_server(settings, host, port)


def _summary(settings: Settings, host: str, port: int) -> dict[str, object]:
    return {
        "listen": f"{host}:{port}",
        "mode": settings.mode,
        "stateDir": str(settings.state_dir),
        "hooks": {"github": settings.github_secret is not None, "harbor": settings.harbor_auth is not None},
        "auth": settings.auth.mode,
        "tokensFile": str(settings.auth.tokens_file) if settings.auth.tokens_file else None,
        "people": sorted(settings.platform.people) if settings.platform else [],
        "publicUrl": settings.auth.public_url,
        "oidc": _oidc(settings),
        "configRepo": settings.config_repo,
        "forwardTo": settings.forward_to,
        "githubRepo": settings.github.repo if settings.github else None,
        "harborUrl": settings.harbor.url if settings.harbor else None,
        "workspaces": {k: str(v) for k, v in sorted(settings.workspaces.items())},
        "replayWindowSeconds": int(settings.replay_window),
        "concurrency": settings.concurrency,
    }


def _github(
    platform: Platform, token: str | None, token_file: Path | None, repo: str | None, api_url: str
) -> GitHubAccess:
    from shipyard.github.client import load_token
    from shipyard.github.feedback import check_repo
    from shipyard.render.jobs import github_repo
    from shipyard.serve.settings import GitHubAccess

    name = repo or github_repo(platform)
    if name is None:
        raise ShipyardError(
            "the Harbor hook comments on pull requests: it needs the repository",
            hint="pass --github-repo OWNER/NAME, or set repos.app to the GitHub repository",
        )
    return GitHubAccess(token=load_token(token_file, token), repo=check_repo(name), api_url=api_url)


def _harbor(platform: Platform, url: str, username: str | None, password: str | None) -> HarborAccess:
    from shipyard.serve.settings import HarborAccess

    if not url and platform.registry.kind != "harbor":
        raise ShipyardError(
            f"the Harbor hook reads reports from Harbor, but registry.kind is {platform.registry.kind}",
            hint="pass --harbor-url",
        )
    return HarborAccess(url or platform.registry.url, options.harbor_credentials(username, password))


def _auth(
    platform: Platform,
    root: Path,
    host: str,
    choice: AuthChoice | None,
    tokens_file: Path | None,
    header: str,
    proxies: list[str],
) -> AuthSettings:
    from shipyard.httpcalls import is_loopback
    from shipyard.promotion.tokens import TokenStore, tokens_path
    from shipyard.serve.settings import AuthSettings

    if choice is None:
        if not is_loopback(host):
            raise ShipyardError(
                f"serving on {host} shows the board beyond this machine: choose who may read it",
                hint="--auth token (people's tokens), --auth proxy --trusted-proxy CIDR, or --auth open",
            )
        choice = AuthChoice.open
    path = (tokens_file or tokens_path(platform, root)).resolve() if platform.people else None
    if path is not None:
        store = TokenStore.load(path)  # a malformed file is refused now, not at the first sign-in
        if not store.entries:
            say(f"nobody holds a token in {path} yet: `shipyard approvals token add PERSON` makes one")
    elif tokens_file is not None:
        raise ShipyardError("--tokens-file names people's tokens, but shipyard.yaml lists no people")
    if choice is AuthChoice.token:
        if path is None:
            # The webhooks still work (they carry their own authentication); only reading needs a person.
            say("shipyard.yaml lists no people: nobody can sign in, and only the webhooks and health checks answer")
        return AuthSettings(mode="token", tokens_file=path)
    if choice is AuthChoice.proxy:
        if not proxies:
            raise ShipyardError("--auth proxy needs --trusted-proxy CIDR: whose header is to be believed")
        try:
            networks = tuple(ipaddress.ip_network(p, strict=False) for p in proxies)
        except ValueError as exc:
            raise ShipyardError(f"--trusted-proxy: {exc}") from None
        return AuthSettings(mode="proxy", tokens_file=path, proxy_header=header.lower(), trusted_proxies=networks)
    return AuthSettings(mode="open", tokens_file=path)


def _with_sessions(settings: Settings, secret_file: Path | None, public_url: str | None) -> Settings:
    from dataclasses import replace

    from shipyard.ci.signature import read_secret
    from shipyard.serve.sessions import MIN_SECRET

    secret = read_secret(secret_file, "the session secret") if secret_file else None
    if secret is not None and len(secret) < MIN_SECRET:
        raise ShipyardError(f"{secret_file}: the session secret must be at least {MIN_SECRET} bytes")
    if public_url is not None:
        public_url = _origin(public_url)
    return replace(settings, auth=replace(settings.auth, session_secret=secret, public_url=public_url))


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise typer.BadParameter(f"'{url}' is not a URL such as https://ci.acme.example.com", param_hint="--public-url")
    return f"{parts.scheme}://{parts.netloc}"


def _oidc(settings: Settings) -> dict[str, object] | None:
    from shipyard.promotion.oidc import oidc_config

    config = oidc_config(settings.platform) if settings.platform is not None else None
    return config.to_json() if config is not None else None


def _workspace_folders(values: list[str]) -> dict[str, Path]:
    from shipyard.cli.ci_cmd import _workspace_folders as folders

    return folders(values)
