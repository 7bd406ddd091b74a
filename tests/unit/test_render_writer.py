"""Render's writer: ownership headers, seeded files, orphans, determinism and the no-op cache."""

from __future__ import annotations

import shutil
from pathlib import Path

from shipyard.configrepo.promotable import promotable_path, set_images
from shipyard.plan import Op
from shipyard.render.engine import RenderResult, config_trees, render
from shipyard.render.writer import HEADER_MARK
from shipyard.spec.loader import load_spec
from shipyard.workspace.discovery import discover


def _render(app: Path, out: Path, *, write: bool = True, use_cache: bool = False) -> RenderResult:
    return render(
        load_spec(app / "shipyard.yaml"),
        discover(app),
        config_trees(out, app),
        write=write,
        use_cache=use_cache,
        cache_root=app,
    )


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_owned_files_carry_the_header_and_the_promotable_state_does_not(acme: Path, tmp_path: Path) -> None:
    out = tmp_path / "config"
    _render(acme, out)
    assert HEADER_MARK in (out / "base/user-service/deployment.yaml").read_text().splitlines()[0]
    top = (out / "overlays/dev/images/kustomization.yaml").read_text()
    assert HEADER_MARK not in top
    # A new environment starts on nothing: no moving tag, the first promotion pins digests.
    assert top.endswith("kind: Component\nimages: []\n")


def test_rendering_is_deterministic_and_a_second_render_changes_nothing(acme: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    _render(acme, first)
    _render(acme, second)
    assert _snapshot(first) == _snapshot(second)
    assert _render(acme, first).up_to_date


def test_orphans_it_owned_are_removed_and_other_files_are_kept(acme: Path, tmp_path: Path) -> None:
    out = tmp_path / "config"
    _render(acme, out)
    (out / "README.md").write_text("# our config repo\n")
    (out / "base/notes.txt").write_text("hand-written\n")
    set_images(out / promotable_path("dev"), {"localhost/services/payment-service": "sha256:" + "c" * 64})
    shutil.rmtree(acme / "services" / "payment-service")
    result = _render(acme, out)
    deleted = sorted(c.relative for c in result.changes if c.op is Op.delete)
    assert "base/payment-service/deployment.yaml" in deleted
    assert "overlays/production/generated/services/payment-service/patch.yaml" in deleted
    assert "argocd/applications/production/payment-service.yaml" in deleted
    assert not (out / "base/payment-service").exists()
    assert (out / "README.md").exists() and (out / "base/notes.txt").exists()
    # The promotable state is never rewritten, even when it still names the removed service.
    assert "payment-service" in (out / "overlays/dev/images/kustomization.yaml").read_text()


def test_promotions_in_the_top_kustomization_are_not_differences(acme: Path, tmp_path: Path) -> None:
    out = tmp_path / "config"
    _render(acme, out)
    top = out / "overlays/production/images/kustomization.yaml"
    promoted = top.read_text().replace(
        "images: []", "images:\n- name: localhost/services/user-service\n  digest: sha256:" + "b" * 64
    )
    top.write_text(promoted)
    assert _render(acme, out, write=False).up_to_date
    _render(acme, out)
    assert top.read_text() == promoted


def test_a_hand_edited_top_kustomization_is_reported_never_rewritten(acme: Path, tmp_path: Path) -> None:
    out = tmp_path / "config"
    _render(acme, out)
    top = out / "overlays/uat/images/kustomization.yaml"
    edited = top.read_text() + "resources:\n- extra.yaml\n"
    top.write_text(edited)
    result = _render(acme, out)
    assert [c.relative for c in result.changes] == ["overlays/uat/images/kustomization.yaml"]
    assert result.plan().empty and "fix it by hand" in result.plan().notes[0]
    assert top.read_text() == edited


def test_the_cache_makes_a_no_op_free_and_notices_edits(acme: Path, tmp_path: Path) -> None:
    out = tmp_path / "config"
    assert not _render(acme, out, use_cache=True).cached
    assert _render(acme, out, use_cache=True).cached
    edited = out / "kargo/stages/dev.yaml"
    edited.write_text(edited.read_text() + "# edit\n")
    again = _render(acme, out, use_cache=True)
    assert not again.cached and [c.relative for c in again.changes] == ["kargo/stages/dev.yaml"]
    assert "# edit" not in edited.read_text()
    spec = acme / "shipyard.yaml"
    spec.write_text(spec.read_text() + "services:\n  user-service: {port: 9090}\n")
    changed = _render(acme, out, use_cache=True)
    assert not changed.cached and "base/user-service/deployment.yaml" in {c.relative for c in changed.changes}


def test_only_files_that_can_carry_the_header_may_be_rendered() -> None:
    import pytest

    from shipyard.errors import ShipyardError
    from shipyard.render.writer import with_header

    assert with_header("a/b.md", "# Title\n").startswith(f"<!-- {HEADER_MARK}")
    once = with_header("a/b.yaml", "kind: X\n")
    assert with_header("a/b.yaml", once) == once
    with pytest.raises(ShipyardError, match=r"cannot carry an ownership header"):
        with_header("a/b.json", "{}")
