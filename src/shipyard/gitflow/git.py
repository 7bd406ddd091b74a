"""The git layer: every change Shipyard makes to a repository goes through here.

Git is run as a subprocess (no libgit2), so behaviour matches what users see on the command line.
Changes to shared branches follow one pattern: fetch, re-apply the change on the newest tip, commit
with trailers, push; on a rejected push start again, so concurrent writers never lose an update.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import ShipyardError

TRAILER_KEYS = (
    "Shipyard-Service",
    "Shipyard-Version",
    "Shipyard-Digest",
    "Shipyard-Source-Commit",
    "Shipyard-PR",
    "Shipyard-Freight",
    "Shipyard-Stage",
    "Shipyard-Approved-By",
    "Shipyard-Mirrors",
)

Trailers = Sequence[tuple[str, str]]


class GitError(ShipyardError):
    """A git command failed; carries git's own message."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args)} failed ({returncode}): {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


class PushRejected(GitError):
    """The remote moved on while we worked: fetch, re-apply and push again."""


@dataclass(frozen=True)
class Identity:
    """Who commits: Shipyard's own identity unless the environment or git config says otherwise."""

    name: str = "Shipyard"
    email: str = "shipyard@localhost"


class Git:
    """A repository (work tree or bare) and the git operations Shipyard needs on it."""

    def __init__(self, path: Path, identity: Identity | None = None) -> None:
        self.path = path
        self.identity = identity or Identity()

    def run(
        self, *args: str, input: str | None = None, check: bool = True, env: Mapping[str, str] | None = None
    ) -> str:
        """Run git in the repository and return its standard output."""
        proc = self.execute(*args, input=input, env=env)
        if check and proc.returncode != 0:
            raise GitError(args, proc.returncode, proc.stderr)
        return proc.stdout

    def execute(
        self, *args: str, input: str | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run git and return the finished process, whatever its exit code."""
        full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
        full_env.setdefault("GIT_AUTHOR_NAME", self.identity.name)
        full_env.setdefault("GIT_AUTHOR_EMAIL", self.identity.email)
        full_env.setdefault("GIT_COMMITTER_NAME", self.identity.name)
        full_env.setdefault("GIT_COMMITTER_EMAIL", self.identity.email)
        return subprocess.run(
            ["git", "-C", str(self.path), *args],
            input=input,
            capture_output=True,
            text=True,
            env=full_env,
            check=False,
        )

    # Reading

    def rev_parse(self, ref: str) -> str:
        """The full commit id of ``ref``."""
        return self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()

    def has_ref(self, ref: str) -> bool:
        """True when ``ref`` names a commit here."""
        return bool(self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).strip())

    def is_shallow(self) -> bool:
        """True for a shallow clone, where history (and so versions and diffs) may be incomplete."""
        return self.run("rev-parse", "--is-shallow-repository").strip() == "true"

    def current_branch(self) -> str | None:
        """The checked-out branch, or None on a detached HEAD."""
        name = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()
        return name or None

    def is_clean(self) -> bool:
        """True when the work tree has no uncommitted changes."""
        return not self.run("status", "--porcelain").strip()

    # Changing

    def commit(
        self, message: str, trailers: Trailers = (), *, paths: Sequence[str] = (), allow_empty: bool = False
    ) -> str | None:
        """Stage ``paths`` (or everything), commit with the trailers, and return the new commit id.

        Returns None when there is nothing to commit, so re-running a command changes nothing.
        """
        self.run("add", "--all", "--", *(paths or ["."]))
        if not allow_empty and not self.run("diff", "--cached", "--name-only").strip():
            return None
        self.run(
            "commit",
            "--quiet",
            "--no-verify",
            *(["--allow-empty"] if allow_empty else []),
            "-F",
            "-",
            input=format_message(message, trailers),
        )
        return self.rev_parse("HEAD")

    def push(self, remote: str, refspecs: Sequence[str], *, atomic: bool = False) -> None:
        """Push; raise PushRejected when the remote has moved on (non-fast-forward or a ref already there)."""
        args = ["push", "--porcelain", *(["--atomic"] if atomic else []), remote, *refspecs]
        proc = self.execute(*args)
        if proc.returncode == 0:
            return
        # `--porcelain` marks each rejected ref with "!" on stdout; anything else is a real failure.
        if any(line.startswith("!") for line in proc.stdout.splitlines()):
            raise PushRejected(args, proc.returncode, proc.stdout + proc.stderr)
        raise GitError(args, proc.returncode, proc.stderr or proc.stdout)


def format_message(message: str, trailers: Trailers = ()) -> str:
    """A commit message with Shipyard's trailers, one per line after a blank line."""
    for key, value in trailers:
        if "\n" in value or not key.replace("-", "").isalnum():
            raise ValueError(f"invalid trailer {key!r}: {value!r}")
    body = message.rstrip() + "\n"
    if trailers:
        body += "\n" + "".join(f"{key}: {value}\n" for key, value in trailers)
    return body


def parse_trailers(message: str) -> list[tuple[str, str]]:
    """The ``Key: value`` trailers of a commit message's last paragraph."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return []
    found: list[tuple[str, str]] = []
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(": ")
        if not sep or not key.replace("-", "").isalnum():
            return []
        found.append((key, value.strip()))
    return found


def change_branch(
    checkout: Path,
    remote: str,
    branch: str,
    apply: Callable[[Path], str | None],
    trailers: Trailers = (),
    *,
    attempts: int = 20,
) -> str | None:
    """Apply a change to ``branch`` of ``remote`` and push it, retrying when another writer won the race.

    ``apply`` edits the work tree at ``checkout`` (already reset to the remote tip) and returns the
    commit message, or None when there is nothing to do. Returns the pushed commit, or None when no
    change was needed. Each retry fetches, resets to the new tip and calls ``apply`` again, so the
    change is re-derived from the newest state rather than replayed blindly.
    """
    git = Git(checkout)
    for attempt in range(attempts):
        git.run("fetch", "--quiet", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}")
        git.run("checkout", "--quiet", "-B", branch, f"refs/remotes/{remote}/{branch}")
        git.run("reset", "--quiet", "--hard", f"refs/remotes/{remote}/{branch}")
        git.run("clean", "-fdq")
        message = apply(checkout)
        if message is None:
            return None
        commit = git.commit(message, trailers)
        if commit is None:
            return None
        try:
            git.push(remote, [f"HEAD:refs/heads/{branch}"])
            return commit
        except PushRejected:
            # Someone else pushed first; back off a little (with jitter, so racers spread out) and redo.
            time.sleep(min(0.05 * (2**attempt), 1.0) * random.uniform(0.5, 1.5))
    raise ShipyardError(
        f"could not push to {branch} of {remote} after {attempts} attempts: other writers kept winning",
        hint="run the command again; nothing was half-applied",
    )
