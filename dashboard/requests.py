"""The requests the views are written against, for the type checker: the details that
django-htmx's middleware adds to every request, and the signed-in user of the views behind
`@login_required`. Django never makes these classes; they only name what a request holds."""

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    user: User
