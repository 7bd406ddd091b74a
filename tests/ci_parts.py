"""The npm-installed parts the CI tests read: GitHub's webhook examples and OpenAPI description, tekton-lint."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from tests.realparts import REPO_ROOT, missing

NODE_MODULES = REPO_ROOT / ".tools" / "npm-test" / "node_modules"


def npm_file(*parts: str) -> Path:
    """A file of an npm package installed by `make test-deps` (deps/npm-test/package.json), or skip/fail."""
    path = NODE_MODULES.joinpath(*parts)
    if not path.exists():
        missing(str(path), "installed by `make test-deps` from deps/npm-test/package.json")
    return path


@cache
def _examples() -> list[dict[str, Any]]:
    path = npm_file("@octokit", "webhooks-examples", "api.github.com", "index.json")
    data: list[dict[str, Any]] = json.loads(path.read_text())
    return data


def webhook_examples(*events: str) -> list[tuple[str, int, dict[str, Any]]]:
    """(event, index, payload) for every example of the given events (all events when none is given)."""
    return [
        (entry["name"], index, example)
        for entry in _examples()
        if not events or entry["name"] in events
        for index, example in enumerate(entry["examples"])
    ]
