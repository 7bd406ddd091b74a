"""Git's rules for names, and the one check every value from outside passes before it reaches git.

Branch names come from webhooks and CI variables, remotes and revisions from flags, repository URLs
from the spec: all untrusted. ``check_value`` refuses what git would read as an option (a leading
``-``, as in ``--upload-pack=...``) or what would break a command line (control characters);
``check_revision`` and ``ref_format_problem`` add git's own rules for revisions and ref names. The git
layer calls them on every such value, and puts ``--`` (or ``--end-of-options``) before it as well.
"""

from __future__ import annotations

from shipyard.errors import ShipyardError

_FORBIDDEN = set(" ~^:?*[\\")
MAX_REFNAME = 255
"""The longest ref name accepted, in bytes: a loose ref is a file, and file names stop at 255 bytes."""


class UnsafeValue(ShipyardError):
    """A value that must not reach a git command line; the message says which and why."""


def _printable(value: str) -> str:
    shown = value if len(value) <= 80 else value[:77] + "..."
    return shown.encode("unicode_escape").decode("ascii")


def check_value(value: str, what: str) -> str:
    """``value`` when it may stand on a git command line as a value: not empty, not starting with ``-``
    (git would read it as an option), no control characters. UnsafeValue naming ``what`` otherwise."""
    if not value:
        raise UnsafeValue(f"{what} is empty")
    if value.startswith("-"):
        raise UnsafeValue(f"{what} '{_printable(value)}' starts with '-': git would read it as an option")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise UnsafeValue(f"{what} '{_printable(value)}' holds a control character")
    return value


def check_revision(revision: str, what: str = "--ref") -> str:
    """``revision`` when it names one commit (a branch, tag, commit id, ``HEAD~2``); not a range or a path."""
    check_value(revision, what)
    if "..." in revision or ".." in revision:
        raise UnsafeValue(
            f"{what} '{_printable(revision)}' is a range of commits; give one commit (a branch, tag or commit id)"
        )
    if any(char.isspace() for char in revision) or ":" in revision or revision.endswith(("^!", "^@", "^-")):
        raise UnsafeValue(f"{what} '{_printable(revision)}' is not one commit (a branch, tag or commit id)")
    if len(revision.encode()) > MAX_REFNAME:
        raise UnsafeValue(f"{what} is longer than {MAX_REFNAME} bytes")
    return revision


def check_ref(name: str, what: str) -> str:
    """``name`` when it is a valid branch or tag name (``ref_format_problem``); UnsafeValue otherwise."""
    problem = ref_format_problem(name)
    if problem:
        raise UnsafeValue(f"{what} '{_printable(name)}' is not a valid git ref name: {problem}")
    return name


def ref_format_problem(name: str) -> str | None:
    """Why git would reject ``name`` as a branch name, or None when it would accept it."""
    if not name:
        return "the name is empty"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_REFNAME:
        return f"it is longer than {MAX_REFNAME} bytes"
    if name.startswith("-"):
        return "a branch name cannot start with '-'"
    if name == "HEAD" or name == "@":
        return f"'{name}' is reserved"
    for char in name:
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return "control characters are not allowed"
        if char in _FORBIDDEN:
            return f"'{char}' is not allowed (nor are space, ~ ^ : ? * [ \\)"
        if char.isspace():
            return "whitespace is not allowed"
    if ".." in name:
        return "'..' is not allowed"
    if "@{" in name:
        return "'@{' is not allowed"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return "a branch name cannot start or end with '/' or contain '//'"
    if name.endswith("."):
        return "a branch name cannot end with '.'"
    for component in name.split("/"):
        if component.startswith("."):
            return f"a path component cannot start with '.' ('{component}')"
        if component.endswith(".lock"):
            return f"a path component cannot end with '.lock' ('{component}')"
    return None
