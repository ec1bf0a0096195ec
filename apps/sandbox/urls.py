import functools
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseBase
from django.urls import include, path, re_path

from apps.sandbox import views

app_name = "sandbox"

View = Callable[..., HttpResponseBase]


def when_enabled(view: View) -> View:
    """The view while SANDBOX_ENABLED is on, a 404 otherwise (production, by default); the
    team scope of a ``/sandbox/t/<scope>/...`` URL handed to it on the request."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if not settings.SANDBOX_ENABLED:
            raise Http404("The sandbox is not enabled")
        setattr(request, views.SCOPE_ATTRIBUTE, kwargs.pop("scope", ""))
        return view(request, *args, **kwargs)

    return wrapper


api_patterns = [
    # Helpers for the dashboard's own tests: any method, no key, no scenario.
    path("echo", when_enabled(views.echo), name="echo"),
    path("redirect/<int:hops>", when_enabled(views.redirect_chain), name="redirect"),
    path("redirect-loop", when_enabled(views.redirect_loop), name="redirect_loop"),
    # Oversize answers, for the body caps: any method, no key, no scenario.
    path("large", when_enabled(views.large), name="large"),
    path("bomb", when_enabled(views.bomb), name="bomb"),
    path("gzip-padding", when_enabled(views.gzip_padding), name="gzip_padding"),
    path("layers", when_enabled(views.layers), name="layers"),
    # us.market-api.kaiko.io and eu.market-api.kaiko.io
    re_path(
        r"^(?P<region>us|eu)/(?P<api_path>.*)$", when_enabled(views.market_data), name="market"
    ),
    # reference-data-api.kaiko.io
    re_path(r"^reference/(?P<api_path>.*)$", when_enabled(views.reference_data), name="reference"),
    # Everything else under /sandbox/ answers Kaiko's JSON 404, not an HTML page.
    re_path(r"^(?P<api_path>.*)$", when_enabled(views.not_found), name="not_found"),
]

urlpatterns = [
    path("", when_enabled(views.docs), name="docs"),
    path("maintenance/", when_enabled(views.maintenance_switch), name="maintenance"),
    # A team's own sandbox: the same API with its own maintenance switch and rate limits
    # (see apps.sandbox.state.team_scope).
    re_path(r"^t/(?P<scope>[0-9a-f]{20})/", include(api_patterns)),
    *api_patterns,
]
