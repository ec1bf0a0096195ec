"""The template helpers of diagnoses and playbooks
(apps.diagnosis.templatetags.diagnosis_tags)."""

import pytest
from django.urls import reverse

from apps.diagnosis.lookups import get_playbook
from apps.diagnosis.templatetags import diagnosis_tags as tags


def test_inline_code_escapes_then_marks_backticked_parts() -> None:
    assert tags.inline_code("Send `Accept: <json>` & retry") == (
        "Send <code>Accept: &lt;json&gt;</code> &amp; retry"
    )
    assert tags.inline_code(None) == ""
    assert tags.inline_code("no `closing") == "no `closing"


@pytest.mark.parametrize(
    ("severity", "label"), [("ok", "OK"), ("warning", "Warning"), ("fatal", "Fatal")]
)
def test_severity_labels(severity: str, label: str) -> None:
    assert tags.severity_label(severity) == label


@pytest.mark.parametrize(
    ("action", "label"), [("back_off", "Retry with backoff"), ("something_new", "something_new")]
)
def test_action_labels(action: str, label: str) -> None:
    assert tags.action_label(action) == label


@pytest.mark.parametrize(
    ("source", "label"),
    [("request_header", "Request header"), ("history", "Recent runs"), ("new_kind", "New kind")],
)
def test_evidence_sources_for_people(source: str, label: str) -> None:
    assert tags.evidence_source(source) == label


@pytest.mark.parametrize(
    ("value", "text"), [(45, "45 s"), ("125", "2 min 5 s"), ("soon", ""), (None, ""), ("1e999", "")]
)
def test_seconds(value: object, text: str) -> None:
    assert tags.seconds(value) == text


def test_a_playbooks_title_or_its_slug_when_gone() -> None:
    assert tags.playbook_title("back-off") == get_playbook("back-off").title
    assert tags.playbook_title("removed-long-ago") == "removed-long-ago"


def test_playbook_links_of_an_object_and_of_its_stored_dict() -> None:
    class Cause:
        playbooks = ("back-off", "removed-long-ago")

    playbook = get_playbook("back-off")
    expected = [
        {
            "slug": "back-off",
            "title": playbook.title,
            "summary": playbook.summary,
            "url": reverse("diagnosis:playbook", args=["back-off"]),
        },
        {"slug": "removed-long-ago", "title": "removed-long-ago", "summary": "", "url": None},
    ]
    assert tags.playbook_links(Cause()) == expected
    assert tags.playbook_links({"playbooks": ["back-off", "removed-long-ago"]}) == expected


@pytest.mark.parametrize("diagnosis", [None, {}, {"playbooks": None}, object()])
def test_no_playbooks_give_no_links(diagnosis: object) -> None:
    assert tags.playbook_links(diagnosis) == []
