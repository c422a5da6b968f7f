"""RV304 sensitive-data-in-logs: a log call (or a ``print`` in server code) whose arguments carry a credential.

Log calls are recognised by qualified name: the ``logging`` module's functions, loggers from
``logging.getLogger()`` (bound to a module variable, ``self.logger`` or used directly), structlog and loguru
loggers (with ``bind()``/``opt()`` chains), and objects named like a logger (``logger``, ``log``, ``LOG``,
``app.logger``) whatever they were imported from.

What is looked at is the values the call is given: the arguments after the message, the parts of an f-string,
``%`` and ``.format()`` operands, ``extra=`` and structlog/loguru keyword arguments. A value leaks when it is

- a name, attribute or dict key whose last word says it holds a credential (``password``, ``api_key``,
  ``user.auth_token``, ``data["client_secret"]``; see :mod:`reviewer.checks.sensitive`), a one-time code or a
  card number, or a local assigned from one;
- an ``Authorization``/``Cookie`` header (``request.headers["Authorization"]``, ``META["HTTP_AUTHORIZATION"]``);
- a whole request dump: ``request.headers``, ``request.POST``, ``request.data``, ``request.json``,
  ``request.body``, ``request.META``, ``request.COOKIES``, ``request.form``, ``request.get_json()``.

Not reported: the word in the message text only, values passed through a function whose name says it masks
(``mask``, ``redact``, ``hash``, ``obfuscate``, ``len``, ``bool``, ``type``...), ``token is None`` tests and other
comparisons, attributes of a credential (``token.expires_at``), test code, and ``print`` outside server code
(command-line scripts, management commands).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import (
    Check,
    FileContext,
    bound_names,
    last_name,
    pattern_to_regex,
    shape,
    string_value,
    subscript_key,
)
from reviewer.checks.sensitive import name_words, sensitive_kind

LOG_METHODS = "{debug,info,warning,warn,error,exception,critical,fatal,log,msg,trace,success}"
_LOGGER_FACTORIES = (
    "{logging.getLogger,logging.getLoggerClass(),logging.LoggerAdapter,logging.Logger,structlog.get_logger,"
    "structlog.getLogger,structlog.stdlib.get_logger,structlog.wrap_logger,celery.utils.log.get_task_logger,"
    "logging.getLogger().getChild}()"
)
LOG_CALLS = re.compile("|".join(f"(?:{pattern_to_regex(pattern)})" for pattern in (
    f"logging.{LOG_METHODS}",
    f"{_LOGGER_FACTORIES}.{LOG_METHODS}",
    f"{_LOGGER_FACTORIES}.**.{{bind,new,opt,patch,contextualize}}().{LOG_METHODS}",
    f"loguru.logger.{LOG_METHODS}",
    f"loguru.logger.**.{{bind,opt,patch}}().{LOG_METHODS}",
)))
# Objects named like a logger, when the import table cannot say what they are (imported from a project module,
# passed in, an attribute of an app).
LOGGER_NAMES = frozenset({"logger", "log", "_logger", "_log", "LOGGER", "LOG", "_LOGGER", "_LOG", "logging_",
                          "audit_logger", "security_logger", "request_logger"})
LOG_METHOD_NAMES = frozenset(LOG_METHODS.strip("{}").split(","))
# Keyword arguments of the stdlib log methods that carry no data of their own.
STDLIB_KEYWORDS = frozenset({"exc_info", "stack_info", "stacklevel"})

# Words in a called function's name saying its result does not show the value.
MASKING_WORDS = frozenset({"mask", "masked", "redact", "redacted", "hash", "hashed", "obfuscate", "obfuscated",
                           "len", "bool", "type", "isinstance", "sanitize", "sanitized", "scrub", "scrubbed",
                           "censor", "censored", "hide", "hidden", "truncate", "truncated", "fingerprint",
                           "digest", "hexdigest", "id", "count", "exists", "present"})
# Calls whose result shows their argument (or receiver) as it is.
PASS_THROUGH = frozenset({"str", "repr", "format", "dumps", "dict", "list", "tuple", "encode", "decode", "strip",
                          "lstrip", "rstrip", "upper", "lower", "pformat", "vars", "items", "values", "copy",
                          "to_dict", "dict_items", "json"})

# Request attributes that hold the whole submitted data or every header.
REQUEST_DUMPS = frozenset({"headers", "POST", "data", "json", "body", "META", "COOKIES", "cookies", "form",
                           "values", "get_json"})
REQUEST_NAMES = frozenset({"request", "req"})
SENSITIVE_HEADERS = frozenset({"authorization", "http_authorization", "cookie", "http_cookie", "proxy_authorization",
                               "x_api_key", "x_auth_token", "set_cookie"})
# Qualifiers making ``token`` a position in a stream or a page, not a credential.
NON_CREDENTIAL_TOKEN_WORDS = frozenset({"next", "page", "pagination", "continuation", "sync", "cursor", "lexer",
                                        "parser", "syntax", "last", "current", "cancellation", "cancel", "end",
                                        "start", "stop", "eos", "bos", "pad", "unk", "sep", "special",
                                        "orm"})

SERVER_FRAMEWORKS = ("django", "flask", "fastapi", "starlette", "rest_framework", "aiohttp", "sanic", "tornado",
                     "falcon", "pyramid", "quart", "litestar", "bottle", "ninja")


def credential_name(name: str) -> str | None:
    """What credential a name holds (password, secret, token, key, credentials, one-time code, card number), or
    None."""
    kind = sensitive_kind(name)
    words = name_words(name)
    if kind == "token" and len(words) > 1 and words[-2] in NON_CREDENTIAL_TOKEN_WORDS:
        return None
    if kind is not None:
        return kind
    if not words:
        return None
    if words[-1] in ("otp", "totp", "cvv", "cvc", "cvv2"):
        return "one-time code" if words[-1] in ("otp", "totp") else "card code"
    if words[-2:] in (("card", "number"), ("cc", "number"), ("card", "num")) or (words[-1] == "pan" and len(words) > 1):
        return "card number"
    return None


def header_name(key: str) -> bool:
    return "_".join(name_words(key)) in SENSITIVE_HEADERS


@dataclass(frozen=True)
class Leak:
    node: cst.BaseExpression
    what: str  # "`password` (a password)"


class SensitiveDataInLogs(Check):
    rule_id = "RV304"
    triggers = ("log", "LOG", "Log", "print")

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict[str, Any]) -> None:
        super().__init__(ctx, spec, options)
        self._server_code: bool | None = None
        # Per function node (None: the module): local name -> the leak its value is, if any.
        self._locals: dict[cst.CSTNode | None, dict[str, Leak | None]] = {}

    # -- which calls log -----------------------------------------------------------------------------------------

    def _is_log_call(self, call: cst.Call) -> bool:
        name = self.ctx.qualified_name(call.func)
        if name is not None and LOG_CALLS.fullmatch(name):
            return True
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in LOG_METHOD_NAMES:
            return False
        receiver = func.value
        while isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute) \
                and receiver.func.attr.value in ("bind", "opt", "new", "patch"):
            receiver = receiver.func.value  # log.bind(user=...).info(...)
        owner = last_name(receiver)
        return owner in LOGGER_NAMES

    def _is_print_in_server_code(self, call: cst.Call) -> bool:
        if self.ctx.qualified_name(call.func) != "builtins.print":
            return False
        if self._server_code is None:
            module_parts = self.ctx.module.split(".")
            imported = {value.split(".")[0] for value in self.ctx.frames[0].bindings.values() if value}
            self._server_code = bool(imported & set(SERVER_FRAMEWORKS)) and not (
                "management" in module_parts or "scripts" in module_parts or module_parts[-1] in ("manage", "cli")
                or module_parts[-1] == "__main__"
            )
        return self._server_code

    # -- what leaks ----------------------------------------------------------------------------------------------

    def _leak(self, node: cst.BaseExpression, depth: int = 0) -> Leak | None:
        if depth > 8:
            return None
        if isinstance(node, cst.Name):
            found, _ = self.ctx.lookup(node.value)
            local = self._locals.get(self.ctx.function_node, {})
            if node.value not in local:
                local = self._locals.get(None, {})  # a module-level name: ``SECRET_BYTES = 32``
            if found and node.value in local:
                held = local[node.value]
                if held is None or held.what.startswith(f"`{node.value}`"):
                    return held if held is None else Leak(node, held.what)
                return Leak(node, f"`{node.value}` (it holds {held.what})")
            kind = credential_name(node.value)
            return Leak(node, f"`{node.value}` ({self._article(kind)})") if kind else None
        if isinstance(node, cst.Attribute):
            dump = self._request_dump(node)
            if dump is not None:
                return dump
            kind = credential_name(node.attr.value)
            return Leak(node, f"`{shape(node)}` ({self._article(kind)})") if kind else None
        if isinstance(node, cst.Subscript):
            key = subscript_key(node)
            if key is None:
                return None
            if header_name(key):
                return Leak(node, f"the `{key}` header")
            kind = credential_name(key)
            return Leak(node, f"`{shape(node.value)}[{key!r}]` ({self._article(kind)})") if kind else None
        if isinstance(node, cst.Call):
            return self._call_leak(node, depth)
        if isinstance(node, cst.Await):
            return self._leak(node.expression, depth + 1)
        if isinstance(node, cst.FormattedString):
            return self._first_leak((part.expression for part in node.parts
                                     if isinstance(part, cst.FormattedStringExpression)), depth)
        if isinstance(node, cst.BinaryOperation):
            return self._first_leak((node.left, node.right), depth)
        if isinstance(node, cst.BooleanOperation):
            return self._first_leak((node.left, node.right), depth)
        if isinstance(node, cst.IfExp):
            return self._first_leak((node.body, node.orelse), depth)
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            return self._first_leak((element.value for element in node.elements), depth)
        if isinstance(node, cst.Dict):
            return self._dict_leak(node, depth)
        return None

    @staticmethod
    def _article(kind: str) -> str:
        return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"

    def _first_leak(self, nodes: Iterable[cst.BaseExpression], depth: int) -> Leak | None:
        for node in nodes:
            leak = self._leak(node, depth + 1)
            if leak is not None:
                return leak
        return None

    def _dict_leak(self, node: cst.Dict, depth: int) -> Leak | None:
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                leak = self._leak(element.value, depth + 1)
            else:
                leak = self._leak(element.value, depth + 1)
                key = string_value(element.key)
                if leak is None and key is not None and not isinstance(element.value, (cst.BaseString, cst.Name)) \
                        and credential_name(key) and self._shows_value(element.value):
                    leak = Leak(element.value, f"the value logged as `{key}`")
            if leak is not None:
                return leak
        return None

    @staticmethod
    def _shows_value(node: cst.BaseExpression) -> bool:
        """An attribute or subscript: a value read from somewhere, shown as it is."""
        return isinstance(node, (cst.Attribute, cst.Subscript))

    def _request_dump(self, node: cst.Attribute) -> Leak | None:
        if node.attr.value not in REQUEST_DUMPS:
            return None
        receiver = node.value
        qualified = self.ctx.qualified_name(receiver) or ""
        owner = last_name(receiver)
        if owner in REQUEST_NAMES or qualified in ("flask.request", "quart.request"):
            return Leak(node, f"the whole `{shape(node)}`")
        return None

    def _call_leak(self, call: cst.Call, depth: int) -> Leak | None:
        written = last_name(call.func) or ""
        words = name_words(written)
        if any(word in MASKING_WORDS for word in words) or written in MASKING_WORDS:
            return None
        if isinstance(call.func, cst.Attribute):
            receiver = call.func.value
            if written in ("get", "getlist", "pop", "get_header", "getheader"):
                key = string_value(call.args[0].value) if call.args else None
                if key is None:
                    return None
                if header_name(key):
                    return Leak(call, f"the `{key}` header")
                kind = credential_name(key)
                return Leak(call, f"`{shape(receiver)}[{key!r}]` ({self._article(kind)})") if kind else None
            if written == "get_json" or (written in ("json", "body", "form") and last_name(receiver) in REQUEST_NAMES):
                owner = last_name(receiver)
                if owner in REQUEST_NAMES or self.ctx.qualified_name(receiver) in ("flask.request", "quart.request"):
                    return Leak(call, f"the whole `{shape(call.func)}()`")
            if written in PASS_THROUGH:
                leak = self._leak(receiver, depth + 1)
                if leak is not None:
                    return leak
        if written in PASS_THROUGH:
            return self._first_leak((arg.value for arg in call.args), depth)
        return None

    # -- bindings -------------------------------------------------------------------------------------------------

    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            self._bind(target.target, original_node.value)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        self._bind(original_node.target, original_node.value)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target, None)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._locals[node] = {}

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._locals.pop(original_node, None)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        local = self._locals.setdefault(self.ctx.function_node, {})
        if isinstance(target, cst.Name) and value is not None:
            leak = self._leak(value)
            if leak is None:
                # ``auth_token = issue_token(user)``: the name still says what it holds.
                kind = credential_name(target.value)
                if kind is not None and not isinstance(value, (cst.BaseString, cst.Integer)) \
                        and not (isinstance(value, cst.Name) and value.value == "None") \
                        and not self._masked(value):
                    leak = Leak(target, f"`{target.value}` ({self._article(kind)})")
            local[target.value] = leak
            return
        for name in bound_names(target):
            local.pop(name, None)

    def _masked(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.Call):
            written = last_name(value.func) or ""
            return written in MASKING_WORDS or any(word in MASKING_WORDS for word in name_words(written))
        return isinstance(value, (cst.Comparison, cst.UnaryOperation))

    # -- the check ------------------------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        is_print = False
        if not self._is_log_call(node):
            if not self._is_print_in_server_code(node):
                return
            is_print = True
        values = self._logged_values(node, is_print)
        leak = self._first_leak(values, -1)
        if leak is None:
            return
        sink = "`print()` in server code" if is_print else f"`{shape(node.func)}()`"
        self.report(leak.node, f"{leak.what[0].upper()}{leak.what[1:]} is written to the log by {sink}: log an "
                               "identifier, a masked form or nothing; logs are kept, shipped and read by many")

    def _logged_values(self, call: cst.Call, is_print: bool) -> list[cst.BaseExpression]:
        """Everything the call writes out. The message (first positional argument of a log call) counts through
        its f-string parts, ``%`` operands and ``.format()`` arguments: its text is only words."""
        values: list[cst.BaseExpression] = []
        positional_seen = 0
        method = last_name(call.func)
        for arg in call.args:
            if arg.keyword is not None:
                if arg.keyword.value in STDLIB_KEYWORDS or (is_print and arg.keyword.value in ("sep", "end", "file")):
                    continue
                values.append(arg.value)
                continue
            if method == "log" and positional_seen == 0 and not is_print:
                positional_seen += 1
                continue  # the level
            positional_seen += 1
            values.append(arg.value)
        return [value for value in values if not isinstance(value, cst.SimpleString)]

    def leave_Module(self, original_node: cst.Module) -> None:
        self._locals.clear()
