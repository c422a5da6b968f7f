"""RV402 missing-timeout.

Small modules whose reported lines end with ``# reported``, run through the real engine with only RV402 enabled;
the fixture ``http_app`` marks the lines the rule reports with ``# RV402``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import fixture_lines, marked_lines, reported, rule_plan

from reviewer.discover import discover
from reviewer.engine import scan

PLAN = rule_plan("RV402")
FIXTURE = Path(__file__).parent / "fixtures" / "http_app"


def lines(source: str) -> list[int]:
    return [line for line, _ in reported(source, PLAN)]


CASES = {
    "requests-functions-and-aliases": """
        import requests
        import requests as r
        from requests import get, request

        def f(url):
            requests.get(url)  # reported
            r.post(url, json={})  # reported
            get(url, params={"q": 1})  # reported
            request("PUT", url)  # reported
            requests.delete(url, timeout=5)
            requests.head(url, timeout=(3, 10))
            requests.options(url, timeout=None)  # reported
    """,
    "sessions-bound-to-names-with-targets-and-self": """
        import requests

        class Client:
            def __init__(self):
                self.session = requests.Session()

            def fetch(self, url):
                return self.session.get(url)  # reported

            def send(self, prepared):
                return self.session.send(prepared, timeout=4)

        def f(url):
            session = requests.session()
            session.get(url)  # reported
            with requests.Session() as s:
                s.post(url, data=b"")  # reported
                s.request("GET", url, None, None, None, None, None, None, 10)
    """,
    "kwargs-may-carry-the-timeout": """
        import requests

        def f(url, *args, **kwargs):
            requests.get(url, **kwargs)
            requests.get(url, *args)
            requests.Session().post(url, **{"timeout": 3})
    """,
    "project-session-subclass-is-not-requests": """
        import requests
        from myapp.http import TimeoutSession

        class DefaultTimeoutSession(requests.Session):
            def request(self, *args, **kwargs):
                kwargs.setdefault("timeout", 10)
                return super().request(*args, **kwargs)

        def f(url):
            DefaultTimeoutSession().get(url)
            TimeoutSession().get(url)
    """,
    "mounted-adapters-and-replaced-request": """
        import functools

        import requests
        from requests.adapters import HTTPAdapter
        from myapp.http import TimeoutAdapter

        def f(url):
            custom = requests.Session()
            custom.mount("https://", TimeoutAdapter(timeout=5))
            custom.get(url)
            plain = requests.Session()
            plain.mount("https://", HTTPAdapter(max_retries=3))
            plain.get(url)  # reported
            patched = requests.Session()
            patched.request = functools.partial(patched.request, timeout=5)
            patched.get(url)
    """,
    "oauth-sessions-subclass-requests": """
        from requests_oauthlib import OAuth2Session

        def f(client_id, token_url):
            oauth = OAuth2Session(client_id)
            return oauth.fetch_token(token_url), oauth.get(token_url)  # reported
    """,
    "stdlib-positional-timeouts": """
        import ftplib
        import http.client
        import imaplib
        import poplib
        import smtplib
        import socket
        from urllib.request import urlopen

        def f(url, host):
            urlopen(url)  # reported
            urlopen(url, None, 5)
            urlopen(url, timeout=5)
            http.client.HTTPConnection(host)  # reported
            http.client.HTTPConnection(host, 80, 5)
            http.client.HTTPSConnection(host, 443)  # reported
            http.client.HTTPSConnection(host, timeout=5)
            smtplib.SMTP(host, 25)  # reported
            smtplib.SMTP(host, 25, None, 10)
            smtplib.SMTP_SSL(host)  # reported
            ftplib.FTP(host)  # reported
            ftplib.FTP_TLS(host, timeout=10)
            imaplib.IMAP4(host, 143, 10)
            imaplib.IMAP4_SSL(host)  # reported
            poplib.POP3(host)  # reported
            socket.create_connection((host, 80))  # reported
            socket.create_connection((host, 80), 3)
            socket.create_connection((host, 80), timeout=None)  # reported
    """,
    "httpx-defaults-to-five-seconds": """
        import httpx

        async def f(url):
            httpx.get(url)
            httpx.post(url, timeout=None)  # reported
            with httpx.Client() as client:
                client.get(url)
                client.get(url, timeout=None)  # reported
            async with httpx.AsyncClient(timeout=None) as client:  # reported
                await client.get(url)
            httpx.Client(timeout=httpx.Timeout(None))  # reported
            httpx.Client(timeout=httpx.Timeout(timeout=None))  # reported
            httpx.Client(timeout=httpx.Timeout(10.0))
            httpx.Client(timeout=httpx.Timeout(None, read=30.0))
    """,
    "aiohttp-timeouts": """
        import aiohttp
        from aiohttp import ClientTimeout

        async def f(url):
            async with aiohttp.ClientSession() as session:
                await session.get(url)
            aiohttp.ClientSession(timeout=None)
            aiohttp.ClientTimeout()  # reported
            ClientTimeout(total=None)  # reported
            ClientTimeout(total=None, ceil_threshold=5)  # reported
            ClientTimeout(total=None, sock_connect=5, sock_read=30)
            ClientTimeout(total=60)
    """,
    "names-that-only-look-like-clients": """
        def f(requests, session, url):
            requests.get(url)
            session.get(url)

        def g(cache, url):
            cache.get(url)
    """,
}


@pytest.mark.parametrize("name", list(CASES))
def test_cases(name: str) -> None:
    source = CASES[name]
    assert lines(source) == marked_lines(source)


def test_message_names_the_call_and_how_it_resolved() -> None:
    [(_, message)] = reported(
        """
        import requests

        def f(url):
            client = requests.Session()
            client.get(url)
        """,
        PLAN,
    )
    assert message.startswith("`client.get()` (`requests.Session().get`) has no timeout")
    assert "pass `timeout=`" in message


def test_explicit_none_message() -> None:
    [(_, message)] = reported("import httpx\nhttpx.get('u', timeout=None)\n", PLAN)
    assert "`timeout=None`" in message


def fixture_markers(rule_id: str) -> list[tuple[str, int]]:
    return fixture_lines(FIXTURE, rf"#\s*{rule_id}\b")

def test_fixture_project() -> None:
    sources, _ = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(FIXTURE), jobs=1)
    assert result.notices == []
    expected = fixture_markers("RV402")
    assert len(expected) >= 12
    assert sorted((finding.path, finding.span.line) for finding in result.findings) == expected
