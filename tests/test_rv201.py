"""RV201 blocking-call-in-async.

Most cases are small modules whose reported lines end with ``# reported``; the test runs the real engine with only
RV201 enabled and compares the reported lines with the marked ones.
"""

from __future__ import annotations

import functools
import re
import textwrap
from pathlib import Path

import pytest
from conftest import analyze_source, rule_plan
from conftest import assert_marked as assert_marked_with
from conftest import only_message as single_message
from conftest import reported as reported_with

from reviewer.analysis import analyze_text
from reviewer.catalog import load_catalog
from reviewer.checks.async_blocking import compile_options
from reviewer.checks.base import pattern_to_regex
from reviewer.config import (
    ConfigError,
    Settings,
    rule_options,
)
from reviewer.discover import discover
from reviewer.engine import scan
from reviewer.findings import NoticeKind
from reviewer.index import ProjectIndex
from reviewer.plan import ScanPlan

CATALOG = load_catalog()
SPEC = CATALOG["RV201"]
FIXTURE = Path(__file__).parent / "fixtures" / "async_app"
PLAN = rule_plan("RV201")


def plan_with(rule_table: dict) -> ScanPlan:
    return rule_plan("RV201", rule_table)


def analyze(source: str, plan: ScanPlan = PLAN):
    return analyze_source(source, plan)


def reported(source: str, plan: ScanPlan = PLAN) -> list[tuple[int, str]]:
    return reported_with(source, plan)


assert_marked = functools.partial(assert_marked_with, plan=PLAN)


def only_message(source: str, plan: ScanPlan = PLAN) -> str:
    return single_message(source, plan)


# -- blocking calls by qualified name ----------------------------------------------------------------------------

BLOCKING_CASES = {
    "sleep-aliases": """
        import time
        import time as clock
        from time import sleep
        from time import sleep as nap

        async def f():
            time.sleep(1)  # reported
            clock.sleep(1)  # reported
            sleep(1)  # reported
            nap(1)  # reported
    """,
    "requests": """
        import requests
        import requests as r
        from requests import post

        async def f(url):
            requests.get(url, timeout=5)  # reported
            r.request("PUT", url, timeout=5)  # reported
            post(url, timeout=5)  # reported
            requests.Session().get(url)  # reported
    """,
    "session-bound-to-a-variable": """
        import requests

        async def f(url):
            session = requests.Session()
            session.headers.update({"x": "1"})
            session.post(url)  # reported
            with requests.session() as other:
                other.get(url)  # reported
    """,
    "session-on-self": """
        import requests

        class Client:
            def __init__(self):
                self.session = requests.Session()

            async def fetch(self, url):
                return self.session.get(url)  # reported
    """,
    "httpx-sync-only": """
        import httpx

        async def f(url):
            httpx.get(url)  # reported
            with httpx.Client() as client:
                client.post(url)  # reported
            async with httpx.AsyncClient() as client:
                await client.get(url)
    """,
    "stdlib-http": """
        import http.client
        import urllib.request
        from urllib.request import urlopen

        import urllib3

        async def f(url):
            urlopen(url)  # reported
            urllib.request.urlretrieve(url, "out")  # reported
            urllib3.PoolManager().request("GET", url)  # reported
            pool = urllib3.PoolManager()
            pool.urlopen("GET", url)  # reported
            conn = http.client.HTTPSConnection("example.com")
            conn.request("GET", "/")  # reported
            conn.getresponse()  # reported
    """,
    "processes": """
        import os
        import subprocess
        from subprocess import check_output as out

        async def f(cmd):
            subprocess.run(cmd)  # reported
            out(cmd)  # reported
            process = subprocess.Popen(cmd)  # reported
            process.communicate()  # reported
            subprocess.Popen(cmd).wait()  # reported
            os.system("ls")  # reported
            os.waitpid(1, 0)  # reported
    """,
    "files": """
        import shutil
        from pathlib import Path

        async def f(name):
            with open(name) as handle:  # reported
                handle.read()
            Path(name).read_text()  # reported
            path = Path(name)
            path.write_bytes(b"")  # reported
            path.parent.joinpath("x").open()  # reported
            Path.home().rglob("*.py")  # reported
            shutil.rmtree(name)  # reported
            path.exists()
            path.stat()
            path.mkdir()
    """,
    "sockets-and-dns": """
        import socket

        async def f(host):
            socket.getaddrinfo(host, 80)  # reported
            connection = socket.create_connection((host, 80))  # reported
            connection.sendall(b"ping")  # reported
            sock = socket.socket()
            sock.connect((host, 80))  # reported
            sock.recv(1024)  # reported
            sock.setblocking(False)
    """,
    "sql-drivers": """
        import sqlite3

        import MySQLdb
        import mysql.connector
        import psycopg
        import psycopg2
        import pymysql

        async def f(dsn):
            conn = psycopg2.connect(dsn)  # reported
            cur = conn.cursor()
            cur.execute("SELECT 1")  # reported
            conn.commit()  # reported
            with psycopg.connect(dsn) as pg3:  # reported
                pg3.execute("SELECT 1")  # reported
            lite = sqlite3.connect("db.sqlite3")  # reported
            lite.execute("SELECT 1").fetchall()  # reported
            pymysql.connect(host="db").cursor().execute("SELECT 1")  # reported
            MySQLdb.connect(host="db")  # reported
            mysql.connector.connect(host="db")  # reported
    """,
    "mongo-and-redis": """
        import pymongo
        import redis
        from redis import StrictRedis

        mongo = pymongo.MongoClient()
        cache = redis.Redis.from_url("redis://localhost")

        async def f(key):
            mongo.shop.orders.find_one({"_id": key})  # reported
            mongo["shop"]["orders"].insert_one({"_id": key})  # reported
            cache.get(key)  # reported
            redis.from_url("redis://localhost").set(key, 1)  # reported
            StrictRedis().hgetall(key)  # reported
            pipe = cache.pipeline()
            pipe.incr(key)
            pipe.execute()  # reported
    """,
    "sqlalchemy-and-boto3": """
        import boto3
        from sqlalchemy import create_engine, select
        from sqlalchemy.orm import Session, sessionmaker

        engine = create_engine("postgresql://")
        SessionLocal = sessionmaker(bind=engine)
        s3 = boto3.client("s3")

        async def f(model):
            db = SessionLocal()
            db.query(model).filter(model.active).all()  # reported
            db.commit()  # reported
            with Session(engine) as session:
                session.execute(select(model))  # reported
            with engine.connect() as conn:
                conn.execute(select(model))  # reported
            s3.put_object(Bucket="b", Key="k", Body=b"")  # reported
            s3.generate_presigned_url("get_object", Params={})
    """,
    "mail-ftp-ssh": """
        import ftplib
        import smtplib

        import paramiko

        async def f(message):
            with smtplib.SMTP_SSL("mail") as smtp:  # reported
                smtp.send_message(message)  # reported
            ftplib.FTP("ftp").login()  # reported
            ssh = paramiko.SSHClient()
            ssh.connect("host")  # reported
            ssh.exec_command("uptime")  # reported
    """,
    "password-hashing": """
        import hashlib

        import bcrypt
        from argon2 import PasswordHasher
        from django.contrib.auth.hashers import make_password
        from passlib.context import CryptContext

        hasher = PasswordHasher()
        context = CryptContext(schemes=["bcrypt"])

        async def f(password, salt):
            bcrypt.hashpw(password, salt)  # reported
            hasher.verify("hash", password)  # reported
            hashlib.pbkdf2_hmac("sha256", password, salt, 600_000)  # reported
            context.hash(password)  # reported
            make_password(password)  # reported
            hashlib.sha256(password)
    """,
    "django-helpers-and-input": """
        from django.contrib.auth import authenticate
        from django.core.cache import cache
        from django.shortcuts import get_object_or_404

        async def f(request, model):
            authenticate(request, username="u", password="p")  # reported
            get_object_or_404(model, pk=1)  # reported
            cache.get("key")  # reported
            input("continue? ")  # reported
    """,
}


@pytest.mark.parametrize("source", BLOCKING_CASES.values(), ids=BLOCKING_CASES.keys())
def test_blocking_calls_are_reported(source: str) -> None:
    assert_marked(source)


NOT_BLOCKING_CASES = {
    "async-alternatives": """
        import asyncio

        import aiofiles
        import aiohttp
        import asyncpg
        import httpx
        import redis.asyncio as aioredis
        from redis.asyncio import Redis

        async def f(url, dsn):
            await asyncio.sleep(1)
            async with aiohttp.ClientSession() as session:
                await session.get(url)
            async with httpx.AsyncClient() as client:
                await client.get(url)
            conn = await asyncpg.connect(dsn)
            await conn.execute("SELECT 1")
            async with aiofiles.open("f") as handle:
                await handle.read()
            await aioredis.from_url("redis://localhost").get("k")
            await Redis().set("k", 1)
            process = await asyncio.create_subprocess_exec("ls")
            await process.wait()
    """,
    "sync-functions": """
        import time

        import requests

        def f(url):
            time.sleep(1)
            requests.get(url)
    """,
    "nested-def-lambda-and-class": """
        import asyncio
        import time

        import requests

        async def f(url):
            def fetch():
                return requests.get(url)

            later = lambda: time.sleep(1)

            class Loader:
                data = open("config.json")

            return await asyncio.to_thread(fetch), later, Loader
    """,
    "shadowed-and-parameters": """
        import time

        import requests

        async def f(requests, clock):
            requests.get("url")
            time = clock
            time.sleep(1)
            for open in [print]:
                open("file")

        async def g(sleep):
            sleep(1)
    """,
    "unresolvable": """
        async def f(client, url):
            client.get(url)
            get_client().get(url)
            await client.execute("SELECT 1")
            connection().cursor().execute("SELECT 1")
    """,
    "functions-passed-to-offload-wrappers": """
        import asyncio
        import time

        import anyio
        import requests
        from asgiref.sync import sync_to_async
        from channels.db import database_sync_to_async
        from fastapi.concurrency import run_in_threadpool
        from starlette.concurrency import run_in_threadpool as starlette_threadpool

        from shop.models import Order

        async def f(url):
            await asyncio.to_thread(requests.get, url)
            await asyncio.get_running_loop().run_in_executor(None, time.sleep, 1)
            await sync_to_async(Order.objects.get)(pk=1)
            await database_sync_to_async(Order.objects.count)()
            await anyio.to_thread.run_sync(time.sleep, 1)
            await run_in_threadpool(requests.get, url)
            await starlette_threadpool(open, "file")
    """,
    "awaitable-takers": """
        import asyncio

        from app.models import Book

        async def f(group):
            await asyncio.gather(Book.objects.create(title="a"), Book.objects.get_or_create(title="b"))
            task = asyncio.create_task(Book.objects.count())
            group.create_task(Book.objects.first())
            await asyncio.wait_for(Book.objects.get(pk=1), timeout=1)
    """,
}


@pytest.mark.parametrize("source", NOT_BLOCKING_CASES.values(), ids=NOT_BLOCKING_CASES.keys())
def test_not_reported(source: str) -> None:
    assert reported(source) == []


def test_message_names_the_call_its_resolved_name_and_the_alternative() -> None:
    assert only_message("""
        import time

        async def f():
            time.sleep(1)
    """) == "`time.sleep()` blocks the event loop: use `await asyncio.sleep()`"
    assert only_message("""
        import psycopg2

        conn = psycopg2.connect("dsn")

        async def f():
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
    """) == (
        "`cur.execute()` (`psycopg2.connect().cursor().execute`) blocks the event loop: "
        "use an async driver (`psycopg.AsyncConnection`, `asyncpg`)"
    )
    assert "use `await aauthenticate()` (Django 5.0+)" in only_message("""
        from django.contrib import auth

        async def f(request):
            auth.authenticate(request)
    """)


def test_a_chained_call_is_one_finding_spanning_the_whole_call() -> None:
    result = analyze("""
        import smtplib

        async def f(message):
            smtplib.SMTP("mail").send_message(
                message,
            )
    """)
    assert len(result.findings) == 1
    span = result.findings[0].span
    assert (span.line, span.column, span.end_line, span.end_column) == (5, 5, 7, 6)
    assert "`smtplib.SMTP().send_message()`" in result.findings[0].message


def test_arguments_of_a_reported_call_are_reported_too() -> None:
    messages = [message for _, message in reported("""
        import json

        import requests

        async def f(url):
            requests.post(url, json=json.load(open("payload.json")))
    """)]
    assert len(messages) == 2
    assert messages[0].startswith("`open()` blocks") and messages[1].startswith("`requests.post()` blocks")


# -- called before being offloaded --------------------------------------------------------------------------------

OFFLOAD_BUG = """
    import asyncio

    import requests
    from asgiref.sync import sync_to_async
    from fastapi.concurrency import run_in_threadpool

    from shop.models import Order

    async def f(url, loop):
        await asyncio.to_thread(requests.get(url))  # reported
        await loop.run_in_executor(None, requests.get(url))  # reported
        await sync_to_async(Order.objects.get(pk=1))  # reported
        await run_in_threadpool(list(Order.objects.all()))  # reported
        await asyncio.to_thread(print, requests.get(url))  # reported
"""


def test_result_passed_to_an_offload_wrapper_gets_its_own_message() -> None:
    assert_marked(OFFLOAD_BUG)
    messages = [message for _, message in reported(OFFLOAD_BUG)]
    assert messages[0] == (
        "`requests.get()` blocks the event loop: it is called before being passed to `asyncio.to_thread`; "
        "pass the function and its arguments instead"
    )
    assert "passed to `loop.run_in_executor`" in messages[1]
    assert "`Order.objects.get()` blocks the event loop: it is called before being passed to `sync_to_async`" in (
        messages[2]
    )
    assert "passed to `run_in_threadpool`" in messages[3]


# -- the Django ORM -----------------------------------------------------------------------------------------------

ORM_QUERIES = """
    from django.contrib.auth import get_user_model
    from shop.models import Order

    User = get_user_model()

    async def f(pk):
        Order.objects.get(pk=pk)  # reported
        Order.objects.filter(paid=True).exclude(total=0).first()  # reported
        Order.objects.filter(paid=True).count()  # reported
        Order.objects.all()[:10].exists()  # reported
        Order.objects.create(total=1)  # reported
        Order.objects.filter(pk=pk).update(paid=True)  # reported
        Order.objects.filter(pk=pk).delete()  # reported
        Order.objects.get_or_create(pk=pk)  # reported
        Order.objects.aggregate(total=1)  # reported
        Order._default_manager.in_bulk([pk])  # reported
        User.objects.get(pk=pk)  # reported
        get_user_model().objects.filter(is_staff=True).exists()  # reported
        queryset = Order.objects.filter(paid=True).select_related("customer")
        queryset.last()  # reported
        await Order.objects.aget(pk=pk)
        await Order.objects.filter(paid=True).acount()
"""


def test_sync_queryset_methods_are_reported() -> None:
    assert_marked(ORM_QUERIES)


def test_orm_messages_name_the_async_twin() -> None:
    messages = dict(reported(ORM_QUERIES))
    assert messages[8] == "`Order.objects.get()` blocks the event loop: use `await Order.objects.aget()`"
    assert messages[9].endswith("use `await Order.objects.filter().exclude().afirst()`")
    assert messages[21] == "`queryset.last()` blocks the event loop: use `await queryset.alast()`"
    assert only_message("""
        from shop.models import Order

        async def f():
            for order in Order.objects.filter(paid=True).iterator():
                print(order)
    """).endswith("use `async for ... in Order.objects.filter().aiterator()`")


def test_orm_lookalikes_are_not_reported() -> None:
    assert reported("""
        from shop.models import Order

        class Registry:
            async def find(self, key, cache, objects):
                self.objects.get(key)
                cache.objects.get(key)
                objects.get(key)
                Order.objects.filter(paid=True)
                Order.objects.stats().get("total")
                Order.objects.filter(paid=True).query.get("where")
                await Order.objects.get(pk=1)
    """) == []


def test_iterating_a_queryset() -> None:
    assert_marked("""
        from shop.models import Order

        async def f():
            for order in Order.objects.filter(paid=True):  # reported
                print(order)
            recent = Order.objects.order_by("-created")[:20]
            for order in recent:  # reported
                print(order)
            ids = [order.pk for order in recent]  # reported
            total = sum(order.total for order in Order.objects.all())  # reported
            everything = list(recent)  # reported
            count = len(Order.objects.filter(paid=True))  # reported
            async for order in Order.objects.filter(paid=True):
                print(order)
            ids = [order.pk async for order in recent]
            for item in [1, 2]:
                print(item)
            for order in Order.objects:
                print(order)
    """)


def test_len_and_bool_name_acount_and_aexists() -> None:
    messages = [message for _, message in reported("""
        from shop.models import Order

        async def f():
            len(Order.objects.all())
            bool(Order.objects.filter(paid=True))
            list(Order.objects.all())
    """)]
    assert messages == [
        "`len(Order.objects.all())` runs a blocking query: use `await Order.objects.all().acount()`",
        "`bool(Order.objects.filter())` runs a blocking query: use `await Order.objects.filter().aexists()`",
        "`list(Order.objects.all())` runs a blocking query: use `[item async for item in Order.objects.all()]`",
    ]


def test_instances_fetched_in_the_function() -> None:
    assert_marked("""
        from shop.models import Order

        async def f(pk, factory):
            order = Order.objects.get(pk=pk)  # reported
            order.save()  # reported
            fetched = await Order.objects.aget(pk=pk)
            fetched.paid = True
            fetched.save(update_fields=["paid"])  # reported
            fetched.refresh_from_db()  # reported
            await fetched.asave()
            created, was_created = await Order.objects.aget_or_create(pk=pk)
            created.delete()  # reported
            async for each in Order.objects.filter(paid=False):
                each.save()  # reported
                for line in each.lines.all():  # reported
                    print(line)
                each.payload.get("key")
                each.tags.remove("x")
            rebound = await Order.objects.afirst()
            rebound = factory()
            rebound.save()
            loop_target = await Order.objects.afirst()
            for loop_target in factory():
                loop_target.save()
    """)


def test_models_from_star_imports_and_later_definitions() -> None:
    assert_marked("""
        from shop.models import *

        async def f():
            Order.objects.get(pk=1)  # reported
            recent = Order.objects.all()[:5]
            list(recent)  # reported
            Invoice.objects.filter(paid=False).count()  # reported
            CONSTANT.objects.get(pk=1)

        class Invoice:
            pass
    """)


def test_constructed_instance_needs_the_project_to_confirm_a_model() -> None:
    result = analyze("""
        from dataclasses import dataclass

        from django.db import models

        class Order(models.Model):
            paid = models.BooleanField(default=False)

        @dataclass
        class Point:
            x: int

            def save(self):
                pass

        async def f():
            Order(paid=True).save()
            order = Order()
            order.delete()
            Point(1).save()
    """)
    assert result.findings == []
    requirements = sorted(candidate.requires for candidate in result.candidates)
    assert requirements == [("django-model", "app.Order"), ("django-model", "app.Order"), ("django-model", "app.Point")]
    confirmed = ProjectIndex([result]).resolve(result.candidates)
    assert [(f.span.line, f.message) for f in confirmed] == [
        (17, "`Order().save()` blocks the event loop: use `await Order().asave()`"),
        (19, "`order.delete()` blocks the event loop: use `await order.adelete()`"),
    ]


def test_model_defined_in_another_module_is_confirmed_by_the_join_step(tmp_path: Path) -> None:
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "models.py").write_text(textwrap.dedent("""
        from django.db import models

        class Order(models.Model):
            paid = models.BooleanField(default=False)

        class Draft:
            def save(self):
                pass
    """), encoding="utf-8")
    (package / "views.py").write_text(textwrap.dedent("""
        from shop.models import Draft, Order

        async def checkout():
            order = Order(paid=True)
            order.save()
            Draft().save()
    """), encoding="utf-8")
    sources, _ = discover([tmp_path], tmp_path, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(tmp_path), jobs=1)
    assert [(f.path, f.span.line, f.message) for f in result.findings] == [
        ("shop/views.py", 6, "`order.save()` blocks the event loop: use `await order.asave()`"),
    ]


def test_django_orm_option_turns_the_orm_checks_off() -> None:
    plan = plan_with({"django-orm": False})
    assert [line for line, _ in reported(ORM_QUERIES, plan)] == []
    assert_marked("""
        import time

        async def f():
            time.sleep(1)  # reported
    """, plan=plan)


# -- options --------------------------------------------------------------------------------------------------------


def test_extend_blocking_calls_with_tables_and_plain_patterns() -> None:
    plan = plan_with({
        "extend-blocking-calls": [
            {"calls": ["legacy.client.{fetch,push}_*"], "use": "`await legacy.aio.{name}()`"},
            "vendor.sdk.Client().**",
        ],
    })
    source = """
        import legacy.client
        from vendor.sdk import Client

        async def f():
            legacy.client.fetch_orders()  # reported
            legacy.client.close()
            Client().orders.list()  # reported
            Client()
    """
    assert_marked(source, plan=plan)
    messages = [message for _, message in reported(source, plan)]
    assert messages[0].endswith("use `await legacy.aio.fetch_orders()`")
    assert messages[1].endswith("use its async counterpart, or `await asyncio.to_thread()`")
    assert reported(source) == []  # the defaults know neither


def test_replacing_the_defaults() -> None:
    plan = plan_with({"blocking-calls": [{"calls": ["requests.get"], "use": "`httpx`"}]})
    assert_marked("""
        import time

        import requests

        async def f(url):
            requests.get(url)  # reported
            time.sleep(1)
    """, plan=plan)


def test_extend_offload_wrappers() -> None:
    plan = plan_with({"extend-offload-wrappers": ["**.async_add_executor_job"]})
    message = only_message("""
        import requests

        async def f(hass, url):
            await hass.async_add_executor_job(requests.get(url))
    """, plan=plan)
    assert "called before being passed to `hass.async_add_executor_job`" in message


def test_option_types_are_checked_by_the_config_validator() -> None:
    with pytest.raises(ConfigError, match="extend-blocking-calls must be a list"):
        plan_with({"extend-blocking-calls": "requests.get"})
    with pytest.raises(ConfigError, match="django-orm must be a boolean"):
        plan_with({"django-orm": "no"})


def test_a_malformed_group_is_a_check_error_naming_the_entry() -> None:
    plan = plan_with({"extend-blocking-calls": [{"use": "nothing to match"}]})
    result = analyze_text("import time\n\nasync def f():\n    time.sleep(1)\n", "app.py", "app", False, plan)
    assert result.findings == []
    [notice] = result.notices
    assert notice.kind is NoticeKind.CHECK_ERROR and notice.rule_id == "RV201"
    assert "blocking-calls entry" in notice.message


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("time.sleep", "time.sleep", True),
        ("time.sleep", "time.sleeper", False),
        ("requests.*", "requests.get", True),
        ("requests.*", "requests.Session().get", False),
        ("requests.**", "requests.Session().get", True),
        ("requests.{Session,session}().{get,post}", "requests.session().post", True),
        ("redis.{Redis(),from_url()}.get", "redis.from_url().get", True),
        ("redis.{Redis(),from_url()}.get", "redis.asyncio.Redis().get", False),
        ("{a.{b,c},d}.x", "a.c.x", True),
        ("**.run_in_executor", "self.loop.run_in_executor", True),
        ("cache.caches[].get", "cache.caches[].get", True),
    ],
)
def test_pattern_syntax(pattern: str, name: str, matches: bool) -> None:
    assert bool(re.fullmatch(pattern_to_regex(pattern), name)) is matches


@pytest.mark.parametrize("pattern", ["requests.{get,post", "requests.get}"])
def test_unbalanced_braces_are_rejected(pattern: str) -> None:
    with pytest.raises(ValueError, match="unmatched"):
        pattern_to_regex(pattern)


def test_every_default_pattern_compiles() -> None:
    compiled = compile_options(rule_options(SPEC, Settings()))
    assert len(compiled.groups) == len(SPEC.options["blocking-calls"].default)
    assert compiled.offload_wrappers is not None and compiled.django_orm


# -- the sample project -------------------------------------------------------------------------------------------

FIXTURE_FINDINGS = [
    ("api/main.py", 36),  # time.sleep in a retry loop
    ("api/services.py", 25),  # redis get
    ("api/services.py", 28),  # requests session get
    ("api/services.py", 31),  # redis setex
    ("api/services.py", 36),  # psycopg2.connect
    ("api/services.py", 39),  # cursor.execute
    ("api/services.py", 43),  # connection.commit
    ("shop/receipts.py", 31),  # send_mail called before asyncio.to_thread
    ("shop/views.py", 20),  # Order.objects.get
    ("shop/views.py", 22),  # order.save
    ("shop/views.py", 30),  # save() on an instance from aget()
    ("shop/views.py", 31),  # .count()
    ("shop/views.py", 39),  # Product(...).save(), confirmed by shop/models.py
    ("shop/views.py", 45),  # comprehension over a queryset
]


def test_sample_project_findings() -> None:
    sources, _ = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(FIXTURE), jobs=1)
    assert result.notices == []
    assert [(finding.path, finding.span.line) for finding in result.findings] == FIXTURE_FINDINGS
