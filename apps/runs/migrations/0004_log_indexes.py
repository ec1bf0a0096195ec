"""Indexes for the team log at scale (see Run.Meta).

The keyset index (team, created_at, id) replaces (team, created_at); status, host, member and
method get an index each in the same order, and runs without a response a partial one. On PostgreSQL only, three more that Django cannot
declare for every database: diagnosis codes with varchar_pattern_ops (an exact code and a
code prefix, "kaiko.401" → "kaiko.401.%", both use it), and pg_trgm GIN indexes on
UPPER(url) and UPPER(diagnosis_title), the expressions Django's `icontains` compares on
PostgreSQL. pg_trgm is a trusted extension: the database's owner may create it.
"""

from django.db import migrations, models

POSTGRES_INDEXES = (
    (
        "run_team_diagnosis",
        "runs_run (team_id, diagnosis_code varchar_pattern_ops, created_at DESC, id DESC)",
    ),
    ("run_url_trgm", "runs_run USING gin (UPPER(url) gin_trgm_ops)"),
    ("run_title_trgm", "runs_run USING gin (UPPER(diagnosis_title::text) gin_trgm_ops)"),
)


def create_postgres_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in POSTGRES_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def drop_postgres_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in POSTGRES_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0003_attempt_delivery_and_interrupted"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="run", name="run_team_recent"),
        migrations.AddIndex(
            model_name="run",
            index=models.Index(fields=["team", "-created_at", "-id"], name="run_team_keyset"),
        ),
        migrations.AddIndex(
            model_name="run",
            index=models.Index(
                fields=["team", "response_status", "-created_at", "-id"], name="run_team_status"
            ),
        ),
        migrations.AddIndex(
            model_name="run",
            index=models.Index(fields=["team", "host", "-created_at", "-id"], name="run_team_host"),
        ),
        migrations.AddIndex(
            model_name="run",
            index=models.Index(
                fields=["team", "created_by", "-created_at", "-id"], name="run_team_member"
            ),
        ),
        migrations.AddIndex(
            model_name="run",
            index=models.Index(
                fields=["team", "method", "-created_at", "-id"], name="run_team_method"
            ),
        ),
        migrations.AddIndex(
            model_name="run",
            index=models.Index(
                condition=models.Q(("outcome", "failure")),
                fields=["team", "-created_at", "-id"],
                name="run_team_failures",
            ),
        ),
        migrations.RunPython(create_postgres_indexes, drop_postgres_indexes, elidable=False),
    ]
