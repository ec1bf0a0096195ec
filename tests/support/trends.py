"""The trends page's tests: a fixed day of runs and the text of the page's tables."""

import re
from datetime import UTC, datetime

from django.utils.html import strip_tags

DAY = "since=2025-01-01T00:00&until=2025-01-02T00:00"  # one day: counted per hour


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2025, 1, day, hour, minute, tzinfo=UTC)


def table(content: bytes, table_id: str) -> str:
    """The text of one table of the page, its cells separated by single spaces."""
    found = re.search(rf'<table id="{table_id}"[^>]*>(.*?)</table>', content.decode(), re.S)
    assert found, f"no table {table_id}"
    cells = re.sub(r"<t[dh][^>]*>", " ", found.group(1))
    return " ".join(strip_tags(cells).split())
