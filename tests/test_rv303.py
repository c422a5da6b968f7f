"""RV303 weak-cryptography.

Snippets mark the lines the rule must report with ``# reported``; the engine runs with only RV303 enabled.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import analyze_source, marked_lines, reported, rule_plan
from conftest import only_message as single_message

from reviewer.analysis import analyze_text
from reviewer.checks.crypto import security_purpose
from reviewer.discover import discover
from reviewer.engine import scan

PLAN = rule_plan("RV303")
FIXTURE = Path(__file__).parent / "fixtures" / "crypto_app"


def lines(source: str) -> list[int]:
    return [line for line, _ in reported(source, PLAN)]


def only_message(source: str) -> str:
    return single_message(source, PLAN)


CASES = {
    "hash-returned-from-a-token-function": """
        import hashlib
        import time

        def make_reset_token(user):
            return hashlib.md5(f"{user.pk}{time.time()}".encode()).hexdigest()  # reported

        def cache_key_for(user):
            return hashlib.md5(str(user.pk).encode()).hexdigest()
    """,
    "hash-assigned-to-a-security-name": """
        import hashlib as h
        from hashlib import sha1

        def issue(user, request):
            user.api_key = h.sha1(request.body).hexdigest()  # reported
            signature = sha1(request.body).hexdigest()[:16]  # reported
            etag = sha1(request.body).hexdigest()
            checksum = h.md5(request.body).hexdigest()
            response_hash = h.md5(request.body).hexdigest()
            return etag, checksum, response_hash
    """,
    "hashlib-new-by-name": """
        import hashlib

        def nonce_for(seed):
            nonce = hashlib.new("MD5", seed).hexdigest()  # reported
            other = hashlib.new("sha256", seed).hexdigest()
            token = hashlib.new("sha256", seed).hexdigest()
            return nonce, other, token
    """,
    "hash-through-reformatting": """
        import base64
        import hashlib

        def tokens(seed):
            session_id = base64.urlsafe_b64encode(hashlib.sha1(seed).digest()).decode()  # reported
            csrf = "csrf-" + hashlib.md5(seed).hexdigest()  # reported
            reset_code = int(hashlib.md5(seed).hexdigest(), 16) % 1000000  # reported
            return session_id, csrf, reset_code
    """,
    "hash-passed-as-keyword-or-dict-key": """
        import hashlib

        def invite(email, send):
            send(email=email, token=hashlib.sha1(email.encode()).hexdigest())  # reported
            return {"signature": hashlib.md5(email.encode()).hexdigest(), "etag": hashlib.md5(b"").hexdigest()}  # reported
    """,
    "hash-object-read-later": """
        import hashlib

        def session_key(parts):
            digest = hashlib.md5()  # reported
            for part in parts:
                digest.update(part)
            session_key = digest.hexdigest()
            return session_key

        def file_digest(chunks):
            digest = hashlib.md5()
            for chunk in chunks:
                digest.update(chunk)
            return digest.hexdigest()
    """,
    "usedforsecurity-false": """
        import hashlib

        def token_for(seed):
            return hashlib.md5(seed, usedforsecurity=False).hexdigest()
    """,
    "password-input-is-rv302": """
        import hashlib

        def hash_password(password):
            return hashlib.md5(password.encode()).hexdigest()

        def make_token(user):
            token = hashlib.sha1(user.password.encode()).hexdigest()
            return token
    """,
    "unclear-purpose-is-quiet": """
        import hashlib

        def digest(data):
            return hashlib.md5(data).hexdigest()

        def process(data, store):
            store(hashlib.sha1(data).hexdigest())
            value = hashlib.md5(data).hexdigest()
            return value
    """,
    "hmac-with-weak-digests": """
        import hashlib
        import hmac
        from hashlib import md5

        from Crypto.Hash import HMAC, SHA256
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives import hmac as crypto_hmac

        def signatures(key, body):
            hmac.new(key, body, hashlib.sha1)  # reported
            hmac.new(key, body, digestmod="md5")  # reported
            hmac.new(key, body, md5)  # reported
            hmac.digest(key, body, "sha1")  # reported
            hmac.HMAC(key, body, hashlib.sha1)  # reported
            HMAC.new(key, body)  # reported
            crypto_hmac.HMAC(key, hashes.SHA1())  # reported
            hmac.new(key, body, hashlib.sha256)
            hmac.new(key, body, "sha256")
            HMAC.new(key, body, digestmod=SHA256)
            crypto_hmac.HMAC(key, hashes.SHA256())
    """,
    "hmac-sha1-where-the-protocol-fixes-it": """
        import hashlib
        import hmac

        def hotp(secret, counter):
            return hmac.new(secret, counter, hashlib.sha1).digest()

        def sign_hmac_sha1(secret, base_string):
            return hmac.new(secret, base_string, hashlib.sha1).digest()
    """,
    "pycryptodome-ciphers-and-ecb": """
        from Crypto.Cipher import AES, ARC2, DES
        from Cryptodome.Cipher import DES3
        import Cryptodome.Cipher.ARC4

        def ciphers(key, iv):
            DES.new(key, DES.MODE_CBC, iv)  # reported
            DES3.new(key, DES3.MODE_CBC, iv)  # reported
            Cryptodome.Cipher.ARC4.new(key)  # reported
            ARC2.new(key, ARC2.MODE_CBC, iv)  # reported
            AES.new(key, AES.MODE_ECB)  # reported
            AES.new(key, AES.MODE_GCM)
            AES.new(key, AES.MODE_CBC, iv)
    """,
    "cryptography-ciphers-and-ecb": """
        from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        def ciphers(key, iv):
            Cipher(algorithms.TripleDES(key), modes.CBC(iv))  # reported
            Cipher(algorithms.Blowfish(key), modes.CBC(iv))  # reported
            Cipher(ARC4(key), mode=None)  # reported
            Cipher(algorithms.AES(key), modes.ECB())  # reported
            Cipher(algorithms.AES(key), modes.GCM(iv))
    """,
    "key-sizes": """
        import rsa as python_rsa
        from Crypto.PublicKey import DSA, ECC, RSA
        from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

        KEY_SIZE = 1024

        def keys():
            rsa.generate_private_key(65537, 1024)  # reported
            rsa.generate_private_key(public_exponent=65537, key_size=512)  # reported
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
            dsa.generate_private_key(key_size=1024)  # reported
            RSA.generate(bits=1024)  # reported
            RSA.generate(4096)
            DSA.generate(1024)  # reported
            python_rsa.newkeys(512)  # reported
            ec.generate_private_key(ec.SECT163K1())  # reported
            ec.generate_private_key(ec.SECP224R1())
            ECC.generate(curve="P-192")  # reported
            ECC.generate(curve="P-256")
    """,
    "random-for-secrets": """
        import random
        import string
        import numpy as np

        CHARS = string.ascii_letters + string.digits

        def generate_password(length=12):
            return "".join(random.choice(CHARS) for _ in range(length))  # reported

        def issue(user):
            user.otp = f"{random.randint(0, 999999):06d}"  # reported
            salt = "".join(random.sample(CHARS, 8))  # reported
            verification_code = "%06d" % random.randrange(1000000)  # reported
            user.session_id = str(np.random.randint(0, 2**31))  # reported
            rng = random.Random()
            reset_token = "".join(rng.choices(CHARS, k=32))  # reported
            return salt, verification_code, reset_token

        def old_style_salt():
            import hashlib
            salt = hashlib.sha1(str(random.random()).encode()).hexdigest()[:5]  # reported
            return salt
    """,
    "random-without-a-security-purpose": """
        import random
        import secrets

        def jitter(delay):
            backoff = delay * random.uniform(0.5, 1.5)
            return backoff

        def pick(servers):
            server = random.choice(servers)
            code = random.randint(0, 9)
            username_suffix = "".join(random.choice("abc") for _ in range(4))
            return server, code, username_suffix

        def generate_token():
            return secrets.token_urlsafe(32)

        def system_random_token():
            token = "".join(random.SystemRandom().choice("abc") for _ in range(32))
            return token
    """,
    "shadowed-module-names": """
        def sign(hashlib, random, payload):
            signature = hashlib.md5(payload).hexdigest()
            token = random.choice(payload)
            return signature, token
    """,
}


@pytest.mark.parametrize("name", list(CASES))
def test_cases(name: str) -> None:
    source = CASES[name]
    assert lines(source) == marked_lines(source)


def test_hash_message_names_the_purpose_and_the_alternative() -> None:
    message = only_message("""
        import hashlib

        def make_reset_token(user):
            return hashlib.md5(user.email.encode()).hexdigest()
    """)
    assert message == (
        "`hashlib.md5()` makes a token (`make_reset_token()`): MD5 is broken for security use; use `hmac` with "
        "SHA-256 for signatures, `secrets` for tokens"
    )


def test_random_message_points_to_secrets() -> None:
    message = only_message("""
        import random

        otp_code = random.randint(100000, 999999)
    """)
    assert message.startswith("`random.randint()` makes a one-time password (`otp_code`): the `random` module")
    assert "`secrets`" in message


def test_key_size_message() -> None:
    message = only_message("""
        from Crypto.PublicKey import RSA

        key = RSA.generate(1024)
    """)
    assert message == "`RSA.generate()` makes a 1024-bit RSA key: use at least 2048 bits (3072 for new keys)"


def test_one_finding_per_value() -> None:
    # The dict key and the keyword both name the purpose: the hash is reported once.
    source = """
        import hashlib

        def payload(send, email):
            send(data={"token": hashlib.sha1(email).hexdigest()}, token=None)
    """
    assert len(reported(source, PLAN)) == 1


@pytest.mark.parametrize(
    ("name", "purpose"),
    [
        ("reset_token", "token"),
        ("make_api_key", "key"),
        ("signature_hex", "signature"),
        ("password_reset_code", "reset code"),
        ("sessionId", "session id"),
        ("login_otp", "one-time password"),
        ("sign_payload", None),
        ("cache_key", None),
        ("etag", None),
        ("token_hash", None),
        ("file_checksum", None),
        ("product_code", None),
        ("token_type", None),
    ],
)
def test_security_purpose(name: str, purpose: str | None) -> None:
    assert security_purpose(name) == purpose


def test_function_names_that_sign() -> None:
    assert security_purpose("sign_payload", function=True) == "signature"


@pytest.mark.parametrize(
    ("path", "is_test"),
    [("tests/test_auth.py", True), ("app/tests/factories.py", True), ("auth_test.py", True),
     ("conftest.py", True), ("app/testimonials.py", False), ("accounts/tokens.py", False)],
)
def test_test_paths(path: str, is_test: bool) -> None:
    assert (PLAN.rules_for(path) == []) is is_test


TEST_CODE = """
import random

def make_token():
    return "".join(random.choice("abc") for _ in range(8))
"""


def test_test_code_is_skipped_unless_test_code_is_emptied() -> None:
    assert analyze_text(TEST_CODE, "tests/factories.py", "tests.factories", False, PLAN).findings == []
    checked = dataclasses.replace(PLAN, per_file_ignores=[])  # `test-code = []`: tests judged like any code
    assert len(analyze_text(TEST_CODE, "tests/factories.py", "tests.factories", False, checked).findings) == 1
    assert len(analyze_source(TEST_CODE, PLAN).findings) == 1


FIXTURE_FINDINGS = [
    ("accounts/signing.py", 8),  # HMAC-SHA1 webhook signature
    ("accounts/signing.py", 12),  # HMAC-MD5 by name
    ("accounts/signing.py", 16),  # PyCryptodome HMAC defaults to MD5
    ("accounts/tokens.py", 15),  # md5 reset code
    ("accounts/tokens.py", 19),  # random.choice api token
    ("accounts/tokens.py", 23),  # random.randint OTP
    ("accounts/tokens.py", 28),  # sha1 object read into session_id
    ("accounts/tokens.py", 35),  # random nonce
    ("accounts/tokens.py", 40),  # sha1 invitation token in a dict
    ("storage/files.py", 42),  # md5 download token
    ("storage/vault.py", 12),  # AES.MODE_ECB
    ("storage/vault.py", 26),  # DES3
    ("storage/vault.py", 30),  # ARC4
    ("storage/vault.py", 34),  # Blowfish (Cryptodome)
    ("storage/vault.py", 38),  # cryptography TripleDES
    ("storage/vault.py", 42),  # modes.ECB
    ("storage/vault.py", 46),  # 1024-bit RSA
    ("storage/vault.py", 54),  # 1024-bit DSA
    ("storage/vault.py", 58),  # SECP192R1
    ("storage/vault.py", 66),  # RSA.generate(1024)
]


def test_sample_project_findings() -> None:
    sources, _ = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(FIXTURE), jobs=1)
    assert result.notices == []
    assert [(finding.path, finding.span.line) for finding in result.findings] == FIXTURE_FINDINGS


def test_fallback_import_of_random_is_not_trusted() -> None:
    # The resolver keeps the last binding; here it is the fallback for Pythons without `secrets`.
    source = """
        try:
            from secrets import randbits
        except ImportError:
            from random import getrandbits as randbits

        def generate_nonce():
            return str(randbits(64))
    """
    assert reported(source, PLAN) == []


def test_hmac_sha1_can_be_turned_off() -> None:
    source = """
        import hashlib
        import hmac

        def sign_webhook(secret, body):
            sha1 = hmac.new(secret, body, hashlib.sha1).hexdigest()
            md5 = hmac.new(secret, body, hashlib.md5).hexdigest()
            return sha1, md5
    """
    assert [line for line, _ in reported(source, PLAN)] == [6, 7]
    assert [line for line, _ in reported(source, rule_plan("RV303", {"hmac-sha1": False}))] == [7]


def test_fallback_blocks_with_compound_statements() -> None:
    # An except clause holding a class or an `if` next to its imports (jupyterhub's crypto.py).
    source = """
        try:
            import cryptography
        except ImportError:
            cryptography = None

            class InvalidToken(Exception):
                pass

            if True:
                from random import getrandbits as randbits
    """
    assert analyze_source(source, PLAN).notices == []
