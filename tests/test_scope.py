"""The scope tracker and name resolution every check relies on."""

from __future__ import annotations

import textwrap

import libcst as cst

from reviewer.checks.base import FileContext, ScopeTracker, walk


class CallNames(cst.BatchableCSTVisitor):
    """Records, for each call, its resolved name and whether it is in async context."""

    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.calls: list[tuple[str, str | None, bool]] = []

    def visit_Call(self, node: cst.Call) -> None:
        written = cst.Module([]).code_for_node(node.func)
        self.calls.append((written, self.ctx.qualified_name(node.func), self.ctx.in_async_function))


def resolve(code: str, module: str = "proj.app.views", is_package: bool = False) -> dict[str, tuple[str | None, bool]]:
    ctx = FileContext("app/views.py", module, is_package, code)
    probe = CallNames(ctx)
    walk(cst.parse_module(textwrap.dedent(code)), [probe], ScopeTracker(ctx))
    return {written: (name, is_async) for written, name, is_async in probe.calls}


def test_imports_aliases_and_from_imports() -> None:
    calls = resolve("""
        import requests as r
        import os.path
        from subprocess import run as sh
        from . import helpers
        from ..core.db import connect
        r.get(1); os.path.join(1); sh(1); helpers.go(); connect(); open(1)
    """)
    assert calls["r.get"][0] == "requests.get"
    assert calls["os.path.join"][0] == "os.path.join"
    assert calls["sh"][0] == "subprocess.run"
    assert calls["helpers.go"][0] == "proj.app.helpers.go"
    assert calls["connect"][0] == "proj.core.db.connect"
    assert calls["open"][0] == "builtins.open"


def test_relative_import_from_a_package_init() -> None:
    calls = resolve("from .models import Order\nOrder()\n", module="shop", is_package=True)
    assert calls["Order"][0] == "shop.models.Order"
    # Above the top-level package: Python refuses it, and so does the resolver.
    assert resolve("from ..core import db\ndb.go()\n", module="app.views")["db.go"][0] is None


def test_values_bound_from_calls() -> None:
    calls = resolve("""
        import psycopg2, requests
        def f():
            conn = psycopg2.connect()
            cur = conn.cursor()
            cur.execute(1)
            with requests.Session() as s:
                s.get(1)
    """)
    assert calls["cur.execute"][0] == "psycopg2.connect().cursor().execute"
    assert calls["s.get"][0] == "requests.Session().get"


def test_parameters_loop_and_comprehension_targets_shadow() -> None:
    calls = resolve("""
        import requests
        session = requests.Session()
        def f(requests, items):
            requests.get(1)
            [session.get(u) for session in items]
            for session in items:
                session.post(1)
        session.put(1)
    """)
    assert calls["requests.get"][0] is None
    assert calls["session.get"][0] is None
    assert calls["session.post"][0] is None
    assert calls["session.put"][0] == "requests.Session().put"  # comprehension targets do not leak


def test_attributes_of_self_whatever_the_method_order() -> None:
    calls = resolve("""
        import httpx
        class Client:
            async def fetch(self):
                self.http.get(1)
            def __init__(self):
                self.http = httpx.Client()
            class Inner:
                def run(self):
                    self.http.post(1)
    """)
    assert calls["self.http.get"] == ("httpx.Client().get", True)
    assert calls["self.http.post"][0] is None  # a nested class's self is another object


def test_async_context() -> None:
    calls = resolve("""
        import time
        def deco(x): return x
        async def handler(delay=time.monotonic()):
            time.sleep(1)
            def sync_helper(): time.time()
            lambda: time.perf_counter()
            [time.ctime() for _ in range(3)]
            @deco(time.gmtime())
            def decorated(): pass
            class Local:
                time.localtime()
    """)
    assert calls["time.sleep"][1] is True
    assert calls["time.ctime"][1] is True  # a comprehension runs in its function
    assert calls["time.gmtime"][1] is True  # decorators run in the enclosing (async) function
    assert calls["time.monotonic"][1] is False  # defaults run where the function is defined
    assert calls["time.time"][1] is False
    assert calls["time.perf_counter"][1] is False
    assert calls["time.localtime"][1] is False


def test_module_level_definitions_shadow_builtins() -> None:
    calls = resolve("def open(x): pass\nopen(1)\n")
    assert calls["open"][0] == "proj.app.views.open"
    assert resolve("def open(x): pass\nopen(1)\n", module="")["open"][0] == "open"


class LoopProbe(cst.BatchableCSTVisitor):
    """Records, for each call, the kind of the innermost loop it runs once per iteration of."""

    def __init__(self, ctx: FileContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.loops: dict[str, str | None] = {}

    def visit_Call(self, node: cst.Call) -> None:
        loop = self.ctx.current_loop
        self.loops[cst.Module([]).code_for_node(node.func)] = type(loop).__name__ if loop is not None else None


def loops_of(code: str) -> dict[str, str | None]:
    ctx = FileContext("a.py", "a", False, code)
    probe = LoopProbe(ctx)
    walk(cst.parse_module(textwrap.dedent(code)), [probe], ScopeTracker(ctx))
    return probe.loops


def test_what_runs_once_per_iteration() -> None:
    loops = loops_of("""
        for row in rows():
            per_row()
            def later(): defined_in_loop()
            handler = lambda: lambda_body()
        else:
            after_loop()
        while keep_going():
            in_while()
        [elt() for a in outer() if cond() for b in inner()]
        {key(): value() for c in source()}
        outside()
    """)
    assert loops["per_row"] == "For" and loops["rows"] is None
    assert loops["defined_in_loop"] is None and loops["lambda_body"] is None
    assert loops["after_loop"] is None
    assert loops["keep_going"] == "While" and loops["in_while"] == "While"
    assert loops["elt"] == loops["cond"] == loops["inner"] == "ListComp"
    assert loops["outer"] is None
    assert loops["key"] == loops["value"] == "DictComp" and loops["source"] is None
    assert loops["outside"] is None


def test_a_remembered_name_follows_later_bindings() -> None:
    """Answers are remembered per node while bindings stay the same; binding a name, or entering or leaving a
    scope, makes the same node resolve afresh."""
    from reviewer.checks.base import UNKNOWN, Frame

    ctx = FileContext("app/views.py", "app.views", False, "")
    node = cst.parse_expression("client.get")
    assert ctx.qualified_name(node) is None
    ctx.bind("client", "requests")
    assert ctx.qualified_name(node) == "requests.get"
    ctx.push_frame(Frame("function", None))
    ctx.bind("client", UNKNOWN)
    assert ctx.qualified_name(node) is None
    ctx.pop_frame()
    assert ctx.qualified_name(node) == "requests.get"
    ctx.bind("client", "httpx")
    assert ctx.qualified_name(node) == "httpx.get"


class _Recorder(ScopeTracker):
    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.seen: list[int] = []

    def enter(self, node: cst.CSTNode) -> None:
        self.seen.append(id(node))
        super().enter(node)


class _EveryNode(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        from reviewer.checks.base import UNVISITED_NODE_TYPES

        if not isinstance(node, UNVISITED_NODE_TYPES):
            self.seen.append(id(node))
        return True


def test_the_traversal_reaches_every_node_libcst_does_but_whitespace_and_punctuation() -> None:
    """The walk reads only the fields libcst's annotations say can hold a visited node: on every fixture and on
    reviewer's own sources, it reaches exactly the nodes libcst's visitor does, less whitespace and punctuation."""
    from pathlib import Path

    here = Path(__file__).parent
    files = [*sorted((here / "fixtures").rglob("*.py")), *sorted((here.parent / "src" / "reviewer").rglob("*.py"))]
    checked = 0
    for path in files:
        try:
            module = cst.parse_module(path.read_bytes())
        except cst.ParserSyntaxError:
            continue  # fixtures of broken files
        ours = _Recorder(FileContext(path.name, "m", False, ""))
        walk(module, [], ours)
        theirs = _EveryNode()
        module.visit(theirs)
        assert sorted(ours.seen) == sorted(theirs.seen), path
        checked += 1
    assert checked > 100


def test_the_node_classes_read_by_exact_type_have_no_subclasses() -> None:
    """The name readers in checks/base.py compare exact types, which is only right while libcst has no subclass
    of these."""
    for node_class in (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Tuple, cst.List, cst.StarredElement):
        assert node_class.__subclasses__() == [], node_class


def test_descendants_match_libcsts_visitor_and_skip_inside_the_given_types() -> None:
    from reviewer.checks.base import UNVISITED_NODE_TYPES, descendants

    module = cst.parse_module(textwrap.dedent("""\
        @route("/x")
        def view(request, limit=default()):
            def inner():
                return hidden()
            if request.GET:
                return first(lambda: nested())
            return [second(x) for x in items] or third
    """))
    function = module.body[0]
    everything = _EveryNode()
    function.visit(everything)
    assert sorted(id(n) for n in descendants(function)) == sorted(everything.seen[1:])
    calls = [cst.Module([]).code_for_node(n.func) for n in descendants(function, skip=(cst.FunctionDef, cst.Lambda))
             if isinstance(n, cst.Call)]
    assert sorted(calls) == ["default", "first", "route", "second"]
    assert not any(isinstance(n, UNVISITED_NODE_TYPES) for n in descendants(module))
