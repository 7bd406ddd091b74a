"""A repository and the git operations Shipyard needs on it. Git runs as a subprocess (no libgit2), so
behaviour matches what users see on the command line."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.git.refname import check_ref, check_value
from shipyard.git.trailers import Trailers, format_message
from shipyard.redact import redact


class GitError(ShipyardError):
    """A git command failed; carries git's own message."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        # A remote's URL may carry a token (given on the command line or in git's message): never shown.
        super().__init__(redact(f"git {' '.join(args)} failed ({returncode}): {stderr.strip()}"))
        self.returncode = returncode
        self.stderr = stderr


class PushRejected(GitError):
    """The remote moved on while we worked: fetch, re-apply and push again."""


# The reasons `git push --porcelain` gives for a ref when another writer got there first. When the remote
# itself lost the race (two pushes at once), the ref says "failed to update ref" or "atomic transaction
# failed" and git's message "cannot lock ref". "atomic push failed" marks the other refs of an atomic push.
_RACE_REASONS = ("non-fast-forward", "fetch first", "stale info", "already exists", "cannot lock ref")
_REMOTE_RACE_REASONS = ("failed to update ref", "atomic transaction failed")
_ATOMIC = "atomic push failed"


def lost_race(porcelain: str, stderr: str = "") -> bool:
    """True when a failed push shows only refs that another writer moved first.

    Each rejected ref is a line of the porcelain output starting with ``!`` whose last field is
    ``[rejected] (reason)`` or ``[remote rejected] (reason)``. A push refused for any other reason (a
    read-only remote, a hook that declined, a missing permission) is not a lost race, and retrying it
    would only hide git's message.
    """
    reasons = [line.rsplit("\t", 1)[-1] for line in porcelain.splitlines() if line.startswith("!")]
    remote_lost = "cannot lock ref" in stderr
    raced = [
        r
        for r in reasons
        if any(f"({word}" in r for word in _RACE_REASONS)
        or (remote_lost and any(f"({word}" in r for word in _REMOTE_RACE_REASONS))
    ]
    return bool(raced) and all(r in raced or _ATOMIC in r for r in reasons)


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
        return subprocess.run(
            ["git", "-C", str(self.path), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self._env(env),
            check=False,
        )

    def run_bytes(self, *args: str, input: bytes | None = None) -> bytes:
        """Run git on bytes in and out (object contents are not always text); raise GitError on failure."""
        proc = subprocess.run(
            ["git", "-C", str(self.path), *args], input=input, capture_output=True, env=self._env(None), check=False
        )
        if proc.returncode != 0:
            raise GitError(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
        return proc.stdout

    def _env(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(extra or {})}
        full_env.setdefault("GIT_AUTHOR_NAME", self.identity.name)
        full_env.setdefault("GIT_AUTHOR_EMAIL", self.identity.email)
        full_env.setdefault("GIT_COMMITTER_NAME", self.identity.name)
        full_env.setdefault("GIT_COMMITTER_EMAIL", self.identity.email)
        return full_env

    def read_objects(self, names: Sequence[str]) -> dict[str, tuple[bytes, bytes] | None]:
        """Many objects (by id or ``<commit>:<path>``) in one ``git cat-file --batch``: name -> (type,
        content), None when absent."""
        wanted = [s for s in dict.fromkeys(names) if "\n" not in s]
        if not wanted:
            return {}
        out = self.run_bytes("cat-file", "--batch", input=("\n".join(wanted) + "\n").encode())
        found: dict[str, tuple[bytes, bytes] | None] = {}
        position = 0
        for name in wanted:
            end = out.index(b"\n", position)
            header = out[position:end].split(b" ")
            position = end + 1
            if len(header) == 3 and header[2].isdigit():
                size = int(header[2])
                found[name] = (header[1], out[position : position + size])
                position += size + 1
            else:  # "<name> missing" or "<name> ambiguous"
                found[name] = None
        return found

    # Reading

    def rev_parse(self, ref: str) -> str:
        """The full commit id of ``ref``."""
        check_value(ref, "the revision")
        return self.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").strip()

    def has_ref(self, ref: str) -> bool:
        """True when ``ref`` names a commit here."""
        check_value(ref, "the revision")
        found = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False)
        return bool(found.strip())

    def is_shallow(self) -> bool:
        """True for a shallow clone, where history (and so versions and diffs) may be incomplete."""
        return self.run("rev-parse", "--is-shallow-repository").strip() == "true"

    def current_branch(self) -> str | None:
        """The checked-out branch, or None on a detached HEAD."""
        name = self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()
        return name or None

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

    def push(
        self,
        remote: str,
        refspecs: Sequence[str],
        *,
        atomic: bool = False,
        leases: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Push; raise PushRejected when the remote has moved on (non-fast-forward or a ref already there).

        ``leases`` are ``(ref, expected commit)`` pairs (an empty commit: the ref must not exist); the push
        is rejected when the remote's ref is not what we last saw, so a concurrent change is never lost.
        """
        check_value(remote, "the remote")
        for refspec in refspecs:
            check_value(refspec, "the refspec")
        lease_args = [f"--force-with-lease={ref}:{expected}" for ref, expected in leases]
        args = ["push", "--porcelain", *(["--atomic"] if atomic else []), *lease_args, "--", remote, *refspecs]
        proc = self.execute(*args)
        if proc.returncode == 0:
            return
        if lost_race(proc.stdout, proc.stderr):
            raise PushRejected(args, proc.returncode, proc.stdout + proc.stderr)
        # Anything else (a read-only remote, a hook that declined, no such repository) will not pass on a
        # retry: it surfaces at once, with git's own message.
        raise GitError(args, proc.returncode, "\n".join(filter(None, (proc.stderr.strip(), proc.stdout.strip()))))

    # Refs, tags and history: read in bulk, so versions stay fast on huge histories.

    def refs(self, *prefixes: str) -> list[tuple[str, str]]:
        """``(refname, commit)`` for every ref starting with one of ``prefixes`` (a trailing ``*`` is
        ignored), annotated tags peeled, in one call.

        ``git show-ref -d`` takes peeled values from packed-refs; ``for-each-ref`` with ``%(*objectname)``
        would read every tag object, which is ten times slower on 20,000 tags.
        """
        starts = tuple(p.rstrip("*") for p in prefixes)
        out = self.run("show-ref", "--dereference", check=False)
        found: dict[str, str] = {}
        # A peeled line ("<commit> <name>^{}") follows its tag's line, so assigning in order keeps the commit.
        tokens = out.split()
        for commit, name in zip(tokens[0::2], tokens[1::2], strict=True):
            found[name[:-3] if name.endswith("^{}") else name] = commit
        return [(name, commit) for name, commit in found.items() if name.startswith(starts)]

    def remote_has_branch(self, remote: str, branch: str) -> bool:
        """True when ``remote`` has ``branch`` now (asked of the remote, not of remote-tracking refs)."""
        check_value(remote, "the remote")
        check_ref(branch, "the branch")
        return bool(self.run("ls-remote", "--heads", "--", remote, f"refs/heads/{branch}").strip())

    def remote_refs(self, remote: str, *patterns: str) -> list[tuple[str, str]]:
        """``(refname, commit)`` on ``remote`` (annotated tags peeled) without fetching any object."""
        check_value(remote, "the remote")
        out = self.run("ls-remote", "--", remote, *patterns)
        plain: dict[str, str] = {}
        peeled: dict[str, str] = {}
        for line in out.splitlines():
            obj, _, name = line.partition("\t")
            if name.endswith("^{}"):
                peeled[name[:-3]] = obj
            else:
                plain[name] = obj
        return [(name, peeled.get(name, obj)) for name, obj in plain.items()]

    def first_parents(self, commit: str, *exclude: str) -> Iterator[tuple[str, int]]:
        """``(commit, committer time)`` along the first-parent chain from ``commit``, newest first.

        Streams ``git rev-list`` so that a caller who stops early (at the first tagged commit, as version
        rules do) does not pay for the rest of a long history. ``exclude`` are refs whose history ends the walk.
        """
        check_value(commit, "the revision")
        args = ["rev-list", "--first-parent", "--timestamp", "--end-of-options", commit, *(f"^{e}" for e in exclude)]
        proc = subprocess.Popen(
            ["git", "-C", str(self.path), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "LC_ALL": "C"},
        )
        assert proc.stdout is not None
        finished = False
        try:
            for line in proc.stdout:
                stamp, _, sha = line.strip().partition(" ")
                yield sha, int(stamp)
            finished = True
        finally:
            if not finished:
                proc.kill()
            proc.stdout.close()
            stderr = proc.stderr.read() if proc.stderr else ""
            if proc.stderr:
                proc.stderr.close()
            code = proc.wait()
            if finished and code != 0:
                raise GitError(args, code, stderr)

    def parents(self, commit: str) -> list[str]:
        """The parents of ``commit``, first parent first."""
        return self.run(
            "rev-list", "--parents", "-n", "1", "--end-of-options", check_value(commit, "the commit")
        ).split()[1:]

    def subject(self, commit: str) -> str:
        """The first line of the commit's message."""
        return self.run("log", "-1", "--format=%s", "--end-of-options", check_value(commit, "the commit")).strip()

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when ``ancestor`` is reachable from ``descendant`` (or is it)."""
        check_value(ancestor, "the commit")
        check_value(descendant, "the commit")
        proc = self.execute("merge-base", "--is-ancestor", "--end-of-options", ancestor, descendant)
        if proc.returncode not in (0, 1):
            raise GitError(("merge-base", "--is-ancestor", ancestor, descendant), proc.returncode, proc.stderr)
        return proc.returncode == 0

    def shallow_boundary(self) -> set[str]:
        """The commits whose parents a shallow clone lacks (empty for a complete clone)."""
        path = Path(self.run("rev-parse", "--git-path", "shallow").strip())
        shallow = path if path.is_absolute() else self.path / path
        return set(shallow.read_text().split()) if shallow.is_file() else set()

    def remotes(self) -> list[str]:
        """The names of the configured remotes."""
        return self.run("remote").split()

    def tag(self, name: str, commit: str, message: str) -> None:
        """Create the annotated tag ``name`` on ``commit`` (never moves an existing tag)."""
        check_ref(name, "the tag")
        self.run("tag", "--annotate", "--message", message, "--", name, check_value(commit, "the commit"))

    def delete_tags(self, names: Sequence[str]) -> None:
        """Delete local tags (those a lost race left behind); missing ones are ignored."""
        if names:
            self.execute("tag", "--delete", "--", *names)

    def merge_tree(self, ours: str, theirs: str) -> tuple[str, list[str]]:
        """Merge two commits without touching the work tree: ``(tree, conflicted paths)``."""
        check_value(ours, "the commit")
        check_value(theirs, "the commit")
        proc = self.execute(
            "merge-tree", "--write-tree", "--name-only", "--no-messages", "--end-of-options", ours, theirs
        )
        if proc.returncode not in (0, 1):
            raise GitError(("merge-tree", ours, theirs), proc.returncode, proc.stderr)
        lines = proc.stdout.splitlines()
        return lines[0], [line for line in lines[1:] if line] if proc.returncode == 1 else []

    def commit_tree(self, tree: str, parents: Sequence[str], message: str) -> str:
        """Create a commit object (no ref moves) and return its id."""
        args = ["commit-tree"]
        for parent in parents:
            args += ["-p", check_value(parent, "the parent commit")]
        return self.run(*args, "-F", "-", "--end-of-options", check_value(tree, "the tree"), input=message).strip()
