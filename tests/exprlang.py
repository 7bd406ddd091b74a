"""A small evaluator of the expr-lang subset render writes into Kargo objects, for the replays of Kargo's
behaviour (``tests/kargo_context.py``, ``tests/promotion_kargo.py``).

Written from expr-lang's language definition (github.com/expr-lang/expr) and Kargo's template rules
(``pkg/expressions/json_templates.go``). It covers strings (double- or single-quoted), numbers, bools and
nil; names; member access (``a.b``, nil-safe ``a?.b``), indexing (``a["k"]``, ``a[0]``) and calls;
``!``/``not``; ``+``; ``==``/``!=``; ``&&``/``and``; ``||``/``or``; ``??``; and the ternary ``c ? a : b``.
As in expr-lang, a missing map key is nil, a member of nil is an error, and ``+`` needs two strings or two
numbers. Anything else is a SyntaxError, so a render that strays from the subset
fails these tests rather than passing unchecked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<op>\?\?|\?\.|==|!=|&&|\|\||[?:.()\[\],!+])
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


class ExprError(Exception):
    """An expression that expr-lang would fail to run (a member of nil, a bad ``+``)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise SyntaxError(f"not in the expr-lang subset at {text[position:]!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


Node = tuple[Any, ...]


class _Parser:
    """Recursive descent over the tokens, to a tree of tuples that ``_run`` evaluates."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise SyntaxError("unexpected end of expression")
        token = self.tokens[self.index]
        if expected is not None and token[1] != expected:
            raise SyntaxError(f"expected {expected!r}, found {token[1]!r}")
        self.index += 1
        return token

    def ternary(self) -> Node:
        condition = self.binary(0)
        if self.peek() != "?":
            return condition
        self.take("?")
        then = self.ternary()
        self.take(":")
        return ("?:", condition, then, self.ternary())

    # Binary operators by precedence, lowest first; all left-associative.
    LEVELS: tuple[tuple[str, ...], ...] = (("??",), ("||", "or"), ("&&", "and"), ("==", "!="), ("+",))

    def binary(self, level: int) -> Node:
        if level == len(self.LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() in self.LEVELS[level]:
            op = self.take()[1]
            left = ({"or": "||", "and": "&&"}.get(op, op), left, self.binary(level + 1))
        return left

    def unary(self) -> Node:
        if self.peek() in ("!", "not"):
            self.take()
            return ("!", self.unary())
        return self.postfix()

    def postfix(self) -> Node:
        value = self.primary()
        while self.peek() in (".", "?.", "[", "("):
            op = self.take()[1]
            if op in (".", "?."):
                kind, name = self.take()
                if kind != "name":
                    raise SyntaxError(f"expected a member name after {op}")
                value = ("member", value, ("literal", name), op == "?.")
            elif op == "[":
                key = self.ternary()
                self.take("]")
                value = ("member", value, key, False)
            else:
                args: list[Node] = []
                while self.peek() != ")":
                    args.append(self.ternary())
                    if self.peek() == ",":
                        self.take(",")
                self.take(")")
                value = ("call", value, tuple(args))
        return value

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "string":
            quoted = text if text[0] == '"' else '"' + text[1:-1].replace('"', '\\"') + '"'
            return ("literal", json.loads(quoted))
        if kind == "number":
            return ("literal", float(text) if "." in text else int(text))
        if kind == "op" and text == "(":
            inner = self.ternary()
            self.take(")")
            return inner
        if kind == "name":
            constants = {"true": True, "false": False, "nil": None}
            return ("literal", constants[text]) if text in constants else ("name", text)
        raise SyntaxError(f"unexpected {text!r}")


def _run(node: Node, env: Mapping[str, Any]) -> Any:
    """Evaluate a tree; the untaken side of ``?:``, ``&&``, ``||`` and ``??`` is never run, as in expr-lang."""
    op = node[0]
    if op == "literal":
        return node[1]
    if op == "name":
        if node[1] not in env:
            raise SyntaxError(f"unknown name {node[1]!r}")
        return env[node[1]]
    if op == "?:":
        return _run(node[2] if _truth(_run(node[1], env)) else node[3], env)
    if op == "!":
        return not _truth(_run(node[1], env))
    if op == "member":
        return _member(_run(node[1], env), _run(node[2], env), node[3])
    if op == "call":
        function: Callable[..., Any] = _run(node[1], env)
        return function(*(_run(arg, env) for arg in node[2]))
    left = _run(node[1], env)
    if op == "??":
        return left if left is not None else _run(node[2], env)
    if op == "||":
        return _truth(left) or _truth(_run(node[2], env))
    if op == "&&":
        return _truth(left) and _truth(_run(node[2], env))
    right = _run(node[2], env)
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    return _plus(left, right)


def _truth(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ExprError(f"{value!r} is not a bool")
    return value


def _plus(left: Any, right: Any) -> Any:
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    numbers = [isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right)]
    if all(numbers):
        return left + right
    raise ExprError(f"invalid operation: {left!r} + {right!r}")


def _member(value: Any, name: Any, safe: bool) -> Any:
    if value is None:
        if safe:
            return None
        raise ExprError(f"cannot fetch {name} from <nil>")
    if isinstance(value, Mapping):
        return value.get(name)
    if isinstance(value, list):
        return value[name]
    if not hasattr(value, str(name)):
        raise ExprError(f"cannot fetch {name} from {type(value).__name__}")
    return getattr(value, str(name))


def evaluate(expression: str, env: Mapping[str, Any]) -> Any:
    """Run one expression over ``env`` (names and functions)."""
    parser = _Parser(expression)
    tree = parser.ternary()
    if parser.index != len(parser.tokens):
        raise SyntaxError(f"unexpected {parser.peek()!r}")
    return _run(tree, env)


_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value)


def evaluate_template(template: str, env: Mapping[str, Any]) -> Any:
    """A config string as Kargo evaluates it: each ``${{ }}`` replaced by its value (strings as they are,
    anything else as JSON, so nil becomes ``null``); then a result that reads as a number, a bool or JSON
    becomes that value, and one wrapped in double quotes loses them."""
    if "${{" not in template:
        return template
    result = _TEMPLATE.sub(lambda m: _text(evaluate(m.group(1), env)), template)
    body = result.removesuffix("\n")
    if len(body) > 1 and body.startswith('"') and body.endswith('"'):
        return body[1:-1] + result[len(body) :]
    try:
        return float(body)
    except ValueError:
        pass
    if body in ("true", "false"):
        return body == "true"
    try:
        return json.loads(body)
    except ValueError:
        return result
