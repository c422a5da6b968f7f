"""RV107 mass-assignment.

Small modules whose reported lines end with ``# reported`` run through the real engine with only RV107 enabled
(candidates resolved against the module's own facts); the ``injection_app`` fixture marks the lines RV107 must
report with ``# RV107``.
"""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import pytest
from conftest import assert_marked as assert_marked_with
from conftest import reported as reported_with
from conftest import rule_plan

from reviewer.analysis import analyze_text
from reviewer.discover import discover
from reviewer.engine import scan
from reviewer.index import ProjectIndex

FIXTURE = Path(__file__).parent / "fixtures" / "injection_app"
PLAN = rule_plan("RV107")


def reported(source: str) -> list[tuple[int, str]]:
    return reported_with(source, PLAN)


assert_marked = functools.partial(assert_marked_with, plan=PLAN)


CASES = {
    "flask-model-constructed-and-added": """
        from flask import request
        from app.models import User, db

        def create():
            user = User(**request.get_json())  # reported
            db.session.add(user)
            admin = User(**request.json)  # reported
            db.session.add_all([admin])
            draft = User(**request.form)
            return user, admin, draft
    """,
    "django-model-known-to-the-project": """
        from django.db import models

        class Order(models.Model):
            total = models.IntegerField()

        class Receipt:
            pass

        def create(request):
            order = Order(**request.POST.dict())  # reported
            receipt = Receipt(**request.POST.dict())
            return order, receipt
    """,
    "manager-writes": """
        import json

        from shop.models import Order

        def view(request, pk):
            data = json.loads(request.body)
            Order.objects.create(**data)  # reported
            Order.objects.get_or_create(**request.data)  # reported
            Order.objects.filter(pk=pk).update(**request.data)  # reported
            Order.objects.filter(**request.GET.dict())
    """,
    "local-dict-update-is-not-a-model": """
        def view(request, order):
            context = {}
            context.update(**request.GET)
            order.update(**request.data)  # reported
            return context
    """,
    "setattr-loops": """
        from flask import request

        EDITABLE = {"name", "bio"}

        def patch(user):
            payload = request.get_json()
            for key, value in payload.items():
                setattr(user, key, value)  # reported
            for key in payload:
                setattr(user, key, payload[key])  # reported
            for key, value in payload.items():
                if key in EDITABLE:
                    setattr(user, key, value)
            for key, value in payload.items():
                if key not in EDITABLE:
                    continue
                setattr(user, key, value)
    """,
    "validated-data-is-not-request-data": """
        from pydantic import BaseModel
        from shop.models import Order

        class OrderIn(BaseModel):
            total: int

        def create(request, order_in: OrderIn, serializer, form):
            Order.objects.create(**order_in.model_dump())
            Order.objects.create(**serializer.validated_data)
            Order.objects.create(**form.cleaned_data)
            checked = OrderIn.model_validate(request.json)
            Order.objects.create(**checked.model_dump())
    """,
    "async-request-json": """
        from app.models import User

        async def create(request, session):
            user = User(**await request.json())  # reported
            session.add(user)
            await session.commit()
    """,
    "sqlalchemy-statements": """
        from flask import request
        from sqlalchemy import insert, update
        from app.models import User, db

        def create(user_id):
            db.session.execute(insert(User).values(**request.json))  # reported
            db.session.execute(update(User).where(User.id == user_id).values(request.json))  # reported
            db.session.query(User).filter_by(id=user_id).update(request.get_json())  # reported
    """,
    "model-serializer-used-for-writes": """
        from rest_framework import generics, serializers, viewsets

        class OrderSerializer(serializers.ModelSerializer):
            class Meta:
                model = Order
                fields = "__all__"  # reported

        class ItemSerializer(serializers.ModelSerializer):
            class Meta:
                model = Item
                exclude = ["price"]  # reported

        class ExportSerializer(serializers.ModelSerializer):
            class Meta:
                model = Order
                fields = "__all__"

        class OrderViewSet(viewsets.ModelViewSet):
            serializer_class = OrderSerializer

        class ExportView(generics.ListAPIView):
            serializer_class = ExportSerializer

        def add_item(request):
            serializer = ItemSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            serializer.save()
    """,
    "model-forms-and-edit-views": """
        from django import forms
        from django.views.generic.edit import CreateView, UpdateView

        class ProfileForm(forms.ModelForm):
            class Meta:
                model = Profile
                fields = "__all__"  # reported

        class ContactForm(forms.ModelForm):
            class Meta:
                model = Contact
                fields = ["email"]

        class ProfileCreate(CreateView):
            model = Profile
            fields = "__all__"  # reported

        class ProfileEdit(UpdateView):
            model = Profile
            fields = ["bio"]
    """,
}


@pytest.mark.parametrize("name", list(CASES))
def test_cases(name: str) -> None:
    assert_marked(CASES[name])


def test_message_names_the_call_and_the_payload() -> None:
    source = """
        from shop.models import Order

        def view(request):
            Order.objects.create(**request.data)
    """
    [(_, message)] = reported(source)
    assert message.startswith(
        "`Order.objects.create()` receives `request.data` from the request as a whole: a client can set fields"
    )


def test_serializer_finding_points_at_the_write_in_another_module() -> None:
    serializers = textwrap.dedent("""\
        from rest_framework import serializers

        class OrderSerializer(serializers.ModelSerializer):
            class Meta:
                model = Order
                fields = "__all__"

        class ReadOnlyOrderSerializer(serializers.ModelSerializer):
            class Meta:
                model = Order
                fields = "__all__"
    """)
    views = textwrap.dedent("""\
        from shop.serializers import OrderSerializer, ReadOnlyOrderSerializer

        def create(request):
            return OrderSerializer(data=request.data)

        def show(request, order):
            return ReadOnlyOrderSerializer(order).data
    """)
    results = [
        analyze_text(serializers, "shop/serializers.py", "shop.serializers", False, PLAN),
        analyze_text(views, "shop/views.py", "shop.views", False, PLAN),
    ]
    [finding] = ProjectIndex(results).resolve([c for r in results for c in r.candidates])
    assert (finding.path, finding.span.line) == ("shop/serializers.py", 6)
    assert [(r.path, r.span.line, r.message) for r in finding.related] == [
        ("shop/views.py", 4, "used for writes here")
    ]


def test_fixture_reports_exactly_the_marked_lines() -> None:
    sources, notices = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(FIXTURE), jobs=1, walk_notices=notices)
    assert not result.notices, result.notices
    found = sorted({(f.path, f.span.line) for f in result.findings})
    marked = sorted(
        (path.relative_to(FIXTURE).as_posix(), number)
        for path in FIXTURE.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if line.rstrip().endswith("# RV107")
    )
    assert found == marked


def test_exclude_next_to_explicit_fields_is_not_reported() -> None:
    source = """
        from django import forms

        class BadgeForm(forms.ModelForm):
            class Meta:
                model = Badge
                fields = ("layout", "name")
                exclude = ("layout",)
    """
    assert reported(source) == []
