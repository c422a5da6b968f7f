"""Project settings as facts: what the join step knows about settings split over several modules."""

from __future__ import annotations

import textwrap

import pytest
from conftest import FlagTarget, build_plan

import reviewer.analysis
from reviewer.analysis import analyze_text
from reviewer.findings import FileResult
from reviewer.index import ProjectIndex

BASE = """
    DEBUG = False
    REST_FRAMEWORK = {
        "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
        "DEFAULT_THROTTLE_CLASSES": [],
    }
    MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]
"""
PRODUCTION = """
    from .base import *

    MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"anon": "10/min"}
    CORS_ALLOW_CREDENTIALS = True

    def helper():
        DEBUG = True  # a local, not a setting
"""


class NeedsSettings(FlagTarget):
    requires_facts = ("settings",)


def facts(source: str, module: str) -> FileResult:
    return analyze_text(textwrap.dedent(source), module.replace(".", "/") + ".py", module, False, build_plan())


def test_settings_split_over_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reviewer.analysis, "check_classes", lambda: {"RV901": NeedsSettings})
    index = ProjectIndex([facts(BASE, "config.settings.base"), facts(PRODUCTION, "config.settings.production")])
    assert index.setting_states("DEBUG") == {"false"}
    assert index.setting_enabled("REST_FRAMEWORK.DEFAULT_PAGINATION_CLASS")
    assert not index.setting_enabled("REST_FRAMEWORK.DEFAULT_THROTTLE_CLASSES")
    assert index.setting_enabled("REST_FRAMEWORK.DEFAULT_THROTTLE_RATES")
    assert index.setting_enabled("MIDDLEWARE[axes.middleware.AxesMiddleware]")
    assert not index.setting_enabled("MIDDLEWARE[django_ratelimit.middleware.RatelimitMiddleware]")
    assert index.holds(("setting-true", "CORS_ALLOW_CREDENTIALS"))
    throttled = "REST_FRAMEWORK.DEFAULT_THROTTLE_CLASSES|MIDDLEWARE[axes.middleware.AxesMiddleware]"
    assert not index.holds(("settings-unset", throttled))
    assert index.holds(("settings-unset", "REST_FRAMEWORK.DEFAULT_THROTTLE_CLASSES|INSTALLED_APPS[axes]"))


def test_flask_configuration_set_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reviewer.analysis, "check_classes", lambda: {"RV901": NeedsSettings})
    factory = """
        from flask import Flask

        def create_app():
            app = Flask(__name__)
            app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
            return app
    """
    assert ProjectIndex([facts(factory, "web.app")]).setting_enabled("MAX_CONTENT_LENGTH")
    updated = "app.config.update(MAX_CONTENT_LENGTH=None)\\n"
    assert not ProjectIndex([facts(updated, "web.app")]).setting_enabled("MAX_CONTENT_LENGTH")
    config_class = """
        class ProductionConfig:
            MAX_CONTENT_LENGTH = 10_000_000
    """
    assert ProjectIndex([facts(config_class, "web.config")]).setting_enabled("MAX_CONTENT_LENGTH")
    assert not ProjectIndex([facts("limits = {}\\n", "web.other")]).setting_enabled("MAX_CONTENT_LENGTH")
