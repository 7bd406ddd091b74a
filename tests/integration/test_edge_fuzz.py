"""Every command's parsers under generated hostile input, run as a user runs them: the CLI in a subprocess
with a memory limit (RLIMIT_AS), a CPU limit and a timeout.

For input that cannot be understood (an alias bomb, nesting past any sane depth, a huge or endless file,
bytes that are not text, a secret with a line break) the promise is: exit 2, one clear line on stderr,
no traceback, nothing written (the workspace and the config repo are as before), and the run stays
within the limits. Generated variations (hypothesis, with small example counts to keep the suite fast)
may also be understood; then the run must still end within the limits without a traceback.

No Kubernetes API server can run here: the NamespaceList comes from a tiny HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.integration

MEMORY = 1024 * 1024 * 1024  # address space of one run
CPU_SECONDS = 60
WALL_SECONDS = 120
SHA = "0123456789abcdef0123456789abcdef01234567"


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI under the memory, CPU and wall-clock limits; a run past them fails the test."""
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=WALL_SECONDS,
        preexec_fn=_limits,
        env={**os.environ, **(env or {})},
    )


def snapshot(*roots: Path) -> str:
    """Every file under ``roots`` (git's objects and refs too) with its content hash."""
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def assert_refused(proc: subprocess.CompletedProcess[str], *secrets: str) -> None:
    """Exit 2, one clear line (and perhaps its hint), no traceback, no secret."""
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stderr[-2000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: ") and len(lines[0]) < 1000, proc.stderr[-2000:]
    assert len(lines) <= 2 and all(line.startswith("  hint:") for line in lines[1:]), proc.stderr[-2000:]
    for secret in secrets:
        assert secret not in proc.stderr + proc.stdout


def assert_survived(proc: subprocess.CompletedProcess[str]) -> None:
    """Understood or refused, but never a crash."""
    assert proc.returncode in (0, 1, 2), f"exit {proc.returncode}\n{proc.stderr[-2000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]


# hostile shapes


def alias_bomb(levels: int = 9, fanout: int = 9) -> str:
    lines = ["l0: &l0 [" + ", ".join(['"lol"'] * fanout) + "]"]
    lines += [f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * fanout) + "]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def deep_yaml(depth: int) -> str:
    return "a: " + "[" * depth + "]" * depth + "\n"


def deep_json(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


HOSTILE_YAML: dict[str, Callable[[], bytes]] = {
    "alias bomb": lambda: alias_bomb().encode(),
    "recursive alias": lambda: b"a: &a [1, *a]\n",
    "deep flow nesting": lambda: deep_yaml(5000).encode(),
    "deep block nesting": lambda: "".join("  " * i + "a:\n" for i in range(300)).encode() + b"  " * 300 + b"x\n",
    "huge": lambda: b"# filler\n" * (40 * 1024 * 1024 // 9),
    "not utf-8": lambda: b"org: caf\xe9\n",
    "binary": lambda: bytes(range(256)) * 4,
    "python tag": lambda: b"a: !!python/object/apply:os.system ['touch PWNED']\n",
    "unclosed": lambda: b"a: [1, 2\n",
}
HOSTILE_JSON: dict[str, Callable[[], bytes]] = {
    "deep array": lambda: b"[" * 200_000 + b"]" * 200_000,
    "deep object": lambda: deep_json(5000).encode(),
    "huge": lambda: b" " * (40 * 1024 * 1024) + b"{}",
    "not utf-8": lambda: b'{"a": "\xff"}',
    "binary": lambda: bytes(range(256)) * 4,
    "truncated": lambda: b'{"action": "opened", "pull_request": {',
    "digits": lambda: b"1" * 10_000,
}

yaml_variations = st.builds(
    lambda levels, fanout, depth, junk: [alias_bomb(levels, fanout), deep_yaml(depth), junk][levels % 3].encode(
        "utf-8", "surrogatepass"
    ),
    st.integers(5, 12),
    st.integers(8, 20),
    st.integers(40, 3000),
    st.text(max_size=200),
)
json_variations = st.one_of(
    st.builds(lambda d: ("[" * d + "]" * d).encode(), st.integers(50, 50_000)),
    st.builds(lambda d: deep_json(d).encode(), st.integers(50, 5_000)),
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
FUZZ = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A scaffolded monorepo with its local config repo, one preview open."""
    from shipyard.scaffold.init import InitOptions, init

    root = tmp_path_factory.mktemp("fuzz") / "acme"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in (("GIT_AUTHOR_NAME", "T"), ("GIT_COMMITTER_NAME", "T")):
            patch.setenv(key, value)
        for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
            patch.setenv(key, "t@example.com")
        init(InitOptions(directory=root, org="acme", domain="acme.example.com"))
        assert run(root, "preview", "up", "--pr", "1", "--sha", SHA).returncode == 0
        yield root


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# the spec


@pytest.mark.parametrize("shape", sorted(HOSTILE_YAML))
def test_a_hostile_spec_is_refused(tmp_path: Path, shape: str) -> None:
    write(tmp_path, "shipyard.yaml", HOSTILE_YAML[shape]())
    before = snapshot(tmp_path)
    assert_refused(run(tmp_path, "check"))
    assert snapshot(tmp_path) == before and not (tmp_path / "PWNED").exists()


@FUZZ
@given(data=yaml_variations)
def test_generated_specs_end_within_bounds(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    folder = tmp_path_factory.mktemp("spec")
    write(folder, "shipyard.yaml", data)
    assert_survived(run(folder, "check"))


def test_a_spec_that_writes_outside_is_refused_before_render(tmp_path: Path, workspace: Path) -> None:
    import yaml

    spec = yaml.safe_load((workspace / "shipyard.yaml").read_text())
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    (hostile / "services").symlink_to(workspace / "services")
    for extra in (
        {"preview": {"namespace": "../../../escape-{number}"}},
        {"environments": [{"name": "dev", "host": "{service.__class__}.{domain}"}]},
        {"registry": {"url": "robot:s3cret@harbor.acme.example.com"}},
        {"repos": {"config": "--upload-pack=touch PWNED"}},
    ):
        (hostile / "shipyard.yaml").write_text(yaml.safe_dump({**spec, **extra}))
        before = snapshot(hostile, workspace / ".shipyard" / "gitops-config.git")
        for args in (
            ["check"],
            ["render", "--out", str(hostile / "out")],
            ["preview", "up", "--pr", "3", "--sha", SHA],
        ):
            assert_refused(run(hostile, *args), "s3cret")
        assert snapshot(hostile, workspace / ".shipyard" / "gitops-config.git") == before
        assert not (hostile / "PWNED").exists()


# webhook payloads and their secrets


@pytest.mark.parametrize("shape", sorted(HOSTILE_JSON))
def test_a_hostile_webhook_body_is_refused(tmp_path: Path, shape: str) -> None:
    event = write(tmp_path, "event.json", HOSTILE_JSON[shape]())
    assert_refused(run(tmp_path, "ci", "plan", str(event), "--event-type", "pull_request"))
    before = snapshot(tmp_path)
    assert_refused(run(tmp_path, "ci", "run", str(event), "--event-type", "pull_request", "--workdir", "runs"))
    assert snapshot(tmp_path) == before and not (tmp_path / "runs").exists()


def test_an_endless_webhook_body_is_refused(tmp_path: Path) -> None:
    assert_refused(run(tmp_path, "ci", "plan", "/dev/zero", "--event-type", "push"))
    assert_refused(run(tmp_path, "ci", "run", "/dev/zero", "--event-type", "push", "--dry-run"))


@FUZZ
@given(data=json_variations)
def test_generated_webhook_bodies_end_within_bounds(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    event = write(tmp_path_factory.mktemp("event"), "event.json", data)
    assert_survived(run(event.parent, "ci", "plan", str(event), "--event-type", "push"))


@pytest.mark.parametrize(
    "signature", ["sha256=ÿ" + "a" * 63, "sha256=" + "é" * 64, "sha1=abc", "", "sha256=" + "g" * 64]
)
def test_a_malformed_signature_is_refused(tmp_path: Path, signature: str) -> None:
    event = write(tmp_path, "event.json", b'{"ref": "refs/heads/develop"}')
    secret = write(tmp_path, "secret", b"s3cretvalue\n")
    assert_refused(run(tmp_path, "ci", "plan", str(event), "--signature", signature, "--secret-file", str(secret)))


# secret files


TOKEN = "ghp_0123456789abcdefghij"
HOSTILE_SECRETS: dict[str, bytes | str] = {
    "/dev/zero": "/dev/zero",
    "two lines": f"{TOKEN}\nsecond\n".encode(),
    "carriage return": f"{TOKEN}\r\nX-Injected: 1\r\n".encode(),
    "nul": f"{TOKEN}\x00".encode(),
    "empty": b"\n",
    "binary": bytes(range(256)),
    "huge": b"a" * (1024 * 1024),
    "folder": "folder",
}


def secret_file(folder: Path, shape: str) -> str:
    value = HOSTILE_SECRETS[shape]
    if value == "folder":
        return str(folder)
    if isinstance(value, str):
        return value
    return str(write(folder, "secret", value))


@pytest.mark.parametrize("shape", sorted(HOSTILE_SECRETS))
def test_hostile_secret_files_are_refused_before_anything_changes(tmp_path: Path, workspace: Path, shape: str) -> None:
    path = secret_file(tmp_path, shape)
    config = workspace / ".shipyard" / "gitops-config.git"
    before = snapshot(config)
    event = str(write(tmp_path, "e.json", b"{}"))
    rules = str(write(tmp_path, "rules.yaml", b"tables: {}\n"))
    comment = ["--comment", "--repo", "acme/app", "--token-file", path]
    runs = [
        run(tmp_path, "pr", "comment", "--repo", "acme/app", "--pr", "1", "--token-file", path),
        run(workspace, "preview", "up", "--pr", "2", "--sha", SHA, *comment),
        run(workspace, "preview", "gc", "--github", "--repo", "acme/app", "--token-file", path),
        run(tmp_path, "ci", "plan", event, "--signature", "sha256=" + "0" * 64, "--secret-file", path),
        run(tmp_path, "sandbox", "db", "clone", "--from", "postgresql://a/b", "--to", "postgresql://c/d",
            "--rules", rules, "--salt-file", path),
        run(workspace, "preview", "gc", "--cluster", "--kubeconfig", str(kubeconfig_with_token_file(tmp_path, path))),
    ]  # fmt: skip
    for proc in runs:
        assert_refused(proc, TOKEN)
    assert snapshot(config) == before


def kubeconfig_with_token_file(folder: Path, token_file: str) -> Path:
    """A kubeconfig whose user's token is read from ``token_file``; its server is never reached."""
    kubeconfig = folder / "kubeconfig"
    user = {"tokenFile": token_file}
    cluster = {"server": "http://127.0.0.1:9"}
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": cluster}],
                "users": [{"name": "u", "user": user}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    return kubeconfig


# PR state files, matrix files, rules and allow-lists


@pytest.mark.parametrize("shape", sorted(HOSTILE_JSON))
def test_a_hostile_pr_state_file_is_refused_before_the_clean_up(tmp_path: Path, workspace: Path, shape: str) -> None:
    states = write(tmp_path, "states.json", HOSTILE_JSON[shape]())
    config = workspace / ".shipyard" / "gitops-config.git"
    before = snapshot(config)
    assert_refused(run(workspace, "preview", "gc", "--pr-state", str(states), "--now", "2030-01-01T00:00:00Z"))
    assert snapshot(config) == before, "the expired preview was not removed on the strength of a broken file"


@FUZZ
@given(data=json_variations)
def test_generated_pr_state_files_end_within_bounds(
    tmp_path_factory: pytest.TempPathFactory, workspace: Path, data: bytes
) -> None:
    states = write(tmp_path_factory.mktemp("states"), "states.json", data)
    assert_survived(run(workspace, "preview", "gc", "--pr-state", str(states), "--dry-run"))


@pytest.mark.parametrize("shape", sorted(HOSTILE_JSON))
def test_a_hostile_matrix_file_is_refused(tmp_path: Path, shape: str) -> None:
    matrix = write(tmp_path, "matrix.json", HOSTILE_JSON[shape]())
    assert_refused(run(tmp_path, "ci", "batches", str(matrix), "--output", str(tmp_path / "out.json")))
    assert not (tmp_path / "out.json").exists()


def test_matrix_names_that_read_as_options_are_refused(tmp_path: Path) -> None:
    matrix = write(tmp_path, "matrix.json", b'["api", "--exec=touch PWNED"]')
    assert_refused(run(tmp_path, "ci", "batches", str(matrix), "--output", str(tmp_path / "out.json")))


@pytest.mark.parametrize("shape", sorted(HOSTILE_YAML))
def test_hostile_rules_and_allow_lists_are_refused(tmp_path: Path, shape: str) -> None:
    rules = write(tmp_path, "rules.yaml", HOSTILE_YAML[shape]())
    proc = run(
        tmp_path,
        *("sandbox", "db", "clone", "--from", "postgresql://a/b", "--to", "postgresql://c/d", "--rules", str(rules)),
    )
    assert_refused(proc)
    report = write(tmp_path, "trivy.json", json.dumps({"SchemaVersion": 2, "Results": []}).encode())
    assert_refused(run(tmp_path, "scan", "gate", str(report), "--allowlist", str(rules)))


@pytest.mark.parametrize("shape", sorted(HOSTILE_JSON))
def test_hostile_scan_reports_are_refused(tmp_path: Path, shape: str) -> None:
    report = write(tmp_path, "trivy.json", HOSTILE_JSON[shape]())
    assert_refused(run(tmp_path, "scan", "gate", str(report)))


# the Kubernetes API's answers


class HostileApi(BaseHTTPRequestHandler):
    body: ClassVar[bytes] = b""
    deletes: ClassVar[list[str]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stopped reading, rightly
            self.wfile.write(self.body)

    def do_DELETE(self) -> None:
        type(self).deletes.append(self.path)
        self.send_response(200)
        self.end_headers()


@pytest.fixture
def hostile_api(tmp_path: Path) -> Iterator[tuple[Path, type[HostileApi]]]:
    handler = type("Handler", (HostileApi,), {"deletes": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = tmp_path / "kubeconfig"
    server_url = f"http://127.0.0.1:{server.server_address[1]}"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server_url}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    try:
        yield kubeconfig, handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("shape", sorted(HOSTILE_JSON))
def test_a_hostile_namespace_list_deletes_nothing(
    workspace: Path, hostile_api: tuple[Path, type[HostileApi]], shape: str
) -> None:
    kubeconfig, handler = hostile_api
    handler.body = HOSTILE_JSON[shape]()
    proc = run(workspace, "preview", "gc", "--cluster", "--delete-orphans", "--kubeconfig", str(kubeconfig))
    assert_refused(proc)
    assert handler.deletes == []
