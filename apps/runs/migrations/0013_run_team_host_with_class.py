"""On PostgreSQL, `run_team_host` (team, host, created_at, id) also holds each run's outcome
and status (INCLUDE): the latest runs of a host in one status class (the trends' phases with
`class=4xx`, the log's pages) are found in the index alone, not by reading every run of the
host in between. Django declares no INCLUDE for every database (SQLite has none): the index
keeps its name and keys; only its stored columns differ."""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

PLAIN = "runs_run (team_id, host, created_at DESC, id DESC)"
WITH_CLASS = f"{PLAIN} INCLUDE (outcome, response_status)"


def _replace(schema_editor: BaseDatabaseSchemaEditor, definition: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS run_team_host")
    schema_editor.execute(f"CREATE INDEX run_team_host ON {definition}")


def include_class(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _replace(schema_editor, WITH_CLASS)


def plain(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _replace(schema_editor, PLAIN)


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0012_fill_attempt_final_phases"),
    ]

    operations = [
        migrations.RunPython(include_class, plain, elidable=False),
    ]
