"""RV403 permissive-cors.

Small modules whose reported lines end with ``# reported``, run through the real engine with only RV403 enabled;
the origin-pattern analysis on its own; and the ``deploy_app`` fixture project, where the django-cors-headers
settings are split over several modules.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from conftest import assert_marked as assert_marked_with
from conftest import fixture_lines, rule_plan
from conftest import only_message as single_message

from reviewer.analysis import analyze_text
from reviewer.checks.deployment import attacker_origin, is_development_path
from reviewer.discover import discover
from reviewer.engine import scan
from reviewer.index import ProjectIndex

PLAN = rule_plan("RV403")
FIXTURE = Path(__file__).parent / "fixtures" / "deploy_app"


assert_marked = functools.partial(assert_marked_with, plan=PLAN)


def only_message(source: str) -> str:
    return single_message(source, PLAN)


# -- Starlette / FastAPI ------------------------------------------------------------------------------------------

STARLETTE_CASES = {
    "add-middleware": """
        from fastapi import FastAPI
        from fastapi.middleware.cors import CORSMiddleware

        app = FastAPI()
        app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)  # reported
    """,
    "starlette-import-and-alias": """
        from starlette.middleware import cors

        def build(app):
            app.add_middleware(
                cors.CORSMiddleware,
                allow_credentials=True,
                allow_origins=("https://app.example.com", "*"),  # reported
            )
    """,
    "middleware-list": """
        from starlette.applications import Starlette
        from starlette.middleware import Middleware
        from starlette.middleware.cors import CORSMiddleware

        app = Starlette(middleware=[
            Middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True),  # reported
        ])
    """,
    "direct-wrap-with-names": """
        from starlette.middleware.cors import CORSMiddleware
        from myapp import asgi_app

        EVERYONE = ["*"]
        CREDENTIALS = True
        app = CORSMiddleware(asgi_app, allow_origins=EVERYONE, allow_credentials=CREDENTIALS)  # reported
    """,
    "string-star": """
        from fastapi.middleware.cors import CORSMiddleware

        def setup(app):
            app.add_middleware(CORSMiddleware, allow_origins="*", allow_credentials=True)  # reported
    """,
    "regex-any": """
        from fastapi.middleware.cors import CORSMiddleware

        def setup(app):
            app.add_middleware(CORSMiddleware, allow_origin_regex=".*", allow_credentials=True)  # reported
    """,
    "regex-glued-wildcard": """
        from fastapi.middleware.cors import CORSMiddleware

        def setup(app):
            app.add_middleware(
                CORSMiddleware,
                allow_origin_regex=r"https://.*example\\.com",  # reported
                allow_credentials=True,
            )
    """,
    "regex-shared-hosting": """
        from fastapi.middleware.cors import CORSMiddleware

        def setup(app):
            app.add_middleware(
                CORSMiddleware,
                allow_origin_regex=r"https://shop-[a-z0-9]+\\.vercel\\.app",  # reported
                allow_credentials=True,
            )
    """,
    "not-without-credentials": """
        from fastapi.middleware.cors import CORSMiddleware

        def setup(app):
            app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"])
            app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=False)
            app.add_middleware(CORSMiddleware, allow_origin_regex=".*")
    """,
    "not-runtime-values": """
        import os

        from fastapi.middleware.cors import CORSMiddleware
        from app.config import settings

        def setup(app):
            app.add_middleware(
                CORSMiddleware,
                allow_origins=os.environ["ORIGINS"].split(","),
                allow_credentials=True,
            )
            app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=settings.CORS_CREDENTIALS)
            app.add_middleware(CORSMiddleware, allow_origins=settings.ORIGINS, allow_credentials=True)
    """,
    "not-conditional-name": """
        import os

        from fastapi.middleware.cors import CORSMiddleware

        origins = ["https://app.example.com"]
        if os.environ.get("OPEN_CORS"):
            origins = ["*"]

        def setup(app):
            app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True)
    """,
    "not-another-functions-local": """
        from fastapi.middleware.cors import CORSMiddleware

        def development(app):
            origins = ["*"]
            return origins

        def production(app, origins):
            app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True)
    """,
    "not-shadowed-module-literal": """
        from fastapi.middleware.cors import CORSMiddleware

        origins = ["*"]

        def setup(app, origins):
            app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True)

        def setup_all(app, configured):
            for origins in configured:
                app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True)
    """,
    "not-anchored-by-fullmatch": """
        from fastapi.middleware.cors import CORSMiddleware

        def setup(app):
            # Starlette full-matches the pattern: no ^...$ needed.
            app.add_middleware(
                CORSMiddleware,
                allow_origin_regex=r"https://.*\\.example\\.com",
                allow_credentials=True,
            )
            app.add_middleware(
                CORSMiddleware,
                allow_origin_regex=r"http://(localhost|127\\.0\\.0\\.1):\\d+",
                allow_credentials=True,
            )
    """,
    "not-another-middleware": """
        from fastapi.middleware.gzip import GZipMiddleware

        def setup(app):
            app.add_middleware(GZipMiddleware, allow_origins=["*"], allow_credentials=True)
    """,
}


@pytest.mark.parametrize("source", STARLETTE_CASES.values(), ids=STARLETTE_CASES.keys())
def test_starlette(source: str) -> None:
    assert_marked(source)


def test_starlette_message_names_the_accepted_origin() -> None:
    message = only_message("""
        from fastapi.middleware.cors import CORSMiddleware

        def setup(app):
            app.add_middleware(CORSMiddleware, allow_origin_regex=r"https://app.example.com", allow_credentials=True)
    """)
    assert "`https://app-example.com`" in message


# -- flask-cors ---------------------------------------------------------------------------------------------------

FLASK_CASES = {
    "default-origins": """
        from flask import Flask
        from flask_cors import CORS

        app = Flask(__name__)
        CORS(app, supports_credentials=True)  # reported
    """,
    "star-and-list": """
        import flask_cors

        def create_app(app):
            flask_cors.CORS(app, origins="*", supports_credentials=True)  # reported
            flask_cors.CORS(app, origins=["https://a.example.com", "*"], supports_credentials=True)  # reported
    """,
    "decorator": """
        from flask_cors import cross_origin

        @cross_origin(supports_credentials=True)  # reported
        def cart():
            return {}

        @cross_origin(origins=["https://shop.example.com"], supports_credentials=True)
        def wishlist():
            return {}
    """,
    "unanchored-pattern": """
        from flask_cors import CORS

        def create_app(app):
            CORS(app, origins=[r"^https://.*\\.example\\.com"], supports_credentials=True)  # reported
            CORS(app, origins=[r"^https://.*\\.example\\.com$"], supports_credentials=True)
    """,
    "resources": """
        from flask_cors import CORS

        def create_app(app):
            CORS(app, resources={r"/api/*": {"origins": "https://app.example.com"}}, supports_credentials=True)
            CORS(app, resources={r"/api/*": {"methods": ["GET"]}}, supports_credentials=True)  # reported
            CORS(app, resources={r"/api/*": {"origins": "*"}}, supports_credentials=True)  # reported
            CORS(app, resources=r"/api/*", supports_credentials=True)  # reported
            CORS(app, resources=API_RESOURCES, supports_credentials=True)
    """,
    "not-without-credentials": """
        from flask_cors import CORS, cross_origin

        def create_app(app):
            CORS(app)
            CORS(app, origins="*")

        @cross_origin()
        def catalog():
            return {}
    """,
    "not-when-origins-configured": """
        from flask import Flask
        from flask_cors import CORS

        app = Flask(__name__)
        app.config["CORS_ORIGINS"] = ["https://app.example.com"]
        CORS(app, supports_credentials=True)
    """,
    "not-when-a-config-class-sets-origins": """
        from flask import Flask
        from flask_cors import CORS

        class Config:
            CORS_ORIGINS = ["https://app.example.com"]

        app = Flask(__name__)
        app.config.from_object(Config)
        CORS(app, supports_credentials=True)
    """,
    "not-plain-origin-strings": """
        from flask_cors import CORS

        def create_app(app):
            # Strings without regular-expression characters are compared as they are.
            CORS(app, origins=["https://app.example.com"], supports_credentials=True)
    """,
}


@pytest.mark.parametrize("source", FLASK_CASES.values(), ids=FLASK_CASES.keys())
def test_flask_cors(source: str) -> None:
    assert_marked(source)


# -- django-cors-headers ------------------------------------------------------------------------------------------

DJANGO_CASES = {
    "allow-all-with-credentials": """
        CORS_ALLOW_ALL_ORIGINS = True  # reported
        CORS_ALLOW_CREDENTIALS = True
    """,
    "old-name": """
        CORS_ORIGIN_ALLOW_ALL = True  # reported
        CORS_ALLOW_CREDENTIALS = True
    """,
    "not-without-credentials": """
        CORS_ALLOW_ALL_ORIGINS = True
    """,
    "not-credentials-from-environment": """
        import os

        CORS_ALLOW_ALL_ORIGINS = True
        CORS_ALLOW_CREDENTIALS = os.environ.get("CORS_CREDENTIALS") == "1"
    """,
    "not-conditional": """
        DEBUG = False
        CORS_ALLOW_CREDENTIALS = True
        if DEBUG:
            CORS_ALLOW_ALL_ORIGINS = True
    """,
    "regexes": """
        CORS_ALLOW_CREDENTIALS = True
        CORS_ALLOWED_ORIGIN_REGEXES = [
            r"^https://[a-z0-9-]+\\.example\\.com$",
            r"^https://\\w+\\.example\\.com",  # reported
            r"^https://example\\.com$",
            r"https://.*example\\.com$",  # reported
        ]
        CORS_ORIGIN_REGEX_WHITELIST = (r"^https://.*\\.example\\.org",)  # reported
    """,
    "not-regexes-without-credentials": """
        CORS_ALLOWED_ORIGIN_REGEXES = [r"^https://\\w+\\.example\\.com"]
    """,
}


@pytest.mark.parametrize("source", DJANGO_CASES.values(), ids=DJANGO_CASES.keys())
def test_django_cors_headers(source: str) -> None:
    assert_marked(source)


def test_django_credentials_from_another_settings_module() -> None:
    base = "CORS_ALLOW_CREDENTIALS = True\n"
    production = "from .base import *\n\nCORS_ALLOW_ALL_ORIGINS = True\n"
    results = [
        analyze_text(base, "config/settings/base.py", "config.settings.base", False, PLAN),
        analyze_text(production, "config/settings/production.py", "config.settings.production", False, PLAN),
    ]
    findings = ProjectIndex(results).resolve([c for r in results for c in r.candidates])
    assert [(f.path, f.span.line) for f in findings] == [("config/settings/production.py", 3)]
    # Without the base module nothing says credentials are on.
    alone = results[1:]
    assert ProjectIndex(alone).resolve(alone[0].candidates) == []


@pytest.mark.parametrize("path", ["config/settings/dev.py", "config/local_settings.py", "tests/settings.py"])
def test_django_development_settings_are_not_reported(path: str) -> None:
    source = "CORS_ALLOW_ALL_ORIGINS = True\nCORS_ALLOW_CREDENTIALS = True\n"
    module = path[:-3].replace("/", ".")
    result = analyze_text(source, path, module, False, PLAN)
    assert ProjectIndex([result]).resolve(result.candidates) == []


# -- hand-written -------------------------------------------------------------------------------------------------

HAND_WRITTEN_CASES = {
    "django-middleware": """
        class CorsMiddleware:
            def __init__(self, get_response):
                self.get_response = get_response

            def __call__(self, request):
                response = self.get_response(request)
                origin = request.META.get("HTTP_ORIGIN")
                if origin:
                    response["Access-Control-Allow-Origin"] = origin  # reported
                    response["Access-Control-Allow-Credentials"] = "true"
                return response
    """,
    "flask-after-request-dict": """
        from flask import request

        def add_headers(response):
            response.headers.update({
                "Access-Control-Allow-Origin": request.headers.get("Origin", "*"),  # reported
                "Access-Control-Allow-Credentials": "true",
            })
            return response
    """,
    "asgi-raw-headers": """
        async def cors(scope, receive, send, app):
            origin = dict(scope["headers"]).get(b"origin")

            async def send_with_cors(message):
                if message["type"] == "http.response.start":
                    message["headers"].append((b"access-control-allow-origin", origin))  # reported
                    message["headers"].append((b"access-control-allow-credentials", b"true"))
                await send(message)

            await app(scope, receive, send_with_cors)
    """,
    "falcon-set-header": """
        class CORSComponent:
            def process_response(self, req, resp, resource, req_succeeded):
                resp.set_header("Access-Control-Allow-Origin", req.get_header("Origin"))  # reported
                resp.set_header("Access-Control-Allow-Credentials", "true")
    """,
    "not-checked-against-allow-list": """
        ALLOWED = {"https://app.example.com"}

        def add_headers(request, response):
            origin = request.headers.get("Origin")
            if origin not in ALLOWED:
                return response
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            return response
    """,
    "not-checked-by-a-function": """
        import re

        def add_headers(request, response):
            origin = request.headers.get("Origin", "")
            if re.fullmatch(r"https://[a-z]+\\.example\\.com", origin):
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Access-Control-Allow-Credentials"] = "true"
            return response
    """,
    "not-vetted-by-a-helper": """
        class PartnerCors:
            def process_response(self, request, response):
                if not self.is_partner_request(request):
                    return response
                response["Access-Control-Allow-Origin"] = request.META["HTTP_ORIGIN"]
                response["Access-Control-Allow-Credentials"] = "true"
                return response

            def is_partner_request(self, request):
                return request.META.get("HTTP_ORIGIN") in PARTNERS
    """,
    "not-vetted-camel-case": """
        def add_headers(request, response):
            if isOriginAllowed(request):
                response.headers["Access-Control-Allow-Origin"] = request.headers["Origin"]
                response.headers["Access-Control-Allow-Credentials"] = "true"
    """,
    "unrelated-conditions-do-not-vet": """
        def add_headers(request, response):
            if request.method == "OPTIONS" or isinstance(response, dict):
                response.headers["Access-Control-Allow-Origin"] = request.headers["Origin"]  # reported
                response.headers["Access-Control-Allow-Credentials"] = "true"
    """,
    "not-without-credentials": """
        def add_headers(request, response):
            response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin", "*")
            return response
    """,
    "not-a-fixed-origin": """
        def add_headers(request, response):
            response.headers["Access-Control-Allow-Origin"] = "https://app.example.com"
            response.headers["Access-Control-Allow-Credentials"] = "true"
            return response
    """,
}


@pytest.mark.parametrize("source", HAND_WRITTEN_CASES.values(), ids=HAND_WRITTEN_CASES.keys())
def test_hand_written(source: str) -> None:
    assert_marked(source)


# -- origin patterns ----------------------------------------------------------------------------------------------

LOOSE_PATTERNS = [
    # (pattern, full match, an origin it must be shown to accept)
    (".*", True, "https://evil.net"),
    ("https?://.*", True, "https://evil.net"),
    (r"https://.*example\.com", True, "https://evilexample.com"),
    (r"https://example\.com.*", True, "https://example.com.evil.net"),
    ("https://app.example.com", True, "https://app-example.com"),
    (r"https://.*\.vercel\.app", True, "https://evil.vercel.app"),
    (r"^https://.*\.example\.com", False, "https://a.example.com.evil.net"),
    (r".*\.example.com", False, "https://a.example.com.evil.net"),
    ("^http://localhost", False, "http://localhost.evil.net"),
    (r"^https://[a-z]+\.example\.com", False, "https://a.example.com.evil.net"),
    ("^https://", False, "https://evil.net"),
]

TIGHT_PATTERNS = [
    (r"https://.*\.example\.com", True),
    (r"https://[a-z0-9-]+\.example\.com", True),
    (r"http://localhost:\d+", True),
    (r"http://(localhost|127\.0\.0\.1)(:\d+)?", True),
    (r".*\.example.com", True),  # only `exampleXcom`, which nobody can register
    (r"^https://[a-z0-9-]+\.example\.com$", False),
    (r"^https://(www\.)?example\.com$", False),
    (r"^https://(foo\.com|bar\.org)$", False),
    (r"^https?://(.*\.)?example\.com$", False),
    (r"^https://[^.]+\.example\.com$", False),
    (r"^http://127.0.0.1:\d+$", False),  # unescaped dots in an IP address
    (r"^http://localhost:\d+", False),
    (r"^https://example\.com:8443", False),
    (r"example\.com", False),  # re.match from the start: no real origin starts with a host
    ("[unclosed", False),
    (r"^(https://a)\1$", False),
]


@pytest.mark.parametrize(("pattern", "full_match", "origin"), LOOSE_PATTERNS)
def test_loose_patterns(pattern: str, full_match: bool, origin: str) -> None:
    found = attacker_origin(pattern, full_match)
    assert found == origin
    accepts = re.fullmatch if full_match else re.match
    assert accepts(pattern, found)


@pytest.mark.parametrize(("pattern", "full_match"), TIGHT_PATTERNS)
def test_tight_patterns(pattern: str, full_match: bool) -> None:
    assert attacker_origin(pattern, full_match) is None


def test_ignore_case_follows_flask_cors() -> None:
    assert attacker_origin(r"^https://[a-z]+\.Example\.com$", False) is None
    assert attacker_origin(r"^HTTPS://.*\.example\.com", False, ignore_case=True) is not None


@pytest.mark.parametrize(
    ("path", "development"),
    [
        ("config/settings/dev.py", True),
        ("config/settings_local.py", True),
        ("project/test_settings.py", True),
        ("tests/app.py", True),
        ("config/settings/production.py", False),
        ("config/settings/staging.py", False),
        ("devices/settings.py", False),  # a word, not a prefix
        ("latest/settings.py", False),
    ],
)
def test_development_paths(path: str, development: bool) -> None:
    assert is_development_path(path) is development


# -- the fixture project ------------------------------------------------------------------------------------------

MARKER = re.compile(r"#\s*reported:\s*(RV\d{3})")


def fixture_markers(rule_id: str) -> list[tuple[str, int]]:
    return fixture_lines(FIXTURE, rf"#\s*reported:\s*{rule_id}\b")

def test_fixture_project() -> None:
    sources, _ = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(FIXTURE), jobs=1)
    assert result.notices == []
    found = sorted((finding.path, finding.span.line) for finding in result.findings)
    assert found == fixture_markers("RV403")
    assert len(found) == 10
