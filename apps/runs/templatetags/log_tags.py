"""Template helpers of the team log: links that add a filter, the path part of a URL."""

from urllib.parse import urlsplit

from django import template
from django.http import QueryDict
from django.urls import reverse

register = template.Library()


@register.simple_tag
def log_url(query: QueryDict, name: str, value: object) -> str:
    """The log's first page with the current filters and `name` set to `value`."""
    changed = query.copy()
    changed[name] = str(value)
    return f"{reverse('home')}?{changed.urlencode()}"


@register.filter
def short_path(url: str, limit: int = 60) -> str:
    """The path and query of a URL ("/v2/data?x=1"), cut in the middle when longer than
    `limit`: both its start and its end (the endpoint, the query) stay readable."""
    try:
        parts = urlsplit(url)
        path = parts.path or "/"
        path = f"{path}?{parts.query}" if parts.query else path
    except ValueError:
        path = url
    if len(path) <= limit:
        return path
    head = (limit - 1) * 2 // 5
    return f"{path[:head]}…{path[-(limit - 1 - head) :]}"


# The end of a path kept whole when the log cuts a long one in the middle.
ELIDE_KEEP_END = 24


@register.filter
def path_ends(url: str) -> tuple[str, str]:
    """The path and query of a URL split in two: the start, which the page may cut with an
    ellipsis, and the end (the endpoint, the query), which stays readable."""
    full = short_path(url, limit=10_000)
    if len(full) <= ELIDE_KEEP_END * 2:
        return full, ""
    return full[:-ELIDE_KEEP_END], full[-ELIDE_KEEP_END:]
