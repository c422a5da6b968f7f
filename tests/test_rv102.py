"""RV102 lazy-relation-in-loop.

Cases are small modules (or the ``django_blog`` fixture project) whose reported lines end with ``# reported``; the
real engine runs with only RV102 enabled, and candidates are confirmed by the join step's project index built from
the same files' facts.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from conftest import marked_lines, rule_plan

from reviewer.analysis import analyze_file, analyze_text
from reviewer.discover import discover
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
    results = [analyze_file(source, PLAN)[0] for source in sources]
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


# -- querysets the module builds elsewhere ---------------------------------------------------------------------------


def test_queryset_returned_by_a_function_or_method_of_the_module() -> None:
    assert_marked("""\
        from django.views.generic import ListView

        from shop.models import Order


        def open_orders():
            return Order.objects.filter(open=True)


        def loaded_orders():
            return Order.objects.select_related("customer")


        def report():
            for order in open_orders():
                print(order.customer)  # reported
            for order in loaded_orders().filter(total__gt=3):
                print(order.customer)


        class OrderList(ListView):
            queryset = Order.objects.filter(open=True)

            def totals(self):
                return [order.customer.name for order in self.get_queryset()]  # reported

            def invoices(self):
                return [order.invoice for order in self.queryset.all()]  # reported


        class LoadedOrderList(ListView):
            def get_queryset(self):
                return super().get_queryset().select_related("customer")

            def names(self):
                return [order.customer.name for order in self.get_queryset()]
    """)


def test_the_queryset_line_is_a_related_location() -> None:
    results = [
        analyze_text(MODELS, "shop/models.py", "shop.models", False, PLAN),
        analyze_text(textwrap.dedent("""\
            from shop.models import Order

            def report():
                orders = Order.objects.filter(open=True)
                return [order.customer for order in orders]
        """), "shop/views.py", "shop.views", False, PLAN),
    ]
    (finding,) = findings_of(results)
    assert [(r.span.line, r.message) for r in finding.related] == [(4, "the rows are loaded here")]


# -- SQLAlchemy -------------------------------------------------------------------------------------------------------

MAPPED = """\
from sqlalchemy import ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, backref, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    posts: Mapped[list["Post"]] = relationship(back_populates="user")
    roles = relationship("Role", lazy="selectin")
    audit = relationship("Audit", lazy="raise")
    events = relationship("Event", lazy="dynamic")
    groups = relationship("Group", backref=backref("users", lazy="joined"))


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user: Mapped[User] = relationship(back_populates="posts")
    tags = relationship("Tag", backref="posts")


class Role(Base):
    __tablename__ = "roles"


class Audit(Base):
    __tablename__ = "audits"


class Event(Base):
    __tablename__ = "events"


class Group(Base):
    __tablename__ = "groups"


class Tag(Base):
    __tablename__ = "tags"
"""


def mapped_reported(code: str) -> list[int]:
    results = [
        analyze_text(MAPPED, "blog/models.py", "blog.models", False, PLAN),
        analyze_text(textwrap.dedent(code), "blog/views.py", "blog.views", False, PLAN),
    ]
    return sorted({f.span.line for f in findings_of(results) if f.path == "blog/views.py"})


def assert_mapped_marked(code: str) -> None:
    assert mapped_reported(code) == marked_lines(code)


def test_sqlalchemy_lazy_relationships_read_per_row() -> None:
    assert_mapped_marked("""\
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from blog.models import Post, User


        def pages(session: Session):
            for user in session.scalars(select(User).where(User.id > 3)):
                print(user.posts)  # reported
                print(user.roles, user.audit, user.id)
                print(user.events.count())  # reported
                print(user.groups)  # reported
            for post in session.query(Post).all():
                print(post.user.posts)  # reported
                print(post.tags, post.user_id)  # reported
            for user in session.execute(select(User)).scalars().all():
                print(user.posts)  # reported
    """)


def test_sqlalchemy_loader_options_load_what_they_name() -> None:
    assert_mapped_marked("""\
        from sqlalchemy import select
        from sqlalchemy.orm import Load, Session, defaultload, joinedload, noload, selectinload, subqueryload

        from blog.models import Post, User


        def pages(session: Session):
            statement = select(Post).options(joinedload(Post.user).selectinload(User.posts))
            for post in session.scalars(statement):
                print(post.user.posts, post.tags)  # reported
            for post in session.scalars(select(Post).options(defaultload(Post.user).subqueryload(User.groups))):
                print(post.user.groups, post.user)  # reported
            for user in session.scalars(select(User).options(Load(User).selectinload(User.posts))):
                print(user.posts)
            for user in session.query(User).options(selectinload("posts"), noload(User.groups)):
                print(user.posts, user.groups)
            for user in session.scalars(select(User).options(selectinload(User.events))):
                print(user.events.all())  # reported
    """)


def test_sqlalchemy_shapes_that_are_not_entity_rows_or_not_known() -> None:
    assert_mapped_marked("""\
        from sqlalchemy import select
        from sqlalchemy.orm import Session, selectinload

        from blog.models import Post, User
        from elsewhere import Unknown


        def pages(session: Session, loader):
            for row in session.execute(select(User)):
                print(row.posts)
            for user in session.scalars(select(User.id, User.posts)):
                print(user.posts)
            for user in session.scalars(select(User).options(loader)):
                print(user.posts)
            for user in session.scalars(select(User).options(selectinload("*"))):
                print(user.posts)
            for thing in session.scalars(select(Unknown)):
                print(thing.posts)
    """)


SQLALCHEMY_FIXTURE = Path(__file__).parent / "fixtures" / "sqlalchemy_app"


def test_sqlalchemy_fixture_reports_exactly_the_marked_lines() -> None:
    sources, notices = discover([SQLALCHEMY_FIXTURE], SQLALCHEMY_FIXTURE, [], respect_gitignore=False)
    assert not notices
    found = {(f.path, f.span.line) for f in findings_of([analyze_file(source, PLAN)[0] for source in sources])}
    expected = {
        (source.rel, number)
        for source in sources
        for number, line in enumerate((SQLALCHEMY_FIXTURE / source.rel).read_text().splitlines(), 1)
        if line.rstrip().endswith("# RV102")
    }
    assert expected and found == expected


# -- DRF serializers --------------------------------------------------------------------------------------------------


def test_serializer_reads_point_at_the_list_view_queryset() -> None:
    sources, _ = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    findings = {f.span.line: f for f in findings_of([analyze_file(source, PLAN)[0] for source in sources])
                if f.path == "api/serializers.py"}
    tags = findings[26]
    assert tags.message == (
        "`obj.tags.all()` runs a query for each object `PostSerializer` serializes in a list: add "
        '`.prefetch_related("tags")` to the queryset of `PostList`'
    )
    assert [(r.path, r.span.line, r.message) for r in tags.related] == [
        ("api/views.py", 12, "the rows `PostList` lists")
    ]
    # A nested serializer's reads are relative to the parent's rows: through a manager, so prefetch.
    assert 'add `.prefetch_related("comments__author")`' in findings[7].message


def serializer_reported(serializers: str, views: str) -> list[int]:
    results = [
        analyze_text(MODELS, "shop/models.py", "shop.models", False, PLAN),
        analyze_text(textwrap.dedent(serializers), "shop/serializers.py", "shop.serializers", False, PLAN),
        analyze_text(textwrap.dedent(views), "shop/views.py", "shop.views", False, PLAN),
    ]
    return sorted({f.span.line for f in findings_of(results) if f.path == "shop/serializers.py"})


SERIALIZERS = """\
    from rest_framework import serializers

    from shop.models import Order


    class OrderSerializer(serializers.ModelSerializer):
        customer_name = serializers.CharField(source="customer.name")  # reported
        tag_names = serializers.SlugRelatedField(source="tags", many=True, read_only=True, slug_field="name")  # reported
        invoice = serializers.PrimaryKeyRelatedField(read_only=True)
        item_count = serializers.SerializerMethodField()

        class Meta:
            model = Order
            fields = ["id", "customer_name", "tag_names", "invoice", "item_count", "items"]  # reported

        def get_item_count(self, order):
            helper = lambda: order.customer  # runs when called, not per object here
            return order.items.count()  # reported
"""


def test_serializer_used_by_a_list_view_or_with_many_true() -> None:
    listed = """\
        from rest_framework.generics import ListAPIView
        from shop.models import Order
        from shop.serializers import OrderSerializer

        class Orders(ListAPIView):
            serializer_class = OrderSerializer

            def get_queryset(self):
                return Order.objects.filter(open=True)
    """
    assert serializer_reported(SERIALIZERS, listed) == marked_lines(SERIALIZERS)
    by_call = """\
        from rest_framework.response import Response
        from shop.models import Order
        from shop.serializers import OrderSerializer

        def orders(request):
            rows = Order.objects.select_related("customer").prefetch_related("tags", "items")
            return Response(OrderSerializer(rows, many=True).data)
    """
    assert serializer_reported(SERIALIZERS, by_call) == []


def test_serializer_not_used_for_lists_is_not_reported() -> None:
    detail = """\
        from rest_framework.generics import RetrieveAPIView
        from shop.models import Order
        from shop.serializers import OrderSerializer

        class OrderDetail(RetrieveAPIView):
            serializer_class = OrderSerializer
            queryset = Order.objects.all()

        def one(request, pk):
            return OrderSerializer(Order.objects.get(pk=pk)).data
    """
    assert serializer_reported(SERIALIZERS, detail) == []


def test_a_get_queryset_the_rule_cannot_read_hides_the_placeholder_attribute() -> None:
    views = """\
        from rest_framework.viewsets import ModelViewSet
        from shop.models import Order
        from shop.serializers import OrderSerializer

        class Orders(ModelViewSet):
            serializer_class = OrderSerializer
            queryset = Order.objects.none()

            def get_queryset(self):
                return self.request.user.orders.select_related("customer")
    """
    assert serializer_reported(SERIALIZERS, views) == []
