"""Coercing variables of input-object types with compiled code.

A 5-member ``HouseholdInput`` is ~60 input fields, most of them optional and left out.
graphql-core coerces a variable by walking its type generically: for each field of each input
object, present or not, several type checks and a recursive call, plus a depth check over the
whole value first. Profiling put that at ~90 µs a household, more than answering a remembered
household. Here each input object type is compiled once into a Python function that does the
same checks in line (``type(x) is str`` for a String, the scalar's own ``coerce_input_value``
for the rest) and builds the same dict.

Exactness: the compiled code handles the common shapes itself and hands anything else (a value
that is not a ``dict``, an unknown field, a list given as a single value, a subclass of ``str``)
to graphql-core's ``coerce_input_value`` for that part, so the result is always what
graphql-core makes. If a variable does not coerce, graphql-core coerces all the variables
again and reports the errors itself, word for word. Recursive and ``@oneOf`` input types are
not compiled. ``tests/api/test_variables.py`` checks the results against graphql-core's on
generated valid and invalid households.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLBoolean,
    GraphQLError,
    GraphQLID,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    Undefined,
    VariableDefinitionNode,
    assert_valid_schema,
    default_field_resolver,
    default_type_resolver,
)
from graphql.execution import MiddlewareManager
from graphql.execution.collect_fields import FragmentDetails
from graphql.execution.get_variable_signature import (
    GraphQLVariableSignature,
    get_variable_signature,
)
from graphql.execution.values import VariableValues, VariableValueSource, get_variable_values
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.pyutils import inspect
from graphql.type.definition import GraphQLInputField, is_required_input_field
from graphql.utilities.coerce_input_value import coerce_default_value, coerce_input_value
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from policy.cache import BoundedCache

Coercer = Callable[[Any], Any]

# Leaves whose coercion returns an exact ``str``/``bool`` unchanged: checked in line.
_IDENTITY = ((GraphQLString, "str"), (GraphQLID, "str"), (GraphQLBoolean, "bool"))

_COMPILED: BoundedCache[int, tuple[GraphQLInputObjectType, Coercer | None]] = BoundedCache(
    "graphql.input_coercers", 256)
_LOCK = threading.Lock()


def coercer(type_: GraphQLInputObjectType) -> Coercer | None:
    """The compiled coercion of an input object type (``None``: not compiled; use
    graphql-core's). Returns the coerced dict, or ``Undefined`` if the value does not coerce."""
    known = _COMPILED.get(id(type_))
    if known is not None and known[0] is type_:
        return known[1]
    with _LOCK:
        try:
            compiled: Coercer | None = _CoercionCompiler(type_).compile()
        except _NotCompiled:
            compiled = None
        _COMPILED.put(id(type_), (type_, compiled))  # the entry keeps the type alive
    return compiled


class _NotCompiled(Exception):
    pass


class _CoercionCompiler:
    def __init__(self, root: GraphQLInputObjectType):
        self.root = root
        self.names: dict[str, Any] = {"U": Undefined, "generic": coerce_input_value,
                                      "default_of": coerce_default_value}
        self.functions: dict[int, str] = {}  # input object type id -> function name
        self.sources: list[str] = []
        self.stack: list[GraphQLInputObjectType] = []
        self.depth = 0

    def ref(self, obj: Any) -> str:
        name = f"_{len(self.names)}"
        self.names[name] = obj
        return name

    def compile(self) -> Coercer:
        entry = self.function(self.root)
        exec(compile("\n".join(self.sources), f"<coercion of {self.root.name}>", "exec"),
             self.names)
        run: Coercer = self.names[entry]
        return run

    def function(self, type_: GraphQLInputObjectType) -> str:
        if type_ in self.stack or type_.is_one_of:
            raise _NotCompiled(type_.name)  # recursive (depth checks) or @oneOf: graphql-core
        known = self.functions.get(id(type_))
        if known is not None:
            return known
        self.stack.append(type_)
        name = self.functions[id(type_)] = f"coerce_{len(self.functions)}"
        fields = type_.fields
        lines = [
            f"def {name}(v):",
            f"    if type(v) is not dict or not {self.ref(frozenset(fields))}.issuperset(v):",
            f"        return generic(v, {self.ref(type_)})",
            "    out = {}",
        ]
        for field_name, field in fields.items():
            lines += self.field(field_name, field)
        out_type = type_.out_type
        # graphql-core's default out_type (a static method) is the identity.
        lines.append("    return out" if out_type is GraphQLInputObjectType.out_type
                     else f"    return {self.ref(out_type)}(out)")
        self.sources.append("\n".join(lines) + "\n")
        self.stack.pop()
        return name

    def field(self, field_name: str, field: GraphQLInputField) -> list[str]:
        key = repr(field.out_name or field_name)
        lines = [f"    x = v.get({field_name!r}, U)"]
        if is_required_input_field(field):
            return [*lines, "    if x is U:", "        return U", *self.value("x", field.type, 1),
                    f"    out[{key}] = x"]
        try:
            default = coerce_default_value(field)
        except GraphQLError as exc:  # pragma: no cover - an invalid default in the schema
            raise _NotCompiled(field_name) from exc
        if default is not Undefined:
            lines += ["    if x is U:", f"        out[{key}] = default_of({self.ref(field)})",
                      "    else:"]
        else:
            lines.append("    if x is not U:")
        return [*lines, *self.value("x", field.type, 2), f"        out[{key}] = x"]

    def value(self, var: str, type_: Any, indent: int) -> list[str]:
        """Statements that replace ``var`` by its coerced value of ``type_``, or return U."""
        pad = "    " * indent
        if isinstance(type_, GraphQLNonNull):
            return [f"{pad}if {var} is None:", f"{pad}    return U",
                    *self.present(var, type_.of_type, indent)]
        return [f"{pad}if {var} is not None:", *self.present(var, type_, indent + 1)]

    def present(self, var: str, type_: Any, indent: int) -> list[str]:
        """As ``value``, for a value that is not None and a type that is not non-null."""
        pad = "    " * indent
        if isinstance(type_, GraphQLList):
            self.depth += 1
            if self.depth > MAX_NESTING_DEPTH // 2:  # pragma: no cover - no such schema here
                raise _NotCompiled("nested too deeply")
            item, items = f"e{self.depth}", f"items{self.depth}"
            lines = [
                f"{pad}if type({var}) is list:",
                f"{pad}    {items} = []",
                f"{pad}    for {item} in {var}:",
                *self.value(item, type_.of_type, indent + 2),
                f"{pad}        {items}.append({item})",
                f"{pad}    {var} = {items}",
                f"{pad}else:",  # a single value as a list of one, or an iterable: graphql-core
                f"{pad}    {var} = generic({var}, {self.ref(type_)})",
                f"{pad}    if {var} is U:",
                f"{pad}        return U",
            ]
            self.depth -= 1
            return lines
        if isinstance(type_, GraphQLInputObjectType):
            function = self.function(type_)
            return [f"{pad}{var} = {function}({var})", f"{pad}if {var} is U:",
                    f"{pad}    return U"]
        # A leaf: what graphql-core does, i.e. the scalar's or enum's coerce_input_value, any
        # exception meaning "does not coerce".
        method = self.ref(type_.coerce_input_value)
        call = [f"{pad}try:", f"{pad}    {var} = {method}({var})",
                f"{pad}except Exception:", f"{pad}    return U",
                f"{pad}if {var} is U:", f"{pad}    return U"]
        exact = next((name for leaf, name in _IDENTITY if type_ is leaf), None)
        if exact is None:
            return call
        return [f"{pad}if type({var}) is not {exact}:", *("    " + line for line in call)]


_COMPILED_VARIABLES: BoundedCache[int, tuple[VariableDefinitionNode, GraphQLSchema,
                                               tuple[Any, Coercer] | None]] = BoundedCache(
    "graphql.variable_coercers", 4096)


def _compiled_variable(schema: GraphQLSchema, node: VariableDefinitionNode,
                       ) -> tuple[Any, Coercer] | None:
    """The variable's signature and compiled coercion, if its type is a compiled input object
    (possibly non-null), else None (remembered per definition node: the parser cache hands
    every request the same nodes)."""
    known = _COMPILED_VARIABLES.get(id(node))
    if known is not None and known[0] is node and known[1] is schema:
        return known[2]
    signature = get_variable_signature(schema, node)
    found = None
    if not isinstance(signature, GraphQLError):
        named = signature.type.of_type if isinstance(signature.type, GraphQLNonNull) \
            else signature.type
        run = None
        if isinstance(named, GraphQLInputObjectType):
            run = coercer(named)
        elif isinstance(named, GraphQLList):  # e.g. evaluateMany's [EvaluateItem!]!
            item = named.of_type
            required = isinstance(item, GraphQLNonNull)
            item = item.of_type if required else item
            each = coercer(item) if isinstance(item, GraphQLInputObjectType) else None
            if each is not None:
                run = _list_of(each, required)
        if run is not None:
            found = (signature, run)
    _COMPILED_VARIABLES.put(id(node), (node, schema, found))
    return found


def _list_of(each: Coercer, required: bool) -> Coercer:
    """A list variable of a compiled input object type: each item coerced by ``each``. Anything
    but a list of such objects (a single value, which graphql-core takes as a list of one, or a
    null item where the items are non-null) is ``Undefined``: graphql-core then coerces it, and
    says what is wrong."""
    def run(value: Any) -> Any:
        if type(value) is not list:
            return Undefined
        out: list[Any] = []
        for item in value:
            if item is None:
                if required:
                    return Undefined
                out.append(None)
                continue
            coerced = each(item)
            if coerced is Undefined:
                return Undefined
            out.append(coerced)
        return out

    return run


def compiled_variable_values(
    schema: GraphQLSchema, definitions: Collection[VariableDefinitionNode],
    inputs: dict[str, Any], max_errors: int | None = None, hide_suggestions: bool = False,
) -> VariableValues | list[GraphQLError]:
    """``graphql.execution.values.get_variable_values``, with input-object variables coerced by
    compiled code where it can: the same values, or the same errors."""
    fast: dict[str, tuple[Any, Any, Any]] = {}
    for node in definitions:
        compiled = _compiled_variable(schema, node)
        if compiled is None:
            continue
        signature, run = compiled
        value = inputs.get(signature.name, Undefined)
        if value is Undefined or value is None:
            continue  # a default, an omission or a null: graphql-core's rules
        coerced = run(value)
        if coerced is Undefined:
            fast.clear()  # graphql-core coerces every variable and reports the errors
            break
        fast[signature.name] = (signature, value, coerced)
    rest = [node for node in definitions if node.variable.name.value not in fast] if fast \
        else definitions
    values = get_variable_values(schema, rest, inputs, max_errors=max_errors,
                                 hide_suggestions=hide_suggestions)
    if isinstance(values, list):
        return values
    for name, (signature, value, coerced) in fast.items():
        values.sources[name] = VariableValueSource(signature, value)
        values.coerced[name] = coerced
    return values


class CompiledVariablesExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """strawberry's execution context, with variables coerced by ``compiled_variable_values``.

    ``build`` is graphql-core's ``Executor.build`` copied with its names, order and statements
    (annotations and docstring left out), with one call changed: ``get_variable_values``
    becomes ``compiled_variable_values``. graphql-core offers no narrower place to coerce
    variables. ``tests/api/test_versions.py`` compares the copy with the installed
    graphql-core's, statement by statement, and prints the difference when they part: to
    follow a new graphql-core, copy its ``build`` again and make that one change.
    """

    @classmethod
    def build(
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        raw_variable_values: dict[str, Any] | None = None,
        operation_name: str | None = None,
        field_resolver: Any = None,
        type_resolver: Any = None,
        subscribe_field_resolver: Any = None,
        max_coercion_errors: int = 50,
        enable_early_execution: bool = False,
        middleware: Any = None,
        is_awaitable: Any = None,
        is_async_iterable: Any = None,
        hide_suggestions: bool = False,
        abort_signal: Any = None,
        hooks: Any = None,
        **custom_args: Any,
    ) -> Any:
        # If the schema used for execution is invalid, raise an error.
        assert_valid_schema(schema)

        operation: OperationDefinitionNode | None = None
        fragment_definitions: dict[str, FragmentDefinitionNode] = {}
        fragments: dict[str, FragmentDetails] = {}
        fragment_variable_signature_errors: list[GraphQLError] = []
        middleware_manager: MiddlewareManager | None = None
        if middleware is not None:
            if isinstance(middleware, (list, tuple)):
                middleware_manager = MiddlewareManager(*middleware)
            elif isinstance(middleware, MiddlewareManager):
                middleware_manager = middleware
            else:
                msg = (
                    "Middleware must be passed as a list or tuple of functions"
                    " or objects, or as a single MiddlewareManager object."
                    f" Got {inspect(middleware)} instead."
                )
                raise TypeError(msg)

        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                if operation_name is None:
                    if operation:
                        return [
                            GraphQLError(
                                "Must provide operation name"
                                " if query contains multiple operations."
                            )
                        ]
                    operation = definition
                elif definition.name and definition.name.value == operation_name:
                    operation = definition
            elif isinstance(definition, FragmentDefinitionNode):
                fragment_definitions[definition.name.value] = definition
                variable_signatures: dict[str, GraphQLVariableSignature] | None = None
                if definition.variable_definitions:
                    variable_signatures = {}
                    for var_def in definition.variable_definitions:
                        signature = get_variable_signature(schema, var_def)
                        if isinstance(signature, GraphQLError):
                            fragment_variable_signature_errors.append(signature)
                            continue
                        variable_signatures[signature.name] = signature
                fragments[definition.name.value] = FragmentDetails(
                    definition, variable_signatures
                )

        if not operation:
            if operation_name is not None:
                return [GraphQLError(f"Unknown operation named '{operation_name}'.")]
            return [GraphQLError("Must provide an operation.")]

        if fragment_variable_signature_errors:
            return fragment_variable_signature_errors

        variable_values = compiled_variable_values(
            schema,
            operation.variable_definitions or (),
            raw_variable_values or {},
            max_errors=max_coercion_errors,
            hide_suggestions=hide_suggestions,
        )

        if isinstance(variable_values, list):
            return variable_values  # errors

        return cls(
            schema,
            fragment_definitions,
            fragments,
            root_value,
            context_value,
            operation,
            variable_values,
            field_resolver or default_field_resolver,
            type_resolver or default_type_resolver,
            subscribe_field_resolver or default_field_resolver,
            enable_early_execution,
            middleware_manager,
            is_awaitable,
            is_async_iterable,
            hide_suggestions=hide_suggestions,
            abort_signal=abort_signal,
            hooks=hooks,
            **custom_args,
        )
