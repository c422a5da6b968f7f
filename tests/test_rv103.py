"""RV103 unpaginated-list-endpoint.

The fixture projects mark reported lines with ``# RV103``; inline cases mark them with ``# reported``. Findings
about class-based list views are candidates confirmed by the join step (view bases, pagination attributes and
the project's REST_FRAMEWORK settings), so every case runs through :class:`ProjectIndex`.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import fixture_lines, marked_lines, rule_plan

from reviewer.analysis import analyze_file, analyze_text
from reviewer.discover import discover
from reviewer.findings import Finding
from reviewer.index import ProjectIndex

FIXTURES = Path(__file__).parent / "fixtures" / "pagination"
PLAN = rule_plan("RV103")


def project_findings(files: dict[str, str]) -> list[Finding]:
    results = []
    for path, source in files.items():
        module = path.removesuffix(".py").replace("/", ".")
        result = analyze_text(textwrap.dedent(source), path, module, False, PLAN)
        assert not result.notices, result.notices
        results.append(result)
    index = ProjectIndex(results)
    return [*(f for r in results for f in r.findings), *index.resolve([c for r in results for c in r.candidates])]


def assert_marked(views: str, **other_files: str) -> None:
    files = {"app/views.py": views, **{f"app/{name}.py": source for name, source in other_files.items()}}
    found = sorted({f.span.line for f in project_findings(files) if f.path == "app/views.py"})
    assert found == marked_lines(views)


@pytest.mark.parametrize(("parts", "marker"), [
    (("drf_shop/shop", "drf_shop/settings_plain"), r"# RV103( unless paginated by default)?$"),
    (("drf_shop/shop", "drf_shop/settings_paginated"), r"# RV103$"),
    (("services",), r"# RV103$"),
], ids=["drf-without-default-pagination", "drf-with-default-pagination", "services"])
def test_fixture_projects_report_exactly_the_marked_lines(parts: tuple[str, ...], marker: str) -> None:
    root = FIXTURES / parts[0].split("/")[0]
    sources, notices = discover([FIXTURES / part for part in parts], root, [], respect_gitignore=False)
    assert not notices
    results = [analyze_file(source, PLAN)[0] for source in sources]
    index = ProjectIndex(results)
    findings = [*(f for r in results for f in r.findings), *index.resolve([c for r in results for c in r.candidates])]
    scanned = {source.rel for source in sources}
    expected = {(path, line) for path, line in fixture_lines(root, marker) if path in scanned}
    assert expected and {(f.path, f.span.line) for f in findings} == expected


def test_messages_name_the_fix_and_the_endpoint() -> None:
    (finding,) = project_findings({
        "app/views.py": """\
            from rest_framework import generics
            from app.models import Order

            class Orders(generics.ListAPIView):
                queryset = Order.objects.filter(paid=True)
        """,
    })
    assert finding.message == (
        "`Orders` lists every `Order` row without pagination: set `pagination_class` on the view (or "
        '`REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"]` in settings)'
    )
    assert [(r.span.line, r.message) for r in finding.related] == [(4, "the endpoint")]


def test_settings_and_bases_in_other_modules_decide_for_drf_views() -> None:
    views = """\
        from app.bases import Paged, Unpaged
        from app.models import Order

        class A(Paged):
            queryset = Order.objects.all()

        class B(Unpaged):
            queryset = Order.objects.all()  # reported
    """
    bases = """\
        from rest_framework import generics
        from rest_framework.pagination import CursorPagination

        class Paged(generics.ListAPIView):
            pagination_class = CursorPagination

        class Unpaged(generics.ListAPIView):
            pagination_class = None
    """
    assert_marked(views, bases=bases, settings='REST_FRAMEWORK = {"DEFAULT_PAGINATION_CLASS": "x.Pages"}')


def test_views_that_page_or_list_by_their_own_code() -> None:
    assert_marked("""\
        from rest_framework import generics, viewsets
        from rest_framework.response import Response
        from app.models import Order

        class CustomList(viewsets.ReadOnlyModelViewSet):
            queryset = Order.objects.all()

            def list(self, request):
                return Response([])

        class Unreadable(generics.ListAPIView):
            def get_queryset(self):
                return self.request.user.orders.all()

        class Bounded(generics.ListAPIView):
            def get_queryset(self):
                return Order.objects.order_by("-pk")[:100]
    """)


def test_function_endpoints() -> None:
    assert_marked("""\
        from django.core.paginator import Paginator
        from django.http import JsonResponse
        from django.shortcuts import render
        from rest_framework.decorators import api_view
        from rest_framework.response import Response
        from app.models import Order
        from app.serializers import OrderSerializer

        @api_view(["GET"])
        def serialized(request):
            orders = Order.objects.filter(paid=True)  # reported
            return Response(OrderSerializer(orders, many=True).data)

        @api_view(["POST"])
        def created(request):
            return Response(OrderSerializer(Order.objects.all(), many=True).data)

        def as_json(request):
            return JsonResponse({"orders": list(Order.objects.values("pk"))})  # reported

        def paged(request):
            pages = Paginator(Order.objects.all(), 50)
            return JsonResponse({"orders": [o.pk for o in pages.get_page(1)]})

        def page_rendered(request):
            return render(request, "orders.html", {"orders": Order.objects.all()})

        def aggregates(request):
            return JsonResponse({"count": Order.objects.count(), "first": Order.objects.first().pk})

        def not_a_view(rows):
            return list(Order.objects.all())
    """)


def test_sqlalchemy_routes() -> None:
    assert_marked("""\
        from fastapi import FastAPI
        from sqlalchemy import select
        from app.models import Item

        app = FastAPI()

        @app.get("/a")
        async def a(session):
            result = await session.execute(select(Item))  # reported
            return result.scalars().all()

        @app.get("/b")
        async def b(session, limit: int = 10):
            return (await session.scalars(select(Item).limit(limit))).all()

        @app.get("/c")
        def c(session):
            return session.scalars(select(Item.id)).all()

        @app.get("/d")
        def d(session):
            return session.scalar(select(Item).where(Item.id == 1))
    """)
