"""RV402 missing-timeout: an outbound network call that can wait forever.

Calls are recognized by the qualified names the shared resolver gives (``requests.Session().get`` for a session
bound to a variable, a ``with`` target or ``self.session``), never by source text. Three kinds of API:

- APIs whose default is to wait forever (``requests``, ``urllib.request.urlopen``, ``http.client``, ``smtplib``,
  ``ftplib``, ``imaplib``, ``poplib``, ``socket.create_connection``, ``urllib3.request``): reported when no timeout
  is passed, by keyword or at its position, or when ``timeout=None`` is passed;
- APIs with a finite default (``httpx`` functions, clients and their methods): reported only for an explicit
  ``timeout=None`` (or an ``httpx.Timeout`` with every bound None);
- ``aiohttp.ClientTimeout`` with no bound at all (its fields all default to None). ``aiohttp.ClientSession(
  timeout=None)`` is not reported: aiohttp 3.8+ reads None as "use the default five-minute timeout".

A call with ``**kwargs`` or ``*args`` may carry a timeout and is left alone, as are sessions the module mounts a
project adapter on (``session.mount("https://", TimeoutAdapter(...))``) or whose ``request`` it replaces, and
instances of project subclasses of ``requests.Session`` (their names do not resolve to ``requests``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import (
    Check,
    FileContext,
    dotted_name,
    pattern_to_regex,
    shape,
)
from reviewer.fixes import NodeFix, append_argument, replace

DEFAULT_FIX_TIMEOUT = 10.0


@dataclass(frozen=True)
class TimeoutParameter:
    """Where an API takes its timeout, and whether leaving it out waits forever."""

    position: int | None  # index among positional arguments, None when keyword-only
    missing_waits_forever: bool


def _table(entries: dict[str, TimeoutParameter]) -> list[tuple[re.Pattern[str], TimeoutParameter]]:
    return [(re.compile(pattern_to_regex(pattern)), parameter) for pattern, parameter in entries.items()]


WAITS = TimeoutParameter(None, True)
HTTP_VERBS = "{get,post,put,patch,delete,head,options,request,send}"
# Sessions of requests and of libraries that subclass it without adding a default timeout.
REQUESTS_SESSIONS = (
    "{requests.Session,requests.session,requests.sessions.Session,requests.sessions.session,"
    "requests_oauthlib.OAuth1Session,requests_oauthlib.OAuth2Session}()"
)

APIS = _table({
    "requests.{get,post,put,patch,delete,head,options,request}": WAITS,
    "requests.api.{get,post,put,patch,delete,head,options,request}": WAITS,
    # Session.request(method, url, params, data, headers, cookies, files, auth, timeout, ...)
    f"{REQUESTS_SESSIONS}.request": TimeoutParameter(8, True),
    f"{REQUESTS_SESSIONS}.{HTTP_VERBS}": WAITS,
    "urllib.request.urlopen": TimeoutParameter(2, True),
    "urllib.request.{build_opener(),OpenerDirector()}.open": TimeoutParameter(2, True),
    "http.client.HTTPConnection": TimeoutParameter(2, True),
    # Python < 3.12: HTTPSConnection(host, port, key_file, cert_file, timeout); since 3.12 keyword-only.
    "http.client.HTTPSConnection": TimeoutParameter(4, True),
    "smtplib.SMTP": TimeoutParameter(3, True),
    "smtplib.SMTP_SSL": TimeoutParameter(5, True),
    "ftplib.FTP": TimeoutParameter(4, True),
    "ftplib.FTP_TLS": TimeoutParameter(7, True),
    "imaplib.IMAP4": TimeoutParameter(2, True),
    "imaplib.IMAP4_SSL": WAITS,
    "poplib.POP3": TimeoutParameter(2, True),
    "poplib.POP3_SSL": TimeoutParameter(4, True),
    "socket.create_connection": TimeoutParameter(1, True),
    "urllib3.request": WAITS,
    "httpx.{get,post,put,patch,delete,head,options,request,stream}": TimeoutParameter(None, False),
    "httpx.{Client,AsyncClient}": TimeoutParameter(None, False),
    "httpx.{Client,AsyncClient}().{get,post,put,patch,delete,head,options,request,stream,send}": TimeoutParameter(
        None, False
    ),
})

# Calls that build a timeout object whose bounds are all None when given nothing but None.
UNBOUNDED_TIMEOUT_OBJECTS = {
    "httpx.Timeout": ("timeout", "connect", "read", "write", "pool"),
    "aiohttp.ClientTimeout": ("total", "connect", "sock_read", "sock_connect"),
}
# httpx.Timeout() with no argument at all raises; aiohttp.ClientTimeout() is unbounded.
UNBOUNDED_WITHOUT_ARGUMENTS = frozenset({"aiohttp.ClientTimeout"})

# Adapters that add nothing to a session's timeouts.
PLAIN_ADAPTERS = frozenset({"requests.adapters.HTTPAdapter()"})


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _timeout_argument(call: cst.Call, position: int | None) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "timeout":
            return arg
    positional = [arg for arg in call.args if arg.keyword is None]
    if position is not None and len(positional) > position:
        return positional[position]
    return None


def _may_carry_anything(call: cst.Call) -> bool:
    """``f(*args)`` / ``f(**kwargs)``: the arguments are not all written at the call."""
    return any(arg.star for arg in call.args)


def compile_options(options: dict) -> float:
    """The ``fix-timeout`` option: the seconds a fix passes as ``timeout=``."""
    seconds = options.get("fix-timeout", DEFAULT_FIX_TIMEOUT)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < float("inf"):
        raise ValueError(f"fix-timeout must be a positive number of seconds, got {seconds!r}")
    return float(seconds)


def _seconds(value: float) -> str:
    """``10`` rather than ``10.0``; ``3.05`` as written."""
    return str(int(value)) if value.is_integer() else repr(value)


class MissingTimeout(Check):
    rule_id = "RV402"
    options_compiler = staticmethod(compile_options)
    triggers = ("requests", "urllib", "http", "smtplib", "ftplib", "imaplib", "poplib", "socket", "ClientTimeout")

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict) -> None:
        super().__init__(ctx, spec, options)
        # Receivers as written (`session`, `self.session`) the module may give a default timeout by other means:
        # calls on them are left alone.
        self._configured_receivers: set[str] = set()

    def visit_Call(self, node: cst.Call) -> None:
        name = self.ctx.qualified_name(node.func)
        self._note_mounted_adapter(node)
        if name is None or _may_carry_anything(node):
            return
        if name in UNBOUNDED_TIMEOUT_OBJECTS:
            self._check_timeout_object(node, name)
            return
        parameter = next((p for pattern, p in APIS if pattern.fullmatch(name)), None)
        if parameter is None or self._receiver_configured(node):
            return
        argument = _timeout_argument(node, parameter.position)
        written = f"`{shape(node.func)}()`"
        resolved = "" if name == shape(node.func) else f" (`{name}`)"
        seconds = _seconds(self.compiled_options())
        if argument is None:
            if parameter.missing_waits_forever:
                self.report(
                    node,
                    f"{written}{resolved} has no timeout: if the server stops answering, it waits forever; "
                    "pass `timeout=`",
                    fix=NodeFix(f"Add `timeout={seconds}`", (append_argument(node, f"timeout={seconds}"),)),
                )
        elif _is_none(argument.value):
            self.report(
                node,
                f"{written}{resolved} is given `timeout=None`: if the server stops answering, it waits forever; "
                "pass a number of seconds",
                fix=NodeFix(f"Pass `timeout={seconds}`", (replace(argument.value, seconds),)),
            )

    def _check_timeout_object(self, call: cst.Call, name: str) -> None:
        if not call.args and name not in UNBOUNDED_WITHOUT_ARGUMENTS:
            return
        fields = UNBOUNDED_TIMEOUT_OBJECTS[name]
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value not in fields:
                continue  # a bound this rule does not know of (ceil_threshold...) limits nothing
            if not _is_none(arg.value):
                return
        advice = "set `total=`, or `connect=` and `sock_read=`" if name == "aiohttp.ClientTimeout" else "pass a number of seconds"
        self.report(
            call, f"`{shape(call.func)}()` sets no bound at all: requests made with it can wait forever; {advice}"
        )

    def visit_Assign(self, node: cst.Assign) -> None:
        # `session.request = functools.partial(session.request, timeout=10)`
        for target in node.targets:
            if isinstance(target.target, cst.Attribute) and target.target.attr.value == "request":
                receiver = dotted_name(target.target.value)
                if receiver is not None:
                    self._configured_receivers.add(receiver)

    def _note_mounted_adapter(self, call: cst.Call) -> None:
        """``session.mount("https://", TimeoutAdapter(...))``: a project adapter may add a default timeout."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "mount") or len(call.args) < 2:
            return
        receiver = dotted_name(func.value)
        if receiver is not None and self.ctx.qualified_name(call.args[1].value) not in PLAIN_ADAPTERS:
            self._configured_receivers.add(receiver)

    def _receiver_configured(self, call: cst.Call) -> bool:
        """Calls on an object the module configured before (in source order: `__init__` comes first)."""
        if not isinstance(call.func, cst.Attribute):
            return False
        receiver = dotted_name(call.func.value)
        return receiver is not None and receiver in self._configured_receivers
