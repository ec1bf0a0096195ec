"""The demo's people and teams, created if missing, and example runs for a team that has none.

- "Demo team": demo (owner), ana and ben (members); about 400 runs over the last two weeks.
- "Second team": ana (owner), demo and chloe (members); about 60 runs.

The runs are synthetic (apps/demo/synthetic.py): finished, with their attempts and the
diagnoses the real rules give, against the local sandbox and Kaiko's hosts. Nothing is sent.

Only the demo user can sign in: its password is printed once, when it is created or reset.
The other users get an unusable password (they exist so that teams have several people);
`python manage.py changepassword ana` gives one of them a password.
"""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from apps.accounts.models import Membership, Team
from apps.demo.synthetic import generate_runs
from apps.runs.models import Run

DEMO_USERNAME = "demo"
DEMO_TEAM = "Demo team"
SECOND_TEAM = "Second team"
TEAMS = (DEMO_TEAM, SECOND_TEAM)
OWNER, MEMBER = Membership.Role.OWNER, Membership.Role.MEMBER
# username: {team name: role}
PEOPLE: dict[str, dict[str, str]] = {
    DEMO_USERNAME: {DEMO_TEAM: OWNER, SECOND_TEAM: MEMBER},
    "ana": {SECOND_TEAM: OWNER, DEMO_TEAM: MEMBER},
    "ben": {DEMO_TEAM: MEMBER},
    "chloe": {SECOND_TEAM: MEMBER},
}
# Example runs of a team that has none yet: (how many, seed).
EXAMPLE_RUNS = {DEMO_TEAM: (400, 1), SECOND_TEAM: (60, 2)}
EXAMPLE_DAYS = 14


class Command(BaseCommand):
    help = (
        "Create the demo teams and users if missing, example runs for a team without any, "
        "and print how to sign in as 'demo'. "
        "Only 'demo' gets a password (printed once); the other users cannot sign in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/",
            help="Shown with the sign-in; the example runs of the sandbox start with it.",
        )
        parser.add_argument(
            "--reset-password", action="store_true", help="Give the demo user a new password."
        )

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        user_model = get_user_model()
        teams = {name: Team.objects.get_or_create(name=name)[0] for name in TEAMS}
        password = None
        for username, roles in PEOPLE.items():
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user = user_model(username=username, email=f"{username}@example.com")
                if username == DEMO_USERNAME:
                    password = secrets.token_urlsafe(9)
                    user.set_password(password)
                else:
                    user.set_unusable_password()
                user.save()
            elif username == DEMO_USERNAME and options["reset_password"]:
                password = secrets.token_urlsafe(9)
                user.set_password(password)
                user.save(update_fields=["password"])
            for team_name, role in roles.items():
                Membership.objects.get_or_create(
                    user=user, team=teams[team_name], defaults={"role": role}
                )
        url = str(options["url"])
        for team_name, (count, seed) in EXAMPLE_RUNS.items():
            team = teams[team_name]
            if Run.objects.for_team(team).exists():
                continue
            members = [
                membership.user
                for membership in Membership.objects.for_team(team)
                .select_related("user")
                .order_by("created_at", "id")
            ]
            generate_runs(
                team=team,
                count=count,
                members=members,
                days=EXAMPLE_DAYS,
                seed=seed,
                with_attempts=True,
                sandbox_base=url.rstrip("/") + "/sandbox",
            )
            self.stdout.write(
                f"  {team_name}: {count} example runs over the last {EXAMPLE_DAYS} days.\n"
            )
        if password:
            self.stdout.write(
                self.style.SUCCESS(
                    f"\n  Sign in at {url} as user '{DEMO_USERNAME}' with password '{password}'\n"
                    "  (shown once; `make demo-password` sets a new one).\n"
                )
            )
        else:
            self.stdout.write(
                f"\n  Sign in at {url} as user '{DEMO_USERNAME}' (password shown when it was "
                "created; `make demo-password` sets a new one).\n"
            )
        others = ", ".join(name for name in PEOPLE if name != DEMO_USERNAME)
        self.stdout.write(
            f"  Teams '{DEMO_TEAM}' and '{SECOND_TEAM}'; the other users ({others}) have no "
            "password and cannot sign in.\n"
        )
