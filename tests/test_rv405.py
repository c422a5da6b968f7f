"""RV405 unthrottled-auth-endpoint.

Small modules whose reported lines end with ``# reported`` run through the real engine with only RV405 enabled;
the sample projects under ``fixtures/auth_endpoints`` check the join step: settings, default limits and
rate-limiting forms in other modules.
"""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import pytest
from conftest import assert_marked as assert_marked_with
from conftest import marked_lines, rule_plan
from conftest import reported as reported_with

from reviewer.analysis import analyze_text
from reviewer.checks.throttling import (
    auth_kind,
    mentions_rate_limit,
    path_kind,
    requires_login,
    words,
)
from reviewer.discover import discover
from reviewer.engine import scan
from reviewer.index import ProjectIndex

FIXTURES = Path(__file__).parent / "fixtures" / "auth_endpoints"
PLAN = rule_plan("RV405")


def reported(source: str) -> list[tuple[int, str]]:
    return reported_with(source, PLAN)


assert_marked = functools.partial(assert_marked_with, plan=PLAN)


def only_message(source: str) -> str:
    findings = reported(source)
    assert len(findings) == 1, findings
    return findings[0][1]


def fixture_findings(project: str, settings_from: str | None = None) -> list[tuple[str, int]]:
    """(path, line) of every finding in a sample project; with ``settings_from``, the project's own settings
    module is replaced by that project's."""
    root = FIXTURES / project
    sources, _ = discover([root], root, [], respect_gitignore=False)
    if settings_from is None:
        result = scan(sources, PLAN, str(root), jobs=1)
        assert result.notices == []
        return sorted((finding.path, finding.span.line) for finding in result.findings)
    settings = FIXTURES / settings_from / "config" / "settings.py"
    results = [analyze_text(Path(source.path).read_text(), source.rel, source.module, source.is_package, PLAN)
               for source in sources if source.rel != "config/settings.py"]
    results.append(analyze_text(settings.read_text(), "config/settings.py", "config.settings", False, PLAN))
    findings = [f for result in results for f in result.findings]
    findings += ProjectIndex(results).resolve([c for result in results for c in result.candidates])
    return sorted((finding.path, finding.span.line) for finding in findings)


def marked_in(project: str) -> list[tuple[str, int]]:
    root = FIXTURES / project
    return sorted(
        (path.relative_to(root).as_posix(), line)
        for path in root.rglob("*.py")
        for line in marked_lines(path.read_text())
    )


# -- sample projects ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("project", ["django_site", "flask_app", "flask_limited", "fastapi_app", "fastapi_limited"])
def test_sample_project_reports_the_marked_endpoints(project: str) -> None:
    assert fixture_findings(project) == marked_in(project)


def test_project_wide_throttles_cover_drf_views_and_axes_covers_authenticate() -> None:
    # DEFAULT_THROTTLE_CLASSES covers the DRF views, django-axes the Django views that call authenticate(); a
    # plain Django password-reset, sign-up or code view has nothing project-wide to protect it.
    assert fixture_findings("django_site", settings_from="django_throttled_settings") == [
        ("accounts/views.py", 78),  # forgot_password
        ("accounts/views.py", 100),  # SignupView
        ("accounts/views.py", 111),  # VerifyTwoFactorView
        ("config/urls.py", 10),  # PasswordResetView
    ]


def test_flask_routes_are_reported_without_default_limits() -> None:
    # The same blueprint as flask_limited's, scanned without the module that gives its Limiter default limits.
    root = FIXTURES / "flask_limited"
    views = (root / "auth" / "views.py").read_text()
    result = analyze_text(views, "auth/views.py", "flask_limited.auth.views", False, PLAN)
    findings = result.findings + ProjectIndex([result]).resolve(result.candidates)
    assert sorted(finding.span.line for finding in findings) == [12, 21, 28]


# -- Django and DRF ----------------------------------------------------------------------------------------------


def test_messages_name_the_kind_and_the_mechanism_of_the_framework() -> None:
    django = only_message("""
        from django.contrib.auth.views import LoginView

        class SiteLogin(LoginView):
            template_name = "login.html"
    """)
    assert django.startswith("Login endpoint `SiteLogin` has no rate limiting")
    assert "django-ratelimit" in django and "django-axes" in django
    drf = only_message("""
        from rest_framework.views import APIView

        class PasswordResetRequestView(APIView):
            def post(self, request):
                return None
    """)
    assert drf.startswith("Password-reset endpoint `PasswordResetRequestView`")
    assert "`throttle_classes`" in drf and "django-axes" not in drf
    flask = only_message("""
        from flask import Flask
        app = Flask(__name__)

        @app.post("/verify-otp")
        def verify():
            return "ok"
    """)
    assert flask.startswith("One-time-code (OTP/2FA) endpoint `verify`") and "Flask-Limiter" in flask
    fastapi = only_message("""
        from fastapi import APIRouter
        router = APIRouter()

        @router.post("/users/register")
        async def create(body: dict):
            return body
    """)
    assert fastapi.startswith("Sign-up endpoint `create`") and "slowapi" in fastapi and "RateLimiter" in fastapi


def test_django_views_by_name_need_submitted_data() -> None:
    assert_marked("""
        from django.shortcuts import render
        from django.views.generic import TemplateView, View

        def login(request):  # reported
            if request.method == "POST":
                form = LoginForm(request.POST)
            return render(request, "login.html")

        def signup_done(request):
            return render(request, "signup_done.html")

        class LoginPage(TemplateView):
            template_name = "login.html"

        class LoginStartView(View):
            def post(self, request):
                return redirect_to_provider(request.POST.get("next"))

        def password_reset_complete(request):
            return render(request, "done.html", {"form": request.POST})

        def login_helper(user):
            return user
    """)


def test_views_that_check_passwords_are_auth_endpoints_whatever_their_name() -> None:
    assert_marked("""
        from django.contrib.auth import authenticate
        from django.contrib.auth.hashers import check_password
        from rest_framework.views import APIView

        def enter(request):  # reported
            return authenticate(request, username=request.GET["u"], password=request.GET["p"])

        class Gate(APIView):  # reported
            def post(self, request):
                return check_password(request.data["pin"], STORED_PIN)

        class Profile(APIView):
            def post(self, request):
                return request.data
    """)


def test_throttled_views_are_not_reported() -> None:
    assert_marked("""
        from django.contrib.auth.views import LoginView
        from django.utils.decorators import method_decorator
        from django_ratelimit.decorators import ratelimit
        from ratelimit.mixins import RatelimitMixin
        from rest_framework.throttling import AnonRateThrottle
        from rest_framework.views import APIView
        from project.security import rate_limit

        @method_decorator(ratelimit(key="ip", rate="5/m"), name="dispatch")
        class A(LoginView):
            pass

        class B(LoginView):
            @method_decorator(ratelimit(key="ip", rate="5/m"))
            def post(self, request, *args, **kwargs):
                return super().post(request, *args, **kwargs)

        class C(RatelimitMixin, LoginView):
            ratelimit_rate = "5/m"

        class TokenLogin(APIView):
            throttle_classes = (AnonRateThrottle,)

            def post(self, request):
                return request.data["password"]

        def signin(request):
            if rate_limit("signin", request):
                return None
            return request.POST

        class D(LoginView):  # reported
            pass
    """)


def test_subclasses_of_local_views_inherit_what_they_are_and_bases_are_not_endpoints() -> None:
    assert_marked("""
        from django.contrib.auth.views import LoginView
        from django.utils.decorators import method_decorator
        from django_ratelimit.decorators import ratelimit

        @method_decorator(ratelimit(key="ip", rate="5/m"), name="post")
        class ThrottledLogin(LoginView):
            pass

        class StaffLogin(ThrottledLogin):
            template_name = "staff.html"

        class BaseLogin(LoginView):
            pass

        class CustomerLogin(BaseLogin):  # reported
            template_name = "customer.html"
    """)


def test_views_for_logged_in_users_are_not_reported() -> None:
    assert_marked("""
        from django.contrib.auth.decorators import login_required
        from django.contrib.auth.mixins import LoginRequiredMixin
        from django.views.generic import FormView
        from rest_framework.decorators import api_view, permission_classes
        from rest_framework.permissions import IsAuthenticated
        from rest_framework.views import APIView

        @login_required
        def verify_otp(request):
            return request.POST["code"]

        class RegisterDeviceView(LoginRequiredMixin, FormView):
            pass

        class ObtainTokenView(APIView):
            permission_classes = [IsAuthenticated]

            def post(self, request):
                return request.user.check_password(request.data["password"])

        class LoginView(APIView):  # reported
            permission_classes = [AllowAny]

            def post(self, request):
                return request.data["password"]
    """)


def test_allauth_views_rate_limit_themselves() -> None:
    assert_marked("""
        from allauth.account.views import LoginView, SignupView

        class MyLogin(LoginView):
            template_name = "login.html"

        class MySignup(SignupView):
            def form_valid(self, form):
                return super().form_valid(form)
    """)


def test_known_views_in_urlconfs() -> None:
    assert_marked("""
        from django.urls import include, path, re_path
        from django.conf.urls import url
        from django.views.decorators.csrf import csrf_exempt
        from django_ratelimit.decorators import ratelimit
        from rest_framework.authtoken import views as token_views
        from rest_framework_simplejwt.views import TokenObtainSlidingView, TokenRefreshView, TokenVerifyView
        from rest_framework.throttling import AnonRateThrottle

        urlpatterns = [
            re_path(r"^api-token-auth/$", token_views.obtain_auth_token),  # reported
            url(r"^jwt/$", csrf_exempt(TokenObtainSlidingView.as_view())),  # reported
            path("jwt/throttled/", TokenObtainSlidingView.as_view(throttle_classes=[AnonRateThrottle])),
            path("jwt/unthrottled/", TokenObtainSlidingView.as_view(throttle_classes=[])),  # reported
            path("jwt/limited/", ratelimit(key="ip", rate="5/m")(token_views.obtain_auth_token)),
            path("jwt/refresh/", TokenRefreshView.as_view()),
            path("jwt/verify/", TokenVerifyView.as_view()),
            path("auth/", include("djoser.urls.jwt")),  # reported
            path("rest-auth/", include("dj_rest_auth.urls")),  # reported
            path("accounts/", include("allauth.urls")),
        ]
    """)


def test_explicitly_empty_throttle_classes_is_reported_even_with_project_defaults() -> None:
    source = """
        from rest_framework.views import APIView

        REST_FRAMEWORK = {"DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"]}

        class SignupView(APIView):  # reported
            throttle_classes = []

            def post(self, request):
                return request.data

        class RegisterView(APIView):
            def post(self, request):
                return request.data
    """
    assert_marked(source)
    assert "turns off the project's throttles" in only_message(source)


def test_drf_actions_are_endpoints_of_their_own() -> None:
    assert_marked("""
        from rest_framework import viewsets
        from rest_framework.decorators import action
        from rest_framework.throttling import ScopedRateThrottle

        class AuthViewSet(viewsets.GenericViewSet):
            @action(detail=False, methods=["post"], url_path="sign-in")
            def create_session(self, request):  # reported
                return request.data["password"]

            @action(detail=False, methods=["get"])
            def login(self, request):
                return None

            @action(detail=False, methods=["post"], throttle_classes=[ScopedRateThrottle])
            def signup(self, request):
                return None

        class ThrottledViewSet(viewsets.GenericViewSet):
            throttle_classes = [ScopedRateThrottle]

            @action(detail=False, methods=["post"])
            def signup(self, request):
                return None
    """)


def test_a_secret_from_an_emailed_link_gates_the_endpoint() -> None:
    assert_marked("""
        from django.contrib.auth import authenticate

        def accept_invite(request, token):
            return authenticate(request, username=request.POST["u"], password=request.POST["p"])

        def verify_otp(request, token):  # reported
            return request.POST["code"]
    """)


# -- Flask and FastAPI -------------------------------------------------------------------------------------------


def test_flask_routes() -> None:
    assert_marked("""
        from flask import Blueprint, request
        from flask_limiter import Limiter
        from flask_jwt_extended import jwt_required

        bp = Blueprint("auth", __name__)
        limiter = Limiter(lambda: request.remote_addr)

        @bp.route("/sign-in", methods=["POST"])
        def sign_in():  # reported
            return request.form["password"]

        @bp.route("/sign-in/<provider>", methods=["POST"])
        def provider_sign_in(provider):
            return provider

        @bp.route("/token/refresh", methods=["POST"])
        @jwt_required(refresh=True)
        def refresh():
            return "token"

        @bp.route("/password/reset", methods=["POST"])
        @limiter.limit("3 per hour")
        def reset():
            return "sent"

        @bp.route("/about")
        def register():
            return "about"

        @bp.route("/webhooks/register", methods=["POST"])
        def register_webhook():
            return "ok"
    """)


def test_flask_routes_defined_in_an_app_factory() -> None:
    assert_marked("""
        from flask import Flask, request

        def create_app():
            app = Flask(__name__)

            @app.route("/login", methods=["GET", "POST"])
            def login():  # reported
                return request.form.get("password")

            return app
    """)


def test_flask_default_limits_configured_in_any_form() -> None:
    for configuration in (
        "limiter = Limiter(get_remote_address, app=app, default_limits=['100/hour'])",
        "app.config['RATELIMIT_DEFAULT'] = '100/hour'",
        "app.config.update(RATELIMIT_DEFAULT='100/hour')",
        "limiter = Limiter(get_remote_address, app=app)\nlimiter.limit('10/minute')(app)",
    ):
        source = textwrap.dedent("""
            from flask import Flask, request
            from flask_limiter import Limiter
            from flask_limiter.util import get_remote_address

            app = Flask(__name__)
        """) + configuration + textwrap.dedent("""

            @app.post("/login")
            def login():
                return request.form["password"]
        """)
        assert reported(source) == [], configuration
    unlimited = "limiter = Limiter(get_remote_address, app=app, default_limits=[])"
    assert reported(unlimited.join(source.split(configuration))) != []


def test_fastapi_routes() -> None:
    assert_marked("""
        from fastapi import APIRouter, Depends, Security
        from fastapi.security import OAuth2PasswordRequestForm
        from fastapi_limiter.depends import RateLimiter
        from app.deps import get_current_active_user

        router = APIRouter()

        @router.post("/access-token")
        def issue(form: OAuth2PasswordRequestForm = Depends()):  # reported
            return form.username

        @router.post("/login/limited", dependencies=[Depends(RateLimiter(times=5, seconds=60))])
        def limited_login(form: OAuth2PasswordRequestForm = Depends()):
            return form.username

        @router.post("/login/limited-parameter")
        def limited_by_parameter(form: OAuth2PasswordRequestForm = Depends(),
                                 _: None = Depends(RateLimiter(times=5, seconds=60))):
            return form.username

        @router.post("/mfa/enable")
        def enable_mfa(code: str, user=Security(get_current_active_user)):
            return code

        @router.get("/users/me")
        def me(user=Depends(get_current_active_user)):
            return user
    """)


# -- words --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind"), [
    ("LoginView", "login"), ("sign_in", "login"), ("UserLogInAPI", "login"), ("obtain_auth_token", "token"),
    ("TokenObtainView", "token"), ("verify_otp", "one-time-code"), ("TwoFactorVerifyView", "one-time-code"),
    ("check_2fa", "one-time-code"), ("verify_code", "one-time-code"), ("forgot_password", "password-reset"),
    ("PasswordResetRequestView", "password-reset"), ("signup", "signup"), ("RegisterUserView", "signup"),
    ("logout", None), ("login_required", None), ("OAuthLoginView", None), ("saml_login", None),
    ("PasswordResetConfirmView", None), ("password_reset_done", None), ("TokenRefreshView", None),
    ("csrf_token", None), ("register_webhook", None), ("registration_settings", None), ("tokens", None),
])
def test_auth_kind_from_names(name: str, kind: str | None) -> None:
    assert auth_kind(words(name)) == kind


@pytest.mark.parametrize(("path", "kind"), [
    ("/api/auth/login/", "login"), ("/auth/token", "token"), ("api/token/", "token"),
    ("api-token-auth/", "token"), ("^accounts/password/reset/$", "password-reset"), ("/2fa/verify", "one-time-code"),
    ("/users/sign-up", "signup"), ("/login/<provider>", None), ("/password/reset/<uidb64>/<token>/", None),
    ("/api/tokens", None), ("/token/refresh/", None), ("/", None),
])
def test_auth_kind_from_route_paths(path: str, kind: str | None) -> None:
    assert path_kind(path) == kind


def test_rate_limiter_and_login_requirement_names() -> None:
    assert all(mentions_rate_limit(name) for name in (
        "django_ratelimit.decorators.ratelimit", "app.extensions.limiter.limit", "fastapi_limiter.depends.RateLimiter",
        "myproject.security.rate_limit", "rest_framework.decorators.throttle_classes", "accounts.check_lockout",
    ))
    assert not any(mentions_rate_limit(name) for name in ("sqlalchemy.orm.Query().limit", "paginate", "limit"))
    assert mentions_rate_limit("limit", decorator=True)
    assert all(requires_login(name) for name in (
        "django.contrib.auth.decorators.login_required", "flask_jwt_extended.jwt_required",
        "django.contrib.auth.mixins.LoginRequiredMixin", "app.deps.get_current_user", "flask_security.auth_required",
    ))
    assert not any(requires_login(name) for name in (
        "django.views.decorators.http.require_POST", "django.views.decorators.csrf.csrf_exempt", "app.get_user",
    ))


def test_handler_methods_taking_a_link_secret_gate_the_class() -> None:
    assert_marked("""
        from flask import request
        from flask.views import MethodView

        class ResetPassword(MethodView):
            def post(self, token):
                return request.form["password"]

        class ForgotPassword(MethodView):  # reported
            def post(self):
                return request.form["email"]
    """)


def test_a_limiter_applied_to_a_blueprint_inside_a_function_limits_the_project() -> None:
    assert_marked("""
        from flask import Blueprint, request
        from flask.views import MethodView
        from app.extensions import limiter

        class Login(MethodView):
            def post(self):
                return request.form["password"]

        def load_blueprints(app):
            auth = Blueprint("auth", __name__)
            auth.add_url_rule("/login", view_func=Login.as_view("login"))
            limiter.limit("5/minute")(auth)
            app.register_blueprint(auth)
    """)
