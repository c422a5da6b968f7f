"""RV405 unthrottled-auth-endpoint: a login, token, password-reset, one-time-code or sign-up endpoint that nothing
rate-limits.

An endpoint is one of:

- a Django or DRF class-based view: a class whose bases resolve to Django's generic views, DRF's views or a known
  auth view (or to such a class defined earlier in the same module);
- a Django function view (first parameter ``request``, in a module that imports Django or DRF), a DRF
  ``@api_view`` function, a DRF ``@action`` method of a viewset;
- a Flask or FastAPI route (a function decorated with ``<app or blueprint/router>.route/post/...``);
- a known auth view used directly in a Django URLconf: ``path("login/", LoginView.as_view())``,
  ``path("token/", obtain_auth_token)``, ``include("django.contrib.auth.urls")``.

It is an auth endpoint when it is a known auth view (Django's ``LoginView``/``PasswordResetView``, DRF's
``ObtainAuthToken``, simplejwt's token-obtain views, dj-rest-auth, djoser), when it verifies a password itself
(``django.contrib.auth.authenticate()``, ``check_password()``, ``check_password_hash()``, ``bcrypt.checkpw()``,
passlib's ``verify()``, ``verify_password()``, FastAPI's ``OAuth2PasswordRequestForm``), or when its name or route
path says it is one (``login``, ``sign-in``, ``token``, ``password/reset``, ``verify-otp``, ``2fa``, ``signup``,
``register``) and it accepts submitted data (a POST route, a class with ``post()``, a view reading
``request.POST``). Endpoints that require a logged-in user (``@login_required``, ``LoginRequiredMixin``, DRF
``IsAuthenticated``, ``Depends(get_current_user)``) are not entry points for guessing and are left alone, as are
django-allauth's views, which rate-limit themselves.

It is throttled when a decorator, base class, call or dependency of the endpoint names a rate limiter
(django-ratelimit's ``@ratelimit``, Flask-Limiter's and slowapi's ``@limiter.limit``, fastapi-limiter's
``RateLimiter``, DRF ``throttle_classes``, django-otp's self-throttling devices, a project's ``rate_limit()``...), or
when the project throttles it elsewhere. That last part is decided in the join step: DRF views by
``DEFAULT_THROTTLE_CLASSES`` or ``DEFAULT_THROTTLE_RATES``; views whose password check goes through
``authenticate()`` also by django-axes or django-defender; Flask and FastAPI routes by default limits on the
application's limiter; any endpoint by a project class or function it uses (its form, a helper it calls, a base
view in another module) that rate-limits. :class:`RateLimits` records the last two.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import Check, FactCollector, FileContext, dotted_name, subscript_index
from reviewer.checks.model_facts import keyword_argument, string_value
from reviewer.checks.sensitive import name_words

DJANGO, DRF, FLASK, FASTAPI = "django", "drf", "flask", "fastapi"

# -- what an endpoint is ----------------------------------------------------------------------------------------

LOGIN, TOKEN, PASSWORD_CHECK, PASSWORD_RESET, ONE_TIME_CODE, SIGNUP = (
    "login", "token", "password-check", "password-reset", "one-time-code", "signup",
)


@dataclass(frozen=True)
class AuthView:
    kind: str
    framework: str
    authenticates: bool  # checks the password through django.contrib.auth.authenticate(): django-axes sees it


# Library views (and their URLconfs) that take credentials and do not throttle themselves.
KNOWN_AUTH_VIEWS = {
    "django.contrib.auth.views.LoginView": AuthView(LOGIN, DJANGO, True),
    "django.contrib.auth.views.login": AuthView(LOGIN, DJANGO, True),
    "django.contrib.auth.views.PasswordResetView": AuthView(PASSWORD_RESET, DJANGO, False),
    "django.contrib.auth.views.password_reset": AuthView(PASSWORD_RESET, DJANGO, False),
    "rest_framework.authtoken.views.ObtainAuthToken": AuthView(TOKEN, DRF, True),
    "rest_framework.authtoken.views.obtain_auth_token": AuthView(TOKEN, DRF, True),
    "rest_framework_simplejwt.views.TokenObtainView": AuthView(TOKEN, DRF, True),
    "rest_framework_simplejwt.views.TokenObtainPairView": AuthView(TOKEN, DRF, True),
    "rest_framework_simplejwt.views.TokenObtainSlidingView": AuthView(TOKEN, DRF, True),
    "rest_framework_simplejwt.views.token_obtain_pair": AuthView(TOKEN, DRF, True),
    "rest_framework_simplejwt.views.token_obtain_sliding": AuthView(TOKEN, DRF, True),
    "rest_framework_jwt.views.ObtainJSONWebToken": AuthView(TOKEN, DRF, True),
    "rest_framework_jwt.views.ObtainJSONWebTokenView": AuthView(TOKEN, DRF, True),
    "rest_framework_jwt.views.obtain_jwt_token": AuthView(TOKEN, DRF, True),
    "dj_rest_auth.views.LoginView": AuthView(LOGIN, DRF, True),
    "dj_rest_auth.views.PasswordResetView": AuthView(PASSWORD_RESET, DRF, False),
    "dj_rest_auth.registration.views.RegisterView": AuthView(SIGNUP, DRF, False),
    "rest_auth.views.LoginView": AuthView(LOGIN, DRF, True),
    "rest_auth.views.PasswordResetView": AuthView(PASSWORD_RESET, DRF, False),
    "rest_auth.registration.views.RegisterView": AuthView(SIGNUP, DRF, False),
    "djoser.views.TokenCreateView": AuthView(TOKEN, DRF, True),
}
KNOWN_AUTH_URLCONFS = {
    "django.contrib.auth.urls": AuthView(LOGIN, DJANGO, True),
    "dj_rest_auth.urls": AuthView(LOGIN, DRF, True),
    "rest_auth.urls": AuthView(LOGIN, DRF, True),
    "dj_rest_auth.registration.urls": AuthView(SIGNUP, DRF, False),
    "rest_auth.registration.urls": AuthView(SIGNUP, DRF, False),
    "djoser.urls": AuthView(SIGNUP, DRF, False),
    "djoser.urls.authtoken": AuthView(TOKEN, DRF, True),
    "djoser.urls.jwt": AuthView(TOKEN, DRF, True),
}
URL_FUNCTIONS = frozenset({"django.urls.path", "django.urls.re_path", "django.conf.urls.url", "django.urls.conf.path",
                           "django.urls.conf.re_path"})
# Packages whose views rate-limit themselves (django-allauth's ACCOUNT_RATE_LIMITS).
SELF_THROTTLED_PACKAGES = ("allauth.",)
# Modules of view classes (not of authentication classes, serializers or permissions, which live beside them).
VIEW_PACKAGES = {
    "rest_framework.views.": DRF, "rest_framework.generics.": DRF, "rest_framework.viewsets.": DRF,
    "rest_framework.authtoken.views.": DRF, "rest_framework_simplejwt.views.": DRF, "rest_framework_jwt.views.": DRF,
    "dj_rest_auth.views.": DRF, "dj_rest_auth.registration.views.": DRF, "rest_auth.views.": DRF,
    "rest_auth.registration.views.": DRF, "djoser.views.": DRF, "django.views.": DJANGO,
    "django.contrib.auth.views.": DJANGO, "flask.views.": FLASK,
}
# Bases whose views receive submitted data without defining post() themselves (FormView, CreateAPIView).
SUBMISSION_BASE_WORDS = frozenset({"form", "create"})
SUBMISSION_METHODS = frozenset({"post", "put", "patch", "form_valid", "create", "perform_create"})

# Calls that verify a password; the Django ones go through authenticate() (and so past django-axes).
AUTHENTICATE_CALLS = frozenset({
    "django.contrib.auth.authenticate", "django.contrib.auth.aauthenticate",
    "django.contrib.auth.forms.AuthenticationForm",
})
PASSWORD_CHECK_CALLS = frozenset({
    "django.contrib.auth.hashers.check_password", "werkzeug.security.check_password_hash",
    "werkzeug.check_password_hash", "bcrypt.checkpw", "flask_bcrypt.check_password_hash",
})
# Function or method names that check a password, whatever they are called on (`user.check_password()`).
PASSWORD_CHECK_NAMES = frozenset({
    "check_password", "acheck_password", "check_password_hash", "verify_password", "checkpw",
    "verify_and_update_password", "authenticate", "aauthenticate", "authenticate_user", "authenticate_credentials",
    "check_credentials", "verify_credentials", "validate_credentials", "auth_user_db", "auth_user_ldap",
})
PASSWORD_HASHING_PACKAGES = ("passlib.", "argon2.")
PASSWORD_FORMS = frozenset({"fastapi.security.OAuth2PasswordRequestForm",
                            "fastapi.security.OAuth2PasswordRequestFormStrict"})

# -- what throttles it ------------------------------------------------------------------------------------------

# django-otp's devices count failed verifications and refuse to verify for a while after them.
RATE_LIMIT_PACKAGES = frozenset({
    "django_ratelimit", "ratelimit", "flask_limiter", "slowapi", "fastapi_limiter", "limits", "axes", "defender",
    "brake", "django_otp",
})
RATE_LIMIT_WORDS = frozenset({
    "ratelimit", "ratelimited", "ratelimits", "ratelimiter", "limiter", "throttle", "throttled", "throttles",
    "throttling", "lockout", "bruteforce",
})

DRF_DEFAULT_THROTTLES = "REST_FRAMEWORK.DEFAULT_THROTTLE_CLASSES|REST_FRAMEWORK.DEFAULT_THROTTLE_RATES"
LOCKOUT_APPS = (
    "INSTALLED_APPS[axes]|INSTALLED_APPS[axes.apps.AppConfig]|MIDDLEWARE[axes.middleware.AxesMiddleware]"
    "|INSTALLED_APPS[defender]|MIDDLEWARE[defender.middleware.FailedLoginMiddleware]"
)
# Flask-Limiter's configuration key for limits on every route; also stands for the same limits set in code.
APP_DEFAULT_LIMITS = "RATELIMIT_DEFAULT"
# A pseudo-setting whose keys are project classes and functions that rate-limit (see RateLimits): a form whose
# clean() calls the project's limiter throttles the view that validates it.
RATE_LIMITED = "RATE_LIMITED"
# Names from these packages are never project code that could rate-limit: no need to look them up.
LIBRARY_ROOTS = frozenset({
    "builtins", "django", "rest_framework", "flask", "fastapi", "starlette", "werkzeug", "pydantic", "typing",
    "logging", "json", "datetime", "re", "os", "sqlalchemy", "jinja2", "urllib", "collections",
})
MAX_REFERENCES = 40
# Parameters that carry a secret from an emailed link: an endpoint needing one is no entry point for guessing.
LINK_SECRET_PARAMETERS = frozenset({"token", "uidb64", "uidb36", "key", "signature", "nonce"})

# -- words ---------------------------------------------------------------------------------------------------

_JOINED_WORDS = {
    ("sign", "in"): "signin", ("log", "in"): "login", ("log", "on"): "login", ("logon",): "login",
    ("sign", "up"): "signup", ("2", "fa"): "2fa", ("two", "factor"): "2fa", ("twofactor",): "2fa",
    ("rate", "limit"): "ratelimit", ("rate", "limited"): "ratelimited", ("rate", "limits"): "ratelimits",
    ("rate", "limiter"): "ratelimiter", ("brute", "force"): "bruteforce", ("lock", "out"): "lockout",
    ("sign", "out"): "signout", ("log", "out"): "logout", ("o", "auth"): "oauth",  # OAuthLoginView
}


@functools.lru_cache(maxsize=4096)
def words(text: str) -> tuple[str, ...]:
    """Lower-case words with the compounds this rule cares about joined: ``sign_in`` -> ``("signin",)``."""
    split = name_words(text)
    joined: list[str] = []
    index = 0
    while index < len(split):
        for size in (2, 1):
            compound = _JOINED_WORDS.get(tuple(split[index:index + size]))
            if compound is not None:
                joined.append(compound)
                index += size
                break
        else:
            joined.append(split[index])
            index += 1
    return tuple(joined)


# Words saying a name is about a login rather than the login itself, or about a login elsewhere (SSO, OAuth).
NOT_AN_AUTH_ACTION = frozenset({
    "logout", "signout", "oauth", "oauth2", "sso", "saml", "oidc", "openid", "social", "callback", "redirect",
    "required", "url", "urls", "impersonate", "hijack", "as", "qr", "history", "log", "logs", "status", "test",
    "tests", "settings", "mock", "fake", "remote", "provider", "providers",
})
OTP_WORDS = frozenset({"otp", "totp", "hotp", "mfa", "2fa", "tfa"})
CODE_VERBS = frozenset({"verify", "verification", "confirm", "check", "validate", "submit", "enter"})
PASSWORD_WORDS = frozenset({"password", "passwd", "pwd"})
RESET_WORDS = frozenset({"reset", "forgot", "forgotten", "recover", "recovery", "lost"})
# The steps of a reset after the email: they need the emailed token, which cannot be guessed.
RESET_LATER_STEPS = frozenset({"confirm", "complete", "done", "sent", "change", "set", "new", "update", "token"})
LOGIN_WORDS = frozenset({"login", "signin"})
SIGNUP_WORDS = frozenset({"signup", "register", "registration"})
# "register" names many things (devices, webhooks, plugins): only these may go with it.
SIGNUP_COMPANIONS = frozenset({
    "user", "users", "account", "accounts", "customer", "member", "new", "view", "api", "page", "form", "endpoint",
    "handler", "post", "do", "submit", "process", "email", "create", "auth", "v1", "v2", "async", "a",
})
TOKEN_ISSUING = frozenset({"obtain", "create", "issue", "get", "login", "auth", "jwt", "access", "pair", "grant",
                           "sliding"})
NOT_TOKEN_ISSUING = frozenset({
    "refresh", "verify", "revoke", "csrf", "blacklist", "reset", "confirm", "activation", "activate", "invite",
    "invitation", "delete", "list", "email", "xsrf", "upload", "download", "share", "device", "push",
})


def auth_kind(name_or_path_words: tuple[str, ...], last_is_token: bool = False) -> str | None:
    """What kind of auth endpoint a name (or route path) says it is, if any. ``last_is_token``: the words come from
    a path whose last segment is ``token`` (``/api/token/``), which is a token endpoint by itself."""
    found = set(name_or_path_words)
    if not found or found & NOT_AN_AUTH_ACTION:
        return None
    if found & OTP_WORDS or (found & CODE_VERBS and "code" in found):
        return ONE_TIME_CODE
    if found & PASSWORD_WORDS and found & RESET_WORDS:
        return None if found & RESET_LATER_STEPS else PASSWORD_RESET
    if found & LOGIN_WORDS:
        return LOGIN
    if "token" in found and not found & NOT_TOKEN_ISSUING and (found & TOKEN_ISSUING or last_is_token):
        return TOKEN
    if found & SIGNUP_WORDS and found <= SIGNUP_WORDS | SIGNUP_COMPANIONS:
        return SIGNUP
    return None


_PATH_VARIABLE = re.compile(r"[<{(:]")


def path_kind(path: str) -> str | None:
    """The auth kind a route path names by its last literal segments: ``/api/auth/login/`` -> login. A path that
    goes on after the action (``/login/<provider>``) is about something else."""
    segments = [segment.strip("^$?") for segment in path.split("/")]
    segments = [segment for segment in segments if segment]
    if not segments or _PATH_VARIABLE.search(segments[-1]):
        return None
    last_two = words(" ".join(segments[-2:]))
    return auth_kind(last_two, last_is_token=words(segments[-1]) == ("token",))


def mentions_rate_limit(name: str, *, decorator: bool = False) -> bool:
    """A decorator, base, call or dependency named like a rate limiter (``django_ratelimit.decorators.ratelimit``,
    ``limiter.limit``, ``RateLimiter``, ``throttle_classes``, a project's ``check_login_throttle``). A decorator
    named ``limit`` counts too; a call does not (``query.limit(1)``)."""
    if name.split(".")[0] in RATE_LIMIT_PACKAGES:
        return True
    found = words(name)
    return bool(set(found) & RATE_LIMIT_WORDS) or (decorator and found[-1:] in (("limit",), ("limits",)))


def requires_login(name: str) -> bool:
    """A decorator, mixin or dependency that lets only logged-in users in (``login_required``,
    ``LoginRequiredMixin``, ``jwt_required``, ``has_access``, ``Depends(get_current_active_user)``)."""
    last = words(name.rsplit(".", 1)[-1])
    found = set(last)
    if found & {"required", "require", "requires"} and found & {
        "login", "auth", "jwt", "permission", "permissions", "staff", "superuser", "admin", "roles", "role",
        "token", "user", "authentication", "authenticated", "member", "fresh",
    }:
        return True
    if name.rsplit(".", 1)[-1] in {"has_access", "has_access_api", "authenticated", "user_passes_test"}:
        return True
    return "current" in found and bool(found & {"user", "active", "account"})


def permission_requires_login(name: str) -> bool:
    """A DRF permission class that needs a logged-in user: ``IsAuthenticated``, ``IsAdminUser``,
    ``IsAuthenticatedOrReadOnly`` (which still needs one for POST)."""
    found = set(words(name.rsplit(".", 1)[-1]))
    return not found & {"not", "anonymous", "unauthenticated"} and bool(found & {"authenticated", "admin"})


# -- reading code ---------------------------------------------------------------------------------------------


def names_in(node: cst.CSTNode, resolve: Callable[[cst.BaseExpression], str | None]) -> list[str]:
    """Every name, attribute chain and called function inside an expression, resolved where the imports allow
    (``method_decorator(ratelimit(key="ip"))`` gives both functions)."""
    found: list[str] = []
    pending: list[cst.CSTNode] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.Arg):
            pending.append(current.value)  # not the keyword: `limit=` is not a limiter
            continue
        if isinstance(current, (cst.Name, cst.Attribute)):
            name = resolve(current) or dotted_name(current)
            if name is not None:
                found.append(name)
            if isinstance(current, cst.Attribute):
                continue
        pending += current.children
    return found


def _is_empty_collection(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, (cst.List, cst.Tuple, cst.Set)) and not node.elements


def _http_methods(node: cst.BaseExpression | None) -> set[str] | None:
    """The upper-case methods of a ``methods=[...]`` literal, or None when it is not one."""
    if not isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return None
    found = {string_value(element.value) for element in node.elements}
    return None if None in found else {method.upper() for method in found if method}


@dataclass
class Evidence:
    """What the body of a function or class shows."""

    node: cst.FunctionDef | cst.ClassDef
    checks_password: bool = False
    authenticates: bool = False
    reads_submission: bool = False
    rate_limited: bool = False
    mentions_credentials: bool = False  # a password, a form or a serializer: it takes credentials
    takes_link_secret: bool = False  # a handler method takes a secret from an emailed link (`post(self, token)`)
    references: list[str] = field(default_factory=list)  # project names it uses, which may rate-limit
    methods: set[str] = field(default_factory=set)  # for a class: the names of its methods
    method_decorators: list[cst.Decorator] = field(default_factory=list)
    actions: list[tuple[cst.FunctionDef, Evidence]] = field(default_factory=list)  # DRF @action methods

    def absorb(self, other: Evidence) -> None:
        self.checks_password |= other.checks_password
        self.authenticates |= other.authenticates
        self.reads_submission |= other.reads_submission
        self.rate_limited |= other.rate_limited
        self.mentions_credentials |= other.mentions_credentials
        self.references += other.references


@dataclass(frozen=True)
class Verdict:
    """A decided endpoint: what it is and how the project could throttle it."""

    kind: str
    framework: str
    authenticates: bool
    throttles_disabled: bool = False  # DRF `throttle_classes = []`: the project's defaults do not apply
    exempt: bool = False  # `@limiter.exempt`: the application's default limits do not apply
    references: tuple[str, ...] = ()  # project names that would throttle it if they rate-limit


SUBMISSION_ATTRIBUTES = frozenset({"POST", "data", "method", "form", "json", "get_json", "FILES"})
CREDENTIAL_ATTRIBUTES = frozenset({"form_class", "serializer_class", "authentication_form"})
CREDENTIAL_WORDS = frozenset({"password", "passwd", "pwd", "credentials", "passphrase"})
NAMED_ONLY_NEEDS_CREDENTIALS = frozenset({LOGIN, TOKEN})

KIND_PHRASES = {
    LOGIN: ("Login endpoint", "passwords can be guessed as fast as the server answers"),
    TOKEN: ("Token endpoint", "passwords can be guessed as fast as the server answers"),
    PASSWORD_CHECK: ("Endpoint", "it checks a password, which can be guessed as fast as the server answers"),
    PASSWORD_RESET: ("Password-reset endpoint", "it can flood mailboxes and probe which accounts exist"),
    ONE_TIME_CODE: ("One-time-code (OTP/2FA) endpoint", "a short code falls to brute force within hours"),
    SIGNUP: ("Sign-up endpoint", "accounts can be created in bulk by a script"),
}
ADVICE = {
    DJANGO: "decorate it with django-ratelimit's `@ratelimit(key=\"ip\", rate=\"5/m\")` (through "
            "`method_decorator` on a class-based view)",
    DRF: "set `throttle_classes` on the view (e.g. `ScopedRateThrottle` with a `throttle_scope`) or "
         "`DEFAULT_THROTTLE_CLASSES` in `REST_FRAMEWORK`",
    FLASK: "decorate it with Flask-Limiter's `@limiter.limit(\"5 per minute\")` or give the `Limiter` "
           "`default_limits`",
    FASTAPI: "decorate it with slowapi's `@limiter.limit(\"5/minute\")` or add fastapi-limiter's "
             "`Depends(RateLimiter(times=5, seconds=60))` to its dependencies",
}
LOCKOUT_ADVICE = ", or let django-axes lock out repeated failures"


def message(name: str, verdict: Verdict) -> str:
    subject, risk = KIND_PHRASES[verdict.kind]
    advice = ADVICE[verdict.framework]
    if verdict.authenticates and verdict.framework in (DJANGO, DRF):
        advice += LOCKOUT_ADVICE
    if verdict.throttles_disabled:
        return (f"{subject} `{name}` sets `throttle_classes` to nothing, which turns off the project's throttles: "
                f"{risk}; {advice}")
    if verdict.exempt:
        return f"{subject} `{name}` is exempt from rate limiting: {risk}; give it its own `@limiter.limit(...)`"
    return f"{subject} `{name}` has no rate limiting: {risk}; {advice}"


def endpoint_kind(named: str | None, accepts_submission: bool, evidence: Evidence,
                  takes_password_form: bool = False) -> str | None:
    """The kind of auth endpoint, from what its name or path says (``named``) and what its body does. A name is
    enough for an endpoint that accepts submitted data, but a login or token endpoint known only by name must also
    handle a password, a form or a serializer (``LoginStartView`` that only redirects is not one)."""
    checks_password = evidence.checks_password or takes_password_form
    if named is not None and accepts_submission:
        if named in NAMED_ONLY_NEEDS_CREDENTIALS and not (checks_password or evidence.mentions_credentials):
            return None
        return named
    if not checks_password:
        return None
    return named or (TOKEN if takes_password_form else PASSWORD_CHECK)


def requirement(verdict: Verdict) -> tuple[str, str] | None:
    """The project-wide throttles that would cover this endpoint: the candidate holds when none is enabled."""
    if verdict.exempt:
        return None
    references = []
    if verdict.framework == DRF and not verdict.throttles_disabled:
        references.append(DRF_DEFAULT_THROTTLES)
    if verdict.authenticates and verdict.framework in (DJANGO, DRF):
        references.append(LOCKOUT_APPS)
    if verdict.framework in (FLASK, FASTAPI):
        references.append(APP_DEFAULT_LIMITS)
    references += [f"{RATE_LIMITED}.{name}" for name in verdict.references]
    return ("settings-unset", "|".join(references)) if references else None


# -- the check ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    framework: str
    path: str | None
    methods: frozenset[str]
    decorator: cst.Call


ROUTE_DECORATORS = {
    "route": None, "api_route": None, "post": "POST", "put": "PUT", "patch": "PATCH", "get": "GET",
    "delete": "DELETE",
}
FRAMEWORK_PACKAGES = {"flask": FLASK, "quart": FLASK, "fastapi": FASTAPI, "starlette": FASTAPI}


class UnthrottledAuthEndpoint(Check):
    rule_id = "RV405"
    requires_facts = ("settings", "rate-limits")
    triggers = (
        "login", "Login", "LogIn", "signin", "SignIn", "sign_in", "token", "Token", "password", "Password", "otp",
        "OTP", "Otp", "2fa", "2FA", "mfa", "MFA", "signup", "SignUp", "sign_up", "register", "Register",
        "authenticate", "checkpw", "auth.urls", "djoser",
    )

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict[str, Any]) -> None:
        super().__init__(ctx, spec, options)
        self._open: list[Evidence] = []
        self._frameworks: set[str] = set()  # web frameworks this module imports
        self._imports_django = False
        # Views defined earlier in this module -> what they are (None: a view, not an auth view).
        self._local_views: dict[str, tuple[str, AuthView | None, bool]] = {}
        # Class-based auth views, reported at the end of the module unless another class of it subclasses them.
        self._pending_classes: dict[str, tuple[cst.ClassDef, Verdict]] = {}

    # -- imports --------------------------------------------------------------------------------------------------

    def _imported(self, module: str | None) -> None:
        root = (module or "").split(".")[0]
        if root in FRAMEWORK_PACKAGES:
            self._frameworks.add(FRAMEWORK_PACKAGES[root])
        if root in ("django", "rest_framework"):
            self._imports_django = True

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            self._imported(dotted_name(alias.name))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if not node.relative and node.module is not None:
            self._imported(dotted_name(node.module))

    def leave_Module(self, node: cst.Module) -> None:
        for view, verdict in self._pending_classes.values():
            self._report(view.name, view.name.value, verdict)

    # -- evidence from bodies -----------------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._open.append(Evidence(node))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._open.append(Evidence(node))

    def _name(self, node: cst.BaseExpression) -> str | None:
        return self.ctx.qualified_name(node) or dotted_name(node)

    def visit_Call(self, node: cst.Call) -> None:
        name = self._name(node.func)
        if not self._open:
            if name in URL_FUNCTIONS:
                self._check_url_entry(node)
            return
        if name is None:
            return
        evidence = self._open[-1]
        last = name.rsplit(".", 1)[-1]
        if name in AUTHENTICATE_CALLS:
            evidence.checks_password = evidence.authenticates = True
        elif name in PASSWORD_CHECK_CALLS or last in PASSWORD_CHECK_NAMES or (
            name.startswith(PASSWORD_HASHING_PACKAGES) and last in ("verify", "verify_and_update")
        ):
            evidence.checks_password = True
        if mentions_rate_limit(name):
            evidence.rate_limited = True
        written = (dotted_name(node.func) or "").rsplit(".", 1)[-1]
        if {words(last)[-1:], words(written)[-1:]} & {("form",), ("serializer",)}:
            evidence.mentions_credentials = True  # `LoginForm(request.POST)`, `login_form(request.POST)`
        evidence.references.append(name)

    def visit_Name(self, node: cst.Name) -> None:
        if self._open and set(words(node.value)) & CREDENTIAL_WORDS:
            self._open[-1].mentions_credentials = True

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        # A key or field name (`request.POST["password"]`), not prose that mentions passwords.
        if self._open and " " not in node.value and set(words(node.value)) & CREDENTIAL_WORDS:
            self._open[-1].mentions_credentials = True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self._open and set(words(node.attr.value)) & CREDENTIAL_WORDS:
            self._open[-1].mentions_credentials = True
        if self._open and node.attr.value in SUBMISSION_ATTRIBUTES:
            receiver = dotted_name(node.value)
            if receiver in ("request", "self.request"):
                self._open[-1].reads_submission = True

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        evidence = self._open.pop()
        owner = self._open[-1] if self._open else None
        if isinstance(owner.node if owner else None, cst.ClassDef) and self.ctx.frames[-1].node is owner.node:
            if any(self._name(self._callee(d.decorator)) == "rest_framework.decorators.action"
                   for d in node.decorators):
                owner.actions.append((node, evidence))  # an endpoint of its own
                return
            owner.absorb(evidence)
            owner.takes_link_secret |= self._needs_link_secret(node, kind=None)
            owner.methods.add(node.name.value)
            owner.method_decorators += node.decorators
            return
        routes = self._routes(node)
        if routes:
            self._decide_route(node, evidence, routes)
        elif self.ctx.at_module_level:
            self._decide_function_view(node, evidence)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        evidence = self._open.pop()
        if self._open:
            # A class nested in a function: its methods' evidence belongs to neither.
            return
        self._decide_class(node, evidence)

    # -- Flask and FastAPI routes ---------------------------------------------------------------------------------

    @staticmethod
    def _callee(expression: cst.BaseExpression) -> cst.BaseExpression:
        return expression.func if isinstance(expression, cst.Call) else expression

    def _routes(self, node: cst.FunctionDef) -> list[Route]:
        routes = []
        for decorator in node.decorators:
            call = decorator.decorator
            if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
                continue
            verb = call.func.attr.value
            if verb not in ROUTE_DECORATORS:
                continue
            receiver = self.ctx.qualified_name(call.func.value)
            framework = FRAMEWORK_PACKAGES.get((receiver or "").split(".")[0])
            if framework is None and len(self._frameworks) == 1:
                framework = next(iter(self._frameworks))  # an app or blueprint imported from the project
            if framework is None:
                continue
            path = string_value(call.args[0].value) if call.args and call.args[0].keyword is None else None
            if path is None:
                path = string_value(keyword_argument(call, "rule") or keyword_argument(call, "path"))
            method = ROUTE_DECORATORS[verb]
            if method is not None:
                methods = {method}
            else:
                written = keyword_argument(call, "methods")
                # Without `methods` a route answers GET only; methods computed at run time may include POST.
                methods = {"GET"} if written is None else _http_methods(written) or {"GET", "POST"}
            routes.append(Route(framework, path, frozenset(methods), call))
        return routes

    def _decide_route(self, node: cst.FunctionDef, evidence: Evidence, routes: list[Route]) -> None:
        framework = routes[0].framework
        decorator_names = [n for d in node.decorators for n in names_in(d.decorator, self.ctx.qualified_name)]
        parameter_names = self._parameter_names(node)
        if any(requires_login(name) for name in (*decorator_names, *parameter_names)):
            return
        # `@limiter.exempt` names the limiter too, but takes the route out of its default limits.
        exempt = any((self._name(self._callee(d.decorator)) or "").endswith(".exempt") for d in node.decorators)
        if not exempt and (evidence.rate_limited or any(
                mentions_rate_limit(name, decorator=True) for name in (*decorator_names, *parameter_names))):
            return
        takes_password_form = any(name in PASSWORD_FORMS for name in parameter_names)
        accepts_submission = any(route.methods & {"POST", "PUT", "PATCH"} for route in routes)
        named = auth_kind(words(node.name.value))
        for route in routes:
            named = named or (path_kind(route.path) if route.path else None)
        kind = endpoint_kind(named, accepts_submission, evidence, takes_password_form)
        if kind is None or self._needs_link_secret(node, kind):
            return
        references = self._references(evidence, [*decorator_names, *parameter_names])
        self._report(node.name, node.name.value,
                     Verdict(kind, framework, authenticates=False, exempt=exempt, references=references))

    def _parameter_names(self, node: cst.FunctionDef) -> list[str]:
        """Names in the parameters' annotations and defaults (FastAPI dependencies)."""
        found = []
        for param in (*node.params.params, *node.params.kwonly_params, *node.params.posonly_params):
            for part in (param.annotation, param.default):
                if part is not None:
                    found += names_in(part, self.ctx.qualified_name)
        return found

    # -- Django function views ------------------------------------------------------------------------------------

    def _decide_function_view(self, node: cst.FunctionDef, evidence: Evidence) -> None:
        decorator_names = [n for d in node.decorators for n in names_in(d.decorator, self.ctx.qualified_name)]
        api_view = next((d.decorator for d in node.decorators
                         if self._name(self._callee(d.decorator)) == "rest_framework.decorators.api_view"), None)
        params = node.params.params
        takes_request = bool(params) and params[0].name.value == "request"
        if api_view is None and not (takes_request and self._imports_django):
            return
        if any(requires_login(name) for name in decorator_names):
            return
        throttles_disabled = self._drf_throttle_decorator_empty(node)
        if not throttles_disabled and (evidence.rate_limited or any(mentions_rate_limit(n, decorator=True) for n in decorator_names)):
            return
        accepts_submission = evidence.reads_submission
        if isinstance(api_view, cst.Call) and api_view.args:
            methods = _http_methods(api_view.args[0].value)
            accepts_submission = bool(methods and methods & {"POST", "PUT", "PATCH"})
        kind = endpoint_kind(auth_kind(words(node.name.value)), accepts_submission, evidence)
        if kind is None or self._needs_link_secret(node, kind):
            return
        framework = DRF if api_view is not None else DJANGO
        verdict = Verdict(kind, framework, evidence.authenticates, throttles_disabled,
                          references=self._references(evidence, decorator_names))
        self._report(node.name, node.name.value, verdict)

    def _drf_throttle_decorator_empty(self, node: cst.FunctionDef) -> bool:
        for decorator in node.decorators:
            call = decorator.decorator
            if isinstance(call, cst.Call) and self._name(call.func) == "rest_framework.decorators.throttle_classes":
                return bool(call.args) and _is_empty_collection(call.args[0].value)
        return False

    # -- class-based views ----------------------------------------------------------------------------------------

    def _view_family(self, bases: list[str]) -> tuple[str | None, AuthView | None, bool]:
        """(framework, known auth view it is, whether it is already throttled) from a class's resolved bases."""
        framework: str | None = None
        known: AuthView | None = None
        throttled = False
        for base in bases:
            if base.startswith(SELF_THROTTLED_PACKAGES):
                return None, None, True
            if base in KNOWN_AUTH_VIEWS:
                known = known or KNOWN_AUTH_VIEWS[base]
            local = self._local_views.get(base)
            if local is not None:
                framework = framework if framework == DRF else local[0]
                known = known or local[1]
                throttled |= local[2]
                continue
            for prefix, family in VIEW_PACKAGES.items():
                if base.startswith(prefix):
                    framework = framework if framework == DRF else family
            throttled |= mentions_rate_limit(base)
        if known is not None:
            framework = known.framework if framework != DRF else DRF
        return framework, known, throttled

    def _class_attributes(self, node: cst.ClassDef) -> dict[str, cst.BaseExpression]:
        found = {}
        for statement in node.body.body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Assign):
                        for target in small.targets:
                            if isinstance(target.target, cst.Name):
                                found[target.target.value] = small.value
                    elif isinstance(small, cst.AnnAssign) and small.value is not None \
                            and isinstance(small.target, cst.Name):
                        found[small.target.value] = small.value
        return found

    def _decide_class(self, node: cst.ClassDef, evidence: Evidence) -> None:
        bases = [name for arg in node.bases if arg.keyword is None
                 for name in [self.ctx.qualified_name(arg.value) or dotted_name(arg.value)] if name]
        framework, known, throttled = self._view_family(bases)
        qualified = self.ctx.qualify(node.name.value)
        for base in bases:
            self._pending_classes.pop(base, None)  # a base view: its subclasses are the endpoints
        if framework is None:
            if throttled:  # a self-throttled library view: so are its subclasses here
                self._local_views[qualified] = (DJANGO, None, True)
            return
        attributes = self._class_attributes(node)
        throttle_classes = attributes.get("throttle_classes")
        throttles_disabled = _is_empty_collection(throttle_classes)
        decorator_names = [n for d in (*node.decorators, *evidence.method_decorators)
                           for n in names_in(d.decorator, self.ctx.qualified_name)]
        throttled |= (throttle_classes is not None and not throttles_disabled) or evidence.rate_limited or any(
            mentions_rate_limit(name, decorator=True) for name in decorator_names)
        self._local_views[qualified] = (framework, known, throttled)
        permission_names = names_in(attributes["permission_classes"], self.ctx.qualified_name) \
            if "permission_classes" in attributes else []
        if any(requires_login(name) for name in (*bases, *decorator_names)) or any(
                permission_requires_login(name) for name in permission_names):
            return
        for method, action_evidence in evidence.actions:
            self._decide_action(method, action_evidence, throttled, throttles_disabled)
        if throttled:
            return
        if known is not None:
            kind, authenticates = known.kind, known.authenticates or evidence.authenticates
        else:
            accepts_submission = bool(evidence.methods & SUBMISSION_METHODS) or any(
                set(words(base.rsplit(".", 1)[-1])) & SUBMISSION_BASE_WORDS for base in bases)
            evidence.mentions_credentials |= bool(attributes.keys() & CREDENTIAL_ATTRIBUTES)
            kind = endpoint_kind(auth_kind(words(node.name.value)), accepts_submission, evidence)
            if kind is None or (evidence.takes_link_secret and kind != ONE_TIME_CODE):
                return
            authenticates = evidence.authenticates
        used = [*bases, *decorator_names, *(name for attribute in CREDENTIAL_ATTRIBUTES & attributes.keys()
                                           for name in names_in(attributes[attribute], self.ctx.qualified_name))]
        verdict = Verdict(kind, framework, authenticates, throttles_disabled and framework == DRF,
                          references=self._references(evidence, used))
        self._pending_classes[qualified] = (node, verdict)

    def _decide_action(self, node: cst.FunctionDef, evidence: Evidence, class_throttled: bool,
                       class_throttles_disabled: bool) -> None:
        """A DRF ``@action`` of a viewset: an endpoint of its own, throttled by its own or its class's
        ``throttle_classes``."""
        action = next(d.decorator for d in node.decorators
                      if self._name(self._callee(d.decorator)) == "rest_framework.decorators.action")
        arguments = action if isinstance(action, cst.Call) else None
        own_throttles = keyword_argument(arguments, "throttle_classes") if arguments else None
        throttles_disabled = _is_empty_collection(own_throttles) if own_throttles is not None \
            else class_throttles_disabled
        decorator_names = [n for d in node.decorators for n in names_in(d.decorator, self.ctx.qualified_name)
                           if not (isinstance(d.decorator, cst.Call) and d.decorator is action)]
        if arguments is not None:
            decorator_names += [n for arg in arguments.args if arg.keyword is not None
                                and arg.keyword.value == "permission_classes"
                                for n in names_in(arg.value, self.ctx.qualified_name)]
        if any(requires_login(n) or permission_requires_login(n) for n in decorator_names):
            return
        if not throttles_disabled and ((class_throttled and own_throttles is None) or own_throttles is not None
                                       or evidence.rate_limited
                                       or any(mentions_rate_limit(n, decorator=True) for n in decorator_names)):
            return
        methods = _http_methods(keyword_argument(arguments, "methods")) if arguments else None
        accepts_submission = bool(methods and methods & {"POST", "PUT", "PATCH"})
        url_path = string_value(keyword_argument(arguments, "url_path")) if arguments else None
        named = auth_kind(words(node.name.value)) or (path_kind(url_path) if url_path else None)
        kind = endpoint_kind(named, accepts_submission, evidence)
        if kind is None or self._needs_link_secret(node, kind):
            return
        self._report(node.name, node.name.value, Verdict(kind, DRF, evidence.authenticates, throttles_disabled,
                                                         references=self._references(evidence, decorator_names)))

    @staticmethod
    def _needs_link_secret(node: cst.FunctionDef, kind: str | None) -> bool:
        """The endpoint takes a secret from an emailed link (``invite(request, token)``, a reset confirmation, a
        handler method ``post(self, token)``): without it nothing happens, and it cannot be guessed. A one-time code
        is the exception: it is short."""
        if kind == ONE_TIME_CODE:
            return False
        params = (*node.params.params[1:], *node.params.kwonly_params)
        return any(set(words(param.name.value)) & LINK_SECRET_PARAMETERS for param in params)

    @staticmethod
    def _references(evidence: Evidence, names: list[str]) -> tuple[str, ...]:
        """Project classes and functions the endpoint uses (its form's class, a helper it calls, a base view from
        another module): the join step knows which of them rate-limit."""
        found: dict[str, None] = {}
        for name in (*names, *evidence.references):
            defined = name.split("(", 1)[0].split("[", 1)[0]
            if "." in defined and defined.split(".", 1)[0] not in LIBRARY_ROOTS and not defined.startswith("self."):
                found[defined] = None
        return tuple(found)[:MAX_REFERENCES]

    # -- URLconfs -------------------------------------------------------------------------------------------------

    def _check_url_entry(self, node: cst.Call) -> None:
        """``path("login/", LoginView.as_view())`` and friends: a library auth view routed as it is."""
        view = keyword_argument(node, "view")
        if view is None and len(node.args) > 1 and node.args[1].keyword is None:
            view = node.args[1].value
        if view is None:
            return
        throttled = False
        # Look through wrappers: `ratelimit(key="ip", rate="5/m")(LoginView.as_view())`, `csrf_exempt(...)`.
        while isinstance(view, cst.Call) and isinstance(view.func, cst.Call) and view.args:
            throttled |= any(mentions_rate_limit(name, decorator=True)
                             for name in names_in(view.func, self.ctx.qualified_name))
            view = view.args[0].value
        while isinstance(view, cst.Call) and not (isinstance(view.func, cst.Attribute)
                                                  and view.func.attr.value == "as_view") and view.args:
            name = self._name(view.func) or ""
            if name.endswith(".include") or name == "include":
                break
            throttled |= mentions_rate_limit(name, decorator=True)
            view = view.args[0].value
        if throttled:
            return
        known, shown = self._routed_view(view)
        if known is None:
            return
        throttles_disabled = False
        if isinstance(view, cst.Call) and isinstance(view.func, cst.Attribute) and view.func.attr.value == "as_view":
            own_throttles = keyword_argument(view, "throttle_classes")
            if own_throttles is not None and not _is_empty_collection(own_throttles):
                return
            throttles_disabled = own_throttles is not None
        self._report(node, shown, Verdict(known.kind, known.framework, known.authenticates, throttles_disabled))

    def _routed_view(self, view: cst.BaseExpression) -> tuple[AuthView | None, str]:
        if isinstance(view, cst.Call) and isinstance(view.func, cst.Attribute) and view.func.attr.value == "as_view":
            name = self.ctx.qualified_name(view.func.value)
            return KNOWN_AUTH_VIEWS.get(name or ""), (name or "").rsplit(".", 1)[-1]
        if isinstance(view, cst.Call) and (self._name(view.func) or "").rsplit(".", 1)[-1] == "include" \
                and view.args:
            target = view.args[0].value
            urlconf = string_value(target) or self.ctx.qualified_name(target)
            return KNOWN_AUTH_URLCONFS.get(urlconf or ""), f"include(\"{urlconf}\")"
        name = self.ctx.qualified_name(view)
        return KNOWN_AUTH_VIEWS.get(name or ""), (name or "").rsplit(".", 1)[-1]

    # -- reporting ------------------------------------------------------------------------------------------------

    def _report(self, node: cst.CSTNode, name: str, verdict: Verdict) -> None:
        self.report(node, message(name, verdict), requires=requirement(verdict))


# -- project-wide rate limits ---------------------------------------------------------------------------------

LIMITER_CLASSES = frozenset({
    "flask_limiter.Limiter", "flask_limiter.extension.Limiter", "slowapi.Limiter", "slowapi.extension.Limiter",
})
APP_CLASSES = frozenset({"fastapi.FastAPI", "fastapi.APIRouter", "fastapi.routing.APIRouter"})
LIMIT_SETTING_NAMES = frozenset({"RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION"})


class RateLimits(FactCollector):
    """What rate-limits beyond the endpoint's own code, recorded in the shape of settings facts (the join step
    reads both kinds into one map), so that a ``settings-unset`` requirement sees them with the Django settings:

    - ``RATELIMIT_DEFAULT`` (Flask-Limiter's own name for it): limits a Flask or FastAPI application puts on every
      route, wherever they are configured: ``Limiter(..., default_limits=[...])`` (Flask-Limiter, slowapi),
      ``RATELIMIT_DEFAULT`` in a config module or class or ``app.config``, fastapi-limiter's ``RateLimiter`` in an
      app's or router's ``dependencies``, and ``limiter.limit(...)(blueprint)``;
    - ``RATE_LIMITED.<qualified name>``: a module-level class or function that rate-limits (calls a limiter,
      is decorated with one, or sets DRF ``throttle_classes``): a form whose ``clean()`` counts attempts, a base
      view, a login helper."""

    kind = "rate-limits"
    triggers = (
        "default_limits", "application_limits", "RATELIMIT_", "RateLimit", "atelimit", "ate_limit", "imiter",
        "hrottl", "ockout", "rute", "limit", "axes", "defender", "brake", "django_otp",
    )

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self._definitions: list[str] = []  # the module-level class or function being visited, if any
        self._depth = 0

    def _found_default(self) -> None:
        self.ctx.add_fact(self.kind, (APP_DEFAULT_LIMITS, "", "set", self.ctx.module))

    def _found_limiter(self) -> None:
        if self._definitions:
            self.ctx.add_fact(self.kind, (RATE_LIMITED, self._definitions[-1], "set", self.ctx.module))

    def _enter(self, node: cst.FunctionDef | cst.ClassDef) -> None:
        if self._depth == 0 and self.ctx.at_module_level:
            self._definitions.append(self.ctx.qualify(node.name.value))
        self._depth += 1

    def _leave(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._definitions:
            self._definitions.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._enter(node)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._leave()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._enter(node)
        if any(mentions_rate_limit(self.ctx.qualified_name(arg.value) or dotted_name(arg.value) or "")
               for arg in node.bases):
            self._found_limiter()

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self._leave()

    def visit_Decorator(self, node: cst.Decorator) -> None:
        if any(mentions_rate_limit(name, decorator=True)
               for name in names_in(node.decorator, self.ctx.qualified_name)):
            self._found_limiter()

    def visit_Call(self, node: cst.Call) -> None:
        name = self.ctx.qualified_name(node.func)
        if mentions_rate_limit(name or dotted_name(node.func) or ""):
            self._found_limiter()
        if name in LIMITER_CLASSES:
            for keyword in ("default_limits", "application_limits"):
                limits = keyword_argument(node, keyword)
                if limits is not None and not _is_empty_collection(limits) \
                        and not (isinstance(limits, cst.Name) and limits.value == "None"):
                    self._found_default()
        elif name in APP_CLASSES or (name or "").endswith("include_router"):
            dependencies = keyword_argument(node, "dependencies")
            if dependencies is not None and any(
                    mentions_rate_limit(n) for n in names_in(dependencies, self.ctx.qualified_name)):
                self._found_default()
        elif isinstance(node.func, cst.Call) and isinstance(node.func.func, cst.Attribute) \
                and node.func.func.attr.value in ("limit", "shared_limit") \
                and node.args and isinstance(node.args[0].value, (cst.Name, cst.Attribute)):
            self._found_default()  # limiter.limit("10/minute")(auth_blueprint)
        elif isinstance(node.func, cst.Attribute) and node.func.attr.value == "update" and any(
                arg.keyword is not None and arg.keyword.value in LIMIT_SETTING_NAMES for arg in node.args):
            self._found_default()  # app.config.update(RATELIMIT_DEFAULT="100/hour")

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            assigned = target.target
            if isinstance(assigned, cst.Name) and assigned.value == "throttle_classes" \
                    and not _is_empty_collection(node.value):
                self._found_limiter()
            if isinstance(assigned, cst.Subscript) and subscript_index(assigned) is not None:
                assigned = subscript_index(assigned)  # app.config["RATELIMIT_DEFAULT"] = ...
            if (assigned.value if isinstance(assigned, cst.Name) else string_value(assigned)) in LIMIT_SETTING_NAMES:
                self._found_default()
