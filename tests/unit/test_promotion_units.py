"""The promotion executor's parts without git: trailers in and out, kustomization edits, tags, freight ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.configrepo.promotable import read_images, set_images
from shipyard.errors import ShipyardError
from shipyard.git import format_message
from shipyard.promotion.executor import Move
from shipyard.promotion.freight import FreightImage, freight_id, make_freight, version_problem
from shipyard.promotion.ledger import Ledger, entry_from_commit
from shipyard.promotion.tags import StoreTags
from shipyard.registry.layout import LayoutStore
from shipyard.registry.stores import Stores
from shipyard.versioning.semver import Version
from shipyard.versioning.tags import split_tag
from tests.ociimages import push_image

names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
digests = st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True)
versions = st.builds(
    lambda minor, beta: f"v1.{minor}.0-beta.{beta}" if beta else f"v1.{minor}.0",
    st.integers(0, 99),
    st.integers(0, 9),
)


@given(
    stage=names,
    version=versions,
    images=st.dictionaries(names, digests, min_size=1, max_size=6),
    approver=st.one_of(st.none(), st.from_regex(r"[A-Za-z][A-Za-z .'-]{0,30}[a-z]", fullmatch=True)),
    pr=st.one_of(st.none(), st.integers(1, 99999).map(str)),
    rollback=st.booleans(),
)
def test_a_moves_trailers_read_back_as_the_same_move(
    stage: str, version: str, images: dict[str, str], approver: str | None, pr: str | None, rollback: bool
) -> None:
    move = Move(
        stage=stage,
        freight="f" * 40,
        version=version,
        images={s: (f"localhost/services/{s}", d) for s, d in images.items()},
        source_commit="0123abc",
        pr=pr,
        approved_by=approver,
        rollback=rollback,
    )
    message = format_message(move.subject, move.trailers())
    entry = entry_from_commit("c1", "Shipyard", "2026-11-25T10:00:00+00:00", message)
    assert entry is not None
    assert (entry.stage, entry.version, entry.freight, entry.pr, entry.approved_by) == (
        stage,
        version,
        "f" * 40,
        pr,
        approver,
    )
    assert dict(entry.images) == images
    assert entry.kind == ("rollback" if rollback else "promotion")


def test_the_ledger_skips_commits_that_are_not_freight_moves() -> None:
    log = (
        "c1\x1fAlice\x1f2026-11-25T10:00:00+00:00\x1fRender the config\n\nShipyard-Version: v1.0.0\n\x1e\n"
        "c2\x1fShipyard\x1f2026-11-25T11:00:00+00:00\x1fRecord freight v1.0.0-beta.1\n\n"
        "Shipyard-Freight: abc\nShipyard-Version: v1.0.0-beta.1\nShipyard-Service: api\n"
        f"Shipyard-Digest: sha256:{'a' * 64}\n\x1e\n"
    )
    ledger = Ledger.parse(log)
    assert [(e.commit, e.kind) for e in ledger.entries] == [("c2", "freight")]
    assert ledger.moves() == [] and ledger.recorded()[0].images == (("api", f"sha256:{'a' * 64}"),)


def test_set_images_keeps_comments_and_the_files_indentation(tmp_path: Path) -> None:
    path = tmp_path / "kustomization.yaml"
    path.write_text(
        "# top comment\n"
        "apiVersion: kustomize.config.k8s.io/v1alpha1\n"
        "kind: Component   # included by every service's overlay\n"
        "images:\n"
        "  - name: localhost/services/api\n"
        "    newName: mirror.example/api   # pinned by hand\n"
        "    newTag: alpha\n"
    )
    assert set_images(path, {"localhost/services/api": "sha256:" + "1" * 64})
    text = path.read_text()
    assert text.startswith("# top comment\napiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component   # included")
    assert "  - name: localhost/services/api\n    digest: sha256:" in text
    # As Kargo's kustomize-set-image does, the digest replaces the entry whole: no tag, no other name.
    assert "newTag" not in text and "newName" not in text
    assert not set_images(path, {"localhost/services/api": "sha256:" + "1" * 64})
    assert read_images(path) == {"localhost/services/api": "sha256:" + "1" * 64}


def test_set_images_creates_the_promotable_component(tmp_path: Path) -> None:
    path = tmp_path / "overlays" / "uat" / "images" / "kustomization.yaml"
    assert set_images(path, {"localhost/services/web": "sha256:" + "2" * 64})
    text = path.read_text()
    assert "kind: Component\nimages:\n  - name: localhost/services/web\n    digest: sha256:" in text


def test_set_images_refuses_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "kustomization.yaml"
    path.write_text("images: {a: b}\n")
    with pytest.raises(ShipyardError, match="must be a list"):
        set_images(path, {"x": "sha256:" + "3" * 64})


def test_store_tags_ask_the_layout_store(tmp_path: Path) -> None:
    layout = LayoutStore(tmp_path / "registry")
    api = push_image(layout, "services/api", "v1.2.0", layers=1, size=16)
    layout.put_manifest("services/api", "stable", api)
    tags = StoreTags(Stores(layout=tmp_path / "registry"))
    assert tags.digest_of("localhost/services/api", "v1.2.0") == api.digest
    assert tags.digest_of("localhost/services/api", "stable") == api.digest
    assert tags.digest_of("localhost/services/api", "v9.9.9") is None
    assert tags.digest_of("localhost/services/never-pushed", "v1.2.0") is None
    with pytest.raises(ShipyardError, match="not a valid tag"):
        tags.digest_of("localhost/services/api", "v1.2.0 beta")
    tags.close()


@given(st.dictionaries(names, digests, min_size=1, max_size=5))
def test_freight_ids_depend_on_content_not_order(images: dict[str, str]) -> None:
    forward = {s: FreightImage(image=f"h/{s}", digest=d) for s, d in images.items()}
    backward = dict(reversed(list(forward.items())))
    assert freight_id(forward, {}) == freight_id(backward, {})
    assert freight_id(forward, {}) != freight_id(forward, {"@acme/utils": "1.0.0"})


@pytest.mark.parametrize(
    ("version", "prefix", "ok"),
    [
        ("v1.2.0", "v", True),
        ("v1.2.0-beta.3", "v", True),
        ("v1.2.0-alpha.20261125103000", "v", True),
        ("v1.2.0-alpha.1", "v", False),
        ("v1.2.0-rc.1", "v", False),
        ("v1.2.0+build.5", "v", False),
        ("1.2.0", "v", False),
        ("latest", "v", False),
        ("release-1.2.0-beta.3", "release-", True),
        ("release-1.2.0", "release-", True),
        ("v1.2.0", "release-", False),
        ("release-1.2.0", "v", False),
        ("1.2.0-beta.1", "", True),
        ("v1.2.0-beta.1", "", False),
    ],
)
def test_only_release_versions_of_the_tag_prefix_make_freight(version: str, prefix: str, ok: bool) -> None:
    assert (version_problem(version, prefix) is None) is ok
    if not ok:
        with pytest.raises(ShipyardError):
            make_freight(version, {"api": FreightImage(image="h/api", digest="sha256:" + "4" * 64)}, prefix=prefix)


@given(
    prefix=st.from_regex(r"[A-Za-z._-]{0,8}", fullmatch=True),
    core=st.tuples(st.integers(0, 999), st.integers(0, 999), st.integers(0, 999)),
    pre=st.sampled_from([(), ("beta", 3), ("alpha", 20261125103000)]),
)
def test_a_version_tag_splits_into_its_prefix_and_version(
    prefix: str, core: tuple[int, int, int], pre: tuple[int | str, ...]
) -> None:
    version = Version(*core, prerelease=pre)
    assert split_tag(version.format(prefix)) == (prefix, version)
    assert split_tag(f"{prefix}latest") is None


def test_empty_freight_is_refused() -> None:
    with pytest.raises(ShipyardError, match="would be empty"):
        make_freight("v1.0.0", {})
