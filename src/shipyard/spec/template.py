"""Name patterns of the spec (hosts, the preview namespace): literal text and ``{field}`` placeholders.

A pattern is parsed here, never handed to ``str.format``: only the fields documented for it are
accepted (``{service}``, ``{number}``, ``{domain}`` ...), so ``{service.__class__}`` or ``{0}`` is an
error when the spec loads, not text rendered into a host. Literal text may hold only what a DNS name
may, and what a pattern renders is checked again with the real values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
MAX_DNS_NAME = 253
"""The longest DNS subdomain Kubernetes accepts (an Ingress host, most object names)."""


class TemplateError(ValueError):
    """A pattern that is not text with the allowed placeholders; the message says what is valid."""


def dns_label_problem(name: str) -> str | None:
    """Why ``name`` is not a DNS label (RFC 1123: at most 63 lower-case letters, digits and '-'), or None."""
    if len(name) > 63:
        return f"'{name[:70]}' is longer than 63 characters"
    if not _DNS_LABEL.fullmatch(name):
        return f"{name!r} is not a DNS label (lower-case letters, digits and '-', starting and ending alphanumeric)"
    return None


def dns_subdomain_problem(name: str) -> str | None:
    """Why ``name`` is not a DNS subdomain (dot-separated DNS labels, at most 253 characters), or None."""
    if len(name) > MAX_DNS_NAME:
        return f"'{name[:70]}...' is longer than {MAX_DNS_NAME} characters"
    for label in name.split("."):
        problem = dns_label_problem(label)
        if problem:
            return f"{name[:100]!r}, which is not a DNS name: its label {problem}"
    return None


@dataclass(frozen=True)
class Template:
    """A parsed pattern: ``parts`` alternate literal text and field names (literal first, possibly empty)."""

    text: str
    parts: tuple[str, ...]

    @property
    def fields(self) -> frozenset[str]:
        """The field names the pattern uses."""
        return frozenset(self.parts[1::2])

    def render(self, **values: str) -> str:
        """The pattern with every field replaced by its value (each one must be given)."""
        return "".join(part if index % 2 == 0 else values[part] for index, part in enumerate(self.parts))


@lru_cache(maxsize=256)
def parse_template(text: str, allowed: frozenset[str], literal: str = "a-z0-9.-") -> Template:
    """Parse ``text`` as a pattern using only ``allowed`` fields and literal characters in ``literal``
    (a character class body); TemplateError names the first thing that is not allowed."""
    valid = ", ".join("{" + name + "}" for name in sorted(allowed))
    parts: list[str] = []
    position = 0
    literal_text = re.compile(f"[{literal}]*")
    for match in _PLACEHOLDER.finditer(text):
        parts += [text[position : match.start()], match[1]]
        position = match.end()
    parts.append(text[position:])
    for index, part in enumerate(parts):
        if index % 2:
            if part not in allowed:
                raise TemplateError(f"unknown placeholder {{{part}}} in '{text}'; valid: {valid}")
        elif not literal_text.fullmatch(part):
            bad = next(c for c in part if not literal_text.fullmatch(c))
            what = "a brace without its pair" if bad in "{}" else f"the character {bad!r}"
            raise TemplateError(f"'{text}' holds {what}; a pattern is [{literal}] text and {valid}")
    return Template(text, tuple(parts))
