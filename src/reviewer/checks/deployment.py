"""Deployment configuration that opens an application up: RV403 permissive-cors and RV404 debug-enabled.

Both rules judge configuration, which is only a finding where it takes effect in production. So both leave alone:

- development and test modules, by the words of their path (``settings/dev.py``, ``local_settings.py``,
  ``tests/...``, ``ci_settings.py``: see :data:`DEVELOPMENT_WORDS`);
- values decided at run time: anything but a literal (``DEBUG = env.bool("DEBUG")``), and assignments made under an
  ``if`` (``if DEBUG: CORS_ALLOW_ALL_ORIGINS = True``), since the condition is the configuration.

RV403 knows each library's real matching semantics: Starlette full-matches ``allow_origin_regex``;
django-cors-headers and flask-cors use ``re.match``, anchored at the start only. A pattern is judged by the origins
it accepts (see :func:`attacker_origin`), not by how it reads.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from reviewer.checks.base import Check, Frame, bound_names, descendants, dotted_name, keyword_arg, subscript_index

try:  # the regular expression parser moved in Python 3.11
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

# -- where configuration takes effect -----------------------------------------------------------------------------

# Words of a module path (directory names and file name, split at ``_``, ``-`` and ``.``) that mark code which does
# not run in production: development and test configuration, and settings that only build documentation.
DEVELOPMENT_WORDS = frozenset({
    "dev", "devel", "develop", "development", "local", "test", "tests", "testing", "testutils", "conftest", "ci",
    "debug",
    "doc", "docs", "example", "examples",
})


def path_words(path: str) -> set[str]:
    parts = re.split(r"[\\/]", path.lower())
    if parts:
        parts[-1] = parts[-1].rsplit(".", 1)[0]
    return {word for part in parts for word in re.split(r"[^a-z0-9]+", part) if word}


def is_development_path(path: str) -> bool:
    return bool(path_words(path) & DEVELOPMENT_WORDS)


def is_main_guard(node: cst.If) -> bool:
    """``if __name__ == "__main__":`` (either way round)."""
    test = node.test
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1
            and isinstance(test.comparisons[0].operator, cst.Equal)):
        return False
    sides = [test.left, test.comparisons[0].comparator]
    return any(isinstance(side, cst.Name) and side.value == "__name__" for side in sides) and any(
        _plain_string(side) == "__main__" for side in sides
    )


def _plain_string(node: cst.BaseExpression | None) -> str | None:
    """A plain string or bytes literal's value (bytes decoded: ASGI headers are bytes)."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        if isinstance(value, bytes):
            return value.decode("latin-1")
        return value if isinstance(value, str) else None
    return None


def positional(call: cst.Call) -> list[cst.Arg]:
    return [arg for arg in call.args if arg.keyword is None and not arg.star]


@dataclass
class Placement:
    """Where a node is, as far as deployment goes."""

    in_main_guard: bool  # under ``if __name__ == "__main__":``
    conditional: bool  # under any other ``if``
    in_function: bool


class DeploymentCheck(Check):
    """What both rules share: where a statement runs, and the literal values names were given in this file."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Literal values of plain names, per scope: ``origins = ["*"]`` then ``allow_origins=origins``. A name bound
        # under an ``if`` or to something else is unknown (None).
        self._values: dict[int, dict[str, cst.BaseExpression | None]] = {}
        self.development_module = is_development_path(self.ctx.path)

    def placement(self) -> Placement:
        in_main = conditional = False
        for statement in self.ctx.statements:
            if isinstance(statement, cst.If):
                if is_main_guard(statement):
                    in_main = True
                else:
                    conditional = True
        return Placement(in_main, conditional, self.ctx.function_frame is not None)

    def _scope(self) -> Frame:
        return self.ctx.frames[-1]

    def _assigned_under_if(self) -> bool:
        """An ``if`` between the current statement and its scope's own statement."""
        owner = self._scope().node
        for statement in reversed(self.ctx.statements):
            if statement is owner:
                return False
            if isinstance(statement, cst.If):
                return True
        return False

    def leave_Assign(self, original_node: cst.Assign) -> None:
        conditional = self._assigned_under_if()
        # Keyed by the scope's node, which lives as long as the tree (a popped Frame's id may be reused).
        values = self._values.setdefault(id(self._scope().node), {})
        for target in original_node.targets:
            for name in bound_names(target.target):
                plain = isinstance(target.target, cst.Name) and not conditional
                values[name] = original_node.value if plain else None

    def literal(self, node: cst.BaseExpression, depth: int = 0) -> cst.BaseExpression:
        """``node``, or the literal a plain name in it was last given in its scope or the module."""
        if isinstance(node, cst.Name) and depth < 3:
            for frame in (self._scope(), self.ctx.frames[0]):
                values = self._values.get(id(frame.node), {})
                # Bound in the scope some other way (a parameter, an import, a loop): shadows the module's literal.
                if node.value in values or node.value in frame.bindings:
                    value = values.get(node.value)
                    return node if value is None else self.literal(value, depth + 1)
        return node

    def is_true(self, node: cst.BaseExpression | None) -> bool:
        node = self.literal(node) if node is not None else None
        return isinstance(node, cst.Name) and node.value == "True"

    def string(self, node: cst.BaseExpression | None) -> str | None:
        return None if node is None else _plain_string(self.literal(node))

    def strings(self, node: cst.BaseExpression) -> list[str] | None:
        """The literal strings of a string or a list/tuple/set of strings; None when any element is not one."""
        node = self.literal(node)
        single = _plain_string(node)
        if single is not None:
            return [single]
        if not isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            return None
        found = []
        for element in node.elements:
            value = None if isinstance(element, cst.StarredElement) else self.string(element.value)
            if value is None:
                return None
            found.append(value)
        return found


# -- origin patterns ----------------------------------------------------------------------------------------------

# Hosting services where anyone can get a subdomain: a wildcard in front of them admits strangers' sites.
SHARED_HOSTING_SUFFIXES = frozenset({
    "vercel.app", "netlify.app", "herokuapp.com", "github.io", "gitlab.io", "pages.dev", "workers.dev",
    "web.app", "firebaseapp.com", "appspot.com", "azurewebsites.net", "azurestaticapps.net", "cloudfront.net",
    "amplifyapp.com", "onrender.com", "fly.dev", "railway.app", "ngrok.io", "ngrok-free.app", "ngrok.app",
    "glitch.me", "repl.co", "surge.sh",
})

ORIGIN = re.compile(r"(?P<scheme>https?)://(?P<host>[a-z0-9.-]+)(?::(?P<port>\d{1,5}))?", re.IGNORECASE)
HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
ATTACKER_DOMAIN = "evil.net"
ANY_ORIGIN_PROBES = (f"https://{ATTACKER_DOMAIN}", f"http://{ATTACKER_DOMAIN}")
# What a wildcard may stand for in an attacker's origin: text glued to the legitimate name, or a whole domain.
WILDCARD_FILLERS = ("evil", f".{ATTACKER_DOMAIN}")
DOT_FILLER = "-"  # an unescaped "." accepts "-": `app.example.com` admits `app-example.com`
MAX_SAMPLES = 32
MAX_REPEAT_SAMPLE = 64  # longer mandatory repeats make samples that cannot be origins anyway
_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, getattr(sre_constants, "POSSESSIVE_REPEAT", None))
_SINGLE_CHARACTER = (sre_constants.ANY, sre_constants.IN, sre_constants.LITERAL, sre_constants.NOT_LITERAL)


@dataclass(frozen=True)
class Host:
    labels: tuple[str, ...]

    @property
    def site(self) -> str:
        """Who controls the host, approximately: its last two labels, three under a shared hosting suffix."""
        cut = 3 if ".".join(self.labels[-2:]) in SHARED_HOSTING_SUFFIXES else 2
        return ".".join(self.labels[-cut:])

    @property
    def suffix(self) -> str:
        return ".".join(self.labels[-2:]) if self.site.count(".") == 2 else self.labels[-1]


def origin_host(origin: str) -> Host | None:
    match = ORIGIN.fullmatch(origin)
    if match is None:
        return None
    labels = tuple(match["host"].lower().split("."))
    if not all(HOST_LABEL.fullmatch(label) for label in labels):
        return None
    return Host(labels)


def as_origin(sample: str) -> str:
    return sample if "://" in sample else f"https://{sample}"


def _class_accepts(items: list, char: str) -> bool:
    """Whether a parsed character class (the items of an ``IN``) accepts ``char``."""
    code = ord(char)
    negate = False
    accepted = False
    for op, av in items:
        if op is sre_constants.NEGATE:
            negate = True
        elif op is sre_constants.LITERAL:
            accepted |= av == code
        elif op is sre_constants.RANGE:
            accepted |= av[0] <= code <= av[1]
        elif op is sre_constants.CATEGORY:
            accepted |= _category_accepts(av, char)
    return accepted != negate


def _category_accepts(category: object, char: str) -> bool:
    name = str(category).upper()
    tests = {
        "DIGIT": char.isdigit(), "WORD": char.isalnum() or char == "_", "SPACE": char.isspace(),
    }
    for key, result in tests.items():
        if key in name:
            return result != ("NOT" in name)
    return False


def _item_accepts(op: object, av: object, char: str) -> bool:
    if op is sre_constants.ANY:
        return char != "\n"
    if op is sre_constants.LITERAL:
        return av == ord(char)
    if op is sre_constants.NOT_LITERAL:
        return av != ord(char)
    if op is sre_constants.IN:
        return _class_accepts(av, char)
    return False


def _sample_character(op: object, av: object) -> str | None:
    """A character the item accepts, preferring a letter (a wildcard stands for part of a name)."""
    if op is sre_constants.LITERAL:
        return chr(av)
    for char in "a0-._:/":
        if _item_accepts(op, av, char):
            return char
    return None


@dataclass
class _Generator:
    """Strings a parsed pattern accepts: the legitimate ones it was written for, and variants where one site (a
    wildcard repeat or an unescaped ``.``) is given an attacker's text."""

    fill: dict[tuple[int, ...], str] = field(default_factory=dict)
    sites: dict[tuple[int, ...], tuple[str, ...]] = field(default_factory=dict)

    def expand(self, items: list, path: tuple[int, ...]) -> list[str] | None:
        results = [""]
        for index, (op, av) in enumerate(items):
            options = self.item(op, av, (*path, index))
            if options is None:
                return None
            results = [head + tail for head in results for tail in options][:MAX_SAMPLES]
        return results

    def item(self, op: object, av: object, here: tuple[int, ...]) -> list[str] | None:
        if here in self.fill:
            return [self.fill[here]]
        if op is sre_constants.ANY:
            self.sites[here] = (DOT_FILLER,)
            return ["."]  # written unescaped, but meant as the dot of a host name
        if op in _SINGLE_CHARACTER:
            char = _sample_character(op, av)
            return None if char is None else [char]
        if op in _REPEATS:
            low, high, sub = av
            count = min(max(low, 1), MAX_REPEAT_SAMPLE) if high >= 1 else 0
            if len(sub) == 1 and sub[0][0] in _SINGLE_CHARACTER:
                item_op, item_av = sub[0]
                fillers = tuple(
                    text for text in WILDCARD_FILLERS
                    if low <= len(text) <= high and all(_item_accepts(item_op, item_av, c) for c in text)
                )
                if fillers:
                    self.sites[here] = fillers
                char = _sample_character(item_op, item_av)
                return None if char is None else [char * count]
            options = self.expand(sub, here)
            return None if options is None else [option * count for option in options]
        if op is sre_constants.SUBPATTERN:
            return self.expand(av[-1], here)
        if op is getattr(sre_constants, "ATOMIC_GROUP", None):
            return self.expand(av, here)
        if op is sre_constants.BRANCH:
            found: list[str] = []
            for number, alternative in enumerate(av[1]):
                options = self.expand(alternative, (*here, number))
                found += options or []
            return found[:MAX_SAMPLES] or None
        if op in (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            return [""]
        return None  # back references and the like: no sample


@functools.lru_cache(maxsize=256)
def attacker_origin(pattern: str, full_match: bool, ignore_case: bool = False) -> str | None:
    """An origin that ``pattern`` accepts and that someone other than the pattern's author can own, or None.

    ``full_match`` says how the library applies the pattern: ``re.fullmatch`` (Starlette) or ``re.match``, anchored at
    the start only (django-cors-headers, flask-cors). The origins the pattern was written for are generated from the
    pattern itself; then the pattern is tried on origins anyone could register: any origin at all, a legitimate host
    with an attacker's domain appended, and each wildcard or unescaped ``.`` given an attacker's text. Each is kept
    only if it is a well-formed origin outside the legitimate sites, under a suffix one can register.
    """
    flags = re.IGNORECASE if ignore_case else 0
    try:
        compiled = re.compile(pattern, flags)
        parsed = sre_parse.parse(pattern, flags)
    except (re.error, RecursionError, OverflowError):
        return None
    accepts = compiled.fullmatch if full_match else compiled.match
    generator = _Generator()
    # A pattern that leaves the scheme to a wildcard (`.*\.example\.com`) generates bare hosts.
    legitimate = [as_origin(sample) for sample in generator.expand(list(parsed), ()) or []]
    legitimate = [sample for sample in legitimate if accepts(sample)]
    hosts = [host for host in map(origin_host, legitimate) if host is not None]
    legitimate_sites = {host.site for host in hosts}
    registrable = {host.suffix for host in hosts} | {ATTACKER_DOMAIN.rsplit(".", 1)[-1]}

    def candidates() -> Iterator[str]:
        yield from ANY_ORIGIN_PROBES
        if not full_match:
            for sample in legitimate:
                match = ORIGIN.fullmatch(sample)
                if match is not None:
                    port = f":{match['port']}" if match["port"] else ""
                    yield f"{match['scheme']}://{match['host']}.{ATTACKER_DOMAIN}{port}"
        for site, fillers in sorted(generator.sites.items()):
            for filler in fillers:
                variant = _Generator(fill={site: filler})
                yield from map(as_origin, variant.expand(list(parsed), ()) or [])

    for origin in candidates():
        host = origin_host(origin)
        if host is None or len(host.labels) < 2 or host.site in legitimate_sites or not host.labels[-1].isalpha():
            continue
        if host.suffix in registrable and accepts(origin):
            return origin
    return None


# -- RV403 permissive-cors ----------------------------------------------------------------------------------------

STARLETTE_CORS = frozenset({
    "starlette.middleware.cors.CORSMiddleware", "fastapi.middleware.cors.CORSMiddleware",
})
FLASK_CORS = frozenset({
    "flask_cors.CORS", "flask_cors.extension.CORS", "flask_cors.cross_origin", "flask_cors.decorator.cross_origin",
})
# flask-cors reads these from the app's configuration when the call does not pass them.
FLASK_CORS_ORIGIN_CONFIG = "CORS_ORIGINS"
ALLOW_ALL_SETTINGS = frozenset({"CORS_ALLOW_ALL_ORIGINS", "CORS_ORIGIN_ALLOW_ALL"})
ORIGIN_REGEX_SETTINGS = frozenset({"CORS_ALLOWED_ORIGIN_REGEXES", "CORS_ORIGIN_REGEX_WHITELIST"})
CREDENTIALS_REQUIREMENT = ("setting-true", "CORS_ALLOW_CREDENTIALS")
# flask-cors treats an origin containing one of these as a regular expression (else it compares the string).
FLASK_CORS_REGEX_CHARACTERS = frozenset("*\\]?$^[()")
ALLOW_ORIGIN = "access-control-allow-origin"
ALLOW_CREDENTIALS = "access-control-allow-credentials"
ORIGIN_HEADER_KEYS = frozenset({"origin", "http_origin"})
# How frameworks read one request header: ``headers.get("Origin")``, falcon's ``req.get_header("Origin")``...
HEADER_GETTERS = frozenset({"get", "get_header", "getheader", "getHeader"})
# A function called in an ``if`` test that is a predicate (``is_partner(request)``) or whose name says it vets the
# request (``if not self.origin_allowed(request): return``) may check the origin out of sight.
PREDICATE_PREFIXES = frozenset({"is", "has", "can", "should"})
VETTING_WORDS = frozenset({"allow", "allowed", "valid", "validate", "trusted", "whitelist", "whitelisted",
                           "allowlist", "allowlisted", "permitted", "check", "verify", "match", "matches"})

READ_BY_ANYONE = "any website the user visits can send credentialed requests and read the responses"


@dataclass
class _HandWritten:
    """What one function does with CORS headers."""

    origin_names: set[str] = field(default_factory=set)  # locals holding the request's Origin header
    checked: bool = False  # the origin is compared, matched or passed to something before use
    reflections: list[cst.CSTNode] = field(default_factory=list)  # Access-Control-Allow-Origin := the Origin
    credentials: bool = False


class PermissiveCors(DeploymentCheck):
    """RV403: any origin allowed, or reflected, together with credentials."""

    rule_id = "RV403"
    requires_facts = ("settings",)
    triggers = ("CORS", "cross_origin", "Control-Allow-", "control-allow-", "CONTROL-ALLOW-")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._functions: list[_HandWritten] = []
        self._default_origin_calls: list[cst.Call] = []  # flask-cors calls relying on the default origins
        self._configures_origins = False

    # -- framework configuration ------------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        name = self.ctx.qualified_name(node.func)
        if name in STARLETTE_CORS:
            self._starlette(node.args[1:] if positional(node) else node.args)
        elif name in FLASK_CORS:
            self._flask_cors(node)
        else:
            arguments = positional(node)
            if arguments and self.ctx.qualified_name(arguments[0].value) in STARLETTE_CORS:
                # app.add_middleware(CORSMiddleware, ...), Middleware(CORSMiddleware, ...)
                self._starlette([arg for arg in node.args if arg is not arguments[0]])
        self._hand_written_call(node)

    def _starlette(self, args: list[cst.Arg] | tuple[cst.Arg, ...]) -> None:
        given = {arg.keyword.value: arg for arg in args if arg.keyword is not None}
        credentials = given.get("allow_credentials")
        if credentials is None or not self.is_true(credentials.value) or self.development_module:
            return
        origins = given.get("allow_origins")
        listed = self.strings(origins.value) if origins is not None else None
        if listed is not None and "*" in listed:
            self.report(
                origins,
                "CORSMiddleware allows every origin (`\"*\"`) with `allow_credentials=True`: Starlette then answers "
                f"each request with its own Origin, so {READ_BY_ANYONE}",
            )
        regex = given.get("allow_origin_regex")
        pattern = self.string(regex.value) if regex is not None else None
        if pattern is not None:
            origin = attacker_origin(pattern, full_match=True)
            if origin is not None:
                self.report(
                    regex,
                    f"`allow_origin_regex` accepts `{origin}` together with `allow_credentials=True`: "
                    "escape the dots, and let the wildcard match only your own subdomains "
                    "(`https://[a-z0-9-]+\\.example\\.com`)",
                )

    def _flask_cors(self, node: cst.Call) -> None:
        credentials = keyword_arg(node, "supports_credentials")
        if credentials is None or not self.is_true(credentials.value) or self.development_module:
            return
        origins = keyword_arg(node, "origins")
        resources = keyword_arg(node, "resources")
        if resources is not None and origins is None:
            per_resource = self.literal(resources.value)
            if isinstance(per_resource, cst.Dict):
                for element in per_resource.elements:
                    options = self.literal(element.value) if isinstance(element, cst.DictElement) else None
                    if not isinstance(options, cst.Dict):
                        return  # options built elsewhere: unknown
                    resource_origins = next(
                        (e.value for e in options.elements
                         if isinstance(e, cst.DictElement) and self.string(e.key) == "origins"),
                        None,
                    )
                    if resource_origins is None:
                        self._default_origin_calls.append(node)
                        return
                    if self._flask_origins(resource_origins, node):
                        return
                return
            if self.strings(per_resource) is None:
                return  # resources built elsewhere: their options are unknown
        if origins is None:
            self._default_origin_calls.append(node)
            return
        self._flask_origins(origins.value, node)

    def _flask_origins(self, origins: cst.BaseExpression, call: cst.Call) -> bool:
        """Report the first loose origin of a flask-cors ``origins`` value; whether there was one."""
        listed = self.strings(origins)
        for value in listed or ():
            if value in ("*", ".*"):
                self.report(
                    call,
                    "flask-cors allows every origin with `supports_credentials=True`: it answers each request with "
                    f"its own Origin, so {READ_BY_ANYONE}",
                )
                return True
            if FLASK_CORS_REGEX_CHARACTERS & set(value):
                origin = attacker_origin(value, full_match=False, ignore_case=True)
                if origin is not None:
                    self.report(
                        call,
                        f"flask-cors origin pattern `{value}` accepts `{origin}` (it is matched from the start only) "
                        "together with `supports_credentials=True`: anchor it with `$` and escape the dots",
                    )
                    return True
        return False

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if _plain_string(node) == FLASK_CORS_ORIGIN_CONFIG:
            self._configures_origins = True

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == FLASK_CORS_ORIGIN_CONFIG:
            self._configures_origins = True  # a config class attribute

    def leave_Module(self, original_node: cst.Module) -> None:
        if self._configures_origins:
            return  # the default origins may come from app.config["CORS_ORIGINS"]
        for call in self._default_origin_calls:
            self.report(
                call,
                "flask-cors with `supports_credentials=True` and no `origins` allows every origin (the default is "
                f"`\"*\"`) and answers each request with its own Origin, so {READ_BY_ANYONE}",
            )

    # -- django-cors-headers settings -------------------------------------------------------------------------------

    def _settings_assignment(self, node: cst.Assign) -> None:
        if not self.ctx.at_module_level or self.development_module or self.placement().conditional:
            return
        for target in node.targets:
            if not isinstance(target.target, cst.Name):
                continue
            setting = target.target.value
            if setting in ALLOW_ALL_SETTINGS and self.is_true(node.value):
                self.report(
                    node,
                    f"`{setting} = True` with `CORS_ALLOW_CREDENTIALS = True`: django-cors-headers then answers each "
                    f"request with its own Origin, so {READ_BY_ANYONE}",
                    requires=CREDENTIALS_REQUIREMENT,
                )
            elif setting in ORIGIN_REGEX_SETTINGS:
                self._django_regexes(setting, node.value)

    def _django_regexes(self, setting: str, value: cst.BaseExpression) -> None:
        value = self.literal(value)
        if not isinstance(value, (cst.List, cst.Tuple)):
            return
        for element in value.elements:
            pattern = self.string(element.value)
            origin = attacker_origin(pattern, full_match=False) if pattern is not None else None
            if origin is not None:
                self.report(
                    element.value,
                    f"`{setting}` pattern accepts `{origin}` (django-cors-headers matches from the start only) with "
                    "`CORS_ALLOW_CREDENTIALS = True`: anchor it with `^...$` and escape the dots",
                    requires=CREDENTIALS_REQUIREMENT,
                )

    # -- hand-written CORS ------------------------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        # A nested function (an ASGI ``send`` wrapper) sees the origin its enclosing function read.
        enclosing = self._functions[-1].origin_names if self._functions else set()
        self._functions.append(_HandWritten(origin_names=set(enclosing)))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        state = self._functions.pop()
        if state.credentials and not state.checked and not self.development_module:
            for node in state.reflections:
                self.report(
                    node,
                    "`Access-Control-Allow-Origin` copies the request's Origin header unchecked while "
                    f"`Access-Control-Allow-Credentials` is `true`: {READ_BY_ANYONE}; compare the origin with an "
                    "allow-list first",
                )

    def _reads_origin(self, node: cst.BaseExpression, state: _HandWritten) -> bool:
        """The request's Origin header: ``request.headers.get("Origin")``, ``request.META["HTTP_ORIGIN"]``, or a
        local that holds one."""
        if isinstance(node, cst.Name):
            return node.value in state.origin_names
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value in HEADER_GETTERS and node.args:
            key = self.string(node.args[0].value)
            return key is not None and key.lower() in ORIGIN_HEADER_KEYS
        if isinstance(node, cst.Subscript) and subscript_index(node) is not None:
            key = self.string(subscript_index(node))
            return key is not None and key.lower() in ORIGIN_HEADER_KEYS
        if isinstance(node, cst.BooleanOperation):  # request.headers.get("Origin") or "*"
            return self._reads_origin(node.left, state)
        return False

    def _header_written(self, name: cst.BaseExpression, value: cst.BaseExpression, where: cst.CSTNode) -> None:
        if not self._functions:
            return
        state = self._functions[-1]
        header = self.string(name)
        if header is None:
            return
        header = header.lower()
        if header == ALLOW_ORIGIN and self._reads_origin(value, state):
            state.reflections.append(where)
        elif header == ALLOW_CREDENTIALS:
            literal = self.literal(value)
            state.credentials |= self.is_true(literal) or (self.string(literal) or "").lower() == "true"

    def _hand_written_call(self, node: cst.Call) -> None:
        if not self._functions:
            return
        state = self._functions[-1]
        arguments = positional(node)
        header = self.string(arguments[0].value) if len(arguments) >= 2 else None
        if header is not None and header.lower() in (ALLOW_ORIGIN, ALLOW_CREDENTIALS):
            # headers.add("Access-Control-Allow-Origin", origin), resp.set_header(...)
            self._header_written(arguments[0].value, arguments[1].value, node)
            return
        if any(self._reads_origin(arg.value, state) for arg in node.args):
            state.checked = True  # is_allowed(origin), re.match(pattern, origin)
        if isinstance(node.func, cst.Attribute) and self._reads_origin(node.func.value, state):
            state.checked = True  # origin.endswith(".example.com")

    def visit_If(self, node: cst.If) -> None:
        if not self._functions:
            return
        for call in _calls_in(node.test):
            called = call.func.attr.value if isinstance(call.func, cst.Attribute) else dotted_name(call.func)
            words = [word for word in re.split(r"[^a-z]+", _snake(called or "")) if word]
            if (len(words) > 1 and words[0] in PREDICATE_PREFIXES) or set(words) & VETTING_WORDS:
                self._functions[-1].checked = True

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if not self._functions:
            return
        state = self._functions[-1]
        operands = [node.left, *(part.comparator for part in node.comparisons)]
        tests_identity = all(isinstance(part.operator, (cst.Is, cst.IsNot)) for part in node.comparisons)
        if not tests_identity and any(self._reads_origin(operand, state) for operand in operands):
            state.checked = True

    def visit_Assign(self, node: cst.Assign) -> None:
        self._settings_assignment(node)
        if not self._functions:
            return
        state = self._functions[-1]
        for target in node.targets:
            if isinstance(target.target, cst.Name) and self._reads_origin(node.value, state):
                state.origin_names.add(target.target.value)
            elif isinstance(target.target, cst.Subscript) and subscript_index(target.target) is not None:
                self._header_written(subscript_index(target.target), node.value, node)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        self._header_written(node.key, node.value, node)

    def visit_Tuple(self, node: cst.Tuple) -> None:
        if len(node.elements) == 2:  # ASGI raw headers: (b"access-control-allow-origin", origin)
            self._header_written(node.elements[0].value, node.elements[1].value, node)


def _calls_in(node: cst.BaseExpression) -> list[cst.Call]:
    return [current for current in (node, *descendants(node)) if isinstance(current, cst.Call)]


def _snake(name: str) -> str:
    """``isOriginAllowed`` -> ``is_origin_allowed``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


# -- RV404 debug-enabled ------------------------------------------------------------------------------------------

# Settings only a Django settings module defines: with DEBUG, they say what the module is.
DJANGO_SETTINGS = frozenset({
    "INSTALLED_APPS", "MIDDLEWARE", "MIDDLEWARE_CLASSES", "ROOT_URLCONF", "ALLOWED_HOSTS", "WSGI_APPLICATION",
    "ASGI_APPLICATION", "DATABASES", "TEMPLATES", "AUTH_PASSWORD_VALIDATORS",
})
DEBUG_APPLICATIONS = frozenset({
    "fastapi.FastAPI", "fastapi.applications.FastAPI", "starlette.applications.Starlette", "tornado.web.Application",
})
# Instances whose ``debug`` attribute and ``config`` turn the framework's debugger on.
APP_INSTANCES = frozenset({
    "flask.Flask()", "flask.app.Flask()", "quart.Quart()", "fastapi.FastAPI()", "fastapi.applications.FastAPI()",
    "starlette.applications.Starlette()",
})
# The conventional application factory (Flask's documented pattern) returns an app too.
APP_FACTORIES = frozenset({"create_app", "make_app"})
DEBUGGER_MIDDLEWARE = frozenset({"werkzeug.debug.DebuggedApplication", "werkzeug.DebuggedApplication"})
RUN_SIMPLE = frozenset({"werkzeug.serving.run_simple", "werkzeug.run_simple"})
# ``run(debug=True)`` of these modules is not a web debugger (asyncio's debug mode) or not a debugger at all.
NOT_A_DEBUGGER_ROOTS = frozenset({"asyncio", "uvicorn", "trio", "anyio", "hypercorn", "curio", "gevent", "uvloop"})
DEBUG_SERVER_METHODS = frozenset({"run", "run_server"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
ENVIRONMENT_SWITCHES = {"FLASK_DEBUG": {"1", "true", "yes", "on"}, "FLASK_ENV": {"development"}}

APP_DEBUG_MODE = (
    "unhandled errors show their traceback and source to the visitor (Flask and Quart also serve the interactive "
    "Werkzeug debugger); read the switch from the environment instead"
)
WERKZEUG_CONSOLE = "the Werkzeug debugger, whose browser console runs arbitrary Python for whoever reaches it"


class DebugEnabled(DeploymentCheck):
    """RV404: a framework's debug mode or debugger switched on in code that runs in production."""

    rule_id = "RV404"
    triggers = ("DEBUG", "debug", "Debug", "FLASK_ENV")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._debug_assignments: list[tuple[cst.CSTNode, bool]] = []  # (statement, literally True and unconditional)
        self._django_settings = "settings" in path_words(self.ctx.path)

    # -- Django settings --------------------------------------------------------------------------------------------

    def _module_setting(self, target: cst.BaseExpression, value: cst.BaseExpression, node: cst.CSTNode) -> None:
        if not (self.ctx.at_module_level and isinstance(target, cst.Name)):
            return
        if target.value in DJANGO_SETTINGS:
            self._django_settings = True
        elif target.value == "DEBUG":
            self._debug_assignments.append((node, self.is_true(value) and not self.placement().conditional))

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._module_setting(target.target, node.value, node)
            self._app_attribute(target.target, node.value, node)
            self._environment_switch(target.target, node.value, node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._module_setting(node.target, node.value, node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        # ``from .base import *`` in settings/production.py: a settings module that extends another.
        module = self.ctx.resolve_relative(len(node.relative), dotted_name(node.module) if node.module is not None else None)
        if isinstance(node.names, cst.ImportStar) and module and "settings" in module.split(".")[-1]:
            self._django_settings = True

    def leave_Module(self, original_node: cst.Module) -> None:
        if not self._debug_assignments or not self._django_settings or self.development_module:
            return
        statement, enabled = self._debug_assignments[-1]  # the last assignment is the one that counts
        if enabled:
            self.report(
                statement,
                "`DEBUG = True` in a settings module that is not a development one: Django then shows every "
                "error's traceback, local variables and settings to the visitor; read it from the environment "
                "(`DEBUG = env.bool(\"DJANGO_DEBUG\", default=False)`) or move it to a development settings module",
            )

    # -- applications -----------------------------------------------------------------------------------------------

    def _is_app(self, node: cst.BaseExpression) -> bool:
        name = self.ctx.qualified_name(node)
        if name is None:
            return False
        return name in APP_INSTANCES or (
            name.endswith("()") and name[:-2].rsplit(".", 1)[-1] in APP_FACTORIES
        )

    def _in_production_code(self) -> bool:
        placement = self.placement()
        return not (self.development_module or placement.conditional or placement.in_main_guard)

    def _app_attribute(self, target: cst.BaseExpression, value: cst.BaseExpression, node: cst.CSTNode) -> None:
        """``app.debug = True``, ``app.config["DEBUG"] = True``."""
        if self.is_true(value) and self._in_production_code() and self._is_debug_switch(target):
            self.report(node, f"`{_source(target)} = True` turns on the app's debug mode: {APP_DEBUG_MODE}")

    def _is_debug_switch(self, target: cst.BaseExpression) -> bool:
        if isinstance(target, cst.Attribute):
            return target.attr.value == "debug" and self._is_app(target.value)
        return (
            isinstance(target, cst.Subscript) and isinstance(target.value, cst.Attribute)
            and target.value.attr.value == "config" and self._is_app(target.value.value)
            and subscript_index(target) is not None and self.string(subscript_index(target)) == "DEBUG"
        )

    def _environment_switch(self, target: cst.BaseExpression, value: cst.BaseExpression, node: cst.CSTNode) -> None:
        """``os.environ["FLASK_DEBUG"] = "1"``: forced on for every run of the process."""
        if not (isinstance(target, cst.Subscript) and self.ctx.qualified_name(target.value) == "os.environ"
                and subscript_index(target) is not None):
            return
        variable = self.string(subscript_index(target))
        text = self.string(value)
        if variable in ENVIRONMENT_SWITCHES and text is not None \
                and text.lower() in ENVIRONMENT_SWITCHES[variable] and self._in_production_code():
            self.report(
                node,
                f"`{variable}` is forced to `{text}` in code: Flask then runs with {WERKZEUG_CONSOLE}; leave it to "
                "the environment of development machines",
            )

    def visit_Call(self, node: cst.Call) -> None:
        name = self.ctx.qualified_name(node.func)
        if name is None:
            return
        if name in DEBUG_APPLICATIONS:
            debug = keyword_arg(node, "debug")
            if debug is not None and self.is_true(debug.value) and self._in_production_code():
                self.report(
                    debug,
                    f"`{name.rsplit('.', 1)[-1]}(debug=True)` returns every unhandled error's traceback to the "
                    "client; read it from the environment instead",
                )
        elif name in DEBUGGER_MIDDLEWARE:
            if self._in_production_code():
                evalex = keyword_arg(node, "evalex")
                console = evalex is not None and self.is_true(evalex.value)
                self.report(
                    node,
                    "`DebuggedApplication` wraps the app in the Werkzeug debugger"
                    + (", with the console that runs arbitrary Python" if console else
                       ", which shows tracebacks and source to the visitor")
                    + "; only wrap it in development (`if app.debug:`)",
                )
        elif name in RUN_SIMPLE:
            debugger = keyword_arg(node, "use_debugger")
            if debugger is not None and self.is_true(debugger.value):
                arguments = positional(node)
                host = keyword_arg(node, "hostname") or (arguments[0] if arguments else None)
                self._debug_server(node, "`run_simple(use_debugger=True)`", host)
        elif isinstance(node.func, cst.Attribute) and node.func.attr.value in DEBUG_SERVER_METHODS \
                and name.split(".", 1)[0] not in NOT_A_DEBUGGER_ROOTS:
            debug = keyword_arg(node, "debug")
            if debug is not None and self.is_true(debug.value):
                arguments = positional(node)
                first = arguments[0] if arguments else None
                host = keyword_arg(node, "host") or (first if first is not None and self.string(first.value) else None)
                self._debug_server(node, f"`{_source(node.func)}(debug=True)`", host)

    def _debug_server(self, node: cst.Call, what: str, host: cst.Arg | None) -> None:
        """A development server started with its debugger. Under ``if __name__ == "__main__":`` or in a function it
        is a developer's entry point, reported only when it listens beyond the machine itself; at module level it
        runs on every import."""
        placement = self.placement()
        if self.development_module or placement.conditional:
            return
        host_name = self.string(host.value) if host is not None else None
        exposed = host is not None and host_name not in LOOPBACK_HOSTS
        if exposed:
            where = f"`{host_name}`" if host_name is not None else "a configured host"
            self.report(
                node,
                f"{what} listens on {where} with {WERKZEUG_CONSOLE}; pass `debug` from the environment "
                "(or use `flask run --debug` locally) and serve production with a WSGI server",
            )
        elif not (placement.in_main_guard or placement.in_function):
            self.report(
                node,
                f"{what} runs at import, outside `if __name__ == \"__main__\":`, with {WERKZEUG_CONSOLE}; "
                "start the development server only from a development entry point",
            )


def _source(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
