"""RV302 plaintext-password.

Cases are small modules whose reported lines end with ``# reported``; the real engine runs with only RV302
enabled. The ``auth_app`` fixture project marks its lines ``# reported RV302``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from conftest import analyze_source, marked_lines, reported, rule_plan
from conftest import assert_marked as assert_marked_with
from conftest import only_message as single_message

from reviewer.analysis import analyze_text
from reviewer.checks.passwords import is_password_column
from reviewer.discover import discover
from reviewer.engine import scan

FIXTURE = Path(__file__).parent / "fixtures" / "auth_app"
PLAN = rule_plan("RV302")


assert_marked = functools.partial(assert_marked_with, plan=PLAN)


def only_message(source: str) -> str:
    return single_message(source, PLAN)


CASES = {
    "django-attribute-and-manager": """
        from django.contrib.auth.models import User

        def register(request):
            password = request.POST["password"]
            user = User.objects.create(username="a", password=password)  # reported
            user.password = password  # reported
            User.objects.filter(pk=user.pk).update(password=password)  # reported
            User.objects.get_or_create(username="b", defaults={"password": password})  # reported
            User.objects.create_user(username="c", password=password)
            user.set_password(password)
    """,
    "get-user-model-constructor": """
        from django.contrib.auth import get_user_model

        User = get_user_model()

        def register(data):
            User(username=data["username"], password=data["password"]).save()  # reported
            get_user_model()(username="x", password=data["password"]).save()  # reported
    """,
    "hashed-through-locals": """
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import make_password

        User = get_user_model()

        def register(request):
            raw = request.POST.get("password")
            hashed = make_password(raw)
            User(username="a", password=hashed).save()
            password = request.POST["password"]
            password = make_password(password)
            User.objects.create(username="b", password=password)
            pw = request.POST["password"]
            User.objects.create(username="c", password=pw)  # reported
    """,
    "unusable-and-literal-passwords": """
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import make_password

        User = get_user_model()

        def invite(email):
            User.objects.create(email=email, password="")
            User.objects.create(email=email, password=None)
            User(email=email, password=make_password(None)).save()
            password = None
            User.objects.create(email=email, password=password)
    """,
    "project-hashing-helpers": """
        from accounts.models import User
        from accounts.security import get_password_hash, hash_password

        def register(password):
            User.objects.create(email="a", password=get_password_hash(password))
            User.objects.create(email="b", password=hash_password(password))
            encrypted = encrypt(password)
            User.objects.create(email="c", password=encrypted)
            maybe = make_password(password) if password else None
            User.objects.create(email="d", password=maybe)
    """,
    "copying-a-stored-hash": """
        from accounts.models import User

        def clone(pk):
            source = User.objects.get(pk=pk)
            copy = User.objects.create(username="copy", password=source.password)
            copy.password = source.password
            other = User.objects.get(pk=pk + 1)
            other.password = copy.password
    """,
    "wtforms-and-pydantic-sources": """
        from django.contrib.auth import get_user_model

        User = get_user_model()

        def register(form, user_in):
            user = User.objects.create(email=form.email.data, password=form.password.data)  # reported
            user.password = user_in.password  # reported
    """,
    "models-not-holding-accounts": """
        from mail.models import MailServer, Connection

        def configure(request):
            server = MailServer.objects.create(host="h", password=request.POST["password"])
            server.password = request.POST["password"]
            Connection(conn_id="db", password=request.POST["password"]).save()
    """,
    "fresh-random-password": """
        import secrets
        from accounts.models import User

        def invite(email):
            password = secrets.token_urlsafe(12)
            User.objects.create(email=email, password=password)  # reported
            return password
    """,
    "getpass": """
        import getpass
        from accounts.models import User

        def create_admin():
            User.objects.create(username="admin", password=getpass.getpass())  # reported
    """,
    "session-cookie-cache": """
        from django.core.cache import cache
        from flask import session

        def remember(request, response, password):
            request.session["password"] = password  # reported
            session["pw"] = password  # reported
            session["user_id"] = 1
            request.session["has_password"] = password is not None
            response.set_cookie("pw", password)  # reported
            response.set_cookie("theme", "dark")
            cache.set("pw:1", password, 60)  # reported
            cache.set("user:1", request.user.pk, 60)
    """,
    "fast-hashes": """
        import hashlib
        from hashlib import md5

        def hash_password(password):
            return hashlib.sha256(password.encode()).hexdigest()  # reported

        def register(user, password, salt):
            user.password_hash = md5((salt + password).encode()).hexdigest()  # reported
            hashed = hashlib.sha1(password.encode("utf-8")).hexdigest()  # reported
            token_digest = hashlib.sha256(user.reset_token.encode()).hexdigest()
            safe = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 600_000)
            return hashed, token_digest, safe

        def check(user, password):
            return hashlib.md5(password.encode()).hexdigest() == user.password_hash  # reported
    """,
    "fast-hash-for-a-protocol": """
        import hashlib
        import requests

        def pwned_count(password):
            sha1 = hashlib.sha1(password.encode("utf8")).hexdigest().upper()
            body = requests.get(f"https://api.pwnedpasswords.com/range/{sha1[:5]}", timeout=5).text
            return sha1[5:] in body
    """,
    "comparisons": """
        from django.conf import settings

        def login(user, password, form):
            if user.password == password:  # reported
                return True
            if password != settings.ADMIN_PASSWORD:  # reported
                return False
            if form.cleaned_data["password1"] != form.cleaned_data["password2"]:
                return False
            if password == "":
                return False
            if user.password is None or user.password == "":
                return False
            return user.password == other_user.password
    """,
    "confirmation-in-forms": """
        from django import forms

        class SignupForm(forms.Form):
            password = forms.CharField(widget=forms.PasswordInput)
            password_confirm = forms.CharField(widget=forms.PasswordInput)

            def clean(self):
                data = super().clean()
                if data.get("password") != data.get("password_confirm"):
                    raise forms.ValidationError("mismatch")
                return data
    """,
    "model-method-compares-stored": """
        from django.contrib.auth.models import AbstractBaseUser

        class Member(AbstractBaseUser):
            def legacy_check(self, raw_password):
                return self.password == raw_password  # reported
    """,
    "sqlalchemy-core": """
        from sqlalchemy import insert, update
        from passlib.context import CryptContext

        context = CryptContext(schemes=["argon2"])

        def save(conn, users, login, password):
            conn.execute(insert(users).values(login=login, password=password))  # reported
            conn.execute(users.update().where(users.c.login == login).values(passwd=password))  # reported
            conn.execute(insert(users).values(login=login, password=context.hash(password)))
            conn.execute(insert(users).values(login=login, password_hash=password))
    """,
    "raw-sql": """
        def save(cursor, login, password, password_hash):
            cursor.execute("INSERT INTO users (login, password) VALUES (%s, %s)", (login, password))  # reported
            cursor.execute("INSERT INTO users (login, password) VALUES (%s, %s)", (login, password_hash))
            query = "UPDATE users SET pwd = %(pwd)s WHERE login = %(login)s"
            cursor.execute(query, {"pwd": password, "login": login})  # reported
            cursor.execute("UPDATE users SET last_login = now() WHERE login = %s", (login,))
            cursor.execute(f"UPDATE users SET password = '{password}' WHERE login = 'x'")  # reported
    """,
    "sqlalchemy-orm-persisted-with-add": """
        from sqlalchemy import Column, Integer, String
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        from app.db import session


        class Base(DeclarativeBase):
            pass


        class Account(Base):
            __tablename__ = "accounts"
            id = Column(Integer, primary_key=True)
            password = Column(String(200))


        class Customer(Base):
            __tablename__ = "customers"
            id: Mapped[int] = mapped_column(primary_key=True)
            password: Mapped[str] = mapped_column(String(200))


        def register(data):
            account = Account(password=data["password"])  # reported
            session.add(account)
            session.add(Customer(password=data["password"]))  # reported
            draft = Account(password=data["password"])
            return draft


        def reset(account, new_password):
            account.password = new_password  # reported
    """,
    "sqlalchemy-password-property-that-hashes": """
        from sqlalchemy import Column, Integer, String
        from sqlalchemy.orm import synonym
        from werkzeug.security import generate_password_hash

        from app.db import Base, session
        from app.models import Member


        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)
            _password = Column("password", String(200))

            @property
            def password(self):
                return self._password

            @password.setter
            def password(self, value):
                self._password = generate_password_hash(value)


        class Admin(Base):
            __tablename__ = "admins"
            id = Column(Integer, primary_key=True)
            _password = Column("password", String(200))
            password = synonym("_password")


        def register(data, user):
            session.add(User(password=data["password"]))
            session.add(Member(password=data["password"]))
            user.password = data["new_password"]
    """,
    "base64-is-not-a-hash": """
        import base64
        from accounts.models import User

        def register(email, password):
            encoded = base64.b64encode(password.encode()).decode()
            User.objects.create(email=email, password=encoded)  # reported
            header = base64.b64encode(f"{email}:{password}".encode()).decode()
            return {"Authorization": f"Basic {header}"}
    """,
}


@pytest.mark.parametrize("source", CASES.values(), ids=CASES.keys())
def test_cases(source: str) -> None:
    assert_marked(source)


def test_django_constructor_needs_the_project_to_confirm_a_model() -> None:
    source = """
        from accounts.models import User

        def register(data):
            User(username=data["username"], password=data["password"]).save()
    """
    assert reported(source, PLAN) == []


def test_django_constructor_confirmed_by_the_model_in_the_same_file() -> None:
    assert_marked("""
        from django.contrib.auth.models import AbstractUser

        class User(AbstractUser):
            pass

        def register(data):
            User(username=data["username"], password=data["password"]).save()  # reported
    """)


def test_weak_hasher_first_in_settings() -> None:
    source = """
        PASSWORD_HASHERS = [
            "django.contrib.auth.hashers.SHA1PasswordHasher",  # reported
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        ]
    """
    result = analyze_text(source.replace("\n        ", "\n"), "config/settings.py", "config.settings", False, PLAN)
    assert [f.span.line for f in result.findings] == marked_lines(source)
    assert "SHA1PasswordHasher" in result.findings[0].message


@pytest.mark.parametrize(
    ("path", "module"),
    [("config/settings/test.py", "config.settings.test"), ("project/test_settings.py", "project.test_settings")],
)
def test_fast_hasher_in_test_settings_is_not_reported(path: str, module: str) -> None:
    source = 'PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]\n'
    assert analyze_text(source, path, module, False, PLAN).findings == []


def test_weak_hasher_later_in_the_list_is_not_reported() -> None:
    assert_marked("""
        PASSWORD_HASHERS = [
            "django.contrib.auth.hashers.Argon2PasswordHasher",
            "django.contrib.auth.hashers.MD5PasswordHasher",
        ]
    """)


def test_test_code_is_not_reported() -> None:
    source = (
        "from django.contrib.auth.models import User\n\n"
        "def register(password):\n"
        "    User.objects.create(username='a', password=password)\n"
    )
    assert analyze_text(source, "accounts/tests/test_login.py", "accounts.tests.test_login", False,
                        PLAN).findings == []
    assert len(analyze_text(source, "accounts/login.py", "accounts.login", False, PLAN).findings) == 1


@pytest.mark.parametrize(
    ("path", "expected"),
    [("tests/test_x.py", True), ("app/tests.py", True), ("app/conftest.py", True), ("app/views_test.py", True),
     ("app/testing/factories.py", True), ("app/views.py", False), ("app/contest.py", False),
     ("latest/views.py", False)],
)
def test_test_code_is_not_judged(path: str, expected: bool) -> None:
    assert (PLAN.rules_for(path) == []) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("password", True), ("password1", True), ("db_passwd", True), ("pwd", True), ("password_hash", False),
     ("hashed_password", False), ("password_reset_token", False), ("passport", False)],
)
def test_is_password_column(name: str, expected: bool) -> None:
    assert is_password_column(name) is expected


def test_messages() -> None:
    assert only_message("""
        from django.db import transaction

        def save(user, password):
            user.password = password
    """) == "Plain password stored in `user.password`: hash it with `set_password()` or `make_password()`"
    assert "base64 or hex is an encoding" in only_message("""
        import base64

        from django.db import transaction

        def save(user, password):
            user.password = base64.b64encode(password.encode())
    """)
    assert "fast hash" in only_message("""
        import hashlib

        def hash_password(password):
            return hashlib.md5(password.encode()).hexdigest()
    """)


def test_suppression_comment() -> None:
    result = analyze_source("""
        def save(user, password):
            user.password = password  # reviewer: ignore[RV302]
    """, PLAN)
    assert result.findings == []


MARK = re.compile(r"#\s*reported\s+RV302\b")


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
    assert len(expected) >= 15
    assert {(finding.path, finding.span.line) for finding in result.findings} == expected
