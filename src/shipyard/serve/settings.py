"""Everything ``shipyard serve`` is started with, as one value: where its state lives, which mode it runs in,
the secrets it checks webhooks with, and what it may call (GitHub, Harbor, the EventListener).

The CLI reads flags, files and the environment and builds this; nothing here reads the environment.
Secrets are kept out of ``repr`` so they never reach a log line or a traceback.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from shipyard.ci.signature import MAX_PAYLOAD

if TYPE_CHECKING:
    from shipyard.spec.model import Platform

Mode = Literal["embedded", "cluster"]
AuthMode = Literal["open", "token", "proxy"]

# Where a workspace keeps serve's operational state (the queue, the event log, the runs): not in git.
STATE_DIR = Path(".shipyard") / "serve"
MAX_HARBOR_BODY = 1024 * 1024  # Harbor's event payloads are a few KiB
# GitHub keeps deliveries for redelivery for three days: older events are refused as stale replays.
REPLAY_WINDOW = 3 * 24 * 3600.0
CLOCK_SKEW = 300.0  # an event time this far in the future is still believed
RETENTION = 30 * 24 * 3600.0  # done records (and the ids they remember) are kept this long
SESSION_LIFETIME = 12 * 3600.0  # a login lasts a working day


@dataclass(frozen=True)
class GitHubAccess:
    """GitHub's API for the Harbor hook's comments: the token, the API's URL and the repository."""

    token: str = field(repr=False)
    repo: str
    api_url: str = "https://api.github.com"


@dataclass(frozen=True)
class HarborAccess:
    """Harbor's API, for reading an artifact and its vulnerability report."""

    url: str
    credentials: tuple[str, str] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AuthSettings:
    """Who may read the board, the API and the event stream, and who is signed in (webhooks carry their own
    authentication).

    ``open``: anyone who can connect reads (only sensible on loopback); ``token``: only people, by the token
    ``shipyard approvals token add`` made them (a bearer header, or the session a login with it opened);
    ``proxy``: the user an authenticating proxy puts in ``proxy_header``, believed only from
    ``trusted_proxies``. In every mode a person may sign in with their token, and only a signed-in person
    decides on a manual stage.
    """

    mode: AuthMode = "open"
    tokens_file: Path | None = None
    """The approvals library's tokens file (``identity.tokens.file``: ``person: sha256:<hex>`` lines), read
    again whenever it changes; None: no token signs anyone in."""
    proxy_header: str = "x-auth-request-user"
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    session_secret: bytes | None = field(default=None, repr=False)
    """Signs the session cookies; None: a random secret kept in the state folder (``session-secret``)."""
    public_url: str | None = None
    """Where people reach serve, e.g. ``https://ci.acme.example.com`` behind a TLS-terminating ingress: forms
    may come from its origin as well as from the request's own, and ``https`` marks the cookies Secure."""
    session_lifetime: float = SESSION_LIFETIME


@dataclass(frozen=True)
class Settings:
    """How one ``shipyard serve`` runs. ``embedded`` runs the pipelines here with ``ci run``; ``cluster`` only
    records each event (and hands it to Tekton's EventListener when ``forward_to`` is set)."""

    state_dir: Path
    mode: Mode = "embedded"
    github_secret: bytes | None = field(default=None, repr=False)
    harbor_auth: bytes | None = field(default=None, repr=False)
    platform: Platform | None = None
    root: Path | None = None
    config_repo: str | None = None
    tekton: Path | None = None
    workspaces: dict[str, Path] = field(default_factory=dict)
    forward_to: str | None = None
    github: GitHubAccess | None = None
    harbor: HarborAccess | None = None
    auth: AuthSettings = field(default_factory=AuthSettings)
    replay_window: float = REPLAY_WINDOW
    retention: float = RETENTION
    concurrency: int = 1
    max_github_body: int = MAX_PAYLOAD
    max_harbor_body: int = MAX_HARBOR_BODY
    watch_interval: float = 5.0
    clock: Callable[[], float] = field(default=time.time, repr=False)

    @property
    def queue_dir(self) -> Path:
        """The persistent queue."""
        return self.state_dir / "queue"

    @property
    def runs_dir(self) -> Path:
        """Where embedded runs keep their workspaces and logs."""
        return self.state_dir / "runs"

    @property
    def event_log(self) -> Path:
        """The event log file."""
        return self.state_dir / "events.jsonl"

    @property
    def sessions_dir(self) -> Path:
        """The session secret (when none is given) and the sessions ended by logging out."""
        return self.state_dir / "sessions"
