"""RV302 plaintext-password: a password stored, persisted or compared without a slow salted hash.

What the rule reports, always about a value it has evidence is a plain password (a ``password``-named parameter,
variable, attribute or request field, ``getpass()``, or a local assigned from one, followed through the
function's assignments):

- Django: ``user.password = raw``; ``User.objects.create(password=raw)``, ``.update(password=raw)``, the
  ``defaults`` of ``get_or_create``/``update_or_create``; ``User(password=raw)`` confirmed as a Django model by
  the project; a weak first entry in ``PASSWORD_HASHERS`` outside test settings;
- SQLAlchemy/SQLModel: ``Account(password=raw)`` persisted with ``session.add()`` in the same function, and
  ``account.password = raw``, when the model is defined in the same module with a plain ``password`` column
  (elsewhere, a ``password`` property or synonym whose setter hashes is too common to assume a plain column);
- SQLAlchemy ``insert(...).values(password=raw)``/``update(...)``, and SQL ``INSERT``/``UPDATE`` strings that set
  a password column from such a value;
- the value kept in a session, a cookie or a cache;
- a fast hash (``hashlib.md5``/``sha*``/``blake2*``) of the password; ``base64`` of it stored as the password;
- ``==``/``!=`` between a submitted password and a stored or configured one.

Deliberately not reported: values that went through a password hasher (recognised by qualified name, or a call
whose name says it hashes or encrypts), ``None``/``""`` and other literals (RV301's concern), copying one user's
stored hash to another, form and serializer fields, comparing two submitted values (``password1 == password2``),
models whose name does not say they hold accounts (an SMTP account's or a database connection's password must be
reversible: encrypting it is a different fix), and test code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import (
    Check,
    FileContext,
    Report,
    argument,
    bound_names,
    last_name,
    pattern_to_regex,
    shape,
    string_value,
    subscript_key,
)
from reviewer.checks.django_orm import is_class_name, split_at_manager
from reviewer.checks.sensitive import is_password_name, name_words


def _names_matcher(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern_to_regex(pattern)})" for pattern in patterns))


# Password hashers by qualified name: salted and slow by design.
PASSWORD_HASHERS = _names_matcher(
    "django.contrib.auth.hashers.{make_password,*PasswordHasher().encode}",
    "werkzeug.security.generate_password_hash",
    "werkzeug.generate_password_hash",
    "flask_bcrypt.{generate_password_hash,Bcrypt().generate_password_hash}",
    "bcrypt.{hashpw,kdf}",
    "argon2.{PasswordHasher().hash,hash_password,low_level.hash_secret,low_level.hash_secret_raw}",
    "passlib.context.CryptContext().{hash,encrypt}",
    "passlib.{hash,apps}.**.{hash,encrypt}",
    "hashlib.{pbkdf2_hmac,scrypt}",
    "crypt.crypt",
    "fastapi_users.password.PasswordHelper().hash",
)

# Words in the name of an unresolved function that say its result is no longer the plain password.
HASHING_WORDS = frozenset({
    "hash", "hashed", "hashpw", "encrypt", "encrypted", "crypt", "digest", "hexdigest", "kdf", "derive", "pbkdf2",
    "bcrypt", "argon2", "scrypt", "hmac", "sign", "signed", "unusable",
})

FAST_HASHES = _names_matcher(
    "hashlib.{md5,sha1,sha224,sha256,sha384,sha512,blake2b,blake2s,sha3_224,sha3_256,sha3_384,sha3_512}",
)
FAST_HASH_UPDATES = _names_matcher(
    "hashlib.{md5,sha1,sha224,sha256,sha384,sha512,blake2b,blake2s,sha3_224,sha3_256,sha3_384,sha3_512,new}()"
    ".update",
)
ENCODINGS = _names_matcher("base64.*", "codecs.encode", "binascii.{hexlify,b2a_*}")

# Calls whose result is their argument (or receiver) in another form.
PASS_THROUGH = frozenset({"str", "bytes", "encode", "decode", "strip", "lstrip", "rstrip"})

# A receiver named with one of these words holds an account: its ``password`` is the stored one.
USER_WORDS = frozenset({
    "user", "users", "account", "accounts", "member", "members", "customer", "customers", "admin", "admins",
    "superuser", "person", "profile", "staff", "employee", "employees", "subscriber", "owner", "player", "student",
    "principal", "identity", "usr",
})
USER_BASES = frozenset({
    "django.contrib.auth.models.AbstractUser",
    "django.contrib.auth.models.AbstractBaseUser",
    "django.contrib.auth.base_user.AbstractBaseUser",
    "django.contrib.auth.models.User",
    "flask_login.UserMixin",
    "flask_login.mixins.UserMixin",
})
# Calls returning a user object (besides lookups on a user model).
USER_GETTERS = _names_matcher(
    "django.contrib.auth.{authenticate,get_user,aauthenticate,aget_user}", "flask_login.current_user",
)
DJANGO_USER_MODELS = frozenset({"django.contrib.auth.models.User", "django.contrib.auth.get_user_model()"})
# Words before ``password`` in a variable name saying it holds the stored value, not a submitted one.
STORED_WORDS = frozenset({"stored", "saved", "expected", "correct", "real", "actual", "db"})

# Django manager/queryset methods that write the keyword arguments (and ``defaults``) they get.
WRITING_MANAGER_METHODS = frozenset({"create", "update", "get_or_create", "update_or_create", "acreate",
                                     "aupdate", "aget_or_create", "aupdate_or_create"})
SESSION_NAMES = _names_matcher("{flask,quart,starlette.requests.Request()}.session")
CACHE_SETTERS = _names_matcher(
    "django.core.cache.{cache,caches[]}.{set,add,get_or_set}",
    "flask_caching.Cache().{set,add}",
)
SQLALCHEMY_WRITES = _names_matcher(
    "sqlalchemy.{insert,update}",
    "sqlalchemy.{sql,sql.expression,dialects.*,dialects.*.*}.{insert,update}",
    "sqlmodel.{insert,update}",
)
SQL_INSERT = re.compile(r"\binsert\s+(?:or\s+\w+\s+)?into\s+[\w.\"`\[\]]+\s*\(([^)]*)\)", re.IGNORECASE)
SQL_UPDATE = re.compile(r"\bupdate\s+[\w.\"`\[\]]+\s+set\s+(.*?)(?:\bwhere\b|\breturning\b|\bfrom\b|$)",
                        re.IGNORECASE | re.DOTALL)

WEAK_DJANGO_HASHERS = frozenset(
    f"django.contrib.auth.hashers.{name}"
    for name in ("MD5PasswordHasher", "UnsaltedMD5PasswordHasher", "UnsaltedSHA1PasswordHasher",
                 "SHA1PasswordHasher", "CryptPasswordHasher")
)




def is_password_column(name: str) -> bool:
    """A name holding a password itself: ``password``, ``db_passwd``, Django forms' ``password1``/``password2``."""
    return is_password_name(name.rstrip("0123456789_") or name)


def _path_to(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode] | None:
    """The nodes from ``root`` down to ``target`` (both included), or None when ``target`` is not inside it."""
    if root is target:
        return [root]
    for child in root.children:
        path = _path_to(child, target)
        if path is not None:
            return [root, *path]
    return None


def _is_conversion(path: list[cst.CSTNode], arg: cst.Arg) -> bool:
    """``str(digest)``, ``bytes(digest)``: the argument's call shows the digest in another form."""
    index = path.index(arg)
    call = path[index - 1] if index else None
    return isinstance(call, cst.Call) and last_name(call.func) in PASS_THROUGH


HASH_NAME_WORDS = frozenset({"hash", "hashed", "digest", "encrypted", "crypted", "encoded", "hashpw"})


def _names_a_password_hash(name: str) -> bool:
    """``password``, ``password_hash``, ``hashed``, ``pwd_digest``: a name for a password or its hash."""
    words = set(name_words(name))
    return is_password_column(name) or bool(words & HASH_NAME_WORDS) or bool(
        words & {"password", "passwd", "pwd", "passphrase"})


COLUMN_FACTORIES = frozenset({"Column", "mapped_column", "Field"})


def _plain_password_column(node: cst.ClassDef) -> bool:
    """A class body declaring a ``password`` column as a plain column, with no property, synonym or hybrid
    attribute of that name that could hash the value on the way in."""
    plain = False
    for statement in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
        if isinstance(statement, cst.FunctionDef) and is_password_column(statement.name.value):
            return False
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target, value = small.targets[0].target, small.value
            elif isinstance(small, cst.AnnAssign) and small.value is not None:
                target, value = small.target, small.value
            else:
                continue
            if not (isinstance(target, cst.Name) and is_password_column(target.value)):
                continue
            if not (isinstance(value, cst.Call) and last_name(value.func) in COLUMN_FACTORIES):
                return False
            plain = True
    return plain




# Trailing words that keep a name about the account itself: ``user_obj``, ``account_record``.
OBJECT_SUFFIXES = frozenset({"obj", "object", "instance", "record", "row", "model", "entity", "db", "orm"})


def has_user_word(name: str) -> bool:
    """``user``, ``new_user``, ``request.user``, ``user_obj``, ``CustomUser``; not ``user_data``, ``user_in``,
    ``UserForm`` (what was submitted about a user)."""
    words = list(name_words(name))
    while len(words) > 1 and words[-1] in OBJECT_SUFFIXES:
        words.pop()
    return bool(words) and words[-1] in USER_WORDS



# What a value is, as far as passwords go.
RAW = "raw"  # a plain password
ENCODED = "encoded"  # a plain password in base64 or hex: still plain
HASHED = "hashed"  # went through a hasher (or a function named like one)
STORED = "stored"  # an account's stored password (a hash, normally)
CONFIGURED = "configured"  # a password from the settings
USER = "user"  # an account object
LITERAL = "literal"  # None, "" or another literal: an unusable password, or RV301's concern


@dataclass(frozen=True)
class Binding:
    kind: str | None
    text: str | None = None  # the string a local was assigned, for SQL


@dataclass
class PendingConstructor:
    """``Model(password=raw)`` waiting for the end of its function to learn whether the object is persisted."""

    call: cst.Call
    value: cst.BaseExpression  # the password argument
    statement: cst.CSTNode | None
    message: str
    model: str
    target: str | None  # the name the object was assigned to


class PlaintextPassword(Check):
    rule_id = "RV302"
    triggers = ("pass", "Pass", "PASS", "pwd", "Pwd", "PWD")
    requires_facts = ("class-bases",)  # `User(password=raw)` counts only if the project says User is a model

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict[str, Any]) -> None:
        super().__init__(ctx, spec, options)
        # Per function node (None: the module): local name -> what it was last assigned.
        self._locals: dict[cst.CSTNode | None, dict[str, Binding]] = {}
        self._pending: dict[cst.CSTNode | None, list[PendingConstructor]] = {}
        # Per function: names and call nodes handed to ``session.add()`` (persisted ORM objects).
        self._persisted: dict[cst.CSTNode | None, set[str | cst.CSTNode]] = {}
        self._constructed: dict[cst.CSTNode, PendingConstructor] = {}
        # Classes of this file with a plain ``password`` column (no property or synonym that could hash it).
        self._plain_models: set[str] = set()

    # -- values ---------------------------------------------------------------------------------------------------

    def _binding(self, name: str) -> Binding | None:
        found, _ = self.ctx.lookup(name)
        if not found:
            return None
        return self._locals.get(self.ctx.function_node, {}).get(name)

    def _in_user_class(self) -> bool:
        for frame in reversed(self.ctx.frames):
            if frame.kind == "class" and isinstance(frame.node, cst.ClassDef):
                bases = {self.ctx.qualified_name(arg.value) for arg in frame.node.bases if arg.keyword is None}
                return has_user_word(frame.node.name.value) or bool(bases & USER_BASES)
        return False

    def _qualified(self, node: cst.BaseExpression) -> str | None:
        """The qualified name, naming an unresolved CapWords root as itself (a model defined later or elsewhere)."""
        return self.ctx.qualified_name(node, lambda root: root.value if is_class_name(root.value) else None)

    def _is_user_model(self, model: str) -> bool:
        return model in DJANGO_USER_MODELS or (
            is_class_name(model.rsplit(".", 1)[-1]) and has_user_word(model.rsplit(".", 1)[-1])
        )

    def _is_user(self, node: cst.BaseExpression) -> bool:
        """Whether ``node`` holds an account object (whose ``password`` is the stored one)."""
        if isinstance(node, cst.Name):
            if node.value == "self":
                return self._in_user_class()
            binding = self._binding(node.value)
            if binding is not None and binding.kind == USER:
                return True
            return has_user_word(node.value) and not is_class_name(node.value)
        if isinstance(node, cst.Attribute):
            return has_user_word(node.attr.value) and not is_class_name(node.attr.value)
        if isinstance(node, cst.Subscript):
            return self._is_user(node.value)
        if isinstance(node, cst.Await):
            return self._is_user(node.expression)
        if isinstance(node, cst.Call):
            name = self._qualified(node.func)
            if name is None:
                return False
            if USER_GETTERS.fullmatch(name):
                return True
            if name.endswith(("create_user()", "create_superuser()")):
                return True
            segments = name.replace("()", "").split(".")
            return any(self._is_user_model(segment) for segment in segments if segment) or any(
                model in name for model in DJANGO_USER_MODELS
            )
        return False

    def _classify(self, node: cst.BaseExpression) -> str | None:
        """RAW, ENCODED, HASHED, STORED, CONFIGURED, USER, LITERAL, or None when nothing says what ``node``
        holds."""
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer)) or (
                isinstance(node, cst.Name) and node.value == "None"):
            return LITERAL
        if isinstance(node, cst.Name):
            binding = self._binding(node.value)
            if binding is not None and (binding.kind is not None or not is_password_column(node.value)):
                return binding.kind
            if not is_password_column(node.value):
                return None
            words = name_words(node.value)
            return STORED if len(words) > 1 and words[-2] in STORED_WORDS else RAW
        if isinstance(node, cst.Attribute):
            if node.attr.value == "data" and isinstance(node.value, (cst.Name, cst.Attribute)):
                # WTForms: ``form.password.data`` is what was submitted.
                inner = last_name(node.value)
                if inner is not None and is_password_column(inner):
                    return RAW
            if not is_password_column(node.attr.value):
                return None
            qualified = self.ctx.qualified_name(node)
            if qualified is not None and qualified.startswith(("django.conf.settings.", "flask.current_app.config")):
                return CONFIGURED
            return STORED if self._is_user(node.value) else RAW
        if isinstance(node, cst.Subscript):
            key = subscript_key(node)
            if key is None or not is_password_column(key):
                return None
            base = self.ctx.qualified_name(node.value) or ""
            if last_name(node.value) == "config" or base.endswith((".config", "os.environ")):
                return CONFIGURED
            return STORED if self._is_user(node.value) else RAW
        if isinstance(node, cst.Call):
            return self._classify_call(node)
        if isinstance(node, cst.Await):
            return self._classify(node.expression)
        if isinstance(node, (cst.IfExp, cst.BooleanOperation)):
            branches = (node.body, node.orelse) if isinstance(node, cst.IfExp) else (node.left, node.right)
            kinds = {self._classify(branch) for branch in branches}
            for kind in (HASHED, ENCODED, RAW, CONFIGURED):
                if kind in kinds:
                    return kind
            return None
        if isinstance(node, cst.BinaryOperation):
            kinds = {self._classify(node.left), self._classify(node.right)}
            return RAW if kinds & {RAW, ENCODED} else None
        if isinstance(node, cst.FormattedString):
            kinds = {self._classify(part.expression) for part in node.parts
                     if isinstance(part, cst.FormattedStringExpression)}
            return RAW if kinds & {RAW, ENCODED} else None
        return None

    def _classify_call(self, node: cst.Call) -> str | None:
        name = self.ctx.qualified_name(node.func)
        written = last_name(node.func) or ""
        if name is not None and PASSWORD_HASHERS.fullmatch(name):
            return HASHED
        if name is not None and ENCODINGS.fullmatch(name):
            encoded = argument(node, 0)
            return ENCODED if encoded is not None and self._classify(encoded) in (RAW, ENCODED) else None
        if written in ("hex",) and isinstance(node.func, cst.Attribute):
            return ENCODED if self._classify(node.func.value) in (RAW, ENCODED) else None
        if written == "make_password" or any(word in HASHING_WORDS for word in name_words(written)):
            return HASHED
        if written in PASS_THROUGH:
            if isinstance(node.func, cst.Attribute):
                return self._classify(node.func.value)
            passed = argument(node, 0)
            return self._classify(passed) if passed is not None else None
        if name == "getpass.getpass":
            return RAW
        if written in ("get", "pop", "getenv", "getlist") and isinstance(node.func, (cst.Attribute, cst.Name)):
            key = string_value(argument(node, 0))
            if key is None or not is_password_column(key):
                return USER if self._is_user(node) else None
            if name in ("os.getenv", "os.environ.get"):
                return CONFIGURED
            receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
            if receiver is not None and (last_name(receiver) == "config" or
                                         (self.ctx.qualified_name(receiver) or "").endswith(".config")):
                return CONFIGURED
            return STORED if receiver is not None and self._is_user(receiver) else RAW
        if self._is_user(node):
            return USER
        return None

    # -- bindings -------------------------------------------------------------------------------------------------

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        scope = self._locals.setdefault(self.ctx.function_node, {})
        names = bound_names(target)
        if isinstance(target, cst.Name) and value is not None:
            kind = self._classify(value)
            if kind is None and isinstance(value, cst.Call) and is_password_column(target.value):
                # ``password = generate_password()``: a fresh plain password, unless the call hashes.
                kind = RAW
            scope[target.value] = Binding(kind, string_value(value))
            return
        for name in names:
            scope[name] = Binding(None)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            self._bind(target.target, original_node.value)
            pending = self._constructed.get(original_node.value)
            if pending is not None and isinstance(target.target, cst.Name):
                pending.target = target.target.value

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        self._bind(original_node.target, original_node.value)

    def leave_AugAssign(self, original_node: cst.AugAssign) -> None:
        self._bind(original_node.target, None)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target, None)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._locals[node] = {}

    # -- visitors -------------------------------------------------------------------------------------------------

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.ctx.at_module_level:
            for target in node.targets:
                if isinstance(target.target, cst.Name) and target.target.value == "PASSWORD_HASHERS":
                    self._check_hashers_setting(node.value)
        for target in node.targets:
            self._check_assignment(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check_assignment(node.target, node.value)

    def _check_assignment(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        kind = self._classify(value)
        if kind not in (RAW, ENCODED, CONFIGURED):
            return
        if isinstance(target, cst.Attribute) and is_password_column(target.attr.value) \
                and self._is_user(target.value) and self._plain_password_attribute(target.value):
            self.report(value, self._stored_message(f"`{shape(target)}`", kind, "set_password()` or `make_password()"))
        elif isinstance(target, cst.Subscript) and self._is_session(target.value):
            self.report(value, "A plain password is kept in the session: keep only what the session needs (the "
                               "user id, or a flag that the password was checked)")

    def _in_django_code(self) -> bool:
        return any(value and value.startswith("django.") for value in self.ctx.frames[0].bindings.values())

    def _plain_password_attribute(self, receiver: cst.BaseExpression) -> bool:
        """Whether setting ``password`` on this account object stores the value as it is. Django's user model
        has a plain ``password`` column; elsewhere (SQLAlchemy) a ``password`` property or synonym that hashes in
        its setter is common, so the model must be in this file with a plain ``password`` column."""
        if self._in_django_code():
            return True
        if isinstance(receiver, cst.Name) and receiver.value == "self":
            owner = next((f.node for f in reversed(self.ctx.frames) if f.kind == "class"), None)
            return isinstance(owner, cst.ClassDef) and owner.name.value in self._plain_models
        return any(has_user_word(model) for model in self._plain_models)

    def visit_Module(self, node: cst.Module) -> None:
        for statement in node.body:
            if isinstance(statement, cst.ClassDef) and _plain_password_column(statement):
                self._plain_models.add(statement.name.value)

    def _stored_message(self, where: str, kind: str | None, advice: str) -> str:
        encoded = " (base64 or hex is an encoding, not a hash)" if kind == ENCODED else ""
        return f"Plain password stored in {where}{encoded}: hash it with `{advice}`"

    def _is_session(self, node: cst.BaseExpression) -> bool:
        qualified = self.ctx.qualified_name(node)
        if qualified is not None and SESSION_NAMES.fullmatch(qualified):
            return True
        # Item assignment rules out a database session: what is written into is a web session.
        return last_name(node) == "session"

    def _check_hashers_setting(self, value: cst.BaseExpression) -> None:
        if any(word in {"test", "tests", "testing"} for word in name_words(self.ctx.module)):
            return  # test settings pick a fast hasher on purpose
        if not isinstance(value, (cst.List, cst.Tuple)) or not value.elements:
            return
        first = value.elements[0].value
        hasher = string_value(first)
        if hasher in WEAK_DJANGO_HASHERS:
            self.report(first, f"`{hasher.rsplit('.', 1)[-1]}` is the first of `PASSWORD_HASHERS`: new passwords "
                               "are stored with a fast, broken hash; put `Argon2PasswordHasher` or "
                               "`PBKDF2PasswordHasher` first")

    def visit_Call(self, node: cst.Call) -> None:
        name = self._qualified(node.func)
        written = last_name(node.func)
        if written in ("add", "add_all", "merge") and isinstance(node.func, cst.Attribute):
            self._note_persisted(node)
        if written in ("set_cookie", "set_signed_cookie"):
            self._check_stored_argument(node, 1, "value", "a cookie")
        elif (name is not None and CACHE_SETTERS.fullmatch(name)) or (
                written in ("set", "add") and isinstance(node.func, cst.Attribute)
                and last_name(node.func.value) == "cache"):
            self._check_stored_argument(node, 1, "value", "the cache")
        elif written in ("execute", "executemany", "exec_driver_sql"):
            self._check_sql(node)
        elif written == "values" and isinstance(node.func, cst.Attribute):
            self._check_values(node)
        if name is None:
            return
        if FAST_HASHES.fullmatch(name) or name == "hashlib.new" or FAST_HASH_UPDATES.fullmatch(name):
            self._check_fast_hash(node, name)
            return
        chain = split_at_manager(name)
        if chain is not None and chain[1] and chain[1][-1] in WRITING_MANAGER_METHODS:
            if self._is_user_model(chain[0]):
                self._check_keywords(node, f"`{shape(node.func)}()`", "create_user()` or `make_password()")
        elif is_class_name(name.rsplit(".", 1)[-1]) or name in DJANGO_USER_MODELS:
            self._check_constructor(node, name)

    def _check_stored_argument(self, call: cst.Call, index: int, keyword: str, where: str) -> None:
        value = argument(call, index, keyword)
        if value is not None and self._classify(value) in (RAW, ENCODED):
            self.report(value, f"A plain password is stored in {where}: never keep the password itself; keep the "
                               "user id or a token")

    def _password_values(self, call: cst.Call) -> list[tuple[str, cst.BaseExpression]]:
        """Keyword arguments (and ``defaults={...}`` / dict argument entries) naming a password column."""
        found = []
        for arg in call.args:
            if arg.keyword is not None and is_password_column(arg.keyword.value):
                found.append((arg.keyword.value, arg.value))
            elif isinstance(arg.value, cst.Dict) and (arg.keyword is None or arg.keyword.value == "defaults"):
                for element in arg.value.elements:
                    if isinstance(element, cst.DictElement):
                        key = string_value(element.key) or (last_name(element.key) if isinstance(
                            element.key, cst.Attribute) else None)
                        if key is not None and is_password_column(key):
                            found.append((key, element.value))
        return found

    def _raw_password_arguments(self, call: cst.Call) -> list[tuple[str, cst.BaseExpression, str]]:
        return [(column, value, kind) for column, value in self._password_values(call)
                if (kind := self._classify(value)) in (RAW, ENCODED, CONFIGURED)]

    def _check_keywords(self, call: cst.Call, where: str, advice: str) -> None:
        for column, value, kind in self._raw_password_arguments(call):
            self.report(value, self._stored_message(f"`{column}` by {where}", kind, advice))

    def _check_values(self, call: cst.Call) -> None:
        """SQLAlchemy ``insert(users).values(password=raw)``, ``users.update().values(...)``."""
        receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
        writes = False
        while isinstance(receiver, (cst.Call, cst.Attribute)):
            if isinstance(receiver, cst.Call):
                called = self.ctx.qualified_name(receiver.func) or ""
                if SQLALCHEMY_WRITES.fullmatch(called) or last_name(receiver.func) in ("insert", "update"):
                    writes = True
                    break
                receiver = receiver.func
            else:
                receiver = receiver.value
        if writes:
            self._check_keywords(call, f"`{shape(call.func)}()`", "a password hasher (passlib, bcrypt, argon2)")

    def _check_sql(self, call: cst.Call) -> None:
        statement = argument(call, 0)
        if statement is None:
            return
        if isinstance(statement, cst.Call) and argument(statement, 0) is not None:
            statement = argument(statement, 0)  # text("...") / sql.SQL("...")
        text = string_value(statement)
        if text is None and isinstance(statement, cst.Name):
            binding = self._binding(statement.value)
            text = binding.text if binding is not None else None
        if text is None and isinstance(statement, cst.FormattedString):
            text = "".join(part.value for part in statement.parts if isinstance(part, cst.FormattedStringText))
        if text is None or not self._sets_password_column(text):
            return
        candidates: list[cst.BaseExpression] = []
        if isinstance(statement, cst.FormattedString):
            candidates += [part.expression for part in statement.parts
                           if isinstance(part, cst.FormattedStringExpression)]
        parameters = argument(call, 1, "parameters") or argument(call, 1, "params")
        if isinstance(parameters, (cst.Tuple, cst.List)):
            candidates += [element.value for element in parameters.elements]
        elif isinstance(parameters, cst.Dict):
            candidates += [element.value for element in parameters.elements if isinstance(element, cst.DictElement)]
        elif parameters is not None:
            candidates.append(parameters)
        for candidate in candidates:
            kind = self._classify(candidate)
            if kind in (RAW, ENCODED):
                self.report(candidate, self._stored_message("a password column by SQL", kind,
                                                            "a password hasher (passlib, bcrypt, argon2)"))

    @staticmethod
    def _sets_password_column(sql: str) -> bool:
        columns: list[str] = []
        for match in SQL_INSERT.finditer(sql):
            columns += match.group(1).split(",")
        for match in SQL_UPDATE.finditer(sql):
            columns += [assignment.split("=")[0] for assignment in match.group(1).split(",") if "=" in assignment]
        return any(is_password_column(column.strip().strip("\"`[]").rsplit(".", 1)[-1]) for column in columns)

    def _check_fast_hash(self, call: cst.Call, name: str) -> None:
        data = argument(call, 1, "data") if name == "hashlib.new" else argument(call, 0, "string")
        if data is None and name != "hashlib.new":
            data = argument(call, 0, "data")
        if data is None or self._classify(data) not in (RAW, ENCODED):
            return
        if not self._used_as_password_hash(call):
            return
        function = name.removesuffix("().update").removeprefix("hashlib.")
        self.report(call, f"`{shape(call.func)}()` hashes a password with {function}, a fast hash: one GPU tries "
                          "billions a second; use a password hasher (`make_password`, `argon2`, `bcrypt`, "
                          "`hashlib.scrypt`)")

    def _used_as_password_hash(self, call: cst.Call) -> bool:
        """Whether the digest is kept or checked as the password's hash: returned, assigned to a name saying so,
        passed as a password or hash argument, or compared. Other uses of a fast hash of a password are protocols
        that need that very hash (Have I Been Pwned's SHA-1 range lookup, HTTP digest, MySQL's handshake)."""
        statement = self.ctx.statement
        path = _path_to(statement, call) if statement is not None else None
        if not path:
            return False
        user = path[-1]
        for parent in reversed(path[:-1]):
            # Climb through the hash object's own chain: ``.hexdigest()``, ``.digest().hex()``, ``str(...)``.
            if isinstance(parent, (cst.Attribute, cst.Call)) or (
                    isinstance(parent, cst.Arg) and parent.keyword is None and _is_conversion(path, parent)):
                user = parent
                continue
            user = parent
            break
        if user is call or isinstance(user, (cst.Attribute, cst.Call)):
            # The statement is the chain itself; a hasher object's ``update()`` is judged by what is assigned.
            user = statement
        if isinstance(user, (cst.Return, cst.Comparison)):
            return True
        if isinstance(user, cst.Arg):
            return user.keyword is not None and _names_a_password_hash(user.keyword.value)
        if isinstance(user, cst.DictElement):
            key = string_value(user.key)
            return key is not None and _names_a_password_hash(key)
        if isinstance(user, (cst.Assign, cst.AnnAssign)):
            targets = [t.target for t in user.targets] if isinstance(user, cst.Assign) else [user.target]
            for target in targets:
                written = last_name(target) or (subscript_key(target) if isinstance(
                    target, cst.Subscript) else None)
                if written is not None and _names_a_password_hash(written):
                    return True
        return False

    def _check_constructor(self, call: cst.Call, model: str) -> None:
        if not self._is_user_model(model):
            return
        raw = self._raw_password_arguments(call)
        if not raw:
            return
        column, value, kind = raw[0]
        message = self._stored_message(f"`{column}` by `{shape(call.func)}()`", kind, "create_user()`, "
                                       "`set_password()` or a password hasher")
        if model in DJANGO_USER_MODELS:
            self.report(value, message)
            return
        pending = PendingConstructor(call, value, self.ctx.statement, message, model, None)
        self._constructed[call] = pending
        self._pending.setdefault(self.ctx.function_node, []).append(pending)

    def _note_persisted(self, call: cst.Call) -> None:
        persisted = self._persisted.setdefault(self.ctx.function_node, set())
        for arg in call.args:
            values = [e.value for e in arg.value.elements] if isinstance(arg.value, (cst.List, cst.Tuple)) \
                else [arg.value]
            for value in values:
                persisted.add(value.value if isinstance(value, cst.Name) else value)

    def _flush(self, scope: cst.CSTNode | None) -> None:
        persisted = self._persisted.pop(scope, set())
        for pending in self._pending.pop(scope, []):
            added = pending.call in persisted or (pending.target is not None and pending.target in persisted)
            if added and pending.model.rsplit(".", 1)[-1] not in self._plain_models:
                continue  # persisted, but through a model this file does not show: its setter may hash
            model = pending.model if "." in pending.model else self.ctx.qualify(pending.model)
            requires = None if added else ("django-model", model)
            self.ctx.reports.append(Report(self.rule_id, pending.value, pending.statement, pending.message, requires))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._flush(original_node)
        self._locals.pop(original_node, None)

    def leave_Module(self, original_node: cst.Module) -> None:
        self._flush(None)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        left = node.left
        for target in node.comparisons:
            if isinstance(target.operator, (cst.Equal, cst.NotEqual)):
                kinds = {self._classify(left), self._classify(target.comparator)}
                if kinds & {RAW, ENCODED} and kinds & {STORED, CONFIGURED}:
                    stored = STORED if STORED in kinds else CONFIGURED
                    what = "the stored password" if stored == STORED else "a configured password"
                    self.report(node, f"A submitted password is compared with {what} by `==`/`!=`: store a hash "
                                      "and check it with `check_password()` / `check_password_hash()` / "
                                      "`bcrypt.checkpw()` (or `hmac.compare_digest()` on hashes)")
                    return
            left = target.comparator
