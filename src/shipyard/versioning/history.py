"""Walking history for the version rules, aware of shallow clones.

Every rule walks first parents from a commit until it meets a tagged commit. In a shallow clone that walk
can end at the clone's boundary before meeting one; then the answer would be a guess. Instead the walk
reports exactly what it lacked, and ``with_history`` deepens the clone just enough (doubling the depth
from the boundary until the walk succeeds) or says which fetch would make the answer exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from shipyard.errors import ShipyardError
from shipyard.git import Git

T = TypeVar("T")

# Deepening doubles from here; past the cap the rest of history is fetched in one go.
_FIRST_DEEPEN = 64
_UNSHALLOW_AFTER = 65536


class MissingRefs(Exception):
    """The answer needs refs (and their history) that a shallow clone knows only from the remote's listing:
    main and develop, to know where a release branch left them; the last release, for a breaking change."""

    def __init__(self, refnames: list[str]) -> None:
        super().__init__(f"{', '.join(refnames)} (known only from the remote's listing)")
        self.refnames = refnames

    def refspecs(self, remote: str) -> list[str]:
        """What ``git fetch <remote>`` needs to bring them here."""
        specs = []
        for name in self.refnames:
            if name.startswith(f"refs/remotes/{remote}/"):
                specs.append(f"+refs/heads/{name.removeprefix(f'refs/remotes/{remote}/')}:{name}")
            else:
                specs.append(f"+{name}:{name}")
        return specs


class TruncatedHistory(Exception):
    """A walk reached the shallow boundary before finding what it needed."""

    def __init__(self, start: str, boundary: str, needed: str) -> None:
        super().__init__(f"history of {start[:7]} ends at {boundary[:7]} (shallow clone) before {needed}")
        self.start = start
        self.boundary = boundary
        self.needed = needed


class ShallowCloneError(ShipyardError):
    """The clone is too shallow to compute an exact answer and Shipyard may not fetch."""


@dataclass
class Walk:
    """The commits a first-parent walk visited (newest first) and the commit that stopped it."""

    visited: list[tuple[str, int]]
    stop: str | None


class History:
    """First-parent walks over one repository, raising TruncatedHistory at a shallow boundary."""

    def __init__(self, git: Git) -> None:
        self.git = git
        self.boundary = git.shallow_boundary()

    @property
    def shallow(self) -> bool:
        """True for a shallow clone."""
        return bool(self.boundary)

    def walk(self, commit: str, stop: Callable[[str], bool], needed: str, exclude: tuple[str, ...] = ()) -> Walk:
        """Walk first parents from ``commit`` until ``stop(commit)`` holds (that commit is not in ``visited``).

        ``exclude`` are refs whose history also ends the walk (without a stop commit). ``needed`` says, for
        error messages, what the walk looks for (e.g. "an alpha tag").
        """
        visited: list[tuple[str, int]] = []
        for sha, stamp in self.git.first_parents(commit, *exclude):
            if stop(sha):
                return Walk(visited, sha)
            visited.append((sha, stamp))
        if visited and visited[-1][0] in self.boundary:
            raise TruncatedHistory(commit, visited[-1][0], needed)
        return Walk(visited, None)


def pick_remote(git: Git, remote: str | None) -> str | None:
    """The remote to deepen from: the one given, else ``origin``, else the only remote."""
    if remote:
        return remote
    names = git.remotes()
    if "origin" in names:
        return "origin"
    return names[0] if len(names) == 1 else None


def with_history(git: Git, compute: Callable[[History], T], *, remote: str | None, fetch: bool) -> T:
    """Run ``compute``; on a shallow clone whose history is too short, deepen from ``remote`` and retry.

    Deepening starts at 64 commits past the boundary and doubles, so it fetches at most about twice what
    the answer needs. Without a remote, or with ``fetch`` off, it stops with the exact command to run.
    """
    depth = _FIRST_DEEPEN
    fetched: set[str] = set()
    while True:
        history = History(git)
        try:
            return compute(history)
        except MissingRefs as exc:
            source = pick_remote(git, remote)
            if not fetch or source is None or fetched.issuperset(exc.refnames):
                specs = " ".join(exc.refspecs(source or "origin"))
                raise ShallowCloneError(
                    f"this is a shallow clone without {exc}, so the version would be a guess",
                    hint=f"fetch them with `git fetch {source or '<remote>'} {specs}`",
                ) from exc
            git.run("fetch", "--quiet", "--no-tags", "--", source, *exc.refspecs(source))
            fetched.update(exc.refnames)
        except TruncatedHistory as exc:
            source = pick_remote(git, remote)
            if not fetch or source is None or depth > 2 * _UNSHALLOW_AFTER:
                where = source or "<remote>"
                raise ShallowCloneError(
                    f"this is a shallow clone: {exc}, so the version would be a guess",
                    hint=f"fetch more history with `git fetch --deepen={depth} {where}` (repeat until this "
                    f"succeeds) or all of it with `git fetch --unshallow {where}`"
                    + ("" if fetch else "; or let shipyard deepen the clone by leaving out --no-fetch"),
                ) from exc
            if depth > _UNSHALLOW_AFTER:
                git.run("fetch", "--quiet", "--unshallow", "--", source)
            else:
                git.run("fetch", "--quiet", f"--deepen={depth}", "--", source)
            depth *= 2
