"""Compile once, replay on floats: the adjoint table as a straight-line Python program.

``cf = microgrowth.compile(f)`` runs ``f`` once on Values (the normal engine), records the graph
and writes it out as Python source: the forward sweep, one line per row of the primal trace, then
the reverse sweep, one line per row of the adjoint trace, named as the table names them
(v_{-1} -> ``v_m1``, v̄_3 -> ``vbar_3``). Every line comes from the rule table: a forward line
calls the rule's own forward function (or writes its operator), an adjoint line is the rule's
partial formula printed by `formula.render`; nothing here is written per operation. The source is
compiled once, and each later call ``cf(*args)`` evaluates it on plain floats::

    >>> import microgrowth as mg
    >>> cf = mg.compile(lambda x1, x2: mg.log(x1) + x1 * x2 - mg.sin(x2))
    >>> value, (dx1, dx2) = cf(2.0, 5.0)
    >>> round(value, 4), dx1, round(dx2, 4)
    (11.6521, 5.5, 1.7163)
    >>> print(cf.source.splitlines()[2])
        v_1 = log(v_m1)

Retracing follows JAX's ``jit``: a call with a different number of arguments, or lists of a
different length, records again; Python control flow that depends on values (``if x > 0``) is
frozen at recording, while the kinks of the rule table (relu, abs) stay data-dependent, because
their partials are expressions such as ``(a > 0)``. ``compile(f, check=True)`` re-runs the
interpreter on every call and raises `ReplayMismatch` if the numbers differ; without it, a
program's first call at a point other than the one it was recorded at is checked so, and after
a mismatch every call is. Where the replay fails and the interpreter does not (a partial on an
edge whose adjoint is exactly 0), the call returns the interpreter's numbers.

A call with floats only is one generated Python function (`Program.entry`): it checks the
arguments, runs the program's own lines, checks the results are finite and packs them; anything
else (ints, lists, a new shape, inf or NaN) goes the general way. Python compiles the reverse
sweep's ``vbar_i * 1.0`` as ``vbar_i``, the same float to the bit. A graph of more than
`READABLE` values is written compactly, each adjoint on one line with its fan-out sum in place,
and large programs are split into functions of `CHUNK` lines, which pass on only the values
later parts use.

The idea of readable derivative code is Google's Tangent; tracing once and replaying is JAX's
``jit``; the table is Baydin et al. (2018), "Automatic differentiation in machine learning: a
survey", arXiv:1502.05767, Table 2.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import linecache
import math
import numbers
import operator
import re
import threading
import traceback
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import count
from typing import Any

from microgrowth import formula, rules
from microgrowth.engine import Node, Value, _domain_error, reverse_sweep, topological_order
from microgrowth.rules import Rule
from microgrowth.trace import names, table_order

INLINE = 2_000
"""The most rows of a program that `Program.entry` writes into the call's own function (a
longer program is called from it: one call more is nothing beside its run)."""

CHUNK = 50_000
"""Lines per generated function in a large program. (CPython 3.11 compiles one function of a
million lines at about the same speed per line as many small ones, measured; parts keep the
code objects and the tracebacks of a replay small.)"""

READABLE = 5_000
"""The largest graph (in values) whose program is written row for row as the adjoint table
writes it, one line per edge where a value fans out. A larger graph's program writes each adjoint
as one line, its fan-out sum in place (the same terms in the same order, so the same numbers):
nobody reads 80,000 rows, and CPython compiles the quarter as many lines in half the time."""

TERMS = 100
"""The most terms of a sum on one line; a longer sum goes on over more lines, added up in the
same order (CPython's compiler recurses once per term and gives up at a few thousand)."""

Shape = tuple[Any, ...]  # per argument: None (a number), or (list or tuple, length)
_programs = count(1)


class ReplayMismatch(RuntimeError):
    """``compile(f, check=True)``: the replay and the interpreter gave different numbers."""


def identifier(name: str) -> str:
    """A table name as a Python name: v_{-1} -> v_m1, v_0 -> v_0, v_3 -> v_3."""
    return re.sub(r"[{}]", "", name).replace("-", "m")


def _is_operator(rule: Rule) -> bool:
    """True if the rule's forward function is the Python operator its text writes (a * b)."""
    return getattr(operator, getattr(rule.forward, "__name__", ""), None) is rule.forward


def namespace() -> dict[str, Any]:
    """What generated code may call: the formulas' functions, then every rule's forward
    function under the rule's name (log -> math.log, pow -> rules.power, relu -> rules.relu)."""
    space: dict[str, Any] = {"__builtins__": {}, **formula.FUNCTIONS}
    space.update({r.name: r.forward for r in rules.RULES.values() if not _is_operator(r)})
    return space


_templates: dict[tuple[str, tuple[float | None, ...], bool], str] = {}


def _render(source: str, names: dict[str, str | float], factor: bool = False) -> str:
    """`formula.render` in code style (with ``factor``, ready to follow ``vbar_i *``), cached by
    the pattern of names and constants (a graph of a million rows repeats a handful of
    patterns), names put in afterwards."""
    values = names.values()
    key = (source, tuple(v if type(v) is float else None for v in values), factor)
    template = _templates.get(key)
    if template is None:
        slots: dict[str, formula.Name] = {
            k: v if isinstance(v, float) else f"__{i}__" for i, (k, v) in enumerate(names.items())
        }
        template = formula.render(source, slots, style="code", number=repr)
        template = _factor(template) if factor else template
        template = re.sub(r"__(\d+)__", r"{\1}", template)  # for str.format
        _templates[key] = template
    return template.format(*values)


def _factor(code: str) -> str:
    """The partial ready to be written after ``vbar_i *``: in parentheses unless it is a name,
    a non-negative number, a call or a comparison (printed in parentheses already): ``vbar * a *
    b`` would round differently from ``vbar * (a * b)``."""
    tree = ast.parse(code, mode="eval").body
    if isinstance(tree, (ast.Name, ast.Call, ast.Compare)):
        return code
    if isinstance(tree, ast.Constant) and not code.startswith("-"):
        return code
    return f"({code})"


def _partial(node: Node, i: int, arg: Callable[[Node], str | float], me: str) -> str:
    """The local partial of ``node`` (named ``me``) by its input ``i``, with the program's names."""
    rule = node.rule
    assert rule is not None
    parents = node.parents
    if not rule.variadic:
        source = rule.partials[i]
        assert source is not None
        lone = formula._lone(source)
        if lone is not None and lone[1] is None and lone[0] in rule.variables:  # one input: b
            return _factor_name(arg(parents[rule.variables.index(lone[0])]))
        values = {var: arg(p) for var, p in zip(rule.variables, parents)}
    else:
        n = len(parents) // 2
        source = rule.partials[i // n]
        assert source is not None
        if source == "x[i]":  # dot: the partial by w[i] is x[i], and the other way round
            return _factor_name(arg(parents[n + i % n]))
        if source == "w[i]":
            return _factor_name(arg(parents[i % n]))
        values = {"w[i]": arg(parents[i % n]), "x[i]": arg(parents[n + i % n])}
    values["y"] = me
    return _render(source, values, factor=True)


def _factor_name(a: str | float) -> str:
    """A partial that is one input: its name, or its number (in parentheses if negative)."""
    if isinstance(a, str):
        return a
    text = repr(a)
    return f"({text})" if text.startswith("-") else text


class Program:
    """One recorded graph as Python source, compiled: ``run(floats) -> (value, grads, extras)``.

    ``inputs`` are leaf Values of ``root``'s graph in argument order (one that ``root`` does not
    use gets the gradient 0); other leaves are frozen at their value. ``extras`` are nodes whose
    values are returned too (a model's outputs, for its accuracy).
    """

    def __init__(
        self,
        root: Value,
        inputs: Sequence[Value],
        extras: Sequence[Node] = (),
        name: str = "compiled",
    ) -> None:
        order = table_order(root)
        v = {node: identifier(text) for node, text in names(order).items()}
        # per operation, its rule and inputs (names or constants), for the errors of a replay:
        # the program keeps no Value, so the recorded graph is freed
        self.operations: dict[str, tuple[Rule, tuple[str | float, ...]]] = {}
        arg_names = []
        for i, x in enumerate(inputs):
            if x.parents:
                raise TypeError(f"compile: input {i} is computed from others, not a leaf")
            arg_names.append(v.get(x, f"unused_{i}"))
        if len(set(arg_names)) != len(arg_names):
            raise TypeError("compile: the same Value is given as two inputs")
        given = set(inputs)

        def arg(p: Node) -> str | float:
            return float(p.data) if p.is_constant else v[p]

        forward = ["# forward sweep: the primal trace, one line per row"]
        for node in order:
            if node.is_constant or node in given:
                continue
            if not node.parents:  # a Value made inside f, not an argument: frozen
                forward.append(f"{v[node]} = {node.data!r}")
                continue
            rule = node.rule
            if rule is None:
                raise TypeError(
                    f"compile: the custom operation {node.op!r} ({v[node]}) has a hand-written "
                    "_backward, which cannot be written as code; declare it with "
                    "microgrowth.rules.rule(...)"
                )
            args = [arg(p) for p in node.parents]
            if _is_operator(rule):
                code = _render(rule.text, dict(zip(rule.variables, args)))
            else:
                code = (
                    f"{rule.name}({', '.join(a if isinstance(a, str) else repr(a) for a in args)})"
                )
            forward.append(f"{v[node]} = {code}")
            self.operations[v[node]] = (rule, tuple(args))

        # the edges into each node, in the order of the interpreter's reverse sweep (the order
        # of `reverse_steps`, read off the graph: no sweep needed), so sums add up alike
        incoming: dict[Node, list[tuple[Node, int]]] = {}
        for node in reversed(topological_order(root)):
            rule = node.rule
            if rule is None:
                continue
            for i, p in enumerate(node.parents):
                if not p.is_constant and rule.differentiable(i):
                    edges = incoming.get(p)
                    if edges is None:
                        incoming[p] = [(node, i)]
                    else:
                        edges.append((node, i))
        compact = len(order) > READABLE
        self.compact = compact
        reverse = ["# reverse sweep: the adjoint trace, from the output back to the inputs"]
        reverse.append(f"vbar_{v[root][2:]} = 1.0")
        for node in reversed(order):
            if node is root or node.is_constant:
                continue
            target = "vbar_" + v[node][2:]
            parts = incoming.get(node)
            if not parts:
                reverse.append(f"{target} = 0.0")
                continue
            if len(parts) == 1:
                child, i = parts[0]
                me = v[child]
                reverse.append(f"{target} = vbar_{me[2:]} * {_partial(child, i, arg, me)}")
                continue
            terms = []
            if compact:  # the sum written in place: one line per adjoint, same order
                for child, i in parts:
                    me = v[child]
                    terms.append(f"vbar_{me[2:]} * {_partial(child, i, arg, me)}")
            else:  # one row per edge, as the table writes them
                counts = Counter(child for child, _ in parts)
                for child, i in parts:
                    me = v[child]
                    who = f"{target}_from_{me[2:]}" + (f"_arg{i}" if counts[child] > 1 else "")
                    reverse.append(f"{who} = vbar_{me[2:]} * {_partial(child, i, arg, me)}")
                    terms.append(who)
            for k in range(0, len(terms), TERMS):  # a long sum in lines of TERMS terms
                head = [target] if k else []
                reverse.append(f"{target} = {' + '.join(head + terms[k : k + TERMS])}")
        used = set(v.values())
        grads = ["vbar_" + a[2:] if a in used else "0.0" for a in arg_names]
        if any(not e.is_constant and e not in v for e in extras):
            raise ValueError("compile: an extra output is not part of the graph of the result")
        extra = ", ".join(repr(float(e.data)) if e.is_constant else v[e] for e in extras)
        value = v[root]
        result = (
            f"return {value}, {_tuple(', '.join(grads), len(inputs))}, {_tuple(extra, len(extras))}"
        )
        self.filename = f"<microgrowth.compile {name} #{next(_programs)}>"
        body = forward + reverse
        self.source = _functions(name, arg_names, body, result)
        self.rows = len(body) - sum(1 for line in body if line.startswith("#"))
        self._params = arg_names
        self._value = value
        self._grads = grads
        self._body = body if self.rows <= INLINE else None  # for `entry`
        self._filenames = {self.filename}
        self._remember(self.filename, self.source)
        space = namespace()
        exec(builtins.compile(_executed(self.source), self.filename, "exec"), space)
        self.function: Callable[..., tuple[float, tuple[float, ...], tuple[float, ...]]] = space[
            name
        ]

    def _remember(self, filename: str, source: str) -> None:
        """Keep ``source`` in linecache while the program lives: tracebacks show its lines."""
        lines = source.splitlines(keepends=True)
        linecache.cache[filename] = (len(source), None, lines, filename)
        weakref.finalize(self, linecache.cache.pop, filename, None)

    def run(self, args: Sequence[float]) -> tuple[float, tuple[float, ...], tuple[float, ...]]:
        """The value, the gradient by each input, and the extras, at ``args`` (floats)."""
        try:
            return self.function(*args)
        except (ArithmeticError, ValueError) as error:
            raise self._error(error) from None

    def entry(self, otherwise: Callable[[Any, tuple[Any, ...]], Any], point: Any = None) -> Any:
        """A call's whole path for float arguments, as one generated function ``(owner, *args)``
        (`Compiled` makes it its ``__call__``): if the arguments are as many floats as the
        program's inputs (and, given ``point``, equal to it), run the program and, if the value
        and the gradients are finite, return ``(value, grads)``; in every other case return
        ``otherwise(owner, args)``. A program of up to `INLINE` rows is written into it, so a
        call is one Python function call; a longer one is called."""
        params = self._params
        tests = [f"_type({a}) is _float" for a in params] + ["not _more"]
        if point is not None:  # the same numbers, zeros with the same sign
            tests += [
                f"{a} == _p{k}" + (f" and _copysign(1.0, {a}) == _s{k}" if x == 0.0 else "")
                for k, (a, x) in enumerate(zip(params, point))
            ]
        if self._body is not None:  # the program's own lines, the same code as `source`
            body = self._body
            grads = self._grads
            packed = _tuple(", ".join(grads), len(grads))
        else:
            body = [f"{self._value}, _grads, _ = _run({', '.join(params)})"]
            grads = [f"_grads[{k}]" for k in range(len(params))]
            packed = "_grads"
        total = (
            " + ".join([self._value, *grads])
            if len(grads) < TERMS
            else f"_sum(({', '.join(grads)},), {self._value})"
        )
        given = "".join(f"{a}=_NA, " for a in params)
        lines = [
            f"def __call__(_owner, {given}/, *_more):",
            f"    if {' and '.join(tests)}:",
            "        try:",
            *("            " + line for line in body),
            "        except _ERRORS:  # the general path names the row, or gives the interpreter's",
            f"            return _otherwise(_owner, _given({', '.join(params)}) + _more)",
            f"        _total = {total}",
            "        if _total - _total == 0.0:  # finite (inf - inf and nan - nan are nan)",
            f"            return {self._value}, {packed}",
            f"    return _otherwise(_owner, _given({', '.join(params)}) + _more)",
        ]
        source = "\n".join(lines) + "\n"
        filename = f"{self.filename[:-1]} entry{'' if point is None else ' at a point'}>"
        self._filenames.add(filename)
        self._remember(filename, source)
        space = namespace()
        space.update(
            _type=type, _float=float, _NA=_NA, _ERRORS=(ArithmeticError, ValueError),
            _otherwise=otherwise, _given=_given, _run=self.function, _sum=sum,
            _copysign=math.copysign,
        )  # fmt: skip
        if point is not None:
            space.update({f"_p{k}": x for k, x in enumerate(point)})
            space.update({f"_s{k}": math.copysign(1.0, x) for k, x in enumerate(point)})
        exec(builtins.compile(_executed(source), filename, "exec"), space)
        return space["__call__"]

    def _error(self, error: Exception) -> Exception:
        """The error of a replay, naming the table row and the operation it failed in."""
        ours = [
            (frame, lineno)
            for frame, lineno in traceback.walk_tb(error.__traceback__)
            if frame.f_code.co_filename in self._filenames
        ]
        if not ours:
            return error
        frame, lineno = ours[-1]
        line = linecache.getline(frame.f_code.co_filename, lineno).strip()
        local = frame.f_locals
        target, code = line.split(" = ", 1)
        if target.startswith("vbar_"):  # an edge: the partial of the node it comes from failed
            target = _failed_term(code, dict(local), frame.f_globals)
        operation = self.operations.get(target.replace("vbar_", "v_"))
        if operation is None:
            return type(error)(f"compiled replay, line {line!r}: {error}")
        rule, args = operation
        inputs = tuple(a if isinstance(a, float) else local.get(a, math.nan) for a in args)
        if target.startswith("vbar_"):
            shown = ", ".join(repr(x) for x in inputs[:6])
            why = f"the local partial of {rule.name}({shown}) cannot be computed here ({error})"
        else:
            why = str(_domain_error(rule, inputs, error))
        kind = type(error) if isinstance(error, ArithmeticError) else ValueError
        return kind(f"compiled replay, row {line}: {why}")


_ONE = re.compile(r" \* 1\.0(?= \+ |$)", re.MULTILINE)


def _executed(source: str) -> str:
    """The source as Python compiles it: in the reverse sweep, a term ``vbar_i * 1.0`` (the
    partial of an add, a sub, ...) is compiled as ``vbar_i``, one multiplication less for the
    same number to the bit (x * 1.0 is x for every float, and an adjoint is always a float).
    The lines stay where they are, so tracebacks and errors show the lines of ``source``."""
    at = source.find("# reverse sweep")
    return source if at < 0 else source[:at] + _ONE.sub("", source[at:])


class _NotGiven:
    def __repr__(self) -> str:
        return "<not given>"


_NA = _NotGiven()
"""The default of an entry's parameters: fewer arguments than the program has inputs."""


def _given(*args: Any) -> tuple[Any, ...]:
    return tuple(a for a in args if a is not _NA)


def _failed_term(code: str, local: dict[str, Any], space: dict[str, Any]) -> str:
    """The node whose partial failed in an adjoint line ``vbar_a * p + vbar_b * q + ...`` (one
    term, or a fan-out sum written in place): the ``vbar_`` name of the first term that raises
    when evaluated again, left to right as Python did."""
    tree = ast.parse(code, mode="eval").body
    terms: list[ast.expr] = []
    while isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.Add):
        terms.append(tree.right)
        tree = tree.left
    terms.append(tree)
    edges = [
        (t, t.left.id)
        for t in reversed(terms)
        if isinstance(t, ast.BinOp) and isinstance(t.left, ast.Name)
    ]
    for term, name in edges:
        try:
            eval(builtins.compile(ast.Expression(term), "<term>", "eval"), space, local)
        except (ArithmeticError, ValueError):
            return name
    return edges[0][1] if edges else code.split(" * ")[0]


def _tuple(items: str, n: int) -> str:
    return f"({items},)" if n == 1 else f"({items})"


def _functions(name: str, params: list[str], body: list[str], result: str) -> str:
    """The program's source: one function, or for a long body parts of `CHUNK` lines that each
    take the values they use and return the ones later parts (or the result) need."""
    if len(body) <= CHUNK:
        lines = [f"def {name}({', '.join(params)}):", *("    " + b for b in body), "    " + result]
        return "\n".join(lines) + "\n"
    parts = [body[k : k + CHUNK] for k in range(0, len(body), CHUNK)]
    defined: dict[str, int] = dict.fromkeys(params, -1)
    last_use: dict[str, int] = {}
    uses: list[list[str]] = []
    word = re.compile(r"\b(?:v|vbar)_\w+")
    for p, part in enumerate(parts):
        used: dict[str, None] = {}
        for line in part:
            if line.startswith("#"):
                continue
            target, code = line.split(" = ", 1)
            for u in word.findall(code):
                last_use[u] = p
                if defined.get(u, p) != p:
                    used[u] = None
            defined[target] = p
        uses.append(list(used))
    for u in word.findall(result):
        last_use[u] = len(parts)
    out, calls = [], []
    for p, part in enumerate(parts):
        made = [line.split(" = ", 1)[0] for line in part if not line.startswith("#")]
        keep = [t for t in made if last_use.get(t, -1) > p]
        out.append(f"def {name}_part_{p + 1}({', '.join(uses[p])}):")
        out += ["    " + line for line in part]
        out.append(f"    return ({', '.join(keep)}{',' if len(keep) == 1 else ''})\n")
        call = f"{name}_part_{p + 1}({', '.join(uses[p])})"
        calls.append(f"({', '.join(keep)},) = {call}" if keep else call)
    out.append(f"def {name}({', '.join(params)}):")
    out += ["    " + c for c in calls]
    out.append("    " + result)
    return "\n".join(out) + "\n"


# --- compile(f): record on the first call of each shape, replay after ---------------------------


def _shape(args: Sequence[Any]) -> Shape:
    shape: list[Any] = []
    for i, a in enumerate(args):
        if isinstance(a, (list, tuple)):
            if not all(_is_number(x) for x in a):
                raise TypeError(
                    f"compiled function: argument {i} must be a number or a flat list of "
                    f"numbers; got {a!r}"
                )
            shape.append((type(a), len(a)))
        elif _is_number(a):
            shape.append(None)
        else:
            raise TypeError(
                f"compiled function: argument {i} is {type(a).__name__} {a!r}; pass plain "
                "numbers (or lists of them): the function is recorded on Values by compile itself"
            )
    return tuple(shape)


def _is_number(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, Value)


def _flatten(args: Sequence[Any]) -> list[float]:
    flat: list[float] = []
    for a in args:
        if isinstance(a, (list, tuple)):
            flat.extend(float(x) for x in a)
        else:
            flat.append(float(a))
    return flat


def _unflatten(flat: Sequence[Any], shape: Shape) -> tuple[Any, ...]:
    out: list[Any] = []
    k = 0
    for s in shape:
        if s is None:
            out.append(flat[k])
            k += 1
        else:
            kind, n = s
            out.append(kind(flat[k : k + n]))
            k += n
    return tuple(out)


def _same(a: float, b: float) -> bool:
    """The same number, zeros with the same sign (f may tell 0.0 from -0.0)."""
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _same_point(a: Sequence[float], b: Sequence[float]) -> bool:
    return len(a) == len(b) and all(map(_same, a, b))


class Compiled:
    """What `compile` returns: call it with numbers (or lists of numbers) for ``(value, grads)``.

    A call with floats only, at a shape whose program has passed its check (or at the point it
    was recorded at), takes a fast path: the shape's `Program.entry`, made this object's
    ``__call__`` (each Compiled has a class of its own for that), so the call is one Python
    function that checks the arguments, runs the program and returns; every other call goes
    through `_call`, which records, checks and installs the entry of the shape it ran."""

    def __new__(cls, f: Callable[..., Any], check: bool = False) -> Compiled:
        own = type(cls.__name__, (cls,), {"__module__": cls.__module__, "__doc__": cls.__doc__})
        own.__qualname__ = cls.__qualname__
        instance: Compiled = object.__new__(own)
        return instance

    def __init__(self, f: Callable[..., Any], check: bool = False) -> None:
        self.f = f
        self.check = check
        self.programs: dict[Shape, Program] = {}
        """One program per argument shape: what retracing has recorded so far."""
        self._last: Program | None = None
        self._recorded_at: dict[Shape, list[float]] = {}  # until a program's first check
        self._entries: dict[tuple[Shape, bool], Callable[..., Any]] = {}  # fast paths made
        self._installed: Callable[..., Any] | None = None  # the one that is __call__ now
        self._lock = threading.RLock()
        self.__name__ = getattr(f, "__name__", "compiled")
        self.__doc__ = getattr(f, "__doc__", None)

    def __reduce__(self) -> tuple[Any, ...]:
        """A copy (``copy.copy``, ``deepcopy``, pickle) is ``compile(f)`` again: the programs
        and the fast path are made anew on its first calls, never shared with this one."""
        return (Compiled, (self.f, self.check))

    def interpret(self, *args: Any) -> tuple[Value, list[Value]]:
        """Run ``f`` on fresh input Values (the interpreter); the output and the inputs."""
        shape = _shape(args)
        inputs = [Value(x) for x in _flatten(args)]
        out = self.f(*_unflatten(inputs, shape))
        if isinstance(out, (list, tuple)):
            raise TypeError(f"compile: f returned {len(out)} outputs; return one Value")
        if not isinstance(out, Value):
            if not _is_number(out):
                raise TypeError(f"compile: f returned {out!r}; return a Value or a number")
            out = Value(out)
        return out, inputs

    def reference(self, *args: Any) -> tuple[float, tuple[Any, ...]]:
        """``(value, grads)`` from the interpreter: what every replay must equal."""
        y, inputs = self.interpret(*args)
        adjoint = reverse_sweep(y)
        return y.data, _unflatten([adjoint.get(x, 0.0) for x in inputs], _shape(args))

    def record(self, *args: Any) -> Program:
        """Record ``f`` at ``args`` and compile its program (what a call of a new shape does)."""
        shape = _shape(args)
        y, inputs = self.interpret(*args)
        name = re.sub(r"\W", "_", self.__name__)
        if (
            not name.isidentifier()
            or keyword.iskeyword(name)
            or name.startswith("_")
            or name in namespace()
        ):
            name = "compiled"
        program = self.programs[shape] = Program(y, inputs, name=name)
        self._recorded_at[shape] = _flatten(args)
        for key in [k for k in self._entries if k[0] == shape]:  # made for the program before
            del self._entries[key]
        self._use(shape, program)
        return program

    def __call__(self, *args: Any) -> tuple[float, tuple[Any, ...]]:
        return self._call(args)

    def _call(self, args: tuple[Any, ...]) -> tuple[float, tuple[Any, ...]]:
        with self._lock:  # one thread at a time records, checks and installs (the fast path
            return self._general(args)  # itself takes no lock)

    def _general(self, args: tuple[Any, ...]) -> tuple[float, tuple[Any, ...]]:
        shape = _shape(args)
        program = self.programs.get(shape)
        if program is None:
            program = self.record(*args)
        else:
            self._use(shape, program)
        try:
            value, grads, _ = program.run(_flatten(args))
        except (ArithmeticError, ValueError) as error:
            # The interpreter may not need what the replay could not compute (a partial on an
            # edge whose adjoint is exactly 0): its numbers, or, if it fails too, the row's error
            try:
                return self.reference(*args)
            except (ArithmeticError, ValueError):
                raise error from None
        if not math.isfinite(value + sum(grads)):
            # inf or NaN: the interpreter raises the engine's error, or (0 * inf: an adjoint of
            # exactly 0 passes nothing on) gives the finite answer
            return self.reference(*args)
        recorded_at = self._recorded_at.get(shape)
        first = recorded_at is not None and not _same_point(recorded_at, _flatten(args))
        if self.check or first:  # every call with check=True; else a program's first new point
            want, want_grads = self.reference(*args)
            flat_want = _flatten([g if isinstance(g, (list, tuple)) else [g] for g in want_grads])
            if value != want or any(g != w for g, w in zip(grads, flat_want)):  # to the bit
                mismatch = ReplayMismatch(
                    f"compile{'(check=True)' if self.check else ''}: at {args!r} the replay "
                    f"gives {value!r} with gradients {tuple(grads)!r}, the interpreter {want!r} "
                    f"with {tuple(flat_want)!r}. Something in {self.__name__} was frozen when it "
                    "was recorded: Python control flow on values (an if on a Value, max(), ...) "
                    "or a number taken from an input (x.data, no_grad(), a Value's number kept "
                    "outside). Write it with the rule table's operations (relu, abs, ...), or "
                    "call it without compile"
                )
                self.check = True  # f depends on values: from now on every call is checked
                raise mismatch
            if first:  # checked once at a new point: from now on the fast path may take it
                del self._recorded_at[shape]
                self._use(shape, program)
        return value, _unflatten(grads, shape)

    def _use(self, shape: Shape, program: Program) -> None:
        """``program`` is the latest: its source is `source`, and its fast path (if it may have
        one) is the object's ``__call__``, so that a call there keeps both right."""
        self._last = program
        entry = None
        if not self.check and all(s is None for s in shape):  # floats only; never with check
            point = self._recorded_at.get(shape)  # not checked yet: only at the recorded point
            key = (shape, point is None)
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = program.entry(Compiled._call, point)
        if entry is not self._installed:
            if entry is None:
                delattr(type(self), "__call__")
            else:
                setattr(type(self), "__call__", entry)  # noqa: B010 (mypy: a method)
            self._installed = entry

    @property
    def source(self) -> str:
        """The program of the latest call (the adjoint table as code)."""
        if self._last is None:
            raise RuntimeError(
                f"compile: {self.__name__} has not been called yet; call it once with numbers "
                "to record its program"
            )
        return self._last.source

    def __str__(self) -> str:
        return self.source if self._last is not None else repr(self)

    def __repr__(self) -> str:
        return f"<compiled {self.__name__}: {len(self.programs)} program(s) recorded>"


def compile(f: Callable[..., Any], *, check: bool = False) -> Compiled:
    """``f`` (numbers in, one Value out) as a program recorded once per argument shape and then
    replayed on floats: ``compile(f)(*args)`` is ``(value, grads)``, grads one per argument (a
    list for a list), the numbers of ``value_and_grad(f, argnums=all)``. ``check=True`` runs the
    interpreter too on every call and raises `ReplayMismatch` where they differ."""
    return Compiled(f, check)
