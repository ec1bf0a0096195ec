import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import Membership, Team

DEMO_USERNAME = "demo"
DEMO_TEAM = "Demo team"


class Command(BaseCommand):
    help = "Create the demo team and demo user if missing, and print how to sign in."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help="Shown with the sign-in."
        )
        parser.add_argument(
            "--reset-password", action="store_true", help="Give the demo user a new password."
        )

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        user_model = get_user_model()
        team, _ = Team.objects.get_or_create(name=DEMO_TEAM)
        user = user_model.objects.filter(username=DEMO_USERNAME).first()
        password = None
        if user is None:
            password = secrets.token_urlsafe(9)
            user = user_model.objects.create_user(username=DEMO_USERNAME, password=password)
        elif options["reset_password"]:
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(
            user=user, team=team, defaults={"role": Membership.Role.OWNER}
        )
        url = options["url"]
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
