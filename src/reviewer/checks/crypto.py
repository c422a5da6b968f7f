"""The cryptography family: RV303 weak-cryptography and RV305 jwt-verification-disabled.

Everything is recognized by the qualified names the shared resolver gives (``hashlib.md5``,
``Crypto.Cipher.AES.MODE_ECB``, ``jose.jwt.get_unverified_claims()``), never by source text.

MD5, SHA-1 and the ``random`` module are everywhere in backends for harmless reasons (cache keys, ETags, file
checksums, shuffling, sampling), and reporting every use is what makes bandit's B324/B311 useless. So RV303
reports them only where the code says what the value is for: the value flows, through formatting helpers
(``.hexdigest()``, ``str()``, slicing, ``"".join(...)``, f-strings), straight into a name, keyword, dict key or
function return named for a security purpose (token, signature, nonce, salt, OTP, reset code, session id, API
key). When the purpose is unclear the use is not reported. A fast hash of a password is RV302's finding, not this
rule's. HMAC with MD5/SHA-1, broken ciphers, ECB mode and short keys have no harmless use and are reported
wherever they appear.

RV305 reports JWT decoding with verification turned off (PyJWT, python-jose), ``algorithms`` lists that admit
``none`` or come from the token's own header, and unverified claims (python-jose ``get_unverified_claims``) that
decide access. Decoding without verification to *peek* at a token (reading ``iss`` or ``kid`` to pick the key)
is not reported when the same function also decodes with verification.

Test code, where fixtures decode tokens without verification and make random tokens on purpose, is left to the
``test-code`` setting (neither rule reports there).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import (
    Check,
    FileContext,
    argument,
    descendants,
    keyword_arg,
    shape,
    string_value,
    subscript_key,
)
from reviewer.checks.sensitive import name_words, sensitive_kind
from reviewer.fixes import NodeFix, remove_argument, remove_element

# -- what a name says the value is for -----------------------------------------------------------------------------

# Last words naming a security value that ``sensitive_kind`` does not cover.
_PURPOSE_WORDS = {
    "signature": "signature", "sig": "signature", "hmac": "signature", "mac": "signature",
    "nonce": "nonce", "otp": "one-time password", "totp": "one-time password", "hotp": "one-time password",
    "salt": "salt", "csrf": "CSRF token", "xsrf": "CSRF token", "pin": "PIN", "verifier": "verifier",
    "challenge": "challenge",
}
# "code" is a security value only with one of these before it: ``reset_code``, ``verification_code``.
_CODE_QUALIFIERS = frozenset({
    "reset", "verification", "verify", "confirmation", "confirm", "activation", "otp", "auth", "authorization",
    "login", "sms", "security", "mfa", "recovery", "backup", "invite", "invitation", "access", "unlock", "pin",
})
# A word anywhere in the name that says the value is not a secret: ``cache_key``, ``etag``, ``file_checksum``.
_NOT_SECURITY_WORDS = frozenset({
    "cache", "cached", "etag", "checksum", "fingerprint", "file", "filename", "path", "dedup", "content",
    "color", "colour", "avatar", "gravatar", "bucket", "shard", "partition", "lock", "version", "revision",
    "slug", "hash", "hashed", "digest", "public", "index", "sort", "sample", "test", "dummy", "fake", "example",
})
_NEUTRAL_SUFFIXES = frozenset({"value", "str", "string", "hex", "b64", "bytes", "raw", "s"})


def security_purpose(name: str, *, function: bool = False) -> str | None:
    """What security value a name (of a variable, keyword, dict key or function) holds, or None when the name does
    not say (or says it is not a secret)."""
    words = [w for w in name_words(name) if w not in ("get", "make", "generate", "gen", "create", "new", "build")]
    if not words or any(word in _NOT_SECURITY_WORDS for word in words):
        return None
    while len(words) > 1 and words[-1] in _NEUTRAL_SUFFIXES:
        words.pop()
    kind = sensitive_kind("_".join(words))
    if kind is not None:
        return {"key": "key", "credentials": "credential"}.get(kind, kind)
    last = words[-1]
    if last in _PURPOSE_WORDS:
        return _PURPOSE_WORDS[last]
    if last == "code" and len(words) > 1 and words[-2] in _CODE_QUALIFIERS:
        return _PURPOSE_WORDS.get(words[-2], f"{words[-2]} code")
    if last in ("id", "key") and len(words) > 1 and words[-2] == "session":
        return "session id"
    if function and words[0] in ("sign", "signed"):
        return "signature"
    return None


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiu" else "a"



# -- reading values ---------------------------------------------------------------------------------------------

# Methods that reformat a value without changing what it is for.
_REFORMAT_METHODS = frozenset({
    "hexdigest", "digest", "encode", "decode", "upper", "lower", "strip", "rstrip", "lstrip", "zfill", "ljust",
    "rjust", "replace", "format", "join", "hex",
})
_REFORMAT_CALLS = re.compile(
    r"builtins\.(str|int|bytes|hex|format|list|tuple)|base64\.\w+|binascii\.(hexlify|b2a_hex|b2a_base64)"
    r"|codecs\.encode"
)




def _is_false(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def _int_value(node: cst.BaseExpression | None) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value)
    return None


def _target_name(target: cst.BaseExpression) -> str | None:
    """The name an assignment target is known by: ``token``, ``self.token``, ``data["token"]``."""
    if isinstance(target, cst.Name):
        return target.value
    if isinstance(target, cst.Attribute):
        return target.attr.value
    if isinstance(target, cst.Subscript):
        return subscript_key(target)
    return None


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Attribute, cst.Call, cst.Subscript)):
        node = node.func if isinstance(node, cst.Call) else node.value
    return node.value if isinstance(node, cst.Name) else None


def _names_in(node: cst.CSTNode) -> Iterator[str]:
    """Every plain name and attribute name read in an expression."""
    for current in (node, *descendants(node)):
        if isinstance(current, cst.Name):
            yield current.value
        elif isinstance(current, cst.Attribute):
            yield current.attr.value


# -- RV303 ----------------------------------------------------------------------------------------------------------

_WEAK_HASHES = {"md5": "MD5", "sha1": "SHA-1", "sha": "SHA-1"}
_HASH_CONSTRUCTORS = re.compile(r"hashlib\.(md5|sha1)|(?:Crypto|Cryptodome)\.Hash\.(MD5|SHA1|SHA)\.new")
_HASH_REFERENCES = re.compile(
    r"hashlib\.(md5|sha1)|(?:Crypto|Cryptodome)\.Hash\.(MD5|SHA1|SHA)|_?hashlib\.openssl_(md5|sha1)"
)
_CRYPTOGRAPHY_HASH = re.compile(r"cryptography\.hazmat\.primitives\.hashes\.(MD5|SHA1)\(\)")
_HMAC_CALLS = re.compile(r"hmac\.(new|HMAC|digest)")
_PYCRYPTODOME_HMAC = re.compile(r"(?:Crypto|Cryptodome)\.Hash\.HMAC\.new")
_CRYPTOGRAPHY_HMAC = "cryptography.hazmat.primitives.hmac.HMAC"
_PROTOCOL_WORDS = frozenset({"totp", "hotp", "oauth1", "rfc5849", "rfc4226", "rfc6238", "md5", "sha1"})

_RANDOM_FUNCTIONS = "random|randint|randrange|choice|choices|sample|getrandbits|randbytes|shuffle|uniform|bytes"
_WEAK_RANDOM = re.compile(
    rf"(?:random|random\.Random\(\)|numpy\.random|numpy\.random\.(?:RandomState|default_rng|Generator)\(\))"
    rf"\.(?:{_RANDOM_FUNCTIONS}|integers|randn|rand)"
)

_BROKEN_CIPHERS = {"DES": "DES", "DES3": "3DES", "ARC4": "RC4", "Blowfish": "Blowfish", "ARC2": "RC2",
                   "CAST": "CAST", "XOR": "XOR", "TripleDES": "3DES", "CAST5": "CAST5", "IDEA": "IDEA",
                   "SEED": "SEED", "des": "DES", "triple_des": "3DES"}
_PYCRYPTODOME_CIPHER = re.compile(r"(?:Crypto|Cryptodome)\.Cipher\.(\w+)\.new")
_CRYPTOGRAPHY_CIPHER = re.compile(
    r"cryptography\.hazmat\.(?:primitives|decrepit)\.ciphers\.algorithms\.(TripleDES|ARC4|Blowfish|CAST5|IDEA|SEED)"
)
_PYDES = re.compile(r"pyDes\.(des|triple_des)")
_ECB_MODE = re.compile(r"(?:Crypto|Cryptodome)\.Cipher\.\w+\.MODE_ECB")
_CRYPTOGRAPHY_ECB = "cryptography.hazmat.primitives.ciphers.modes.ECB"

# Key generators: (position, keywords) of the key size argument.
_KEY_GENERATORS = {
    "cryptography.hazmat.primitives.asymmetric.rsa.generate_private_key": ("RSA", 1, ("key_size",)),
    "cryptography.hazmat.primitives.asymmetric.dsa.generate_private_key": ("DSA", 0, ("key_size",)),
    "cryptography.hazmat.primitives.asymmetric.dsa.generate_parameters": ("DSA", 0, ("key_size",)),
    "Crypto.PublicKey.RSA.generate": ("RSA", 0, ("bits",)),
    "Cryptodome.PublicKey.RSA.generate": ("RSA", 0, ("bits",)),
    "Crypto.PublicKey.DSA.generate": ("DSA", 0, ("bits",)),
    "Cryptodome.PublicKey.DSA.generate": ("DSA", 0, ("bits",)),
    "rsa.newkeys": ("RSA", 0, ("nbits",)),
}
MIN_KEY_BITS = 2048
_SMALL_CURVES = re.compile(r"cryptography\.hazmat\.primitives\.asymmetric\.ec\.(SECP192R1|SECT163K1|SECT163R2)")
_PYCRYPTODOME_ECC = re.compile(r"(?:Crypto|Cryptodome)\.PublicKey\.ECC\.generate")
_SMALL_CURVE_NAMES = frozenset({"p192", "nistp192", "secp192r1", "prime192v1"})


@dataclass
class _Producer:
    """A value made by a weak primitive, found inside an expression."""

    node: cst.CSTNode
    what: str  # "MD5", "SHA-1", "random"
    call: str  # the call as written, for the message


class WeakCryptography(Check):
    rule_id = "RV303"
    triggers = ("hashlib", "hmac", "Crypto", "cryptography", "random", "newkeys", "pyDes")

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict[str, Any]) -> None:
        super().__init__(ctx, spec, options)
        # Hash objects bound to a local name (``h = hashlib.sha1(); h.update(...)``), per scope.
        self._hash_objects: dict[tuple[int, str], cst.Call] = {}
        self._reported: set[cst.CSTNode] = set()
        # Names imported in an `except ImportError:` fallback (`from secrets import randbits` / `from random import
        # getrandbits as randbits`): the resolver keeps the last binding, which is usually the fallback.
        self._fallback_imports: set[str] = set()

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        caught = self.ctx.qualified_name(node.type) if node.type is not None else None
        if caught not in ("builtins.ImportError", "builtins.ModuleNotFoundError"):
            return
        for statement in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
            # Compound statements (an `if` choosing the fallback) hold blocks, not imports, at this level.
            for small in statement.body if isinstance(statement, cst.SimpleStatementLine) else ():
                if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
                    for alias in small.names:
                        bound = alias.asname.name if alias.asname is not None else alias.name
                        if isinstance(bound, cst.Name):
                            self._fallback_imports.add(bound.value)

    # -- consumers: where a value's purpose is named ---------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._consume(node.value, _target_name(target.target))
        self._remember_hash_object([t.target for t in node.targets], node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._consume(node.value, _target_name(node.target))
            self._remember_hash_object([node.target], node.value)

    def visit_Return(self, node: cst.Return) -> None:
        frame = self.ctx.function_frame
        if node.value is not None and frame is not None and isinstance(frame.node, cst.FunctionDef):
            self._consume(node.value, frame.node.name.value, function=True)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._consume(node.value, node.keyword.value)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        key = string_value(node.key)
        if key is not None:
            self._consume(node.value, key)

    def _scope_key(self) -> int:
        node = self.ctx.function_node
        return id(node) if node is not None else 0  # 0: the module body, which lookups fall back to

    def _remember_hash_object(self, targets: list[cst.BaseExpression], value: cst.BaseExpression) -> None:
        if isinstance(value, cst.Call) and self._weak_hash(value) is not None:
            for target in targets:
                if isinstance(target, cst.Name):
                    self._hash_objects[(self._scope_key(), target.value)] = value

    def _consume(self, value: cst.BaseExpression, name: str | None, *, function: bool = False) -> None:
        if name is None:
            return
        purpose = security_purpose(name, function=function)
        if purpose is None:
            return
        producers = list(self._producers(value))
        # A weak random value is the worse problem when both are there (``sha1(str(random.random()))``).
        producers.sort(key=lambda producer: producer.what != "random")
        for producer in producers[:1]:
            if producer.node in self._reported:
                return
            self._reported.add(producer.node)
            named = f"`{name}()`" if function else f"`{name}`"
            if producer.what == "random":
                message = (
                    f"`{producer.call}()` makes {_article(purpose)} {purpose} ({named}): the `random` module is predictable; "
                    "use `secrets` (`secrets.token_urlsafe()`, `secrets.choice()`, `secrets.randbelow()`)"
                )
            else:
                message = (
                    f"`{producer.call}()` makes {_article(purpose)} {purpose} ({named}): {producer.what} is broken for security "
                    "use; use `hmac` with SHA-256 for signatures, `secrets` for tokens"
                )
            self.report(producer.node, message)

    def _producers(self, node: cst.BaseExpression) -> Iterator[_Producer]:
        """Weak hashes and random calls whose result ``node`` is, through reformatting only."""
        if isinstance(node, cst.Call):
            found = self._weak_hash(node)
            if found is not None:
                yield _Producer(node, found, shape(node.func))
                yield from self._random_inside_hash(node)
                return
            name = self.ctx.qualified_name(node.func)
            if name is not None and _WEAK_RANDOM.fullmatch(name) and _root_name(node.func) not in self._fallback_imports:
                yield _Producer(node, "random", shape(node.func))
                return
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in _REFORMAT_METHODS:
                if node.func.attr.value in ("join", "format"):
                    for arg in node.args:
                        yield from self._producers(arg.value)
                else:
                    yield from self._producers(node.func.value)
            elif name is not None and _REFORMAT_CALLS.fullmatch(name):
                for arg in node.args:
                    yield from self._producers(arg.value)
        elif isinstance(node, cst.Name):
            bound = self._hash_objects.get((self._scope_key(), node.value))
            if bound is not None:
                yield _Producer(bound, self._weak_hash(bound) or "", shape(bound.func))
        elif isinstance(node, cst.Subscript):
            yield from self._producers(node.value)
        elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Modulo)):
            yield from self._producers(node.left)
            yield from self._producers(node.right)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                yield from self._producers(element.value)
        elif isinstance(node, cst.FormattedString):
            for part in node.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    yield from self._producers(part.expression)
        elif isinstance(node, (cst.GeneratorExp, cst.ListComp)):
            yield from self._producers(node.elt)

    def _random_inside_hash(self, call: cst.Call) -> Iterator[_Producer]:
        for arg in call.args:
            for producer in self._producers(arg.value):
                if producer.what == "random":
                    yield producer

    def _weak_hash(self, call: cst.Call) -> str | None:
        """"MD5"/"SHA-1" when ``call`` makes such a hash for what may be security use, else None."""
        name = self.ctx.qualified_name(call.func)
        if name is None:
            return None
        algorithm = None
        match = _HASH_CONSTRUCTORS.fullmatch(name)
        if match:
            algorithm = _WEAK_HASHES[(match.group(1) or match.group(2)).lower()]
        elif name == "hashlib.new":
            algorithm = _WEAK_HASHES.get((string_value(argument(call, 0, "name")) or "").lower())
        if algorithm is None:
            return None
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "usedforsecurity" and _is_false(arg.value):
                return None
        # A fast hash of a password is RV302's finding.
        if any(sensitive_kind(read) == "password" for arg in call.args for read in _names_in(arg.value)):
            return None
        return algorithm

    # -- primitives with no harmless use --------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        name = self.ctx.qualified_name(node.func)
        if name is None:
            return
        message = self._broken_primitive(node, name)
        if message is not None:
            self.report(node, message)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "MODE_ECB":
            return
        name = self.ctx.qualified_name(node)
        if name is not None and _ECB_MODE.fullmatch(name):
            self.report(node, f"`{shape(node)}`: ECB mode encrypts equal blocks to equal ciphertext and leaks "
                              "patterns; use an authenticated mode (`MODE_GCM`) or `AESGCM` from `cryptography`")

    def _broken_primitive(self, call: cst.Call, name: str) -> str | None:
        written = f"`{shape(call.func)}()`"
        if _HMAC_CALLS.fullmatch(name) or name == _CRYPTOGRAPHY_HMAC or _PYCRYPTODOME_HMAC.fullmatch(name):
            weak = self._weak_hmac_digest(call, name)
            if weak == "SHA-1" and not self.options.get("hmac-sha1", True):
                return None
            if weak is not None and not self._implements_protocol():
                return f"{written} signs with HMAC-{weak}: use SHA-256 (`hashlib.sha256`)"
            return None
        match = _PYCRYPTODOME_CIPHER.fullmatch(name) or _CRYPTOGRAPHY_CIPHER.fullmatch(name) or _PYDES.fullmatch(name)
        if match and match.group(1) in _BROKEN_CIPHERS:
            cipher = _BROKEN_CIPHERS[match.group(1)]
            return f"{written} uses {cipher}, a broken cipher: use AES-GCM (`AESGCM` from `cryptography`)"
        if name == _CRYPTOGRAPHY_ECB:
            return (f"{written}: ECB mode encrypts equal blocks to equal ciphertext and leaks patterns; use an "
                    "authenticated mode (`AESGCM`, or `modes.GCM`)")
        if name in _KEY_GENERATORS:
            algorithm, position, keywords = _KEY_GENERATORS[name]
            bits = _int_value(argument(call, position, *keywords))
            if bits is not None and bits < MIN_KEY_BITS:
                return f"{written} makes a {bits}-bit {algorithm} key: use at least {MIN_KEY_BITS} bits (3072 for new keys)"
            return None
        curve = _SMALL_CURVES.fullmatch(name)
        if curve:
            return f"{written}: curve {curve.group(1)} is under 224 bits; use SECP256R1 or stronger"
        if _PYCRYPTODOME_ECC.fullmatch(name):
            curve_name = string_value(argument(call, None, "curve")) or ""
            if re.sub(r"[^a-z0-9]", "", curve_name.lower()) in _SMALL_CURVE_NAMES:
                return f"{written} uses curve {curve_name}, under 224 bits: use P-256 or stronger"
        return None

    def _implements_protocol(self) -> bool:
        """Whether the enclosing function or module says it implements a protocol that fixes the HMAC digest
        (TOTP/HOTP use HMAC-SHA1 by default, OAuth 1.0 names HMAC-SHA1), or names the digest itself
        (``sign_hmac_sha1``): changing the digest there breaks interoperability, and HMAC-SHA1 is not broken."""
        names = self.ctx.module
        frame = self.ctx.function_frame
        if frame is not None and isinstance(frame.node, cst.FunctionDef):
            names += f".{frame.node.name.value}"
        # Digits stay with their word here: "sha1", "oauth1", "rfc6238".
        return bool(set(re.findall(r"[a-z]+\d*", names.lower())) & _PROTOCOL_WORDS)

    def _weak_hmac_digest(self, call: cst.Call, name: str) -> str | None:
        if name == _CRYPTOGRAPHY_HMAC:
            algorithm = argument(call, 1, "algorithm")
            found = self.ctx.qualified_name(algorithm) if algorithm is not None else None
            match = _CRYPTOGRAPHY_HASH.fullmatch(found or "")
            return _WEAK_HASHES[match.group(1).lower()] if match else None
        digest = argument(call, 2, "digestmod", "digest")
        if digest is None:
            # PyCryptodome's HMAC defaults to MD5; the standard library's has required a digest since 3.8.
            return "MD5" if _PYCRYPTODOME_HMAC.fullmatch(name) else None
        text = string_value(digest)
        if text is not None:
            return _WEAK_HASHES.get(text.lower().replace("-", ""))
        found = self.ctx.qualified_name(digest)
        match = _HASH_REFERENCES.fullmatch(found or "")
        if match:
            return _WEAK_HASHES[next(group for group in match.groups() if group).lower()]
        return None


# -- RV305 ----------------------------------------------------------------------------------------------------------

_PYJWT_DECODE = re.compile(
    r"jwt\.(?:api_jwt\.|api_jws\.)?(?:(?:PyJWT|PyJWS)\(\)\.)?(?:decode|decode_complete)"
)
_JOSE_DECODE = re.compile(r"jose\.jwt\.decode")
# djangorestframework-simplejwt: token classes and the token backend take `verify=`.
_SIMPLEJWT_DECODE = re.compile(
    r"rest_framework_simplejwt\.(?:tokens\.\w*Token|state\.token_backend\.decode|backends\.TokenBackend\(\)\.decode)"
)
_OTHER_VERIFYING_DECODE = re.compile(
    r"authlib\.jose\.(?:jwt|JsonWebToken\(\))\.decode|jose\.jws\.verify|jwt\.PyJWK(?:Client)?\(\)\..*"
)
_UNVERIFIED_HEADER = re.compile(r"(?:jwt|jose)\..*get_unverified_headers?\(\)")
_UNVERIFIED_CLAIMS = re.compile(r"jose\.(?:jwt|jws)\.get_unverified_claims")
_DISABLED_CHECKS = {
    "verify_signature": "the signature is not verified: anyone can forge the token",
    "verify_exp": "`verify_exp` is off: expired tokens are accepted",
    "verify_aud": "`verify_aud` is off: tokens issued for other services are accepted",
    "verify_iss": "`verify_iss` is off: tokens from any issuer are accepted",
}
# A function with one of these words returns who the caller is, or decides what they may do.
_AUTH_WORDS = frozenset({
    "auth", "authenticate", "authorize", "authorized", "user", "identity", "principal", "permission",
    "permissions", "login", "role", "roles", "admin", "claims", "access", "current", "verify", "validate",
})
# Calls that look a principal up by a value.
_LOOKUP_METHODS = frozenset({
    "get", "filter", "filter_by", "get_or_create", "get_user", "get_by_id", "get_user_by_id", "load_user",
    "find_one", "find", "get_object_or_404", "get_or_404",
})


@dataclass
class _JwtScope:
    """What one function (or the module's top level) does with tokens; reported when it ends."""

    node: cst.CSTNode | None = None
    verifying_decodes: int = 0
    verified_tokens: set[str] = field(default_factory=set)  # code of tokens passed to a verify/validate call
    # The same, counting only verification that runs on every path (not under an `if`, loop or `except`).
    always_verifying_decodes: int = 0
    always_verified_tokens: set[str] = field(default_factory=set)
    conditional_depth: int = 0
    # (call, message, token code, name its result is bound to)
    unverified_decodes: list[tuple[cst.Call, str, str | None, str | None]] = field(default_factory=list)
    other_reports: list[tuple[cst.CSTNode, str]] = field(default_factory=list)
    header_algorithms: list[tuple[cst.Call, cst.BaseExpression]] = field(default_factory=list)
    compared: set[str] = field(default_factory=set)
    unverified_claims: dict[str, cst.Call] = field(default_factory=dict)  # qualified result -> the call
    deciding: dict[cst.Call, str] = field(default_factory=dict)  # unverified-claims call -> how it decides
    returned: set[cst.Call] = field(default_factory=set)  # unverified decodes whose result the function returns


class JwtVerificationDisabled(Check):
    rule_id = "RV305"
    triggers = ("jwt", "jose")

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict[str, Any]) -> None:
        super().__init__(ctx, spec, options)
        self._scopes: list[_JwtScope] = [_JwtScope()]
        # Names bound to dict literals, per scope: ``options = {"verify_signature": False}``.
        self._dicts: dict[tuple[int, str], cst.Dict] = {}
        # Calls whose result is bound to a plain name, or read at once with a constant key: node id -> name / key.
        self._bound_to: dict[int, str] = {}
        self._read_key: dict[int, str] = {}
        self._branches: set[int] = set()  # ids of blocks that run on some paths only
        self._fixes: dict[cst.Call, NodeFix] = {}  # unverified decodes -> how to turn verification back on

    @property
    def _scope(self) -> _JwtScope:
        return self._scopes[-1]

    def _scope_key(self) -> int:
        node = self.ctx.function_node
        return id(node) if node is not None else 0  # 0: the module body, which lookups fall back to

    def visit_Module(self, node: cst.Module) -> None:
        self._scope.node = node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scopes.append(_JwtScope(node))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._flush(self._scopes.pop())

    def leave_Module(self, original_node: cst.Module) -> None:
        self._flush(self._scopes.pop())

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self._bound_to[id(node.value)] = node.targets[0].target.value
        if isinstance(node.value, cst.Dict):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self._dicts[(self._scope_key(), target.target.value)] = node.value

    def visit_Subscript(self, node: cst.Subscript) -> None:
        key = subscript_key(node)
        if key is not None:
            self._read_key[id(node.value)] = key

    def visit_Comparison(self, node: cst.Comparison) -> None:
        self._scope.compared.add(_code(node.left))
        for target in node.comparisons:
            self._scope.compared.add(_code(target.comparator))

    def visit_Call(self, node: cst.Call) -> None:
        name = self.ctx.qualified_name(node.func)
        if name is None:
            self._note_verification(node)
            return
        if _PYJWT_DECODE.fullmatch(name) or _JOSE_DECODE.fullmatch(name):
            self._check_decode(node, name)
        elif _SIMPLEJWT_DECODE.fullmatch(name):
            self._check_simplejwt(node)
        elif _OTHER_VERIFYING_DECODE.fullmatch(name):
            self._note_verifying_decode()
        elif _UNVERIFIED_CLAIMS.fullmatch(name):
            self._scope.unverified_claims.setdefault(f"{name}()", node)
        else:
            self._note_verification(node)

    def leave_Call(self, original_node: cst.Call) -> None:
        self._note_lookup(original_node)

    def _check_decode(self, call: cst.Call, name: str) -> None:
        written = f"`{shape(call.func)}()`"
        token = argument(call, 0, "jwt", "token")
        # A result read once for a key that picks the verification key (`["iss"]`, `["header"]`) is a peek.
        peek = self._read_key.get(id(call)) in _PEEKED_KEYS
        use = (_code(token) if token is not None else None, self._bound_to.get(id(call)))
        disabled = [key for key, value in self._options(call) if key in _DISABLED_CHECKS and _is_false(value)]
        legacy_unverified = name.startswith("jwt.") and _is_false(argument(call, None, "verify"))
        if legacy_unverified or "verify_signature" in disabled:
            # One finding per call: what else is off matters little once the signature is not checked.
            if legacy_unverified:
                message = (f"{written} with `verify=False` does not verify the signature (PyJWT 1.x): anyone can "
                           "forge the token; pass the key and `algorithms=[...]`")
            else:
                message = f"{written}: {_DISABLED_CHECKS['verify_signature']}"
            if not peek:
                self._scope.unverified_decodes.append((call, message, *use))
                fix = _legacy_verify_fix(call) if legacy_unverified else _options_fix(call)
                if fix is not None and not (legacy_unverified and "verify_signature" in disabled):
                    self._fixes[call] = fix
        else:
            self._note_verifying_decode()
            if disabled:
                self._scope.other_reports.append((call, f"{written}: {'; '.join(_DISABLED_CHECKS[k] for k in disabled)}"))
        algorithms = argument(call, 2, "algorithms")
        if algorithms is None:
            return
        elements = [e.value for e in algorithms.elements] if isinstance(algorithms, (cst.List, cst.Tuple, cst.Set)) \
            else [algorithms]
        for element in elements:
            text = string_value(element)
            if text is not None and text.lower() == "none":
                message = f"{written} accepts `alg: none`: unsigned tokens pass; list only the algorithms you issue"
                self._scope.other_reports.append((element, message))
            origin = self.ctx.qualified_name(element)
            if origin is not None and _UNVERIFIED_HEADER.match(origin):
                self._scope.header_algorithms.append((call, element))

    def _check_simplejwt(self, call: cst.Call) -> None:
        if not _is_false(argument(call, None, "verify")):
            self._note_verifying_decode()
            return
        if self._read_key.get(id(call)) in _PEEKED_KEYS:
            return
        token = argument(call, 0, "token")
        message = (f"`{shape(call.func)}()` with `verify=False` does not verify the signature or expiry: anyone can "
                   "forge the token")
        # The token classes and the backend then verify with the project's SIMPLE_JWT settings.
        self._fixes[call] = NodeFix("Remove `verify=False`", (remove_argument(call, keyword_arg(call, "verify")),))
        self._scope.unverified_decodes.append(
            (call, message, _code(token) if token is not None else None, self._bound_to.get(id(call)))
        )

    def _options(self, call: cst.Call) -> Iterator[tuple[str, cst.BaseExpression]]:
        options = argument(call, 3, "options")
        if isinstance(options, cst.Name):
            options = self._dicts.get((self._scope_key(), options.value)) or self._dicts.get((0, options.value))
        if isinstance(options, cst.Call) and self.ctx.qualified_name(options.func) == "builtins.dict":
            for arg in options.args:
                if arg.keyword is not None:
                    yield arg.keyword.value, arg.value
        elif isinstance(options, cst.Dict):
            for element in options.elements:
                if isinstance(element, cst.DictElement):
                    key = string_value(element.key)
                    if key is not None:
                        yield key, element.value

    # -- unverified claims deciding access ------------------------------------------------------------------------

    def _claims_call(self, node: cst.BaseExpression) -> cst.Call | None:
        """The unverified-claims call this expression's value comes from, if any."""
        name = self.ctx.qualified_name(node)
        if name is None:
            return None
        for result, call in self._scope.unverified_claims.items():
            if name.startswith(result):
                return call
        return None

    # Leave hooks: the claims call may be inside the condition or the returned expression, visited after its parent.

    def leave_If(self, original_node: cst.If) -> None:
        self._note_condition(original_node.test)
        self._leave_block(original_node)

    def leave_While(self, original_node: cst.While) -> None:
        self._note_condition(original_node.test)

    def leave_IfExp(self, original_node: cst.IfExp) -> None:
        self._note_condition(original_node.test)

    def _note_condition(self, test: cst.BaseExpression) -> None:
        if not self._scope.unverified_claims:
            return
        pending: list[cst.CSTNode] = [test]
        while pending:
            current = pending.pop()
            if isinstance(current, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)):
                call = self._claims_call(current)
                if call is not None:
                    self._scope.deciding.setdefault(call, "decide a condition")
                    return
            pending.extend(current.children)

    def leave_Return(self, original_node: cst.Return) -> None:
        value = original_node.value
        if value is None:
            return
        for call, _, _, bound in self._scope.unverified_decodes:
            if value is call or (isinstance(value, cst.Name) and value.value == bound):
                self._scope.returned.add(call)
        frame = self.ctx.function_frame
        if frame is None or not isinstance(frame.node, cst.FunctionDef):
            return
        if not _AUTH_WORDS & set(name_words(frame.node.name.value)):
            return
        call = self._claims_call(value)
        if call is not None:
            self._scope.deciding.setdefault(call, f"are returned by `{frame.node.name.value}()`")

    def _note_lookup(self, call: cst.Call) -> None:
        if not self._scope.unverified_claims:
            return
        func = call.func
        method = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) \
            else None
        if method not in _LOOKUP_METHODS:
            return
        for arg in call.args:
            found = self._claims_call(arg.value)
            if found is not None:
                self._scope.deciding.setdefault(found, f"look up `{shape(func)}()`")
                return

    def _note_verifying_decode(self) -> None:
        self._scope.verifying_decodes += 1
        if not self._scope.conditional_depth:
            self._scope.always_verifying_decodes += 1

    def _add_verified_tokens(self, tokens: set[str]) -> None:
        self._scope.verified_tokens |= tokens
        if not self._scope.conditional_depth:
            self._scope.always_verified_tokens |= tokens

    # -- which code runs on every path ----------------------------------------------------------------------------
    # The bodies of `if`/`else`, loops, `except` and `case` blocks run on some paths only; an `if` test runs on all.

    def _mark_branches(self, *parts: cst.CSTNode | None) -> None:
        self._branches.update(id(part) for part in parts if part is not None)

    def _enter_block(self, node: cst.CSTNode) -> None:
        if id(node) in self._branches:
            self._scope.conditional_depth += 1

    def _leave_block(self, original_node: cst.CSTNode) -> None:
        if id(original_node) in self._branches:
            self._scope.conditional_depth -= 1

    def visit_If(self, node: cst.If) -> None:
        self._enter_block(node)  # an `elif`
        self._mark_branches(node.body, node.orelse)

    def visit_For(self, node: cst.For) -> None:
        self._mark_branches(node.body, node.orelse)

    def visit_While(self, node: cst.While) -> None:
        self._mark_branches(node.body, node.orelse)

    def visit_Try(self, node: cst.Try) -> None:
        self._mark_branches(*node.handlers, node.orelse)

    def visit_Match(self, node: cst.Match) -> None:
        self._mark_branches(*node.cases)

    visit_IndentedBlock = visit_SimpleStatementSuite = visit_Else = visit_ExceptHandler = visit_MatchCase = _enter_block
    leave_IndentedBlock = leave_SimpleStatementSuite = leave_Else = leave_ExceptHandler = leave_MatchCase = _leave_block

    def _note_verification(self, call: cst.Call) -> None:
        """A token handed to a function named for decoding, verifying or validating (``self._validate_jwt(token,
        jwks)``, ``_decode_jwt(**kwargs)`` with the token in ``kwargs``) is verified there."""
        func = call.func
        called = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) \
            else ""
        if not _VERIFYING_WORDS & set(name_words(called)):
            return
        for arg in call.args:
            passed = arg.value
            if arg.star == "**" and isinstance(passed, cst.Name):
                bound = self._dicts.get((self._scope_key(), passed.value))
                if bound is not None:
                    self._add_verified_tokens(
                        {_code(element.value) for element in bound.elements if isinstance(element, cst.DictElement)}
                    )
            else:
                self._add_verified_tokens({_code(passed)})

    # -- reporting ------------------------------------------------------------------------------------------------

    def _flush(self, scope: _JwtScope) -> None:
        # An unverified decode next to a verifying one is a peek (at `iss` or `kid`, to pick the key), unless its
        # result is what the function returns: then verification is only one of the paths.
        for call, message, token, bound in scope.unverified_decodes:
            if call in scope.returned:
                peek = bool(scope.always_verifying_decodes) or token in scope.always_verified_tokens
            else:
                peek = (
                    bool(scope.verifying_decodes)
                    or token in scope.verified_tokens
                    or (bound is not None and _only_peeked(scope.node, bound))
                )
            if not peek:
                self.report(call, message, fix=self._fixes.get(call))
        if not scope.verifying_decodes:
            for call, how in scope.deciding.items():
                token = argument(call, 0, "token")
                if token is not None and _code(token) in scope.verified_tokens:
                    continue
                self.report(call, f"claims read without verifying the signature (`{shape(call.func)}()`) {how}: "
                                  "verify the token with `jwt.decode(token, key, algorithms=[...])` first")
        for node, message in scope.other_reports:
            self.report(node, message)
        for call, element in scope.header_algorithms:
            if _code(element) in scope.compared:
                continue  # checked against an allow-list first
            self.report(element, f"`{shape(call.func)}()` takes `algorithms` from the token's own header: the "
                                 "attacker picks the algorithm; list the algorithms you issue")



def _passes_key(call: cst.Call) -> bool:
    """A key is passed (not None, not empty): with verification back on, the decode can succeed."""
    key = argument(call, 1, "key")
    return key is not None and not (isinstance(key, cst.Name) and key.value == "None") and string_value(key) != ""


def _legacy_verify_fix(call: cst.Call) -> NodeFix | None:
    """PyJWT 1.x ``jwt.decode(token, key, verify=False)``: without ``verify=False`` it verifies with that key."""
    verify = keyword_arg(call, "verify")
    if verify is None or not _passes_key(call):
        return None
    return NodeFix("Remove `verify=False`", (remove_argument(call, verify),))


def _options_fix(call: cst.Call) -> NodeFix | None:
    """``options={"verify_signature": False}`` written in the call, with a key and ``algorithms`` passed (PyJWT 2
    requires them to verify): remove the entry, or the whole ``options=`` when it is its only entry. Options built
    elsewhere may be shared with other calls: no fix."""
    options_arg = keyword_arg(call, "options")
    if options_arg is None or not _passes_key(call) or argument(call, 2, "algorithms") is None:
        return None
    options = options_arg.value
    entries: list[tuple[cst.CSTNode, str | None, cst.BaseExpression]]
    if isinstance(options, cst.Dict):
        entries = [(element, string_value(element.key) if isinstance(element, cst.DictElement) else None,
                    element.value) for element in options.elements]
    elif isinstance(options, cst.Call) and isinstance(options.func, cst.Name) and options.func.value == "dict":
        entries = [(arg, arg.keyword.value if arg.keyword is not None else None, arg.value) for arg in options.args]
    else:
        return None
    found = [entry for entry, key, value in entries if key == "verify_signature" and _is_false(value)]
    if len(found) != 1 or any(key is None for _, key, _ in entries):
        return None
    description = "Remove `\"verify_signature\": False`"
    if len(entries) == 1:
        return NodeFix(description, (remove_argument(call, options_arg),))
    if isinstance(options, cst.Dict):
        return NodeFix(description, (remove_element(options, found[0]),))
    return NodeFix(description, (remove_argument(options, found[0]),))


_VERIFYING_WORDS = frozenset({"verify", "validate", "verified", "validated", "decode"})
_PEEKED_KEYS = frozenset({"header", "kid", "iss", "alg", "typ"})


def _only_peeked(scope: cst.CSTNode | None, name: str) -> bool:
    """Whether every read of ``name`` in ``scope`` takes a key that only helps choose the verification key
    (``unverified["header"]``, ``claims.get("iss")``)."""
    if scope is None:
        return False
    pending: list[cst.CSTNode] = [scope]
    while pending:
        node = pending.pop()
        if isinstance(node, cst.AssignTarget) and isinstance(node.target, cst.Name) and node.target.value == name:
            continue
        if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name) and node.value.value == name:
            if subscript_key(node) not in _PEEKED_KEYS:
                return False
            continue
        if (
            isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "get"
            and isinstance(node.func.value, cst.Name) and node.func.value.value == name
        ):
            if string_value(argument(node, 0) or cst.Name("_")) not in _PEEKED_KEYS:
                return False
            continue
        if isinstance(node, cst.Name) and node.value == name:
            return False
        pending.extend(node.children)
    return True


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)
