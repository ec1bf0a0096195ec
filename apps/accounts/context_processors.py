from django.conf import settings
from django.http import HttpRequest

from apps.accounts import selectors


def current_team(request: HttpRequest) -> dict[str, object]:
    """The current team, and the user's teams for the switcher in the header."""
    if not request.user.is_authenticated:
        return {"current_team": None, "my_teams": []}
    membership = selectors.current_membership(request)
    return {
        "current_team": membership.team if membership else None,
        "my_teams": [each.team for each in selectors.memberships_of_request(request)],
    }


def signup(request: HttpRequest) -> dict[str, object]:
    """Whether the sign-in page offers "Create an account" (SIGNUP_OPEN)."""
    return {"signup_open": settings.SIGNUP_OPEN and not request.user.is_authenticated}
