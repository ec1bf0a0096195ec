"""`manage.py backfill_rollups [--team NAME]`: compute the trends' hourly rollups again
from the runs, for every team or one.

Needed once after the migration that adds them (runs stored before it are not counted),
and after writing runs to the database by other means than the runs service.
"""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Team
from apps.runs.rollups import rebuild_team


class Command(BaseCommand):
    help = "Compute the trends' hourly rollups again from the runs (all teams, or --team)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", default="", help="A team's name (default: all).")

    def handle(self, *args: object, **options: object) -> None:
        name = str(options["team"] or "")
        teams = list(Team.objects.filter(name=name) if name else Team.objects.order_by("name"))
        if name and len(teams) != 1:
            raise CommandError(f"No single team is called “{name}”.")
        for team in teams:
            began = time.monotonic()
            rows = rebuild_team(team=team)
            self.stdout.write(
                f"{team.name}: {rows:,} rollup rows in {time.monotonic() - began:.1f} s"
            )
