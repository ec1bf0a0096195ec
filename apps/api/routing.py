"""The API's URL patterns: django-ninja's own, with a method an address does not answer
refused as an RFC 9457 problem (like every other API answer), not django-ninja's plain
text."""

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.urls import URLPattern

from apps.api.api import Problematic, api, problem_response

View = Callable[..., HttpResponseBase]


def api_urls() -> tuple[list[URLPattern], str, str]:
    """`api.urls` with each view answering a wrong method as a problem."""
    patterns, app_name, namespace = api.urls
    wrapped = []
    for pattern in patterns:
        assert isinstance(pattern, URLPattern)  # django-ninja makes one per path, no includes
        view = _problem_for_wrong_method(pattern.callback)
        wrapped.append(URLPattern(pattern.pattern, view, pattern.default_args, pattern.name))
    return wrapped, app_name, namespace


def _problem_for_wrong_method(view: View) -> View:
    @functools.wraps(view)
    def answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if not isinstance(response, HttpResponseNotAllowed):
            return response
        allowed = response["Allow"]
        detail = f"{request.method} is not one of this address's methods: {allowed}."
        return problem_response(Problematic(405, detail, headers={"Allow": allowed}))

    return answer
