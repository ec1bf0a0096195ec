"""The statements composed once (apps.runs.statements) read and write rows as the ORM does."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from apps.accounts.models import Team
from apps.runs import statements
from apps.runs.models import Attempt, Run
from tests.support.factories import add_attempt, make_run

pytestmark = pytest.mark.django_db


def values(instance: object, model: type[Run] | type[Attempt]) -> dict[str, object]:
    return {f.attname: getattr(instance, f.attname) for f in statements.concrete_fields(model)}


def read(model: type[Run] | type[Attempt], pk: object) -> Run | Attempt:
    columns, table = statements.column_list("x", model), statements.quoted(model)
    sql = f"SELECT {columns} FROM {table} x WHERE x.id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [statements.db_value(model, "id", pk)])
        row = cursor.fetchone()
    return statements.from_row(model, row)


def test_it_reads_a_row_as_the_orm_does(team: Team, owner: User) -> None:
    run = make_run(
        team, owner, query=[["q", "1"]], request_headers=[["Accept", "*/*"]], follow_redirects=True,
        retry_policy={"base": 1.0}, secrets_encrypted=b"\x00\x01secret", duration_ms=12.5,
        response_status=503, finished_at=timezone.now(),
    )  # fmt: skip
    attempt = add_attempt(run, not_before=timezone.now() + timedelta(seconds=5))
    for model, pk in ((Run, run.pk), (Attempt, attempt.pk)):
        ours, orms = read(model, pk), model.objects.get(pk=pk)
        assert values(ours, model) == values(orms, model)
        assert not ours._state.adding and ours.get_deferred_fields() == set()


def test_it_inserts_and_saves_fields_as_the_orm_does(team: Team, owner: User) -> None:
    template = make_run(team, owner, query=[["q", "1"]], retry_policy={"cap": 2})
    run = Run(**{f.attname: getattr(template, f.attname) for f in statements.concrete_fields(Run)
                 if f.attname not in {"id", "created_at"}})  # fmt: skip
    statements.insert(run)
    assert run.created_at is not None and not run._state.adding
    assert values(Run.objects.get(pk=run.pk), Run) == values(run, Run)

    run.diagnosis_title, run.duration_ms = "Service unavailable", 40.0
    assert statements.save_fields(run, ["diagnosis_title", "duration_ms"]) == 1
    assert values(Run.objects.get(pk=run.pk), Run) == values(run, Run)
    refused = statements.save_fields(
        run, ["duration_ms"], condition="status = %s", condition_params=["nothing"]
    )
    assert refused == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements")
def test_on_postgresql_the_statements_of_every_run_are_prepared_and_stay_right(
    team: Team, owner: User
) -> None:
    run = make_run(team, owner)
    for count in range(1, 9):  # past the connection's prepare_threshold
        run.duration_ms = float(count)
        assert statements.save_fields(run, ["duration_ms"]) == 1
        run.refresh_from_db()
        assert run.duration_ms == count
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any(text.startswith(f"UPDATE {statements.quoted(Run)}") for text in prepared)
    # The ORM's own queries bind on the client and are never prepared.
    assert not any(text.startswith("SELECT") for text in prepared)
