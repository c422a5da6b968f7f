"""What a name says about the value it holds: is it a password, a secret, a token, a key?

Shared by the rules that care where credentials go (hardcoded, stored in plain text, logged). A name is split
into words (``dbPassword``, ``DB_PASSWORD``, ``db-password``, ``settings.DB_PASSWORD`` all give ``db password``)
and is sensitive when its *last* word is a credential word, or a credential phrase ends it (``api key``,
``private key``). A word after the credential word usually says the name holds something *about* the credential
rather than the credential itself: ``token_type``, ``password_reset_url``, ``secret_name``, ``api_key_header``.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

SensitiveKind = Literal["password", "secret", "token", "key", "credentials"]

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

_KIND_OF_WORD: dict[str, SensitiveKind] = {
    "password": "password",
    "passwd": "password",
    "pwd": "password",
    "pass": "password",
    "passphrase": "password",
    "pw": "password",
    "secret": "secret",
    "token": "token",
    "credentials": "credentials",
    "credential": "credentials",
    "creds": "credentials",
    "apikey": "key",
    "passkey": "key",
    "privkey": "key",
}

# Words that make the word before them a credential key: "api key", "secret key", "private key"...
_KEY_QUALIFIERS = frozenset(
    {"api", "access", "secret", "private", "signing", "encryption", "master", "client", "app", "auth", "license",
     "account", "service", "session", "hmac", "jwt", "fernet", "aes", "crypt"}
)

# A trailing word that keeps the name sensitive: ``password_value``, ``token_str``, ``secret_b64``.
_NEUTRAL_SUFFIXES = frozenset({"value", "str", "string", "raw", "plain", "plaintext", "text", "b64", "base64",
                               "hex", "bytes", "literal", "s"})

# A word before the credential word saying the value is no longer the credential: ``hashed_password``.
_TRANSFORMED = frozenset({"hashed", "hash", "encrypted", "salted", "digest", "masked", "redacted", "obfuscated"})

# Single words that are never worth a finding, even though they end in a credential word.
_NOT_SENSITIVE_WORDS = frozenset({"bypass", "compass", "surpass", "overpass", "underpass", "trespass"})


def name_words(name: str) -> tuple[str, ...]:
    """Lower-case words of an identifier or dotted/keyed name: ``getAPIKey`` -> ``("get", "api", "key")``."""
    return tuple(word.lower() for word in _WORD.findall(name))


@functools.lru_cache(maxsize=4096)
def sensitive_kind(name: str) -> SensitiveKind | None:
    """What credential ``name`` holds, or None when it holds none (or something about one: a type, a URL)."""
    if name.lower() in _NOT_SENSITIVE_WORDS:
        return None
    words = list(name_words(name))
    while len(words) > 1 and words[-1] in _NEUTRAL_SUFFIXES:
        words.pop()
    if not words:
        return None
    last = words[-1]
    if len(words) > 1 and words[-2] in _TRANSFORMED:
        return None
    if last in _KIND_OF_WORD:
        # "pass" and "pw" alone are too often something else (a no-op, a width); they need a qualifier.
        if last in {"pass", "pw"} and (len(words) == 1 or words[-2] not in {"db", "user", "admin", "root", "smtp",
                                                                             "mail", "email", "login", "ftp"}):
            return None
        return _KIND_OF_WORD[last]
    if last == "key" and len(words) > 1 and words[-2] in _KEY_QUALIFIERS:
        return "key"
    return None


def is_password_name(name: str) -> bool:
    return sensitive_kind(name) == "password"
