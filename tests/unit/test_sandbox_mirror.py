"""Pure parts of the sandbox: image mirroring, the TTL state file, CHECK parsing, dependency order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.configrepo.promotable import mirror_images, read_entries
from shipyard.errors import ShipyardError
from shipyard.sandbox.db.catalog import Catalog, Column, ForeignKey, Table
from shipyard.sandbox.db.checks import parse_checks
from shipyard.sandbox.state import SandboxState

PROD = """images:
  - name: reg/services/a
    digest: sha256:aa
  - name: reg/services/b
    newTag: v1.0.0
"""


def test_mirror_keeps_comments_and_replaces_references() -> None:
    sandbox = """# top comment
resources:
  - generated
images:
  - name: reg/services/a  # keep me
    newTag: old
  - name: reg/services/gone
    digest: sha256:ff
"""
    text, changes = mirror_images(PROD, sandbox)
    assert text.startswith("# top comment\n")
    assert "# keep me" in text
    assert read_entries(text) == [
        {"name": "reg/services/a", "digest": "sha256:aa"},
        {"name": "reg/services/b", "newTag": "v1.0.0"},
    ]
    assert {(c.name, c.before, c.after) for c in changes} == {
        ("reg/services/a", "tag old", "digest sha256:aa"),
        ("reg/services/b", None, "tag v1.0.0"),
        ("reg/services/gone", "digest sha256:ff", None),
    }
    again, none = mirror_images(PROD, text)
    assert again == text
    assert none == []


def test_mirror_creates_the_overlay_when_render_has_not() -> None:
    text, _ = mirror_images(PROD, None)
    assert text.startswith("# The promotable state of this environment")
    assert "kind: Component\nimages:\n  - name: reg/services/a\n" in text


def test_state_round_trips_and_expires() -> None:
    created = datetime(2024, 11, 14, 15, 30, 45, tzinfo=UTC)
    state = SandboxState(namespace="sandbox", created_at=created, ttl="1d12h", mirrors="abc")
    back = SandboxState.from_yaml(state.to_yaml())
    assert back == state
    assert back.expires_at == created + timedelta(hours=36)
    assert not back.expired(created + timedelta(hours=35))
    assert back.expired(created + timedelta(hours=36))
    with pytest.raises(ShipyardError, match="malformed"):
        SandboxState.from_yaml("kind: ConfigMap\n")


def test_checks_understood_and_reported() -> None:
    info = parse_checks(
        [
            ("a", "CHECK ((total >= (0)::numeric))"),
            ("b", "CHECK ((status = ANY (ARRAY['it''s'::text, 'paid'::text])))"),
            ("c", "CHECK (((qty >= 1) AND (qty <= 5)))"),
            ("d", "CHECK ((lower(code) = code))"),
        ]
    )
    assert info.bounds["total"].low == Decimal(0)
    assert info.bounds["status"].choices == ("it's", "paid")
    assert (info.bounds["qty"].low, info.bounds["qty"].high) == (Decimal(1), Decimal(5))
    assert info.unknown == {"d"}


@given(st.integers(min_value=-(10**6), max_value=10**6), st.sampled_from([">", ">=", "<", "<="]))
def test_simple_comparisons_parse_for_any_bound(value: int, op: str) -> None:
    info = parse_checks([("x", f"CHECK ((n {op} {value}))")])
    bounds = info.bounds["n"]
    assert (bounds.low if op.startswith(">") else bounds.high) == Decimal(value)
    assert (bounds.low_inclusive if op.startswith(">") else bounds.high_inclusive) == op.endswith("=")


def _table(name: str, refs: tuple[str, ...] = ()) -> Table:
    column = Column("id", "integer", "int4", "N", True, False, False, None)
    fks = tuple(ForeignKey(f"{name}_{r}", ("id",), f"public.{r}", ("id",)) for r in refs)
    return Table("public", name, (column,), ("id",), foreign_keys=fks)


def test_fk_order_puts_parents_first_and_names_cycles() -> None:
    catalog = Catalog({t.qualified: t for t in (_table("c", ("b",)), _table("b", ("a",)), _table("a", ("a",)))})
    assert catalog.fk_order() == ["public.a", "public.b", "public.c"]
    cyclic = Catalog({t.qualified: t for t in (_table("x", ("y",)), _table("y", ("x",)))})
    with pytest.raises(ShipyardError, match=r"cycle between: public\.x, public\.y"):
        cyclic.fk_order()
