"""RV105 sql-injection: SQL text built from non-constant values and handed to something that runs it.

The rule evaluates the SQL argument of an execution sink as a small abstract value (:class:`Sql`): whether it was
built (f-string, ``%``, ``.format()``, ``+``, ``str.join``), the literal text it starts with, and the first value
interpolated into it that is not known to be constant (the *culprit*). Only a culprit is reported; a string built
from constants is not. Strings are followed through local variables, ``+=``, and lists grown with
``append``/``extend``/``+=`` and joined, within one function (or the module body of a script), last assignment
wins.

Constant, and so never a culprit:

- literals, names written in UPPER_CASE (module constants, imported constants, ``self.TABLE``, ``settings.X``),
  module-level names bound to constant strings, and locals bound to constants;
- numbers: ``int()``, ``float()``, ``len()``, ``bool()``, ``range()``, values formatted with a numeric ``%d``/``%f``
  conversion or a ``{x:d}`` format spec (they cannot carry quotes);
- schema-controlled identifiers: any chain through Django's ``_meta`` (``Model._meta.db_table``) and SQLAlchemy's
  ``__tablename__``/``__table__``; SQL produced by Django's compiler (``sql, params = qs.query.sql_with_params()``,
  ``as_sql()``), and by ``cursor.mogrify()``;
- a name tested for membership in a constant collection earlier in the same function (``if col not in ALLOWED:
  raise``, ``if col in {"a", "b"}:``), and loop variables over constant collections;
- placeholders: ``",".join(["%s"] * len(ids))``, ``", ".join("%s" for _ in ids)``.

Sinks, recognized by qualified name: a DB-API cursor's ``execute``/``executemany``/``executescript`` (anything
reached through ``.cursor()``), ``execute``-like methods on objects from a database module (``django.db``,
``sqlite3``, ``psycopg``/``psycopg2``, ``pymysql``, ``MySQLdb``, ``asyncpg``, ``aiopg``, ``sqlalchemy``,
``flask_sqlalchemy``...), SQLAlchemy ``text()`` (the call itself, since a ``TextClause`` is raw SQL wherever it goes),
``psycopg.sql.SQL()``, Django ``Manager.raw()``, ``QuerySet.extra(where=, select=, tables=, order_by=)`` and
``RawSQL()``, and ``pandas.read_sql``/``read_sql_query``. Objects the resolver cannot name (an awaited
``asyncpg.connect()``, a FastAPI ``db: Session`` parameter) are accepted by the receiver's conventional name
(``cursor``, ``conn``, ``db``, ``session``, ``pool``...; the ``receiver-names`` option) only when the SQL text
visibly starts with an SQL keyword.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, replace
from typing import Any

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import Check, FileContext, bound_names, dotted_name, shape, string_value
from reviewer.checks.django_orm import split_at_manager

# Methods that run the SQL text given as their first argument.
EXECUTE_METHODS = frozenset({
    "execute", "executemany", "executescript", "exec_driver_sql", "execute_fetchall", "fetch", "fetchrow",
    "fetchval", "fetch_all", "fetch_one", "fetch_val", "iterate", "query",
})
# Roots of qualified names whose objects run SQL (drivers, ORMs' raw access, query builders over DB-API).
DATABASE_MODULES = frozenset({
    "django.db", "sqlite3", "psycopg", "psycopg2", "psycopg_pool", "pymysql", "MySQLdb", "mysql.connector",
    "asyncpg", "aiopg", "aiomysql", "aiosqlite", "sqlalchemy", "flask_sqlalchemy", "sqlmodel", "databases",
    "cx_Oracle", "oracledb", "pyodbc", "duckdb", "snowflake.connector", "pg8000", "records", "peewee",
})
TEXT_CONSTRUCTORS = frozenset({
    "sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text", "sqlmodel.text",
    "sqlalchemy.literal_column", "sqlalchemy.sql.literal_column", "sqlalchemy.sql.expression.literal_column",
    "psycopg.sql.SQL", "psycopg2.sql.SQL", "django.db.models.expressions.RawSQL", "django.db.models.RawSQL",
})
READ_SQL = frozenset({"pandas.read_sql", "pandas.read_sql_query", "pandas.io.sql.read_sql"})
DJANGO_QUERYSET_CLASSES = frozenset({
    "django.db.models.Manager", "django.db.models.manager.Manager", "django.db.models.QuerySet",
    "django.db.models.query.QuerySet",
})
EXTRA_SQL_KEYWORDS = ("where", "select", "tables", "order_by")
SQL_ARGUMENT_KEYWORDS = ("sql", "query", "statement", "operation", "stmt")

SQL_START = re.compile(
    r"\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER|TRUNCATE|REPLACE|MERGE|UPSERT|GRANT|REVOKE|"
    r"EXPLAIN|PRAGMA|VACUUM|ANALYZE|SET|SHOW|DECLARE|CALL|EXEC|COPY|LOCK|REFRESH|COMMENT|REINDEX|CLUSTER|"
    r"ATTACH|DETACH)\b",
    re.IGNORECASE,
)
PERCENT_SPEC = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conversion>[diouxXeEfFgGcrsa%])"
)
NUMERIC_CONVERSIONS = frozenset("diouxXeEfFgG")
NUMERIC_FORMAT_SPEC = re.compile(r".*[bdoxXneEfFgG%]$")
# Calls whose result cannot carry quotes or SQL.
NUMERIC_CALLS = frozenset({
    "builtins.int", "builtins.float", "builtins.len", "builtins.bool", "builtins.range", "builtins.abs",
    "builtins.round", "builtins.hash", "builtins.id", "builtins.ord", "uuid.uuid4", "uuid.UUID", "decimal.Decimal",
    "math.floor", "math.ceil",
})
# Calls whose result is as safe as their arguments.
TRANSPARENT_CALLS = frozenset({
    "builtins.str", "builtins.list", "builtins.tuple", "builtins.set", "builtins.frozenset", "builtins.sorted",
    "builtins.reversed", "builtins.enumerate", "builtins.zip", "builtins.min", "builtins.max", "builtins.dict",
})
# Methods whose result is as safe as the receiver (and their arguments).
TRANSPARENT_METHODS = frozenset({
    "keys", "values", "items", "copy", "upper", "lower", "strip", "lstrip", "rstrip", "title", "casefold",
    "replace", "get", "format_map", "removeprefix", "removesuffix", "splitlines", "split",
})
# Methods that return SQL generated by the ORM or escaped by the driver.
GENERATED_SQL_METHODS = frozenset({"sql_with_params", "as_sql", "mogrify", "as_string", "quote_ident"})
NUMERIC_ANNOTATIONS = frozenset({"int", "float", "bool", "UUID", "Decimal"})
# Words naming a parameter that holds SQL text itself (a statement to explain, a clause to append); not "query",
# which as often names a search term.
SQL_FRAGMENT_WORDS = frozenset({"sql", "statement", "stmt", "subquery", "clause", "where"})
# `value.replace("'", "''")`: doubling the quote is how SQL escapes it inside a quoted literal or identifier.
ESCAPING_REPLACEMENTS = frozenset({("'", "''"), ('"', '""'), ("`", "``")})
SCHEMA_ATTRIBUTES = frozenset({"_meta", "__tablename__", "__table__", "db_table"})

DEFAULT_RECEIVER_NAMES = [
    "cursor", "cur", "curs", "conn", "connection", "con", "db", "database", "session", "pool", "tx", "txn",
    "transaction", "engine",
]


@dataclass(frozen=True)
class CompiledOptions:
    receiver_words: frozenset[str]


@functools.lru_cache(maxsize=16)
def _compile(options_json: str) -> CompiledOptions:
    names = json.loads(options_json).get("receiver-names", DEFAULT_RECEIVER_NAMES)
    if not isinstance(names, list) or not all(isinstance(name, str) and name.isidentifier() for name in names):
        raise ValueError("receiver-names must be a list of identifiers")
    return CompiledOptions(frozenset(name.lower() for name in names))


def compile_options(options: dict[str, Any]) -> CompiledOptions:
    return _compile(json.dumps(options, sort_keys=True))


@dataclass(frozen=True)
class Sql:
    """What is known about a value that may be SQL text.

    ``culprit`` is the first interpolated value not known to be constant (None: everything interpolated is
    constant); ``how`` names the construct that interpolated it; ``prefix`` is the literal text the value starts
    with (None when it does not start with a literal); ``origin`` is where the text was built, when that is not
    the sink's own argument; ``opaque`` marks a value the rule knows nothing about (a parameter passed whole).
    """

    culprit: cst.CSTNode | None = None
    how: str = ""
    prefix: str | None = None
    origin: cst.CSTNode | None = None
    opaque: bool = False


UNKNOWN_TEXT = "\x00"  # stands for text the rule cannot read in a prefix; never matches SQL_START
CONSTANT = Sql()
OPAQUE = Sql(opaque=True)


def _first_culprit(*values: Sql) -> Sql:
    for value in values:
        if value.culprit is not None:
            return value
    return CONSTANT


def _is_constant_name(name: str) -> bool:
    bare = name.strip("_")
    return bool(bare) and bare.upper() == bare and any(char.isalpha() for char in bare)


def _arguments(call: cst.Call) -> list[cst.Arg]:
    return list(call.args)


def _first_argument(call: cst.Call) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is None and not arg.star:
            return arg.value
        if arg.keyword is not None and arg.keyword.value in SQL_ARGUMENT_KEYWORDS:
            return arg.value
    return None


class SqlInjection(Check):
    rule_id = "RV105"
    triggers = ("exec", "text", "raw", "extra", "fetch", "read_sql", "SQL", "literal_column", "query", "iterate")
    options_compiler = staticmethod(compile_options)

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict[str, Any]) -> None:
        super().__init__(ctx, spec, options)
        # Per scope (a function node, or "module"): local name -> what it holds, and names checked against an
        # allow-list.
        self._values: dict[object, dict[str, Sql]] = {}
        self._checked: dict[object, set[str]] = {}
        # Per scope: names bound to a `quote_name` method (`qn = connection.ops.quote_name`, a migration's idiom).
        self._quoters: dict[object, set[str]] = {}
        # Comprehension targets while their comprehension is being evaluated: name -> the iterable's value.
        self._overlay: list[dict[str, Sql]] = []

    # -- scopes ---------------------------------------------------------------------------------------------------

    def _scope(self) -> object | None:
        """The scope whose locals are tracked: the innermost function, or the module body; None in a class body."""
        for frame in reversed(self.ctx.frames):
            if frame.kind in ("function", "lambda"):
                return frame.node
            if frame.kind == "class":
                return None
        return "module"

    def _scopes(self) -> list[object]:
        """The current scope and the enclosing function scopes whose locals a closure reads, innermost first."""
        found: list[object] = []
        for index in range(len(self.ctx.frames) - 1, -1, -1):
            frame = self.ctx.frames[index]
            if frame.kind in ("function", "lambda"):
                found.append(frame.node)
            elif frame.kind == "class" and not found:
                return []
        return found

    def _set(self, name: str, value: Sql) -> None:
        scope = self._scope()
        if scope is not None:
            self._values.setdefault(scope, {})[name] = value

    # -- visitors: tracking locals --------------------------------------------------------------------------------

    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            self._assign(target.target, original_node.value)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if original_node.value is not None:
            self._assign(original_node.target, original_node.value)

    def leave_AugAssign(self, original_node: cst.AugAssign) -> None:
        target = original_node.target
        if not isinstance(target, cst.Name):
            return
        if not isinstance(original_node.operator, (cst.AddAssign, cst.ModuloAssign)):
            self._set(target.value, OPAQUE)
            return
        current = self._name_value(target)
        added = self._value(original_node.value)
        how = "`+=`" if isinstance(original_node.operator, cst.AddAssign) else "`%` formatting"
        combined = _first_culprit(current, self._as_part(added, how))
        self._set(target.value, replace(combined, prefix=current.prefix, origin=combined.origin or original_node))

    def visit_For(self, node: cst.For) -> None:
        iterated = self._value(node.iter)
        for name in bound_names(node.target):
            self._set(name, CONSTANT if iterated.culprit is None and not iterated.opaque else OPAQUE)

    def leave_WithItem(self, original_node: cst.WithItem) -> None:
        if original_node.asname is not None:
            for name in bound_names(original_node.asname.name):
                self._set(name, OPAQUE)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        """``col in ALLOWED`` / ``col not in {"a", "b"}``: ``col`` is checked against an allow-list."""
        if not isinstance(node.left, cst.Name) or len(node.comparisons) != 1:
            return
        comparison = node.comparisons[0]
        if not isinstance(comparison.operator, (cst.In, cst.NotIn)):
            return
        collection = comparison.comparator
        if self._is_allow_list(collection):
            scope = self._scope()
            if scope is not None:
                self._checked.setdefault(scope, set()).add(node.left.value)

    def _is_allow_list(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, (cst.Set, cst.List, cst.Tuple, cst.Dict)):
            return self._value(node).culprit is None
        value = self._value(node)
        return value.culprit is None and not value.opaque

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            scope = self._scope()
            if scope is not None:  # as `_set`: class bodies are not tracked
                quoters = self._quoters.setdefault(scope, set())
                if isinstance(value, cst.Attribute) and value.attr.value == "quote_name":
                    quoters.add(target.value)
                else:
                    quoters.discard(target.value)
            evaluated = self._value(value)
            if evaluated.culprit is not None and evaluated.origin is None and self._is_built(value):
                evaluated = replace(evaluated, origin=value)
            self._set(target.value, evaluated)
            return
        names = bound_names(target)
        # `sql, params = queryset.query.sql_with_params()`: the compiler's SQL has placeholders for every value.
        generated = isinstance(value, cst.Call) and self._method_name(value) in GENERATED_SQL_METHODS | {"compile"}
        for name in names:
            self._set(name, CONSTANT if generated else OPAQUE)

    def _is_built(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, (cst.FormattedString, cst.BinaryOperation, cst.Call, cst.ConcatenatedString))

    # -- visitors: sinks ------------------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("append", "extend", "insert"):
            self._grow_list(node)
        if self.ctx.frames[-1].kind == "class":
            return
        sink = self._sink(node)
        if sink is None:
            return
        name, arguments, needs_keyword = sink
        for argument in arguments:
            value = self._value(argument)
            if value.culprit is None:
                continue
            if needs_keyword and not (value.prefix is not None and SQL_START.match(value.prefix)):
                continue
            self._report(node, name, value)
            return

    def _grow_list(self, call: cst.Call) -> None:
        """``conditions.append(f"{col} = %s")``: the list now holds what was appended."""
        receiver = call.func.value  # type: ignore[attr-defined]
        if not isinstance(receiver, cst.Name) or receiver.value not in self._current_values():
            return
        current = self._current_values()[receiver.value]
        added = [self._value(arg.value) for arg in call.args if arg.keyword is None]
        if call.func.attr.value == "extend":  # type: ignore[attr-defined]
            added = [self._element_value(arg.value) for arg in call.args if arg.keyword is None]
        elif call.func.attr.value == "insert":  # type: ignore[attr-defined]
            added = added[1:]
        combined = _first_culprit(current, *added)
        if combined.culprit is not None and combined.origin is None:
            combined = replace(combined, origin=call)
        self._set(receiver.value, replace(combined, prefix=None, opaque=current.opaque and combined.culprit is None))

    def _current_values(self) -> dict[str, Sql]:
        scope = self._scope()
        return self._values.get(scope, {}) if scope is not None else {}

    def _sink(self, call: cst.Call) -> tuple[str, list[cst.BaseExpression], bool] | None:
        """(the sink as written, the arguments holding SQL text, whether the text must start with an SQL keyword)."""
        qualified = self.ctx.qualified_name(call.func)
        written = shape(call.func)
        if qualified in TEXT_CONSTRUCTORS or qualified in READ_SQL:
            argument = _first_argument(call)
            return (written, [argument] if argument is not None else [], False)
        if not isinstance(call.func, cst.Attribute):
            return None
        method = call.func.attr.value
        chain = split_at_manager(qualified or self._orm_chain(call.func))
        if chain is not None or self._on_own_manager(call.func.value):
            if method == "raw":
                argument = _first_argument(call)
                return (written, [argument] if argument is not None else [], False)
            if method == "extra":
                return (written, self._extra_arguments(call), False)
            return None
        if method not in EXECUTE_METHODS:
            return None
        argument = _first_argument(call)
        if argument is None:
            return None
        receiver = qualified.rsplit(".", 1)[0] if qualified else None
        if receiver is not None and (".cursor()" in receiver or self._is_database_object(receiver)):
            return (written, [argument], False)
        if self._conventional_receiver(call.func.value):
            return (written, [argument], True)
        return None

    def _on_own_manager(self, receiver: cst.BaseExpression) -> bool:
        """``self.raw()`` / ``self.get_queryset().raw()`` in a method of a Manager or QuerySet subclass."""
        if isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute):
            receiver = receiver.func.value
        if not (isinstance(receiver, cst.Name) and receiver.value == "self"):
            return False
        owner = next((frame.node for frame in reversed(self.ctx.frames) if frame.kind == "class"), None)
        if not isinstance(owner, cst.ClassDef):
            return False
        return any(self.ctx.qualified_name(arg.value) in DJANGO_QUERYSET_CLASSES for arg in owner.bases)

    def _orm_chain(self, func: cst.BaseExpression) -> str:
        # `Order.objects.raw()` where the model is not imported under a resolvable name (star import, same file).
        return dotted_name(func) or shape(func)

    @staticmethod
    def _is_database_object(receiver: str) -> bool:
        return any(receiver == module or receiver.startswith(f"{module}.") for module in DATABASE_MODULES)

    def _conventional_receiver(self, receiver: cst.BaseExpression) -> bool:
        if isinstance(receiver, cst.Call):
            return isinstance(receiver.func, cst.Attribute) and receiver.func.attr.value == "cursor"
        if isinstance(receiver, cst.Attribute):
            last = receiver.attr.value
        elif isinstance(receiver, cst.Name):
            last = receiver.value
        else:
            return False
        word = last.lower().strip("_").rsplit("_", 1)[-1]
        return word in self.compiled_options().receiver_words

    def _extra_arguments(self, call: cst.Call) -> list[cst.BaseExpression]:
        """The SQL fragments of ``QuerySet.extra(where=[...], select={...}, tables=[...], order_by=[...])``."""
        found: list[cst.BaseExpression] = []
        for arg in call.args:
            if arg.keyword is None or arg.keyword.value not in EXTRA_SQL_KEYWORDS:
                continue
            value = arg.value
            if isinstance(value, (cst.List, cst.Tuple)):
                found += [element.value for element in value.elements]
            elif isinstance(value, cst.Dict):
                found += [element.value for element in value.elements if isinstance(element, cst.DictElement)]
            else:
                found.append(value)
        return found

    def _report(self, call: cst.Call, written: str, value: Sql) -> None:
        culprit = value.culprit
        assert culprit is not None
        culprit_text = shape(culprit) if isinstance(culprit, cst.BaseExpression) else "a value"
        message = (
            f"SQL text built with {value.how} from `{culprit_text}`, which is not a constant, reaches `{written}()`: "
            "pass values as bound parameters, and compose identifiers with `psycopg.sql.Identifier` or check them "
            "against an allow-list"
        )
        related = ((value.origin, "the SQL text is built here"),) if value.origin is not None else ()
        self.report(call, message, related=related)

    # -- evaluation -----------------------------------------------------------------------------------------------

    @staticmethod
    def _method_name(call: cst.Call) -> str | None:
        return call.func.attr.value if isinstance(call.func, cst.Attribute) else None

    def _as_part(self, value: Sql, how: str) -> Sql:
        """A value interpolated into SQL text: opaque values become culprits."""
        if value.culprit is not None:
            return value if value.how else replace(value, how=how)
        return value

    def _interpolated(self, node: cst.BaseExpression, how: str, value: Sql | None = None) -> Sql:
        value = self._value(node) if value is None else value
        if value.opaque:
            return Sql(culprit=node, how=how)
        if value.culprit is not None and not value.how:
            return replace(value, how=how)
        return value

    def _value(self, node: cst.BaseExpression) -> Sql:
        """What ``node`` holds, as far as SQL text is concerned."""
        if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary)):
            return Sql(prefix=string_value(node) if isinstance(node, cst.SimpleString) else None)
        if isinstance(node, cst.ConcatenatedString):
            left, right = self._value(node.left), self._value(node.right)  # type: ignore[arg-type]
            prefix = left.prefix
            if prefix is not None and string_value(node.left) is not None and right.prefix is not None:
                prefix += right.prefix
            return replace(_first_culprit(left, right), prefix=prefix)
        if isinstance(node, cst.FormattedString):
            return self._formatted(node)
        if isinstance(node, cst.Name):
            return self._name_value(node)
        if isinstance(node, cst.Attribute):
            return self._attribute_value(node)
        if isinstance(node, cst.BinaryOperation):
            return self._binary(node)
        if isinstance(node, cst.Call):
            return self._call_value(node)
        if isinstance(node, cst.Subscript):
            # `ALLOWED[key]` selects from constants; `request.GET["q"]` is as unknown as `request.GET`.
            return self._value(node.value)
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            return _first_culprit(*(self._interpolated(element.value, "") for element in node.elements))
        if isinstance(node, cst.Dict):
            return _first_culprit(*(
                self._interpolated(element.value, "") for element in node.elements if isinstance(element, cst.DictElement)
            ))
        if isinstance(node, cst.IfExp):
            body, orelse = self._value(node.body), self._value(node.orelse)
            if body.opaque or orelse.opaque:
                return _first_culprit(body, orelse) if (body.culprit or orelse.culprit) else OPAQUE
            return replace(_first_culprit(body, orelse), prefix=body.prefix if body.prefix == orelse.prefix else None)
        if isinstance(node, cst.BooleanOperation):
            left, right = self._value(node.left), self._value(node.right)
            if left.opaque or right.opaque:
                return _first_culprit(left, right) if (left.culprit or right.culprit) else OPAQUE
            return _first_culprit(left, right)
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            return self._comprehension(node, node.elt)
        if isinstance(node, cst.DictComp):
            return self._comprehension(node, node.value)
        if isinstance(node, cst.UnaryOperation):
            return self._value(node.expression)
        return OPAQUE

    def _formatted(self, node: cst.FormattedString) -> Sql:
        prefix: str = ""
        culprit = CONSTANT
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                prefix += part.value
                continue
            assert isinstance(part, cst.FormattedStringExpression)
            value = self._value(part.expression)
            if culprit.culprit is None and not self._numeric_spec(part):
                culprit = self._interpolated(part.expression, "an f-string", value)
            known = value.prefix is not None and value.culprit is None and not value.opaque
            prefix += value.prefix if known else UNKNOWN_TEXT  # type: ignore[operator]
        return replace(culprit, prefix=prefix)

    @staticmethod
    def _numeric_spec(part: cst.FormattedStringExpression) -> bool:
        spec = part.format_spec
        if not spec or not all(isinstance(piece, cst.FormattedStringText) for piece in spec):
            return False
        text = "".join(piece.value for piece in spec)  # type: ignore[union-attr]
        return bool(NUMERIC_FORMAT_SPEC.fullmatch(text))

    def _name_value(self, node: cst.Name) -> Sql:
        name = node.value
        if name in ("None", "True", "False"):
            return CONSTANT
        for overlay in reversed(self._overlay):
            if name in overlay:
                return overlay[name]
        for scope in self._scopes():
            if name in self._checked.get(scope, ()):
                return CONSTANT
            if name in self._values.get(scope, {}):
                return self._values[scope][name]
            frame = next((f for f in self.ctx.frames if f.node is scope), None)
            if frame is not None and name in frame.bindings:
                return self._parameter_value(frame.node, name)
        if name in self._checked.get("module", ()):
            return CONSTANT
        if _is_constant_name(name):
            return CONSTANT
        module_value = self._values.get("module", {}).get(name)
        if module_value is not None and self._scope() != "module":
            return module_value if module_value.culprit is None and not module_value.opaque else OPAQUE
        if module_value is not None:
            return module_value
        return OPAQUE

    @staticmethod
    def _parameter_value(function: cst.CSTNode | None, name: str) -> Sql:
        """A parameter annotated as a number cannot carry SQL; one named as SQL text (``sql``, ``where_clause``)
        is a fragment by contract, built (and reported, if need be) where the caller builds it."""
        if isinstance(function, cst.FunctionDef):
            params = function.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                if param.name.value != name:
                    continue
                annotation = param.annotation.annotation if param.annotation is not None else None
                if isinstance(annotation, cst.Name) and annotation.value in NUMERIC_ANNOTATIONS:
                    return CONSTANT
                if SQL_FRAGMENT_WORDS.intersection(name.lower().split("_")):
                    return CONSTANT
        return OPAQUE  # a parameter or a binding this rule does not follow

    def _attribute_value(self, node: cst.Attribute) -> Sql:
        if _is_constant_name(node.attr.value) and self._holds_constants(node.value):
            return CONSTANT
        if SCHEMA_ATTRIBUTES.intersection(shape(node).split(".")):
            return CONSTANT
        # An attribute of a constant (a loop variable over MODELS, a field from `_meta`) is schema, not input.
        base = self._value(node.value)
        return CONSTANT if base.culprit is None and not base.opaque else OPAQUE

    def _holds_constants(self, owner: cst.BaseExpression) -> bool:
        """Whether UPPER_CASE attributes of ``owner`` are constants: on ``self``/``cls``, a class, or an imported
        module or object (``settings.TABLE``), but not on a value such as ``request`` (``request.GET``)."""
        if isinstance(owner, cst.Name) and owner.value in ("self", "cls"):
            return True
        last = owner.attr.value if isinstance(owner, cst.Attribute) else owner.value if isinstance(owner, cst.Name) else ""
        if last[:1].isupper():
            return True
        return self.ctx.qualified_name(owner) is not None

    def _binary(self, node: cst.BinaryOperation) -> Sql:
        operator = node.operator
        left, right = self._value(node.left), self._value(node.right)
        textual = left.prefix is not None or right.prefix is not None
        if isinstance(operator, cst.Modulo):
            if left.prefix is None and left.opaque:
                return OPAQUE  # arithmetic, or a template the rule cannot read
            return replace(_first_culprit(left, self._percent_arguments(node, left)), prefix=left.prefix)
        if isinstance(operator, cst.Add) and textual:
            how = "`+` concatenation"
            prefix = left.prefix
            if prefix is not None and left.culprit is None and not left.opaque:
                prefix += right.prefix if right.prefix is not None and right.culprit is None else UNKNOWN_TEXT
            return replace(
                _first_culprit(self._interpolated(node.left, how, left), self._interpolated(node.right, how, right)),
                prefix=prefix,
            )
        if left.opaque or right.opaque:
            return OPAQUE
        # `["%s"] * len(ids)`, `"?, " * n`: repetition of constants keeps the prefix.
        return replace(_first_culprit(left, right), prefix=left.prefix if isinstance(operator, cst.Multiply) else None)

    def _percent_arguments(self, node: cst.BinaryOperation, template_value: Sql) -> Sql:
        """The values ``%`` interpolates, except those a numeric conversion (``%d``, ``%.2f``) turns into digits."""
        how = "`%` formatting"
        template = string_value(node.left)
        if template is None and template_value.culprit is None and not template_value.opaque:
            template = template_value.prefix
        conversions = [m for m in PERCENT_SPEC.finditer(template or "") if m.group("conversion") != "%"]
        right = node.right
        if isinstance(right, cst.Tuple) and template is not None and len(conversions) == len(right.elements):
            return _first_culprit(*(
                self._interpolated(element.value, how)
                for element, spec in zip(right.elements, conversions, strict=True)
                if spec.group("conversion") not in NUMERIC_CONVERSIONS
            ))
        if isinstance(right, cst.Dict) and template is not None:
            numeric = {m.group("key") for m in conversions if m.group("conversion") in NUMERIC_CONVERSIONS}
            values = []
            for element in right.elements:
                if not isinstance(element, cst.DictElement):
                    values.append(Sql(culprit=element.value, how=how))
                    continue
                key = string_value(element.key)
                if key is None or key not in numeric:
                    values.append(self._interpolated(element.value, how))
            return _first_culprit(*values)
        if isinstance(right, (cst.Tuple, cst.Dict)):
            return self._interpolated(right, how) if self._value(right).culprit is not None else CONSTANT
        if len(conversions) == 1 and conversions[0].group("conversion") in NUMERIC_CONVERSIONS:
            return CONSTANT
        return self._interpolated(right, how)

    def _call_value(self, node: cst.Call) -> Sql:
        qualified = self.ctx.qualified_name(node.func)
        if qualified in NUMERIC_CALLS:
            return CONSTANT
        method = self._method_name(node)
        if qualified is not None and (qualified.startswith(("sqlalchemy.", "psycopg.sql.", "psycopg2.sql."))):
            return CONSTANT  # SQLAlchemy constructs and psycopg compositions quote what they hold
        if method in GENERATED_SQL_METHODS or SCHEMA_ATTRIBUTES.intersection(shape(node.func).split(".")):
            return CONSTANT
        arguments = [arg for arg in node.args if not arg.star]
        if qualified in TRANSPARENT_CALLS:
            if any(arg.star for arg in node.args):
                return OPAQUE
            return self._all_of([arg.value for arg in arguments], None)
        if method == "quote_name" or self._is_quoter(node.func):
            # `connection.ops.quote_name(column)` only wraps its argument in quotes, escaping nothing.
            return self._all_of([arg.value for arg in arguments], None)
        if method is None:
            return OPAQUE
        if method == "replace" and len(arguments) == 2:
            pair = (string_value(arguments[0].value), string_value(arguments[1].value))
            if pair in ESCAPING_REPLACEMENTS:
                return CONSTANT
        receiver = node.func.value  # type: ignore[attr-defined]
        template = self._value(receiver)
        if method == "join":
            if template.opaque or not node.args:
                return OPAQUE
            elements = self._element_value(node.args[0].value)
            return replace(self._as_part(elements, "`str.join`"), prefix=None)
        if method == "format" and template.prefix is not None:
            values = [
                Sql(culprit=arg.value, how="`.format()`") if arg.star else self._interpolated(arg.value, "`.format()`")
                for arg in node.args
            ]
            return replace(_first_culprit(template, *values), prefix=template.prefix)
        if method in TRANSPARENT_METHODS:
            receiver_value = template
            if receiver_value.opaque:
                return OPAQUE
            if method == "get":
                # `ALLOWED.get(key)` selects; a default argument is returned as is.
                return self._all_of([arg.value for arg in arguments[1:]], receiver_value)
            return self._all_of([arg.value for arg in arguments], receiver_value)
        return OPAQUE

    def _is_quoter(self, func: cst.BaseExpression) -> bool:
        """A name bound to a `quote_name` method, in this scope, an enclosing function or the module."""
        return isinstance(func, cst.Name) and any(
            func.value in self._quoters.get(scope, ()) for scope in [*self._scopes(), "module"]
        )

    def _all_of(self, nodes: list[cst.BaseExpression], base: Sql | None) -> Sql:
        values = [self._value(node) for node in nodes]
        if any(value.opaque for value in values):
            return OPAQUE
        combined = _first_culprit(*([base] if base else []), *values)
        return replace(combined, prefix=base.prefix if base else (values[0].prefix if len(values) == 1 else None))

    def _element_value(self, node: cst.BaseExpression) -> Sql:
        """The elements of an iterable: a culprit when any element is not constant."""
        value = self._value(node)
        if value.opaque:
            return Sql(culprit=node, how="`str.join`")
        return value

    def _comprehension(self, node: cst.BaseExpression, element: cst.BaseExpression) -> Sql:
        overlay: dict[str, Sql] = {}
        self._overlay.append(overlay)
        try:
            clause = node.for_in  # type: ignore[attr-defined]
            while clause is not None:
                iterated = self._value(clause.iter)
                for name in bound_names(clause.target):
                    overlay[name] = (
                        CONSTANT if iterated.culprit is None and not iterated.opaque
                        else Sql(culprit=clause.iter, how=iterated.how) if iterated.opaque else iterated
                    )
                for condition in clause.ifs:
                    # `[c for c in columns if c in ALLOWED]`
                    test = condition.test
                    if (
                        isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name)
                        and len(test.comparisons) == 1 and isinstance(test.comparisons[0].operator, cst.In)
                        and self._is_allow_list(test.comparisons[0].comparator)
                    ):
                        overlay[test.left.value] = CONSTANT
                clause = clause.inner_for_in
            value = self._value(element)
            return Sql(culprit=element, how="") if value.opaque else value
        finally:
            self._overlay.pop()
