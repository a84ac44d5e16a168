"""The engine: `Value`, a scalar that remembers how it was computed, and `backward()`.

Reverse mode in five lines, the way micrograd teaches it (`reference_backward` below): visit the
nodes from the output back to the inputs and, along every edge, add the local partial derivative
times the node's adjoint to the parent's adjoint (Baydin et al. 2018, "Automatic differentiation
in machine learning: a survey", arXiv:1502.05767, section 3.2)::

    y.grad = 1.0
    for node in reversed(topological_order(y)):
        for parent, local in zip(node.parents, node.local_grads()):
            parent.grad += local * node.grad

Every `Value` made by an operation keeps its inputs (``parents``, an ordered tuple: ``x * x`` has
two edges to ``x``), the `Rule` that made it (the rule table in rules.py), and the numbers its
local partials need (``_saved``: inputs, then output, like PyTorch's ``save_for_backward``). The
local-gradient closure is those two halves, ``rule.local_partials(*saved)``: it never refers to
the node itself, so a graph is freed by reference counting the moment it is dropped, with no work
for the cyclic garbage collector (W4 in benchmarks/).

The reverse sweep is written once, as one loop (`_sweep`) on floats, or on Values for
``backward(create_graph=True)`` (the same formulas build the gradient's graph). `Value.backward`
runs it and adds the adjoints to ``grad``; `reverse_sweep` runs it and returns them, for the
transforms and, through `reverse_steps`, the adjoint table, the graph's edge labels and the
compiled code. One sweep runs at a time (a lock), so threads that call ``backward()`` on graphs
sharing parameters add up exactly; an error (a derivative undefined where it is needed, an
infinite or NaN adjoint, an input whose ``.data`` changed after it was used) leaves every
``grad`` as it was.

The vocabulary is micrograd's and PyTorch's: ``data``, ``grad``, ``backward()``, ``_prev``,
``_op``, ``_backward``.
"""

from __future__ import annotations

import math
import numbers
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, Literal, NamedTuple, Union, overload

from microgrowth import formula, rules
from microgrowth.rules import Rule

Operand = Union["Value", float, int]
Node = Union["Value", "Constant"]  # what a graph is made of: Values, and constants among parents

CONST = "const"  # the op of a plain number inside a graph, as in 2 * x


def reference_backward(y: Value) -> None:
    """Reverse mode as plainly as it can be written: what `Value.backward` computes.

    The same numbers as ``y.backward()`` on a graph whose grads are all 0; ``backward`` adds the
    speed, the checks and the thread safety (tests/test_engine.py compares the two).
    """
    y.grad = 1.0
    for node in reversed(topological_order(y)):
        for parent, local in zip(node.parents, node.local_grads()):
            parent.grad += local * node.grad


class Value:
    """A scalar node of a computation graph: ``data``, ``grad`` and how it was made.

    ``Value(data, _children=(), _op='', label='')`` is micrograd's constructor: ``data`` a number
    (bools count as 0 and 1), ``label`` a name for tables and pictures. ``_children`` and ``_op``
    make a custom operation the way micrograd does, with a ``_backward`` closure assigned after.

    Values compare by identity (``==`` and ``hash``), as graph nodes must; ``<``, ``>`` and
    ``bool()`` look at ``data``. ``float(v)`` refuses: a function of the math module would turn
    the Value into a number and cut it out of the graph; use ``v.data`` for the number.
    """

    __slots__ = ("data", "grad", "label", "_parents", "_rule", "_saved", "__dict__")

    data: float
    grad: float
    label: str
    _parents: tuple[Node, ...]
    _rule: Rule | None
    _saved: tuple[float, ...]  # the numbers the local partials need: inputs, then output

    def __init__(
        self,
        data: float,
        _children: Iterable[Operand] = (),
        _op: str = "",
        label: str = "",
    ) -> None:
        if type(data) is not float or not _isfinite(data):
            data = _as_number(data, "Value")
        self.data = data
        self.grad = 0.0
        self.label = label
        self._parents = ()
        self._rule = None
        self._saved = ()
        if _children or _op:
            self._custom(_children, _op, label)

    def _custom(self, children: Iterable[Operand], op: str, label: str) -> None:
        """micrograd's ``Value(data, (a, b), '+')``: a custom operation, checked."""
        if isinstance(children, str):  # Value(2.0, "x"): a label where micrograd has children
            raise TypeError(
                f"Value({self.data!r}, {children!r}): the second argument is micrograd's "
                f"_children; write Value({self.data!r}, label={children!r})"
            )
        if not isinstance(label, str):
            raise TypeError(f"Value: label must be a string, got {type(label).__name__}")
        self._parents = tuple(c if isinstance(c, Value) else constant(c) for c in children)
        self.__dict__["_op"] = str(op)

    # --- what the node knows ----------------------------------------------------------------

    is_constant = False  # see Constant

    @property
    def parents(self) -> tuple[Node, ...]:
        """The inputs of the operation that made this node, in argument order."""
        return self._parents

    @property
    def _prev(self) -> tuple[Node, ...]:
        """micrograd's children (a set there): the parents in order, each once."""
        return tuple(dict.fromkeys(self._parents))

    @property
    def rule(self) -> Rule | None:
        """The `Rule` that made this node; None for an input (a leaf) or a custom operation."""
        return self._rule

    @property
    def op(self) -> str:
        """The rule's name ("mul", "log", ...); "" for an input; a custom operation's ``_op``."""
        rule = self._rule
        return self.__dict__.get("_op", "") if rule is None else rule.name

    @property
    def _op(self) -> str:
        """micrograd's operation symbol: "+", "*", "**2", "ReLU", "tanh"; "" for an input."""
        rule = self._rule
        if rule is None:
            return str(self.__dict__.get("_op", ""))
        if rule is rules.POWC:
            return f"**{self._saved[1]:g}"
        return rule.symbol

    def local_grads(self) -> tuple[float, ...]:
        """The local partial derivatives d self / d parent, one per parent (empty for a leaf).

        For a custom operation they are read off its ``_backward`` closure."""
        rule = self._rule
        if rule is not None:
            return rule.local_partials(*self._saved)
        return _custom_partials(self) if self._parents else ()

    @property
    def local(self) -> Callable[[], tuple[float, ...]]:
        """The local-gradient closure as a callable: ``node.local()`` == ``node.local_grads()``."""
        return self.local_grads

    @property
    def _backward(self) -> Callable[[], None]:
        """micrograd's step for this node alone: add local partial * ``self.grad`` into each
        parent's ``grad``. Assign a closure to make a custom operation (see `Value`)."""
        custom: Callable[[], None] | None = self.__dict__.get("_backward")
        if custom is not None:
            return custom
        if self._rule is None:  # a leaf, or a custom operation given no closure: micrograd's
            return _nothing  # default, which passes nothing on
        return partial(_backward_step, self)

    @_backward.setter
    def _backward(self, function: Callable[[], None]) -> None:
        if self._rule is not None:
            raise AttributeError(
                f"_backward of a {self._rule.name} node comes from the rule table; assign it only "
                "on a Value made with Value(data, _children, _op)"
            )
        if not callable(function):
            raise TypeError(f"_backward must be a function of no arguments, got {function!r}")
        self.__dict__["_backward"] = function

    def __repr__(self) -> str:
        extra = f", label={self.label!r}" if self.label else ""
        extra += f", op={self.op!r}" if self.op else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{extra})"

    def __float__(self) -> float:
        raise TypeError(
            f"float() of a Value (data={self.data!r}): a math-module function such as math.sin "
            "would cut the Value out of the graph and its gradient would be lost. Use "
            "microgrowth's functions (mg.sin(x) or x.sin()), or x.data for the number itself."
        )

    def __format__(self, spec: str) -> str:
        return format(self.data, spec) if spec else repr(self)

    def __bool__(self) -> bool:
        return self.data != 0.0

    def __lt__(self, other: Operand) -> bool:
        return self.data < _data(other)

    def __le__(self, other: Operand) -> bool:
        return self.data <= _data(other)

    def __gt__(self, other: Operand) -> bool:
        return self.data > _data(other)

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _data(other)

    __eq__ = object.__eq__  # identity: graphs keep nodes in dicts and sets
    __hash__ = object.__hash__

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        """A copy of the whole graph, made without recursion (a chain of a million is fine)."""
        import copy

        for node in topological_order(self):
            if id(node) in memo or node.is_constant:
                continue
            new: Value = _new(Value)
            memo[id(node)] = new
            new.data, new.grad, new.label = node.data, node.grad, node.label
            new._parents = tuple(p if p.is_constant else memo[id(p)] for p in node._parents)
            new._rule, new._saved = node._rule, node._saved
            if node.__dict__:
                new.__dict__.update(copy.deepcopy(node.__dict__, memo))
        copied: Value = memo[id(self)]
        return copied

    # --- backpropagation ----------------------------------------------------------------------

    @overload
    def backward(self, grad: float = 1.0, *, create_graph: Literal[False] = False) -> None: ...

    @overload
    def backward(self, grad: float = 1.0, *, create_graph: Literal[True]) -> dict[Node, Value]: ...

    def backward(
        self, grad: float = 1.0, *, create_graph: bool = False
    ) -> dict[Node, Value] | None:
        """Add d self / d node * ``grad`` to ``node.grad`` for every node of the graph.

        Like PyTorch, gradients accumulate: a second call adds the same amounts again. Call
        ``zero_grad()`` (here, or on a model) first to recompute from scratch. If a derivative
        cannot be computed, or would be infinite or NaN, the error names the operation and its
        inputs and every ``grad`` is left as it was. Safe to call from several threads at once.

        With ``create_graph=True`` the adjoints are also built as Values, a graph of their own,
        and returned by node: ``g = y.backward(create_graph=True)[x]`` is dy/dx as a Value, and
        ``g.backward()`` gives second derivatives.
        """
        if not create_graph:  # the reverse sweep on floats, adding the adjoints to grad
            if type(grad) is not float or not _isfinite(grad):
                grad = _seed(grad)
            order = topological_order(self)
            _lock()
            try:
                kept = None  # the grads of earlier passes, if any (_set_aside, inlined for speed)
                for node in order:
                    if node.grad:
                        kept = _set_aside(order)
                        break
                try:
                    self.grad = grad
                    _sweep(order, None, None)
                    if kept:  # this pass's adjoints, plus the grads of earlier passes
                        _accumulate(order, [n.grad for n in order], kept)
                except BaseException:  # all or nothing: every grad as it was
                    for i, node in enumerate(order):
                        node.grad = kept[i] if kept else 0.0
                    raise
            finally:
                _unlock()
            return None
        adjoint = reverse_sweep(self, grad, create_graph=True)
        nodes = list(adjoint)
        with _sweep_lock:
            _accumulate(nodes, [_number(adjoint[n]) for n in nodes], [n.grad for n in nodes])
        return {n: g if isinstance(g, Value) else Value(g) for n, g in adjoint.items()}

    def zero_grad(self) -> None:
        """Set ``grad`` to 0 on this node and every node it was computed from."""
        for node in topological_order(self):
            node.grad = 0.0

    # --- operators ----------------------------------------------------------------------------

    def __add__(self, other: Operand) -> Value:
        return _apply2(rules.ADD, self, other)

    def __radd__(self, other: Operand) -> Value:
        return _apply2(rules.ADD, other, self)

    def __sub__(self, other: Operand) -> Value:
        return _apply2(rules.SUB, self, other)

    def __rsub__(self, other: Operand) -> Value:
        return _apply2(rules.SUB, other, self)

    def __mul__(self, other: Operand) -> Value:
        return _apply2(rules.MUL, self, other)

    def __rmul__(self, other: Operand) -> Value:
        return _apply2(rules.MUL, other, self)

    def __truediv__(self, other: Operand) -> Value:
        return _apply2(rules.DIV, self, other)

    def __rtruediv__(self, other: Operand) -> Value:
        return _apply2(rules.DIV, other, self)

    def __pow__(self, other: Operand) -> Value:
        # A plain-number exponent is a constant (micrograd's x**2); a Value exponent is an input.
        return _apply2(rules.POW if isinstance(other, Value) else rules.POWC, self, other)

    def __rpow__(self, other: Operand) -> Value:
        return _apply2(rules.POW, other, self)

    def __neg__(self) -> Value:
        return apply1(rules.NEG, self)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return apply1(rules.ABS, self)

    # --- the one-input rules as methods (checked against the table in tests/test_rules.py) ----

    def exp(self) -> Value:
        return apply1(rules.EXP, self)

    def log(self) -> Value:
        """The natural logarithm."""
        return apply1(rules.LOG, self)

    def sin(self) -> Value:
        return apply1(rules.SIN, self)

    def cos(self) -> Value:
        return apply1(rules.COS, self)

    def tan(self) -> Value:
        return apply1(rules.TAN, self)

    def tanh(self) -> Value:
        return apply1(rules.TANH, self)

    def sigmoid(self) -> Value:
        return apply1(rules.SIGMOID, self)

    def softplus(self) -> Value:
        """ln(1 + e^x), computed without overflow; its derivative is sigmoid(x)."""
        return apply1(rules.SOFTPLUS, self)

    def relu(self) -> Value:
        return apply1(rules.RELU, self)

    def sqrt(self) -> Value:
        return apply1(rules.SQRT, self)

    def abs(self) -> Value:
        return apply1(rules.ABS, self)

    def neg(self) -> Value:
        return apply1(rules.NEG, self)


class Constant(float):
    """A plain number inside a graph (the 2 in ``2 * x``): a float that answers like a leaf.

    Tables and pictures show it as the number itself. It has no gradient to keep (``grad`` reads
    0 and ignores updates) and no parents. Being a float subclass without instance attributes, it
    costs about 48 bytes instead of a Value's hundred, and since it holds no state, equal constants
    are shared (see `constant`), which matters in long chains such as ``y = y * 1.0001 + 0.001``.
    """

    __slots__ = ()
    is_constant = True
    label = ""
    op = CONST
    _op = ""
    rule = None
    parents: tuple[Node, ...] = ()
    _parents: tuple[Node, ...] = ()
    _prev: tuple[Node, ...] = ()
    _rule = None
    _saved: tuple[float, ...] = ()

    @property
    def data(self) -> float:
        return self  # itself: the number the operations that use it saved

    @property
    def grad(self) -> float:
        return 0.0

    @grad.setter
    def grad(self, value: float) -> None:
        pass  # a constant is not differentiated: backward() may add to it, nothing is kept

    def local_grads(self) -> tuple[float, ...]:
        return ()

    def _backward(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"Constant({float(self)!r})"


_new = object.__new__
_isfinite = math.isfinite
_sweep_lock = threading.Lock()  # one reverse sweep at a time: threads add up grads exactly
_lock, _unlock = _sweep_lock.acquire, _sweep_lock.release

# --- recording: no_grad, per thread and per asyncio task ------------------------------------------

_grad_enabled: ContextVar[bool] = ContextVar("microgrowth_grad_enabled", default=True)
_open_no_grad = 0  # no_grad blocks open in any thread; while 0 the hot path skips the ContextVar
_count_lock = threading.Lock()


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside ``with no_grad():`` operations compute ``data`` only: no parents, no closures.

    For inference and for optimizer updates, as in PyTorch. It holds for the thread (and asyncio
    task) that entered it; other threads keep recording. Restored on exit, also after an
    exception; nests.
    """
    global _open_no_grad
    token = _grad_enabled.set(False)
    with _count_lock:
        _open_no_grad += 1
    try:
        yield
    finally:
        _grad_enabled.reset(token)
        with _count_lock:
            _open_no_grad -= 1


def is_grad_enabled() -> bool:
    """False inside `no_grad` (in this thread or task)."""
    return not _open_no_grad or _grad_enabled.get()


_DOMAIN_ERRORS = (ArithmeticError, ValueError)


def topological_order(root: Node) -> list[Node]:
    """Every node ``root`` depends on, each after all of its parents, ``root`` last.

    Iterative depth-first search, so a chain of a million operations is fine. Parents are
    visited in argument order, so the order (and every table and picture built on it) is the
    same on every run. `backward()`, the adjoint table and the graph renderer all use it.
    """
    order: list[Node] = []
    seen: set[Node] = set()  # equal constants count as one: they have nothing to propagate
    stack: list[Node | None] = [root]
    while stack:
        node = stack.pop()
        if node is None:  # every parent of the node below the marker is done
            order.append(stack.pop())  # type: ignore[arg-type]
            continue
        if node in seen:
            continue
        seen.add(node)
        parents = node._parents
        n = len(parents)
        # Push the node, a marker, then its parents, the first one on top. An input (no parents)
        # would be popped next and put in the order at once: that is done here without the
        # stack, the same order with less work (most parents are inputs or constants). Written
        # out for one and two parents: as one loop over the parents it costs W1 10% more.
        if n == 2:
            a, b = parents
            if a._parents:
                stack += (node, None, b, a)
                continue
            if a not in seen:
                seen.add(a)
                order.append(a)
            if b._parents:
                stack += (node, None, b)
                continue
            if b not in seen:
                seen.add(b)
                order.append(b)
            order.append(node)
        elif n == 1:
            a = parents[0]
            if a._parents:
                stack += (node, None, a)
                continue
            if a not in seen:
                seen.add(a)
                order.append(a)
            order.append(node)
        elif n:
            stack += (node, None, *parents[::-1])
        else:
            order.append(node)
    return order


# --- the reverse sweep ----------------------------------------------------------------------------


Record = list[tuple[Node, Any, "tuple[Any, ...] | None"]]
Wanted = dict[Node, bool | None] | None  # which adjoints are wanted, see `_wanted`


def reverse_sweep(
    root: Value,
    seed: float | Value = 1.0,
    *,
    create_graph: bool = False,
    record: Record | None = None,
    fixed: Iterable[Node] = (),
) -> dict[Node, Any]:
    """The reverse sweep: the adjoint of every node of ``root``'s graph, d root/d node * seed,
    returned by node (nodes whose adjoint is 0 left out); ``grad`` is left alone.

    Visit the nodes from ``root`` back to the inputs; along each edge add the local partial
    times the node's adjoint to the parent's adjoint. An adjoint that is not finite, or a
    partial that cannot be computed where it is needed, is an error naming the operation.

    On floats, a node whose adjoint is exactly 0 passes nothing on (relu(log(1e-310)) has
    gradient 0, not 0 * inf). With ``create_graph`` the adjoints are Values, built from the same
    formulas, so they can be differentiated again. ``record`` receives, per operation in sweep
    order, ``(node, adjoint, local partials)`` (partials None where not needed): what
    `reverse_steps` turns into the rows of the adjoint table. ``fixed`` are inputs whose
    adjoints are not wanted (a transform's arguments outside ``argnums``): a partial that
    cannot be computed is no error where it reaches only them (and constants).

    How: the adjoints are added up in the nodes' ``grad`` slots themselves, one sweep at a time
    (a lock, so threads that share parameters add up exactly); the grads there before are set
    aside first and put back at the end. `Value.backward` runs the same loop, `_sweep`, and adds
    the adjoints to the grads instead of returning them.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward: expected a Value, got {type(root).__name__} {root!r}")
    reached: set[Node] | None = None  # with create_graph: the nodes an adjoint reached
    if create_graph:
        if not is_grad_enabled():
            raise RuntimeError("backward(create_graph=True) inside no_grad(): nothing to build")
        if not isinstance(seed, Value):
            # a number: the adjoints it scales are Values or numbers (checked here, so that a
            # NaN seed is named as the seed, not as some constant)
            seed = constant(_as_number(seed, "backward(grad)"), None)
        reached = {root}
    elif type(seed) is not float or not _isfinite(seed):
        seed = _seed(seed)
    order = topological_order(root)
    wanted: Wanted = dict.fromkeys(fixed, False) or None
    _lock()
    try:
        kept = _set_aside(order)
        try:
            root.grad = seed  # type: ignore[assignment]  # a Value with create_graph
            if reached is None:
                _sweep(order, record, wanted)
                return {node: node.grad for node in order if node.grad}
            _sweep(order, record, wanted, reached)
            return {node: node.grad for node in order if node in reached}
        finally:
            for i, node in enumerate(order):
                node.grad = kept[i] if kept else 0.0
    finally:
        _unlock()


def _set_aside(order: list[Node]) -> list[float] | None:
    """The grads of earlier passes, if any is not 0, and every grad set to 0 for the sweep."""
    for node in order:
        if node.grad:
            kept = [n.grad for n in order]
            for n in order:
                n.grad = 0.0
            return kept
    return None


def _seed(seed: object) -> float:
    if isinstance(seed, Value):
        raise TypeError(
            f"backward(grad): the seed must be a plain number such as 1.0, got a Value "
            f"(data={seed.data!r}); pass seed.data, or create_graph=True to differentiate "
            "through it"
        )
    return _as_number(seed, "backward(grad)")


def _sweep(
    order: list[Node], record: Record | None, wanted: Wanted, reached: set[Node] | None = None
) -> None:
    """The loop of the reverse sweep, with each node's adjoint in its ``grad``: on floats, or,
    given ``reached`` (``create_graph``: the nodes an adjoint has reached), on Values, whose
    partials are computed from the parents and the node themselves, so that the adjoints are
    Values with a graph of their own."""
    # An inf or a NaN adjoint passes on inf or NaN to every parent, so it shows where the paths
    # end: at an input, or at an operation whose parents are all constants. `total` adds up
    # the adjoints there (cheaper than adding all of them up; one test at the end).
    graph = reached is not None
    total = 0.0
    for node in reversed(order):
        rule = node._rule
        g = node.grad
        if graph:
            if node not in reached:  # type: ignore[operator]
                continue
            if rule is None:
                if node._parents:
                    raise _custom_graph_error(node)  # type: ignore[arg-type]
                continue
        elif rule is None:  # an input, or a custom operation with a hand-written _backward
            total += g
            if node._parents and g:
                _sweep_custom(node, g, record)  # type: ignore[arg-type]
            continue
        elif not g:  # nothing to pass on
            if record is not None:
                record.append((node, g, None))
            continue
        parents = node._parents
        saved = (*parents, node) if graph else node._saved  # Values build the gradient's graph
        local = rule.constant_partials  # add, sub, neg, pos: numbers, no call needed
        if local is None:
            try:
                local = rule.local_partials(*saved)
            except _DOMAIN_ERRORS:
                local = _needed_partials(node, saved, wanted)
        if record is not None:
            record.append((node, g, local))
        if graph:
            _check_unchanged(node)
            for i, (parent, d) in enumerate(zip(parents, local)):
                if parent.is_constant or not rule.differentiable(i):
                    continue
                term = d * g
                if parent in reached:  # type: ignore[operator]
                    parent.grad = parent.grad + term
                else:
                    parent.grad = term
                    reached.add(parent)  # type: ignore[union-attr]
        # A constant saved itself (and takes no adjoint). An input's .data is the very float
        # object saved, unless it was assigned since: only then are the values compared.
        elif len(parents) == 2:  # most nodes: the loop below, written out for speed
            a, b = parents
            x0, x1, _ = saved
            d0, d1 = local
            if a is not x0:
                if a.data is not x0:
                    _check_unchanged(node)
                a.grad += d0 * g
            else:
                total += g
            if b is not x1:
                if b.data is not x1:
                    _check_unchanged(node)
                b.grad += d1 * g
            else:
                total += g
        else:
            for parent, d, x in zip(parents, local, saved):
                if parent is x:
                    total += g
                    continue
                if parent.data is not x:
                    _check_unchanged(node)
                parent.grad += d * g
    if total - total != 0.0:  # an inf or a NaN somewhere?
        _check_finite(order, wanted)


def _check_unchanged(node: Node) -> None:
    for parent, x in zip(node._parents, node._saved):
        if parent.data != x:
            raise _changed_error(node, parent, node._saved)


class Step(NamedTuple):
    """One edge of the reverse sweep: ``adjoint[parent] += partial * adjoint[node]``."""

    node: Node
    arg: int  # which argument of node's operation the parent is
    parent: Node
    partial: float | None  # None where it was not needed (node's adjoint is 0) and cannot be had
    contribution: float  # partial * the node's adjoint
    adjoint: float  # the node's adjoint


def reverse_steps(root: Value, seed: float = 1.0) -> tuple[list[Step], dict[Node, float]]:
    """Every step of the reverse sweep, in order, and the adjoints: what the adjoint table, the
    graph's edge labels and compiled code read. Constants among the parents are left out."""
    record: Record = []
    adjoint = reverse_sweep(root, seed, record=record)
    steps = []
    for node, g, local in record:
        if local is None:  # adjoint 0: every contribution is 0; show the partial if it exists
            try:
                local = node.local_grads()
            except _DOMAIN_ERRORS:
                local = (None,) * len(node._parents)
        for i, (parent, d) in enumerate(zip(node._parents, local)):
            if parent.is_constant or (node._rule is not None and not node._rule.differentiable(i)):
                continue
            steps.append(Step(node, i, parent, d, d * g if d is not None else 0.0, g))
    return steps, adjoint


def _nothing() -> None:
    pass


def _backward_step(node: Value) -> None:
    """micrograd's ``node._backward()`` for a rule node: one node's part of the sweep."""
    for parent, d in zip(node._parents, node.local_grads()):
        parent.grad += d * node.grad


def _sweep_custom(node: Value, g: float, record: Record | None) -> None:
    """A custom operation's closure adds into ``.grad`` (micrograd's way): run it with the
    node's adjoint in ``node.grad`` and the parents' grads at 0, read what it added, restore."""
    added = _run_custom(node, g)
    if record is not None:
        record.append((node, g, tuple(c / g for c in added)))
    for parent, c in zip(node._parents, added):
        parent.grad += c


def _custom_graph_error(node: Value) -> TypeError:
    return TypeError(
        f"backward(create_graph=True): the custom operation {node.op!r} has a hand-written "
        "_backward, which gives numbers, not a graph; declare it with "
        "microgrowth.rules.rule(...) to get second derivatives"
    )


def _run_custom(node: Value, g: float) -> list[float]:
    """What a custom ``_backward`` adds to each parent's grad for the adjoint ``g`` (the caller
    holds the sweep lock)."""
    parents = list(dict.fromkeys(node._parents))
    kept = [p.grad for p in parents], node.grad
    try:
        for p in parents:
            p.grad = 0.0
        node.grad = g
        node._backward()
        total = {p: p.grad for p in parents}
    finally:
        for p, old in zip(parents, kept[0]):
            p.grad = old
        node.grad = kept[1]
    seen: set[Node] = set()
    added = []
    for p in node._parents:  # a parent listed twice got both edges' parts at once
        added.append(0.0 if p in seen else total[p])
        seen.add(p)
    return added


def _custom_partials(node: Value) -> tuple[float, ...]:
    with _sweep_lock:
        return tuple(_run_custom(node, 1.0))


def tangent_sweep(
    outputs: Sequence[Value],
    seeds: dict[Node, float],
    record: list[tuple[Node, tuple[float, ...], float]] | None = None,
) -> dict[Node, float]:
    """The forward sweep of forward mode: the tangent of every node, v̇_i = Σ_j ∂v_i/∂v_j v̇_j,
    given the tangents of some inputs (the others 0). The partials are the rule table's, as in
    the reverse sweep. ``record`` receives ``(node, local partials, tangent)`` per operation."""
    order: list[Node] = []
    seen: set[Node] = set()
    # The union of topological orders is one. Last output first: where the outputs are the steps
    # of one computation (h_k from h_{k-1}), the first walk finds every node and the others are
    # skipped, so one sweep costs one pass over the graph, not one walk back per output.
    for y in reversed(outputs):
        if y in seen:
            continue
        for node in topological_order(y):
            if node not in seen:
                seen.add(node)
                order.append(node)
    tangent: dict[Node, float] = {}
    for node in order:
        if not node._parents:
            tangent[node] = seeds.get(node, 0.0) if isinstance(node, Value) else 0.0
            continue
        ts = [tangent[p] for p in node._parents]
        try:
            local = node.local_grads()
        except _DOMAIN_ERRORS:
            if node._rule is None:
                raise
            needed = any(ts)  # no tangent flows in: no partial is needed
            local = _needed_partials(node, node._saved) if needed else (math.nan,) * len(ts)
        t = sum((d * dt for d, dt in zip(local, ts) if dt), 0.0)
        if record is not None:
            record.append((node, local, t))
        tangent[node] = t
    if not all(map(_isfinite, tangent.values())):
        raise FloatingPointError("forward mode: a tangent is infinite or NaN; check the inputs")
    return tangent


# --- errors of the sweep ----------------------------------------------------------------------

_PARTIALS: dict[tuple[str, int], Callable[..., tuple[Any, ...]]] = {}


def _needed_partials(node: Node, args: tuple[Any, ...], wanted: Wanted = None) -> tuple[Any, ...]:
    """The partials one by one, after the rule's function failed: an input that needs none (a
    constant, or an input reaching only ``fixed`` ones, see `reverse_sweep`) gets 0, and a
    failure where one is needed becomes a clear error."""
    rule = node._rule
    assert rule is not None
    out = []
    for i, parent in enumerate(node._parents):
        formula_i = rule.partials[i % len(rule.partials) if rule.variadic else i]
        if parent.is_constant or formula_i is None or (wanted and not _wanted(parent, wanted)):
            out.append(0.0)
            continue
        key = (rule.name, i)
        if key not in _PARTIALS:
            _PARTIALS[key] = formula.compile_partials(rule.variables, (formula_i,))
        try:
            out.append(_PARTIALS[key](*args)[0])
        except _DOMAIN_ERRORS as error:
            raise _partial_error(node, i, error) from None
    return tuple(out)


def _wanted(node: Node, memo: dict[Node, bool | None]) -> bool:
    """Whether ``node``'s adjoint is wanted: yes, unless every path back from it ends at a fixed
    input or a constant, and at least one at a fixed input. ``memo`` starts with the fixed
    inputs (False) and keeps what it works out (True: reaches a wanted input; None: only
    constants), so a sweep walks each node once. Asked only after a partial failed."""
    stack = [node]
    while stack:
        n = stack[-1]
        if n in memo:
            stack.pop()
        elif n.is_constant or not n._parents:
            memo[n] = None if n.is_constant else True
            stack.pop()
        else:
            todo = [p for p in n._parents if p not in memo]
            if todo:
                stack.extend(todo)
                continue
            states = [memo[p] for p in n._parents]
            memo[n] = True if True in states else False if False in states else None
            stack.pop()
    return memo[node] is not False


def _inputs_text(node: Node) -> str:
    xs = [p.data for p in node._parents]
    return ", ".join(repr(float(x)) for x in xs[:6]) + (", ..." if len(xs) > 6 else "")


def _partial_error(node: Node, i: int, error: Exception) -> Exception:
    rule = node._rule
    assert rule is not None
    name = rule.variables[i] if not rule.variadic else f"input {i}"
    why = f"{error}" if str(error) else type(error).__name__
    kind = type(error) if isinstance(error, ArithmeticError) else ValueError
    return kind(
        f"backward: {rule.name}({_inputs_text(node)}): the local partial d/d{name} = "
        f"{rule.partials[i] if not rule.variadic else 'w[i] or x[i]'} cannot be computed here "
        f"({why}): the derivative is undefined or infinite at this point"
    )


def _changed_error(node: Node, parent: Node, saved: tuple[float, ...]) -> Exception:
    i = node._parents.index(parent)
    who = f" {parent.label!r}" if parent.label else ""
    return RuntimeError(
        f"backward: input {i}{who} of {node.op}(...) was {float(saved[i])!r} when the operation "
        f"was computed, and its .data is now {float(parent.data)!r}: the graph no longer "
        "matches its numbers. Compute the expression again after changing .data (PyTorch "
        "refuses the same with its version counter)."
    )


def _number(g: Any) -> float:
    return float(g.data) if isinstance(g, Value) else float(g)


def _accumulate(nodes: Sequence[Node], adjoints: Sequence[float], before: Sequence[float]) -> None:
    """``grad = before + adjoint`` for each node, all or none: a grad that is inf or NaN already
    (set by hand), or a sum that overflows, is an error naming the node."""
    sums = [a + b for a, b in zip(adjoints, before)]
    if all(map(_isfinite, sums)):
        for node, total in zip(nodes, sums):
            node.grad = total
        return
    i = next(i for i, total in enumerate(sums) if not _isfinite(total))
    node, old = nodes[i], before[i]
    if node.label:
        who = repr(node.label)
    elif node._parents:
        who = f"a {node.op} node"
    else:
        who = f"the input Value({float(node.data)!r})"
    why = (
        f"its grad is {old!r} already, from before this backward (set by hand, or by code "
        "that wrote .grad)"
        if not _isfinite(old)
        else f"its grad {old!r} plus this pass's {adjoints[i]!r} is beyond the float range"
    )
    raise FloatingPointError(
        f"backward: {who}: {why}. backward adds to grad; no grad was changed. Call zero_grad() "
        "(or set .grad = 0.0) first."
    )


def _check_finite(order: list[Node], wanted: Wanted = None) -> None:
    """After a sweep whose adjoints do not add up to a finite number: say which step made an
    infinite or NaN adjoint (or return, if they are all finite and only their sum is not)."""
    if all(_isfinite(node.grad) for node in order):
        return
    for node in reversed(order):
        g, rule = node.grad, node._rule
        if rule is None or not g or not _isfinite(g):
            continue
        try:
            local = rule.local_partials(*node._saved)
        except _DOMAIN_ERRORS:
            local = _needed_partials(node, node._saved, wanted)
        for i, (parent, d) in enumerate(zip(node._parents, local)):
            if parent.is_constant or _isfinite(d * g):
                continue
            raise FloatingPointError(
                f"backward: {rule.name}({_inputs_text(node)}): the local partial by input {i} is "
                f"{d!r}, times the adjoint {g!r}: {d * g!r}. No gradient was written (inf and NaN "
                "have no use as gradients); the operation is at the edge of its domain here: move "
                "the input, or rewrite the expression (e.g. log(x + eps))."
            )
    raise FloatingPointError(
        "backward: the adjoints overflow (a sum of contributions is beyond the float range); "
        "no gradient was written. Scale the expression down."
    )


# --- making nodes -------------------------------------------------------------------------------


def apply1(rule: Rule, a: Operand) -> Value:
    """`apply` for a one-input rule, without the arity check (what ``x.sin()`` calls)."""
    pa: Node = a if isinstance(a, Value) else constant(a, rule)
    x = pa.data
    try:
        y = rule.forward(x)
    except _DOMAIN_ERRORS as error:
        raise _domain_error(rule, (x,), error) from None
    if not _isfinite(y):
        raise _domain_error(rule, (x,), _not_finite(y))
    if _open_no_grad and not _grad_enabled.get():
        return Value(y)
    node: Value = _new(Value)  # Value.__init__ without its checks: this is the hottest path
    node.data, node.grad, node.label = y, 0.0, ""
    node._parents, node._rule, node._saved = (pa,), rule, (x, y)
    return node


def _apply2(rule: Rule, a: Operand, b: Operand) -> Value:
    pa: Node = a if isinstance(a, Value) else constant(a, rule)
    pb: Node = b if isinstance(b, Value) else constant(b, rule)
    x1, x2 = pa.data, pb.data
    try:
        y = rule.forward(x1, x2)
    except _DOMAIN_ERRORS as error:
        raise _domain_error(rule, (x1, x2), error) from None
    if not _isfinite(y):
        raise _domain_error(rule, (x1, x2), _not_finite(y))
    if _open_no_grad and not _grad_enabled.get():
        return Value(y)
    node: Value = _new(Value)
    node.data, node.grad, node.label = y, 0.0, ""
    node._parents, node._rule, node._saved = (pa, pb), rule, (x1, x2, y)
    return node


def _apply_n(rule: Rule, args: Sequence[Operand]) -> Value:
    nodes: tuple[Node, ...] = tuple(a if isinstance(a, Value) else constant(a, rule) for a in args)
    xs = tuple(a.data for a in nodes)
    try:
        y = rule.forward(*xs)
    except _DOMAIN_ERRORS as error:
        raise _domain_error(rule, xs, error) from None
    if not _isfinite(y):
        raise _domain_error(rule, xs, _not_finite(y))
    if _open_no_grad and not _grad_enabled.get():
        return Value(y)
    node: Value = _new(Value)
    node.data, node.grad, node.label = y, 0.0, ""
    node._parents, node._rule, node._saved = nodes, rule, (*xs, y)
    return node


def apply(rule: Rule, *args: Operand) -> Value:
    """Apply a rule of the table to Values or numbers: ``apply(rules.SIN, x)``."""
    if rule.variadic:
        k = len(rule.partials)  # dot: w_1..w_n then x_1..x_n, so 2n inputs
        if not args or len(args) % k:
            raise TypeError(
                f"{rule.name} takes a positive multiple of {k} arguments, got {len(args)}"
            )
        return _apply_n(rule, args)
    if len(args) != rule.arity:
        raise TypeError(f"{rule.name} takes {rule.arity} argument(s), got {len(args)}")
    return apply1(rule, args[0]) if rule.arity == 1 else _apply2(rule, args[0], args[1])


def dot(ws: Sequence[Operand], xs: Sequence[Operand]) -> Value:
    """``w_1 x_1 + ... + w_n x_n`` as one node with 2n parents (w_1..w_n, then x_1..x_n).

    Same value and gradients as the sum of products, with one node instead of 2n - 1: what a
    neuron uses, so an MLP's graph is small enough to train in seconds.
    """
    if len(ws) != len(xs) or not ws:
        raise ValueError(
            f"dot: needs two sequences of the same length, at least 1; got {len(ws)} and {len(xs)}"
        )
    return _apply_n(rules.DOT, [*ws, *xs])


def as_values(xs: Sequence[float]) -> list[Value]:
    """Plain numbers as input Values (a data point fed to a model)."""
    return [x if isinstance(x, Value) else Value(x) for x in xs]


_CONSTANTS: dict[float, Constant] = {}  # constants hold no state, so equal ones can be shared


def constant(x: object, rule: Rule | None = None) -> Constant:
    """A plain number as a graph node that tables and graphs show as the number itself.

    Equal numbers share one `Constant` (a cache of a few thousand, cleared when full): a chain
    like ``y = y * 1.0001 + 0.001`` then allocates no new object for its numbers.
    """
    if type(x) is Constant:
        return x
    value = _as_number(x, rule.name if rule else "constant")
    shared = _CONSTANTS.get(value)
    if shared is None or value == 0.0:  # 0.0 == -0.0: keep the sign of zero
        if len(_CONSTANTS) >= 4096:
            _CONSTANTS.clear()
        shared = _CONSTANTS[value] = Constant(value)
    return shared


def _data(x: Operand) -> float:
    return x.data if isinstance(x, Value) else _as_number(x, "comparison")


def _as_number(x: object, where: str) -> float:
    """The float of ``x``, or a clear error saying what was wrong and what to do."""
    if type(x) is float or type(x) is int or isinstance(x, numbers.Real):
        y = float(x)  # bools too: True is 1, as in Python and PyTorch
    elif isinstance(x, Value):
        raise TypeError(
            f"{where}: expected a plain number, got a Value (data={x.data!r}); use its .data"
        )
    else:
        raise TypeError(
            f"{where}: expected a number or a Value, got {type(x).__name__} {x!r}; "
            "convert it first, e.g. float(text)"
        )
    if not _isfinite(y):
        raise ValueError(
            f"{where}: got {y!r}; microgrowth works with finite numbers only "
            "(NaN and infinity have no useful derivatives). Check what produced it."
        )
    return y


def _not_finite(y: float) -> Exception:
    return OverflowError(f"the result is {y}") if y == y else ValueError("the result is nan")


def _domain_error(rule: Rule, inputs: tuple[float, ...], error: Exception) -> Exception:
    shown = ", ".join(repr(float(x)) for x in inputs[:6]) + (", ..." if len(inputs) > 6 else "")
    why = rule.domain_text or "the result must be a finite number"
    if not all(map(_isfinite, inputs)):  # a .data set to nan or inf by hand
        why = "an input is not a finite number (was .data set to nan or inf?)"
        error = ValueError("microgrowth works with finite numbers only")
    elif isinstance(error, OverflowError) and rule.name != "exp":  # exp's text is about overflow
        why = "the result is too large for a float (beyond about ±1.8e308)"  # not a domain error
    kind: type[Exception] = ValueError
    if isinstance(error, (OverflowError, ZeroDivisionError)):
        kind = type(error)
    return kind(f"{rule.name}({shown}): {why} ({error}). Check the input to {rule.name}.")


# --- rules declared after this module: a method for each one-input rule ---------------------------


def _add_method(rule: Rule) -> None:
    if rule.arity == 1 and not hasattr(Value, rule.name):
        method = partial(apply1, rule)
        setattr(Value, rule.name, lambda self: method(self))


rules._listeners.append(_add_method)
for _rule in rules.RULES.values():
    _add_method(_rule)
