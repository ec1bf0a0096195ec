"""The few statements every run goes through (its submission, claim and store), as SQL
composed once per process.

Composing a statement with the ORM costs more CPU than the database's work on it (about
1 ms a statement, profiled in `bench/profile_stages.py`); these helpers do what the ORM
does for a row and a save by primary key, each value through its field's own conversions to
the database and back, so that instances read here are the ORM's own.
"""

from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model
from django.db.models.expressions import Col

# A converter as the ORM calls it: (value, expression, connection) -> value. Which ones a
# column has depends on its field and the database's vendor only.
type Converter = Any
_PLANS: dict[tuple[str, type[Model]], list[tuple[Col, list[Converter]]]] = {}


def prepared_cursor() -> CursorWrapper:
    """A cursor for the statements every run goes through. On PostgreSQL its values are
    bound by the server, so psycopg prepares a statement on its connection once it has run
    a few times (DATABASES' `prepare_threshold`) and PostgreSQL no longer plans it each
    time: for these statements planning cost more than running them. Elsewhere, and where
    prepared statements are off, the connection's own cursor. Django's wrapper stays around
    it either way (execute hooks, the query log, database errors)."""
    wrapper = connection.cursor()
    if connection.vendor == "postgresql" and connection.settings_dict["OPTIONS"].get(
        "prepare_threshold"
    ):
        wrapper.cursor.close()
        wrapper.cursor = psycopg.Cursor(connection.connection)
    return wrapper


def concrete_fields(model: type[Model]) -> "list[Field[Any, Any]]":
    """The model's concrete fields, in the order of its columns here."""
    return list(model._meta.concrete_fields)


def field(model: type[Model], name: str) -> "Field[Any, Any]":
    found = model._meta.get_field(name)
    assert isinstance(found, Field), name
    return found


def quoted(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column_list(alias: str, model: type[Model]) -> str:
    """Every column of the model, for a SELECT, `alias` naming its table."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in concrete_fields(model) if f.column)


def db_value(model: type[Model], name: str, value: Any) -> Any:
    """A value as the database takes it for the model's field."""
    return field(model, name).get_db_prep_save(value, connection)


def from_row[M: Model](model: type[M], values: Sequence[Any]) -> M:
    """An instance of the model from the values of `column_list`'s columns."""
    key = (connection.vendor, model)
    plan = _PLANS.get(key)
    if plan is None:
        plan = []
        for each in concrete_fields(model):
            col = each.get_col(model._meta.db_table)
            converters = [
                *connection.ops.get_db_converters(col),
                *col.get_db_converters(connection),
            ]
            plan.append((col, converters))
        _PLANS[key] = plan
    converted = []
    for (col, converters), value in zip(plan, values, strict=True):
        if value is not None:
            for convert in converters:
                value = convert(value, col, connection)
        converted.append(value)
    names = [each.attname for each in concrete_fields(model)]
    return model.from_db(connection.alias, names, converted)


def insert(instance: Model) -> None:
    """`instance.save(force_insert=True)` as one INSERT of every column: each value as its
    field makes it for an insert (defaults, `auto_now_add`), set on the instance too."""
    model = type(instance)
    chosen = concrete_fields(model)
    assert not any(each.has_db_default() or each.generated for each in chosen), model
    quote = connection.ops.quote_name
    columns = ", ".join(quote(each.column) for each in chosen if each.column)
    params = [each.get_db_prep_save(each.pre_save(instance, True), connection) for each in chosen]
    placeholders = ", ".join(["%s"] * len(params))
    with prepared_cursor() as cursor:
        cursor.execute(f"INSERT INTO {quoted(model)} ({columns}) VALUES ({placeholders})", params)  # noqa: S608
    instance._state.adding = False
    instance._state.db = connection.alias


def save_fields(
    instance: Model,
    names: Sequence[str],
    *,
    condition: str = "",
    condition_params: Sequence[Any] = (),
) -> int:
    """`instance.save(update_fields=names)` as one UPDATE by primary key, and `condition`
    (SQL, its `%s` taking `condition_params`) if given; the rows updated."""
    model = type(instance)
    quote = connection.ops.quote_name
    chosen = [field(model, name) for name in names]
    assignments = ", ".join(f"{quote(each.column)} = %s" for each in chosen if each.column)
    params = [each.get_db_prep_save(getattr(instance, each.attname), connection) for each in chosen]
    pk = model._meta.pk
    assert pk is not None and pk.column
    sql = f"UPDATE {quoted(model)} SET {assignments} WHERE {quote(pk.column)} = %s"  # noqa: S608
    if condition:
        sql += f" AND {condition}"
    with prepared_cursor() as cursor:
        cursor.execute(
            sql, [*params, pk.get_db_prep_save(instance.pk, connection), *condition_params]
        )
        return cursor.rowcount
