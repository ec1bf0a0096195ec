"""`manage.py api_token create --user NAME --team NAME [--name N] [--days 90]`: print a new
personal API token (only its hash is stored)."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Membership
from apps.api import services


class Command(BaseCommand):
    help = "Make a personal API token for a user in one of their teams, and print it."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a token and print it")
        create.add_argument("--user", required=True, help="the username the token acts as")
        create.add_argument("--team", required=True, help="the name of one of the user's teams")
        create.add_argument("--name", default="Command line", help="what the token is for")
        create.add_argument("--days", type=int, default=90, help="how long it works (1-365)")

    def handle(self, *args: object, **options: object) -> None:
        username, team_name = str(options["user"]), str(options["team"])
        days = int(options["days"])  # type: ignore[call-overload]
        if not 1 <= days <= 365:
            raise CommandError("--days must be from 1 to 365")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called {username!r}")
        memberships = list(
            Membership.objects.filter(user=user, team__name=team_name).select_related("team")
        )
        if not memberships:
            raise CommandError(f"{username!r} is not a member of a team called {team_name!r}")
        if len(memberships) > 1:
            raise CommandError(f"{username!r} is in several teams called {team_name!r}")
        _token, value = services.create_token(
            user=user,
            team=memberships[0].team,
            name=str(options["name"])[:100],
            lifetime=timedelta(days=days),
        )
        self.stdout.write(value)
