"""RV404 debug-enabled.

Small modules whose reported lines end with ``# reported``, run through the real engine with only RV404 enabled
(as ``app.py``, or under a path of the test's choosing when the module's name matters), and the ``deploy_app``
fixture project.
"""

from __future__ import annotations

import functools
import re
import textwrap
from pathlib import Path

import pytest
from conftest import assert_marked as assert_marked_with
from conftest import marked_lines, reported, rule_plan

from reviewer.analysis import analyze_text
from reviewer.discover import discover
from reviewer.engine import scan

PLAN = rule_plan("RV404")
FIXTURE = Path(__file__).parent / "fixtures" / "deploy_app"


assert_marked = functools.partial(assert_marked_with, plan=PLAN)


def reported_at(path: str, source: str) -> list[int]:
    """Lines reported in ``source`` analyzed as the file ``path``."""
    module = path[:-3].replace("/", ".")
    result = analyze_text(textwrap.dedent(source), path, module, False, PLAN)
    assert not result.notices
    return sorted(finding.span.line for finding in result.findings)


# -- Django settings ----------------------------------------------------------------------------------------------

PRODUCTION_SETTINGS = """
    import os

    DEBUG = True
    ALLOWED_HOSTS = ["shop.example.com"]
"""


@pytest.mark.parametrize(
    "path",
    ["config/settings.py", "config/settings/production.py", "shop/settings/base.py", "settings_prod.py",
     "config/settings/staging.py"],
)
def test_debug_in_a_settings_module(path: str) -> None:
    assert reported_at(path, PRODUCTION_SETTINGS) == [4]


@pytest.mark.parametrize(
    "path",
    ["config/settings/dev.py", "config/settings/local.py", "config/settings/development.py",
     "config/local_settings.py", "config/test_settings.py", "config/settings/testing.py", "config/settings/ci.py",
     "tests/settings.py", "config/settings_debug.py", "docs/django_settings.py"],
)
def test_debug_in_a_development_settings_module(path: str) -> None:
    assert reported_at(path, PRODUCTION_SETTINGS) == []


def test_a_module_is_a_settings_module_by_its_django_settings() -> None:
    # Not named settings, but only a Django settings module sets INSTALLED_APPS.
    assert reported_at("config/production.py", "DEBUG = True\nINSTALLED_APPS = ['shop']\n") == [1]
    # One that extends a settings module with a star import is one too.
    assert reported_at("config/prod.py", "from config.settings import *\n\nDEBUG = True\n") == [3]
    # A module that only happens to have a DEBUG constant is not.
    assert reported_at("shop/pricing.py", "DEBUG = True\n\ndef price(): ...\n") == []


DJANGO_CASES = {
    "annotated": """
        DEBUG: bool = True  # reported
        INSTALLED_APPS = []
    """,
    "chained": """
        DEBUG = TEMPLATE_DEBUG = True  # reported
        INSTALLED_APPS = []
    """,
    "not-from-the-environment": """
        import os
        import environ
        from decouple import config

        env = environ.Env()
        DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
        DEBUG = env.bool("DJANGO_DEBUG", default=False)
        DEBUG = config("DEBUG", default=False, cast=bool)
        INSTALLED_APPS = []
    """,
    "not-false": """
        DEBUG = False
        INSTALLED_APPS = []
    """,
    "not-overridden-later": """
        import os

        DEBUG = True
        DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
        INSTALLED_APPS = []
    """,
    "not-conditional": """
        import sys

        DEBUG = False
        if "runserver" in sys.argv:
            DEBUG = True
        INSTALLED_APPS = []
    """,
    "not-in-a-class": """
        from configurations import Configuration

        class Dev(Configuration):
            DEBUG = True
            INSTALLED_APPS = []
    """,
}


@pytest.mark.parametrize("source", DJANGO_CASES.values(), ids=DJANGO_CASES.keys())
def test_django_settings(source: str) -> None:
    assert reported_at("config/settings.py", source) == marked_lines(source)


# -- applications -------------------------------------------------------------------------------------------------

APP_CASES = {
    "fastapi-and-starlette": """
        import fastapi
        from starlette.applications import Starlette

        api = fastapi.FastAPI(title="Shop", debug=True)  # reported
        admin = Starlette(debug=True, routes=[])  # reported
        public = fastapi.FastAPI(debug=False)
    """,
    "tornado": """
        import tornado.web

        def make_app(handlers):
            return tornado.web.Application(handlers, debug=True)  # reported
    """,
    "fastapi-in-a-factory": """
        from fastapi import FastAPI

        def create_app():
            return FastAPI(debug=True)  # reported
    """,
    "flask-attributes": """
        from flask import Flask

        app = Flask(__name__)
        app.debug = True  # reported
        app.config["DEBUG"] = True  # reported
        app.config["TESTING"] = True
    """,
    "factory-result": """
        from shop import create_app

        app = create_app()
        app.debug = True  # reported
    """,
    "not-unknown-objects": """
        import logging

        from shop.settings import options

        options.debug = True
        logging.getLogger().debug = True

        class Runner:
            def __init__(self):
                self.debug = True
    """,
    "not-from-the-environment": """
        import os

        from fastapi import FastAPI
        from flask import Flask

        api = FastAPI(debug=os.environ.get("API_DEBUG") == "1")
        app = Flask(__name__)
        app.debug = os.environ.get("FLASK_DEBUG") == "1"
        if os.environ.get("PROFILE"):
            app.config["DEBUG"] = True
    """,
    "environment-switches": """
        import os

        os.environ["FLASK_DEBUG"] = "1"  # reported
        os.environ["FLASK_ENV"] = "development"  # reported
        os.environ["FLASK_DEBUG"] = "0"
        os.environ.setdefault("FLASK_DEBUG", "1")
    """,
    "debugger-middleware": """
        from flask import Flask
        from werkzeug.debug import DebuggedApplication

        app = Flask(__name__)
        app.wsgi_app = DebuggedApplication(app.wsgi_app)  # reported
        if app.debug:
            app.wsgi_app = DebuggedApplication(app.wsgi_app, evalex=True)
    """,
}


@pytest.mark.parametrize("source", APP_CASES.values(), ids=APP_CASES.keys())
def test_applications(source: str) -> None:
    assert_marked(source)


def test_debugger_console_is_named() -> None:
    source = """
        from werkzeug.debug import DebuggedApplication
        from shop.wsgi import application

        application = DebuggedApplication(application, evalex=True)
    """
    [(_, message)] = reported(source, PLAN)
    assert "console that runs arbitrary Python" in message


# -- development servers ------------------------------------------------------------------------------------------

SERVER_CASES = {
    "module-level-run": """
        from flask import Flask

        app = Flask(__name__)
        app.run(debug=True)  # reported
    """,
    "main-guard-on-loopback": """
        from flask import Flask

        app = Flask(__name__)

        if __name__ == "__main__":
            app.run(debug=True)
            app.run(host="127.0.0.1", debug=True)
    """,
    "main-guard-on-every-interface": """
        from flask import Flask

        app = Flask(__name__)

        if "__main__" == __name__:
            app.run(host="0.0.0.0", port=8000, debug=True)  # reported
            app.run("0.0.0.0", 8000, debug=True)  # reported
    """,
    "configured-host": """
        import os

        from shop import create_app

        def main():
            app = create_app()
            app.run(host=os.environ["HOST"], debug=True)  # reported
    """,
    "cli-command-on-loopback": """
        import click
        from shop import app

        @click.command()
        def serve():
            app.run(debug=True)
    """,
    "socketio-and-dash": """
        from dash import Dash
        from flask_socketio import SocketIO

        dash_app = Dash(__name__)
        socketio = SocketIO()
        dash_app.run_server(debug=True)  # reported
        socketio.run(dash_app.server, host="0.0.0.0", debug=True)  # reported
    """,
    "run-simple": """
        from werkzeug.serving import run_simple
        from shop.wsgi import application

        run_simple("0.0.0.0", 8000, application, use_debugger=True)  # reported
        run_simple("localhost", 8000, application, use_reloader=True)
    """,
    "not-asyncio-or-uvicorn": """
        import asyncio

        import uvicorn

        async def main():
            ...

        asyncio.run(main(), debug=True)
        uvicorn.run("shop.asgi:app", host="0.0.0.0", reload=True)
    """,
    "not-debug-off-or-from-environment": """
        import os

        from flask import Flask

        app = Flask(__name__)
        app.run(host="0.0.0.0", debug=False)
        app.run(host="0.0.0.0", debug=os.environ.get("FLASK_DEBUG") == "1")
    """,
    "not-conditional": """
        import sys

        from flask import Flask

        app = Flask(__name__)
        if "--debug" in sys.argv:
            app.run(host="0.0.0.0", debug=True)
    """,
}


@pytest.mark.parametrize("source", SERVER_CASES.values(), ids=SERVER_CASES.keys())
def test_development_servers(source: str) -> None:
    assert_marked(source)


def test_server_message_names_the_host() -> None:
    source = SERVER_CASES["main-guard-on-every-interface"]
    messages = [message for _, message in reported(source, PLAN)]
    assert all("`0.0.0.0`" in message for message in messages)


def test_development_server_scripts_are_not_reported() -> None:
    source = "from shop import app\n\napp.run(host='0.0.0.0', debug=True)\n"
    assert reported_at("scripts/run.py", source) == [3]
    assert reported_at("scripts/run_dev.py", source) == []
    assert reported_at("tests/conftest.py", source) == []


# -- the fixture project ------------------------------------------------------------------------------------------

MARKER = re.compile(r"#\s*reported:\s*(RV\d{3})")


def test_fixture_project() -> None:
    sources, _ = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(FIXTURE), jobs=1)
    assert result.notices == []
    expected = []
    for path in sorted(FIXTURE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = MARKER.search(line)
            if match and match.group(1) == "RV404":
                expected.append((path.relative_to(FIXTURE).as_posix(), number))
    assert sorted((finding.path, finding.span.line) for finding in result.findings) == expected
    assert len(expected) == 6
