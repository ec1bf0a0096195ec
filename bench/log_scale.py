"""The team log at scale: server time of its pages and the cost of its exports.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/log_scale.py
    (or `make bench-log`)

With fewer than --runs runs in "Bench team" it first generates the missing ones (with their
attempts) through apps/demo/synthetic.py, plus a few in another team, and counts them in
the trends' rollups (`rollups.rebuild_team`: one statement on PostgreSQL). Then it asks for the
log's pages through Django's test client, in this process, so the time measured is the
server's: URL routing, middleware, the view, its queries and the template. Each page is
asked for --repeat times after a warm-up; the table gives p50 and p95 and the number of
queries. The CSV and HAR exports of the team's latest --export-runs runs are read to the
end in a child process each, for their rows per second and the child's peak RSS.

A benchmark, not a test: it prints figures and asserts nothing about time. `--write FILE`
puts the table in FILE (replacing this benchmark's earlier section, else appended).
"""

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench"
TEAM = "Bench team"
OTHER_TEAM = "Bench other team"
USER = "bench"
MEMBERS = ("bench", "bench-ana", "bench-ben", "bench-chloe", "bench-dev")
OTHER_MEMBERS = ("bench-other",)
DEEP_PAGES = 500
SEED = 1
SECTION_START = "<!-- bench:log_scale -->"
SECTION_END = "<!-- /bench:log_scale -->"


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of `url` when it does not exist yet."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    conf = dj_database_url.parse(url)
    if conf["ENGINE"] != "django.db.backends.postgresql":
        sys.exit(f"error: this benchmark needs PostgreSQL; DATABASE_URL is {url!r}.")
    params: dict[str, Any] = {
        "host": conf.get("HOST") or "localhost",
        "port": conf.get("PORT") or 5432,
        "user": conf.get("USER") or None,
        "password": conf.get("PASSWORD") or None,
    }
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [conf["NAME"]]
            ).fetchone()
            if not exists:
                print(f"Creating the database {conf['NAME']!r} on {params['host']}.")
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(conf["NAME"])))
    except psycopg.OperationalError as exc:
        sys.exit(f"error: cannot reach PostgreSQL at {params['host']}:{params['port']}: {exc}")


def setup_django() -> None:
    import django

    django.setup()
    from django.conf import settings

    # The test client asks as "testserver".
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def peak_rss_mb() -> float:
    """This process's peak resident memory. On Linux from VmHWM: getrusage's ru_maxrss keeps
    the peak of the process that started this one (it survives the exec of a child), so a
    child of a large parent would report the parent's peak as its own."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


# Data ---------------------------------------------------------------------------------------


def ensure_team(name: str, usernames: tuple[str, ...]):
    from django.contrib.auth.models import User

    from apps.accounts.models import Membership, Team

    team = Team.objects.filter(name=name).order_by("created_at").first()
    if team is None:
        team = Team.objects.create(name=name)
    for username in usernames:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username)
            user.set_unusable_password()
            user.save()
        Membership.objects.get_or_create(user=user, team=team)
    return team


def ensure_runs(team, count: int, usernames: tuple[str, ...], *, seed: int) -> None:
    from django.contrib.auth.models import User

    from apps.demo.synthetic import generate_runs
    from apps.runs.models import Run, RunDayRollup

    have = Run.objects.filter(team=team).count()
    if have and not RunDayRollup.objects.filter(team=team).exists():
        count_in_rollups(team, have)
    if have >= count:
        return
    missing = count - have
    print(f"{team.name}: {have:,} runs, generating {missing:,} more (with attempts)…", flush=True)
    step = max(1, missing // 10)

    def progress(written: int) -> None:
        if written % step < 5000 or written == missing:
            print(f"  {written:>10,} / {missing:,}", flush=True)

    members = [User.objects.get(username=name) for name in usernames]
    result = generate_runs(
        team=team,
        count=missing,
        members=members,
        seed=seed + have,
        with_attempts=True,
        progress=progress,
        count_in_rollups=False,
    )
    print(
        f"  done in {result.seconds:.0f} s ({result.runs_per_second:,.0f} runs/s, {result.writer})",
        flush=True,
    )
    count_in_rollups(team, have + missing)


def count_in_rollups(team, runs: int) -> None:
    """The trends' hourly and daily rollups of the team, from its runs (in SQL)."""
    from django.db import connection

    from apps.runs.models import RunDayRollup, RunHourRollup
    from apps.runs.rollups import rebuild_team

    began = time.monotonic()
    rows = rebuild_team(team=team)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {RunHourRollup._meta.db_table}")
        cursor.execute(f"ANALYZE {RunDayRollup._meta.db_table}")
    print(
        f"  {runs:,} runs counted in {rows:,} hourly rollup rows (and their days) in "
        f"{time.monotonic() - began:.1f} s",
        flush=True,
    )


@contextmanager
def indexes_built_after():
    """On an empty runs table, its indexes and the attempts' (but those of constraints) are
    dropped while the runs are written and built again after, from their own definitions:
    one sorted build each instead of a million insertions into each."""
    from django.db import connection

    from apps.runs.models import Attempt, Run

    tables = [Run._meta.db_table, Attempt._meta.db_table]
    if Run.objects.exists():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [tables],
        )
        found = cursor.fetchall()
        for name, _definition in found:
            cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        began = time.monotonic()
        with connection.cursor() as cursor:
            for _name, definition in found:
                cursor.execute(definition)
        print(f"  {len(found)} indexes built again in {time.monotonic() - began:.1f} s", flush=True)


# Pages --------------------------------------------------------------------------------------


def deep_cursor(team, pages: int) -> str:
    """The `before` token of page `pages + 1`: the position the log reaches after following
    its "Older" link `pages` times (found here with one OFFSET query)."""
    from apps.runs.filters import Cursor
    from apps.runs.models import Run
    from apps.runs.selectors import LOG_PAGE_SIZE

    row = (
        Run.objects.filter(team=team)
        .order_by("-created_at", "-id")
        .values("created_at", "id")[pages * LOG_PAGE_SIZE - 1 : pages * LOG_PAGE_SIZE]
        .first()
    )
    if row is None:
        raise SystemExit(f"error: fewer than {pages} pages of runs in {team.name}.")
    return Cursor(created_at=row["created_at"], id=row["id"]).encode()


def pages(team, runs: int) -> list[tuple[str, str]]:
    # 500 pages in, or as deep as a smaller team allows.
    depth = max(1, min(DEEP_PAGES, runs // 50 - 1))
    deep = deep_cursor(team, depth)
    return [
        ("first page", "/"),
        ("class=4xx", "/?class=4xx"),
        ("status=503", "/?status=503"),
        ("class=network", "/?class=network"),
        ("rare host (reference-data-api)", "/?host=reference-data-api.kaiko.io"),
        ("rare diagnosis (network.tls)", "/?diagnosis=network.tls"),
        ("diagnosis=kaiko.401 (prefix)", "/?diagnosis=kaiko.401"),
        ("member=bench-dev", "/?member=bench-dev"),
        ("last 24 hours + 5xx", "/?range=24h&class=5xx"),
        ("free text q=rate limit", "/?q=rate+limit"),
        ("free text q=ohlcv", "/?q=ohlcv"),
        ("free text, rare q=certificate", "/?q=certificate"),
        (f"deep page ({depth} pages in)", f"/?before={deep}"),
        (f"deep page + class=4xx ({depth} in)", f"/?class=4xx&before={deep}"),
        ("trends, last 24 hours", "/runs/trends/?range=24h"),
        ("trends, 7 days (default)", "/runs/trends/"),
        ("trends, 30 days", "/runs/trends/?range=30d"),
        ("trends, 30 days + class=4xx", "/runs/trends/?range=30d&class=4xx"),
        ("trends, 30 days + host", "/runs/trends/?range=30d&host=us.market-api.kaiko.io"),
    ]


def time_page(client, url: str, repeat: int) -> dict[str, object]:
    from django.db import connection

    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"error: {url} answered {response.status_code}")
    client.get(url)  # warm-up
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "queries": len(queries),
        "rows": response.content.count(b'class="log-row'),
    }


# Exports ------------------------------------------------------------------------------------


def run_export(kind: str, rows: int) -> dict[str, object]:
    """Read one export of the team's latest `rows` runs to the end (in this process: a child
    of the main), as the log's export of a time range would."""
    setup_django()
    from apps.accounts.models import Team
    from apps.runs import exports
    from apps.runs.filters import LogFilters
    from apps.runs.selectors import filtered_runs

    team = Team.objects.filter(name=TEAM).order_by("created_at").first()
    if team is None:
        raise SystemExit(f"error: no team {TEAM!r}: generate its runs first")
    generator = getattr(exports, f"{kind}_chunks")
    baseline = peak_rss_mb()
    latest = team_runs(team).values_list("created_at", flat=True)[rows - 1 : rows].first()
    since = {"created_at__gte": latest} if latest is not None else {}
    runs = filtered_runs(team=team, filters=LogFilters()).filter(**since)
    count = runs.count()
    began = time.perf_counter()
    size = 0
    for chunk in generator(runs, base_url="http://testserver/"):
        size += len(chunk.encode())
    seconds = time.perf_counter() - began
    return {
        "kind": kind,
        "rows": count,
        "seconds": seconds,
        "rows_per_s": count / seconds if seconds else 0.0,
        "mb": size / 1e6,
        "peak_rss_mb": peak_rss_mb(),
        "baseline_rss_mb": baseline,
    }


def exports_available() -> tuple[list[str], str]:
    try:
        from apps.runs import exports
    except ImportError:
        return [], "apps/runs/exports.py is not there yet: exports skipped."
    kinds = [kind for kind in ("csv", "har") if hasattr(exports, f"{kind}_chunks")]
    if not kinds:
        return [], "apps/runs/exports.py has no csv_chunks or har_chunks: exports skipped."
    return kinds, ""


def team_runs(team):
    from apps.runs.models import Run

    return Run.objects.filter(team=team).order_by("-created_at", "-id")


def measure_export(kind: str, rows: int) -> dict[str, object]:
    child = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--export-child", kind, "--export-runs", str(rows)],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ,
    )
    if child.returncode != 0:
        return {"kind": kind, "error": child.stderr.strip().splitlines()[-1:]}
    return json.loads(child.stdout.strip().splitlines()[-1])


# Report -------------------------------------------------------------------------------------


def report(*, runs: int, repeat: int, results: list, exported: list, note: str, server: str) -> str:
    lines = [
        SECTION_START,
        "## The team log at scale",
        "",
        f"{runs:,} runs in one team (with their attempts) on {server}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Server time through Django's test client "
        f"in process (routing, middleware, view, queries, template), {repeat} requests per "
        "page after a warm-up. Target: p95 < 100 ms.",
        "",
        "| page | p50 ms | p95 ms | queries | rows |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, _url, figures in results:
        lines.append(
            f"| {name} | {figures['p50']:.1f} | {figures['p95']:.1f} | "
            f"{figures['queries']} | {figures['rows']} |"
        )
    lines += ["", "| export | rows | seconds | rows/s | MB | peak RSS MB |"]
    lines += ["| --- | ---: | ---: | ---: | ---: | ---: |"]
    for figures in exported:
        if "error" in figures:
            lines.append(f"| {figures['kind']} | failed: {figures['error']} | | | | |")
            continue
        lines.append(
            f"| {figures['kind'].upper()} | {figures['rows']:,} | {figures['seconds']:.1f} | "
            f"{figures['rows_per_s']:,.0f} | {figures['mb']:,.0f} | "
            f"{figures['peak_rss_mb']:.0f} (at start {figures['baseline_rss_mb']:.0f}) |"
        )
    if note:
        lines += ["", note]
    lines += ["", "Target: export peak RSS < 150 MB.", SECTION_END]
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if SECTION_START in text and SECTION_END in text:
        before, rest = text.split(SECTION_START, 1)
        after = rest.split(SECTION_END, 1)[1].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000, help="runs in the bench team")
    parser.add_argument("--repeat", type=int, default=30, help="requests per page")
    parser.add_argument("--no-exports", action="store_true", help="skip the exports")
    parser.add_argument("--export-runs", type=int, default=100_000,
                        help="the latest runs each export reads")  # fmt: skip
    parser.add_argument("--write", type=Path, help="put the table in this Markdown file")
    parser.add_argument("--export-child", choices=("csv", "har"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.export_child:
        print(json.dumps(run_export(args.export_child, args.export_runs)))
        return
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    setup_django()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    call_command("migrate", verbosity=0)
    team = ensure_team(TEAM, MEMBERS)
    other = ensure_team(OTHER_TEAM, OTHER_MEMBERS)
    began = time.monotonic()
    with indexes_built_after():
        ensure_runs(team, args.runs, MEMBERS, seed=SEED)
        ensure_runs(other, max(1, args.runs // 20), OTHER_MEMBERS, seed=SEED + 1)
    from apps.runs.models import Attempt, Run

    with connection.cursor() as cursor:
        # Vacuumed as (auto)vacuum leaves a table in use: freshly written pages have no
        # visibility map yet, and index-only scans of the runs' indexes would read the heap.
        cursor.execute(f"VACUUM ANALYZE {Run._meta.db_table}")
        cursor.execute(f"ANALYZE {Attempt._meta.db_table}")
    print(f"  runs ready and analysed in {time.monotonic() - began:.0f} s", flush=True)
    server = f"PostgreSQL {connection.cursor().connection.info.server_version // 10000}"

    client = Client()
    client.force_login(User.objects.get(username=USER))
    began = time.monotonic()
    results = []
    for name, page_url in pages(team, args.runs):
        figures = time_page(client, page_url, args.repeat)
        print(f"  {name:<40} p50 {figures['p50']:7.1f} ms  p95 {figures['p95']:7.1f} ms  "
              f"{figures['queries']} queries", flush=True)  # fmt: skip
        results.append((name, page_url, figures))

    print(f"  pages timed in {time.monotonic() - began:.0f} s", flush=True)
    began = time.monotonic()
    exported: list[dict[str, object]] = []
    note = ""
    if not args.no_exports:
        kinds, note = exports_available()
        for kind in kinds:
            print(f"  exporting {kind.upper()} of the team's latest {args.export_runs:,} runs…",
                  flush=True)  # fmt: skip
            exported.append(measure_export(kind, args.export_runs))
    if exported:
        print(f"  exports timed in {time.monotonic() - began:.0f} s", flush=True)
    section = report(
        runs=args.runs, repeat=args.repeat, results=results, exported=exported, note=note,
        server=server,
    )  # fmt: skip
    print()
    print(section)
    if args.write:
        write_section(args.write, section)
        print(f"Written to {args.write}.")


if __name__ == "__main__":
    main()
