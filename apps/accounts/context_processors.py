from django.http import HttpRequest

from apps.accounts.selectors import current_team_for_user


def current_team(request: HttpRequest) -> dict[str, object]:
    return {"current_team": current_team_for_user(user=request.user)}
