"""Which pull request a Harbor artifact belongs to, from its tags and annotations; marks that disagree are an
error, never a guess."""

from __future__ import annotations

from typing import Any

import pytest

from shipyard.serve.harbor_scan import (
    PR_ANNOTATION,
    REVISION,
    LinkError,
    PullRequestRef,
    artifact_marks,
    pull_request_of,
    section_name,
)

SHA = "abcdef1" + "0" * 33


class NoGitHub:
    """Only a revision without any PR mark asks GitHub; every other case must not."""

    def paginate(self, path: str) -> Any:
        raise AssertionError(f"GitHub was asked {path}")


def link(tags: list[str], marks: dict[str, str], hinted: str | None = None) -> PullRequestRef | None:
    return pull_request_of(tags, marks, NoGitHub(), "acme/monorepo", hinted)  # type: ignore[arg-type]


def test_a_pr_tag_or_annotation_names_the_pull_request() -> None:
    assert link(["latest", "pr-12-abcdef1"], {}) == PullRequestRef(12, "tag pr-12-abcdef1")
    assert link([], {PR_ANNOTATION: "12"}) == PullRequestRef(12, f"annotation {PR_ANNOTATION}")
    assert link(["pr-12-abcdef1"], {PR_ANNOTATION: "12", REVISION: SHA}) == PullRequestRef(12, "tag pr-12-abcdef1")
    assert link([], {}, hinted="pr-3-abcdef1") == PullRequestRef(3, "tag pr-3-abcdef1")
    assert link(["v1.2.0", "latest"], {REVISION: "v1.2.0"}) is None  # a release image: no pull request


@pytest.mark.parametrize(
    ("tags", "marks", "words"),
    [
        (["pr-12-abcdef1", "pr-13-abcdef1"], {}, "several pull requests"),
        (["pr-12-abcdef1"], {PR_ANNOTATION: "13"}, "several pull requests"),
        (["pr-12-1234567"], {REVISION: SHA}, "different commits"),
        ([], {PR_ANNOTATION: "twelve"}, "not a pull request number"),
    ],
)
def test_marks_that_disagree_are_refused(tags: list[str], marks: dict[str, str], words: str) -> None:
    with pytest.raises(LinkError, match=words):
        link(tags, marks)


def test_annotations_win_over_config_labels_and_odd_values_are_dropped() -> None:
    artifact = {
        "tags": [{"name": "pr-1-abcdef1"}, {"name": 5}, "junk"],
        "annotations": {REVISION: SHA, "n": 1},
        "extra_attrs": {"config": {"Labels": {REVISION: "0" * 40, PR_ANNOTATION: "1"}}},
    }
    tags, marks = artifact_marks(artifact)
    assert tags == ["pr-1-abcdef1"] and marks == {REVISION: SHA, PR_ANNOTATION: "1"}


def test_section_names_keep_to_the_section_alphabet() -> None:
    assert section_name("services", "team/Payment_Service") == "harbor-services-team-payment-service"
