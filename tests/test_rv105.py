"""RV105 sql-injection.

Small modules whose reported lines end with ``# reported`` run through the real engine with only RV105 enabled; the
``injection_app`` fixture (Django, DRF, FastAPI + asyncpg, Flask-SQLAlchemy, reporting scripts) marks the lines
RV105 must report with ``# RV105``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from conftest import assert_marked as assert_marked_with
from conftest import reported as reported_with
from conftest import rule_plan

from reviewer.checks.sql_injection import compile_options
from reviewer.config import ConfigError
from reviewer.discover import discover
from reviewer.engine import scan

FIXTURE = Path(__file__).parent / "fixtures" / "injection_app"
PLAN = rule_plan("RV105")


def reported(source: str) -> list[tuple[int, str]]:
    return reported_with(source, PLAN)


assert_marked = functools.partial(assert_marked_with, plan=PLAN)


CASES = {
    "django-cursor-fstring": """
        from django.db import connection

        def view(request):
            name = request.GET["name"]
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT * FROM t WHERE name = '{name}'")  # reported
                cursor.execute("SELECT * FROM t WHERE name = %s", [name])
    """,
    "quote-name-through-a-local-name": """
        def forwards(apps, schema_editor):
            Order = apps.get_model("shop", "Order")
            qn = schema_editor.quote_name
            table = qn(Order._meta.db_table)
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(f"UPDATE {table} SET total = 0 WHERE total IS NULL")
                cursor.execute(f"UPDATE {qn(Order._meta.db_table)} SET paid = false")

        def rename(schema_editor, name, lookup):
            qn = schema_editor.quote_name
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE {qn(name)} RENAME TO old")  # reported
                qn = lookup
                cursor.execute(f"SELECT * FROM {qn('orders')}")  # reported
    """,
    "percent-format-and-format": """
        import sqlite3

        def find(user_id, status):
            conn = sqlite3.connect("app.db")
            conn.execute("SELECT * FROM t WHERE status = '%s'" % status)  # reported
            conn.execute("SELECT * FROM t WHERE status = '%(s)s'" % {"s": status})  # reported
            conn.execute("SELECT * FROM t WHERE status = '{}'".format(status))  # reported
            conn.execute("SELECT * FROM t WHERE id = %d" % user_id)
            conn.execute("SELECT * FROM t WHERE id = %d AND s = '%s'" % (user_id, status))  # reported
    """,
    "through-locals-and-augmented-assignment": """
        from django.db import connection

        def report(request, column):
            query = "SELECT id FROM orders"
            query += " ORDER BY " + column
            cursor = connection.cursor()
            cursor.execute(query)  # reported
    """,
    "last-assignment-wins": """
        from django.db import connection

        def report(column):
            query = f"SELECT {column} FROM orders"
            query = "SELECT id FROM orders"
            connection.cursor().execute(query)
    """,
    "constants-only": """
        from django.conf import settings
        from django.db import connection

        TABLE = "orders"
        archive = "orders_archive"

        class Report:
            LIMIT = 10

            def run(self):
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT * FROM {TABLE} LIMIT {self.LIMIT}")
                    cursor.execute(f"SELECT * FROM {settings.ARCHIVE_SCHEMA}.{archive}")
                    cursor.execute("SELECT * FROM " + TABLE + " WHERE id = %s", [1])
    """,
    "numbers-cannot-inject": """
        from django.db import connection

        def page(request, size: int):
            limit = int(request.GET["limit"])
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id FROM t LIMIT {limit} OFFSET {size}")
                cursor.execute(f"SELECT id FROM t LIMIT {request.GET['n']:d}")
                cursor.execute(f"SELECT id FROM t LIMIT {len(request.GET)}")
    """,
    "allow-list-membership": """
        from django.db import connection

        ALLOWED = {"created", "total"}

        def ordered(request, column, direction):
            if column not in ALLOWED:
                raise ValueError(column)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT id FROM t ORDER BY {column}")
                if direction in ("ASC", "DESC"):
                    cursor.execute(f"SELECT id FROM t ORDER BY total {direction}")
                cursor.execute(f"SELECT id FROM t ORDER BY total {request.GET['dir']}")  # reported
    """,
    "allow-list-against-a-parameter-is-not-one": """
        from django.db import connection

        def ordered(column, columns):
            if column not in columns:
                raise ValueError(column)
            connection.cursor().execute(f"SELECT id FROM t ORDER BY {column}")  # reported
    """,
    "schema-controlled-identifiers": """
        from django.db import connection

        def truncate(model):
            table = model._meta.db_table
            column = model._meta.get_field("created").column
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table} WHERE {column} < now()")
                cursor.execute(f"SELECT COUNT(*) FROM {model.__tablename__}")
    """,
    "placeholders-joined": """
        from django.db import connection

        def by_ids(ids, columns):
            marks = ",".join(["%s"] * len(ids))
            others = ", ".join("%s" for _ in ids)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT * FROM t WHERE id IN ({marks}) OR id IN ({others})", ids + ids)
                cursor.execute(f"SELECT {', '.join(columns)} FROM t")  # reported
    """,
    "conditions-list": """
        from django.db import connection

        def search(name, region):
            conditions = ["active"]
            params = []
            if name:
                conditions.append("name = %s")
                params.append(name)
            sql = "SELECT id FROM t WHERE " + " AND ".join(conditions)
            connection.cursor().execute(sql, params)
            conditions.append(f"region = '{region}'")
            connection.cursor().execute("SELECT id FROM t WHERE " + " AND ".join(conditions))  # reported
    """,
    "psycopg-sql-composition": """
        import psycopg
        from psycopg import sql

        def export(table, column):
            with psycopg.connect() as conn:
                conn.execute(sql.SQL("SELECT {} FROM {}").format(sql.Identifier(column), sql.Identifier(table)))
                conn.execute(sql.SQL(f"SELECT * FROM {table}"))  # reported
    """,
    "sqlalchemy-text-and-core": """
        from sqlalchemy import select, text

        def search(session, name, model):
            session.execute(text("SELECT id FROM users WHERE name = :name"), {"name": name})
            session.execute(select(model).where(model.name == name))
            statement = text(f"SELECT id FROM users WHERE name = '{name}'")  # reported
            return session.execute(statement)
    """,
    "exec-driver-sql": """
        from sqlalchemy import create_engine

        engine = create_engine("postgresql://")

        def drop(name):
            with engine.connect() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {name}")  # reported
    """,
    "django-raw-extra-rawsql": """
        from django.db.models import RawSQL
        from shop.models import Order

        def view(request):
            q = request.GET["q"]
            Order.objects.raw(f"SELECT * FROM shop_order WHERE note = '{q}'")  # reported
            Order.objects.filter(paid=True).extra(where=[f"note = '{q}'"])  # reported
            Order.objects.extra(where=["note = %s"], params=[q])
            Order.objects.annotate(x=RawSQL("note = '" + q + "'", ()))  # reported
    """,
    "asyncpg-by-receiver-name": """
        async def view(pool, status):
            async with pool.acquire() as conn:
                await conn.fetch(f"SELECT id FROM t WHERE status = '{status}'")  # reported
                await conn.fetchrow("SELECT id FROM t WHERE status = $1", status)
    """,
    "receiver-name-needs-sql-keyword": """
        def run(db, command, name):
            db.execute(f"{command} {name}")
            db.execute(f"greet {name}")
            db.execute(f"select * from t where name = '{name}'")  # reported
    """,
    "unrelated-execute-is-not-a-sink": """
        def run(executor, name):
            executor.execute(f"SELECT * FROM t WHERE name = '{name}'")
            graph.query(f"MATCH (n {{name: '{name}'}}) RETURN n")
    """,
    "pandas-read-sql": """
        import pandas as pd

        def load(conn, table):
            return pd.read_sql(f"SELECT * FROM {table}", conn)  # reported
    """,
    "loops-over-constants": """
        from django.db import connection

        TABLES = ("orders", "payments")

        def vacuum(extra):
            with connection.cursor() as cursor:
                for table in TABLES:
                    cursor.execute(f"VACUUM {table}")
                for table in extra:
                    cursor.execute(f"VACUUM {table}")  # reported
    """,
    "quote-doubling-escapes": """
        def load(conn, url):
            url = url.replace('"', '""')
            conn.execute(f'SELECT * FROM "{url}" LIMIT 1')
    """,
    "sql-fragment-parameters": """
        def explain(cursor, statement, where_clause, query):
            cursor.execute(f"EXPLAIN {statement}")
            cursor.execute(f"SELECT id FROM t WHERE {where_clause}")
            cursor.execute(f"SELECT id FROM t WHERE name LIKE '%{query}%'")  # reported
    """,
    "django-compiler-sql": """
        from django.db import connection

        def count(queryset):
            sql, params = queryset.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS sub", params)
    """,
    "manager-method-raw": """
        from django.db import models

        class OrderManager(models.Manager):
            def search(self, term):
                return self.raw("SELECT * FROM shop_order WHERE note = '" + term + "'")  # reported
    """,
    "module-level-script": """
        import sqlite3
        import sys

        conn = sqlite3.connect("app.db")
        name = sys.argv[1]
        conn.execute(f"DELETE FROM users WHERE name = '{name}'")  # reported
    """,
}


@pytest.mark.parametrize("name", list(CASES))
def test_cases(name: str) -> None:
    assert_marked(CASES[name])


def test_message_names_the_construct_the_value_and_the_sink() -> None:
    source = """
        from django.db import connection

        def view(request):
            sql = "SELECT * FROM t WHERE a = '%s'" % request.GET["a"]
            connection.cursor().execute(sql)
    """
    [(line, message)] = reported(source)
    assert line == 6
    assert message.startswith(
        "SQL text built with `%` formatting from `request.GET[...]`, which is not a constant, reaches "
        "`connection.cursor().execute()`"
    )


def test_built_string_is_a_related_location() -> None:
    from conftest import analyze_source

    source = """
        from django.db import connection

        def view(name):
            sql = f"SELECT * FROM t WHERE a = '{name}'"
            connection.cursor().execute(sql)
    """
    [finding] = analyze_source(source, PLAN).findings
    assert [(related.span.line, related.message) for related in finding.related] == [
        (5, "the SQL text is built here")
    ]


def test_receiver_names_option() -> None:
    source = """
        def run(warehouse, name):
            warehouse.execute(f"SELECT * FROM t WHERE name = '{name}'")
    """
    assert reported(source) == []
    plan = rule_plan("RV105", {"receiver-names": ["warehouse"]})
    assert [line for line, _ in reported_with(source, plan)] == [3]
    with pytest.raises((ConfigError, ValueError)):
        compile_options({"receiver-names": ["not a name"]})


def test_fixture_reports_exactly_the_marked_lines() -> None:
    sources, notices = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(FIXTURE), jobs=1, walk_notices=notices)
    assert not result.notices, result.notices
    found = sorted({(f.path, f.span.line) for f in result.findings})
    marked = sorted(
        (path.relative_to(FIXTURE).as_posix(), number)
        for path in FIXTURE.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if line.rstrip().endswith("# RV105")
    )
    assert found == marked
