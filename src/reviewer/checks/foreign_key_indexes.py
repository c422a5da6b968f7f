"""RV106 unindexed-foreign-key: a foreign-key column that no index leads with.

PostgreSQL, SQLite, SQL Server and Oracle do not index the referencing side of a foreign key by themselves (MySQL's
InnoDB does); Django does (``db_index=True`` is a ``ForeignKey``'s default), SQLAlchemy and Alembic do not. Without
one, a join from the referenced table and every delete or key update of a referenced row scans the whole
referencing table (PostgreSQL checks the constraint row by row).

Reported:

- SQLAlchemy: a ``Column(..., ForeignKey(...))`` / ``mapped_column(ForeignKey(...))`` / ``db.Column(...)`` in the body
  of a mapped class (one that names ``__tablename__`` or declares a primary-key column) or in a ``Table(...)``,
  without ``index=True``, ``unique=True`` or ``primary_key=True``, and not the leading column of an ``Index``,
  ``UniqueConstraint`` or ``PrimaryKeyConstraint`` in ``__table_args__`` / the ``Table``'s arguments, nor of an
  ``Index(...)`` made at module level of the same file (``Index("ix", Order.user_id)``, ``Index("ix",
  orders.c.user_id)``). A column listed in a composite ``PrimaryKeyConstraint`` counts as a primary-key column.
- Django: ``ForeignKey(..., db_index=False)`` when no ``Meta.indexes`` entry, ``UniqueConstraint`` (in
  ``Meta.constraints``), ``unique_together`` or ``index_together`` entry leads with the field.
- Alembic, in a migration's ``upgrade*()`` function: a foreign key on a column the same function creates
  (``op.create_table`` with ``sa.Column(..., sa.ForeignKey())`` or ``sa.ForeignKeyConstraint``, ``op.add_column``
  followed by ``op.create_foreign_key``, the ``batch_alter_table`` forms), with no index leading with the column
  made in that function (``index=True``, ``op.create_index``, a unique or primary-key constraint, ``CREATE INDEX``
  in ``op.execute``).

Not reported, on purpose, wherever the rule cannot see the whole truth: primary-key columns, including the
second column of an association table's composite key (it has no index of its own, but whether the reverse
lookups need one is a trade-off the rule cannot judge); classes whose ``__table_args__`` or ``Meta`` is computed
or holds an index it cannot read (an expression index might cover the column); ``index=`` or ``db_index=`` given a
non-literal; and ``op.create_foreign_key`` on a column an earlier migration created (an earlier migration may have
indexed it). Indexes declared in another module are not seen (a project fact would be needed).
"""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import (
    Check,
    FileContext,
    dotted_name,
    keyword_argument,
    positional_arguments,
    string_value,
    subscript_index,
    subscript_key,
)

WHY = "PostgreSQL (like SQLite; unlike MySQL/InnoDB) does not index foreign-key columns by itself"
CONSEQUENCE = "joins on it and deletes of the referenced rows scan the whole table"

SA_MODULES = ("sqlalchemy.", "sqlalchemy.schema.", "sqlalchemy.sql.schema.")
DJANGO_FOREIGN_KEYS = frozenset({"django.db.models.ForeignKey", "django.db.models.fields.related.ForeignKey"})
_CREATE_INDEX_SQL = re.compile(
    r"create\s+(?:unique\s+)?index\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?[\w\"]*\s*on\s+(?:only\s+)?"
    r"[\"`]?(?P<table>\w+)[\"`]?\s*(?:using\s+\w+\s*)?\(\s*[\"`]?(?P<column>\w+)",
    re.IGNORECASE,
)
ALEMBIC = "alembic.op."


def _literal_flag(node: cst.BaseExpression | None) -> bool | None:
    """True/False for the literals, None for anything else (absent or computed)."""
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value == "True"
    return None


def _strings(node: cst.BaseExpression | None) -> list[str] | None:
    """The strings of a list/tuple literal of string literals (or one string), else None."""
    single = string_value(node)
    if single is not None:
        return [single]
    if not isinstance(node, (cst.List, cst.Tuple)):
        return None
    values = [string_value(element.value) for element in node.elements]
    return None if any(value is None for value in values) else values  # type: ignore[return-value]


class ForeignKeyIndexes(Check):
    rule_id = "RV106"
    triggers = ("ForeignKey", "create_foreign_key")

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict[str, Any]) -> None:
        super().__init__(ctx, spec, options)
        # Module-level `Index("ix", Model.col)` / `Index("ix", table.c.col)`: (owner as written, column).
        self._module_indexes: set[tuple[str, str]] = set()
        # Per class being visited, innermost last: the column names an index leads with, or None when the rule
        # cannot tell (a computed __table_args__/Meta); and whether it is a mapped SQLAlchemy class.
        self._classes: list[tuple[cst.ClassDef, set[str] | None, bool]] = []
        # The Alembic upgrade function being visited: indexed (table, column) pairs, tables whose indexes cannot
        # be read, columns it adds, and `batch_op` names -> table.
        self._migration: _Migration | None = None

    # -- names ----------------------------------------------------------------------------------------------------

    def _is_sa(self, node: cst.BaseExpression, *names: str) -> bool:
        """``sqlalchemy.Column`` (and its other homes), ``db.Column`` of a Flask-SQLAlchemy extension."""
        qualified = self.ctx.qualified_name(node)
        if qualified is None:
            return False
        for name in names:
            if name == "mapped_column" and qualified == "sqlalchemy.orm.mapped_column":
                return True
            if any(qualified == f"{module}{name}" for module in SA_MODULES):
                return True
            owner, _, attribute = qualified.rpartition(".")
            if attribute == name and (owner.endswith("SQLAlchemy()") or owner.rsplit(".", 1)[-1] == "db"):
                return True
        return False

    def _is_column(self, node: cst.BaseExpression | None) -> bool:
        return isinstance(node, cst.Call) and self._is_sa(node.func, "Column", "mapped_column")

    def _has_foreign_key(self, column: cst.Call) -> bool:
        return any(isinstance(arg.value, cst.Call) and self._is_sa(arg.value.func, "ForeignKey")
                   for arg in column.args if arg.keyword is None and not arg.star)

    @staticmethod
    def _column_is_indexed(column: cst.Call) -> bool | None:
        """True when the column indexes itself, False when it does not, None when a flag is computed."""
        flags = [keyword_argument(column, flag) for flag in ("index", "unique", "primary_key")]
        if any(flag is not None and _literal_flag(flag) is None for flag in flags):
            return None
        return any(_literal_flag(flag) for flag in flags)

    # -- module-level indexes -------------------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        # Read before the classes above them are visited; the call is recognized by its shape (`Index(...)`,
        # `sa.Index(...)`), since imports are not bound yet: an unrelated `Index` only ever hides findings.
        for statement in node.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                value = getattr(small, "value", None)
                if isinstance(value, cst.Call) and (dotted_name(value.func) or "").rsplit(".", 1)[-1] == "Index":
                    arguments = positional_arguments(value)
                    if len(arguments) >= 2:
                        leading = self._column_reference(arguments[1])
                        if leading is not None:
                            self._module_indexes.add(leading)

    @staticmethod
    def _column_reference(node: cst.BaseExpression) -> tuple[str, str] | None:
        """``Order.user_id``, ``Order.__table__.c.user_id``, ``orders.c.user_id``, ``orders.c["user_id"]``."""
        if isinstance(node, cst.Subscript) and subscript_index(node) is not None:
            column = subscript_key(node)
            owner = dotted_name(node.value)
        elif isinstance(node, cst.Attribute):
            column, owner = node.attr.value, dotted_name(node.value)
        else:
            return None
        if column is None or owner is None:
            return None
        for suffix in (".__table__.c", ".c"):
            owner = owner.removesuffix(suffix)
        return owner, column

    # -- SQLAlchemy declarative classes and Django models -----------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        assignments = [
            small for line in body if isinstance(line, cst.SimpleStatementLine)
            for small in line.body if isinstance(small, (cst.Assign, cst.AnnAssign))
        ]
        names = {target.value for target in self._targets(assignments)}
        columns = [a.value for a in assignments if a.value is not None and self._is_column(a.value)]
        mapped = "__tablename__" in names or any(
            _literal_flag(keyword_argument(column, "primary_key")) for column in columns
        )
        abstract = any(
            self._target_name(a) == "__abstract__" and _literal_flag(a.value) for a in assignments
        )
        covered: set[str] | None = set()
        if any(isinstance(line, cst.FunctionDef) and line.name.value == "__table_args__" for line in body):
            covered = None  # @declared_attr: computed
        for assignment in assignments:
            if self._target_name(assignment) == "__table_args__":
                covered = self._sa_constraint_columns(assignment.value)
        meta = next((line for line in body if isinstance(line, cst.ClassDef) and line.name.value == "Meta"), None)
        if meta is not None and covered is not None:
            covered = None if meta.bases else self._django_meta_columns(meta)
        # A mixin's columns may be indexed by the classes that use it: only mapped classes are judged.
        self._classes.append((node, covered, mapped and not abstract and not self._in_migration()))

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        if self._classes and self._classes[-1][0] is node:
            self._classes.pop()

    @staticmethod
    def _target_name(assignment: cst.Assign | cst.AnnAssign) -> str | None:
        target = assignment.targets[0].target if isinstance(assignment, cst.Assign) else assignment.target
        return target.value if isinstance(target, cst.Name) else None

    @staticmethod
    def _targets(assignments: list[cst.Assign | cst.AnnAssign]) -> list[cst.Name]:
        found = []
        for assignment in assignments:
            targets = [t.target for t in assignment.targets] if isinstance(assignment, cst.Assign) \
                else [assignment.target]
            found += [target for target in targets if isinstance(target, cst.Name)]
        return found

    def _sa_constraint_columns(self, value: cst.BaseExpression | None) -> set[str] | None:
        """The leading columns of the constraints in ``__table_args__``; None when one cannot be read."""
        if isinstance(value, cst.Dict):
            return set()
        if not isinstance(value, (cst.Tuple, cst.List)):
            return None
        covered: set[str] = set()
        for element in value.elements:
            if isinstance(element.value, cst.Dict):
                continue
            if isinstance(element, cst.StarredElement) or not isinstance(element.value, cst.Call):
                return None
            columns = self._sa_constraint(element.value)
            if columns is None:
                return None
            covered |= columns
        return covered

    def _sa_constraint(self, call: cst.Call) -> set[str] | None:
        """What an ``Index``/``UniqueConstraint``/``PrimaryKeyConstraint`` covers: its leading column, or every
        column of a primary key (each is a key column); empty for other constraints; None when unreadable."""
        arguments = positional_arguments(call)
        if self._is_sa(call.func, "Index"):
            expressions = arguments[1:]
        elif self._is_sa(call.func, "UniqueConstraint"):
            expressions = arguments
        elif self._is_sa(call.func, "PrimaryKeyConstraint"):
            names = [self._sa_column_name(argument) for argument in arguments]
            return None if not names or None in names else set(names)  # type: ignore[arg-type]
        elif self._is_sa(call.func, "ForeignKeyConstraint", "CheckConstraint"):
            return set()
        else:
            return None
        leading = self._sa_column_name(expressions[0]) if expressions else None
        return None if leading is None else {leading}

    @staticmethod
    def _sa_column_name(node: cst.BaseExpression) -> str | None:
        literal = string_value(node)
        if literal is not None:
            return literal
        if isinstance(node, cst.Name):
            return node.value
        if isinstance(node, cst.Attribute):  # cls.user_id, Order.user_id
            return node.attr.value
        return None

    def _django_meta_columns(self, meta: cst.ClassDef) -> set[str] | None:
        """The fields that ``Meta``'s indexes, unique constraints and ``*_together`` lead with; None when one
        cannot be read."""
        covered: set[str] = set()
        body = meta.body.body if isinstance(meta.body, cst.IndentedBlock) else ()
        for line in body:
            if not isinstance(line, cst.SimpleStatementLine):
                continue
            for small in line.body:
                if not isinstance(small, cst.Assign):
                    continue
                name = self._target_name(small)
                if name in ("unique_together", "index_together"):
                    groups = self._together(small.value)
                    if groups is None:
                        return None
                    covered |= {group[0] for group in groups if group}
                elif name in ("indexes", "constraints"):
                    if not isinstance(small.value, (cst.List, cst.Tuple)):
                        return None
                    for element in small.value.elements:
                        leading = self._django_index_leading(element.value)
                        if leading is None:
                            return None
                        covered |= leading
        return {field.lstrip("-") for field in covered}

    @staticmethod
    def _together(node: cst.BaseExpression) -> list[list[str]] | None:
        flat = _strings(node)
        if flat is not None:
            return [flat]
        if not isinstance(node, (cst.List, cst.Tuple)):
            return None
        groups = [_strings(element.value) for element in node.elements]
        return None if any(group is None for group in groups) else groups  # type: ignore[return-value]

    def _django_index_leading(self, node: cst.BaseExpression) -> set[str] | None:
        """``models.Index(fields=[...])`` / ``models.UniqueConstraint(fields=[...])``: the leading field; a
        ``CheckConstraint`` covers nothing; expression indexes and anything else cannot be read (None)."""
        if not isinstance(node, cst.Call):
            return None
        name = (self.ctx.qualified_name(node.func) or "").rsplit(".", 1)[-1]
        if name == "CheckConstraint":
            return set()
        if name not in ("Index", "UniqueConstraint") or positional_arguments(node):
            return None
        fields = _strings(keyword_argument(node, "fields"))
        return {fields[0]} if fields else None

    def _class_state(self) -> tuple[cst.ClassDef, set[str] | None, bool] | None:
        """The class whose own body is being visited."""
        frame = self.ctx.frames[-1]
        if frame.kind != "class" or not self._classes or self._classes[-1][0] is not frame.node:
            return None
        return self._classes[-1]

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self._class_attribute(node.targets[0].target.value, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.target, cst.Name) and node.value is not None:
            self._class_attribute(node.target.value, node.value)

    def _class_attribute(self, attribute: str, value: cst.BaseExpression) -> None:
        state = self._class_state()
        if state is None or not isinstance(value, cst.Call):
            return
        owner, covered, mapped = state
        if covered is None:
            return
        if self._is_column(value):
            if not mapped or not self._has_foreign_key(value) or self._column_is_indexed(value) is not False:
                return
            names = {attribute}
            explicit = positional_arguments(value)
            column_name = string_value(explicit[0]) if explicit else None
            if column_name is not None:
                names.add(column_name)
            class_name = owner.name.value
            if names & covered or any((class_name, name) in self._module_indexes for name in names):
                return
            self.report(value, self._sa_message(attribute))
        elif self.ctx.qualified_name(value.func) in DJANGO_FOREIGN_KEYS:
            flags = [keyword_argument(value, flag) for flag in ("db_index", "unique", "primary_key")]
            if _literal_flag(flags[0]) is not False or any(_literal_flag(f) is not False for f in flags[1:] if f):
                return
            if {attribute, f"{attribute}_id"} & covered:
                return
            self.report(
                value,
                f"`{attribute}` is a foreign key with `db_index=False` and no index in `Meta` leads with it: {WHY}, "
                f"so {CONSEQUENCE}; drop `db_index=False` or add `models.Index(fields=[\"{attribute}\", ...])`",
            )

    @staticmethod
    def _sa_message(column: str) -> str:
        return (
            f"foreign-key column `{column}` has no index: {WHY}, so {CONSEQUENCE}; add `index=True` or an `Index` "
            "leading with it"
        )

    # -- Table(...) --------------------------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        if self._is_sa(node.func, "Table"):
            self._table(node)
        elif self._migration is not None:
            self._migration_call(node)

    def _in_migration(self) -> bool:
        """An Alembic migration or a module of a migrations package: its ``Table``s and classes are stand-ins for
        data migrations, not the schema."""
        return self.ctx.lookup("op") == (True, "alembic.op") or "migrations" in self.ctx.module.split(".")

    def _table(self, call: cst.Call) -> None:
        if self._in_migration():
            return
        arguments = positional_arguments(call)
        table = string_value(arguments[0]) if arguments else None
        statement = self.ctx.statement
        owners = {table} if table else set()
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and small.value is call:
                    owners |= {t.target.value for t in small.targets if isinstance(t.target, cst.Name)}
        covered: set[str] = set()
        for argument in arguments[2:]:
            if isinstance(argument, cst.Call) and not self._is_column(argument):
                constraint = self._sa_constraint(argument)
                if constraint is None:
                    return
                covered |= constraint
        for argument in arguments[2:]:
            if not (self._is_column(argument) and self._has_foreign_key(argument)):
                continue
            if self._column_is_indexed(argument) is not False:
                continue
            column_arguments = positional_arguments(argument)
            name = string_value(column_arguments[0]) if column_arguments else None
            if name is None or name in covered or any((owner, name) in self._module_indexes for owner in owners):
                continue
            self.report(argument, self._sa_message(name))

    # -- Alembic ----------------------------------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.ctx.at_module_level and node.name.value.startswith("upgrade"):
            self._migration = _Migration(self)
            node.body.visit(self._migration)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.ctx.at_module_level and node.name.value.startswith("upgrade"):
            self._migration = None

    def _migration_call(self, call: cst.Call) -> None:
        migration = self._migration
        operation = migration.operation(call)
        if operation is None:
            return
        table, method = operation
        if method == "create_foreign_key":
            arguments = positional_arguments(call)
            skip = 1 if migration.is_batch(call) else 2  # name, [source table,] referent, local columns
            local = keyword_argument(call, "local_cols") or (
                arguments[skip + 1] if len(arguments) > skip + 1 else None
            )
            columns = _strings(local)
            if table is None or not columns:
                return
            column = columns[0]
            if (table, column) in migration.added and migration.unindexed(table, column):
                self.report(call, self._alembic_message(table, column))
        elif method == "create_table":
            self._create_table(call, table)
        elif method == "add_column" and table is not None:
            position = 0 if migration.is_batch(call) else 1  # op.add_column(table, column)
            arguments = positional_arguments(call)
            self._created_column(arguments[position] if len(arguments) > position else None, table)

    def _create_table(self, call: cst.Call, table: str | None) -> None:
        migration = self._migration
        if table is None or migration is None:
            return
        for argument in positional_arguments(call)[1:]:
            if not isinstance(argument, cst.Call):
                continue
            if self._is_sa(argument.func, "ForeignKeyConstraint"):
                local = keyword_argument(argument, "columns") or (positional_arguments(argument) or [None])[0]
                columns = _strings(local) if local is not None else None
                if columns and migration.unindexed(table, columns[0]):
                    self.report(argument, self._alembic_message(table, columns[0]))
            else:
                self._created_column(argument, table)

    def _created_column(self, column: cst.BaseExpression | None, table: str) -> None:
        """A ``sa.Column(..., sa.ForeignKey())`` that a migration creates."""
        migration = self._migration
        if migration is None or not (self._is_column(column) and self._has_foreign_key(column)):
            return
        if self._column_is_indexed(column) is not False:
            return
        names = positional_arguments(column)
        name = string_value(names[0]) if names else None
        if name is not None and migration.unindexed(table, name):
            self.report(column, self._alembic_message(table, name))

    @staticmethod
    def _alembic_message(table: str, column: str) -> str:
        return (
            f"foreign key on `{table}.{column}` and no index leading with `{column}` in this migration: {WHY}, so "
            f"{CONSEQUENCE}; add `op.create_index(..., \"{table}\", [\"{column}\"])` or `index=True` on the column"
        )


class _Migration(cst.CSTVisitor):
    """What an Alembic ``upgrade()`` does, read before its body is visited: the (table, column) pairs it indexes
    or adds, and the tables on which it makes an index the rule cannot read."""

    def __init__(self, check: ForeignKeyIndexes) -> None:
        self.check = check
        self.batches: dict[str, str] = {}  # `batch_op` -> its table
        self.indexed: set[tuple[str, str]] = set()
        self.unreadable: set[str] = set()  # tables with an index whose columns are not literal
        self.added: set[tuple[str, str]] = set()

    def unindexed(self, table: str, column: str) -> bool:
        return table not in self.unreadable and (table, column) not in self.indexed

    def is_batch(self, call: cst.Call) -> bool:
        return isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name) \
            and call.func.value.value in self.batches

    def operation(self, call: cst.Call) -> tuple[str | None, str] | None:
        """(table, method) of ``op.<method>(...)`` or ``batch_op.<method>(...)``."""
        if not isinstance(call.func, cst.Attribute):
            return None
        method = call.func.attr.value
        if self.is_batch(call):
            return self.batches[call.func.value.value], method
        if self.check.ctx.qualified_name(call.func) != f"{ALEMBIC}{method}":
            return None
        if method == "execute":
            return None, method
        table_keyword = {"create_index": "table_name", "create_foreign_key": "source_table",
                         "create_table": "table_name", "add_column": "table_name"}.get(method, "table_name")
        arguments = positional_arguments(call)
        position = 0 if method in ("create_table", "add_column") else 1
        table = string_value(keyword_argument(call, table_keyword) or (
            arguments[position] if len(arguments) > position else None
        ))
        return table, method

    def visit_WithItem(self, node: cst.WithItem) -> None:
        item = node.item
        if isinstance(item, cst.Call) and node.asname is not None and isinstance(node.asname.name, cst.Name) \
                and self.check.ctx.qualified_name(item.func) == f"{ALEMBIC}batch_alter_table":
            arguments = positional_arguments(item)
            table = string_value(keyword_argument(item, "table_name") or (arguments[0] if arguments else None))
            if table is not None:
                self.batches[node.asname.name.value] = table

    def visit_Call(self, node: cst.Call) -> None:
        operation = self.operation(node)
        if operation is None:
            return
        table, method = operation
        arguments = positional_arguments(node)
        if method == "execute" and arguments:
            sql = string_value(arguments[0])
            for match in _CREATE_INDEX_SQL.finditer(sql or ""):
                self.indexed.add((match["table"], match["column"]))
        if table is None:
            return
        batch = self.is_batch(node)
        if method in ("create_index", "create_unique_constraint", "create_primary_key"):
            where = 1 if batch else 2
            columns_node = keyword_argument(node, "columns") or (arguments[where] if len(arguments) > where else None)
            columns = _strings(columns_node)
            if columns:
                self.indexed.add((table, columns[0]))
            else:
                self.unreadable.add(table)
        elif method == "add_column":
            column = arguments[0 if batch else 1] if len(arguments) > (0 if batch else 1) else None
            if isinstance(column, cst.Call) and self.check._is_column(column):
                names = positional_arguments(column)
                name = string_value(names[0]) if names else None
                if name is not None:
                    self.added.add((table, name))
                    if self.check._column_is_indexed(column) is not False:
                        self.indexed.add((table, name))
        elif method == "create_table":
            self._table_constraints(table, arguments[1:])

    def _table_constraints(self, table: str, arguments: list[cst.BaseExpression]) -> None:
        for argument in arguments:
            if not isinstance(argument, cst.Call):
                continue
            if self.check._is_column(argument):
                names = positional_arguments(argument)
                name = string_value(names[0]) if names else None
                if name is not None:
                    self.added.add((table, name))
                    if self.check._column_is_indexed(argument) is not False:
                        self.indexed.add((table, name))
                continue
            covered = self.check._sa_constraint(argument)
            if covered is None:
                self.unreadable.add(table)
            else:
                self.indexed |= {(table, column) for column in covered}
