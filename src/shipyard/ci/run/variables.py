"""Tekton's variable substitution: ``$(params.x)``, ``$(params['x'])``, ``$(params.a[*])``, ``$(params.a[1])``,
``$(tasks.t.results.r)``, ``$(workspaces.w.path)``, ``$(context.pipelineRun.name)`` and the rest.

As Tekton's controller does (``substitution.ApplyReplacements``), each pass replaces the references it knows in
one sweep, so a replaced value is never scanned again within that pass, and leaves any other ``$(...)`` as it is
(shell command substitutions stay intact). A whole array (``$(params.a[*])``, or an array's bare name) is only
replaced where a value stands alone in an array-valued field (``ApplyArrayReplacements``); anywhere else Tekton
refuses it at admission, and so does this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shipyard.ci.run.errors import TektonInputError, UnsupportedFeature

Value = str | list[str]

TOKEN = re.compile(r"\$\(([^()]*)\)")
_BRACKETED = re.compile(r"""(params|results)(?:\.([A-Za-z0-9_-]+)|\['([^']*)'\]|\["([^"]*)"\])(.*)""", re.DOTALL)
_SUBSCRIPT = re.compile(r"\[(\*|[0-9]+)\]")
_TASK_RESULT = re.compile(r"tasks\.([^.\s]+)\.results\.([A-Za-z0-9_-]+)(.*)", re.DOTALL)


@dataclass(frozen=True)
class Ref:
    """One parsed reference: ``key`` in canonical dotted form, an optional ``[*]``/``[i]``, and what follows."""

    key: str
    subscript: str | int | None = None
    rest: str = ""

    @property
    def text(self) -> str:
        """The canonical spelling, for messages."""
        sub = "" if self.subscript is None else f"[{self.subscript}]"
        return f"$({self.key}{sub}{self.rest})"


def parse(inner: str) -> Ref:
    """Canonical form of the text inside ``$(...)``: bracket spellings become dotted ones."""
    match = _BRACKETED.fullmatch(inner)
    if match:
        kind = match.group(1)
        name = next(g for g in match.group(2, 3, 4) if g is not None)
        rest = match.group(5)
        if kind == "results":  # $(results.r.path): the only results form a Task has
            return Ref(f"results.{name}{rest}")
        return _subscripted(f"params.{name}", rest)
    match = _TASK_RESULT.fullmatch(inner)
    if match:
        return _subscripted(f"tasks.{match.group(1)}.results.{match.group(2)}", match.group(3))
    return Ref(inner)


def _subscripted(key: str, rest: str) -> Ref:
    sub = _SUBSCRIPT.match(rest)
    if not sub:
        return Ref(key, None, rest)
    value = sub.group(1)
    return Ref(key, value if value == "*" else int(value), rest[sub.end() :])


def references(text: str) -> list[Ref]:
    """Every ``$(...)`` reference in ``text``, parsed."""
    return [parse(m.group(1)) for m in TOKEN.finditer(text)]


class Scope:
    """The values one substitution pass knows, by canonical key (``params.x``, ``workspaces.w.path``, ...)."""

    def __init__(self, values: Mapping[str, Value], where: str = "") -> None:
        self.values = values
        self.where = where

    def lookup(self, ref: Ref, *, array_ok: bool) -> Value | None:
        """The value of ``ref``; None when this pass does not know it (the text is left as written)."""
        value = self.values.get(ref.key)
        if value is None:
            return None
        if ref.rest:
            if ref.rest.startswith(".") and ref.key.startswith(("params.", "tasks.")):
                raise UnsupportedFeature(f"object params and results ({ref.text})", where=self.where)
            return None
        if isinstance(value, str):
            if ref.subscript is not None:
                raise TektonInputError(f"{self.where}: {ref.text}: {ref.key} is a string, not an array")
            return value
        if isinstance(ref.subscript, int):
            if ref.subscript >= len(value):
                raise TektonInputError(
                    f"{self.where}: {ref.text}: index {ref.subscript} is out of range ({len(value)} elements)"
                )
            return value[ref.subscript]
        if not array_ok:
            raise TektonInputError(
                f"{self.where}: {ref.text} is a whole array; it can only stand alone in an array value"
            )
        return list(value)

    def string(self, text: str) -> str:
        """``text`` with every reference this pass knows replaced (a string field)."""
        if "$(" not in text:
            return text

        def replace(match: re.Match[str]) -> str:
            value = self.lookup(parse(match.group(1)), array_ok=False)
            return match.group(0) if value is None else str(value)

        return TOKEN.sub(replace, text)

    def value(self, value: Value) -> Value:
        """A param value: a lone whole-array reference becomes the array; an array's items are spliced."""
        if isinstance(value, list):
            return self.items(value)
        whole = TOKEN.fullmatch(value)
        if whole:
            found = self.lookup(parse(whole.group(1)), array_ok=True)
            if isinstance(found, list):
                return found
        return self.string(value)

    def items(self, values: Iterable[str]) -> list[str]:
        """An array field (``when`` values, array params): lone whole-array references are spliced in."""
        out: list[str] = []
        for item in values:
            found = self.value(item)
            out.extend(found if isinstance(found, list) else [found])
        return out


def unresolved(text: str, prefixes: tuple[str, ...]) -> list[Ref]:
    """The references left in ``text`` whose key starts with one of ``prefixes`` (after every pass)."""
    return [ref for ref in references(text) if ref.key.startswith(prefixes)]
