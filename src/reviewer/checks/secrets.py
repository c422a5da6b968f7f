"""RV301 hardcoded-secret: a credential written into the source as a string literal.

Two independent signals, each judged through the CST rather than the text of a line:

- **Where the literal goes.** A literal assigned to, passed as a keyword, defaulted to (parameter defaults,
  ``os.getenv("API_KEY", "...")``, ``Field(default=...)``), stored under a dict key of, or compared with a name
  that :func:`~reviewer.checks.sensitive.sensitive_kind` classifies as a credential; an ``Authorization`` value
  with a scheme (``"Bearer <token>"``); and signing keys handed to APIs whose argument *is* the key whatever the
  variable is called (``jwt.encode(payload, "...")``, ``hmac.new(b"...")``, itsdangerous serializers, ``Fernet``,
  ``HTTPBasicAuth(user, "...")``, ``smtp.login(user, "...")``), recognised by qualified name.
- **What the value is.** A literal anywhere whose value has a credential format with a recognisable prefix and a
  length or checksum rule (:data:`FORMATS`): cloud and SaaS keys, PEM private keys, JWTs, URLs with an inline
  password. A 40-character AWS secret access key has no prefix; it counts only within a few statements after an
  access key id.

A name alone is weak evidence, so a value in a credential position must also *look* like a credential
(:func:`credential_like`): not a placeholder (``changeme``, ``<key>``, ``${VAR}``, ``%(pw)s``), not derived from
the name (``token = "NextToken"``, ``api_key = "X-API-Key"``), not words or identifiers (enum-like values, header
and setting names, ``"hunter22"``-style words with a number), not a URL or file path, not low-entropy.

Test code and documentation are full of made-up credentials: in files matching the ``test-paths`` option, in
docstrings, under keys and keywords named as made up (``example``, ``sample_url``...) and in the arguments of
calls named so (``FakeUser(...)``), only the provider formats (keys a third party issued, validated by format and
checksum) are reported. Values of the known documentation
examples (``AKIAIOSFODNN7EXAMPLE``) and sequences (``123456``, ``xxxx``) are fake everywhere.

Findings never carry the secret: messages name the variable and the format, and the literal's source text and
value are passed to ``report(redact=...)`` so every output masks them.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
import warnings
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import libcst as cst
import pathspec

from reviewer.catalog import RuleSpec
from reviewer.checks.base import (
    Check,
    FileContext,
    dotted_name,
    last_name,
    pattern_to_regex,
    positional_arguments,
    shape,
    subscript_index,
)
from reviewer.checks.sensitive import name_words, sensitive_kind

# -- value filters --------------------------------------------------------------------------------------------------

# Text that marks a value as a stand-in for the real one: template syntax, instructions, well-known dummies, and
# the credential words themselves (``"my-secret"``, ``"password123"``: chosen by a human to say what goes there).
_PLACEHOLDER_MARKS = (
    r"change[-_ ]?(?:me|it|this)", "replace", r"your[-_ ]?", "<[^>]*>", r"\$\{", r"^\$[A-Za-z_]",
    r"%\(\w+\)", r"\{\w*\}", r"\{\{", "todo", "fixme", "tbd", "xxx", r"\*\*\*", r"\.\.\.", "…",
    "placeholder", "dummy", "example", "sample", "fake", "mock", "redacted", r"not[-_ ]?set", "insert", r"enter[-_ ]",
    "^none$", "^null$", "undefined", "default", "secret", "passw", "^pass", "test", "qwerty", "letmein", "admin",
    "foobar", "^foo", "^bar$", "lorem", "ipsum",
)
_PLACEHOLDER = re.compile("|".join(_PLACEHOLDER_MARKS), re.IGNORECASE)
# The same words written with digits and symbols for letters: ``p@ssw0rd``, ``s3cr3t``.
_LEET = str.maketrans("013457@$!", "oieastasi")
# Sequences and repetitions nobody generates at random.
_FAKE_SEQUENCE = re.compile(r"0123|1234|2345|3456|abcd|bcde|wxyz|(.)\1{5,}|EXAMPLE|example", re.IGNORECASE)
# Separators between the words of an identifier, path, header or setting name.
_SEPARATORS = re.compile(r"[\s\-_.:/\\@,;=+#|~]+")
# Words of a camelCase/PascalCase/UPPER/lower piece, as sensitive.name_words splits names.
_CAMEL_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_TRAILING_NUMBER = re.compile(r"\d{1,4}$")
_AUTH_SCHEME = re.compile(r"(?:bearer|token|basic|bot|jwt|digest|api-?key|key)\s+", re.IGNORECASE)

MIN_LENGTH = 8  # shorter values in a credential position are dev defaults ("dev", "root", "1234")
MIN_ENTROPY = 2.5  # bits per character; 8 distinct characters of 8 give 3


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    length = len(value)
    return -sum(count / length * math.log2(count / length) for count in Counter(value).values())


def _is_word_piece(piece: str) -> bool:
    """A piece of a value that reads as words: ``NextToken``, ``API``, ``hunter22``, ``2024``, ``v1``."""
    if piece.isdigit():
        return len(piece) <= 4
    letters = _TRAILING_NUMBER.sub("", piece)
    if not letters.isalpha():
        return False
    if not letters.isascii():
        return True  # natural-language text
    words = _CAMEL_WORD.findall(letters)
    # Random mixed case splits into many one- and two-letter "words": ``xKjQpLmN``.
    return "".join(words) == letters and (len(words) == 1 or len(letters) / len(words) >= 3)


def is_wordlike(value: str) -> bool:
    """Words, identifiers, dotted paths, header and setting names, file names: text a human wrote to be read."""
    return all(_is_word_piece(piece) for piece in _SEPARATORS.split(value) if piece)


def is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.search(value) or _PLACEHOLDER.search(value.lower().translate(_LEET)))


def looks_fake(value: str) -> bool:
    return bool(_FAKE_SEQUENCE.search(value))


def derived_from_name(value: str, name: str) -> bool:
    """``"NextToken"`` for ``token``, ``"apiKey123"`` for ``API_KEY``: the value spells the name."""
    letters = "".join(char for char in value.lower().translate(_LEET) if char.isalpha())
    return bool(letters) and letters in "".join(name_words(name))


def credential_like(value: str, name: str = "", *, min_length: int = MIN_LENGTH) -> bool:
    """Could ``value`` be a real credential (rather than a placeholder, a word, a path or a format string)?"""
    value = value.strip()
    if len(value) < min_length or any(char.isspace() for char in value):
        return False
    if value.isdigit() or value.startswith(("/", "./", "~/", "http://", "https://")):
        return False
    if is_wordlike(value) or is_placeholder(value) or looks_fake(value):
        return False
    if name and derived_from_name(value, name):
        return False
    return entropy(value) >= MIN_ENTROPY


# -- value formats --------------------------------------------------------------------------------------------------

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def github_checksum(entropy_part: str) -> str:
    """The last six characters of a GitHub token: CRC32 of the 30 random characters, in base62, zero-padded."""
    number = zlib.crc32(entropy_part.encode())
    digits = ""
    while number:
        number, remainder = divmod(number, 62)
        digits = _BASE62[remainder] + digits
    return digits.rjust(6, "0")


def _valid_github_token(token: str) -> bool:
    body = token[4:]
    return github_checksum(body[:-6]) == body[-6:]


def _b64url_json(part: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError):
        return None


def _valid_jwt(token: str) -> bool:
    """A signed JWT: the header is JSON naming a real algorithm, the claims are not an obvious example."""
    header, claims, _ = token.split(".")
    decoded = _b64url_json(header)
    if not isinstance(decoded, dict) or str(decoded.get("alg", "none")).lower() == "none":
        return False
    payload = _b64url_json(claims)
    return isinstance(payload, dict) and not re.search(
        r"example|test|john|jane|doe|1234567890|foo|bar", json.dumps(payload), re.IGNORECASE
    )


_PEM_BODY_LINE = re.compile(r"^[A-Za-z0-9+/=]+$")


def _valid_pem(block: str) -> bool:
    """A private key with a body: base64 lines (header fields such as ``Proc-Type:`` aside), not ``...``."""
    body = [line.strip() for line in block.splitlines()[1:-1] if line.strip() and ":" not in line]
    return bool(body) and all(_PEM_BODY_LINE.match(line) for line in body) and sum(map(len, body)) >= 64


_GENERIC_URL_PARTS = frozenset({"user", "username", "usr", "login", "name", "host", "hostname", "server", "domain"})
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<user>[^\s:/@'\"]*):(?P<password>[^\s@/'\"]+)@(?P<host>[^\s/:@'\"?#]+)",
    re.IGNORECASE,
)


def _url_password(match: re.Match[str]) -> bool:
    """A URL whose password part is a real one, not a template (``user:password@host``, ``${PASS}``, ``%s``)."""
    user, password, host = match["user"], match["password"], match["host"]
    if user.lower() in _GENERIC_URL_PARTS or host.split(".")[0].lower() in _GENERIC_URL_PARTS:
        return False
    if password.lower() in (user.lower(), match["scheme"].lower()):
        return False
    return credential_like(password, user, min_length=6)


@dataclass(frozen=True)
class SecretFormat:
    label: str
    pattern: re.Pattern[str]
    # Issued by a third party and validated by prefix, length or checksum: a leak even in test code. Keys a
    # project makes itself (PEM keys, JWTs, database URLs) are the fixtures of its tests.
    provider: bool = True
    valid: Callable[[re.Match[str]], bool] | None = None


def _whole(check: Callable[[str], bool]) -> Callable[[re.Match[str]], bool]:
    return lambda match: check(match[0])


_ALNUM = r"(?![A-Za-z0-9])"

FORMATS: tuple[SecretFormat, ...] = (
    SecretFormat("AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Z0-9])")),
    SecretFormat("GitHub token", re.compile(rf"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{{36}}{_ALNUM}"),
                 valid=_whole(_valid_github_token)),
    SecretFormat("GitHub fine-grained token", re.compile(rf"github_pat_[A-Za-z0-9]{{22}}_[A-Za-z0-9]{{59}}{_ALNUM}")),
    SecretFormat("GitLab personal access token", re.compile(r"glpat-[A-Za-z0-9_-]{20,}")),
    SecretFormat("Slack token", re.compile(r"xox[abposre]-(?:\d+-)+[A-Za-z0-9-]{8,}")),
    SecretFormat("Slack webhook URL",
                 re.compile(r"hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}")),
    SecretFormat("Stripe live key", re.compile(rf"(?<![A-Za-z0-9])[sr]k_live_[A-Za-z0-9]{{20,}}{_ALNUM}")),
    SecretFormat("Google API key", re.compile(r"(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])")),
    SecretFormat("SendGrid API key", re.compile(r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")),
    SecretFormat("Twilio key", re.compile(rf"(?<![A-Za-z0-9])(?:AC|SK)[0-9a-f]{{32}}{_ALNUM}")),
    SecretFormat("OpenAI API key",
                 re.compile(r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}")),
    SecretFormat("Anthropic API key", re.compile(r"sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,}")),
    SecretFormat("private key",
                 re.compile(r"-----BEGIN[A-Z ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END[A-Z ]*PRIVATE KEY(?: BLOCK)?-----"),
                 provider=False, valid=_whole(_valid_pem)),
    SecretFormat("JWT", re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}"),
                 provider=False, valid=_whole(_valid_jwt)),
    SecretFormat("password in a URL", _URL_CREDENTIALS, provider=False, valid=_url_password),
)

# One search that every format needs to pass first: most literals fail it at once.
_FORMAT_HINT = re.compile(
    r"AKIA|ASIA|gh[pousr]_|github_pat_|glpat-|xox|hooks\.slack|k_live_|AIza|SG\.|AC[0-9a-f]|SK[0-9a-f]|sk-|"
    r"PRIVATE KEY|eyJ|://"
)
# What a provider's key shows in any text holding one: in test code, the only findings possible.
_PROVIDER_HINT = re.compile(
    r"AKIA|ASIA|gh[pousr]_|github_pat_|glpat-|xox[abposre]-|hooks\.slack|[sr]k_live_|AIza|SG\.|"
    r"(?:AC|SK)[0-9a-f]{32}|T3BlbkFJ|sk-ant-"
)
_AWS_SECRET_KEY = re.compile(r"[A-Za-z0-9/+]{40}")
AWS_NEIGHBOURHOOD = 3  # statements after an access key id where a bare 40-character value is its secret key


@dataclass(frozen=True)
class FoundFormat:
    format: SecretFormat
    secret: str


def find_format(value: str) -> FoundFormat | None:
    """The first credential format found in ``value`` whose checks pass, with the matching text."""
    if len(value) < 20 or not _FORMAT_HINT.search(value):
        return None
    for secret_format in FORMATS:
        for match in secret_format.pattern.finditer(value):
            # Provider keys are random: a sequence in one is an example. The others judge their own parts.
            if secret_format.provider and looks_fake(match[0]):
                continue
            if secret_format.valid is None or secret_format.valid(match):
                return FoundFormat(secret_format, match[0])
    return None


def is_aws_secret_key(value: str) -> bool:
    return (
        _AWS_SECRET_KEY.fullmatch(value) is not None
        and any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value)
        and not looks_fake(value) and entropy(value) >= 4.0
    )


# -- where a literal is a credential --------------------------------------------------------------------------------

_ITSDANGEROUS = ("Serializer,URLSafeSerializer,TimedSerializer,URLSafeTimedSerializer,Signer,TimestampSigner,"
                 "JSONWebSignatureSerializer,TimedJSONWebSignatureSerializer")
# Calls whose positional argument at the index is a key, a secret or a password whatever it is called, and the
# keyword that can pass it instead.
_POSITIONAL_CREDENTIALS: tuple[tuple[str, int, str], ...] = (
    ("{jwt,jose.jwt}.{encode,decode}", 1, "key"),
    ("{jwt,jose.jwt}.api_jwt.{encode,decode}", 1, "key"),
    ("authlib.jose.jwt.encode", 2, "key"),
    ("authlib.jose.jwt.decode", 1, "key"),
    ("hmac.{new,digest,HMAC}", 0, "key"),
    (f"itsdangerous.{{**.,}}{{{_ITSDANGEROUS}}}", 0, "secret_key"),
    ("django.core.signing.{Signer,TimestampSigner,dumps,loads,get_cookie_signer}", -1, "key"),
    ("cryptography.fernet.Fernet", 0, "key"),
    ("{requests.auth,requests}.{HTTPBasicAuth,HTTPDigestAuth,HTTPProxyAuth}", 1, "password"),
    ("{httpx.BasicAuth,httpx.DigestAuth,aiohttp.BasicAuth,aiohttp.helpers.BasicAuth}", 1, "password"),
    ("{smtplib.SMTP,smtplib.SMTP_SSL,smtplib.LMTP,ftplib.FTP,ftplib.FTP_TLS,imaplib.IMAP4,imaplib.IMAP4_SSL}().login",
     1, "password"),
)
_CREDENTIAL_CALLS = [(re.compile(pattern_to_regex(p)), index, keyword) for p, index, keyword in _POSITIONAL_CREDENTIALS]
# All of them at once: most calls fail this single test.
_ANY_CREDENTIAL_CALL = re.compile("|".join(f"(?:{pattern_to_regex(p)})" for p, _, _ in _POSITIONAL_CREDENTIALS))

# ``x.get("API_KEY", "<default>")``: mapping and environment getters whose second argument is the fallback value.
_GETTERS = frozenset({"get", "getenv", "setdefault", "pop"})
# Names that hold an authentication header: only a credential after a scheme (``Bearer <token>``) is reported.
_AUTH_WORDS = frozenset({"authorization", "auth", "bearer"})

# Words that make a name say its values are made up: ``examples=`` (OpenAPI, pydantic, FastAPI),
# ``{"example": ...}``, ``sample_url_func=``, ``FakeUser(...)``, an e-mail ``...Placeholder(...)`` and its sample.
_FIXTURE_WORDS = frozenset({"example", "examples", "sample", "samples", "dummy", "fake", "mock", "placeholder"})


def _names_fixtures(name: str | None) -> bool:
    return name is not None and not _FIXTURE_WORDS.isdisjoint(name_words(name))


def _builds_fixtures(call: cst.Call) -> bool:
    """A call to something named as made up (``FakeUser(...)``, ``SamplePlaceholder(...)``)."""
    return _names_fixtures(last_name(call.func))

_KIND_LABEL = {"password": "password", "secret": "secret", "token": "token", "key": "key",
               "credentials": "credentials"}

LOAD_ADVICE = "load it from the environment or a secret store"
# A provider's key has been exposed to everyone who could read the code: removing it is not enough.
REVOKE_ADVICE = f"revoke it, then {LOAD_ADVICE}"

DEFAULT_TEST_PATHS = (
    "tests/", "test/", "testing/", "test_*.py", "*_test.py", "*_tests.py", "tests.py", "conftest.py",
)


@dataclass(frozen=True)
class CompiledOptions:
    test_paths: pathspec.GitIgnoreSpec


@functools.lru_cache(maxsize=16)
def _compile(test_paths: tuple[str, ...]) -> CompiledOptions:
    return CompiledOptions(pathspec.GitIgnoreSpec.from_lines(test_paths))


def compile_options(options: dict[str, Any]) -> CompiledOptions:
    patterns = options.get("test-paths", list(DEFAULT_TEST_PATHS))
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ValueError("test-paths must be a list of path patterns (gitignore syntax)")
    return _compile(tuple(patterns))


Literal = cst.SimpleString | cst.ConcatenatedString | cst.FormattedString


def _literal(node: cst.BaseExpression | None) -> Literal | None:
    """The string literal an expression is (``"..."``, ``"..." "..."``, ``f"..."``, ``"...".encode()``), else None."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "encode":
        node = node.func.value
    return node if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)) else None


def _parts(node: Literal) -> list[cst.SimpleString | cst.FormattedString]:
    if isinstance(node, cst.ConcatenatedString):
        return [*_parts(node.left), *_parts(node.right)]
    return [node]


# The escapes found in credentials and keys (PEM lines end with ``\n``), replaced without compiling the literal.
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\", "\n": ""}
_SIMPLE_ESCAPE = re.compile(r"\\([ntr\"'\\\n])")


def _part_value(part: cst.SimpleString | cst.FormattedString, *, hole: str | None) -> str | None:
    if isinstance(part, cst.SimpleString):
        raw = part.raw_value
        if "\\" not in raw or "r" in part.prefix.lower():
            return raw  # nothing to evaluate: libcst's evaluation compiles the literal, a cost per string
        if "\\" not in _SIMPLE_ESCAPE.sub("", raw):
            return _SIMPLE_ESCAPE.sub(lambda match: _SIMPLE_ESCAPES[match[1]], raw)
        # Invalid escapes in regex strings must not warn on the user's terminal.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                value = part.evaluated_value
            except (ValueError, SyntaxError):
                return None
        return value.decode("latin-1") if isinstance(value, bytes) else value
    texts = []
    for piece in part.parts:
        if isinstance(piece, cst.FormattedStringText):
            texts.append(piece.value)
        elif hole is None:
            return None
        else:
            texts.append(hole)
    return "".join(texts)


def literal_value(node: Literal, *, hole: str | None = None) -> str | None:
    """The value of a literal; an f-string's placeholders make it None, or ``hole`` when given."""
    values = [_part_value(part, hole=hole) for part in _parts(node)]
    return None if any(value is None for value in values) else "".join(values)


def _source_texts(node: Literal) -> list[str]:
    texts = []
    for part in _parts(node):
        if isinstance(part, cst.SimpleString):
            texts.append(part.raw_value)
        else:
            texts += [piece.value for piece in part.parts if isinstance(piece, cst.FormattedStringText)]
    return texts


def might_have_format(node: Literal) -> bool:
    """The cheap test before evaluating a literal: its source text is long enough and has a format's prefix."""
    return any(len(text) >= 20 and _FORMAT_HINT.search(text) for text in _source_texts(node))


def literal_source(node: Literal) -> list[str]:
    """The literal's text as written, line by line: what the snippet shows and must mask."""
    texts = _source_texts(node)
    # Short pieces (a quote, a separator of a concatenation) are no secret, and masking them would garble the line.
    return [line for text in texts for line in re.split(r"\r\n|\r|\n", text) if len(line.strip()) >= 4]


def _string_key(node: cst.BaseExpression) -> str | None:
    literal = _literal(node)
    if isinstance(literal, cst.SimpleString):
        value = literal_value(literal)
        return value if value and len(value) <= 64 else None
    return None


def _subscript_key(node: cst.Subscript) -> str | None:
    index = subscript_index(node)
    return _string_key(index) if index is not None else None


def target_name(node: cst.BaseExpression) -> tuple[str, str] | None:
    """(how the message names it, the name to classify) for an assignment target or a compared value."""
    if isinstance(node, cst.Name):
        return node.value, node.value
    if isinstance(node, cst.Attribute):
        return dotted_name(node) or shape(node), node.attr.value
    if isinstance(node, cst.Subscript):
        key = _subscript_key(node)
        return (f'{shape(node.value)}["{key}"]', key) if key else None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "get":
        key = _string_key(node.args[0].value) if node.args else None
        return (f'{shape(node.func)}("{key}")', key) if key else None
    return None


def _is_auth_name(name: str) -> bool:
    words = name_words(name)
    return bool(words) and words[-1] in _AUTH_WORDS


# -- the check ------------------------------------------------------------------------------------------------------


class HardcodedSecret(Check):
    rule_id = "RV301"
    # A name the rule knows, a call it knows, or the prefix of a format; nearly every backend module has one, but
    # pure data and algorithm modules do not. Twilio's ``AC``/``SK`` prefixes are left out (they are in most
    # files): a Twilio key is found in files that also name a credential, as files using one do.
    triggers = (
        "pass", "Pass", "PASS", "pwd", "PWD", "secret", "Secret", "SECRET", "token", "Token", "TOKEN", "key", "Key",
        "KEY", "cred", "Cred", "CRED", "auth", "Auth", "AUTH", "hmac", "jwt", "itsdangerous", "Fernet", "login",
        "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox", "k_live_", "AIza",
        "SG.", "sk-", "PRIVATE KEY", "eyJ", "://",
    )
    options_compiler = staticmethod(compile_options)

    @classmethod
    def may_apply(cls, text: str, rel: str, options: dict[str, Any]) -> bool:
        # Test code can only hold a finding in a provider's format: most test modules need not be parsed.
        if compile_options(options).test_paths.match_file(rel):
            return _PROVIDER_HINT.search(text) is not None
        return super().may_apply(text, rel, options)

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict[str, Any]) -> None:
        super().__init__(ctx, spec, options)
        self._in_tests = self.compiled_options().test_paths.match_file(ctx.path)
        # Documentation shows made-up credentials as test code does: docstrings, and the values under an
        # `example`/`examples` key or keyword (OpenAPI, pydantic, FastAPI).
        self._docstrings: set[cst.CSTNode] = set()
        self._example_depth = 0
        # Literals judged in the context that holds them: their own visit must not judge them again.
        self._judged: set[cst.CSTNode] = set()
        # Calls assigned to a name: ``SECRET_KEY = env("SECRET_KEY", default="...")``, ``key: str = Field("...")``.
        self._assigned_to: dict[cst.CSTNode, tuple[str, str]] = {}
        self._statement_number = 0
        self._last_aws_key_id: int | None = None
        self._aws_secret_candidates: list[Literal] = []

    # -- visitors: contexts -----------------------------------------------------------------------------------------

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._statement_number += 1

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        near = (self._last_aws_key_id is not None
                and self._statement_number - self._last_aws_key_id <= AWS_NEIGHBOURHOOD)
        for literal in self._aws_secret_candidates if near else ():
            self._report(literal, f"hardcoded AWS secret access key (next to an access key id): {REVOKE_ADVICE}")
        self._aws_secret_candidates.clear()

    def visit_Expr(self, node: cst.Expr) -> None:
        if _literal(node.value) is not None:
            self._docstrings.add(node.value)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and _names_fixtures(node.keyword.value):
            self._example_depth += 1

    def leave_Arg(self, original_node: cst.Arg) -> None:
        if original_node.keyword is not None and _names_fixtures(original_node.keyword.value):
            self._example_depth -= 1

    def leave_DictElement(self, original_node: cst.DictElement) -> None:
        if _names_fixtures(_string_key(original_node.key)):
            self._example_depth -= 1

    def leave_Call(self, original_node: cst.Call) -> None:
        if _builds_fixtures(original_node):
            self._example_depth -= 1

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._assignment(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assignment(node.target, node.value)

    def visit_Param(self, node: cst.Param) -> None:
        literal = _literal(node.default)
        if literal is not None:
            self._judge(literal, node.name.value, f"as the default of parameter `{node.name.value}`")

    def visit_DictElement(self, node: cst.DictElement) -> None:
        key = _string_key(node.key)
        if _names_fixtures(key):
            self._example_depth += 1
        literal = _literal(node.value)
        if key is not None and literal is not None:
            self._judge(literal, key, f'stored under the key "{key}"')

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if len(node.comparisons) != 1 or not isinstance(node.comparisons[0].operator, (cst.Equal, cst.NotEqual)):
            return
        left, right = node.left, node.comparisons[0].comparator
        for named, other in ((left, right), (right, left)):
            literal = _literal(other)
            names = target_name(named) if literal is not None else None
            if names is not None:
                self._judge(literal, names[1], f"compared with `{names[0]}`")
                return

    def visit_Call(self, node: cst.Call) -> None:
        if _builds_fixtures(node):
            self._example_depth += 1
        positional = positional_arguments(node)
        first_key = _string_key(positional[0]) if positional else None
        # Whose fallback a `default=` is: the setting the call reads, or the name its result is assigned to.
        owner = (first_key, first_key) if first_key and sensitive_kind(first_key) else self._assigned_to.get(node)
        for arg in node.args:
            if arg.keyword is None:
                continue
            keyword = arg.keyword.value
            if _names_fixtures(keyword):
                continue  # made up: its literals are judged as fixtures when visited (see visit_Arg)
            if keyword == "default" and owner is not None:
                self._judge_literal(arg.value, owner[1], f"as the default value of `{owner[0]}`")
            elif keyword == "auth" and isinstance(arg.value, cst.Tuple) and len(arg.value.elements) == 2:
                self._judge_literal(arg.value.elements[1].value, "password", "in `auth=`")
            else:
                self._judge_literal(arg.value, keyword, f"passed as `{keyword}=`")
        func = node.func
        method = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if owner is not None and first_key is not None and len(positional) >= 2 and method in _GETTERS:
            self._judge_literal(positional[1], owner[1], f"as the default value of `{owner[0]}`")
        elif method == "getattr" and len(positional) >= 3:
            key = _string_key(positional[1])
            if key is not None and self.ctx.qualified_name(func) == "builtins.getattr":
                self._judge_literal(positional[2], key, f"as the default value of `{key}`")
        if any(_literal(arg.value) is not None for arg in node.args):
            self._credential_arguments(node, positional)

    # -- visitors: values -------------------------------------------------------------------------------------------

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if node in self._judged:
            return
        if self._judge_format(node):
            return
        if 42 <= len(node.value) <= 45:
            value = literal_value(node)
            if value is not None and is_aws_secret_key(value):
                self._aws_secret_candidates.append(node)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        if node not in self._judged:
            self._judged.update(_parts(node))
            self._judge_format(node)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        if node not in self._judged:
            self._judge_format(node)

    # -- judging ----------------------------------------------------------------------------------------------------

    def _assignment(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)):
            if len(target.elements) == len(value.elements):
                for sub_target, sub_value in zip(target.elements, value.elements, strict=True):
                    self._assignment(sub_target.value, sub_value.value)
            return
        names = target_name(target)
        if names is None:
            return
        if isinstance(value, cst.Call) and _literal(value) is None:
            self._assigned_to[value] = names
            return
        literal = _literal(value)
        if literal is not None:
            self._judge(literal, names[1], f"assigned to `{names[0]}`")

    def _credential_arguments(self, call: cst.Call, positional: list[cst.BaseExpression]) -> None:
        name = self.ctx.qualified_name(call.func)
        if name is None or not _ANY_CREDENTIAL_CALL.fullmatch(name):
            return
        for pattern, index, keyword in _CREDENTIAL_CALLS:
            if pattern.fullmatch(name):
                called = shape(call.func)
                if 0 <= index < len(positional):
                    self._judge_literal(positional[index], keyword, f"passed to `{called}()`", by_position=True)
                for arg in call.args:
                    if arg.keyword is not None and arg.keyword.value == keyword:
                        self._judge_literal(arg.value, keyword, f"passed to `{called}()`", by_position=True)
                return

    def _judge_literal(self, value: cst.BaseExpression, name: str, where: str, *, by_position: bool = False) -> None:
        literal = _literal(value)
        if literal is not None:
            self._judge(literal, name, where, by_position=by_position)

    def _judge(self, literal: Literal, name: str, where: str, *, by_position: bool = False) -> None:
        """A literal in a credential position: reported for its format, or for its name when it looks like one.
        ``by_position``: the position is a credential whatever ``name`` (the parameter's) says."""
        signing = by_position and name in ("key", "secret_key")
        kind = "key" if signing else sensitive_kind(name)
        auth = kind is None and _is_auth_name(name)
        if (kind is None and not auth) or literal in self._judged:
            return  # not a credential position: the literal's own visit still looks at its value
        self._judged.add(literal)
        self._judged.update(_parts(literal))
        if self._judge_format(literal, where) or self._among_fixtures(literal):
            return
        value = literal_value(literal)
        if value is None:
            return
        if auth:
            scheme = _AUTH_SCHEME.match(value)
            if scheme is None or not credential_like(value[scheme.end():]):
                return
            label = "credential"
        else:
            if not credential_like(value, name):
                return
            label = "signing key" if signing else _KIND_LABEL[kind]
        note = ""
        if value.startswith("django-insecure-"):
            note = " (Django's development key: any deployment running this settings module can be impersonated)"
        self._report(literal, f"hardcoded {label} {where}{note}: {LOAD_ADVICE}")

    def _judge_format(self, literal: Literal, where: str = "") -> bool:
        if not might_have_format(literal):
            return False
        value = literal_value(literal, hole="{}")
        found = find_format(value) if value is not None else None
        if found is None or (not found.format.provider and self._among_fixtures(literal)):
            return False
        self._judged.add(literal)
        if found.format.label == "AWS access key id":
            self._last_aws_key_id = self._statement_number
        placement = f" {where}" if where else ""
        advice = REVOKE_ADVICE if found.format.provider else LOAD_ADVICE
        self._report(literal, f"hardcoded {found.format.label}{placement}: {advice}", found.secret)
        return True

    def _among_fixtures(self, literal: Literal) -> bool:
        """In test code or documentation, where credentials are made up (provider keys aside: they are checked)."""
        return self._in_tests or self._example_depth > 0 or literal in self._docstrings

    def _report(self, literal: Literal, message: str, *secrets: str) -> None:
        value = literal_value(literal, hole="{}") or ""
        self.report(literal, message, redact=(*literal_source(literal), value, *secrets))
