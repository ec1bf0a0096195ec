"""The team log's template helpers (apps.runs.templatetags.log_tags): links that add a
filter, and long paths cut so that their ends stay readable."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import QueryDict
from django.urls import reverse

from apps.runs.templatetags.log_tags import ELIDE_KEEP_END, log_url, path_ends, short_path


def test_a_filter_link_keeps_the_other_filters_and_replaces_its_own() -> None:
    query = QueryDict("status=failed&host=a.test&host=b.test", mutable=False)
    url = log_url(query, "host", "c.test")
    parts = urlsplit(url)
    assert parts.path == reverse("home")
    assert parse_qs(parts.query) == {"status": ["failed"], "host": ["c.test"]}
    assert query.getlist("host") == ["a.test", "b.test"]  # the page's own is left alone


def test_a_filter_link_writes_any_value_as_text() -> None:
    assert log_url(QueryDict(""), "status_code", 429).endswith("?status_code=429")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://h.test/v2/data?x=1", "/v2/data?x=1"),
        ("https://h.test", "/"),
        ("http://[::1/broken", "http://[::1/broken"),
    ],
)
def test_the_short_path_is_the_path_and_query(url: str, shown: str) -> None:
    assert short_path(url) == shown


def test_a_long_path_is_cut_in_the_middle_to_the_limit() -> None:
    path = "/v2/" + "segment/" * 20 + "trades?page_size=5"
    shown = short_path("https://h.test" + path, limit=60)
    assert len(shown) == 60
    head, _, tail = shown.partition("…")
    assert path.startswith(head) and path.endswith(tail)
    assert tail.endswith("trades?page_size=5")


def test_path_ends_keeps_a_short_path_whole() -> None:
    assert path_ends("https://h.test/v2/x") == ("/v2/x", "")


def test_path_ends_splits_a_long_path_keeping_its_end() -> None:
    path = "/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades?page_size=5"
    start, end = path_ends("https://h.test" + path)
    assert start + end == path
    assert len(end) == ELIDE_KEEP_END
