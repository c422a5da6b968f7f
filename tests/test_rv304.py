"""RV304 sensitive-data-in-logs.

Cases are small modules whose reported lines end with ``# reported``; the real engine runs with only RV304
enabled. The ``auth_app`` fixture project marks its lines ``# reported RV304``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from conftest import analyze_source, rule_plan
from conftest import assert_marked as assert_marked_with
from conftest import only_message as single_message

from reviewer.analysis import analyze_text
from reviewer.checks.logging_leaks import credential_name
from reviewer.discover import discover
from reviewer.engine import scan

FIXTURE = Path(__file__).parent / "fixtures" / "auth_app"
PLAN = rule_plan("RV304")


assert_marked = functools.partial(assert_marked_with, plan=PLAN)


def only_message(source: str) -> str:
    return single_message(source, PLAN)


CASES = {
    "stdlib-logger-bound-at-module-level": """
        import logging

        logger = logging.getLogger(__name__)
        log = logging.getLogger("audit")

        def login(username, password, api_key):
            logger.info("login %s %s", username, password)  # reported
            log.warning(f"key={api_key}")  # reported
            logging.error("user {} token {}".format(username, api_key))  # reported
            logger.info("login for %s" % password)  # reported
            logger.log(logging.INFO, "password %s", password)  # reported
            logger.info("login %s", username)
    """,
    "self-logger-and-adapters": """
        import logging

        class Client:
            def __init__(self):
                self.logger = logging.getLogger(__name__)

            def connect(self, secret):
                self.logger.debug("connecting with %s", secret)  # reported
                logging.getLogger(__name__).getChild("c").info("x %s", secret)  # reported
    """,
    "structlog-and-loguru": """
        import structlog
        from loguru import logger

        log = structlog.get_logger()

        def issue(user, token):
            log.info("issued", user=user.pk, token=token)  # reported
            log.bind(user=user.pk).info("issued", access_token=token)  # reported
            logger.info("issued {}", token)  # reported
            logger.opt(lazy=True).debug("issued {}", token)  # reported
            log.info("issued", user=user.pk)
    """,
    "loggers-named-as-such-whatever-their-origin": """
        from app.log import logger
        from flask import current_app

        def issue(token, client_secret):
            logger.info("token %s", token)  # reported
            current_app.logger.info("secret %s", client_secret)  # reported
    """,
    "message-text-only": """
        import logging

        logger = logging.getLogger(__name__)

        def reset(user):
            logger.info("password reset mail sent to %s", user.pk)
            logger.info("Invalid token")
            logger.info(f"token for {user.pk} expired")
            logger.error("secret rotation failed", exc_info=True)
    """,
    "masking-and-tests": """
        import logging

        logger = logging.getLogger(__name__)

        def issue(token, password):
            logger.info("token %s", mask_token(token))
            logger.info("token %s", redact(token))
            logger.info("token %s", hash_value(token))
            logger.info("password length %d", len(password))
            logger.info("has password: %s", bool(password))
            logger.info("no token: %s", token is None)
            logger.info("token type %s", type(token))
            logger.info("token expires %s", token.expires_at)
            logger.info("last four %s", obfuscate(password))
    """,
    "names-about-a-credential": """
        import logging

        logger = logging.getLogger(__name__)

        def paginate(token_type, next_token, password_reset_url, api_key_header, secret_name):
            logger.info("%s %s %s %s %s", token_type, next_token, password_reset_url, api_key_header, secret_name)
    """,
    "attributes-subscripts-and-get": """
        import logging

        logger = logging.getLogger(__name__)

        def call(user, data, settings):
            logger.info("token %s", user.auth_token)  # reported
            logger.info("secret %s", data["client_secret"])  # reported
            logger.info("pw %s", data.get("password"))  # reported
            logger.info("key %s", settings.SECRET_KEY)  # reported
            logger.info("otp %s", user.otp)  # reported
            logger.info("card %s", data["card_number"])  # reported
            logger.info("user %s", data["username"])
    """,
    "headers-and-request-dumps": """
        import logging
        from flask import request

        logger = logging.getLogger(__name__)

        def view(req):
            logger.info("auth %s", request.headers["Authorization"])  # reported
            logger.info("auth %s", req.headers.get("authorization"))  # reported
            logger.info("auth %s", req.META.get("HTTP_AUTHORIZATION"))  # reported
            logger.info("headers %s", dict(request.headers))  # reported
            logger.debug("payload %s", request.get_json())  # reported
            logger.debug("body %s", req.body)  # reported
            logger.debug("form %s", req.POST)  # reported
            logger.debug("data %s", req.data)  # reported
            logger.info("agent %s", request.headers.get("User-Agent"))
            logger.info("path %s", request.path)
            logger.info("method %s", req.method)
    """,
    "locals-carry-what-they-hold": """
        import logging

        logger = logging.getLogger(__name__)

        def view(request, make_token):
            header = request.headers.get("Authorization", "")
            logger.info("header %s", header)  # reported
            logger.info("header length %s", len(header))
            access_token = make_token()
            logger.info("issued %s", access_token)  # reported
            link = f"https://example.com/reset/{access_token}"
            logger.info("link %s", link)  # reported
            safe = mask(access_token)
            logger.info("issued %s", safe)
            token = None
            logger.info("token %s", token)
    """,
    "extra-and-dicts": """
        import logging

        logger = logging.getLogger(__name__)

        def view(request, user):
            logger.info("login", extra={"user": user.pk, "password": request.POST["password"]})  # reported
            logger.info("login", extra={"user": user.pk})
            logger.info("login %s", {"api_key": user.profile.api_key})  # reported
            logger.info("login %s", {"token": "***"})
    """,
    "module-constants": """
        import logging

        logger = logging.getLogger(__name__)
        SECRET_BYTES = 32

        def setup():
            logger.info("generating %d bytes of secret", SECRET_BYTES)
    """,
    "print-in-server-code": """
        from django.http import JsonResponse

        def view(request, token):
            print("token", token)  # reported
            print("user", request.user.pk)
            return JsonResponse({})
    """,
    "print-outside-server-code": """
        import secrets

        def main():
            token = secrets.token_urlsafe()
            print(token)
    """,
    "other-objects-with-log-methods": """
        def handle(stats, token, metrics):
            stats.info(token)
            metrics.error("x", token)
    """,
}


@pytest.mark.parametrize("source", CASES.values(), ids=CASES.keys())
def test_cases(source: str) -> None:
    assert_marked(source)


def test_print_in_a_management_command_is_not_reported() -> None:
    source = (
        "from django.core.management.base import BaseCommand\n\n"
        "class Command(BaseCommand):\n"
        "    def handle(self, *args, token=None, **options):\n"
        "        print(token)\n"
    )
    module = "accounts.management.commands.issue_token"
    path = "accounts/management/commands/issue_token.py"
    assert analyze_text(source, path, module, False, PLAN).findings == []
    assert len(analyze_text(source, "accounts/views.py", "accounts.views", False, PLAN).findings) == 1


def test_test_code_is_not_reported() -> None:
    source = "import logging\n\ndef test_x(token):\n    logging.info('token %s', token)\n"
    assert analyze_text(source, "tests/test_x.py", "tests.test_x", False, PLAN).findings == []
    assert len(analyze_text(source, "app/x.py", "app.x", False, PLAN).findings) == 1


@pytest.mark.parametrize(
    ("name", "kind"),
    [("password", "password"), ("api_key", "key"), ("user_otp", "one-time code"), ("card_number", "card number"),
     ("cvv", "card code"), ("next_token", None), ("orm_token", None), ("token_type", None), ("username", None)],
)
def test_credential_name(name: str, kind: str | None) -> None:
    assert credential_name(name) == kind


def test_messages() -> None:
    assert only_message("""
        import logging

        def login(password):
            logging.info("login with %s", password)
    """) == (
        "`password` (a password) is written to the log by `logging.info()`: log an identifier, a masked form or "
        "nothing; logs are kept, shipped and read by many"
    )
    assert only_message("""
        import logging

        def view(request):
            auth = request.headers["Authorization"]
            logging.info("auth %s", auth)
    """).startswith("`auth` (it holds the `Authorization` header) is written to the log")
    assert only_message("""
        from django.http import HttpResponse

        def view(request):
            print(request.POST)
    """).startswith("The whole `request.POST` is written to the log by `print()` in server code")


def test_suppression_comment() -> None:
    result = analyze_source("""
        import logging

        def login(password):
            logging.debug("pw %s", password)  # reviewer: ignore[RV304]
    """, PLAN)
    assert result.findings == []


MARK = re.compile(r"#\s*reported\s+RV304\b")


def test_fixture_project_reports_exactly_the_marked_lines() -> None:
    sources, _ = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(FIXTURE), jobs=1)
    assert result.notices == []
    expected = {
        (source.rel, number)
        for source in sources
        for number, line in enumerate((FIXTURE / source.rel).read_text().splitlines(), 1)
        if MARK.search(line)
    }
    assert len(expected) >= 10
    assert {(finding.path, finding.span.line) for finding in result.findings} == expected
