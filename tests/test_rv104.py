"""RV104 unbounded-load.

Small modules whose reported lines end with ``# reported``, run through the real engine with only RV104 enabled,
and the ``loads_app`` fixture project, whose reported lines end with ``# RV104``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import fixture_lines, marked_lines, rule_plan
from conftest import only_message as single_message

from reviewer.analysis import analyze_text
from reviewer.checks.unbounded_loads import unbounded_select
from reviewer.discover import discover
from reviewer.engine import scan
from reviewer.index import ProjectIndex

PLAN = rule_plan("RV104")
FIXTURE = Path(__file__).parent / "fixtures" / "loads_app"


def lines(source: str, module: str = "app") -> list[int]:
    result = analyze_text(textwrap.dedent(source), f"{module.replace('.', '/')}.py", module, False, PLAN)
    assert not result.notices, result.notices
    findings = result.findings + ProjectIndex([result]).resolve(result.candidates)
    return sorted(finding.span.line for finding in findings)


def assert_marked(source: str, module: str = "app") -> None:
    assert lines(source, module) == marked_lines(source)


def only_message(source: str) -> str:
    return single_message(source, PLAN)


# -- len() and truthiness of querysets ------------------------------------------------------------------------------

PROBE_CASES = {
    "len-and-tests": """
        from shop.models import Order

        def summary(customer):
            unpaid = Order.objects.filter(customer=customer, paid=False)
            if len(unpaid) > 10:  # reported
                return "many"
            if not Order.objects.exclude(paid=True):  # reported
                return "none"
            flag = bool(Order.objects.filter(customer=customer))  # reported
            label = "yes" if Order.objects.all() else "no"  # reported
            assert Order.objects.filter(paid=True), "no paid orders"  # reported
            return flag, label
    """,
    "refined-afterwards-still-reported": """
        from shop.models import Order

        def cancel(customer):
            stale = Order.objects.filter(customer=customer)
            if stale:  # reported
                stale.update(paid=False)
                stale.filter(pk=1).delete()
    """,
    "reassigned-queryset": """
        from shop.models import Order

        def pending(customer, include_paid):
            orders = Order.objects.filter(customer=customer)
            if not include_paid:
                orders = orders.exclude(paid=True)
            return {"count": len(orders)}  # reported
    """,
    "iterated-after-the-test-reuses-the-cache": """
        from shop.models import Order

        def listing(customer):
            orders = Order.objects.filter(customer=customer)
            if not orders:
                return []
            return [order.pk for order in orders]

        def counted_then_looped(customer):
            orders = Order.objects.filter(customer=customer)
            total = len(orders)
            for order in orders:
                print(order, total)

        def passed_on(request, render):
            orders = Order.objects.filter(customer=request.user)
            if orders:
                return render("list.html", {"orders": orders})

        def first_of(customer):
            orders = Order.objects.filter(customer=customer).order_by("pk")
            if orders:
                return orders.first()

        def indexed(customer):
            orders = Order.objects.filter(customer=customer)
            return orders[0] if orders else None
    """,
    "not-querysets": """
        from shop.models import Order

        def other(items, order_ids):
            if items:
                return len(items)
            recent = Order.objects.filter(paid=True)[:5]
            if recent:
                return len(recent)
            first = Order.objects.filter(pk__in=order_ids).first()
            if first:
                return 1
            if Order.objects.filter(paid=False).exists():
                return Order.objects.count()
            streamed = Order.objects.all().iterator()
            return bool(streamed)
    """,
    "shadowed-len": """
        from shop.models import Order

        def len(value):
            return 0

        def f():
            return len(Order.objects.all())
    """,
}


@pytest.mark.parametrize("name", list(PROBE_CASES))
def test_queryset_probes(name: str) -> None:
    assert_marked(PROBE_CASES[name])


def test_probe_messages_name_the_fix() -> None:
    message = only_message("""
        from shop.models import Order

        def f():
            return len(Order.objects.filter(paid=False))
    """)
    assert message == (
        "`len(Order.objects.filter())` loads every row of the queryset to count them: use "
        "`Order.objects.filter().count()`, which counts in the database"
    )
    message = only_message("""
        from shop.models import Order

        def f():
            unpaid = Order.objects.filter(paid=False)
            if unpaid:
                unpaid.delete()
    """)
    assert "use `unpaid.exists()`" in message
    assert "its cache is reused" in message


# -- whole tables in background jobs --------------------------------------------------------------------------------

JOB_SOURCE = """
    from celery import Celery, shared_task
    from shop.models import Customer, Order

    app = Celery("shop")

    @shared_task
    def everything():
        for order in Order.objects.all():  # reported
            print(order)
        names = sorted(Customer.objects.only("name"))  # reported
        return [c.pk for c in Customer.objects.order_by("pk")], names  # reported

    @app.task(bind=True)
    def bound(self):
        return list(Order.objects.values_list("pk", flat=True))  # reported

    @shared_task
    def bounded():
        for order in Order.objects.filter(paid=False):
            print(order)
        for order in Order.objects.all().iterator(chunk_size=500):
            print(order)
        for order in Order.objects.all()[:100]:
            print(order)
        return Order.objects.all().delete()

    def not_a_task():
        return list(Order.objects.all())
"""


def test_whole_tables_in_tasks() -> None:
    assert_marked(JOB_SOURCE)


@pytest.mark.parametrize("module", ["shop.management.commands.rebuild", "shop.tasks", "shop.jobs"])
def test_job_modules(module: str) -> None:
    source = """
        from shop.models import Order

        def run():
            for order in Order.objects.all():  # reported
                print(order)
    """
    assert_marked(source, module)


@pytest.mark.parametrize("module", ["shop.views", "tasks.models", "tasks.migrations.0002_fill"])
def test_other_modules_are_not_jobs(module: str) -> None:
    source = """
        from shop.models import Order

        def run():
            for order in Order.objects.all():
                print(order)
    """
    assert lines(source, module) == []


# -- literal SQL ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("sql", "table"),
    [
        ("SELECT * FROM orders", "orders"),
        ("select o.id, o.total\n  from public.orders o join lines l on l.order_id = o.id", "public.orders"),
        ('SELECT extract(year from created) FROM "orders"', "orders"),
        ("SELECT id FROM orders WHERE paid", None),
        ("SELECT id FROM orders ORDER BY id LIMIT 10", None),
        ("SELECT id FROM orders FETCH FIRST 5 ROWS ONLY", None),
        ("SELECT count(*) FROM orders", None),
        ("SELECT count(*), max(total) FROM orders", None),
        ("SELECT status, count(*) FROM orders GROUP BY status", None),
        ("SELECT DISTINCT country FROM customers", None),
        ("SELECT 1", None),
        ("SELECT tablename FROM pg_tables", None),
        ("SELECT version_num FROM alembic_version", None),
        ("SELECT * FROM (SELECT * FROM orders LIMIT 5) recent", None),
        ("UPDATE orders SET paid = true", None),
    ],
)
def test_unbounded_select(sql: str, table: str | None) -> None:
    assert unbounded_select(sql) == table


def test_fetchall_after_literal_select() -> None:
    assert_marked("""
        import sqlite3
        from sqlalchemy import text

        ALL_ORDERS = "SELECT * FROM orders"

        def dump(connection: sqlite3.Connection, engine, since):
            cursor = connection.cursor()
            cursor.execute("SELECT id, total FROM orders")
            rows = cursor.fetchall()  # reported
            cursor.execute("SELECT id FROM orders WHERE created > ?", (since,))
            recent = cursor.fetchall()
            cursor.execute(ALL_ORDERS)
            everything = cursor.fetchall()  # reported
            with engine.connect() as conn:
                result = conn.execute(text("SELECT * FROM lines"))
                lines = result.fetchall()  # reported
                chained = conn.execute(text("SELECT * FROM lines")).fetchall()  # reported
                built = conn.execute(text(f"SELECT * FROM {since}")).fetchall()
            cursor.execute("SELECT * FROM orders")
            first = cursor.fetchone()
            return rows, recent, everything, lines, chained, built, first
    """)


def test_pandas_reads() -> None:
    assert_marked("""
        import pandas as pd
        from pandas import read_sql_table

        def frames(engine, user):
            a = pd.read_sql("SELECT * FROM orders", engine)  # reported
            b = pd.read_sql("orders", engine)  # reported
            c = read_sql_table("orders", engine)  # reported
            d = pd.read_sql_table("orders", engine, chunksize=1000)
            e = pd.read_sql_query("SELECT * FROM orders WHERE user_id = %(u)s", engine, params={"u": user})
            f = pd.read_sql(sql="SELECT id FROM orders LIMIT 5", con=engine)
            return a, b, c, d, e, f
    """)


# -- uploads ----------------------------------------------------------------------------------------------------------

def test_flask_uploads() -> None:
    assert_marked("""
        from flask import request

        def upload():
            data = request.files["file"].read()  # reported
            other = request.files.get("other")
            blob = other.stream.read()  # reported
            head = request.files["file"].read(1024)
            return data, blob, head

        def checked():
            upload = request.files["file"]
            if request.content_length > 10_000_000:
                return "too big", 413
            return upload.read()
    """)


def test_flask_upload_is_kept_only_without_max_content_length() -> None:
    view = analyze_text(
        "from flask import request\n\ndef upload():\n    return request.files['f'].read()\n",
        "app/views.py", "app.views", False, PLAN,
    )
    assert [candidate.requires for candidate in view.candidates] == [("settings-unset", "MAX_CONTENT_LENGTH")]
    assert len(ProjectIndex([view]).resolve(view.candidates)) == 1


def test_django_uploads() -> None:
    assert_marked("""
        def import_view(request):
            upload = request.FILES["csv"]
            rows = upload.read().decode().splitlines()  # reported
            return rows

        def chunked(request):
            upload = request.FILES["csv"]
            return b"".join(upload.chunks())

        def sized(request):
            upload = request.FILES.get("csv")
            if upload.size > 1_000_000:
                raise ValueError
            return upload.read()

        def not_a_request(thing):
            return FILES["csv"].read()
    """)


def test_fastapi_uploads() -> None:
    assert_marked("""
        from typing import Annotated, Optional

        from fastapi import File, UploadFile
        from starlette.datastructures import UploadFile as StarletteUpload

        async def one(file: UploadFile):
            return await file.read()  # reported

        async def two(file: Annotated[UploadFile, File()], other: Optional[StarletteUpload] = None):
            first = await file.read()  # reported
            second = await other.read()  # reported
            return first, second

        def sync(file: UploadFile):
            return file.file.read()  # reported

        async def many(files: list[UploadFile]):
            return [await f.read() for f in files]

        async def bounded(file: UploadFile):
            return await file.read(1024)

        async def checks_size(file: UploadFile, max_bytes: int):
            data = await file.read()
            if len(data) > max_bytes:
                raise ValueError
            return data

        async def not_awaited(file: UploadFile):
            return file.read()
    """)


# -- the fixture project ----------------------------------------------------------------------------------------------

def project_findings() -> list[tuple[str, int, str]]:
    sources, notices = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(FIXTURE), jobs=1, walk_notices=notices)
    assert not result.notices, result.notices
    return [(f.path, f.span.line, f.message) for f in result.findings]


def project_marked(tag: str) -> list[tuple[str, int]]:
    return fixture_lines(FIXTURE, rf"# {tag}\s*$")

def test_fixture_reports_exactly_the_marked_lines() -> None:
    assert sorted((path, line) for path, line, _ in project_findings()) == project_marked("RV104")
