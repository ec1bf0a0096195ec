"""The final request's timings of the attempts stored before their columns existed, read
from their hops in batches, each batch in a transaction of its own: an interrupted run of
this migration leaves whole batches filled, and running it again goes on where it stopped."""

from django.apps.registry import Apps
from django.db import migrations, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from apps.runs.phases import FINAL_FIELDS, final_phases

BATCH = 2000


def fill_final_phases(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    attempt = apps.get_model("runs", "Attempt")
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    pk = attempt._meta.pk
    assert pk is not None and pk.column
    assignments = ", ".join(f"{quote(name)} = %s" for name in FINAL_FIELDS)
    sql = f"UPDATE {quote(attempt._meta.db_table)} SET {assignments} WHERE {quote(pk.column)} = %s"
    # Only attempts with hops can have timings; those filled already are left alone.
    unfilled = (
        attempt.objects.using(connection.alias)
        .filter(final_total_ms=None)
        .exclude(hops=[])
        .order_by("pk")
    )
    last = None
    while True:
        batch = unfilled.filter(pk__gt=last) if last is not None else unfilled
        rows = list(batch.values_list("pk", "hops")[:BATCH])
        if not rows:
            return
        last = rows[-1][0]
        params = []
        for key, hops in rows:
            values = final_phases(hops)
            if values["final_total_ms"] is not None:
                key = pk.get_db_prep_value(key, connection)
                params.append([*(values[name] for name in FINAL_FIELDS), key])
        if params:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.executemany(sql, params)


class Migration(migrations.Migration):
    atomic = False  # a transaction per batch (above), not one over every attempt

    dependencies = [
        ("runs", "0011_attempt_final_phases"),
    ]

    operations = [
        migrations.RunPython(fill_final_phases, migrations.RunPython.noop, elidable=True),
    ]
