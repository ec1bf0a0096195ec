"""CPU time of one run, stage by stage, in one process, on private services.

    .venv/bin/python bench/profile_stages.py [--runs 300] [--cprofile FILE]

It starts its own PostgreSQL cluster and Redis (free ports, temporary folders) and the local
upstream (`bench/upstream.py`), then for each of N runs calls the code a web process and a
worker call, one stage after another, and adds up each stage's CPU time in this process
(`time.thread_time`: PostgreSQL's and Redis' own work is not in it) and its wall time:

- submit: `services.submit_run` (validation done: the form's work is not in it), without
  the publish;
- publish: `services.enqueue_attempt` (to Redis, and `published_at` noted);
- claim: the worker's claim (`execution._claim`, the fair-share count included);
- prepare: decrypting the run's secrets and composing the outbound request;
- send: `apps.egress` (policy, pinned keep-alive connection, response read);
- store: diagnosis, redaction and the result's save (`execution.store_result`).

With --cprofile, a cProfile of the whole loop is written to FILE (read it with
`python -m pstats FILE`). A benchmark, not a test: it prints figures.
"""

import argparse
import cProfile
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import upstream_server  # noqa: E402

from tests.support.services import (  # noqa: E402
    dashboard_env,
    migrate_and_add_user,
    private_postgres,
    private_redis,
)

LOGS = ROOT / "artifacts" / "bench"
PASSWORD = "profile-horse-battery-staple"
STAGES = ("submit", "publish", "claim", "prepare", "send", "store")


def measure(runs: int, upstream: str, profile: Path | None) -> dict[str, dict[str, float]]:
    import django

    django.setup()
    from django.contrib.auth.models import User

    from apps.accounts.models import Team
    from apps.runs import execution, secrets, services
    from apps.runs.forms import RunRequest

    user = User.objects.get(username="profile")
    team = Team.objects.get(name="Profile")
    cpu: dict[str, list[float]] = defaultdict(list)
    wall: dict[str, list[float]] = defaultdict(list)

    def timed[T](stage: str, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        cpu_before, wall_before = time.thread_time(), time.perf_counter()
        result = action(*args, **kwargs)
        cpu[stage].append((time.thread_time() - cpu_before) * 1000)
        wall[stage].append((time.perf_counter() - wall_before) * 1000)
        return result

    # The publish is timed as a stage of its own: submit_run's own (on commit) does nothing.
    publish = services.enqueue_attempt
    services.enqueue_attempt = lambda **kwargs: True

    def one(index: int) -> None:
        request = RunRequest(
            method="GET", url=f"{upstream}/profile/{index}", params=[],
            headers=[("Accept", "application/json")], body="", api_key="k-secret-value",
            timeout=10.0, profile="",
        )  # fmt: skip
        run = timed("submit", services.submit_run, team=team, user=user, request=request)
        first = run.attempts.get()
        attempt_id = first.id
        # As submit_run's on-commit publish does (noted in the insert, when the code notes it).
        noted = {"noted_at": first.published_at} if first.published_at else {}
        timed("publish", publish, attempt_id=attempt_id, **noted)
        attempt = timed("claim", execution._claim, attempt_id=attempt_id, worker="profile")
        assert attempt is not None, "the claim was refused"
        run_secrets = timed("prepare", secrets.decrypt, attempt.run.secrets_encrypted)
        outbound = execution._outbound_request(attempt.run, run_secrets)
        exchange = timed("send", execution._send, outbound)
        timed(
            "store", execution.store_result, attempt=attempt, exchange=exchange,
            secret_values=run_secrets.values(),
            team_has_specs=getattr(attempt, "team_has_specs", True),
        )  # fmt: skip

    try:
        for index in range(20):  # warm-up: connections, imports, caches
            one(index)
        cpu.clear()
        wall.clear()
        profiler = cProfile.Profile(time.thread_time)  # CPU time, not time spent waiting
        if profile:
            profiler.enable()
        for index in range(runs):
            one(index)
        if profile:
            profiler.disable()
            profiler.dump_stats(str(profile))
    finally:
        services.enqueue_attempt = publish
    return {
        stage: {
            "cpu_ms_mean": statistics.fmean(cpu[stage]),
            "wall_ms_p50": statistics.median(wall[stage]),
        }
        for stage in STAGES
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--cprofile", type=Path, help="write a cProfile of the loop here")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    with (
        private_postgres("bench", prefix="bench-pg-") as postgres,
        private_redis(LOGS, prefix="bench-redis-") as redis,
        upstream_server() as upstream,
        tempfile.TemporaryDirectory(prefix="bench-profile-var-") as var_dir,
    ):
        env = dashboard_env(
            deployed=True,
            database_url=postgres.url,
            broker_url=redis.url,
            queue="bench-profile",
            var_dir=var_dir,
            LOG_LEVEL="WARNING",
        )
        migrate_and_add_user(env, username="profile", password=PASSWORD, team="Profile")
        os.environ.update(env)
        figures = measure(args.runs, upstream, args.cprofile)
    total_cpu = sum(stage["cpu_ms_mean"] for stage in figures.values())
    print(f"{'stage':<10} {'CPU ms':>8} {'wall p50 ms':>12}")
    for stage, values in figures.items():
        print(f"{stage:<10} {values['cpu_ms_mean']:>8.2f} {values['wall_ms_p50']:>12.2f}")
    print(f"{'total':<10} {total_cpu:>8.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
