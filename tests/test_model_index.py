"""The model index: relation facts collected from model modules, merged project-wide, and the RV102 decision."""

from __future__ import annotations

import textwrap

from reviewer.analysis import analyze_text
from reviewer.catalog import load_catalog
from reviewer.config import Settings, rule_options, rule_severity
from reviewer.index import ProjectIndex
from reviewer.model_index import Accessor, LazyAccess, ModelIndex, app_label_of
from reviewer.plan import ScanPlan

CATALOG = load_catalog()
PLAN = ScanPlan(
    specs={"RV102": CATALOG["RV102"]},
    options={"RV102": rule_options(CATALOG["RV102"], Settings())},
    severities={"RV102": rule_severity(CATALOG["RV102"], Settings())},
    all_rule_ids=frozenset(CATALOG),
)


def index_of(files: dict[str, str]) -> ModelIndex:
    """The model index of a project made of ``files`` (path -> source)."""
    results = []
    for path, source in files.items():
        module = path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        result = analyze_text(textwrap.dedent(source), path, module, path.endswith("__init__.py"), PLAN)
        assert not result.notices, result.notices
        results.append(result)
    project = ProjectIndex(results)
    facts = [record for result in results for record in result.facts.get("model-relations", ())]
    return ModelIndex(facts, project.class_bases, project.django_models, project.canonical_class)


SHOP = {
    "config/settings.py": """\
        AUTH_USER_MODEL = "accounts.Member"
    """,
    "accounts/models.py": """\
        from django.contrib.auth.models import AbstractUser

        class Member(AbstractUser):
            pass
    """,
    "shop/models/__init__.py": """\
        from .order import Order, Item
    """,
    "shop/models/order.py": """\
        from django.conf import settings
        from django.db import models
        from django.db.models import ForeignKey

        class Owned(models.Model):
            owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                      related_name="%(app_label)s_%(class)s_owned")

            class Meta:
                abstract = True

        class Order(Owned):
            parent = ForeignKey("self", null=True, on_delete=models.CASCADE)
            invoice_to = models.ForeignKey(to="accounts.Member", on_delete=models.CASCADE, related_name="+")
            lines = models.ManyToManyField("Product", through="Item")

        class Item(models.Model):
            order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
            product = models.ForeignKey("Product", on_delete=models.CASCADE)

        class Product(models.Model):
            class Meta:
                app_label = "catalog"
    """,
    "catalog/models.py": """\
        from django.db import models

        class Shelf(models.Model):
            product = models.OneToOneField("catalog.Product", on_delete=models.CASCADE)
    """,
}


def test_app_label_is_the_package_holding_the_models_module() -> None:
    assert app_label_of("shop.models.Order") == "shop"
    assert app_label_of("shop.models.order.Order") == "shop"
    assert app_label_of("project.apps.shop.models.Order") == "shop"
    assert app_label_of("shop.documents.Order") == "shop"


def test_forward_and_reverse_accessors() -> None:
    index = index_of(SHOP)
    order, item, member = "shop.models.order.Order", "shop.models.order.Item", "accounts.models.Member"
    product = "shop.models.order.Product"
    assert index.accessor(order, "owner") == Accessor("single", member)  # inherited, via AUTH_USER_MODEL
    assert index.accessor(order, "parent") == Accessor("single", order)  # "self"
    assert index.accessor(order, "order_set") == Accessor("manager", order)  # reverse of "self"
    assert index.accessor(order, "items") == Accessor("manager", item)  # related_name
    assert index.accessor(order, "lines") == Accessor("manager", None)  # "Product" is in the app "catalog"
    assert index.accessor(item, "product") == Accessor("single", None)
    assert index.accessor(product, "shelf") == Accessor("single", "catalog.models.Shelf")  # reverse one-to-one
    assert index.accessor(member, "shop_order_owned") == Accessor("manager", order)  # %(app_label)s_%(class)s
    assert index.accessor(member, "order_set") is None  # related_name="+"
    assert index.accessor(member, "shop_owned_owned") is None  # the abstract model has no reverse accessor
    assert index.accessor(order, "owner_id") is None


def test_re_exported_models_are_found_by_their_package_name() -> None:
    index = index_of(SHOP)
    key = LazyAccess("shop.models.Order", ("parent",), "", frozenset(), frozenset(), False).key()
    assert index.lazy_relation(key)


def test_several_user_models_in_settings_leave_the_user_model_unknown() -> None:
    files = {
        **SHOP,
        "config/settings_test.py": 'AUTH_USER_MODEL = "auth.User"\n',
    }
    assert index_of(files).accessor("shop.models.order.Order", "owner") == Accessor("single", None)


def test_default_user_model_without_a_setting() -> None:
    files = {path: source for path, source in SHOP.items() if path != "config/settings.py"}
    assert index_of(files).accessor("shop.models.order.Order", "owner") == Accessor(
        "single", "django.contrib.auth.models.User"
    )


def lazy(path: tuple[str, ...], call: str = "", select: tuple[str, ...] = (), prefetch: tuple[str, ...] = (),
         select_all: bool = False) -> bool:
    access = LazyAccess("shop.models.order.Order", path, call, frozenset(select), frozenset(prefetch), select_all)
    return index_of(SHOP).lazy_relation(access.key())


def test_lazy_relation_decisions() -> None:
    assert lazy(("parent",))
    assert not lazy(("parent",), select=("parent",))
    assert not lazy(("parent",), prefetch=("parent",))
    assert not lazy(("parent",), select_all=True)
    assert not lazy(("parent",), call="all")  # a single object has no manager methods
    assert lazy(("parent", "owner"), select=("parent",))
    assert not lazy(("parent", "owner"))  # the first step is the one reported
    assert not lazy(("parent", "owner"), select=("parent", "parent__owner"))
    assert lazy(("items",), call="all")
    assert not lazy(("items",))  # a manager not called: no query yet
    assert not lazy(("items",), call="all", prefetch=("items",))
    assert not lazy(("items",), call="count", prefetch=("items",))
    assert lazy(("items",), call="filter", prefetch=("items",))
    assert not lazy(("items", "product"), prefetch=("items",))  # a manager is not followed by attributes
    assert not lazy(("total",))
    assert not lazy(("owner_id",))


def test_unknown_models_are_never_confirmed() -> None:
    index = index_of(SHOP)
    for model in ("shop.models.Unknown", "elsewhere.Order", "django.contrib.auth.models.User"):
        key = LazyAccess(model, ("parent",), "", frozenset(), frozenset(), False).key()
        assert not index.lazy_relation(key)


def test_gfk_is_recorded_but_not_judged() -> None:
    index = index_of({
        "notes/models.py": """\
            from django.contrib.contenttypes.fields import GenericForeignKey
            from django.db import models

            class Note(models.Model):
                target = GenericForeignKey("content_type", "object_id")
        """,
    })
    assert index.accessor("notes.models.Note", "target") is None
