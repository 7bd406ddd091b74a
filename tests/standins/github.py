"""A stand-in for GitHub's REST API on 127.0.0.1: no GitHub is reachable from here, so tests talk to this.

It is held to GitHub's own OpenAPI description (npm @octokit/openapi) by ``ContractStandIn``. It keeps
issue comments, pull request reviews and pull requests (their state) in memory and paginates with ``Link``
as GitHub does.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from tests.standins.openapi import OpenAPI, Operation
from tests.standins.server import ContractStandIn, Reply

_NOT_FOUND = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}


# The token the stand-in accepts; tests check it never appears in output.
TEST_TOKEN = "ghp_TESTTOKEN0123456789abcdefSECRET"


class GitHubStandIn(ContractStandIn):
    """GitHub's issue comments, pull request reviews and pull request states, for one token."""

    def __init__(self, api: OpenAPI, token: str) -> None:
        super().__init__(api)
        self.token = token
        self.comments: dict[int, dict[str, Any]] = {}
        self.reviews: dict[int, dict[str, Any]] = {}
        self.pulls: dict[tuple[str, int], dict[str, Any]] = {}
        self._next_id = 1000

    def unauthorized(self, headers: dict[str, str]) -> Reply | None:
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, {}
        return None

    def header_problems(self, headers: dict[str, str]) -> list[str]:
        if "application/vnd.github" not in headers.get("accept", ""):
            return ["Accept must ask for application/vnd.github+json"]
        return []

    def add_comment(self, repo: str, number: int, body: str, login: str = "someone") -> dict[str, Any]:
        """Seed a comment, as if a person had written it."""
        found = self.api.find("POST", f"/repos/{repo}/issues/{number}/comments")
        if found is None:
            raise LookupError("GitHub's API has no issue comments")
        comment = self._comment(found[0], repo, number, body, login)
        self.comments[comment["id"]] = comment
        return comment

    def add_pull(
        self, repo: str, number: int, state: str, *, merged: bool = False, head: str | None = None
    ) -> dict[str, Any]:
        """Seed a pull request: ``state`` open or closed; a merged one is closed with ``merged`` true; ``head``
        is its head commit."""
        found = self.api.find("GET", f"/repos/{repo}/pulls/{number}")
        if found is None:
            raise LookupError("GitHub's API has no pull requests")
        pull: dict[str, Any] = self.api.fake(self.api.response_schema(found[0], 200))
        stamp = "2026-01-02T00:00:00Z"
        pull.update(
            id=self._new_id(),
            number=number,
            state=state,
            merged=merged,
            merged_at=stamp if merged else None,
            closed_at=stamp if state == "closed" else None,
        )
        if head is not None:
            pull["head"]["sha"] = head
        self.pulls[(repo, number)] = pull
        return pull

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _comment(self, op: Operation, repo: str, number: int, body: str, login: str) -> dict[str, Any]:
        comment: dict[str, Any] = self.api.fake(self.api.response_schema(op, 201))
        ident = self._new_id()
        base = f"{self.url}/repos/{repo}"
        comment.update(
            id=ident,
            body=body,
            url=f"{base}/issues/comments/{ident}",
            html_url=f"https://github.example.invalid/{repo}/pull/{number}#issuecomment-{ident}",
            issue_url=f"{base}/issues/{number}",
        )
        comment["user"]["login"] = login
        comment.update({"x-issue": number, "x-repo": repo})
        return comment

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        # "x-" keys are the stand-in's own bookkeeping; GitHub's fields never start so.
        return {k: v for k, v in obj.items() if not k.startswith("x-")}

    def _page(self, items: list[dict[str, Any]], path: str, query: dict[str, str]) -> Reply:
        per_page = min(int(query.get("per_page", "30")), 100)
        page = int(query.get("page", "1"))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            following = urllib.parse.urlencode({**query, "page": str(page + 1)})
            headers["Link"] = f'<{self.url}{path}?{following}>; rel="next"'
        return 200, [self._public(i) for i in chunk], headers

    def serve(self, op: Operation, values: dict[str, str], path: str, query: dict[str, str], body: Any) -> Reply:
        repo = f"{values.get('owner')}/{values.get('repo')}"
        key = (op.method, op.template)
        if key == ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments"):
            number = int(values["issue_number"])
            mine = [c for c in self.comments.values() if c["x-repo"] == repo and c["x-issue"] == number]
            return self._page(mine, path, query)
        if key == ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"):
            comment = self._comment(op, repo, int(values["issue_number"]), body["body"], "shipyard-bot")
            self.comments[comment["id"]] = comment
            return 201, self._public(comment), {}
        if key == ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"):
            existing = self.comments.get(int(values["comment_id"]))
            if existing is None or existing["x-repo"] != repo:
                return 404, _NOT_FOUND, {}
            existing.update(body=body["body"], updated_at="2026-01-02T00:00:00Z")
            return 200, self._public(existing), {}
        if key == ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}"):
            pull = self.pulls.get((repo, int(values["pull_number"])))
            return (404, _NOT_FOUND, {}) if pull is None else (200, pull, {})
        if key == ("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"):
            sha = values["commit_sha"]
            heads = [p for (r, _), p in self.pulls.items() if r == repo and p["head"]["sha"] == sha]
            return self._page(heads, path, query)
        if key == ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"):
            number = int(values["pull_number"])
            mine = [r for r in self.reviews.values() if r["x-repo"] == repo and r["x-pr"] == number]
            return self._page(mine, path, query)
        if key == ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"):
            review: dict[str, Any] = self.api.fake(self.api.response_schema(op, 200))
            states = {"REQUEST_CHANGES": "CHANGES_REQUESTED", "APPROVE": "APPROVED", "COMMENT": "COMMENTED"}
            review.update(
                id=self._new_id(), body=body.get("body", ""), state=states.get(body.get("event", ""), "PENDING")
            )
            review.update({"x-repo": repo, "x-pr": int(values["pull_number"])})
            self.reviews[review["id"]] = review
            return 200, self._public(review), {}
        if key == ("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/dismissals"):
            found = self.reviews.get(int(values["review_id"]))
            if found is None:
                return 404, _NOT_FOUND, {}
            found["state"] = "DISMISSED"
            return 200, self._public(found), {}
        return super().serve(op, values, path, query, body)
