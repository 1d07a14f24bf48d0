"""Task nodes, the tracing of a workflow body, and the immutable DAG it produces.

Owns: ``@task`` (``TaskFunction``), the ``Task`` node a task call returns inside a workflow body,
task names and ids, dependency edges (data and ``>>``/``<<``), and the frozen ``Dag``.
Must not: run anything, touch disk, threads or a database. Tracing state lives in a
``contextvars.ContextVar``, so tracing in one thread or notebook cell never leaks into another.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import inspect
import sys
from collections.abc import Callable, Iterable
from typing import Any

from datatailr.core.durations import parse_duration
from datatailr.core.resources import Resources
from datatailr.errors import (
    CyclicDependencyError,
    DuplicateJobNameError,
    InvalidArgumentError,
    MissingDagError,
    TaskUsageError,
)

#: Parameters the platform fills in at run time when the workflow body does not pass them.
SYSTEM_ARGS = ("rundate", "scheduled_time", "started_at", "batch_name", "job_name")


@dataclasses.dataclass(frozen=True)
class Ref:
    """Stands for the return value of task ``task_id`` inside an argument template."""

    task_id: int


@dataclasses.dataclass(frozen=True)
class TaskOptions:
    memory: str | None = None
    cpu: float | None = None
    vram: str | None = None
    retries: int = 0
    retry_delay: float = 0.0
    timeout: float | None = None


class TaskFunction:
    """What ``@task`` returns: the plain function outside a workflow body, a node factory inside."""

    def __init__(self, function: Callable, options: TaskOptions) -> None:
        if not callable(function):
            raise InvalidArgumentError(f"@task decorates functions, not {function!r}.")
        self.function = function
        self.options = options
        self.signature = inspect.signature(function)
        functools.update_wrapper(self, function)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = _current_builder.get()
        if builder is None:
            return self.function(*args, **kwargs)
        return builder.add(self, args, kwargs, _caller(2))

    def __get__(self, instance: Any, owner: Any = None) -> Any:  # methods decorated with @task
        if instance is None:
            return self
        return functools.partial(self.__call__, instance)

    def __repr__(self) -> str:
        return f"<task {self.function.__module__}.{self.function.__qualname__}>"

    def __reduce__(self):  # pickled by value as the decorated function itself does
        return (TaskFunction, (self.function, self.options))


def task(
    function: Callable | None = None,
    *,
    memory: str | None = None,
    cpu: float | None = None,
    vram: str | None = None,
    retries: int = 0,
    retry_delay: float | str = 0.0,
    timeout: float | str | None = None,
) -> Any:
    """Make a function a task: ``@task``, ``@task()`` or ``@task(memory="1g", retries=2)``."""
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise InvalidArgumentError(f"@task(retries={retries!r}): give a whole number >= 0.")
    # Durations as everywhere else: seconds, a timedelta, or "90s", "5m", "2h".
    delay = 0.0 if retry_delay in (0, 0.0) else parse_duration(retry_delay, "@task(retry_delay)")
    limit = parse_duration(timeout, "@task(timeout)")
    if memory is not None or cpu is not None:
        _resources(memory, cpu, vram)  # validates early
    options = TaskOptions(memory, cpu, vram, retries, float(delay or 0.0), limit)
    if function is not None:
        if isinstance(function, str | int | float):
            raise InvalidArgumentError(
                f"@task got {function!r} as its first argument: task options are keywords, "
                f"e.g. @task(memory='1g')."
            )
        return TaskFunction(function, options)
    return lambda f: TaskFunction(f, options)


def _resources(memory: str | None, cpu: float | None, vram: str | None) -> Resources:
    """The Resources of what was given; a memory given here is a limit, a default is not."""
    given: dict[str, Any] = {"vram": vram}
    if memory is not None:
        given["memory"] = memory
    if cpu is not None:
        given["cpu"] = cpu
    return Resources(**given)


def _caller(depth: int) -> str:
    frame = sys._getframe(depth)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


_USAGE_HINT = (
    "Inside a @workflow body a task call returns a node of the graph, not its value: the value "
    "exists only when the task runs. Move this logic into a @task function and pass the node "
    "to it as an argument."
)


def _refuse(what: str) -> Callable:
    def method(self: Task, *args: Any, **kwargs: Any) -> Any:
        raise TaskUsageError(f"Cannot use {what} on task node {self.name!r}. {_USAGE_HINT}")

    method.__name__ = f"refuse_{what}"
    return method


class Task:
    """A node of a workflow's graph: one call of a task function inside a workflow body."""

    __slots__ = ("_builder", "id", "name", "task_function", "args", "kwargs",
                 "data_dependencies", "order_dependencies", "resources", "env_vars",
                 "system_args", "defined_at", "__weakref__")

    def __init__(self, builder: _DagBuilder, task_id: int, name: str, task_function: TaskFunction,
                 args: tuple, kwargs: dict, data_dependencies: frozenset[int],
                 system_args: tuple[str, ...], defined_at: str) -> None:
        self._builder = builder
        self.id = task_id
        self.name = name
        self.task_function = task_function
        self.args = args
        self.kwargs = kwargs
        self.data_dependencies = data_dependencies
        self.order_dependencies: set[int] = set()
        options = task_function.options
        self.resources: Resources | None = (
            _resources(options.memory, options.cpu, options.vram)
            if options.memory is not None or options.cpu is not None or options.vram is not None
            else None
        )
        self.env_vars: dict[str, str] = {}
        self.system_args = system_args
        self.defined_at = defined_at

    # -- chainable per-call settings -------------------------------------------------------
    def alias(self, name: str) -> Task:
        """Give this call its own name (unique within the workflow)."""
        self._builder.rename(self, name)
        return self

    def set_resources(self, memory: str | Resources | None = None, cpu: float | None = None,
                      vram: str | None = None) -> Task:
        if isinstance(memory, Resources):
            self.resources = memory
        else:
            base = self.resources or Resources()
            self.resources = base.replace(memory=memory, cpu=cpu, vram=vram)
        return self

    def update_env_vars(self, env_vars: dict[str, Any]) -> Task:
        if not isinstance(env_vars, dict):
            raise InvalidArgumentError(
                f"update_env_vars takes a dict of names to values, not {env_vars!r}."
            )
        self.env_vars.update({str(k): str(v) for k, v in env_vars.items()})
        return self

    # -- ordering edges without data: a >> b means b runs after a --------------------------
    def __rshift__(self, other: Task | Iterable[Task]) -> Any:
        for node in _as_nodes(other, ">>"):
            node._after(self)
        return other

    def __lshift__(self, other: Task | Iterable[Task]) -> Any:
        for node in _as_nodes(other, "<<"):
            self._after(node)
        return other

    def __rrshift__(self, other: Iterable[Task]) -> Task:  # [a, b] >> c
        for node in _as_nodes(other, ">>"):
            self._after(node)
        return self

    def __rlshift__(self, other: Iterable[Task]) -> Task:  # [a, b] << c
        for node in _as_nodes(other, "<<"):
            node._after(self)
        return self

    def _after(self, other: Task) -> None:
        if other._builder is not self._builder:
            raise TaskUsageError(
                f"Task {other.name!r} belongs to another workflow than {self.name!r}."
            )
        if other is self:
            raise CyclicDependencyError(f"Task {self.name!r} cannot run after itself.")
        self.order_dependencies.add(other.id)

    @property
    def dependencies(self) -> frozenset[int]:
        return self.data_dependencies | frozenset(self.order_dependencies)

    def __repr__(self) -> str:
        return f"<Task {self.name!r} id={self.id}>"

    def __getattr__(self, attr: str) -> Any:
        raise TaskUsageError(
            f"Task node {object.__getattribute__(self, 'name')!r} has no attribute {attr!r}. "
            + _USAGE_HINT
        )

    # Using a node as its value is the mistake tracing exists to catch early.
    __bool__ = _refuse("bool() / if")
    __iter__ = _refuse("iteration (for ... in, unpacking, list())")
    __len__ = _refuse("len()")
    __contains__ = _refuse("'in'")
    __getitem__ = _refuse("indexing [...]")
    __setitem__ = _refuse("item assignment")
    __index__ = _refuse("use as an index")
    __int__ = _refuse("int()")
    __float__ = _refuse("float()")
    __lt__ = _refuse("comparison <")
    __le__ = _refuse("comparison <=")
    __gt__ = _refuse("comparison >")
    __ge__ = _refuse("comparison >=")
    __add__ = __radd__ = _refuse("arithmetic +")
    __sub__ = __rsub__ = _refuse("arithmetic -")
    __mul__ = __rmul__ = _refuse("arithmetic *")
    __truediv__ = __rtruediv__ = _refuse("arithmetic /")
    __floordiv__ = __rfloordiv__ = _refuse("arithmetic //")
    __mod__ = __rmod__ = _refuse("arithmetic %")
    __pow__ = __rpow__ = _refuse("arithmetic **")
    __neg__ = _refuse("arithmetic -x")
    __and__ = __rand__ = _refuse("operator &")
    __or__ = __ror__ = _refuse("operator |")
    __call__ = _refuse("a call")

    def __reduce__(self):
        raise TaskUsageError(
            f"Task node {self.name!r} cannot be pickled or copied: nodes exist only while a "
            f"workflow body is traced. Pass it to another task call instead."
        )


def _as_nodes(value: Any, op: str) -> list[Task]:
    if isinstance(value, Task):
        return [value]
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        if all(isinstance(v, Task) for v in items):
            return items
    raise TaskUsageError(f"'{op}' orders task nodes (or lists of them), not {value!r}.")


# -- argument templates ---------------------------------------------------------------------

def _template(value: Any, found: set[int], builder: _DagBuilder) -> Any:
    """Replace every Task inside value (also nested in containers) by a Ref, collecting ids."""
    if isinstance(value, Task):
        if value._builder is not builder:
            raise TaskUsageError(
                f"Task {value.name!r} comes from another workflow trace; call the task again "
                f"inside this workflow body."
            )
        found.add(value.id)
        return Ref(value.id)
    if isinstance(value, list):
        return [_template(v, found, builder) for v in value]
    if isinstance(value, tuple):
        items = [_template(v, found, builder) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, dict):
        return {_template(k, found, builder): _template(v, found, builder)
                for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return type(value)(_template(v, found, builder) for v in value)
    return value


def substitute(value: Any, results: dict[int, Any]) -> Any:
    """The inverse of tracing: every Ref in an argument template replaced by its task's value."""
    if isinstance(value, Ref):
        return results[value.task_id]
    if isinstance(value, list):
        return [substitute(v, results) for v in value]
    if isinstance(value, tuple):
        items = [substitute(v, results) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, dict):
        return {substitute(k, results): substitute(v, results) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return type(value)(substitute(v, results) for v in value)
    return value


def _constants_repr(args: tuple, kwargs: dict, signature: inspect.Signature) -> dict[str, str]:
    """Display of the non-node arguments, by parameter name, for the DAG views."""
    shown: dict[str, str] = {}
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:
        return shown
    for name, value in bound.arguments.items():
        text = _short_repr(value)
        if text is not None:
            shown[name] = text
    return shown


def _short_repr(value: Any) -> str | None:
    if isinstance(value, Ref):
        return None
    if isinstance(value, list | tuple) and value and all(isinstance(v, Ref) for v in value):
        return None
    try:
        text = repr(value)
    except Exception:  # a constant whose repr fails still traces
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


# -- the builder behind a trace, and the frozen result --------------------------------------

@dataclasses.dataclass(frozen=True)
class NodeSpec:
    """One task of a frozen DAG: everything needed to run it and to show it."""

    id: int
    name: str
    function: Callable
    args: tuple
    kwargs: dict
    dependencies: tuple[int, ...]
    #: the dependencies whose values are arguments (the rest are ``>>`` orderings)
    data_dependencies: tuple[int, ...]
    resources: Resources | None
    env_vars: dict
    retries: int
    retry_delay: float
    timeout: float | None
    system_args: tuple[str, ...]
    constants: dict
    #: bytes: the task's ``memory=`` when given explicitly (a limit), else None
    memory_limit: int | None = None

    @property
    def function_name(self) -> str:
        return getattr(self.function, "__qualname__", getattr(self.function, "__name__", "?"))

    @property
    def module(self) -> str:
        return getattr(self.function, "__module__", "") or ""

    def describe(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "function": self.function_name,
            "module": self.module,
            "dependencies": list(self.dependencies),
            "constants": dict(self.constants),
            "resources": self.resources.to_dict() if self.resources else None,
            "env_vars": dict(self.env_vars),
            "retries": self.retries,
            "retry_delay": self.retry_delay,
            "timeout": self.timeout,
            "system_args": list(self.system_args),
        }


@dataclasses.dataclass(frozen=True)
class Dag:
    """The immutable graph of a traced workflow body."""

    nodes: tuple[NodeSpec, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {n.name: n for n in self.nodes})

    def node(self, task_id: int) -> NodeSpec:
        return self.nodes[task_id]

    def by_name(self, name: str) -> NodeSpec | None:
        return self._by_name.get(name)  # type: ignore[attr-defined]

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def dependents(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {n.id: [] for n in self.nodes}
        for n in self.nodes:
            for d in n.dependencies:
                out[d].append(n.id)
        return out

    def describe(self) -> list[dict]:
        return [n.describe() for n in self.nodes]


class _DagBuilder:
    def __init__(self) -> None:
        self.nodes: list[Task] = []
        self.names: dict[str, Task] = {}
        self.counters: dict[str, int] = {}

    def add(self, task_function: TaskFunction, args: tuple, kwargs: dict, where: str) -> Task:
        signature = task_function.signature
        try:
            bound = signature.bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(
                f"{task_function.function.__name__}{signature}: {exc} (called at {where})"
            ) from None
        missing = [
            p.name for p in signature.parameters.values()
            if p.name not in bound.arguments
            and p.default is inspect.Parameter.empty
            and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
            and p.name not in SYSTEM_ARGS
        ]
        if missing:
            raise TypeError(
                f"{task_function.function.__name__}{signature}: missing required argument"
                f"{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)} "
                f"(called at {where})"
            )
        system_args = tuple(
            name for name in signature.parameters
            if name in SYSTEM_ARGS and name not in bound.arguments
        )
        found: set[int] = set()
        t_args = tuple(_template(a, found, self) for a in bound.args)
        t_kwargs = {k: _template(v, found, self) for k, v in bound.kwargs.items()}
        name = self._default_name(task_function.function.__name__)
        node = Task(self, len(self.nodes), name, task_function, t_args, t_kwargs,
                    frozenset(found), system_args, where)
        self.nodes.append(node)
        self.names[name] = node
        return node

    def _default_name(self, base: str) -> str:
        # A counter per function name, skipping names already taken (also by aliases), so
        # names stay unique at all times: the vendor can hand out one name twice after .alias().
        while True:
            n = self.counters.get(base, 0)
            self.counters[base] = n + 1
            candidate = base if n == 0 else f"{base}-{n}"
            if candidate not in self.names:
                return candidate

    def rename(self, node: Task, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(f".alias() takes a non-empty string, not {name!r}.")
        if name == node.name:
            return
        holder = self.names.get(name)
        if holder is not None:
            raise DuplicateJobNameError(
                f"Cannot alias task {node.name!r} as {name!r}: task id {holder.id} of this "
                f"workflow is already named {name!r}. Pick another name."
            )
        del self.names[node.name]
        node.name = name
        self.names[name] = node

    def freeze(self) -> Dag:
        if not self.nodes:
            raise MissingDagError(
                "The workflow body called no task, so there is nothing to run. Call at least "
                "one @task function inside the @workflow function."
            )
        _check_acyclic(self.nodes)
        specs = []
        for n in self.nodes:
            options = n.task_function.options
            specs.append(NodeSpec(
                id=n.id, name=n.name, function=n.task_function.function,
                args=n.args, kwargs=n.kwargs, dependencies=tuple(sorted(n.dependencies)),
                data_dependencies=tuple(sorted(n.data_dependencies)),
                resources=n.resources, env_vars=dict(n.env_vars), retries=options.retries,
                retry_delay=options.retry_delay, timeout=options.timeout,
                system_args=n.system_args,
                constants=_constants_repr(n.args, n.kwargs, n.task_function.signature),
                memory_limit=n.resources.memory_limit if n.resources is not None else None,
            ))
        return Dag(tuple(specs))


def _check_acyclic(nodes: list[Task]) -> None:
    remaining = {n.id: set(n.dependencies) for n in nodes}
    ready = [i for i, deps in remaining.items() if not deps]
    dependents: dict[int, list[int]] = {n.id: [] for n in nodes}
    for n in nodes:
        for d in n.dependencies:
            dependents[d].append(n.id)
    done = 0
    while ready:
        i = ready.pop()
        done += 1
        for j in dependents[i]:
            remaining[j].discard(i)
            if not remaining[j]:
                ready.append(j)
    if done != len(nodes):
        stuck = sorted(nodes[i].name for i, deps in remaining.items() if deps)
        raise CyclicDependencyError(
            f"The tasks {', '.join(repr(s) for s in stuck)} depend on each other in a cycle; "
            f"remove one of the '>>'/'<<' orderings that closes it."
        )


_current_builder: contextvars.ContextVar[_DagBuilder | None] = contextvars.ContextVar(
    "datatailr_dag_builder", default=None
)


def trace(body: Callable, args: tuple = (), kwargs: dict | None = None) -> Dag:
    """Call a workflow body with tracing on and return the DAG its task calls describe."""
    builder = _DagBuilder()
    token = _current_builder.set(builder)
    try:
        body(*args, **(kwargs or {}))
    finally:
        _current_builder.reset(token)
    return builder.freeze()


def is_tracing() -> bool:
    return _current_builder.get() is not None
