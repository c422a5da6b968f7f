"""RV104 unbounded-load: a whole table or result set materialized in memory where a count, an existence test or
streaming would do.

Reported, each only where the pattern is unambiguous:

- ``len(qs)`` and the truthiness of a queryset (``if qs:``, ``not qs``, ``bool(qs)``) for a Django queryset built
  from a model's manager (``Order.objects.filter(...)``, directly or through a local name). A local queryset that
  the function also uses in any other way (iterates it, indexes it, passes it on, returns it, calls ``first()``
  on it) is not reported: evaluating it once fills its result cache, and the later use reads the cache, so
  ``if orders: for order in orders: ...`` costs one query, which ``exists()`` plus iteration would double. Only
  querysets that are probed and otherwise left alone, or that are only refined into new queries
  (``qs.update()``, ``qs.filter()``), are reported. A sliced queryset (``qs[:10]``) is bounded.
- A whole table (a manager chain with no ``filter``/``exclude``/slice: ``all()``, ``order_by()``, ``only()``...)
  iterated or passed to ``list()``/``tuple()``/``set()``/``sorted()`` in a background job: a module under
  ``management/commands/``, a module named ``tasks`` or ``jobs``, or a function decorated as a task (Celery
  ``shared_task``/``app.task``, Dramatiq, RQ, Huey). Request handlers are RV103's.
- ``cursor.fetchall()`` (or ``result.fetchall()``, ``conn.execute(...).fetchall()``) after ``execute()`` of a
  literal ``SELECT`` with a ``FROM`` and neither ``WHERE``, ``LIMIT``/``FETCH``/``TOP``, ``GROUP BY`` nor
  ``DISTINCT``, whose select list is not only aggregates and which does not read a system catalog.
- ``pandas.read_sql_table()`` and ``read_sql()``/``read_sql_query()`` of such a literal, without ``chunksize=``.
- An upload read whole without a size argument, in a function that never looks at a size: Flask/Werkzeug
  ``request.files[...]`` (and ``.stream``), Django ``request.FILES[...]``, and FastAPI/Starlette ``UploadFile``
  parameters (``await file.read()``, ``file.file.read()``). For Flask the finding is kept only when the project
  sets no ``MAX_CONTENT_LENGTH``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import (
    Check,
    FileContext,
    dotted_name,
    keyword_argument,
    pattern_to_regex,
    positional_arguments,
    shape,
    string_value,
)
from reviewer.checks.django_orm import (
    OrmValue,
    is_class_name,
    orm_value,
    split_at_manager,
)
from reviewer.fixes import NodeFix, code_of, replace

# Manager and queryset steps that keep every row of the table.
WHOLE_TABLE_STEPS = frozenset({
    "all()", "order_by()", "select_related()", "prefetch_related()", "only()", "defer()", "values()",
    "values_list()", "annotate()", "alias()", "using()", "reverse()",
})
# Builtins that load all of an iterable at once.
LOADING_BUILTINS = frozenset({"builtins.list", "builtins.tuple", "builtins.set", "builtins.frozenset",
                              "builtins.sorted"})
# Queryset methods whose result may come from a queryset's result cache: after `if qs:` they reuse the rows.
CACHE_READING_METHODS = frozenset({"first", "last"})

TASK_DECORATORS = re.compile(pattern_to_regex(
    "{celery.{shared_task,task},**.Celery().{task,periodic_task},**.{app,celery,celery_app}.{task,periodic_task},"
    "dramatiq.actor,django_rq.job,rq.decorators.job,rq.job,"
    "huey.contrib.djhuey.{task,db_task,periodic_task,db_periodic_task},**.huey.{task,periodic_task}}"
))
JOB_MODULE_SEGMENTS = frozenset({"tasks", "jobs"})

UPLOAD_CLASSES = frozenset({
    "fastapi.UploadFile", "fastapi.datastructures.UploadFile", "starlette.datastructures.UploadFile",
})
FLASK_UPLOADS = re.compile(pattern_to_regex("{flask,quart}.request.files{[],.get()}{,.stream}"))
# Identifiers that show the function considers how big the upload is.
SIZE_WORDS = re.compile(r"size|length|max_?bytes", re.IGNORECASE)

PANDAS_SQL_READERS = re.compile(pattern_to_regex("pandas{,.io.sql}.{read_sql,read_sql_query,read_sql_table}"))
SQL_TEXT_CALLS = frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text"})

_SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_SQL_BOUNDS = re.compile(r"\b(where|limit|fetch|top|offset|group\s+by|distinct|rownum)\b")
_SQL_FROM = re.compile(r"\bfrom\s+(?P<table>[\w.\"`\[\]]+)")
_AGGREGATE = re.compile(r"^(count|sum|min|max|avg|bool_and|bool_or|every|string_agg|array_agg|group_concat)\s*\(")
# System catalogs and one-row bookkeeping tables.
_SYSTEM_CATALOG = re.compile(
    r"^[\"`\[]?(pg_|information_schema|sqlite_(master|schema)|sys\.|mysql\.|alembic_version\b|django_migrations\b)"
)
_IDENTIFIER = re.compile(r"[A-Za-z_][\w.]*")


def unbounded_select(sql: str) -> str | None:
    """The table a literal ``SELECT`` reads whole (no ``WHERE``, ``LIMIT`` or grouping), else None."""
    text = " ".join(_SQL_COMMENT.sub(" ", sql).split()).lower()
    if not text.startswith("select ") or _SQL_BOUNDS.search(text):
        return None
    source = next((m for m in _SQL_FROM.finditer(text) if _depth(text, m.start()) == 0), None)
    if source is None or _SYSTEM_CATALOG.match(source["table"]):
        return None
    columns = _split_top_level(text[len("select "): source.start()])
    if all(_AGGREGATE.match(column.strip()) for column in columns):
        return None  # one row
    return source["table"].strip("\"`[]")


def _depth(text: str, position: int) -> int:
    return text.count("(", 0, position) - text.count(")", 0, position)


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _literal(node: cst.BaseExpression | None) -> str | None:
    """A string literal's value, implicit concatenations included (f-strings are not literals)."""
    if isinstance(node, cst.ConcatenatedString):
        left, right = _literal(node.left), _literal(node.right)
        return None if left is None or right is None else left + right
    return string_value(node)


# -- what a function does with its names, read before its body is visited -----------------------------------------


@dataclass
class FunctionUse:
    """What a function body does with its local names (nested functions included, which only makes it more
    careful)."""

    reuses: set[str] = field(default_factory=set)  # names used in a way that may read a queryset's cache
    mentions_size: bool = False


def _test_names(expression: cst.BaseExpression) -> list[cst.Name]:
    """The names whose truth value a test takes: ``qs``, ``not qs``, ``a and not qs``."""
    if isinstance(expression, cst.Name):
        return [expression]
    if isinstance(expression, cst.UnaryOperation) and isinstance(expression.operator, cst.Not):
        return _test_names(expression.expression)
    if isinstance(expression, cst.BooleanOperation):
        return _test_names(expression.left) + _test_names(expression.right)
    if isinstance(expression, cst.Call) and isinstance(expression.func, cst.Name) \
            and expression.func.value == "bool" and len(expression.args) == 1:
        return _test_names(expression.args[0].value)
    return []


class _TruthTests:
    """Calls ``_test`` with every expression used for its truth value: ``if``, ``while``, conditional
    expressions, ``assert`` and ``not``."""

    def _test(self, expression: cst.BaseExpression) -> None:
        raise NotImplementedError

    def visit_If(self, node: cst.If) -> None:
        self._test(node.test)

    def visit_While(self, node: cst.While) -> None:
        self._test(node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._test(node.test)

    def visit_Assert(self, node: cst.Assert) -> None:
        self._test(node.test)

    def visit_UnaryOperation(self, node: cst.UnaryOperation) -> None:
        if isinstance(node.operator, cst.Not):
            self._test(node.expression)


class _UseReader(_TruthTests, cst.CSTVisitor):
    """Sorts every name occurrence of a function body: a probe (``len(x)``, a test of ``x``), a method call on it
    or a rebinding (neither reads the cache), or anything else (may read the cache)."""

    def __init__(self) -> None:
        self.names: list[cst.Name] = []
        self.neutral: set[int] = set()  # ids of Name nodes that do not read a queryset's cache
        self.mentions_size = False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node)
        if SIZE_WORDS.search(node.value):
            self.mentions_size = True

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if "content-length" in node.value.lower():
            self.mentions_size = True

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.neutral.add(id(node.attr))
        if isinstance(node.value, cst.Name) and node.attr.value not in CACHE_READING_METHODS:
            self.neutral.add(id(node.value))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self.neutral.add(id(node.keyword))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.neutral.add(id(node.target))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self.neutral.add(id(node.target))

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value in ("len", "bool") and len(node.args) == 1:
            self.neutral.add(id(node.func))
            if isinstance(node.args[0].value, cst.Name):
                self.neutral.add(id(node.args[0].value))

    def _test(self, expression: cst.BaseExpression | None) -> None:
        if expression is not None:
            self.neutral.update(id(name) for name in _test_names(expression))


    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.neutral.add(id(node.name))

    def visit_Param(self, node: cst.Param) -> None:
        self.neutral.add(id(node.name))


def read_function(node: cst.FunctionDef) -> FunctionUse:
    reader = _UseReader()
    node.body.visit(reader)
    reuses = {name.value for name in reader.names if id(name) not in reader.neutral}
    return FunctionUse(reuses=reuses, mentions_size=reader.mentions_size)


# -- the check ------------------------------------------------------------------------------------------------------


class UnboundedLoad(_TruthTests, Check):
    rule_id = "RV104"
    triggers = ("objects", "_default_manager", "fetchall", "read(", "read_sql")
    requires_facts = ("settings",)  # Flask's MAX_CONTENT_LENGTH bounds every upload

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict) -> None:
        super().__init__(ctx, spec, options)
        self._uses: dict[cst.CSTNode, FunctionUse] = {}
        # Per function (None: module level): names the shared resolver leaves unnamed -> what this rule knows
        # they hold (querysets on models it cannot resolve; uploads; executed SQL; SQL strings).
        self._querysets: dict[cst.CSTNode | None, dict[str, str]] = {}
        self._uploads: dict[cst.CSTNode | None, dict[str, str]] = {}
        self._executed: dict[cst.CSTNode | None, dict[str, str]] = {}
        self._sql_strings: dict[cst.CSTNode | None, dict[str, str]] = {}
        self._done: set[cst.CSTNode] = set()  # probed values already reported (`if not qs` is seen twice)
        self._awaited: set[cst.CSTNode] = set()
        self._job_module = self._is_job_module(ctx.module)

    @staticmethod
    def _is_job_module(module: str) -> bool:
        if ".management.commands." in f".{module}.":
            return True
        # `app/tasks.py`, not every module of an app that happens to be named `tasks`.
        return module.rsplit(".", 1)[-1] in JOB_MODULE_SEGMENTS

    # -- names ----------------------------------------------------------------------------------------------------

    def _own(self, table: dict[cst.CSTNode | None, dict[str, str]]) -> dict[str, str]:
        return table.setdefault(self.ctx.function_node, {})

    def _name_of(self, node: cst.BaseExpression) -> str | None:
        return self.ctx.qualified_name(node, self._root_name)

    def _root_name(self, node: cst.Name) -> str | None:
        found, _ = self.ctx.lookup(node.value)
        if not found:
            # A star import or a class defined further down: a CapWords name is taken as a model class.
            return node.value if is_class_name(node.value) else None
        return self._own(self._querysets).get(node.value)

    def _queryset_steps(self, node: cst.BaseExpression) -> list[str] | None:
        """The steps after the manager when ``node`` is an unsliced queryset, else None."""
        name = self._name_of(node)
        chain = split_at_manager(name) if name else None
        if chain is None or not chain[1] or orm_value(chain[1]) is not OrmValue.QUERYSET:
            return None
        steps = chain[1]
        if any("[" in step for step in steps) or "none()" in steps:
            return None
        return steps

    def _local_use(self) -> FunctionUse | None:
        """How the current function uses its names, read on first need (most functions never need it)."""
        key = self.ctx.function_node
        if not isinstance(key, cst.FunctionDef):
            return None
        if key not in self._uses:
            self._uses[key] = read_function(key)
        return self._uses[key]

    # -- bookkeeping ----------------------------------------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        uploads: dict[str, str] = {}
        for param in (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params):
            if param.annotation is not None and self._is_upload_annotation(param.annotation.annotation):
                uploads[param.name.value] = "UploadFile"
        self._uploads[node] = uploads

    def _is_upload_annotation(self, annotation: cst.BaseExpression) -> bool:
        """``UploadFile``, ``UploadFile | None``, ``Optional[UploadFile]``, ``Annotated[UploadFile, File()]``; not a
        list of them."""
        if isinstance(annotation, cst.BinaryOperation):
            return self._is_upload_annotation(annotation.left) or self._is_upload_annotation(annotation.right)
        if isinstance(annotation, cst.Subscript):
            container = (self.ctx.qualified_name(annotation.value) or "").rsplit(".", 1)[-1]
            if container not in ("Optional", "Annotated", "Union"):
                return False
            first = annotation.slice[0].slice if annotation.slice else None
            return isinstance(first, cst.Index) and self._is_upload_annotation(first.value)
        return self.ctx.qualified_name(annotation) in UPLOAD_CLASSES

    def visit_Await(self, node: cst.Await) -> None:
        self._awaited.add(node.expression)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            self._record(target.target, original_node.value)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        self._record(original_node.target, original_node.value)

    def _record(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if not isinstance(target, cst.Name):
            return
        local = target.value
        for table in (self._querysets, self._uploads, self._executed, self._sql_strings):
            self._own(table).pop(local, None)
        if value is None:
            return
        if self.ctx.qualified_name(value) is None:
            name = self._name_of(value)
            if name is not None and split_at_manager(name) is not None:
                self._own(self._querysets)[local] = name
        upload = self._upload_of(value)
        if upload is not None:
            self._own(self._uploads)[local] = upload
        literal = _literal(value)
        if literal is not None:
            self._own(self._sql_strings)[local] = literal
        if isinstance(value, cst.Call):
            sql = self._executed_sql(value)
            if sql is not None:
                self._own(self._executed)[local] = sql

    # -- probes: len(qs), if qs -------------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        name = self._name_of(node.func)
        if name in ("builtins.len", "builtins.bool") and len(node.args) == 1 and not node.args[0].star:
            self._probe(node.args[0].value, node, "len" if name == "builtins.len" else "bool")
        elif name in LOADING_BUILTINS and node.args and not node.args[0].star and node.args[0].keyword is None:
            self._whole_table(node.args[0].value, shape(node.func))
        elif name is not None and PANDAS_SQL_READERS.fullmatch(name):
            self._pandas(node, name)
        if isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            if method == "execute":
                sql = self._executed_sql(node)
                receiver = dotted_name(node.func.value)
                if sql is not None and receiver is not None:
                    self._own(self._executed)[receiver] = sql
            elif method == "fetchall" and not node.args:
                self._fetchall(node)
            elif method == "read":
                self._upload_read(node)

    def _test(self, expression: cst.BaseExpression) -> None:
        for probed in _test_names(expression):
            self._probe(probed, probed, "test")
        if isinstance(expression, cst.Call) and not _test_names(expression):
            self._probe(expression, expression, "test")
        elif isinstance(expression, cst.UnaryOperation) and isinstance(expression.expression, cst.Call):
            self._probe(expression.expression, expression.expression, "test")


    def _probe(self, value: cst.BaseExpression, where: cst.CSTNode, how: str) -> None:
        if value in self._done or not isinstance(value, (cst.Name, cst.Call)):
            return
        if self._queryset_steps(value) is None:
            return
        if isinstance(value, cst.Name):
            # Reading the whole function is the costly part: only for a name that holds a queryset.
            use = self._local_use()
            if use is None or value.value in use.reuses:
                return
        self._done.add(value)
        written = shape(value)
        if how == "len":
            message = (f"`len({written})` loads every row of the queryset to count them: use `{written}.count()`, "
                       "which counts in the database")
        else:
            message = (f"testing the truth of `{written}` loads every row of the queryset: use "
                       f"`{written}.exists()`, which fetches at most one")
        if isinstance(value, cst.Name):
            message += " (if the rows are needed afterwards, iterate the same queryset: its cache is reused)"
        # `len(qs)` -> `qs.count()`, `bool(qs)` -> `qs.exists()`, `if qs:` -> `if qs.exists():`. The probed value
        # is a name or a call, so the method call binds to all of it.
        method = "count" if how == "len" else "exists"
        fix = NodeFix(f"Use `{written}.{method}()`", (replace(where, f"{code_of(value)}.{method}()"),))
        self.report(where, message, fix=fix)

    # -- whole tables in jobs ---------------------------------------------------------------------------------------

    def _in_job(self) -> bool:
        if self._job_module:
            return True
        for frame in self.ctx.frames:
            if frame.kind == "function" and isinstance(frame.node, cst.FunctionDef):
                for decorator in frame.node.decorators:
                    expression = decorator.decorator
                    if isinstance(expression, cst.Call):
                        expression = expression.func
                    name = self.ctx.qualified_name(expression)
                    if name is not None and TASK_DECORATORS.fullmatch(name):
                        return True
        return False

    def visit_For(self, node: cst.For) -> None:
        self._whole_table(node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._whole_table(node.iter)

    def _whole_table(self, iterable: cst.BaseExpression, loader: str | None = None) -> None:
        """``loader``: the builtin the rows are passed to; None when they are iterated."""
        if self.ctx.function_frame is None or not self._in_job():
            return
        steps = self._queryset_steps(iterable)
        if steps is None or not set(steps) <= WHOLE_TABLE_STEPS:
            return
        written = shape(iterable)
        how = f"`{loader}({written})`" if loader else f"iterating `{written}`"
        self.report(
            iterable,
            f"{how} loads the whole table into memory at once in a background job: stream it with "
            f"`{written}.iterator(chunk_size=2000)` or process it in primary-key batches",
        )

    # -- literal SQL ------------------------------------------------------------------------------------------------

    def _sql_of(self, node: cst.BaseExpression | None) -> str | None:
        """The text of a SQL argument: a literal, a local or module-level name bound to one, ``text("...")``."""
        if node is None:
            return None
        literal = _literal(node)
        if literal is not None:
            return literal
        if isinstance(node, cst.Call) and self.ctx.qualified_name(node.func) in SQL_TEXT_CALLS and node.args:
            return self._sql_of(node.args[0].value)
        if isinstance(node, cst.Name):
            for key in (self.ctx.function_node, None):
                if node.value in self._sql_strings.get(key, {}):
                    return self._sql_strings[key][node.value]
        return None

    def _executed_sql(self, call: cst.Call) -> str | None:
        if not (isinstance(call.func, cst.Attribute) and call.func.attr.value in ("execute", "exec_driver_sql")):
            return None
        arguments = positional_arguments(call)
        return self._sql_of(arguments[0]) if arguments else None

    def _fetchall(self, call: cst.Call) -> None:
        receiver = call.func.value
        sql = self._executed_sql(receiver) if isinstance(receiver, cst.Call) else None
        if sql is None:
            written = dotted_name(receiver)
            sql = self._own(self._executed).get(written) if written is not None else None
        table = unbounded_select(sql) if sql is not None else None
        if table is None:
            return
        self.report(
            call,
            f"`{shape(call.func)}()` loads every row of `{table}` (the query has neither `WHERE` nor `LIMIT`): "
            "iterate the cursor or use `fetchmany(n)` in a loop, or bound the query",
        )

    def _pandas(self, call: cst.Call, name: str) -> None:
        if keyword_argument(call, "chunksize") is not None:
            return
        arguments = positional_arguments(call)
        if name.endswith("read_sql_table"):
            source = keyword_argument(call, "table_name") or (arguments[0] if arguments else None)
            table = _literal(source) if source is not None else None
            table = table or (shape(source) if source is not None else "the table")
        else:
            sql = self._sql_of(keyword_argument(call, "sql") or (arguments[0] if arguments else None))
            if sql is None:
                return
            # read_sql("orders", engine) reads the table named so.
            table = sql.strip() if _IDENTIFIER.fullmatch(sql.strip()) else unbounded_select(sql)
            if table is None:
                return
        self.report(
            call,
            f"`{shape(call.func)}()` loads all of `{table}` into one DataFrame: pass `chunksize=` and process the "
            "chunks, or select only the rows needed",
        )

    # -- uploads ----------------------------------------------------------------------------------------------------

    def _upload_of(self, node: cst.BaseExpression) -> str | None:
        """What kind of upload ``node`` is: ``Flask``, ``Django`` or ``UploadFile``; else None."""
        name = self.ctx.qualified_name(node)
        if name is not None and FLASK_UPLOADS.fullmatch(name):
            return "Flask"
        if isinstance(node, cst.Subscript):
            container = node.value
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "get":
            container = node.func.value
        elif isinstance(node, cst.Attribute) and node.attr.value in ("file", "stream"):
            return self._upload_of(node.value)
        elif isinstance(node, cst.Name):
            return self._own(self._uploads).get(node.value)
        else:
            return None
        # Django: `request.FILES[...]` on a view's request parameter.
        if isinstance(container, cst.Attribute) and container.attr.value == "FILES" \
                and isinstance(container.value, cst.Name) and self._is_parameter(container.value.value):
            return "Django"
        return None

    def _is_parameter(self, name: str) -> bool:
        frame = self.ctx.function_frame
        if frame is None or not isinstance(frame.node, cst.FunctionDef):
            return False
        params = frame.node.params
        return any(p.name.value == name for p in (*params.posonly_params, *params.params, *params.kwonly_params))

    def _upload_read(self, call: cst.Call) -> None:
        if call.args:
            return  # read(n) is bounded
        use = self._local_use()
        if use is None or use.mentions_size:
            return
        receiver = call.func.value
        kind = self._upload_of(receiver)
        if kind is None:
            return
        if kind == "UploadFile" and not isinstance(receiver, cst.Attribute) and call not in self._awaited:
            return  # UploadFile.read is a coroutine: unawaited, it reads nothing
        written = shape(call.func)
        if kind == "Django":
            advice = "iterate `.chunks()` and stop at a size limit, or check `.size` first"
        elif kind == "Flask":
            advice = "set `MAX_CONTENT_LENGTH`, or read in chunks with `read(n)` and stop at a limit"
        else:
            advice = "check `.size` first, or read in chunks with `read(n)` and stop at a limit"
        message = f"`{written}()` reads an uploaded file into memory whatever its size: {advice}"
        requires = ("settings-unset", "MAX_CONTENT_LENGTH") if kind == "Flask" else None
        self.report(call, message, requires=requires)

