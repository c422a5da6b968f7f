"""RV101 query-in-loop.

Most cases are small modules whose reported lines end with ``# reported``; the test runs the real engine with only
RV101 enabled (candidates resolved against the file's own facts) and compares the reported lines with the marked
ones. The fixtures ``django_shop`` and ``sqlalchemy_app`` cover the project-wide join (query functions in other
modules); their reported lines end with ``# RV101``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from conftest import assert_marked as assert_marked_with
from conftest import fixture_lines, rule_plan
from conftest import reported as reported_with

from reviewer.checks.query_in_loop import compile_options
from reviewer.config import ConfigError
from reviewer.discover import discover
from reviewer.engine import scan
from reviewer.plan import ScanPlan

FIXTURES = Path(__file__).parent / "fixtures"
PLAN = rule_plan("RV101")


def plan_with(rule_table: dict) -> ScanPlan:
    return rule_plan("RV101", rule_table)


def reported(source: str, plan: ScanPlan = PLAN) -> list[tuple[int, str]]:
    return reported_with(source, plan)


assert_marked = functools.partial(assert_marked_with, plan=PLAN)


CASES = {
    "django-manager-queries": """
        from shop.models import Order

        def f(ids):
            for i in ids:
                Order.objects.get(pk=i)  # reported
                Order.objects.filter(pk=i).exists()  # reported
                Order.objects.filter(pk=i).update(paid=True)  # reported
                Order.objects.create(pk=i)  # reported
                Order.objects.filter(pk=i)
                Order.objects.bulk_create([])
    """,
    "django-async-forms": """
        from shop.models import Order

        async def f(ids):
            async for i in ids:
                await Order.objects.aget(pk=i)  # reported
            return [await Order.objects.acount() for i in ids]  # reported
    """,
    "django-instances": """
        from django.db import models

        class Order(models.Model):
            pass

        def f(ids, names):
            for i in ids:
                order = Order.objects.get(pk=i)  # reported
                order.save()  # reported
                Order(pk=i).save()  # reported
            for order in Order.objects.filter(paid=False):
                order.delete()  # reported
            order = Order.objects.first()
            order.save()
    """,
    "constructed-non-model-is-not-a-query": """
        class Report:
            def save(self):
                pass

        def f(ids):
            for i in ids:
                Report().save()
    """,
    "querysets-evaluated-in-the-loop": """
        from shop.models import Order

        def f(customers):
            everything = Order.objects.all()
            for customer in customers:
                recent = Order.objects.filter(customer=customer)
                list(recent)  # reported
                len(Order.objects.filter(customer=customer))  # reported
                Order.objects.filter(customer=customer)[0]  # reported
                for order in recent[:5]:  # reported
                    pass
                list(everything)
                lazy = Order.objects.filter(customer=customer).order_by("-id")
    """,
    "prefetchable-relations-are-left-to-rv102": """
        from shop.models import Order

        def f():
            for order in Order.objects.prefetch_related("lines"):
                list(order.lines.all())
                order.lines.count()
                order.lines.filter(quantity=0).first()  # reported
    """,
    "comprehensions-and-while": """
        from shop.models import Order

        def f(ids, queue):
            a = [Order.objects.get(pk=i) for i in ids]  # reported
            b = {i: Order.objects.filter(pk=i).count() for i in ids}  # reported
            c = sum(Order.objects.filter(pk=i).count() for i in ids)  # reported
            while queue:
                Order.objects.get(pk=queue.pop())  # reported
    """,
    "iterable-and-nested-functions-run-once": """
        from shop.models import Order

        def f(ids):
            for order in Order.objects.filter(pk__in=ids):
                def later():
                    return Order.objects.get(pk=1)
                callback = lambda: Order.objects.get(pk=2)
            for i in ids:
                pass
            else:
                Order.objects.get(pk=3)
    """,
    "small-literal-loops": """
        from shop.models import Order

        STATUSES = ("new", "paid", "sent")

        def f(ids):
            for status in ("new", "paid"):
                Order.objects.filter(status=status).count()
            for status in STATUSES:
                Order.objects.filter(status=status).count()
            for i in range(3):
                Order.objects.get(pk=i)
            labels = {"new": 1, "paid": 2}
            for key, value in labels.items():
                Order.objects.filter(status=key).update(rank=value)
            for i in range(1000):
                Order.objects.get(pk=i)  # reported
            for status in [*ids, "x"]:
                Order.objects.filter(status=status).count()  # reported
    """,
    "loops-that-end-early": """
        from shop.models import Order

        def generate_code(make):
            while True:
                code = make()
                if not Order.objects.filter(code=code).exists():
                    return code

        def unique(make):
            code = make()
            while Order.objects.filter(code=code).exists():
                code = make()
            return code

        def first_paid(ids):
            for i in ids:
                order = Order.objects.get(pk=i)  # reported
                if order.paid:
                    order.save()
                    break

        def retry(make):
            for attempt in range(50):
                if not Order.objects.filter(code=make()).exists():
                    break
    """,
    "polling-loops": """
        import asyncio
        import time

        from shop.models import Heartbeat, Order

        class Worker:
            def run(self):
                while not self.stopping:
                    Heartbeat.objects.filter(worker=self.name).update(seen=True)
                    time.sleep(5)

            async def arun(self, stop):
                while not stop.is_set():
                    await Order.objects.filter(paid=False).acount()
                    await asyncio.sleep(1)

            def ticks(self, event):
                while True:
                    event.wait(10)
                    Order.objects.filter(stale=True).delete()

            def rows_inside(self, ids):
                while not self.stopping:
                    for pk in ids:
                        Order.objects.get(pk=pk)  # reported
                    self.sleep()

            def sleeps_elsewhere(self, queue):
                while queue:
                    def later():
                        time.sleep(1)
                    Order.objects.get(pk=queue.pop())  # reported
    """,
    "cached-values": """
        from shop.models import Customer, Domain, Order

        _default = None
        _customer = None
        _settings = object()

        def cached_customer():
            global _customer
            if _customer is None: _customer = Customer.objects.get(pk=1)
            return _customer

        def default_domain():
            global _default
            if _default is None:
                try:
                    _default = Domain.objects.get(name="default")
                except Domain.DoesNotExist:
                    _default = Domain(name="default")
            return _default

        class Pricing:
            def rates(self):
                if not hasattr(self, "_rates"):
                    self._rates = list(Order.objects.values_list("rate", flat=True))
                return self._rates

            def price(self, ids):
                for i in ids:
                    self.rates()
                    if self._customer is None or i:
                        self._customer = Customer.objects.get(pk=1)
                    if _settings.domain is None:
                        _settings.domain = Domain.objects.get(pk=1)

        def per_row(orders, cache):
            for order in orders:
                default_domain()
                cached_customer()
                if order.customer_cache is None:
                    order.customer_cache = Customer.objects.get(pk=order.customer_id)  # reported
                if order.pk not in cache:
                    cache[order.pk] = Customer.objects.get(pk=order.customer_id)  # reported
                local = None
                if local is None:
                    local = Domain.objects.get(pk=order.domain_id)  # reported
                if _default is None:
                    Domain.objects.get(pk=order.domain_id)  # reported
    """,
    "sqlalchemy-sessions": """
        import requests
        from sqlalchemy import select
        from sqlalchemy.orm import Session, sessionmaker

        from app.models import Author

        SessionLocal = sessionmaker()

        def typed(session: Session, ids):
            for i in ids:
                session.get(Author, i)  # reported
                session.execute(select(Author).where(Author.id == i))  # reported

        def untyped(session, db, ids):
            for i in ids:
                session.query(Author).filter(Author.id == i).first()  # reported
                db.scalars(select(Author))  # reported
                session.query(Author).filter(Author.id == i)
                session.get(f"/authors/{i}")
            with SessionLocal() as s:
                for i in ids:
                    s.get(Author, i)  # reported
            http = requests.Session()
            for i in ids:
                http.get(f"/authors/{i}")

        def flask(ids):
            return [Author.query.filter_by(id=i).first() for i in ids]  # reported

        async def asynchronous(session, ids):
            for i in ids:
                await session.execute(select(Author).where(Author.id == i))  # reported
    """,
    "dbapi-and-drivers": """
        import sqlite3

        import asyncpg
        import psycopg2
        from pymongo import MongoClient

        def f(ids):
            connection = psycopg2.connect("dbname=shop")
            cursor = connection.cursor()
            for i in ids:
                cursor.execute("SELECT * FROM orders WHERE id = %s", (i,))  # reported
            cursor.executemany("UPDATE orders SET paid = true WHERE id = %s", [(i,) for i in ids])
            lite = sqlite3.connect("shop.db")
            return [lite.execute("SELECT 1 WHERE ? > 0", (i,)) for i in ids]  # reported

        async def g(ids):
            connection = await asyncpg.connect()
            for i in ids:
                await connection.fetchrow("SELECT * FROM orders WHERE id = $1", i)  # reported

        def h(ids):
            orders = MongoClient().shop.orders
            for i in ids:
                orders.find_one({"_id": i})  # reported
            orders.insert_many([{"_id": i} for i in ids])
    """,
    "project-functions-in-the-same-module": """
        from shop.models import Order

        def load(i):
            return Order.objects.get(pk=i)

        def wrapped(i):
            return load(i)

        def pure(i):
            return i * 2

        def f(ids):
            for i in ids:
                load(i)  # reported
                wrapped(i)  # reported
                pure(i)
    """,
    "methods-of-the-same-class": """
        from shop.models import Order

        class Report:
            def __init__(self, ids):
                self.ids = ids
                self.formatter = str

            def order(self, i):
                return Order.objects.get(pk=i)

            def label(self, i):
                return self.order(i).number

            def pure(self, i):
                return i * 2

            def rows(self):
                for i in self.ids:
                    self.order(i)  # reported
                    self.label(i)  # reported
                    self.pure(i)
                    self.formatter(i)
                return [self.inherited(i) for i in self.ids]

        def outside(report, ids):
            for i in ids:
                report.order(i)
    """,
}


@pytest.mark.parametrize("name", list(CASES))
def test_case(name: str) -> None:
    assert_marked(CASES[name])


def test_messages_name_the_query_and_how_to_batch() -> None:
    (_, django), (_, dbapi) = reported("""
        import sqlite3
        from shop.models import Order

        def f(ids):
            for i in ids:
                Order.objects.filter(pk=i).first()
            db = sqlite3.connect("x")
            for i in ids:
                db.execute("SELECT ?", (i,))
    """)
    assert django.startswith("`Order.objects.filter().first()` runs a query per iteration of the loop")
    assert "in_bulk()" in django and "prefetch_related()" in django
    assert "executemany()" in dbapi and "IN (...)" in dbapi


def test_project_function_message_names_the_chain() -> None:
    messages = [message for _, message in reported(CASES["project-functions-in-the-same-module"])]
    assert messages[0].startswith("`load()` runs a query per iteration of the loop (`Order.objects.get()` in `app.load`)")
    assert "(`Order.objects.get()` in `app.load` via `app.wrapped`)" in messages[1]


def test_call_depth_is_bounded() -> None:
    deep = """
        from shop.models import Order

        def level0(i):
            return Order.objects.get(pk=i)

        def level1(i):
            return level0(i)

        def level2(i):
            return level1(i)

        def level3(i):
            return level2(i)

        def level4(i):
            return level3(i)

        def f(ids):
            for i in ids:
                level3(i)  # reported
                level4(i)
    """
    assert_marked(deep)


def test_options_extend_queries_and_literal_size() -> None:
    source = """
        from legacy import store

        def f(ids):
            for i in (1, 2, 3):
                store.connect().lookup(i)
    """
    assert reported(source) == []
    plan = plan_with({
        "extend-query-calls": [{"calls": ["legacy.store.connect().lookup"], "use": "`lookup_many()`"}],
        "max-literal-items": 2,
    })
    [(_, message)] = reported(source, plan)
    assert message.endswith("`lookup_many()`")


def test_bad_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="query-calls entry 1"):
        compile_options({"query-calls": ["not a table"]})
    with pytest.raises(ValueError, match="max-literal-items"):
        compile_options({"max-literal-items": -1})
    with pytest.raises((ConfigError, ValueError)):
        plan_with({"session-names": "session"})


# -- projects -----------------------------------------------------------------------------------------------------


def project_findings(name: str) -> list[tuple[str, int, str]]:
    root = FIXTURES / name
    sources, notices = discover([root], root, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(root), jobs=1, walk_notices=notices)
    assert not result.notices, result.notices
    return [(f.path, f.span.line, f.message) for f in result.findings]


def project_marked(name: str) -> list[tuple[str, int]]:
    return fixture_lines(FIXTURES / name, r"# RV101\s*$")

@pytest.mark.parametrize("name", ["django_shop", "sqlalchemy_app"])
def test_fixture_reports_exactly_the_marked_lines(name: str) -> None:
    # A line may hold several queries (routes.py:19 calls two query functions): compare the lines.
    assert sorted({(path, line) for path, line, _ in project_findings(name)}) == project_marked(name)


def test_query_function_in_another_app_is_followed() -> None:
    messages = {(path, line): message for path, line, message in project_findings("django_shop")}
    assert messages["shop/views.py", 12] == (
        "`line_total()` runs a query per iteration of the loop (`Price.objects.filter().order_by().first()` in "
        "`billing.services.current_price` via `billing.services.line_total`): fetch what the loop needs in one "
        "query before it (an `IN` lookup over all the keys)"
    )


def test_async_app_stays_quiet() -> None:
    assert project_findings("async_app") == []


def test_nested_relations_are_left_to_rv102() -> None:
    assert_marked("""
        from shop.models import Order

        def f(pk):
            order = Order.objects.get(pk=pk)
            for line in order.lines.all():
                for refund in line.refunds.all():
                    pass
                line.refunds.filter(open=True).count()  # reported
    """)


def test_chunked_lookups_are_the_batched_form() -> None:
    assert_marked("""
        from shop.models import Order

        def f(chunks, ids, size):
            for chunk in chunks:
                for order in Order.objects.filter(pk__in=chunk):
                    pass
                Order.objects.filter(pk__in=chunk).update(paid=True)
            for start in range(0, len(ids), size):
                Order.objects.filter(pk__in=ids[start:start + size]).delete()
            for i in ids:
                Order.objects.filter(pk__in=ids).count()  # reported
    """)


def test_a_loop_over_batches_queries_once_per_batch() -> None:
    assert_marked("""
        import itertools
        from shop.models import ImportBatch, Order, Summary
        from shop.utils import grouper, load_in_batches, split

        def f(rows, ids, size, project):
            for batch in load_in_batches(rows):
                Summary.objects.select_for_update().get(project=project)
                for row in batch:
                    Order.objects.get(pk=row)  # reported
            for batch_start in range(0, len(ids), size):
                set(Order.objects.filter(pk__in=ids).values_list("id", flat=True))
            for number, part in enumerate(itertools.batched(ids, size)):
                orders = Order.objects.filter(pk__in=part)
                for order in orders:
                    pass
            for group in grouper(ids, size):
                Order.objects.filter(pk__in=ids).count()
            for group in split(ids, size):
                Order.objects.filter(pk__in=ids).count()  # reported
            for batch in ImportBatch.objects.all():
                batch.save()  # reported
    """)
