"""What django-axes records a failed sign-in under (AXES_USERNAME_CALLABLE)."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest

# The longest username there can be; axes' own column holds 255, Django's sign-in form does
# not cut what was typed to its field's length, so a longer one was a 500 on PostgreSQL.
USERNAME_MAX = User._meta.get_field("username").max_length or 150


def attempted_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The username typed (from the credentials, else the posted form), cut to the length a
    username can have: no user has a longer one, so the lockout counts the same."""
    field = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")
    value = credentials.get(field) if credentials else getattr(request, "POST", {}).get(field)
    if value is None:
        return None
    return str(value)[:USERNAME_MAX]
