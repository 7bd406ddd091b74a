"""A client of the OCI distribution API (the protocol of docker-registry, Harbor, and every other
registry): manifests, tags, blobs, token and basic auth, retries under ``shipyard.retry.HTTP``.

One ``httpx.Client`` per registry, safe to share between threads, so a release of many images runs
its requests concurrently over a small pool of kept-alive connections.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from shipyard.httpcalls import Pages, PagingError, client, is_loopback, send
from shipyard.registry.auth import Credentials, challenge_for, find_credentials, parse_challenges
from shipyard.registry.store import MANIFEST_TYPES, Manifest, NotFound, RegistryError, sha256_digest
from shipyard.retry import HTTP, GaveUp, Policy, Retrier

_ACCEPT = ", ".join(MANIFEST_TYPES)
_LOGIN_HINT = (
    "set SHIPYARD_REGISTRY_USERNAME and SHIPYARD_REGISTRY_PASSWORD, or log in with `skopeo login` / `buildah login`"
)


def base_url(host: str, insecure: bool = False) -> str:
    """The registry's base URL. HTTPS unless the registry is on loopback or ``insecure`` is set."""
    scheme, sep, bare = host.partition("://")
    if not sep:
        scheme, bare = ("http" if is_loopback(host) or insecure else "https"), host
    if scheme not in ("http", "https"):
        raise RegistryError(f"registry '{host}': unsupported scheme '{scheme}'; use https (or http on loopback)")
    if scheme == "http" and not (is_loopback(bare) or insecure):
        raise RegistryError(
            f"registry '{bare}' over plain HTTP is refused: it is not on loopback",
            hint="use https, or pass --insecure (or set registry.insecure: true) for a registry you trust",
        )
    return f"{scheme}://{bare.rstrip('/')}"


def _error_detail(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))
    except (ValueError, AttributeError):
        return ""


class RemoteRegistry:
    """An OCI distribution registry reached over HTTP(S)."""

    def __init__(
        self,
        host: str,
        *,
        insecure: bool = False,
        credentials: Credentials | None = None,
        retry: Policy = HTTP,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 32,
        timeout: float = 30.0,
        page_size: int = 1000,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host = host.split("://", 1)[-1].rstrip("/")
        self.base = base_url(host, insecure)
        self.credentials = credentials if credentials is not None else find_credentials(self.host)
        self.page_size = page_size
        self._retrier = Retrier(retry, sleep=sleep)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = client(transport=transport, limits=limits, timeout=timeout, follow_redirects=True)
        # Authorization per repository, from the last challenge answered for it.
        self._auth: dict[str, str] = {}
        self._token_lock = threading.Lock()

    @property
    def location(self) -> str:
        """The registry's base URL."""
        return self.base

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- requests ----------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        repository: str,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        *,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send with auth and retries; returns the final response (any status) for the caller to judge."""

        def once() -> httpx.Response:
            request_headers = dict(headers or {})
            if repository in self._auth:  # read on every attempt: another thread may have fetched a token
                request_headers["Authorization"] = self._auth[repository]
            return self._http.request(method, url, headers=request_headers, content=content)

        what = f"{self.host}: {method} {urlsplit(url).path}"
        answered_challenge = False
        while True:
            try:
                response = send(self._retrier, method, once, idempotent=idempotent)
            except GaveUp as exc:
                raise RegistryError(f"{what} {exc.message}") from exc
            except httpx.TransportError as exc:
                raise RegistryError(f"{what} was cut off after it was sent ({exc!r}); not sent again") from exc
            if response.status_code == 401 and not answered_challenge:
                answered_challenge = True
                if self._answer(response, repository):
                    continue
            return response

    def _answer(self, response: httpx.Response, repository: str) -> bool:
        """Answer a 401's challenge; True when there is something new to retry with."""
        challenge = challenge_for(parse_challenges(response.headers.get("www-authenticate", "")))
        if challenge is None:
            return False
        if challenge.scheme == "basic":
            if self.credentials is None:
                return False
            self._auth[repository] = self.credentials.basic_header()
            return True
        realm = challenge.params.get("realm")
        if not realm:
            return False
        params = {k: v for k, v in challenge.params.items() if k in ("service", "scope")}
        with self._token_lock:
            token = self._fetch_token(realm, params)
        self._auth[repository] = f"Bearer {token}"
        return True

    def _fetch_token(self, realm: str, params: dict[str, str]) -> str:
        headers = {"Authorization": self.credentials.basic_header()} if self.credentials else {}
        try:
            reply = send(self._retrier, "GET", lambda: self._http.get(realm, params=params, headers=headers))
        except (GaveUp, httpx.TransportError) as exc:
            detail = exc.message if isinstance(exc, GaveUp) else repr(exc)
            raise RegistryError(f"{self.host}: the token service {realm}: {detail}") from exc
        if reply.status_code in (401, 403):
            raise RegistryError(
                f"{self.host}: the token service refused the credentials ({reply.status_code})", hint=_LOGIN_HINT
            )
        if reply.status_code != 200:
            raise RegistryError(f"{self.host}: the token service answered {reply.status_code}")
        try:
            body = reply.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{self.host}: the token service answered without a token")
        return token

    def _fail(self, response: httpx.Response, what: str, repository: str) -> RegistryError:
        detail = _error_detail(response)
        suffix = f" ({detail})" if detail else ""
        status = response.status_code
        if status == 401:
            return RegistryError(
                f"{self.host}: not authorized to {what} in {repository} (401){suffix}", hint=_LOGIN_HINT
            )
        if status == 403:
            return RegistryError(
                f"{self.host}: access denied to {what} in {repository} (403){suffix}",
                hint="the credentials are valid but lack the permission; ask for push/pull rights on the project",
            )
        if status == 404:
            return NotFound(f"{self.host}/{repository}: {what}: not found (404){suffix}")
        return RegistryError(f"{self.host}: {what} in {repository} failed with HTTP {status}{suffix}")

    def _url(self, repository: str, *parts: str) -> str:
        return "/".join((self.base, "v2", repository, *parts))

    # -- the store interface ------------------------------------------------------------------

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        """GET a manifest with every manifest type accepted, so the registry returns it unconverted."""
        response = self._send("GET", self._url(repository, "manifests", reference), repository, {"Accept": _ACCEPT})
        if response.status_code != 200:
            raise self._fail(response, f"read manifest {reference}", repository)
        manifest = Manifest.from_bytes(response.content, response.headers.get("content-type"))
        claimed = response.headers.get("docker-content-digest")
        expected = reference if reference.startswith("sha256:") else claimed
        if expected and expected != manifest.digest:
            raise RegistryError(
                f"{self.host}/{repository}:{reference}: the manifest's bytes hash to {manifest.digest}, "
                f"but the registry names {expected}; refusing to use it"
            )
        return manifest

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The digest behind a tag, without downloading the manifest when the registry tells it."""
        response = self._send("HEAD", self._url(repository, "manifests", reference), repository, {"Accept": _ACCEPT})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, f"look up {reference}", repository)
        digest = response.headers.get("docker-content-digest")
        if digest:
            return str(digest)
        try:
            return self.get_manifest(repository, reference).digest
        except NotFound:
            return None

    def put_manifest(self, repository: str, tag: str, manifest: Manifest) -> str:
        """PUT the exact bytes under ``tag``; returns the digest the registry computed."""
        response = self._send(
            "PUT",
            self._url(repository, "manifests", tag),
            repository,
            {"Content-Type": manifest.media_type},
            manifest.data,
        )
        if response.status_code not in (200, 201, 202):
            raise self._fail(response, f"put tag {tag}", repository)
        return response.headers.get("docker-content-digest") or manifest.digest

    def list_tags(self, repository: str) -> list[str]:
        """Every tag, following ``Link: <...>; rel="next"`` pages."""
        tags: list[str] = []
        url: str | None = self._url(repository, "tags", "list") + f"?n={self.page_size}"
        pages = Pages(f"{self.host}/{repository}: listing tags")
        while url:
            response = self._send("GET", url, repository)
            if response.status_code == 404:
                return []
            if response.status_code != 200:
                raise self._fail(response, "list tags", repository)
            try:
                page = response.json().get("tags") or []
            except (ValueError, AttributeError) as exc:
                raise RegistryError(f"{self.host}/{repository}: the tag list is not JSON") from exc
            tags.extend(str(t) for t in page)
            try:
                url = pages.next_url(response.headers.get("link"), str(response.url))
            except PagingError as exc:
                raise RegistryError(exc.message, hint=exc.hint) from exc
        return sorted(set(tags))

    def has_blob(self, repository: str, digest: str) -> bool:
        """HEAD the blob."""
        response = self._send("HEAD", self._url(repository, "blobs", digest), repository)
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            raise self._fail(response, f"look up blob {digest}", repository)
        return True

    def put_blob(self, repository: str, data: bytes) -> str:
        """Upload a blob in one request (POST for a session, PUT with the digest), unless it is there."""
        digest = sha256_digest(data)
        if self.has_blob(repository, digest):
            return digest
        # Opening an upload session twice only leaves an unused session behind: safe to repeat.
        start = self._send("POST", self._url(repository, "blobs", "uploads") + "/", repository, idempotent=True)
        if start.status_code != 202 or "location" not in start.headers:
            raise self._fail(start, "start a blob upload", repository)
        location = httpx.URL(str(start.url)).join(start.headers["location"])
        target = location.copy_merge_params({"digest": digest})
        done = self._send("PUT", str(target), repository, {"Content-Type": "application/octet-stream"}, content=data)
        if done.status_code not in (201, 204) and not self.has_blob(repository, digest):
            raise self._fail(done, f"upload blob {digest}", repository)
        return digest
