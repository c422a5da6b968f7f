"""RV401 error-details-in-response: the text of an unexpected exception, or a stack trace, sent to the client.

A source is exception text: ``str(e)``, ``repr(e)``, ``f"{e}"``, ``"%s" % e``, ``"{}".format(e)``, ``e.args``,
``e.message``, ``e.orig`` (and other attributes that carry a driver's or the OS's words), and stack traces
(``traceback.format_exc()`` and friends). ``e`` is the variable of an ``except ... as e`` clause, or the exception
parameter of a function registered as an error handler (Flask ``errorhandler``, FastAPI/Starlette
``exception_handler``, a DRF ``exception_handler(exc, context)``). Values built from a source (containers,
concatenations, ``json.dumps``, string methods, translations) and local names assigned from one carry it on.

A sink is a response: the constructors and helpers of Django, DRF, Flask, FastAPI/Starlette, aiohttp, Quart,
Sanic and Django Ninja (``JsonResponse``, ``Response``, ``jsonify``, ``HTTPException(detail=...)``,
``web.json_response``, ``render``...), and values returned from a route function whose framework sends returned
data as the body (Flask, Quart, FastAPI, Ninja routes and Flask-RESTful/RESTX resources).

Whether exception text is internal depends on what was caught, as the ``except`` clause or the handler
registration names it: only types matching the ``internal-exceptions`` patterns (``Exception``, OS and
programming errors, database, HTTP-client, subprocess and cloud SDK errors) are sources. Validation errors,
HTTP exceptions and the application's own exception classes carry messages written for the client and are not.
``isinstance(e, T)`` tests narrow a broad ``e`` inside their branch. Stack traces are reported whatever was caught.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import libcst as cst

from reviewer.catalog import RuleSpec
from reviewer.checks.base import Check, FileContext, pattern_to_regex, shape

# -- what is a response ---------------------------------------------------------------------------------------------

RESPONSE_SINKS = re.compile("|".join(f"(?:{pattern_to_regex(p)})" for p in (
    "django.http.{JsonResponse,HttpResponse*,StreamingHttpResponse}",
    "django.http.response.{JsonResponse,HttpResponse*,StreamingHttpResponse}",
    "django.shortcuts.{render,render_to_response}",
    "django.template.response.TemplateResponse",
    "rest_framework.response.Response",
    "rest_framework.exceptions.*",
    "rest_framework.serializers.ValidationError",
    "{flask,quart}.{jsonify,make_response,Response,abort,render_template,render_template_string}",
    "flask.json.jsonify",
    "{flask_restful,flask_restx,flask_smorest,apiflask}.abort",
    "werkzeug.wrappers.Response",
    "werkzeug.exceptions.*",
    "{fastapi,starlette}.{responses,exceptions}.*",
    "fastapi.{HTTPException,WebSocketException,Response}",
    "fastapi.templating.Jinja2Templates().TemplateResponse",
    "aiohttp.web.{json_response,Response,HTTP*}",
    "sanic.response.{json,text,html,raw}",
    "sanic.exceptions.*",
    "ninja.errors.HttpError",
)))

BROAD_EXCEPTIONS = frozenset({"builtins.Exception", "builtins.BaseException"})
STATUS_RESPONSE_METHOD = re.compile(r"response_[1-5][0-9][0-9]")

# Frameworks whose routes send a returned dict, list, string or (body, status) tuple as the response body.
DATA_ROUTE_FRAMEWORKS = ("flask", "quart", "fastapi", "ninja", "apiflask", "flask_smorest", "flask_openapi3")
# Modules whose `get`/`patch`... decorators are not routes.
NOT_ROUTERS = frozenset({"unittest", "mock", "pytest", "functools", "responses", "respx", "requests_mock"})
ROUTE_DECORATORS = frozenset({"route", "get", "post", "put", "patch", "delete", "head", "options", "api_route"})
RESOURCE_BASES = frozenset({
    "flask_restful.Resource", "flask_restx.Resource", "flask.views.MethodView", "flask.views.View",
})
HTTP_METHOD_NAMES = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "dispatch_request"})

# Error-handler registrations: decorator or method name -> index of the exception among the handler's parameters
# (-1: the last one, FastAPI/Starlette handlers take `(request, exc)`).
HANDLER_DECORATORS = {"errorhandler": 0, "app_errorhandler": 0, "exception_handler": -1}
HANDLER_REGISTRATIONS = {"register_error_handler": 0, "add_exception_handler": -1}
DRF_HANDLER_PARAMETERS = ("exc", "context")

# -- what is exception text -------------------------------------------------------------------------------------------

TRACEBACK_TEXT = frozenset({
    "traceback.format_exc", "traceback.format_exception", "traceback.format_exception_only", "traceback.format_tb",
    "traceback.format_stack", "traceback.extract_tb", "traceback.extract_stack",
})
# Calls that turn their argument into text (or keep it as text): exception text goes through them.
STRINGIFIERS = frozenset({
    "builtins.str", "builtins.repr", "builtins.format", "json.dumps", "html.escape", "markupsafe.escape",
    "markupsafe.Markup", "django.utils.html.escape", "django.utils.safestring.mark_safe", "builtins.dict",
    "django.utils.translation.gettext", "django.utils.translation.gettext_lazy", "django.utils.translation.ugettext",
    "flask_babel.gettext", "flask_babel.lazy_gettext", "django.utils.encoding.force_str",
})
# String methods whose result holds the receiver's or the arguments' text.
TEXT_METHODS = frozenset({
    "format", "format_map", "join", "strip", "lstrip", "rstrip", "replace", "split", "rsplit", "partition",
    "splitlines", "lower", "upper", "capitalize", "title", "encode", "decode",
})
# Attributes of an exception that hold its text or the text of what it wraps (a DB driver's error, an OS path, a
# subprocess's output). Attributes such as `detail`, `messages`, `errors()` are what validation errors offer the
# client, and are not among them.
LEAKY_ATTRIBUTES = frozenset({
    "args", "message", "msg", "orig", "strerror", "filename", "filename2", "output", "stdout", "stderr", "cmd",
    "pgerror", "diag", "__cause__", "__context__", "__traceback__", "statement", "params",
})


@dataclass(frozen=True)
class CompiledOptions:
    internal_exceptions: re.Pattern[str] | None


@functools.lru_cache(maxsize=16)
def _compile(options_json: str) -> CompiledOptions:
    patterns = json.loads(options_json).get("internal-exceptions") or []
    if not all(isinstance(pattern, str) for pattern in patterns):
        raise ValueError("internal-exceptions must be a list of pattern strings")
    sources = [pattern_to_regex(pattern) for pattern in patterns]
    return CompiledOptions(re.compile("|".join(f"(?:{s})" for s in sources)) if sources else None)


def compile_options(options: dict[str, Any]) -> CompiledOptions:
    return _compile(json.dumps(options, sort_keys=True))


@dataclass(frozen=True)
class Caught:
    """An exception variable in scope: its name, and the internal type it may hold (None: text for clients)."""

    name: str
    internal_type: str | None
    where: cst.CSTNode  # the except clause or the handler's registration


@dataclass(frozen=True)
class Taint:
    what: str  # the source as written, for the message
    caught: str | None  # the internal type it comes from; None for a stack trace
    where: cst.CSTNode


def _is_isinstance_test(test: cst.BaseExpression) -> tuple[str, cst.BaseExpression] | None:
    """``isinstance(name, types)``: the name and the types."""
    if (
        isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and test.func.value == "isinstance"
        and len(test.args) == 2 and isinstance(test.args[0].value, cst.Name)
    ):
        return test.args[0].value.value, test.args[1].value
    return None


def _is_status_response_method(func: cst.BaseExpression) -> bool:
    """``self.response_500(message=...)``: Flask-AppBuilder's ``BaseApi`` builds a JSON error response per status
    code; the view classes that have them derive from it through project classes the import table cannot follow."""
    return (
        isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self"
        and STATUS_RESPONSE_METHOD.fullmatch(func.attr.value) is not None
    )


_EMPTY_MODULE = cst.Module(body=[])


def code(node: cst.CSTNode, limit: int = 60) -> str:
    """The node's source text on one line, shortened."""
    text = " ".join(_EMPTY_MODULE.code_for_node(node).split())
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _string_literal(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))


class ErrorDetailsInResponse(Check):
    rule_id = "RV401"
    triggers = ("except", "errorhandler", "exception_handler", "traceback")
    options_compiler = staticmethod(compile_options)

    def __init__(self, ctx: FileContext, spec: RuleSpec, options: dict[str, Any]) -> None:
        super().__init__(ctx, spec, options)
        self._caught: list[Caught] = []
        # Per function (None: module level): the locals that hold exception text.
        self._tainted_locals: dict[cst.CSTNode | None, dict[str, Taint]] = {}
        # Branches of `isinstance(e, T)` tests: the block -> what `e` is inside it.
        self._narrowed_blocks: dict[cst.CSTNode, Caught] = {}
        # Per enclosing function: whether what it returns is sent as the response body, and the exception parameter
        # it binds as an error handler.
        self._functions: list[tuple[cst.FunctionDef, bool, Caught | None]] = []
        self._resource_classes: list[bool] = []
        # Handler functions registered by name (`app.register_error_handler(Exception, handle)`) -> registration.
        self._registered_handlers: dict[str, tuple[cst.BaseExpression, int, cst.CSTNode]] = {}
        self._uses_data_route_framework = False

    # -- classification -------------------------------------------------------------------------------------------

    def _internal_type(self, types: cst.BaseExpression | None) -> str | None:
        """The written name of the internal type an except clause or handler registration catches, or None.

        A tuple is internal when it holds a broad type, or when all its types are internal: `(ValueError,
        TypeError)` around parsing reads as input validation, its messages meant for the client."""
        if types is None:
            return None
        if isinstance(types, (cst.Tuple, cst.List)):
            found = [self._internal_type(element.value) for element in types.elements]
            broad = [name for name, element in zip(found, types.elements, strict=True)
                     if name is not None and self.ctx.qualified_name(element.value) in BROAD_EXCEPTIONS]
            if broad:
                return broad[0]
            return found[0] if found and all(name is not None for name in found) else None
        name = self.ctx.qualified_name(types)
        matcher = self.compiled_options().internal_exceptions
        if name is None or matcher is None or not matcher.fullmatch(name):
            return None
        return shape(types)

    def _caught_as(self, name: str) -> Caught | None:
        for caught in reversed(self._caught):
            if caught.name == name:
                return caught
        return None

    # -- module, classes and functions ----------------------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        # Registrations usually follow the handler's definition: find them first, in the module body and one level
        # into functions (an app factory's body).
        statements: list[cst.CSTNode] = list(node.body)
        for statement in node.body:
            if isinstance(statement, cst.FunctionDef) and isinstance(statement.body, cst.IndentedBlock):
                statements += statement.body.body
        for statement in statements:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                call = small.value if isinstance(small, cst.Expr) else None
                if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
                    continue
                index = HANDLER_REGISTRATIONS.get(call.func.attr.value)
                if index is not None and len(call.args) >= 2 and isinstance(call.args[1].value, cst.Name):
                    self._registered_handlers[call.args[1].value.value] = (call.args[0].value, index, call)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        bases = {self.ctx.qualified_name(base.value) for base in node.bases}
        self._resource_classes.append(bool(bases & RESOURCE_BASES))

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self._resource_classes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not self._functions and not self._uses_data_route_framework:
            self._uses_data_route_framework = self._imports(*DATA_ROUTE_FRAMEWORKS)
        handler = self._handler_parameter(node)
        returns_response = handler is not None or self._is_route(node)
        self._functions.append((node, returns_response, handler))
        if handler is not None:
            self._caught.append(handler)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        _, _, handler = self._functions.pop()
        if handler is not None:
            self._caught.pop()
        self._tainted_locals.pop(node, None)

    def _is_route(self, node: cst.FunctionDef) -> bool:
        if (
            self._resource_classes and self._resource_classes[-1] and node.name.value in HTTP_METHOD_NAMES
            and self.ctx.frames[-1].kind == "class"
        ):
            return True
        if not self._uses_data_route_framework:
            return False
        for decorator in node.decorators:
            call = decorator.decorator
            if not (
                isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                and call.func.attr.value in ROUTE_DECORATORS
            ):
                continue
            # `@app.get` on an app or router, even one imported from the project; not `@mock.patch`.
            owner = self.ctx.qualified_name(call.func.value)
            if owner is None or owner.split(".")[0] not in NOT_ROUTERS:
                return True
        return False

    def _handler_parameter(self, node: cst.FunctionDef) -> Caught | None:
        """The exception parameter of an error handler registered for an internal type."""
        registration: tuple[cst.BaseExpression, int, cst.CSTNode] | None = None
        for decorator in node.decorators:
            call = decorator.decorator
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.args:
                index = HANDLER_DECORATORS.get(call.func.attr.value)
                if index is not None:
                    registration = (call.args[0].value, index, decorator)
        if registration is None and self.ctx.at_module_level:
            registration = self._registered_handlers.get(node.name.value)
        parameters = [param.name.value for param in node.params.params]
        if registration is None:
            if tuple(parameters) == DRF_HANDLER_PARAMETERS and self._imports("rest_framework"):
                # DRF calls it for every exception a view raises, and Django's own exceptions.
                return Caught(parameters[0], "Exception", node.name)
            return None
        types, index, where = registration
        internal = self._internal_type(types)
        if internal is None or not parameters or index >= len(parameters):
            return None
        return Caught(parameters[index], internal, where)

    def _imports(self, *packages: str) -> bool:
        """Some module-level name of the file comes from one of ``packages``."""
        return any(
            value is not None and value.split(".")[0] in packages for value in self.ctx.frames[0].bindings.values()
        )

    # -- except clauses and isinstance branches -------------------------------------------------------------------

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._enter_handler(node)

    def leave_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._leave_handler(node)

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        self._enter_handler(node)

    def leave_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        self._leave_handler(node)

    def _enter_handler(self, node: cst.ExceptHandler | cst.ExceptStarHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self._caught.append(Caught(node.name.name.value, self._internal_type(node.type), node.type or node))

    def _leave_handler(self, node: cst.ExceptHandler | cst.ExceptStarHandler) -> None:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self._caught.pop()

    def visit_If(self, node: cst.If) -> None:
        test = node.test
        negated = isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
        tested = _is_isinstance_test(test.expression if negated else test)
        if tested is None or self._caught_as(tested[0]) is None:
            return
        name, types = tested
        narrowed = Caught(name, self._internal_type(types), types)
        if not negated:
            self._narrowed_blocks[node.body] = narrowed
        elif isinstance(node.orelse, cst.Else):
            self._narrowed_blocks[node.orelse.body] = narrowed

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        narrowed = self._narrowed_blocks.get(node)
        if narrowed is not None:
            self._caught.append(narrowed)

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        if self._narrowed_blocks.pop(node, None) is not None:
            self._caught.pop()

    # -- locals holding exception text -----------------------------------------------------------------------------

    def _locals(self) -> dict[str, Taint]:
        return self._tainted_locals.setdefault(self.ctx.function_node, {})

    def leave_Assign(self, node: cst.Assign) -> None:
        taint = self._taint(node.value)
        for target in node.targets:
            self._assign(target.target, taint)

    def leave_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._assign(node.target, self._taint(node.value))

    def leave_AugAssign(self, node: cst.AugAssign) -> None:
        taint = self._taint(node.value)
        if taint is not None:
            self._assign(node.target, taint)

    def _assign(self, target: cst.BaseExpression, taint: Taint | None) -> None:
        if isinstance(target, cst.Name):
            if taint is None:
                self._locals().pop(target.value, None)
            else:
                self._locals()[target.value] = taint
        elif isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name) and taint is not None:
            # `payload["error"] = str(e)`: the container now holds it.
            self._locals()[target.value.value] = taint

    # -- sinks ----------------------------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        name = self.ctx.qualified_name(node.func)
        if name is None:
            if not _is_status_response_method(node.func):
                return
        elif not RESPONSE_SINKS.fullmatch(name):
            return
        for arg in node.args:
            taint = self._taint(arg.value)
            if taint is not None:
                self._report(node, taint, f"is sent to the client by `{shape(node.func)}()`")
                return

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is None or not self._functions:
            return
        function, returns_response, _ = self._functions[-1]
        if not returns_response:
            return
        taint = self._taint(node.value)
        if taint is not None:
            self._report(node.value, taint, f"is returned to the client by `{function.name.value}()`")

    def _report(self, node: cst.CSTNode, taint: Taint, where: str) -> None:
        if taint.caught is None:
            message = f"a stack trace ({taint.what}) {where}: log it and return a generic error message"
            related: tuple[tuple[cst.CSTNode, str], ...] = ()
        else:
            message = (
                f"{taint.what}, the text of an unexpected `{taint.caught}`, {where}: it can expose queries, paths "
                "or hosts; log the exception and return a generic error message"
            )
            related = ((taint.where, f"`{taint.caught}` caught here"),)
        self.report(node, message, related=related)

    # -- following exception text ---------------------------------------------------------------------------------

    def _exception_value(self, node: cst.BaseExpression) -> Taint | None:
        """``e`` itself (only as the argument of a stringifier or formatting) or ``e.args``, ``e.orig``..."""
        if isinstance(node, cst.Name):
            caught = self._caught_as(node.value)
            if caught is not None and caught.internal_type is not None:
                return Taint(f"`{node.value}`", caught.internal_type, caught.where)
        return None

    def _taint(self, node: cst.BaseExpression) -> Taint | None:
        if isinstance(node, cst.Name):
            return self._locals().get(node.value) if self.ctx.function_frame is not None else None
        if isinstance(node, cst.Attribute):
            if node.attr.value in LEAKY_ATTRIBUTES:
                owner = self._exception_value(node.value)
                if owner is not None:
                    return Taint(f"`{code(node)}`", owner.caught, owner.where)
            return None
        if isinstance(node, cst.Subscript):
            return self._taint(node.value)
        if isinstance(node, cst.Call):
            return self._call_taint(node)
        if isinstance(node, cst.FormattedString):
            for part in node.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    inner = self._exception_value(part.expression) or self._taint(part.expression)
                    if inner is not None:
                        return Taint(f"`{{{code(part.expression)}}}` in an f-string", inner.caught, inner.where)
            return None
        if isinstance(node, cst.ConcatenatedString):
            return self._taint(node.left) or self._taint(node.right)
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Modulo) and _string_literal(node.left):
                right = node.right
                values = [e.value for e in right.elements] if isinstance(right, cst.Tuple) else [right]
                for value in values:
                    inner = self._exception_value(value) or self._taint(value)
                    if inner is not None:
                        return Taint(f"`{code(value)}` formatted with `%`", inner.caught, inner.where)
                return None
            if isinstance(node.operator, cst.Add):
                return self._taint(node.left) or self._taint(node.right)
            return None
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            for element in node.elements:
                found = self._taint(element.value)
                if found is not None:
                    return found
            return None
        if isinstance(node, cst.Dict):
            for element in node.elements:
                found = (
                    self._taint(element.key) or self._taint(element.value) if isinstance(element, cst.DictElement)
                    else self._taint(element.value)
                )
                if found is not None:
                    return found
            return None
        if isinstance(node, cst.IfExp):
            return self._taint(node.body) or self._taint(node.orelse)
        if isinstance(node, cst.BooleanOperation):
            return self._taint(node.left) or self._taint(node.right)
        return None

    def _call_taint(self, node: cst.Call) -> Taint | None:
        name = self.ctx.qualified_name(node.func)
        if name in TRACEBACK_TEXT:
            return Taint(f"`{code(node)}`", None, node)
        # A method of a string: `"...".format(e)`, `str(e).strip()`, `message.replace(...)` (the import table calls a
        # local assigned from `str(e)` `builtins.str()`).
        text_method = (
            isinstance(node.func, cst.Attribute) and node.func.attr.value in TEXT_METHODS
            and (name is None or name.startswith("builtins."))
        )
        if text_method:
            receiver = self._taint(node.func.value)  # `str(e).strip()`
            if receiver is not None:
                return receiver
        if name not in STRINGIFIERS and not text_method and not self._is_translation(node):
            return None
        for arg in node.args:
            inner = self._exception_value(arg.value)
            if inner is not None:
                return Taint(f"`{code(node)}`", inner.caught, inner.where)
            inner = self._taint(arg.value)
            if inner is not None:
                if isinstance(arg.value, (cst.Attribute, cst.Subscript)):  # `str(e.orig)`, `str(e.args[0])`
                    return Taint(f"`{code(node)}`", inner.caught, inner.where)
                return inner
        return None

    def _is_translation(self, node: cst.Call) -> bool:
        """``_("...")``: gettext under its conventional alias, whatever module it comes from."""
        return isinstance(node.func, cst.Name) and node.func.value == "_"
