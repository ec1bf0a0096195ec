"""apps/demo/synthetic.py: runs that look real, scoped to their team, repeatable."""

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from apps.accounts.models import Team
from apps.demo.synthetic import SCENARIOS, generate_runs, run_kinds
from apps.diagnosis.lookups import catalog
from apps.egress.types import HopFacts
from apps.runs.models import Attempt, Run
from apps.runs.phases import FINAL_FIELDS, final_phases

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # a Monday
KEY = "5f0c2d7e9a4b41c6b8e3d2a1f0e9c8b7"  # the made-up key the kinds are diagnosed with


def catalog_codes() -> set[str]:
    known = catalog()
    codes = {entry.code for top in known.all_entries() for entry in top.with_variants()}
    return codes | {cause.code for cause in known.all_causes()}


def test_it_diagnoses_every_kind_with_a_code_of_the_catalog() -> None:
    codes = catalog_codes()
    kinds = run_kinds()
    assert {kind.run["diagnosis_code"] for kind in kinds} <= codes
    assert {kind.diagnosis.code for kind in kinds} <= codes
    by_scenario = {(kind.host.name, kind.scenario.slug): kind for kind in kinds}
    assert by_scenario["us.market-api.kaiko.io", "no-key"].diagnosis.code == "kaiko.401.no_key"
    assert by_scenario["127.0.0.1", "refused"].diagnosis.code == "network.connection_refused"
    assert by_scenario["gateway-v0-http.kaiko.ovh", "ok"].run["profile"] == "http"


def test_no_kind_keeps_the_api_key_it_was_diagnosed_with() -> None:
    for kind in run_kinds():
        assert KEY not in json.dumps([kind.run["request_headers"], kind.attempt])


def test_the_sandbox_kinds_point_at_the_given_sandbox() -> None:
    hosts = {kind.host.name for kind in run_kinds(sandbox_base="http://demo.test:9000/sandbox")}
    assert "demo.test" in hosts
    assert "127.0.0.1" not in hosts


@pytest.mark.django_db
def test_it_writes_the_mix_over_the_window_for_the_team_only(
    team: Team, other_team: Team, owner: User, teammate: User
) -> None:
    result = generate_runs(
        team=team, count=2000, members=[owner, teammate], days=7, seed=3, now=NOW, batch_size=700
    )
    expected_writer = "copy" if connection.vendor == "postgresql" else "insert"
    assert (result.runs, result.attempts, result.writer) == (2000, 0, expected_writer)
    runs = Run.objects.filter(team=team)
    assert runs.count() == 2000
    assert not Run.objects.filter(team=other_team).exists()
    assert not Attempt.objects.exists()
    # Within the window, all finished, by the two members (the first one busier).
    first, last = min(r.created_at for r in runs), max(r.created_at for r in runs)
    assert NOW - timedelta(days=7) <= first and last <= NOW
    assert set(runs.values_list("status", flat=True)) == {Run.Status.DONE}
    makers = Counter(runs.values_list("created_by__username", flat=True))
    assert set(makers) == {"alice", "bob"} and makers["alice"] > makers["bob"]
    # Mostly 200s, with the failures a real log has.
    statuses = Counter(runs.values_list("response_status", flat=True))
    assert 0.7 < statuses[200] / 2000 < 0.92
    assert {401, 403, 429, 400, 404} <= set(statuses)
    assert runs.filter(outcome=Run.Outcome.FAILURE, response_status=None).exists()
    assert len(set(runs.values_list("host", flat=True))) == 5
    # The working day is busier than the night.
    hours = Counter(run.created_at.hour for run in runs)
    assert hours[14] > 3 * hours[2]
    assert all(run.duration_ms and run.duration_ms > 0 for run in runs[:200])


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_runs(team: Team, other_team: Team, owner: User) -> None:
    def drawn(t: Team) -> list[tuple[object, ...]]:
        generate_runs(team=t, count=300, members=[owner], seed=11, now=NOW)
        fields = ("created_at", "host", "url", "diagnosis_code", "duration_ms")
        return list(Run.objects.filter(team=t).order_by("created_at").values_list(*fields))

    assert drawn(team) == drawn(other_team)
    generate_runs(team=team, count=300, members=[owner], seed=12, now=NOW)
    assert Run.objects.filter(team=team).values("created_at").distinct().count() > 300


@pytest.mark.django_db
@pytest.mark.parametrize("writer", ["auto", "insert"])
def test_with_attempts_each_run_has_a_finished_attempt_that_matches_it(
    team: Team, owner: User, writer: str
) -> None:
    generate_runs(
        team=team, count=300, members=[owner], seed=5, now=NOW, with_attempts=True, writer=writer
    )
    runs = {run.id: run for run in Run.objects.filter(team=team)}
    attempts = list(Attempt.objects.filter(run__team=team))
    assert len(attempts) == 300 and {a.run_id for a in attempts} == set(runs)
    for attempt in attempts:
        run = runs[attempt.run_id]
        assert attempt.status == Attempt.Status.DONE and run.attempt_count == 1
        assert attempt.diagnosis["code"] == run.diagnosis_code == attempt.diagnosis_code
        assert attempt.response_status == run.response_status
        assert attempt.started_at is not None and attempt.finished_at is not None
        assert attempt.started_at < attempt.finished_at == run.finished_at
        if attempt.outcome == Run.Outcome.RESPONSE:
            names = [name for name, _ in attempt.response_headers]
            assert {"Content-Type", "Content-Length", "Date"} <= set(names)
            length = dict(attempt.response_headers)["Content-Length"]
            assert int(length) == attempt.response_body_bytes == len(attempt.response_body)
            assert "@TIME@" not in attempt.response_body
        else:
            assert attempt.failure_message and not attempt.response_body
        assert ["X-Api-Key", "[redacted]"] in attempt.sent_headers or not run.has_api_key


def test_it_refuses_copy_without_postgresql(db: None, team: Team, owner: User) -> None:
    if connection.vendor == "postgresql":
        pytest.skip("COPY is available on PostgreSQL")
    with pytest.raises(ValueError, match="COPY needs PostgreSQL"):
        generate_runs(team=team, count=1, members=[owner], writer="copy")


def test_the_scenario_weights_favour_success() -> None:
    total = sum(scenario.weight for scenario in SCENARIOS)
    assert SCENARIOS[0].status == 200 and SCENARIOS[0].weight / total > 0.75


@pytest.mark.django_db
def test_generated_run_pages_render(team: Team, owner: User, owner_client: Client) -> None:
    generate_runs(team=team, count=400, members=[owner], seed=2, now=NOW, with_attempts=True)
    runs = Run.objects.filter(team=team)
    picked: dict[tuple[str, int | None], Run] = {}
    for run in runs:
        picked.setdefault((run.outcome, run.response_status), run)
    assert len(picked) >= 8
    for run in picked.values():
        response = owner_client.get(f"/runs/{run.id}/")
        assert response.status_code == 200
        page = response.content.decode()
        assert run.host in page
        assert run.diagnosis_title.replace("'", "&#x27;") in page
        assert KEY not in page
    log = owner_client.get("/")
    assert log.status_code == 200


@pytest.mark.django_db
def test_a_response_carries_its_measured_phases_adding_up_to_its_duration(
    team: Team, owner: User
) -> None:
    generate_runs(team=team, count=200, members=[owner], seed=4, now=NOW, with_attempts=True)
    responses = Attempt.objects.filter(run__team=team, outcome=Run.Outcome.RESPONSE)
    reused = 0
    for attempt in responses:
        (stored,) = attempt.hops
        hop = HopFacts.from_dict(stored)
        assert hop is not None and hop.connection is not None
        assert stored == hop.to_dict()  # written as the egress client writes it
        assert hop.timings.total == attempt.duration_ms
        phases = [hop.timings.phase(name) or 0.0 for name in ("dns", "connect", "tls")]
        phases += [hop.timings.phase(name) or 0.0 for name in ("send", "wait", "receive")]
        assert sum(phases) == pytest.approx(attempt.duration_ms, abs=0.01)
        assert (hop.timings.dns is None) == (
            hop.timings.reused or hop.connection.remote_address == "127.0.0.1"
        )
        reused += hop.timings.reused
    assert 0 < reused < responses.count()
    assert (
        not Attempt.objects.filter(run__team=team)
        .exclude(outcome=Run.Outcome.RESPONSE)
        .exclude(hops=[])
        .exists()
    )


@pytest.mark.django_db
def test_an_attempt_carries_its_final_requests_timings_in_their_columns(
    team: Team, owner: User
) -> None:
    generate_runs(team=team, count=200, members=[owner], seed=5, now=NOW, with_attempts=True)
    attempts = Attempt.objects.filter(run__team=team)
    for attempt in attempts:
        stored = {name: getattr(attempt, name) for name in FINAL_FIELDS}
        assert stored == final_phases(attempt.hops)
        assert (stored["final_total_ms"] is None) == (attempt.outcome != Run.Outcome.RESPONSE)
    assert attempts.exclude(final_total_ms=None).exists()
    assert attempts.filter(final_total_ms=None).exists()
