"""`manage.py generate_runs --team "Bench team" --count 1000000`: synthetic runs for a team.

For benchmarks and demos: see apps/demo/synthetic.py. Never touches the network.
"""

import uuid

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.accounts.models import Membership, Team
from apps.demo.synthetic import BATCH_SIZE, WRITERS, generate_runs


def find_team(name_or_id: str) -> Team:
    """The team with this id, else the one team with this name; CommandError otherwise."""
    try:
        team = Team.objects.filter(pk=uuid.UUID(name_or_id)).first()
    except ValueError:
        team = None
    if team is not None:
        return team
    named = list(Team.objects.filter(name=name_or_id)[:2])
    if not named:
        raise CommandError(f"No team is called “{name_or_id}” (give a team's name or id).")
    if len(named) > 1:
        raise CommandError(f"Several teams are called “{name_or_id}”: give the team's id.")
    return named[0]


def find_members(team: Team, usernames: list[str]) -> list[User]:
    """The team's members with these usernames (all of its members when none are given)."""
    memberships = Membership.objects.for_team(team).select_related("user").order_by("id")
    users = {m.user.get_username(): m.user for m in memberships}
    if not usernames:
        if not users:
            raise CommandError(f"Team “{team.name}” has no members to make the runs.")
        return list(users.values())
    unknown = [name for name in usernames if name not in users]
    if unknown:
        raise CommandError(
            f"Not members of team “{team.name}”: {', '.join(unknown)}. "
            f"Its members are: {', '.join(users) or 'none'}."
        )
    return [users[name] for name in usernames]


class Command(BaseCommand):
    help = (
        "Create realistic synthetic runs (finished, with real diagnosis codes) for a team, "
        "spread over the last days. For benchmarks and demos; nothing is sent anywhere."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="The team's name or id.")
        parser.add_argument("--count", type=int, required=True, help="How many runs.")
        parser.add_argument(
            "--days", type=float, default=30.0, help="Spread over this many days (default 30)."
        )
        parser.add_argument(
            "--members",
            default="",
            help="Comma-separated usernames of team members (default: all of its members).",
        )
        parser.add_argument("--seed", type=int, default=None, help="Repeatable with a seed.")
        parser.add_argument(
            "--with-attempts",
            action="store_true",
            help="Also store a finished attempt per run (headers, body, diagnosis).",
        )
        parser.add_argument(
            "--sandbox-url",
            default="http://127.0.0.1:8000/sandbox",
            help="Where the sandbox runs point (default http://127.0.0.1:8000/sandbox).",
        )
        parser.add_argument(
            "--writer",
            choices=WRITERS,
            default="auto",
            help="copy (PostgreSQL's COPY), insert, or auto: COPY on PostgreSQL.",
        )
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args: object, **options: object) -> None:
        count = options["count"]
        days = options["days"]
        batch_size = options["batch_size"]
        if not isinstance(count, int) or count < 1:
            raise CommandError("--count must be at least 1.")
        if not isinstance(days, float) or not days > 0:
            raise CommandError("--days must be more than 0.")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        team = find_team(str(options["team"]))
        usernames = [name.strip() for name in str(options["members"]).split(",") if name.strip()]
        members = find_members(team, usernames)
        step = max(batch_size, count // 20)
        shown = [0]

        def progress(written: int) -> None:
            if written - shown[0] >= step or written == count:
                shown[0] = written
                self.stdout.write(f"  {written:>10,} / {count:,} runs")

        self.stdout.write(
            f"Generating {count:,} runs for team “{team.name}” over {days:g} days "
            f"by {', '.join(m.get_username() for m in members)}"
            f"{' with attempts' if options['with_attempts'] else ''}…"
        )
        try:
            result = generate_runs(
                team=team,
                count=count,
                members=members,
                days=days,
                seed=options["seed"],  # type: ignore[arg-type]
                with_attempts=bool(options["with_attempts"]),
                sandbox_base=str(options["sandbox_url"]),
                writer=str(options["writer"]),
                batch_size=batch_size,
                progress=progress,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {result.runs:,} runs and {result.attempts:,} attempts in "
                f"{result.seconds:.1f} s ({result.runs_per_second:,.0f} runs/s, {result.writer})."
            )
        )
