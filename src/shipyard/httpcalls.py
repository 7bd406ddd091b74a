"""HTTP calls under the retry policy, for every client Shipyard has (OCI registry, Harbor, npm registry,
GitHub, Kubernetes API): the one way they are built (every answer read within a size limit), which
failures are worth another try, and bounded pagination.

A failure is retried when a second try cannot do harm: 429, 502, 503, 504 and transport errors for
idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE); for POST and PATCH only when the request
cannot have been acted on (429, 503, or a connection that never opened), so a retry never creates a
thing twice. 500 is not retried: it is a server's bug far more often than a passing state, and neither
is a server certificate that fails verification: trying again cannot make it trusted.
"""

from __future__ import annotations

import ipaddress
import ssl
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from shipyard.bounded import MAX_BODY
from shipyard.errors import ShipyardError
from shipyard.httplimit import bounded
from shipyard.retry import GaveUp, Retrier, TryAgain, parse_retry_after

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Answers that say the request was not acted on, so even a POST may be sent again.
_NOT_ACTED_ON = frozenset({429, 503})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# The request never left: a connection that was not made.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAX_PAGES = 1000
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)


def client(
    *,
    transport: httpx.BaseTransport | None = None,
    limit: int = MAX_BODY,
    base_url: str = "",
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    verify: ssl.SSLContext | bool = True,
    limits: httpx.Limits = _LIMITS,
    timeout: float = 30.0,
    follow_redirects: bool = False,
) -> httpx.Client:
    """An httpx client whose every answer is read within ``limit`` bytes (``shipyard.httplimit``).

    ``transport`` stands in for the network (tests). Without it, a request goes to its host directly or
    through the proxy the environment names (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``),
    its server verified with ``verify``: what an httpx client without a transport of its own does.
    """
    inner = transport or _EnvironmentRoutes(verify=verify, limits=limits)
    return httpx.Client(
        transport=bounded(inner, limit),
        base_url=base_url,
        headers=headers,
        auth=auth,
        timeout=timeout,
        follow_redirects=follow_redirects,
    )


class _EnvironmentRoutes(httpx.BaseTransport):
    """Each request straight to its host, or through the proxy the environment names for its scheme
    (``NO_PROXY`` read as urllib reads it). httpx routes so only for a client without a transport."""

    def __init__(self, *, verify: ssl.SSLContext | bool, limits: httpx.Limits) -> None:
        self._proxies = urllib.request.getproxies_environment()
        self._direct = httpx.HTTPTransport(verify=verify, limits=limits, retries=0)
        self._through: dict[str, httpx.HTTPTransport] = {}
        for scheme in ("http", "https"):
            proxy = self._proxy(scheme)
            if proxy and proxy not in self._through:  # made here, not per request: clients run in threads
                self._through[proxy] = httpx.HTTPTransport(verify=verify, limits=limits, retries=0, proxy=proxy)

    def _proxy(self, scheme: str) -> str | None:
        proxy = self._proxies.get(scheme) or self._proxies.get("all")
        return None if not proxy else proxy if "://" in proxy else f"http://{proxy}"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on the route the environment gives its URL."""
        proxy = self._proxy(request.url.scheme)
        netloc = request.url.netloc.decode("ascii")
        if proxy is None or urllib.request.proxy_bypass_environment(netloc, self._proxies):  # type: ignore[attr-defined]
            return self._direct.handle_request(request)
        return self._through[proxy].handle_request(request)

    def close(self) -> None:
        """Close every connection pool."""
        self._direct.close()
        for transport in self._through.values():
            transport.close()


def send(
    retrier: Retrier,
    method: str,
    attempt: Callable[[], httpx.Response],
    *,
    idempotent: bool | None = None,
    rate_limited: Callable[[httpx.Response], float | None] | None = None,
) -> httpx.Response:
    """Send one request (``attempt`` makes it) under ``retrier``; returns the first answer not worth retrying.

    ``idempotent`` overrides what the method says (a POST that only opens an upload session is safe to
    repeat). ``rate_limited`` recognises an API's own rate-limit answers and returns the seconds to wait
    (NaN for "back off"), or None when the answer is not one. Raises GaveUp when retrying stops; a
    transport error not worth retrying passes through.
    """
    repeatable = method.upper() in IDEMPOTENT if idempotent is None else idempotent

    def once() -> httpx.Response:
        try:
            response = attempt()
        except httpx.TransportError as exc:
            refused = _certificate_refused(exc)
            if refused is not None:
                message = f"refused: the server's certificate cannot be verified ({refused})"
                raise GaveUp(message, attempts=1, last=exc) from exc
            if repeatable or isinstance(exc, _NOT_SENT):
                raise TryAgain(f"{type(exc).__name__}: {exc}") from exc
            raise
        status = response.status_code
        limited = rate_limited(response) if rate_limited is not None else None
        if limited is not None:
            raise TryAgain(f"rate limited (HTTP {status})", after=limited, result=response)
        if status in RETRY_STATUSES and (repeatable or status in _NOT_ACTED_ON):
            after = parse_retry_after(response.headers.get("retry-after"), retrier.clock())
            raise TryAgain(f"HTTP {status}", after=after, result=response)
        return response

    return retrier.call(once)


def _certificate_refused(exc: BaseException) -> str | None:
    """The verification error behind a transport error, if that is what it is (httpx chains the ssl error)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause.verify_message or str(cause)
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (with or without a port)."""
    name = urlsplit(f"//{host}").hostname or host
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def next_link(header: str | None, current: str) -> str | None:
    """The absolute URL of a ``Link`` header's ``rel="next"`` entry, or None."""
    if not header:
        return None
    for part in header.split(","):
        target, _, params = part.partition(";")
        target = target.strip()
        if not (target.startswith("<") and target.endswith(">")):
            continue
        rels = [p.strip() for p in params.split(";")]
        if any(r.replace(" ", "") in ('rel="next"', "rel=next") for r in rels):
            return str(httpx.URL(current).join(target[1:-1]))
    return None


class PagingError(ShipyardError):
    """A paged listing that would not end: a repeated page, too many pages, or a page on another host."""


class Pages:
    """The bound on one paged listing: at most ``limit`` pages, never the same page twice.

    Each ``follow`` is one more page; a server that hands back a link or ``continue`` token it gave
    before, or pages past the limit, stops the listing with a PagingError instead of looping forever.
    """

    def __init__(self, what: str, limit: int = MAX_PAGES) -> None:
        self.what = what
        self.limit = limit
        self.count = 1  # the first page is asked for without a token
        self._seen: set[str] = set()

    def follow(self, token: str) -> str:
        """Count the page ``token`` (a URL, a continue token, a page number) leads to; returns ``token``."""
        if token in self._seen:
            shown = token if len(token) <= 80 else token[:77] + "..."
            raise PagingError(f"{self.what}: the server sent the same next page twice ({shown}); stopping")
        if self.count >= self.limit:
            raise PagingError(
                f"{self.what}: more than {self.limit} pages; stopping",
                hint="a listing this long is not expected; check the server, or narrow what is listed",
            )
        self._seen.add(token)
        self.count += 1
        return token

    def next_url(self, link_header: str | None, current: str) -> str | None:
        """The next page of a ``Link``-paged listing (None at the end), on the same origin as ``current``.

        A next link to another scheme, host or port is refused: the request would carry our credentials.
        """
        url = next_link(link_header, current)
        if url is None:
            return None
        here, there = urlsplit(current), urlsplit(url)
        if (here.scheme, here.netloc) != (there.scheme, there.netloc):
            raise PagingError(f"{self.what}: the next page is on another origin ({there.scheme}://{there.netloc})")
        return self.follow(url)
