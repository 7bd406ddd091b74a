"""Real git repositories for the versioning tests: a bare remote and a work clone, with commits at chosen times."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shipyard.git import Git

T0 = datetime(2024, 11, 14, 15, 30, 45, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    """The alpha number of a commit made at ``moment``."""
    return moment.strftime("%Y%m%d%H%M%S")


@dataclass
class Repo:
    """A work clone with ``origin`` pointing at a bare repository."""

    path: Path
    remote: Path
    clock: datetime = T0

    @property
    def git(self) -> Git:
        return Git(self.path)

    def run(self, *args: str, at: datetime | None = None) -> str:
        env = {}
        if at is not None:
            env = {"GIT_COMMITTER_DATE": at.isoformat(), "GIT_AUTHOR_DATE": at.isoformat()}
        return self.git.run(*args, env=env)

    def tick(self, seconds: int = 60) -> datetime:
        """Advance the repository's clock and return the new time."""
        self.clock += timedelta(seconds=seconds)
        return self.clock

    def commit(self, message: str, at: datetime | None = None) -> str:
        """An empty commit on the checked-out branch, at ``at`` (default: the clock, ticked)."""
        self.run("commit", "--quiet", "--allow-empty", "-m", message, at=at or self.tick())
        return self.git.rev_parse("HEAD")

    def switch(self, branch: str, start: str | None = None) -> None:
        if start is None:
            self.run("checkout", "--quiet", branch)
        else:
            self.run("checkout", "--quiet", "-B", branch, start)

    def merge(self, branch: str, message: str, at: datetime | None = None) -> str:
        self.run("merge", "--quiet", "--no-ff", "-m", message, branch, at=at or self.tick())
        return self.git.rev_parse("HEAD")

    def push(self, *branches: str) -> None:
        self.run("push", "--quiet", "origin", *branches)

    def pull(self, branch: str) -> None:
        """Check out ``branch`` at the remote's tip."""
        self.run("fetch", "--quiet", "origin")
        self.switch(branch, f"origin/{branch}")

    def remote_tags(self) -> dict[str, str]:
        """Tag -> commit on the remote."""
        return dict(
            (name, commit)
            for name, commit in (
                (n.removeprefix("refs/tags/"), c) for n, c in self.git.remote_refs("origin", "refs/tags/*")
            )
        )


def make_repo(tmp: Path, name: str = "work") -> Repo:
    """A bare remote with main and develop (one commit), and a clone of it on develop."""
    remote = tmp / f"{name}-remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(remote)], check=True)
    path = tmp / name
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(path)], check=True)
    repo = Repo(path, remote)
    repo.commit("Initial commit", at=T0)
    repo.run("branch", "develop")
    repo.run("remote", "add", "origin", str(remote))
    repo.push("main", "develop")
    repo.switch("develop")
    return repo
