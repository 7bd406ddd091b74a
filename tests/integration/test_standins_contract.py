"""The contract checker the stand-ins rely on, on both kinds of description: GitHub's OpenAPI 3.0 and
Harbor's Swagger 2.0 (from ../shared/reference/harbor), so a Harbor stand-in can be built the same way."""

from __future__ import annotations

import pytest

from tests.ci_parts import npm_file
from tests.realparts import need_reference
from tests.standins.openapi import OpenAPI

pytestmark = pytest.mark.integration


def test_harbor_swagger_requests_and_answers() -> None:
    harbor = OpenAPI(need_reference("harbor", "swagger.yaml"))
    found = harbor.find("POST", "/api/v2.0/projects")
    assert found is not None
    op, _ = found
    assert harbor.check_request(op, {}, {}, {"project_name": "services", "metadata": {"auto_scan": "true"}}) == []
    assert harbor.check_request(op, {}, {}, {"project_name": 5}) != []
    assert harbor.check_request(op, {}, {}, None) == ["POST /projects needs a JSON body"]
    assert harbor.find("POST", "/projects") is None  # outside basePath
    tags = harbor.find("GET", "/api/v2.0/projects/services/repositories/user-service/artifacts/sha256:ab/tags")
    assert tags is not None
    op, values = tags
    assert values == {"project_name": "services", "repository_name": "user-service", "reference": "sha256:ab"}
    assert harbor.check_request(op, values, {"page_size": "ten"}, None) == [
        "query parameter 'page_size' must be an integer, got 'ten'"
    ]
    answer = [harbor.fake(harbor.response_schema(op, 200)["items"])]
    assert harbor.check_response(op, 200, answer) == []
    assert harbor.check_response(op, 200, [{"id": "not-an-int"}]) != []


def test_github_description_paths_and_schemas() -> None:
    github = OpenAPI(npm_file("@octokit", "openapi", "generated", "api.github.com.json"))
    # A literal segment wins over a template: /pulls/comments is not pull number "comments".
    found = github.find("GET", "/repos/o/r/pulls/comments")
    assert found is not None and found[0].template == "/repos/{owner}/{repo}/pulls/comments"
    op, values = github.find("PATCH", "/repos/o/r/issues/comments/12") or (None, {})
    assert op is not None and values["comment_id"] == "12"
    assert github.check_request(op, values, {}, {"body": "x"}) == []
    comment = github.fake(github.response_schema(op, 200))
    assert github.check_response(op, 200, comment) == []
    comment["created_at"] = None
    assert github.check_response(op, 200, comment) != []
    assert github.check_response(op, 418, None) == [
        "status 418 is not a documented response of PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}"
    ]
