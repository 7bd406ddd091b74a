"""The seed's branch workflow as safe steps against a remote: release start/finish, hotfix start/finish.

Each step fetches the remote, checks that the state is safe, and computes a ``Change``: the plan shown by
``--dry-run``, the commits (made with ``merge-tree``/``commit-tree``, so the work tree is never touched),
the tags, and one atomic push whose every ref carries a lease on the value we saw. When another writer
moved a ref in between, the push fails as a whole and the step starts again from a fresh fetch. A step
that finds its work already done changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.git import Git, PushRejected
from shipyard.git.refname import check_value
from shipyard.plan import Op, Plan
from shipyard.retry import LEASE_RACE, GaveUp, Retrier
from shipyard.versioning.branch import BranchError, BranchKind, classify
from shipyard.versioning.history import History, ShallowCloneError, TruncatedHistory
from shipyard.versioning.refs import RefSnapshot
from shipyard.versioning.semver import Version


class UnsafeState(ShipyardError):
    """The repository is in a state where the step would lose work; the message says how to fix it."""

    exit_code = 1


class MergeConflict(ShipyardError):
    """A back-merge needs a person; everything before it was pushed."""

    exit_code = 1


@dataclass
class Change:
    """What a workflow step will do: the plan people see and the refs, tags and push that do it."""

    plan: Plan
    updates: list[tuple[str, str, str]] = field(default_factory=list)  # (ref, new commit or "", expected)
    tags: list[tuple[str, str, str]] = field(default_factory=list)  # (name, commit, message)
    local_branch: tuple[str, str] | None = None  # (branch, remote ref) to create locally afterwards
    conflict: str | None = None  # why a person must finish the job, after the push

    def update(self, ref: str, new: str, expected: str | None, summary: str) -> None:
        """Move (or, with ``new`` empty, delete) a remote ref whose current value we saw as ``expected``."""
        self.updates.append((ref, new, expected or ""))
        branch = ref.removeprefix("refs/heads/")
        if not new:
            self.plan.add(Op.delete, f"branch {branch}", summary)
        elif expected:
            self.plan.add(Op.update, f"branch {branch}", summary, commit=new)
        else:
            self.plan.add(Op.create, f"branch {branch}", summary, commit=new)

    def tag(self, name: str, commit: str, message: str) -> None:
        """Create an annotated tag."""
        self.tags.append((name, commit, message))
        self.plan.add(Op.tag, name, f"on {commit[:7]}", commit=commit)


class Workflow:
    """The workflow steps on the checkout at ``repo``, against ``remote``."""

    def __init__(self, repo: Path, remote: str = "origin", prefix: str = "v", retry: Retrier | None = None) -> None:
        self.git = Git(repo)
        self.remote = check_value(remote, "--remote")
        self.prefix = prefix
        self.retry = retry or Retrier(LEASE_RACE)
        if remote not in self.git.remotes():
            raise ShipyardError(
                f"'{remote}' is not a remote of {repo}",
                hint=f"the workflow steps work against the shared repository: `git remote add {remote} URL`",
            )

    # Reading the remote's state

    def _fetch(self) -> RefSnapshot:
        self.git.run(
            "fetch",
            "--quiet",
            "--no-tags",
            "--prune",
            "--",
            self.remote,
            f"+refs/heads/*:refs/remotes/{self.remote}/*",
            f"+refs/tags/{self.prefix}*:refs/tags/{self.prefix}*",
        )
        snapshot = RefSnapshot.read(self.git, self.prefix)
        # Only the remote's branches count: a local branch is nobody else's state.
        mine = f"refs/remotes/{self.remote}/"
        snapshot.release_branches = {r: c for r, c in snapshot.release_branches.items() if r.startswith(mine)}
        snapshot.release_heads = {r: c for r, c in snapshot.release_heads.items() if r.startswith(mine)}
        snapshot.hotfix_heads = {r: c for r, c in snapshot.hotfix_heads.items() if r.startswith(mine)}
        return snapshot

    def _head(self, branch: str) -> str | None:
        ref = f"refs/remotes/{self.remote}/{branch}"
        return self.git.rev_parse(ref) if self.git.has_ref(ref) else None

    def _need(self, branch: str) -> str:
        head = self._head(branch)
        if head is None:
            raise UnsafeState(
                f"{self.remote} has no branch '{branch}'", hint=f"push it: git push {self.remote} {branch}"
            )
        return head

    def _line(self, snapshot: RefSnapshot, commit: str, *, include_start: bool = True) -> Version | None:
        """The nearest stable along the first parents of ``commit``: the line it is on."""
        try:
            walk = History(self.git).walk(
                commit,
                lambda sha: (include_start or sha != commit) and bool(snapshot.tagged(sha, "stable")),
                "a stable tag",
            )
        except TruncatedHistory as exc:
            raise ShallowCloneError(
                f"this is a shallow clone: {exc}",
                hint=f"the workflow steps need history: git fetch --unshallow {self.remote}",
            ) from exc
        return snapshot.tagged(walk.stop, "stable")[0] if walk.stop else None

    def _current(self, kind: BranchKind, given: str | None) -> str:
        name = given or self.git.current_branch()
        if name is None:
            raise ShipyardError(f"HEAD is detached: pass --branch {kind.value}/...")
        try:
            branch = classify(name)
        except BranchError as exc:
            raise ShipyardError(str(exc)) from exc
        if branch.kind is not kind:
            raise ShipyardError(
                f"'{name}' is not a {kind.value} branch", hint=f"check out the {kind.value} branch or pass --branch"
            )
        return name

    def _refuse_unpushed(self, branch: str, remote_head: str | None) -> None:
        """Finishing from the remote's tip would leave local commits behind: say so instead."""
        local = f"refs/heads/{branch}"
        if remote_head and self.git.has_ref(local) and not self.git.is_ancestor(local, remote_head):
            raise UnsafeState(
                f"your {branch} has commits that {self.remote} does not",
                hint=f"push them first (git push {self.remote} {branch}) or reset your branch to {self.remote}'s",
            )

    # Running a step

    def run(self, prepare: Callable[[RefSnapshot], Change], dry_run: bool) -> Change:
        """Fetch, prepare the change, and (unless ``dry_run``) apply it; redo from scratch on a lost race
        (under ``self.retry``, by default ``shipyard.retry.LEASE_RACE``)."""

        def attempt() -> Change:
            change = prepare(self._fetch())
            if dry_run or change.plan.empty:
                return change
            self._apply(change)  # PushRejected: a lease no longer held; fetch and prepare again
            if change.conflict:
                raise MergeConflict(change.conflict)
            return change

        try:
            return self.retry.call(attempt, on=(PushRejected,))
        except GaveUp as exc:
            raise ShipyardError(
                f"{self.remote} kept changing while the step ran ({exc.attempts} attempts)",
                hint="run it again; nothing was half-pushed",
            ) from exc

    def _apply(self, change: Change) -> None:
        names = [name for name, _, _ in change.tags]
        for name, commit, message in change.tags:
            self.git.tag(name, commit, message)
        refspecs = [f"{new}:{ref}" if new else f":{ref}" for ref, new, _ in change.updates]
        refspecs += [f"refs/tags/{name}" for name in names]
        leases = [(ref, expected) for ref, _, expected in change.updates]
        try:
            self.git.push(self.remote, refspecs, atomic=True, leases=leases)
        except PushRejected:
            self.git.delete_tags(names)
            raise
        self._fetch()
        if change.local_branch and not self.git.has_ref(f"refs/heads/{change.local_branch[0]}"):
            self.git.run("branch", "--quiet", "--track", *change.local_branch)

    # Merging without a work tree

    def _merge(self, ours: str, theirs: str, message: str) -> tuple[str | None, list[str]]:
        tree, conflicts = self.git.merge_tree(ours, theirs)
        if conflicts:
            return None, conflicts
        return self.git.commit_tree(tree, [ours, theirs], message), []

    def _back_merge(self, change: Change, develop: str, main: str, finish_again: str) -> None:
        """Merge ``main`` into develop (unless develop has it); on a conflict, leave instructions."""
        if self.git.is_ancestor(main, develop):
            return
        merged, conflicts = self._merge(develop, main, "Merge branch 'main' into develop\n")
        if merged is None:
            files = ", ".join(conflicts)
            r = self.remote
            change.conflict = (
                f"main was pushed, but merging main back into develop conflicts in: {files}. Resolve it by hand: "
                f"git fetch {r} && git switch develop && git reset --hard {r}/develop && git merge {r}/main, fix "
                f"the files, git commit, git push {r} develop; then run `{finish_again}` again to finish"
            )
            change.plan.notes.append(f"merging main into develop will conflict in {files}: a person resolves it")
            return
        change.update("refs/heads/develop", merged, develop, "merge main back into develop")

    # release

    def release_start(self, version: str, dry_run: bool = False) -> Change:
        """Cut ``release/vX.Y.Z`` from the remote's develop, with a first commit for beta 1 to name."""
        wanted = Version.try_parse(version, self.prefix)
        if wanted is None or wanted.prerelease or wanted.build:
            raise ShipyardError(f"'{version}' is not a release version", hint="give X.Y.Z, e.g. 1.3.0")
        name = f"release/v{wanted.base}"

        def prepare(snapshot: RefSnapshot) -> Change:
            change = Change(Plan(command="release start"))
            develop = self._need("develop")
            if self._head(name):
                change.plan.notes.append(f"{name} already exists on {self.remote}: nothing to do")
                return change
            open_releases = sorted(
                r.removeprefix(f"refs/remotes/{self.remote}/")
                for r, core in snapshot.release_branches.items()
                if not snapshot.has_stable(core)
            )
            if open_releases:
                raise UnsafeState(
                    f"{', '.join(open_releases)} is still open on {self.remote}",
                    hint="finish it first with `shipyard release finish`",
                )
            stable = snapshot.highest_stable()
            cut = snapshot.highest_cut()
            for label, core in (("stable", stable.core if stable else None), ("release", cut)):
                if core is not None and wanted.core <= core:
                    raise UnsafeState(
                        f"{wanted.format(self.prefix)} is not ahead of the highest {label} "
                        f"{self.prefix}{'.'.join(map(str, core))}",
                        hint=f"choose a version above it, e.g. {core[0]}.{core[1] + 1}.0",
                    )
            tree = self.git.rev_parse(develop) + "^{tree}"
            marker = self.git.commit_tree(tree, [develop], f"Start release {wanted.format(self.prefix)}\n")
            change.update(f"refs/heads/{name}", marker, None, f"from develop at {develop[:7]}")
            change.local_branch = (name, f"refs/remotes/{self.remote}/{name}")
            change.plan.notes.append(f"{name} is cut: its builds are betas of {wanted.base}, develop moves past it")
            return change

        return self.run(prepare, dry_run)

    def release_finish(self, branch: str | None = None, dry_run: bool = False) -> Change:
        """Merge the release into main (--no-ff), tag the stable, merge main back into develop."""
        name = self._release_name(branch)
        core = classify(name).version
        assert core is not None
        tag = f"{self.prefix}{'.'.join(map(str, core))}"

        def prepare(snapshot: RefSnapshot) -> Change:
            change = Change(Plan(command="release finish"))
            main, develop, release = self._need("main"), self._need("develop"), self._head(name)
            self._refuse_unpushed(name, release)
            if snapshot.has_stable(core):
                new_main = snapshot.versions[Version(*core)]
                if not self.git.is_ancestor(new_main, main):
                    raise UnsafeState(f"{tag} is tagged on {new_main[:7]}, which main does not contain")
            else:
                if release is None:
                    raise UnsafeState(f"{self.remote} has no branch {name}", hint="push the release branch first")
                if not self.git.is_ancestor(main, release):
                    missing = self.git.run("log", "--format=%h %s", f"{release}..{main}").strip().splitlines()
                    raise UnsafeState(
                        f"main has {len(missing)} commit(s) that {name} lacks (a hotfix?), e.g. {missing[0]}; "
                        "finishing now would lose them",
                        hint=f"merge main into the release first: git switch {name} && git merge {self.remote}/main "
                        f"&& git push {self.remote} {name}",
                    )
                stable = snapshot.highest_stable()
                if stable and stable.core >= core:
                    raise UnsafeState(f"{tag} is not ahead of the latest stable {stable.format(self.prefix)}")
                merged, _ = self._merge(main, release, f"Merge branch '{name}'\n")
                assert merged is not None  # main is an ancestor of the release: the merge cannot conflict
                change.update("refs/heads/main", merged, main, f"merge {name} (--no-ff)")
                change.tag(tag, merged, f"{tag}\n\nReleased from {name} at {release[:7]}.\n")
                new_main = merged
            self._back_merge(change, develop, new_main, "shipyard release finish")
            if release and not change.conflict:
                if self.git.is_ancestor(release, new_main):
                    change.update(f"refs/heads/{name}", "", release, "the release is on main")
                else:
                    change.plan.notes.append(f"{name} has commits after {tag}: it is kept")
            return change

        return self.run(prepare, dry_run)

    def _release_name(self, given: str | None) -> str:
        if given:
            return self._current(BranchKind.release, given)
        current = self.git.current_branch()
        if current and current.startswith("release/"):
            return self._current(BranchKind.release, current)
        snapshot = self._fetch()
        open_releases = sorted(
            r.removeprefix(f"refs/remotes/{self.remote}/")
            for r, core in snapshot.release_branches.items()
            if not snapshot.has_stable(core)
        )
        if len(open_releases) != 1:
            raise ShipyardError(
                f"{'no release branch is' if not open_releases else ', '.join(open_releases) + ' are'} open "
                f"on {self.remote}",
                hint="check out the release branch or pass --branch release/vX.Y.Z",
            )
        return open_releases[0]

    # hotfix

    def hotfix_start(self, description: str, source: str | None = None, dry_run: bool = False) -> Change:
        """Branch ``hotfix/<description>`` from main (or from an older stable), refusing a second on a line."""
        name = f"hotfix/{description}"
        try:
            classify(name)
        except BranchError as exc:
            raise ShipyardError(str(exc)) from exc

        def prepare(snapshot: RefSnapshot) -> Change:
            change = Change(Plan(command="hotfix start"))
            if source:
                wanted = Version.try_parse(source, self.prefix)
                if wanted is None or wanted.maturity != "stable" or wanted not in snapshot.versions:
                    stables = sorted(snapshot.of("stable"), reverse=True)[:5]
                    raise ShipyardError(
                        f"--from {source} is not a stable release tag",
                        hint="recent stables: " + (", ".join(v.format(self.prefix) for v in stables) or "none"),
                    )
                base, line = snapshot.versions[wanted], wanted
            else:
                base = self._need("main")
                found = self._line(snapshot, base)
                if found is None:
                    raise UnsafeState("main carries no stable release yet: there is nothing to hotfix")
                line = found
            target = Version(line.major, line.minor, line.patch + 1)
            if target in snapshot.versions:
                raise UnsafeState(
                    f"{target.format(self.prefix)} already exists: {line.format(self.prefix)} is not the newest "
                    f"on its line",
                    hint=f"start from it: --from {target.format(self.prefix)}",
                )
            existing = self._head(name)
            for ref, head in snapshot.hotfix_heads.items():
                other = ref.removeprefix(f"refs/remotes/{self.remote}/")
                other_line = self._line(snapshot, head)
                if other_line and other_line.core[:2] == line.core[:2]:
                    if other == name:
                        change.plan.notes.append(f"{name} already exists from {line.format(self.prefix)}")
                        return change
                    raise UnsafeState(
                        f"{other} is open on the {line.major}.{line.minor} line (from {line.format(self.prefix)})",
                        hint="finish it with `shipyard hotfix finish` (or delete it) before starting another",
                    )
            if existing:
                raise UnsafeState(f"{name} already exists on {self.remote} on another line")
            marker = self.git.commit_tree(
                self.git.rev_parse(base) + "^{tree}", [base], f"Start hotfix {description} from {line}\n"
            )
            change.update(f"refs/heads/{name}", marker, None, f"from {line.format(self.prefix)} at {base[:7]}")
            change.local_branch = (name, f"refs/remotes/{self.remote}/{name}")
            change.plan.notes.append(f"its builds are betas of {target.base}; finished, it is {target}")
            return change

        return self.run(prepare, dry_run)

    def hotfix_finish(self, branch: str | None = None, dry_run: bool = False) -> Change:
        """Release the hotfix: on main's line merge it into main, tag the patch, merge main back into develop;
        on an older line tag the patch on the hotfix itself."""
        name = self._current(BranchKind.hotfix, branch)

        def prepare(snapshot: RefSnapshot) -> Change:
            change = Change(Plan(command="hotfix finish"))
            head = self._head(name)
            pushed = head is not None
            if head is None and self.git.has_ref(f"refs/heads/{name}"):
                head = self.git.rev_parse(f"refs/heads/{name}")  # finished before? then nothing is left to do
            if head is None:
                raise UnsafeState(f"there is no branch {name}", hint="check the name: git branch --all")
            self._refuse_unpushed(name, head if pushed else None)
            line = self._line(snapshot, head, include_start=False)
            if line is None:
                raise UnsafeState(f"{name} does not start from a stable release")
            target = Version(line.major, line.minor, line.patch + 1)
            tag = target.format(self.prefix)
            main, develop = self._need("main"), self._need("develop")
            main_line = self._line(snapshot, main)
            if target in snapshot.versions:
                owner = snapshot.versions[target]
                if owner != head and not self.git.is_ancestor(head, owner):
                    raise UnsafeState(f"{tag} was released from other commits: {name} is stale")
                if self.git.is_ancestor(owner, main):
                    self._back_merge(change, develop, main, "shipyard hotfix finish")
                if pushed and not change.conflict:
                    change.update(f"refs/heads/{name}", "", head, f"{tag} is released")
                return change
            if not pushed:
                raise UnsafeState(f"{self.remote} has no branch {name}", hint=f"push it: git push {self.remote} {name}")
            if main_line is not None and main_line.core == line.core:
                if not self.git.is_ancestor(main, head):
                    raise UnsafeState(
                        f"main has commits that {name} lacks",
                        hint=f"merge them in first: git switch {name} && git merge {self.remote}/main",
                    )
                merged, _ = self._merge(main, head, f"Merge branch '{name}'\n")
                assert merged is not None
                change.update("refs/heads/main", merged, main, f"merge {name} (--no-ff)")
                change.tag(tag, merged, f"{tag}\n\nHotfix {name} at {head[:7]}.\n")
                self._back_merge(change, develop, merged, "shipyard hotfix finish")
                open_releases = [
                    r.removeprefix(f"refs/remotes/{self.remote}/")
                    for r, core in snapshot.release_branches.items()
                    if not snapshot.has_stable(core)
                ]
                for release in sorted(open_releases):
                    change.plan.notes.append(f"{release} is open: merge main into it before `release finish`")
            elif main_line is not None and main_line.core > line.core:
                change.tag(tag, head, f"{tag}\n\nHotfix {name} on the {line.major}.{line.minor} line.\n")
                change.plan.notes.append(
                    f"{tag} is on the older {line.major}.{line.minor} line: main and develop are not changed "
                    "(port the fix to develop if it applies there)"
                )
            else:
                raise UnsafeState(f"main is not on a stable release at or after {line.format(self.prefix)}")
            if not change.conflict:
                change.update(f"refs/heads/{name}", "", head, f"{tag} is released")
            return change

        return self.run(prepare, dry_run)
