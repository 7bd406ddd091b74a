"""The GitHub client's transport seam and its fail-closed rules, through httpx's MockTransport.

The client's behaviour against GitHub's API contract is tested with the loopback stand-in
(tests/integration/test_github_feedback.py); these check what a seam shows best.
"""

from __future__ import annotations

import httpx
import pytest

from shipyard.github.client import GitHubClient, GitHubError

TOKEN = "ghp_UNIT_TEST_TOKEN"


def _client(handler: httpx.MockTransport) -> GitHubClient:
    return GitHubClient(token=TOKEN, transport=handler, sleep=lambda _s: None, clock=lambda: 0.0)


def test_requests_carry_the_token_json_and_api_version() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": 7})

    reply = _client(httpx.MockTransport(handle)).request("POST", "/repos/a/b/issues/1/comments", {"body": "hi"})
    assert reply.status == 201 and reply.data == {"id": 7}
    (request,) = seen
    assert str(request.url) == "https://api.github.com/repos/a/b/issues/1/comments"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["content-type"] == "application/json" and request.content == b'{"body": "hi"}'


def test_a_next_page_on_another_host_is_refused() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[1], headers={"Link": '<https://collector.example/steal>; rel="next"'})

    with pytest.raises(GitHubError, match="another origin"):
        list(_client(httpx.MockTransport(handle)).paginate("/repos/a/b/issues/1/comments"))


def test_a_500_is_reported_at_once_and_a_post_is_never_sent_twice_after_a_502() -> None:
    calls: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(500 if request.method == "GET" else 502, json={"message": "oops"})

    client = _client(httpx.MockTransport(handle))
    with pytest.raises(GitHubError, match=r"GitHub answered 500 \(oops\)$"):
        client.request("GET", "/repos/a/b/pulls/1")
    with pytest.raises(GitHubError, match=r"GitHub answered 502 \(oops\)$"):
        client.request("POST", "/repos/a/b/issues/1/comments", {"body": "x"})
    assert calls == ["GET", "POST"]


def test_the_token_is_never_in_a_repr_or_an_error() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = _client(httpx.MockTransport(handle))
    with pytest.raises(GitHubError, match="cannot reach") as caught:
        client.request("GET", "/user")
    assert TOKEN not in str(caught.value) and TOKEN not in repr(client)
