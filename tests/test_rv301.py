"""RV301 hardcoded-secret.

Small modules whose reported lines end with ``# reported`` run through the real engine with only RV301 enabled;
the fixture project ``fixtures/secrets_app`` is scanned whole, and through the CLI in every output format to prove
that no secret reaches any output.
"""

from __future__ import annotations

import ast
import functools
import io
import json
import re
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

import pytest
from conftest import assert_marked as assert_marked_with
from conftest import marked_lines, rule_plan
from conftest import only_message as single_message
from conftest import reported as reported_with

from reviewer.analysis import analyze_text
from reviewer.catalog import load_catalog
from reviewer.checks.secrets import (
    credential_like,
    find_format,
    github_checksum,
    is_wordlike,
)
from reviewer.config import ConfigError, Settings, check_options
from reviewer.discover import discover
from reviewer.engine import scan
from reviewer.plan import ScanPlan

FIXTURE = Path(__file__).parent / "fixtures" / "secrets_app"
PLAN = rule_plan("RV301")


def reported(source: str, plan: ScanPlan = PLAN) -> list[tuple[int, str]]:
    return reported_with(source, plan)


assert_marked = functools.partial(assert_marked_with, plan=PLAN)


def only_message(source: str) -> str:
    return single_message(source, PLAN)


# -- credential positions ------------------------------------------------------------------------------------------

POSITION_CASES = {
    "assignments": """
        import os
        SECRET_KEY = "kq9Z2mX7pL4vB8nW1cR5tY3"  # reported
        db_password: str = "Zr7kq2Lp9x!m"  # reported
        API_TOKEN = os.environ["API_TOKEN"]
        user, password = "svc", "Zr7kq2Lp9x!m"  # reported
        settings.STRIPE_SECRET = "Qm3vXz8kL2pW7rTb"  # reported
        config["DB_PASSWORD"] = "Zr7kq2Lp9x!m"  # reported
        os.environ["API_KEY"] = "Hy3mN8vQ1zXc6bLk"  # reported
        PUBLIC_KEY = "Hy3mN8vQ1zXc6bLk"
        primary_key = "Hy3mN8vQ1zXc6bLk"
    """,
    "flask": """
        from flask import Flask
        app = Flask(__name__)
        app.secret_key = "d65f65ad5fe74d2aa46e3b5618b68ed4"  # reported
        app.config["SECRET_KEY"] = "d65f65ad5fe74d2aa46e3b5618b68ed4"  # reported
        app.config.from_mapping(SECRET_KEY="d65f65ad5fe74d2aa46e3b5618b68ed4")  # reported
        app.config["SECRET_KEY"] = "dev"
    """,
    "keywords-and-dicts": """
        import psycopg2
        conn = psycopg2.connect(host="db", user="app", password="Zr7kq2Lp9x!m")  # reported
        client = Client(api_key="Hy3mN8vQ1zXc6bLk", region="eu-west-1")  # reported
        payload = {"client_id": "shop-web", "client_secret": "Wk4nB8xQ2vLz7pRt"}  # reported
        DATABASES = {"default": {"USER": "app", "PASSWORD": "Zr7kq2Lp9x!m"}}  # reported
        labels = {"password": "Password", "new_password": "New password"}
        widget = Input(attrs={"placeholder": "Zr7kq2Lp9x!m"})
    """,
    "defaults": """
        import os
        import environ
        env = environ.Env()
        def connect(host, password="Zr7kq2Lp9x!m", token=None):  # reported
            pass
        SECRET_KEY = os.environ.get("SECRET_KEY", "kq9Z2mX7pL4vB8nW1cR5tY3")  # reported
        SECRET_KEY = os.getenv("DJANGO_SECRET_KEY", "kq9Z2mX7pL4vB8nW1cR5tY3")  # reported
        SECRET_KEY = env("SECRET_KEY", default="kq9Z2mX7pL4vB8nW1cR5tY3")  # reported
        EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
        API_KEY = os.getenv("API_KEY", "changeme")
        TOKEN = os.getenv("TOKEN", "<your-token>")
        secret = getattr(settings, "WEBHOOK_SECRET", "Qm3vXz8kL2pW7rTb")  # reported
        value = request.POST.get("password", "")
    """,
    "comparisons": """
        def check(token, request):
            if token == "Rz8mQ2vXk5LpW9tB":  # reported
                return True
            if request.headers.get("X-Api-Key") != "Hy3mN8vQ1zXc6bLk":  # reported
                return False
            if token == "" or token == "null" or token == "Bearer":
                return False
            return token is not None
    """,
    "authorization-headers": """
        HEADERS = {"Authorization": "Bearer 0d3c1e9f7a2b4c6d8e0f1a3b5c7d9e2f"}  # reported
        OTHER = {"Authorization": "Bearer"}
        TEMPLATE = {"Authorization": "Bearer {token}"}
        BASIC = {"Authorization": "Basic %(credentials)s"}
        AUTH_HEADER = "Authorization"
    """,
    "signing-apis": """
        import hmac
        import jwt as pyjwt
        from itsdangerous import URLSafeTimedSerializer
        from itsdangerous.url_safe import URLSafeSerializer as Links
        from cryptography.fernet import Fernet
        from django.core import signing
        from requests.auth import HTTPBasicAuth
        import smtplib
        token = pyjwt.encode({"sub": 1}, "p9Xv2LmQ7zRt4kWc8nBy", algorithm="HS256")  # reported
        claims = pyjwt.decode(token, key="p9Xv2LmQ7zRt4kWc8nBy", algorithms=["HS256"])  # reported
        mac = hmac.new(b"Jq7vXz3mK9pLw2Rb", b"body", "sha256")  # reported
        mac = hmac.new("Jq7vXz3mK9pLw2Rb".encode(), b"body", "sha256")  # reported
        s1 = URLSafeTimedSerializer("a26e2a8b92bccc75b8c1371f4be579744cc2e8cb")  # reported
        s2 = Links(secret_key="a26e2a8b92bccc75b8c1371f4be579744cc2e8cb")  # reported
        f = Fernet(b"Ql7vXz3mK9pLw2RbQl7vXz3mK9pLw2RbQl7vXz3mK9o=")  # reported
        signed = signing.dumps({"a": 1}, key="Ql7vXz3mK9pLw2Rb")  # reported
        auth = HTTPBasicAuth("api", "Wk4nB8xQ2vLz7pRt")  # reported
        smtp = smtplib.SMTP("mail")
        smtp.login("alerts", "Wk4nB8xQ2vLz7pRt")  # reported
        token = pyjwt.encode({"sub": 1}, "secret", algorithm="HS256")
        other = encode({"sub": 1}, "p9Xv2LmQ7zRt4kWc8nBy")
    """,
    "implicit-concatenation-and-f-strings": """
        SECRET = (
            "Zr7kq2Lp9x"  # reported
            "3mWq8Zr7"
        )
        password = f"Zr7kq2Lp9x3mWq8"  # reported
        password = f"{prefix}Zr7kq2Lp9x3mWq8"
    """,
}


@pytest.mark.parametrize("name", list(POSITION_CASES))
def test_credential_positions(name: str) -> None:
    assert_marked(POSITION_CASES[name])


NOT_CREDENTIAL_CASES = {
    "names-about-credentials": """
        TOKEN_TYPE = "bearer"
        token_type = "Bearer"
        PASSWORD_RESET_URL = "/accounts/password/reset/"
        API_KEY_HEADER = "X-API-Key"
        SECRET_NAME = "prod/db/password"
        password_hash = "pbkdf2_sha256$600000$Zr7kq2Lp9x$Hy3mN8vQ1zXc6bLk"
        csrf_token_name = "csrfmiddlewaretoken"
    """,
    "values-derived-from-the-name-or-words": """
        token = "NextToken"
        api_key = "X-API-Key"
        password = "password"
        password = "Password123"
        password = "p@ssw0rd!"
        SECRET_KEY = "my-secret-key"
        SECRET_KEY = "dev"
        secret = "refresh_token"
        password = "hunter22"
        auth_token = "access_token"
        credentials = "service-account.json"
        private_key = "keys/private.pem"
        token = "django.contrib.auth.tokens.PasswordResetTokenGenerator"
    """,
    "placeholders": """
        password = ""
        password = "changeme"
        password = "<your-password>"
        api_key = "xxxxxxxxxxxxxxxx"
        api_key = "****************"
        api_key = "TODO: set me"
        SECRET_KEY = "${SECRET_KEY}"
        password = "%(password)s"
        password = "{password}"
        token = "your_token_here"
        SECRET_KEY = "insert-a-real-key"
        token = "1234567890abcdef"
        token = "aaaaaaaaaaaaaaaa"
        api_key = "12345678901234567890"
    """,
    "urls-and-paths": """
        token = "https://auth.example.com/oauth/token"
        TOKEN_ENDPOINT = "/o/token/"
        secret = "/run/secrets/db_password"
        private_key = "~/.ssh/id_ed25519"
    """,
    "messages": """
        error = {"password": "The two password fields didn't match."}
        raise ValueError(password="Your password must contain at least 8 characters.")
    """,
}


@pytest.mark.parametrize("name", list(NOT_CREDENTIAL_CASES))
def test_not_credentials(name: str) -> None:
    assert reported(NOT_CREDENTIAL_CASES[name]) == []


# -- value formats ------------------------------------------------------------------------------------------------

# Tokens made for these tests in the providers' formats (the GitHub ones with a valid checksum); never issued.
GITHUB_TOKEN = "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"

FORMAT_CASES = {
    "github": (f'note = "{GITHUB_TOKEN}"', "GitHub token"),
    "github-oauth": ('x = "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"', "GitHub token"),
    "github-fine-grained": (
        'x = "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"',
        "GitHub fine-grained token",
    ),
    "gitlab": ('x = "glpat-wmn408NbmyMKqeJCilfS"', "GitLab personal access token"),
    "slack": ('x = "xoxb-109432212542-7617946850557-FpyLIxeWCAu8UzX6D5Xw4Alw"', "Slack token"),
    "stripe": ('x = "sk_live_maqy6jG20yyo4rEJS4o4Cnz7"', "Stripe live key"),
    "google": ('x = "AIzalXIhA-bDjAxdLaCSze1oxVY3JbBpbxGHkUe"', "Google API key"),
    "sendgrid": ('x = "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"', "SendGrid API key"),
    "twilio": ('twilio_key = "SKeb3f796d440ba7db606acd3c489e1de9"', "Twilio key"),
    "openai": ('x = "sk-proj-al9DmGLvAGTTlZELzwaKT3BlbkFJYHnoqj0oBFjnP7Mn33GL"', "OpenAI API key"),
    "aws-id": ('x = "AKIAKO7CXYFGDPALAVQG"', "AWS access key id"),
    "dsn": ('x = "postgresql://shop:Zr7kq2Lp9x@db.internal:5432/shop"', "password in a URL"),
    "dsn-in-f-string": ('x = f"redis://:Zr7kq2Lp9x3m@{host}:6379/0"', "password in a URL"),
    "provider-key-in-docstring": ('"""Calls GitHub as 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."""', "GitHub token"),
}


@pytest.mark.parametrize("name", list(FORMAT_CASES))
def test_value_formats(name: str) -> None:
    source, label = FORMAT_CASES[name]
    assert f"hardcoded {label}" in only_message(source)


@pytest.mark.parametrize(
    "source",
    [
        # A classic GitHub token whose checksum does not match: an invented value.
        'x = "ghp_XVfrs4o1AQkA6tGKGac9dqJsfPo4oC2ZDXKD"',
        'x = "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
        'x = "AKIAIOSFODNN7EXAMPLE"',
        'x = "AIza1234567890abcdefghijklmnopqrstuvwxy"',
        'x = "sk_test_maqy6jG20yyo4rEJS4o4Cnz7"',
        'x = "postgresql://user:password@localhost/shop"',
        'x = "postgresql://postgres:postgres@db/shop"',
        'x = "amqp://guest:guest@rabbit:5672//"',
        'x = "postgresql://shop:${DB_PASSWORD}@db/shop"',
        'x = "postgresql://%s:%s@%s/%s"',
        'x = f"postgresql://{user}:{password}@{host}/shop"',
        'x = "https://api.github.com/repos/octo/hello"',
        'x = "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----"',
        # The jwt.io example token: an example's claims, not a credential.
        (
            'x = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2'
            'MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"'
        ),
        # An unsigned JWT is not a credential.
        'x = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJzdmMtYmlsbGluZyIsInNjb3BlIjoicGF5In0.c2lnbmF0dXJlZ29lc2hlcmU"',
    ],
)
def test_fake_and_template_values_are_not_reported(source: str) -> None:
    assert reported(source) == []


DOCUMENTATION = """
    def connect(url):
        \"\"\"Connect, e.g. ``connect("postgresql://shop:Zr7kq2Lp9x@db.internal/shop")``.\"\"\"

    RESPONSES = {200: {"content": {"application/json": {"example": {
        "access_token": "eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAic3ZjLWJpbGxpbmciLCAic2NvcGUiOiAicGF5bWVudHM6d3JpdGUiLCAiaWF0IjogMTcxNzAwMDAwMH0.QQyRu6DbHAfGtcp124qDGTrFuuTskFabsY2jIJNTbq8",
        "password": "Zr7kq2Lp9x!m",
    }}}}}
    class Login(BaseModel):
        password: str = Field(examples=["Zr7kq2Lp9x!m"])
    after = {"password": "Zr7kq2Lp9x!m"}  # reported
"""


def test_documentation_examples_are_fixtures() -> None:
    assert_marked(DOCUMENTATION)


SAMPLES = f"""
    PLACEHOLDERS = [
        ButtonPlaceholder(
            "url",
            url_func=lambda order: reverse("order", kwargs={{"secret": order.secret}}),
            sample_url_func=lambda event: reverse("order", kwargs={{"secret": "6zzjnumtsx136ddy"}}),
        ),
        TextPlaceholder("orders", render, lambda event: [{{"code": "F8VVL", "secret": "98kusd8ofsj8dnkd"}}]),
        SamplePlaceholder("token", lambda event: {{"token": "{GITHUB_TOKEN}"}}),  # reported
    ]
    fake = FakeUser(password="Zr7kq2Lp9x!m")
    mock_session = make_session(dummy_token="Zr7kq2Lp9x!m", token="Tq8wLm3Zr5Kx9pVd")  # reported
    order = {{"code": "F8VVL", "secret": "6zzjnumtsx136ddy"}}  # reported
"""


def test_values_under_names_that_say_they_are_made_up_are_fixtures() -> None:
    """Sample data for previews and fakes: only provider keys count there, and only inside the made-up part."""
    assert_marked(SAMPLES)


def test_github_checksum_matches_a_published_token() -> None:
    # A revoked token published with the description of the format (github.blog, April 2021, and gists after it).
    assert github_checksum("zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ") == "0mLq17"


def test_aws_secret_key_counts_only_next_to_an_access_key_id() -> None:
    assert_marked("""
        conf = {
            "id": "AKIAKO7CXYFGDPALAVQG",  # reported
            "key": "zQJF+iMdet3ehyxEMzA1A/eUiWWJzmfOWV611WqO",  # reported
        }
        a = 1
        b = 2
        c = 3
        d = 4
        late = "zQJF+iMdet3ehyxEMzA1A/eUiWWJzmfOWV611WqO"
    """)
    assert reported('alone = "zQJF+iMdet3ehyxEMzA1A/eUiWWJzmfOWV611WqO"\n') == []


def test_a_literal_is_reported_once_with_its_format_and_position() -> None:
    message = only_message(f'GITHUB_TOKEN = "{GITHUB_TOKEN}"')
    assert message.startswith("hardcoded GitHub token assigned to `GITHUB_TOKEN`: revoke it")


def test_django_development_key_is_reported_with_an_explanation() -> None:
    message = only_message('SECRET_KEY = "django-insecure-qr2it4fhna*h59vtyxqqxk5gox+(=c3^xvtq^s##4k=lyo*5+s"')
    assert "Django's development key" in message


def test_suppression_comment() -> None:
    assert reported('SECRET_KEY = "kq9Z2mX7pL4vB8nW1cR5tY3"  # reviewer: ignore[RV301]\n') == []


# -- test code -----------------------------------------------------------------------------------------------------

TEST_CODE = f"""
PASSWORD = "Xq9vL2mZ7kRt4wBc"
DSN = "postgresql://shop:Xq9vL2mZ7kRt4wBc@localhost/shop_test"
KEY = "-----BEGIN RSA PRIVATE KEY-----\\n{"QUJD" * 20}\\n-----END RSA PRIVATE KEY-----\\n"
LEAKED = "{GITHUB_TOKEN}"
"""


def findings_in(path: str, source: str, plan: ScanPlan = PLAN) -> list[int]:
    module = path.removesuffix(".py").replace("/", ".")
    result = analyze_text(textwrap.dedent(source), path, module, False, plan)
    return [finding.span.line for finding in result.findings]


@pytest.mark.parametrize("path", ["tests/test_api.py", "app/tests/factories.py", "conftest.py", "api_test.py"])
def test_in_test_code_only_provider_keys_are_reported(path: str) -> None:
    assert findings_in(path, TEST_CODE) == [5]


def test_outside_test_code_everything_is_reported() -> None:
    assert findings_in("app/fixtures_loader.py", TEST_CODE) == [2, 3, 4, 5]


def test_test_paths_option() -> None:
    plan = rule_plan("RV301", {"test-paths": ["qa/"]})
    assert findings_in("qa/test_api.py", TEST_CODE, plan) == [5]
    assert findings_in("tests/test_api.py", TEST_CODE, plan) == [2, 3, 4, 5]
    everywhere = rule_plan("RV301", {"test-paths": []})
    assert findings_in("tests/test_api.py", TEST_CODE, everywhere) == [2, 3, 4, 5]


def test_bad_test_paths_option_is_a_configuration_error() -> None:
    settings = Settings(select=["RV301"], rules={"RV301": {"test-paths": "tests/"}})
    with pytest.raises(ConfigError, match="test-paths"):
        check_options(settings, load_catalog())


# -- value filters ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("NextToken", True), ("X-API-Key", True), ("refresh_token", True), ("hunter22", True),
        ("django.contrib.auth.backends.ModelBackend", True), ("service-account.json", True), ("v1", True),
        ("xKjQpLmNvBcX", False), ("Zr7kq2Lp9x", False), ("d65f65ad5fe74d2aa46e3b5618b68ed4", False),
    ],
)
def test_is_wordlike(value: str, expected: bool) -> None:
    assert is_wordlike(value) is expected


@pytest.mark.parametrize(
    ("value", "name", "expected"),
    [
        ("Zr7kq2Lp9x!m", "password", True),
        ("d65f65ad5fe74d2aa46e3b5618b68ed4", "SECRET_KEY", True),
        ("short7!", "password", False),
        ("apiKey2024", "API_KEY", False),
        ("s3cr3t-k3y!", "SECRET_KEY", False),
        ("with space 123!", "password", False),
        ("9999999999", "pin_password", False),
    ],
)
def test_credential_like(value: str, name: str, expected: bool) -> None:
    assert credential_like(value, name) is expected


def test_find_format_returns_the_matching_text_only() -> None:
    found = find_format(f"Authorization: token {GITHUB_TOKEN} (rotated monthly)")
    assert found is not None and found.secret == GITHUB_TOKEN


# -- the fixture project -------------------------------------------------------------------------------------------


def fixture_marked_lines() -> list[tuple[str, int]]:
    return sorted(
        (path.relative_to(FIXTURE).as_posix(), line)
        for path in FIXTURE.rglob("*.py")
        for line in marked_lines(path.read_text(encoding="utf-8"))
    )


def test_fixture_project() -> None:
    sources, _ = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(FIXTURE), jobs=1)
    assert result.notices == []
    assert sorted((finding.path, finding.span.line) for finding in result.findings) == fixture_marked_lines()


def fixture_secrets() -> set[str]:
    """Every string literal starting on a reported line of the fixture, with the rest of its implicit
    concatenation (a PEM block), as written and as evaluated."""
    found: set[str] = set()
    for path in FIXTURE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        lines = set(marked_lines(text))
        continues = False
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.NL, tokenize.COMMENT):
                continue
            continues = token.type == tokenize.STRING and (continues or token.start[0] in lines)
            if continues:
                raw = re.sub(r"^[a-zA-Z]*(['\"])\1?\1?|(['\"])\2?\2?$", "", token.string)
                value = ast.literal_eval(token.string)
                found |= {raw, value.decode() if isinstance(value, bytes) else value}
    return {secret for secret in found if len(secret) >= 12}


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "github"])
def test_no_output_format_shows_a_secret(output_format: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "reviewer", "scan", str(FIXTURE), "--select", "RV301", "--no-progress",
         "--format", output_format],
        capture_output=True, text=True, check=False, cwd=FIXTURE,
    )
    output = completed.stdout + completed.stderr
    assert "RV301" in output, output
    if output_format == "json":
        assert len(json.loads(completed.stdout)["findings"]) == len(fixture_marked_lines())
    secrets = fixture_secrets()
    assert len(secrets) >= 20
    for secret in secrets:
        # Not the value, nor any part of it past the prefix a redacted form may show (words such as the "services"
        # of a webhook URL are also in file names).
        pieces = {secret[start : start + 8] for start in range(4, len(secret) - 7)}
        pieces = {piece for piece in pieces if not is_wordlike(piece)}
        leaked = sorted(piece for piece in pieces if piece in output)
        assert not leaked, (secret[:4], leaked)


def test_test_code_without_a_provider_prefix_is_not_parsed() -> None:
    from reviewer.checks.secrets import HardcodedSecret

    options = PLAN.options["RV301"]
    assert not HardcodedSecret.may_apply('password = "hunter2hunter2"\n', "tests/test_login.py", options)
    assert HardcodedSecret.may_apply('KEY = "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"\n', "tests/test_x.py", options)
    assert HardcodedSecret.may_apply('password = "hunter2hunter2"\n', "app/login.py", options)
