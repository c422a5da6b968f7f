"""RV305 jwt-verification-disabled.

Snippets mark the lines the rule must report with ``# reported``; the engine runs with only RV305 enabled.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import marked_lines, reported, rule_plan
from conftest import only_message as single_message

from reviewer.analysis import analyze_text
from reviewer.discover import discover
from reviewer.engine import scan

PLAN = rule_plan("RV305")
FIXTURE = Path(__file__).parent / "fixtures" / "crypto_app"


def lines(source: str) -> list[int]:
    return [line for line, _ in reported(source, PLAN)]


def only_message(source: str) -> str:
    return single_message(source, PLAN)


CASES = {
    "pyjwt-signature-off": """
        import jwt
        import jwt as pyjwt
        from jwt import decode

        def a(token):
            return jwt.decode(token, options={"verify_signature": False})  # reported

        def b(token):
            return pyjwt.decode(token, "key", algorithms=["HS256"], options={"verify_signature": False})  # reported

        def c(token):
            return decode(token, options={"verify_signature": False})  # reported

        def d(token):
            return jwt.PyJWT().decode(token, options={"verify_signature": False})  # reported

        def e(token):
            return jwt.api_jwt.decode_complete(token, options={"verify_signature": False})  # reported
    """,
    "pyjwt-1-verify-false": """
        import jwt

        def claims(token, key):
            return jwt.decode(token, key, verify=False)  # reported

        def verified(token, key):
            return jwt.decode(token, key, algorithms=["HS256"], verify=True)
    """,
    "options-bound-to-a-name": """
        import jwt

        UNSAFE = {"verify_signature": False}

        def module_options(token):
            return jwt.decode(token, options=UNSAFE)  # reported

        def local_options(token, key):
            options = {"verify_exp": False, "verify_iss": False}
            return jwt.decode(token, key, algorithms=["HS256"], options=options)  # reported

        def built_with_dict(token, key):
            return jwt.decode(token, key, ["HS256"], dict(verify_signature=False))  # reported

        def enabled(token, key):
            options = {"verify_signature": True, "verify_exp": True, "require": ["exp"]}
            return jwt.decode(token, key, algorithms=["HS256"], options=options)
    """,
    "claim-checks-off": """
        import jwt

        def claims(token, key):
            jwt.decode(token, key, algorithms=["RS256"], options={"verify_exp": False})  # reported
            jwt.decode(token, key, algorithms=["RS256"], options={"verify_aud": False})  # reported
            jwt.decode(token, key, algorithms=["RS256"], options={"verify_iss": False})  # reported
            jwt.decode(token, key, algorithms=["RS256"], options={"verify_nbf": True})
    """,
    "alg-none": """
        import jwt
        from jose import jwt as jose_jwt

        def claims(token, key):
            jwt.decode(token, key, algorithms=["HS256", "none"])  # reported
            jwt.decode(token, key, ["NONE"])  # reported
            jose_jwt.decode(token, key, algorithms="None")  # reported
            jwt.decode(token, key, algorithms=["HS256"])
    """,
    "algorithms-from-the-token-header": """
        import jwt

        def direct(token, key):
            return jwt.decode(token, key, algorithms=[jwt.get_unverified_header(token)["alg"]])  # reported

        def through_names(token, key):
            header = jwt.get_unverified_header(token)
            alg = header.get("alg")
            return jwt.decode(token, key, algorithms=[alg])  # reported

        def allow_listed(token, key):
            alg = jwt.get_unverified_header(token)["alg"]
            if alg not in ("RS256", "ES256"):
                raise ValueError(alg)
            return jwt.decode(token, key, algorithms=[alg])

        def key_from_kid(token, keys):
            kid = jwt.get_unverified_header(token)["kid"]
            return jwt.decode(token, keys[kid], algorithms=["RS256"])
    """,
    "peek-before-verifying": """
        import jwt

        def by_issuer(token, keys):
            issuer = jwt.decode(token, options={"verify_signature": False})["iss"]
            return jwt.decode(token, keys[issuer], algorithms=["RS256"])

        def peek_name(token, keys):
            unverified = jwt.decode(token, options={"verify_signature": False})
            return keys.get(unverified.get("iss"))

        def header_only(token, client):
            unverified = jwt.api_jwt.decode_complete(token, options={"verify_signature": False})
            return client.get_signing_key(unverified["header"]["kid"])

        def handed_to_a_validator(token, jwks, validate_token):
            claims = jwt.decode(token, options={"verify_signature": False})
            validate_token(token, jwks)
            return claims

        def handed_over_in_kwargs(token, key, _decode_jwt):
            claims = jwt.decode(token, options={"verify_signature": False})
            kwargs = {"encoded_token": token, "secret": key(claims)}
            return _decode_jwt(**kwargs)

        def verified_only_when_configured(token, settings, authlib_jwt, keyset):
            if settings.VERIFY_SIGNATURE:
                claims = authlib_jwt.decode(token, keyset)
                claims.validate()
                return claims
            return jwt.decode(token, options={"verify_signature": False})  # reported

        def validated_only_when_configured(token, settings, validate_token):
            claims = jwt.decode(token, options={"verify_signature": False})  # reported
            if settings.VERIFY_SIGNATURE:
                validate_token(token)
            return claims

        def validated_in_the_test(token, validate_token):
            claims = jwt.decode(token, options={"verify_signature": False})
            if not validate_token(token):
                raise ValueError("invalid token")
            return claims

        def peek_then_trust(token):
            unverified = jwt.decode(token, options={"verify_signature": False})  # reported
            return unverified["sub"]
    """,
    "jose": """
        from jose import jwt

        def unverified(token, key):
            return jwt.decode(token, key, options={"verify_signature": False})  # reported

        def lenient(token, key):
            return jwt.decode(token, key, algorithms=["RS256"], options={"verify_aud": False})  # reported

        def verified(token, key):
            return jwt.decode(token, key, algorithms=["RS256"], audience="api")
    """,
    "unverified-claims-deciding": """
        from jose import jwt

        def is_admin(token):
            claims = jwt.get_unverified_claims(token)  # reported
            if claims["role"] == "admin":
                return True
            return False

        def get_current_user(token):
            return jwt.get_unverified_claims(token)  # reported

        def load(token, User):
            claims = jwt.get_unverified_claims(token)  # reported
            return User.objects.get(pk=claims["sub"])

        def expiry_for_display(token):
            return jwt.get_unverified_claims(token).get("exp")

        def verified_later(token, key):
            claims = jwt.get_unverified_claims(token)
            if claims.get("iss") != "https://issuer.example":
                raise ValueError("issuer")
            return jwt.decode(token, key, algorithms=["RS256"])
    """,
    "simplejwt": """
        from rest_framework_simplejwt.state import token_backend
        from rest_framework_simplejwt.tokens import RefreshToken, UntypedToken

        def user_id(raw):
            return UntypedToken(raw, verify=False)["user_id"]  # reported

        def payload(raw):
            return token_backend.decode(raw, verify=False)  # reported

        def rotate(raw):
            return RefreshToken(raw)

        def peek_then_verify(raw):
            unverified = UntypedToken(raw, verify=False)
            RefreshToken(raw)
            return unverified
    """,
    "authlib-and-others-are-not-pyjwt": """
        from authlib.jose import jwt

        def claims(token, key):
            decoded = jwt.decode(token, key)
            decoded.validate()
            return decoded

        def local_module(token, tokens):
            return tokens.decode(token, options={"verify_signature": False})
    """,
    "local-jwt-shadows-the-import": """
        import jwt

        def claims(jwt, token):
            return jwt.decode(token, options={"verify_signature": False})
    """,
}


@pytest.mark.parametrize("name", list(CASES))
def test_cases(name: str) -> None:
    source = CASES[name]
    assert lines(source) == marked_lines(source)


def test_signature_message() -> None:
    message = only_message("""
        import jwt

        def user(token):
            return jwt.decode(token, options={"verify_signature": False})
    """)
    assert message == "`jwt.decode()`: the signature is not verified: anyone can forge the token"


def test_one_finding_per_call_with_several_checks_off() -> None:
    message = only_message("""
        import jwt

        def user(token, key):
            return jwt.decode(token, key, algorithms=["HS256"], options={"verify_exp": False, "verify_aud": False})
    """)
    assert "`verify_exp` is off" in message and "`verify_aud` is off" in message


def test_claims_message_says_how_they_decide() -> None:
    message = only_message("""
        from jose import jwt

        def authenticate(request):
            return jwt.get_unverified_claims(request.token)
    """)
    assert message.startswith("claims read without verifying the signature (`jwt.get_unverified_claims()`) are "
                              "returned by `authenticate()`")


TEST_CODE = """
import jwt

def test_token_contents(token):
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "1"
"""


def test_test_code_is_skipped_unless_test_code_is_emptied() -> None:
    assert analyze_text(TEST_CODE, "tests/test_auth.py", "tests.test_auth", False, PLAN).findings == []
    checked = dataclasses.replace(PLAN, per_file_ignores=[])  # `test-code = []`: tests judged like any code
    assert len(analyze_text(TEST_CODE, "tests/test_auth.py", "tests.test_auth", False, checked).findings) == 1


FIXTURE_FINDINGS = [
    ("api/auth.py", 14),  # verify_signature off, claims used to look the user up
    ("api/auth.py", 19),  # PyJWT 1 verify=False
    ("api/auth.py", 23),  # options dict bound at module level
    ("api/auth.py", 27),  # verify_aud off
    ("api/auth.py", 33),  # algorithms from the header, through two names
    ("api/auth.py", 37),  # "None" in algorithms
    ("api/auth.py", 41),  # unverified claims in a condition
    ("api/auth.py", 47),  # unverified claims returned from authenticate()
    ("api/sso.py", 6),  # python-jose, signature off
    ("api/sso.py", 10),  # python-jose, verify_exp off
]


def test_sample_project_findings() -> None:
    sources, _ = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(FIXTURE), jobs=1)
    assert result.notices == []
    assert [(finding.path, finding.span.line) for finding in result.findings] == FIXTURE_FINDINGS
