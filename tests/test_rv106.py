"""RV106 unindexed-foreign-key.

Small modules whose reported lines end with ``# reported``, run through the real engine with only RV106 enabled,
and the ``loads_app`` fixture project (Django models, SQLAlchemy models, an Alembic migration), whose reported
lines end with ``# RV106``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import marked_lines, reported, rule_plan

from reviewer.analysis import analyze_text
from reviewer.discover import discover
from reviewer.engine import scan
from reviewer.index import ProjectIndex

PLAN = rule_plan("RV106")
FIXTURE = Path(__file__).parent / "fixtures" / "loads_app"


def lines(source: str, module: str = "app") -> list[int]:
    result = analyze_text(textwrap.dedent(source), f"{module.replace('.', '/')}.py", module, False, PLAN)
    assert not result.notices, result.notices
    findings = result.findings + ProjectIndex([result]).resolve(result.candidates)
    return sorted(finding.span.line for finding in findings)


def assert_marked(source: str, module: str = "app") -> None:
    assert lines(source, module) == marked_lines(source)


# -- SQLAlchemy --------------------------------------------------------------------------------------------------------

SQLALCHEMY_CASES = {
    "declarative-columns": """
        import sqlalchemy as sa
        from sqlalchemy import Column, ForeignKey, Integer
        from sqlalchemy.orm import declarative_base

        Base = declarative_base()

        class Order(Base):
            __tablename__ = "orders"
            id = Column(Integer, primary_key=True)
            user_id = Column(Integer, ForeignKey("users.id"))  # reported
            shop_id = sa.Column(sa.Integer, sa.ForeignKey("shops.id"), index=False)  # reported
            coupon_id = Column(Integer, ForeignKey("coupons.id"), index=True)
            invoice_id = Column(Integer, ForeignKey("invoices.id"), unique=True)
            computed_id = Column(Integer, ForeignKey("things.id"), index=SHOULD_INDEX)
            plain = Column(Integer)
    """,
    "mapped-column": """
        from sqlalchemy import ForeignKey
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class Post(Base):
            __tablename__ = "posts"
            id: Mapped[int] = mapped_column(primary_key=True)
            author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # reported
            parent_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    """,
    "flask-sqlalchemy": """
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()

        class Order(db.Model):
            id = db.Column(db.Integer, primary_key=True)
            user_id = db.Column(db.Integer, db.ForeignKey("user.id"), nullable=False)  # reported
            shop_id = db.Column(db.Integer, db.ForeignKey("shop.id"), index=True)
    """,
    "table-args": """
        from sqlalchemy import Column, ForeignKey, Index, Integer, PrimaryKeyConstraint, UniqueConstraint
        from sqlalchemy.orm import declarative_base

        Base = declarative_base()

        class Membership(Base):
            __tablename__ = "memberships"
            __table_args__ = (
                UniqueConstraint("group_id", "user_id"),
                Index("ix_memberships_role", "role_id", "created"),
                {"schema": "auth"},
            )
            id = Column(Integer, primary_key=True)
            group_id = Column(Integer, ForeignKey("groups.id"))
            user_id = Column(Integer, ForeignKey("users.id"))  # reported
            role_id = Column(Integer, ForeignKey("roles.id"))
            created = Column(Integer)

        class Grant(Base):
            __tablename__ = "grants"
            __table_args__ = (PrimaryKeyConstraint("role_id", "permission_id"),)
            role_id = Column(Integer, ForeignKey("roles.id"))
            permission_id = Column(Integer, ForeignKey("permissions.id"))
    """,
    "unreadable-table-args": """
        from sqlalchemy import Column, ForeignKey, Index, Integer, func
        from sqlalchemy.orm import declarative_base, declared_attr

        Base = declarative_base()
        COMMON = (Index("ix", "x"),)

        class Computed(Base):
            __tablename__ = "computed"
            __table_args__ = COMMON
            id = Column(Integer, primary_key=True)
            user_id = Column(Integer, ForeignKey("users.id"))

        class Expression(Base):
            __tablename__ = "expression"
            __table_args__ = (Index("ix_expr", func.coalesce("user_id", 0)),)
            id = Column(Integer, primary_key=True)
            user_id = Column(Integer, ForeignKey("users.id"))

        class Declared(Base):
            __tablename__ = "declared"
            id = Column(Integer, primary_key=True)
            user_id = Column(Integer, ForeignKey("users.id"))

            @declared_attr
            def __table_args__(cls):
                return (Index("ix_declared_user", "user_id"),)
    """,
    "mixins-and-abstract-classes": """
        from sqlalchemy import Column, ForeignKey, Integer
        from sqlalchemy.orm import declarative_base

        Base = declarative_base()

        class OwnedMixin:
            owner_id = Column(Integer, ForeignKey("users.id"))

        class AbstractThing(Base):
            __abstract__ = True
            id = Column(Integer, primary_key=True)
            owner_id = Column(Integer, ForeignKey("users.id"))
    """,
    "module-level-indexes": """
        from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, Table
        from sqlalchemy.orm import declarative_base

        Base = declarative_base()
        metadata = MetaData()

        class Order(Base):
            __tablename__ = "orders"
            id = Column(Integer, primary_key=True)
            user_id = Column(Integer, ForeignKey("users.id"))
            shop_id = Column(Integer, ForeignKey("shops.id"))  # reported
            coupon_id = Column("coupon", Integer, ForeignKey("coupons.id"))

        lines = Table(
            "lines",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("order_id", ForeignKey("orders.id")),
            Column("product_id", ForeignKey("products.id")),  # reported
            Column("sku_id", ForeignKey("skus.id")),
            Index("ix_lines_sku", "sku_id"),
        )

        Index("ix_orders_user", Order.user_id, Order.id)
        Index("ix_orders_coupon", Order.__table__.c.coupon)
        Index("ix_lines_order", lines.c.order_id)
    """,
    "association-tables": """
        from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, UniqueConstraint

        metadata = MetaData()

        keyed = Table(
            "user_groups",
            metadata,
            Column("user_id", ForeignKey("users.id"), primary_key=True),
            Column("group_id", ForeignKey("groups.id"), primary_key=True),
        )

        surrogate = Table(
            "user_roles",
            metadata,
            Column("id", Integer, primary_key=True),
            Column("user_id", ForeignKey("users.id")),
            Column("role_id", ForeignKey("roles.id")),  # reported
            UniqueConstraint("user_id", "role_id"),
        )
    """,
}


@pytest.mark.parametrize("name", list(SQLALCHEMY_CASES))
def test_sqlalchemy(name: str) -> None:
    assert_marked(SQLALCHEMY_CASES[name])


def test_migration_packages_hold_stand_in_models() -> None:
    source = """
        from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table

        helper = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("u", ForeignKey("u.id")))
    """
    assert lines(source, "app.migrations.shared") == []
    assert lines(source, "app.models") == [4]


def test_message_explains_the_database_behaviour() -> None:
    findings = reported("""
        from sqlalchemy import Column, ForeignKey, Integer
        from sqlalchemy.orm import declarative_base

        Base = declarative_base()

        class Order(Base):
            __tablename__ = "orders"
            id = Column(Integer, primary_key=True)
            user_id = Column(Integer, ForeignKey("users.id"))
    """, PLAN)
    assert len(findings) == 1
    message = findings[0][1]
    assert message.startswith("foreign-key column `user_id` has no index: PostgreSQL")
    assert "MySQL/InnoDB" in message and "`index=True`" in message


# -- Django ------------------------------------------------------------------------------------------------------------

def test_django_models() -> None:
    assert_marked("""
        from django.db import models
        from django.db.models import ForeignKey

        class Line(models.Model):
            order = models.ForeignKey("shop.Order", on_delete=models.CASCADE, db_index=False)
            product = ForeignKey("shop.Product", on_delete=models.CASCADE, db_index=False)  # reported
            warehouse = models.ForeignKey("shop.Warehouse", on_delete=models.CASCADE, db_index=False)
            batch = models.ForeignKey("shop.Batch", on_delete=models.CASCADE, db_index=False)
            supplier = models.ForeignKey("shop.Supplier", on_delete=models.CASCADE, db_index=False)  # reported
            default = models.ForeignKey("shop.Default", on_delete=models.CASCADE)
            unique = models.ForeignKey("shop.Unique", on_delete=models.CASCADE, db_index=False, unique=True)
            sku = models.CharField(max_length=20)

            class Meta:
                unique_together = ("order", "sku")
                index_together = [["warehouse", "sku"]]
                indexes = [models.Index(fields=["sku", "supplier"]), models.Index(fields=["-batch"])]
                constraints = [models.CheckConstraint(condition=models.Q(sku__gt=""), name="sku")]

        class NoMeta(models.Model):
            order = models.ForeignKey("shop.Order", on_delete=models.CASCADE, db_index=False)  # reported

        class ExpressionIndex(models.Model):
            order = models.ForeignKey("shop.Order", on_delete=models.CASCADE, db_index=False)

            class Meta:
                indexes = [models.Index(models.F("order"), name="expr")]

        class InheritedMeta(models.Model):
            order = models.ForeignKey("shop.Order", on_delete=models.CASCADE, db_index=False)

            class Meta(Base.Meta):
                pass
    """)


def test_django_migrations_are_left_to_the_models() -> None:
    assert lines("""
        from django.db import migrations, models

        class Migration(migrations.Migration):
            operations = [
                migrations.AddField(
                    model_name="line",
                    name="order",
                    field=models.ForeignKey(on_delete=models.CASCADE, to="shop.order", db_index=False),
                ),
            ]
    """) == []


# -- Alembic -----------------------------------------------------------------------------------------------------------

def test_alembic_create_table() -> None:
    assert_marked("""
        import sqlalchemy as sa
        from alembic import op

        def upgrade():
            op.create_table(
                "lines",
                sa.Column("id", sa.Integer(), primary_key=True),
                sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id")),
                sa.Column("product_id", sa.Integer(), sa.ForeignKey("products.id")),  # reported
                sa.Column("sku_id", sa.Integer(), sa.ForeignKey("skus.id"), index=True),
                sa.Column("batch_id", sa.Integer()),
                sa.Column("shelf_id", sa.Integer()),
                sa.ForeignKeyConstraint(["batch_id"], ["batches.id"]),  # reported
                sa.ForeignKeyConstraint(["shelf_id"], ["shelves.id"]),
                sa.UniqueConstraint("shelf_id", "id"),
            )
            op.create_index(op.f("ix_lines_order_id"), "lines", ["order_id", "id"])
    """)


def test_alembic_create_foreign_key() -> None:
    assert_marked("""
        import sqlalchemy as sa
        from alembic import op

        def upgrade():
            op.add_column("orders", sa.Column("user_id", sa.Integer()))
            op.create_foreign_key(None, "orders", "users", ["user_id"], ["id"])  # reported
            op.add_column("orders", sa.Column("shop_id", sa.Integer()))
            op.create_foreign_key(None, "orders", "shops", ["shop_id"], ["id"])
            op.create_index("ix_orders_shop", "orders", ["shop_id"])
            op.add_column("orders", sa.Column("coupon_id", sa.Integer(), sa.ForeignKey("coupons.id")))  # reported
            op.add_column("orders", sa.Column("owner_id", sa.Integer(), index=True))
            op.create_foreign_key(
                constraint_name=None, source_table="orders", referent_table="users",
                local_cols=["owner_id"], remote_cols=["id"],
            )
            op.create_foreign_key(None, "orders", "carts", ["cart_id"], ["id"])

        def downgrade():
            op.add_column("orders", sa.Column("legacy_id", sa.Integer()))
            op.create_foreign_key(None, "orders", "legacy", ["legacy_id"], ["id"])
    """)


def test_alembic_batch_operations() -> None:
    assert_marked("""
        import sqlalchemy as sa
        from alembic import op

        def upgrade():
            with op.batch_alter_table("orders") as batch_op:
                batch_op.add_column(sa.Column("user_id", sa.Integer()))
                batch_op.create_foreign_key("fk_orders_user", "users", ["user_id"], ["id"])  # reported
                batch_op.add_column(sa.Column("shop_id", sa.Integer()))
                batch_op.create_foreign_key("fk_orders_shop", "shops", ["shop_id"], ["id"])
                batch_op.create_unique_constraint("uq_orders_shop", ["shop_id", "id"])
            op.add_column("lines", sa.Column("order_id", sa.Integer()))
            op.create_foreign_key(None, "lines", "orders", ["order_id"], ["id"])
            op.execute('CREATE INDEX CONCURRENTLY ix_lines_order ON "lines" (order_id, id)')
    """)


def test_sqlalchemy_names_without_the_import_are_not_taken() -> None:
    assert lines("""
        class Order(Base):
            __tablename__ = "orders"
            id = Column(Integer, primary_key=True)
            user_id = Column(Integer, ForeignKey("users.id"))
    """) == []


# -- the fixture project ----------------------------------------------------------------------------------------------

def test_fixture_reports_exactly_the_marked_lines() -> None:
    sources, notices = discover([FIXTURE], FIXTURE, [], respect_gitignore=False)
    result = scan(sources, PLAN, str(FIXTURE), jobs=1, walk_notices=notices)
    assert not result.notices, result.notices
    found = sorted((f.path, f.span.line) for f in result.findings)
    marked = sorted(
        (path.relative_to(FIXTURE).as_posix(), number)
        for path in FIXTURE.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if line.rstrip().endswith("# RV106")
    )
    assert found == marked
