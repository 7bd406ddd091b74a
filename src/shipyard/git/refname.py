"""Git's rules for branch names (``git check-ref-format --branch``), checked without running git.

Branch names come from webhooks and CI variables, so they are untrusted input; this check runs
before any name reaches a git command line or a Kubernetes label.
"""

from __future__ import annotations

_FORBIDDEN = set(" ~^:?*[\\")


def ref_format_problem(name: str) -> str | None:
    """Why git would reject ``name`` as a branch name, or None when it would accept it."""
    if not name:
        return "the name is empty"
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
