"""The engine: `Value`, a scalar that remembers how it was computed, and `backward()`.

Every `Value` made by an operation keeps its inputs (``parents``, an ordered tuple: ``x * x``
has two edges to ``x``), the `Rule` that made it, and its local-gradient closure: the rule's
``partials`` closed over the input numbers saved when the node was made (``_saved``, like
PyTorch's ``save_for_backward``) and the node's output. The closure never refers to the node
itself, so a graph is freed by reference counting the moment it is dropped. It returns one local
partial derivative per parent and changes nothing; `backward()` multiplies by the adjoint and
accumulates: ``parent.grad += local * node.grad`` (Baydin et al. 2018, arXiv:1502.05767, 3.2).

Why the closure is kept as its two halves (the shared rule function and a tuple of numbers)
rather than as a function object per node: a ``functools.partial`` or ``lambda`` costs about 200
bytes and two containers the cyclic garbage collector must scan while the graph is alive; a tuple
of floats costs 48 to 64 bytes and the collector stops scanning it after its first pass. It is
much of why a graph takes a third of micrograd's memory (W4 in benchmarks/). `Value.local`
builds the callable when you want one.

The vocabulary is micrograd's and PyTorch's: ``data``, ``grad``, ``backward()``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Literal, Union, overload

from microgrowth import rules
from microgrowth.rules import Rule

Operand = Union["Value", float, int]
Node = Union["Value", "Constant"]  # what a graph is made of: Values, and constants among parents

CONST = "const"  # the op of a plain number inside a graph, as in 2 * x


class Value:
    """A scalar node of a computation graph: ``data``, ``grad`` and how it was made."""

    __slots__ = ("data", "grad", "label", "_parents", "_rule", "_saved")

    data: float
    grad: float
    label: str
    _parents: tuple[Node, ...]
    _rule: Rule | None
    _saved: tuple[float, ...]  # the numbers the local gradients need: inputs, then output

    def __init__(self, data: float, label: str = "") -> None:
        if type(data) is not float or not _isfinite(data):
            data = _as_number(data, "Value")
        self.data = data
        self.grad = 0.0
        self.label = label
        self._parents = ()
        self._rule = None
        self._saved = ()

    # --- what the node knows ----------------------------------------------------------------

    is_constant = False  # see Constant

    @property
    def parents(self) -> tuple[Node, ...]:
        """The inputs of the operation that made this node, in argument order."""
        return self._parents

    @property
    def rule(self) -> Rule | None:
        """The `Rule` that made this node; None for an input (a leaf)."""
        return self._rule

    @property
    def op(self) -> str:
        """The operation's name ("mul", "log", ...); "" for an input (constants say "const")."""
        return "" if self._rule is None else self._rule.name

    _op = op  # micrograd's name

    def local_grads(self) -> tuple[float, ...]:
        """The local partial derivatives d self / d parent, one per parent (empty for a leaf)."""
        rule = self._rule
        return () if rule is None else rule.partials(*self._saved)

    @property
    def local(self) -> Callable[[], tuple[float, ...]]:
        """The local-gradient closure as a callable: ``node.local()`` == ``node.local_grads()``."""
        if self._rule is None:
            return tuple
        return partial(self._rule.partials, *self._saved)

    def __repr__(self) -> str:
        extra = f", label={self.label!r}" if self.label else ""
        extra += f", op={self.op!r}" if self._rule is not None else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{extra})"

    def __float__(self) -> float:
        return self.data

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
        ``zero_grad()`` (here, or on a model) first to recompute from scratch. If a local
        derivative cannot be computed, the error is raised and every ``grad`` is left as it was.

        With ``create_graph=True`` the adjoints are also built as Values, a graph of their own,
        and returned by node: ``g = y.backward(create_graph=True)[x]`` is dy/dx as a Value, and
        ``g.backward()`` gives second derivatives. Without it, backward stays on plain floats.
        """
        if create_graph:
            return self._backward_graph(grad)
        if type(grad) is not float:
            grad = _as_number(grad, "backward")
        order = topological_order(self)
        before = None  # the grads of earlier passes, if any: this pass runs on zeros
        for node in order:
            if node.grad:
                before = [n.grad for n in order]
                for n in order:
                    n.grad = 0.0
                break
        try:
            self.grad = grad
            for node in reversed(order):
                rule = node._rule
                if rule is None:
                    continue
                g = node.grad
                local = rule.partials(*node._saved)
                parents = node._parents
                if len(parents) == 2:  # most nodes: the loop below, unrolled
                    a, b = parents
                    a.grad += local[0] * g
                    b.grad += local[1] * g
                else:
                    for parent, d in zip(parents, local):
                        parent.grad += d * g
        except BaseException:
            for i, node in enumerate(order):
                node.grad = before[i] if before else 0.0
            raise
        if before:
            for node, old in zip(order, before):
                node.grad += old
        return None

    def _backward_graph(self, grad: float) -> dict[Node, Value]:
        """The reverse sweep with Values instead of floats: the rules' partials are written
        with operations that work on both, so the same table builds the gradient's graph."""
        if not _recording:
            raise RuntimeError("backward(create_graph=True) inside no_grad(): nothing to build")
        order = topological_order(self)
        adjoint: dict[Node, Value] = {self: Value(_as_number(grad, "backward"), label="ȳ")}
        for node in reversed(order):
            rule = node._rule
            if rule is None or node not in adjoint:
                continue
            g = adjoint[node]
            for parent, d in zip(node._parents, rule.partials(*node._parents, node)):
                if parent.is_constant:
                    continue
                term = d * g
                adjoint[parent] = adjoint[parent] + term if parent in adjoint else term
        for node, value in adjoint.items():
            node.grad += value.data
        return adjoint

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
        return _apply1(rules.NEG, self)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return _apply1(rules.ABS, self)

    # --- functions, also available as microgrowth.exp(x) and so on ----------------------------

    def exp(self) -> Value:
        return _apply1(rules.EXP, self)

    def log(self) -> Value:
        """The natural logarithm."""
        return _apply1(rules.LOG, self)

    def sin(self) -> Value:
        return _apply1(rules.SIN, self)

    def cos(self) -> Value:
        return _apply1(rules.COS, self)

    def tan(self) -> Value:
        return _apply1(rules.TAN, self)

    def tanh(self) -> Value:
        return _apply1(rules.TANH, self)

    def sigmoid(self) -> Value:
        return _apply1(rules.SIGMOID, self)

    def softplus(self) -> Value:
        """ln(1 + e^x), computed without overflow; its derivative is sigmoid(x)."""
        return _apply1(rules.SOFTPLUS, self)

    def relu(self) -> Value:
        return _apply1(rules.RELU, self)

    def sqrt(self) -> Value:
        return _apply1(rules.SQRT, self)

    def abs(self) -> Value:
        return _apply1(rules.ABS, self)


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
    rule = None
    parents: tuple[Node, ...] = ()
    _parents: tuple[Node, ...] = ()
    _rule = None
    _saved: tuple[float, ...] = ()

    @property
    def data(self) -> float:
        return float(self)

    @property
    def grad(self) -> float:
        return 0.0

    @grad.setter
    def grad(self, value: float) -> None:
        pass  # a constant is not differentiated: backward() may add to it, nothing is kept

    def local_grads(self) -> tuple[float, ...]:
        return ()

    def __repr__(self) -> str:
        return f"Constant({float(self)!r})"


_new = object.__new__
_isfinite = math.isfinite
_recording = True  # False inside no_grad(): operations make plain Values, no graph


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside ``with no_grad():`` operations compute ``data`` only: no parents, no closures.

    For inference and for optimizer updates, as in PyTorch. Restored on exit, also after an
    exception; nests. (The switch is per process, not per thread.)
    """
    global _recording
    previous, _recording = _recording, False
    try:
        yield
    finally:
        _recording = previous


def is_grad_enabled() -> bool:
    """False inside `no_grad`."""
    return _recording


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
        elif node not in seen:
            seen.add(node)
            parents = node._parents
            if not parents:
                order.append(node)
            else:
                stack.append(node)
                stack.append(None)
                if len(parents) == 2:  # the first parent on top: visited first
                    stack.append(parents[1])
                    stack.append(parents[0])
                else:
                    stack.extend(reversed(parents))
    return order


def _make(rule: Rule, parents: tuple[Node, ...], saved: tuple[float, ...]) -> Value:
    """The node of ``rule`` applied to ``parents``; ``saved`` ends with its output."""
    node: Value = _new(Value)
    node.data = saved[-1]
    node.grad = 0.0
    node.label = ""
    node._parents = parents
    node._rule = rule
    node._saved = saved
    return node


def _apply1(rule: Rule, a: Operand) -> Value:
    pa: Node = a if isinstance(a, Value) else constant(a, rule)
    x = pa.data
    try:
        y = rule.forward(x)
    except _DOMAIN_ERRORS as error:
        raise _domain_error(rule, (x,), error) from None
    if not _isfinite(y):
        raise _domain_error(rule, (x,), OverflowError(f"result {y}"))
    if not _recording:
        return Value(y)
    node: Value = _new(Value)  # what _make does, inlined: this is the hottest path
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
        raise _domain_error(rule, (x1, x2), OverflowError(f"result {y}"))
    if not _recording:
        return Value(y)
    node: Value = _new(Value)  # what _make does, inlined: this is the hottest path
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
        raise _domain_error(rule, xs, OverflowError(f"result {y}"))
    if not _recording:
        return Value(y)
    return _make(rule, nodes, (*xs, y))


def apply(rule: Rule, *args: Operand) -> Value:
    """Apply a rule of the table to Values or numbers: ``apply(rules.SIN, x)``."""
    if rule.variadic:
        return _apply_n(rule, args)
    if len(args) != rule.arity:
        raise TypeError(f"{rule.name} takes {rule.arity} argument(s), got {len(args)}")
    return _apply1(rule, args[0]) if rule.arity == 1 else _apply2(rule, args[0], args[1])


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
    value = _as_number(x, rule.name if rule else "constant")
    shared = _CONSTANTS.get(value)
    if shared is None or value == 0.0:  # 0.0 == -0.0: keep the sign of zero
        if len(_CONSTANTS) >= 4096:
            _CONSTANTS.clear()
        shared = _CONSTANTS[value] = Constant(value)
    return shared


def _as_number(x: object, where: str) -> float:
    """The float of ``x``, or a clear error saying what was wrong and what to do."""
    if isinstance(x, bool):
        raise TypeError(f"{where}: got the bool {x!r}; write the number 1.0 or 0.0 instead")
    if type(x) is float or type(x) is int or isinstance(x, numbers.Real):
        y = float(x)
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


def _domain_error(rule: Rule, inputs: tuple[float, ...], error: Exception) -> Exception:
    shown = ", ".join(repr(x) for x in inputs[:6]) + (", ..." if len(inputs) > 6 else "")
    why = rule.domain_text or "the result is not a finite number"
    kind: type[Exception] = ValueError
    if isinstance(error, (OverflowError, ZeroDivisionError)):
        kind = type(error)
    return kind(f"{rule.name}({shown}): {why} ({error}). Check the input to {rule.name}.")
