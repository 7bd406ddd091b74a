"""``ci plan`` on GitHub's real webhook examples (npm @octokit/webhooks-examples) and signature test vector."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.ci.signature import SignatureError, sign, verify
from shipyard.render.tekton.routes import infer_event_type, plan_event
from tests.ci_parts import webhook_examples

pytestmark = pytest.mark.integration

HANDLED = ("pull_request", "push", "create", "delete", "ping")
SECRET = b"It's a Secret to Everybody"
VECTOR = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def _plan(tmp_path: Path, body: bytes, *args: str) -> subprocess.CompletedProcess[str]:
    event = tmp_path / "event.json"
    event.write_bytes(body)
    return subprocess.run(
        [sys.executable, "-m", "shipyard", "ci", "plan", str(event), *args], capture_output=True, text=True, check=False
    )


def test_every_handled_example_gets_a_decision() -> None:
    examples = webhook_examples(*HANDLED)
    assert {e for e, _, _ in examples} == set(HANDLED)
    for event, index, body in examples:
        result = plan_event(event, body)
        assert bool(result.pipelines) != bool(result.ignored), (event, index)
        if event == "pull_request":
            action = body["action"]
            names = [n for n, _ in result.pipelines]
            expected = {"opened": ["pr-validation"], "synchronize": ["pr-validation"], "reopened": ["pr-validation"]}
            assert names == expected.get(action, ["preview-teardown"] if action == "closed" else []), action
            if names == ["pr-validation"]:
                params = result.pipelines[0][1]
                assert params["pr-number"] == str(body["number"])
                assert params["git-revision"] == body["pull_request"]["head"]["sha"]
                assert params["git-url"] == body["repository"]["clone_url"]
        else:
            # The examples' pushes are tags, deletions and pushes to 'master': none starts a pipeline.
            assert result.pipelines == ()
            assert result.ignored


def test_event_type_is_inferred_right_or_not_at_all() -> None:
    for event, index, body in webhook_examples():
        guessed = infer_event_type(body)
        assert guessed in (None, event), (event, index, guessed)
        if event in HANDLED:
            assert guessed == event, (event, index)


def _push(ref: str, files: list[str] | None = None, deleted: bool = False) -> dict[str, Any]:
    # A real push example with its ref and changed files rewritten to our branch model.
    base = next(b for e, _, b in webhook_examples("push") if b["ref"].startswith("refs/heads/"))
    body = copy.deepcopy(base)
    body.update(ref=ref, deleted=deleted)
    for commit in body["commits"]:
        commit.update(added=files or [], modified=[], removed=[])
    return body


@pytest.mark.parametrize(
    ("ref", "files", "deleted", "pipelines"),
    [
        ("refs/heads/develop", ["services/user-service/src/server.js"], False, ["alpha-build"]),
        ("refs/heads/develop", ["packages/utils/src/index.ts"], False, ["alpha-build", "package-build"]),
        ("refs/heads/release/v1.2.0", ["README.md"], False, ["beta-build"]),
        ("refs/heads/hotfix/fix-login", ["packages/utils/x"], False, ["beta-build", "package-build"]),
        ("refs/heads/main", [], False, ["stable-release"]),
        ("refs/heads/develop", [], True, []),
        ("refs/heads/feature/user-service-oauth2", ["packages/utils/x"], False, []),
        ("refs/tags/v1.2.0", ["packages/utils/x"], False, []),
    ],
)
def test_branch_model_routes(ref: str, files: list[str], deleted: bool, pipelines: list[str]) -> None:
    result = plan_event("push", _push(ref, files, deleted))
    assert [n for n, _ in result.pipelines] == pipelines
    if pipelines:
        assert result.pipelines[0][1]["git-ref"] == ref
    else:
        assert result.ignored


def test_signature_test_vector_from_githubs_docs() -> None:
    assert sign(b"Hello, World!", SECRET) == VECTOR
    verify(b"Hello, World!", VECTOR, SECRET)
    with pytest.raises(SignatureError, match="does not match"):
        verify(b"Hello, World?", VECTOR, SECRET)
    with pytest.raises(SignatureError, match="does not match"):
        verify(b"Hello, World!", VECTOR[:-1] + "f", SECRET)
    with pytest.raises(SignatureError, match="sha256="):
        verify(b"Hello, World!", "sha1=0123", SECRET)


@settings(max_examples=50, deadline=None)
@given(body=st.binary(min_size=1, max_size=300), flip=st.integers(min_value=0, max_value=299))
def test_any_changed_byte_is_rejected(body: bytes, flip: int) -> None:
    signature = sign(body, SECRET)
    verify(body, signature, SECRET)
    tampered = bytearray(body)
    tampered[flip % len(body)] ^= 0x01
    with pytest.raises(SignatureError):
        verify(bytes(tampered), signature, SECRET)


def test_cli_checks_the_signature_before_parsing(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(SECRET + b"\n")
    body = json.dumps(_push("refs/heads/develop", ["packages/utils/a.ts"])).encode()
    good = _plan(tmp_path, body, "--signature", sign(body, SECRET), "--secret-file", str(secret), "--json")
    assert good.returncode == 0, good.stderr
    assert [p["name"] for p in json.loads(good.stdout)["pipelines"]] == ["alpha-build", "package-build"]
    assert json.loads(good.stdout)["ignored"] is None

    tampered = _plan(
        tmp_path, body.replace(b"develop", b"main"), "--signature", sign(body, SECRET), "--secret-file", str(secret)
    )
    assert tampered.returncode == 2
    assert "does not match" in tampered.stderr
    # Not JSON at all, but signed wrong: the signature error comes first, proving nothing was parsed.
    junk = _plan(tmp_path, b"\xff not json", "--signature", sign(body, SECRET), "--secret-file", str(secret))
    assert junk.returncode == 2
    assert "does not match" in junk.stderr
    unsigned_half = _plan(tmp_path, body, "--signature", sign(body, SECRET))
    assert unsigned_half.returncode == 2


def test_cli_explains_ignored_events(tmp_path: Path) -> None:
    tag = next(b for e, _, b in webhook_examples("push") if b["ref"].startswith("refs/tags/") and not b["deleted"])
    out = _plan(tmp_path, json.dumps(tag).encode(), "--event-type", "push", "--json")
    assert out.returncode == 0
    data = json.loads(out.stdout)
    assert data == {"event": "push", "pipelines": [], "ignored": data["ignored"]}
    assert "tag push" in data["ignored"]
    unknown = _plan(tmp_path, b'{"hello": 1}')
    assert unknown.returncode == 2
    assert "--event-type" in unknown.stderr
