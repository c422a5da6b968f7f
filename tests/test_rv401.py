"""RV401 error-details-in-response.

Small modules whose reported lines end with ``# reported``, run through the real engine with only RV401 enabled;
the fixture ``http_app`` marks the lines the rule reports with ``# RV401``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import fixture_lines, marked_lines, reported, rule_plan

from reviewer.checks.http_errors import compile_options
from reviewer.config import ConfigError
from reviewer.discover import discover
from reviewer.engine import scan

PLAN = rule_plan("RV401")
FIXTURE = Path(__file__).parent / "fixtures" / "http_app"


def lines(source: str, plan=PLAN) -> list[int]:
    return [line for line, _ in reported(source, plan)]


CASES = {
    "django-sources": """
        import traceback

        from django.http import HttpResponseServerError, JsonResponse

        def view(request):
            try:
                pass
            except Exception as e:
                JsonResponse({"error": str(e)})  # reported
                JsonResponse({"error": repr(e)})  # reported
                JsonResponse({"error": f"failed: {e!s}"})  # reported
                JsonResponse({"error": "failed: %s" % e})  # reported
                JsonResponse({"error": "failed: %s (%s)" % (request.path, e)})  # reported
                JsonResponse({"error": "failed: {}".format(e)})  # reported
                JsonResponse({"error": e.args})  # reported
                JsonResponse({"error": e.args[0]})  # reported
                JsonResponse({"error": e.message})  # reported
                JsonResponse({"error": "failed: " + str(e)})  # reported
                JsonResponse({"error": str(e)[:100].strip()})  # reported
                HttpResponseServerError(traceback.format_exc())  # reported
                JsonResponse({"error": "failed"}, status=500)
                JsonResponse({"error": type(e).__name__})
                JsonResponse({"error": len(str(e))})
    """,
    "locals-carry-the-text": """
        import json

        from django.http import HttpResponse, JsonResponse

        def view(request):
            error = None
            try:
                pass
            except OSError as e:
                error = str(e)
            if error:
                return JsonResponse({"error": error})  # reported
            payload = {}
            try:
                pass
            except OSError as e:
                payload["error"] = f"{e}"
            HttpResponse(json.dumps(payload))  # reported
            message = "fine"
            return JsonResponse({"error": message})

        def other(request):
            try:
                pass
            except OSError as e:
                message = str(e)
                message = "generic"
                return JsonResponse({"error": message})
    """,
    "what-was-caught-decides": """
        import requests
        from django.core.exceptions import ValidationError
        from django.db import IntegrityError
        from rest_framework.exceptions import APIException
        from rest_framework.response import Response
        from myapp.errors import QuotaError

        def view(request):
            try:
                pass
            except IntegrityError as e:
                return Response({"error": str(e)})  # reported
            except requests.HTTPError as e:
                return Response({"error": str(e)})  # reported
            except (AttributeError, TypeError) as e:
                return Response({"error": str(e)})  # reported
            except (ValueError, Exception) as e:
                return Response({"error": str(e)})  # reported
            except (ValueError, TypeError) as e:
                return Response({"error": str(e)})
            except ValidationError as e:
                return Response({"error": str(e), "messages": e.messages})
            except APIException as e:
                return Response({"error": str(e), "detail": e.detail})
            except QuotaError as e:
                return Response({"error": str(e)})
            except KeyError as e:
                return Response({"error": f"missing {e}"})
            except ValueError as e:
                return Response({"error": str(e)}, status=400)
            except NameNotImported as e:
                return Response({"error": str(e)})
    """,
    "stack-traces-whatever-was-caught": """
        import traceback

        from rest_framework.response import Response
        from myapp.errors import QuotaError

        def view(request):
            try:
                pass
            except QuotaError:
                return Response({"trace": traceback.format_exc()})  # reported
            except:
                return Response({"trace": "".join(traceback.format_exception(*sys.exc_info()))})  # reported
    """,
    "isinstance-narrows": """
        from flask import jsonify
        from werkzeug.exceptions import HTTPException
        from myapp.errors import AppError

        def view():
            try:
                pass
            except Exception as e:
                if isinstance(e, AppError):
                    return jsonify(error=str(e)), 400
                elif isinstance(e, (HTTPException, AppError)):
                    return jsonify(error=str(e)), 400
                if not isinstance(e, HTTPException):
                    return jsonify(error=str(e)), 500  # reported
                else:
                    return jsonify(error=str(e)), e.code
    """,
    "nested-handlers": """
        from django.http import JsonResponse

        def view(request):
            try:
                pass
            except OSError as e:
                try:
                    pass
                except ValueError as e:
                    return JsonResponse({"error": str(e)})
                except Exception:
                    return JsonResponse({"error": str(e)})  # reported
                return JsonResponse({"error": str(e)})  # reported
    """,
    "responses-of-each-framework": """
        from aiohttp import web
        from django.shortcuts import render
        from fastapi import HTTPException
        from fastapi.responses import HTMLResponse, JSONResponse
        from flask import abort, jsonify, make_response, render_template
        from ninja.errors import HttpError
        from rest_framework import serializers
        from rest_framework.response import Response

        def view(request):
            try:
                pass
            except Exception as e:
                msg = str(e)
                render(request, "error.html", {"error": msg})  # reported
                Response({"detail": msg})  # reported
                raise serializers.ValidationError(msg)  # reported
                jsonify(error=msg)  # reported
                make_response(msg, 500)  # reported
                abort(500, msg)  # reported
                render_template("error.html", error=msg)  # reported
                raise HTTPException(status_code=500, detail=msg)  # reported
                JSONResponse({"detail": msg})  # reported
                HTMLResponse(msg)  # reported
                web.json_response({"error": msg})  # reported
                raise web.HTTPBadGateway(text=msg)  # reported
                raise HttpError(500, msg)  # reported
                self.response_500(message=msg)  # reported
                print(msg)
                logger.error(msg)
                request.session["last_error"] = msg
    """,
    "returned-from-routes": """
        from unittest import mock

        from flask import Flask
        from flask_restful import Resource
        from myapp.app import bp

        app = Flask(__name__)

        @app.route("/a")
        def a():
            try:
                pass
            except Exception as e:
                return {"error": str(e)}, 500  # reported

        @bp.post("/b")
        def b():
            try:
                pass
            except Exception as e:
                return f"failed: {e}"  # reported

        class Orders(Resource):
            def get(self):
                try:
                    pass
                except Exception as e:
                    return {"message": str(e)}, 500  # reported

            def helper(self):
                try:
                    pass
                except Exception as e:
                    return {"message": str(e)}

        def helper():
            try:
                pass
            except Exception as e:
                return {"error": str(e)}

        @mock.patch("x")
        def test_thing(patched):
            try:
                pass
            except Exception as e:
                return {"error": str(e)}
    """,
    "routes-need-a-framework-that-returns-data": """
        from myapp.app import app

        @app.route("/a")
        def a():
            try:
                pass
            except Exception as e:
                return {"error": str(e)}
    """,
    "registered-error-handlers": """
        from fastapi import FastAPI
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse
        from flask import Flask, jsonify
        from sqlalchemy.exc import SQLAlchemyError

        app = FastAPI()
        flask_app = Flask(__name__)

        @app.exception_handler(Exception)
        async def unexpected(request, exc):
            return JSONResponse({"detail": str(exc)}, status_code=500)  # reported

        @app.exception_handler(RequestValidationError)
        async def invalid(request, exc):
            return JSONResponse({"detail": str(exc)}, status_code=422)

        @app.exception_handler(404)
        async def missing(request, exc):
            return JSONResponse({"detail": str(exc)}, status_code=404)

        @flask_app.errorhandler(SQLAlchemyError)
        def database(e):
            return {"error": str(e)}, 500  # reported

        @flask_app.errorhandler(500)
        def internal(e):
            return {"error": str(e)}, 500

        def registered(e):
            return jsonify(error=str(e)), 500  # reported

        def create_app():
            flask_app.register_error_handler(Exception, registered)
            app.add_exception_handler(OSError, disk)

        async def disk(request, exc):
            return JSONResponse({"detail": f"{exc}"})  # reported
    """,
    "drf-exception-handler": """
        from django.http import Http404
        from rest_framework.response import Response
        from rest_framework.views import exception_handler

        def handler(exc, context):
            response = exception_handler(exc, context)
            if isinstance(exc, Http404):
                return Response({"detail": str(exc)}, status=404)
            if response is None:
                return Response({"detail": str(exc)}, status=500)  # reported
            return response

        def not_a_handler(error, context):
            return Response({"detail": str(error)})
    """,
    "exception-text-that-stays-on-the-server": """
        import logging

        from django.http import JsonResponse

        logger = logging.getLogger(__name__)

        def view(request):
            try:
                pass
            except Exception as e:
                logger.exception("failed: %s", e)
                logger.error(str(e))
                audit = {"error": str(e)}
                save_audit(audit)
                return JsonResponse({"error": "Something went wrong", "id": request.id}, status=500)
    """,
}


@pytest.mark.parametrize("name", list(CASES))
def test_cases(name: str) -> None:
    source = CASES[name]
    assert lines(source) == marked_lines(source)


def test_message_names_source_caught_type_and_response() -> None:
    [(_, message)] = reported(
        """
        from django.db import IntegrityError
        from django.http import JsonResponse

        def view(request):
            try:
                pass
            except IntegrityError as exc:
                return JsonResponse({"error": str(exc)}, status=409)
        """,
        PLAN,
    )
    assert message.startswith("`str(exc)`, the text of an unexpected `IntegrityError`, is sent to the client by "
                              "`JsonResponse()`")


def test_related_location_is_the_except_clause() -> None:
    from conftest import analyze_source

    result = analyze_source(
        "from flask import jsonify\n\ndef f():\n    try:\n        pass\n    except OSError as e:\n"
        "        return jsonify(error=str(e))\n",
        PLAN,
    )
    [finding] = result.findings
    assert finding.span.line == 7
    assert [related.span.line for related in finding.related] == [6]


def test_internal_exceptions_can_be_extended() -> None:
    source = """
        from flask import jsonify
        from stripe.error import StripeError

        def f():
            try:
                pass
            except StripeError as e:
                return jsonify(error=str(e))  # reported
    """
    assert lines(source) == []
    plan = rule_plan("RV401", {"extend-internal-exceptions": ["stripe.error.*"]})
    assert lines(source, plan) == marked_lines(source)


def test_bad_option_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="internal-exceptions"):
        compile_options({"internal-exceptions": [3]})
    with pytest.raises(ConfigError):
        rule_plan("RV401", {"internal-exceptions": "Exception"})


def fixture_markers(rule_id: str) -> list[tuple[str, int]]:
    return fixture_lines(FIXTURE, rf"#\s*{rule_id}\b")

def test_fixture_project() -> None:
    sources, _ = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(FIXTURE), jobs=1)
    assert result.notices == []
    expected = fixture_markers("RV401")
    assert len(expected) >= 20
    assert sorted((finding.path, finding.span.line) for finding in result.findings) == expected
