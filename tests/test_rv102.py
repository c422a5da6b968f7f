"""RV102 lazy-relation-in-loop.

Cases are small modules (or the ``django_blog`` fixture project) whose reported lines end with ``# reported``; the
real engine runs with only RV102 enabled, and candidates are confirmed by the join step's project index built from
the same files' facts.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import marked_lines, rule_plan

from reviewer.discover import discover
from reviewer.engine import analyze_file, analyze_text
from reviewer.findings import FileResult, Finding
from reviewer.index import ProjectIndex

FIXTURE = Path(__file__).parent / "fixtures" / "django_blog"
PLAN = rule_plan("RV102")

MODELS = """\
from django.db import models


class Customer(models.Model):
    name = models.CharField(max_length=100)
    address = models.ForeignKey("Address", on_delete=models.CASCADE)


class Address(models.Model):
    city = models.CharField(max_length=100)


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    tags = models.ManyToManyField("shop.Tag")


class Item(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")


class Tag(models.Model):
    name = models.CharField(max_length=20)


class Invoice(models.Model):
    order = models.OneToOneField(Order, on_delete=models.CASCADE)
"""


def findings_of(results: list[FileResult]) -> list[Finding]:
    """What the join step reports: candidates confirmed by the project index built from every file's facts."""
    for result in results:
        assert not result.notices, result.notices
    project = ProjectIndex(results)
    return [*(f for result in results for f in result.findings),
            *project.resolve([c for result in results for c in result.candidates])]


def reported(views: str) -> list[tuple[int, str]]:
    """(line, message) of every finding in ``views``, a module next to the ``MODELS`` module ``shop.models``."""
    results = [
        analyze_text(MODELS, "shop/models.py", "shop.models", False, PLAN),
        analyze_text(textwrap.dedent(views), "shop/views.py", "shop.views", False, PLAN),
    ]
    return sorted((f.span.line, f.message) for f in findings_of(results) if f.path == "shop/views.py")


def assert_marked(views: str) -> None:
    views = textwrap.dedent(views)
    assert sorted({line for line, _ in reported(views)}) == marked_lines(views)


def test_foreign_key_read_per_row_names_the_fix() -> None:
    found = reported("""\
        from shop.models import Order

        def names():
            for order in Order.objects.filter(paid=True):
                print(order.customer.name)
    """)
    message = '`order.customer` runs a query for each `Order` row: add `.select_related("customer")` to the queryset'
    assert found == [(5, message)]


def test_select_related_and_prefetch_related_load_what_they_name() -> None:
    assert_marked("""\
        from shop.models import Order

        def names():
            for order in Order.objects.select_related("customer").order_by("id"):
                print(order.customer.name, order.tags.all())  # reported
            for order in Order.objects.prefetch_related("customer", "tags").all()[:10]:
                print(order.customer.name, order.tags.all(), order.tags.count())
            for order in Order.objects.select_related():
                print(order.customer.name)
            for number, order in enumerate(Order.objects.all()[:10]):
                print(number, order.customer.name)  # reported
            for number, order in enumerate(Order.objects.select_related("customer"), start=1):
                print(number, order.customer.name)
    """)


def test_nested_path_reports_the_first_step_not_loaded() -> None:
    views = """\
        from shop.models import Order

        def cities():
            for order in Order.objects.select_related("customer"):
                print(order.customer.address.city)  # reported
            for order in Order.objects.select_related("customer__address"):
                print(order.customer.address.city)
            for order in Order.objects.all():
                print(order.customer.address.city)  # reported
    """
    found = reported(views)
    assert [message.split(" runs")[0] for _, message in found] == ["`order.customer.address`", "`order.customer`"]
    assert '.select_related("customer__address")' in found[0][1]


def test_queryset_bound_to_a_variable_and_extended() -> None:
    assert_marked("""\
        from shop.models import Order

        def names(paid):
            orders = Order.objects.filter(paid=paid)
            for order in orders:
                print(order.customer.name)  # reported
            orders = orders.select_related("customer")
            for order in orders:
                print(order.customer.name, order.invoice)  # reported
            orders = compute()
            for order in orders:
                print(order.customer.name)
    """)


def test_related_managers_reverse_and_many_to_many() -> None:
    assert_marked("""\
        from django.db.models import Prefetch
        from shop.models import Customer, Order, Tag

        def listing():
            a = [order.items.all() for order in Order.objects.all()]  # reported
            b = [customer.order_set.count() for customer in Customer.objects.all()]  # reported
            c = [tag.order_set.exists() for tag in Tag.objects.prefetch_related("order_set")]
            d = [order.items.filter(sku="x") for order in Order.objects.prefetch_related("items")]  # reported
            e = [order.items.all() for order in Order.objects.prefetch_related(Prefetch("items", to_attr="lines"))]  # reported
            f = [order.items.all() for order in Order.objects.prefetch_related(Prefetch("items"))]
            g = [order.items for order in Order.objects.all()]
            h = [order.items.create() for order in Order.objects.all()]
    """)


def test_reverse_one_to_one_is_single_valued() -> None:
    assert_marked("""\
        from shop.models import Order

        def invoices():
            a = [order.invoice for order in Order.objects.all()]  # reported
            b = [order.invoice for order in Order.objects.select_related("invoice")]
    """)


def test_columns_methods_writes_and_values_rows_are_not_reported() -> None:
    assert_marked("""\
        from shop.models import Order

        def quiet(customer):
            for order in Order.objects.all():
                print(order.customer_id, order.pk, order.get_absolute_url())
                order.customer = customer
                del order.customer
            for row in Order.objects.values("customer"):
                print(row.customer)
            for order in Order.objects.values_list("customer", flat=True):
                print(order.customer)
            for order in Order.objects.active():
                print(order.customer)
            for order in Order.objects.select_related(*fields()):
                print(order.customer)
    """)


def test_only_code_that_runs_per_row_is_reported() -> None:
    assert_marked("""\
        from shop.models import Order

        def callbacks():
            handlers = []
            for order in Order.objects.all():
                handlers.append(lambda: order.customer)
                def later():
                    return order.customer
            else:
                print(order.customer)
            print(order.customer)
            for order in Order.objects.all():
                order = order.invoice  # reported
                print(order.customer)
            return sorted(Order.objects.all(), key=lambda order: order.customer.name)
    """)


def test_unknown_models_and_attributes_are_not_reported() -> None:
    assert_marked("""\
        from elsewhere import Ticket
        from shop.models import Order

        def quiet():
            for ticket in Ticket.objects.all():
                print(ticket.customer)
            for order in Order.objects.all():
                print(order.shipment, order.total)
    """)


def test_fixture_project_reports_exactly_the_marked_lines() -> None:
    sources, notices = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    assert not notices
    results = [analyze_file(source, PLAN) for source in sources]
    found = {(f.path, f.span.line) for f in findings_of(results)}
    expected = {
        (source.rel, line)
        for source in sources
        for line in marked_lines((FIXTURE / source.rel).read_text())
    }
    assert found == expected


def test_one_finding_per_relation_and_loop() -> None:
    assert_marked("""\
        from shop.models import Order

        def twice():
            for order in Order.objects.all():
                print(order.customer.name)  # reported
                print(order.customer.name, order.items.all())  # reported
                print(order.items.all(), order.items.count())  # reported
            for order in Order.objects.all():
                print(order.customer)  # reported
    """)


def test_rows_of_a_related_manager_iterated_in_the_loop() -> None:
    views = """\
        from shop.models import Customer, Order

        def nested():
            for order in Order.objects.all():
                for item in order.items.all():  # reported
                    print(item.order.customer)  # reported
            for order in Order.objects.prefetch_related("items__order"):
                for item in order.items.all():
                    print(item.order.customer)  # reported
            for order in Order.objects.prefetch_related("items__order__customer"):
                for item in order.items.all():
                    print(item.order.customer.name)
                for item in order.items.filter(sku="x"):  # reported
                    print(item.order)
            for customer in Customer.objects.prefetch_related("order_set"):
                for order in customer.order_set.all():
                    print(order.invoice)  # reported
    """
    assert_marked(views)
    messages = [message for _, message in reported(views)]
    assert messages[1] == (
        "`item.order` runs a query for each row of `order.items.all()`: add `.prefetch_related(\"items__order\")` "
        "to the queryset"
    )


def test_prefetch_objects_load_what_their_queryset_loads() -> None:
    assert_marked("""\
        from django.db.models import Prefetch
        from shop.models import Item, Order

        def nested(rows):
            items = Prefetch("items", queryset=Item.objects.select_related("order__customer"))
            for order in Order.objects.prefetch_related(items):
                for item in order.items.all():
                    print(item.order.customer)
            for order in Order.objects.prefetch_related(Prefetch("items", Item.objects.all())):
                for item in order.items.all():
                    print(item.order)  # reported
            for order in Order.objects.prefetch_related(Prefetch("items", queryset=rows)):
                for item in order.items.all():
                    print(item.order)
            lines = Prefetch("items", queryset=Item.objects.select_related("order"), to_attr="lines")
            for order in Order.objects.prefetch_related(lines):
                for item in order.items.all():  # reported
                    print(item.order)  # reported
    """)


def test_a_relation_assigned_in_the_loop_is_cached() -> None:
    assert_marked("""\
        from shop.models import Order

        def relink(customers):
            for order in Order.objects.all():
                order.customer = customers[order.customer_id]
                print(order.customer.name)
                order.invoice = order.invoice or None  # reported
    """)


def test_a_name_rebound_by_other_means_is_no_longer_the_queryset() -> None:
    assert_marked("""\
        from shop.models import Order

        def first():
            orders = Order.objects.all()
            for order in orders:
                print(order.customer)  # reported

        def second(orders):
            for order in orders:
                print(order.customer)

        def third(batches):
            orders = Order.objects.all()
            for orders in batches:
                for order in orders:
                    print(order.customer)
    """)
