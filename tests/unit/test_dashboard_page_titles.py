"""Every template's page title is text: no markup in a `{% block title %}` (a stray tag or a
section pasted there shows in the browser's tab and history as source)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted(
    path
    for folder in (ROOT / "apps", ROOT / "templates")
    for path in folder.rglob("*.html")
    if "{% block title %}" in path.read_text(encoding="utf-8")
)
TITLE = re.compile(r"{% block title %}(.*?){% endblock %}", re.S)


def test_there_are_titled_templates() -> None:
    assert len(TEMPLATES) > 20


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_page_title_holds_no_markup(path: Path) -> None:
    found = TITLE.search(path.read_text(encoding="utf-8"))
    assert found is not None, "the title block is not closed on its own"
    assert "<" not in found.group(1) and "\n" not in found.group(1).strip()
