"""The Shipyard comment's sections: each writer replaces its own and keeps every other one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shipyard.github.feedback import MARKER, Feedback, compose_comment, parse_sections, preview_markdown

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=80).filter(
    lambda t: t.strip("\n") and "<!--" not in t and "-->" not in t
)


def test_pr_comment_keeps_the_preview_section_and_preview_keeps_the_rest() -> None:
    preview = preview_markdown({"user-service": "https://pr-7-user-service.preview.example.com"}, "`pr-7`")
    body = compose_comment(None, {"preview": preview})
    body = compose_comment(body, Feedback(affected=["user-service"], pipeline_status="Failed").sections())
    assert parse_sections(body) == {
        "status": "Pipeline: **Failed**\n\n**Affected services** (1): `user-service`",
        "preview": preview,
    }
    assert body.startswith(MARKER + "\n## Shipyard\n")
    # The order shown is fixed (status, preview, scan), whoever wrote first.
    assert body.index("shipyard:section:status") < body.index("shipyard:section:preview")
    assert compose_comment(body, {"preview": ""}) == compose_comment(None, {"status": parse_sections(body)["status"]})


def test_a_comment_from_before_sections_is_kept_as_the_status_section() -> None:
    legacy = f"{MARKER}\n## Shipyard\n\n**Affected services** (1): `user-service`\n"
    body = compose_comment(legacy, {"preview": "**Preview**\n\n- https://x.example.com"})
    assert parse_sections(body) == {
        "status": "**Affected services** (1): `user-service`",
        "preview": "**Preview**\n\n- https://x.example.com",
    }


def test_feedback_body_is_unchanged_for_pr_comment_alone() -> None:
    body = Feedback(affected=[], previews=["https://a.example.com"]).body()
    assert "**Affected services** (0): none" in body and "- https://a.example.com" in body
    assert "No scan reports" in Feedback().body()


@given(st.dictionaries(st.sampled_from(["status", "preview", "scan", "future-part"]), _TEXT), _TEXT)
def test_replacing_one_section_keeps_every_other_one_intact(sections: dict[str, str], text: str) -> None:
    body = compose_comment(None, sections)
    updated = parse_sections(compose_comment(body, {"preview": text}))
    expected = {k: v.strip("\n") for k, v in {**sections, "preview": text}.items()}
    assert updated == expected
    assert compose_comment(compose_comment(body, {"preview": text}), {"preview": text}) == compose_comment(
        body, {"preview": text}
    )
