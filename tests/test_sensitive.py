from __future__ import annotations

import pytest

from reviewer.checks.sensitive import is_password_name, name_words, sensitive_kind


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("DB_PASSWORD", "password"),
        ("dbPassword", "password"),
        ("db-passwd", "password"),
        ("db_pass", "password"),
        ("password_value", "password"),
        ("client_secret", "secret"),
        ("auth_token", "token"),
        ("API_KEY", "key"),
        ("getAPIKey", "key"),
        ("settings.SECRET_KEY", "key"),
        ("AWS_SECRET_ACCESS_KEY", "key"),
        ("credentials", "credentials"),
        # Names about a credential, not holding one.
        ("password_reset_url", None),
        ("token_type", None),
        ("api_key_header", None),
        ("secret_name", None),
        ("password_hash", None),
        ("hashed_password", None),
        ("primary_key", None),
        ("foreign_key", None),
        ("bypass", None),
        ("pass", None),
        ("pw", None),
        ("", None),
    ],
)
def test_sensitive_kind(name: str, kind: str | None) -> None:
    assert sensitive_kind(name) == kind


def test_name_words() -> None:
    assert name_words("getAPIKey") == ("get", "api", "key")
    assert name_words("config['DB_PASSWORD']") == ("config", "db", "password")


def test_is_password_name() -> None:
    assert is_password_name("user_password")
    assert not is_password_name("user_token")
