"""The adjoint table: how reverse mode computes every derivative of one expression, step by step.

`trace(y)` gives the forward primal trace and the reverse adjoint trace of Baydin et al. (2018),
"Automatic differentiation in machine learning: a survey", arXiv:1502.05767, Table 2. Inputs are
numbered v_{1-n} .. v_0, intermediates v_1, v_2, ... and the output is y = v_l. The adjoint trace
runs from ȳ = 1 back to the inputs; each edge adds ``v̄_i * ∂v_i/∂v_j`` to ``v̄_j`` and a node that
feeds several others receives the sum of its contributions.

The rows come from the engine itself: the table reads the steps of the one reverse sweep that
`backward()` runs (`engine.reverse_steps`) and of the one forward-tangent sweep
(`engine.tangent_sweep`), and prints each local partial from the rule table's formula.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from microgrowth import formula
from microgrowth.engine import Node, Value, reverse_steps, tangent_sweep, topological_order

Cell = tuple[str, str]  # (plain text, LaTeX math)


def number(x: float, digits: int = 4) -> str:
    """``x`` rounded to ``digits`` decimals (a fixed number of decimals, not of significant
    digits), trailing zeros after the point dropped: 11.6521, 5.5, 2, -0.2837 at 4 decimals;
    12, 1000, 0 at 0 decimals.

    Scientific notation with ``digits`` decimals where the rounding would leave no digit of a
    non-zero number (1e-9 -> 1.0000e-09; 0.4 -> 4e-01 at 0 decimals), and for |x| >= 1e9
    (1.2346e+10). ``digits`` is a whole number from 0 to 17, the most a float can use.
    """
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 17:
        raise ValueError(f"digits={digits!r}: give a whole number of decimals from 0 to 17")
    if abs(x) >= 1e9:
        return f"{x:.{digits}e}"
    text = f"{x:.{digits}f}"
    if "." in text:  # without a point, the zeros are the number's own: 10, 100
        text = text.rstrip("0").rstrip(".")
    if text in ("0", "-0"):
        return "0" if x == 0 else f"{x:.{digits}e}"
    return text


def table_order(root: Value) -> list[Node]:
    """The nodes in the order of the table: `topological_order` (the order of `backward()`),
    regrouped by depth, so that operations at the same distance from the inputs are numbered
    together, as in the survey (v_1 = ln v_{-1}, v_2 = v_{-1} v_0, v_3 = sin v_0, v_4 = v_1 + v_2).
    Inputs come first, in the order the walk meets them."""
    order = topological_order(root)
    depth: dict[Node, int] = {}
    for node in order:
        depth[node] = 1 + max((depth[p] for p in node.parents), default=-1)
    inputs = [n for n in order if not n.parents and not n.is_constant]
    ops = sorted((n for n in order if n.parents), key=depth.__getitem__)  # stable
    constants = [n for n in order if n.is_constant]
    return inputs + ops + constants


def names(order: Sequence[Node]) -> dict[Node, str]:
    """v-numbers for a `table_order`: inputs v_{1-n} .. v_0, then v_1, v_2, ...; constants none."""
    n_inputs = sum(1 for n in order if not n.parents and not n.is_constant)
    numbered = enumerate(n for n in order if not n.is_constant)
    return {node: _text_name(i - n_inputs + 1) for i, node in numbered}


def _text_name(index: int) -> str:
    return f"v_{{{index}}}" if index < 0 else f"v_{index}"  # v_{-1}, v_0, v_1


def _latex_name(name: str) -> str:
    return name if "{" in name else "v_{" + name[2:] + "}"  # v_0 -> v_{0}


def _bar(cell: Cell) -> Cell:
    text, tex = cell
    return text[0] + "\u0304" + text[1:], "\\bar{" + tex[0] + "}" + tex[1:]


def _escape_latex(text: str) -> str:
    out = text
    for ch in "\\&%$#_{}":
        out = out.replace(ch, "\\" + ch if ch != "\\" else "\\textbackslash{}")
    return out.replace("~", "\\textasciitilde{}").replace("^", "\\textasciicircum{}")


WIDEST = 72  # the widest a column of the text table is padded to
SHOWN_TERMS = 6
"""A sum of more terms is shown as its first three, ..., its last (a row stays short)."""


def input_names(inputs: Sequence[Node], v_names: Mapping[Node, str]) -> dict[Node, str]:
    """Each input's name for the gradient rows: its label (its v-name if it has none), with
    #2, #3, ... after a name already taken, so that no two inputs share one."""
    taken: set[str] = set()
    out = {}
    for node in inputs:
        base = node.label or v_names[node]
        name, k = base, 2
        while name in taken:
            name, k = f"{base}#{k}", k + 1
        taken.add(name)
        out[node] = name
    return out


def output_name(root: Node, inputs: Mapping[Node, str]) -> str:
    """The output's name: its label, or y; with primes (y′, y″) while an input has that name."""
    if root in inputs:
        return inputs[root]  # the output is an input: trace(x)
    name = root.label or "y"
    taken = set(inputs.values())
    while name in taken:
        name += "′"
    return name


def latex_label(name: str) -> str:
    """A name in LaTeX math: x1 -> x_{1}, y′ -> y', v_{-1} as it is, others upright."""
    if name.startswith("v_"):
        return _latex_name(name)
    match = re.fullmatch(r"([A-Za-z])(\d*)(′*)", name)
    if match:
        letter, digits, primes = match.groups()
        return letter + (f"_{{{digits}}}" if digits else "") + "'" * len(primes)
    return f"\\mathrm{{{_escape_latex(name)}}}"


_V_NAME = re.compile(r"(v[\u0304\u0307]?)_(?:\{(-?\d+)\}|(\d+))")  # v_{-1}, v̄_0, v̇_12
_SUBSCRIPT = str.maketrans("-0123456789", "₋₀₁₂₃₄₅₆₇₈₉")


def subscripted(text: str) -> str:
    """The v-names of ``text`` with Unicode subscripts: v_{-1} -> v₋₁, v̄_0 -> v̄₀ (Markdown,
    pictures: anywhere a subscript cannot be marked up)."""
    return _V_NAME.sub(lambda m: m[1] + (m[2] or m[3]).translate(_SUBSCRIPT), text)


def _html(text: str) -> str:
    """A cell as HTML: escaped, the v-names' indices in <sub>."""
    return _V_NAME.sub(lambda m: f"{m[1]}<sub>{m[2] or m[3]}</sub>", html.escape(text))


def _bar_name(name: str) -> str:
    """ȳ for y and y′; the adjoint of a longer name is written as a derivative: ∂loss/∂loss."""
    if len(name.rstrip("′")) == 1:
        return unicodedata.normalize("NFC", name[0] + "\u0304") + name[1:]  # ȳ: one character
    return f"∂{name}/∂{name}"


def _sum(terms: Sequence[str], n: int, style: str) -> str:
    """``a + b + c``; when ``n`` terms were shortened to four: ``a + b + c + ... + z``."""
    if n == len(terms):
        return " + ".join(terms)
    dots = "\\dots" if style == "latex" else "..."
    return " + ".join([*terms[:-1], dots, terms[-1]])


@dataclass(frozen=True)
class Contribution:
    """One edge of the reverse sweep: ``v̄_target += v̄_source * ∂v_source/∂v_target``."""

    target: Cell
    source: Cell
    partial_formula: Cell  # the local partial written with v-names: cos(v_0)
    source_adjoint: float
    partial: float
    value: float  # source_adjoint * partial: what the engine's reverse sweep added
    arg: int = 0  # which argument of the source's operation the target is (x * x: 0 and 1)


@dataclass(frozen=True)
class AdjointRow:
    """The adjoint of one node: its contributions (one per outgoing edge) and their sum."""

    node: Cell
    contributions: tuple[Contribution, ...]
    value: float
    seed: bool = False


@dataclass(frozen=True)
class PrimalRow:
    node: Cell
    definition: Cell
    value: float
    label: str


class Trace:
    """The forward primal trace and reverse adjoint trace of one expression."""

    def __init__(self, root: Value, digits: int = 4) -> None:
        self.digits = digits
        self._templates: dict[tuple[str, str, bool, tuple[str, ...]], str] = {}
        self._cells: dict[Node, Cell] = {}
        self.order = table_order(root)
        self.names = names(self.order)
        self.inputs = [n for n in self.order if not n.parents and not n.is_constant]
        self.input_names = input_names(self.inputs, self.names)
        """Each input's name in the gradient rows and in `gradients`: its label, or its v-name
        if it has none; a label used before gets #2, #3 (two inputs labelled w: w and w#2)."""
        self.output_name = output_name(root, self.input_names)
        """The output's name (its label, or y), never the name of an input: y′ if one is y."""
        cell = self._cell
        self.primal: list[PrimalRow] = []
        for node in self.order:
            if node.is_constant:
                continue
            if not node.parents:
                label = self.input_names[node] if node.label else "input"
                definition = (label, latex_label(label))
            else:
                definition = (self._formula(node, None, "text"), self._formula(node, None, "latex"))
            self.primal.append(PrimalRow(cell(node), definition, node.data, node.label))
        self.output = root
        self.adjoint, self.adjoints = self._reverse_sweep(root)
        adjoints = self.adjoints
        self.gradients = {self.input_names[node]: adjoints.get(node, 0.0) for node in self.inputs}
        """The input adjoints by `input_names`: what `backward()` puts in ``grad``. Two inputs
        never share a key, whatever their labels."""

    def _cell(self, node: Node) -> Cell:
        cell = self._cells.get(node)
        if cell is None:
            if node.is_constant:
                text = number(node.data, self.digits)
                cell = (f"({text})" if node.data < 0 else text), text
            else:
                cell = self.names[node], _latex_name(self.names[node])
            self._cells[node] = cell
        return cell

    def _reverse_sweep(self, root: Value) -> tuple[list[AdjointRow], dict[Node, float]]:
        """The rows of the reverse sweep: the engine's steps, grouped by the node they reach."""
        self.steps, adjoint = reverse_steps(root)
        incoming: dict[Node, list[Contribution]] = {}
        for step in self.steps:
            node, parent, i = step.node, step.parent, step.arg
            partial = (self._formula(node, i, "text"), self._formula(node, i, "latex"))
            edge = Contribution(
                self._cell(parent), self._cell(node), partial, step.adjoint,
                step.partial if step.partial is not None else math.nan, step.contribution, i,
            )  # fmt: skip
            incoming.setdefault(parent, []).append(edge)
        rows = [AdjointRow(self._cell(root), (), 1.0, seed=True)]
        for node in reversed(self.order):
            if node is not root and not node.is_constant:
                parts = tuple(incoming.get(node, ()))
                rows.append(AdjointRow(self._cell(node), parts, adjoint.get(node, 0.0)))
        return rows, adjoint

    def _formula(self, node: Node, i: int | None, style: str) -> str:
        """The operation of ``node`` (i None) or its partial by input i, written with v-names."""
        rule = node.rule
        if rule is None:  # a custom operation (micrograd's way): no formula known
            args = ", ".join(self._cell(p)[style == "latex"] for p in node.parents)
            return f"{node.op or 'custom'}({args})" if i is None else "custom op"
        text_of = {"text": 0, "latex": 1}[style]
        num = (lambda x: number(x, self.digits)) if style == "text" else self._latex_number

        def name(p: Node) -> formula.Name:
            return float(p.data) if p.is_constant else self._cell(p)[text_of]

        me = self._cell(node)[text_of]
        parents = node.parents
        if not rule.variadic:
            names = {v: name(p) for v, p in zip(rule.variables, parents)}
            names["y"] = me
            source = rule.text if i is None else rule.partials[i]
            assert source is not None
            return self._render(source, names, style, num, i is not None)
        n = len(parents) // 2  # dot: w[0..n-1] then x[0..n-1]
        terms = []
        shown = range(n) if i is not None or n <= SHOWN_TERMS else [0, 1, 2, n - 1]
        for k in shown if i is None else [i % n]:
            names = {"w[i]": name(parents[k]), "x[i]": name(parents[n + k]), "y": me}
            source = rule.text if i is None else rule.partials[i // n]
            assert source is not None
            terms.append(self._render(source, names, style, num, False))
        return _sum(terms, n, style)

    def _render(
        self,
        source: str,
        names: dict[str, formula.Name],
        style: str,
        num: Callable[[float], str],
        factor: bool,
    ) -> str:
        """`formula.render`, once per formula and style: later nodes of the same operation fill
        their names (and non-negative constants) into the text kept from the first one. Where a
        constant changes the text (it is worked out, 3 - 1 -> 2, or negative, in parentheses),
        the formula is rendered for the node alone."""
        floats = tuple(k for k, v in names.items() if isinstance(v, float))
        if floats and (
            any(v < 0 for v in names.values() if isinstance(v, float))
            or formula.folds(source, floats)
        ):  # the number changes the formula's text: worked out for this node alone
            return formula.render(source, names, style=style, number=num, factor=factor)
        key = (source, style, factor, tuple(names))
        template = self._templates.get(key)
        if template is None:
            holes: dict[str, formula.Name] = {k: f"QQ{j}QQ" for j, k in enumerate(names)}
            template = formula.render(source, holes, style=style, number=num, factor=factor)
            self._templates[key] = template
        for j, value in enumerate(names.values()):
            text = num(value) if isinstance(value, float) else value
            template = template.replace(f"QQ{j}QQ", text)
        return template

    def _latex_number(self, x: float) -> str:
        return number(x, self.digits)

    # --- renderings -------------------------------------------------------------------------

    def primal_cells(self) -> list[tuple[Cell, Cell, Cell]]:
        num = self._num
        rows = [(r.node, r.definition, num(r.value)) for r in self.primal]
        out = self.output_name
        rows.append(((out, latex_label(out)), self._cell(self.output),
                     num(self.output.data)))  # fmt: skip
        return rows

    def adjoint_cells(self) -> list[tuple[Cell, Cell, Cell]]:
        num = self._num
        rows: list[tuple[Cell, Cell, Cell]] = []

        def factor(x: float) -> str:  # a negative second factor in parentheses: 1 * (-1)
            text = number(x, self.digits)
            return f"({text})" if text.startswith("-") else text

        out = self.output_name
        out_tex = latex_label(out)
        for row in self.adjoint:
            bar = _bar(row.node)
            if row.seed:
                seed = f"{_bar_name(out)} = 1 (the seed)"
                rows.append((bar, (seed, f"\\bar{{{out_tex}}} = 1"), num(1.0)))
                continue
            many = len(row.contributions) > 1
            sources = Counter(c.source for c in row.contributions)
            for c in row.contributions:
                src = _bar(c.source)
                where = (f" (from {c.source[0]}", f" \\text{{ (from }} {c.source[1]}")
                if sources[c.source] > 1:  # x * x: say which argument the edge is
                    where = (f"{where[0]}, argument {c.arg + 1}",
                             f"{where[1]}\\text{{, argument {c.arg + 1}}}")  # fmt: skip
                who = (bar[0] + where[0] + ")", bar[1] + where[1] + "\\text{)}") if many else bar
                formula = (
                    f"{src[0]} * ∂{c.source[0]}/∂{c.target[0]} = {src[0]} * "
                    f"{c.partial_formula[0]} = {num(c.source_adjoint)[0]} * {factor(c.partial)}",
                    f"{src[1]} \\frac{{\\partial {c.source[1]}}}{{\\partial {c.target[1]}}} = "
                    f"{src[1]} \\cdot {c.partial_formula[1]} = "
                    f"{num(c.source_adjoint)[1]} \\cdot {factor(c.partial)}",
                )
                rows.append((who, formula, num(c.value)))
            if many:
                n = len(row.contributions)
                shown = row.contributions if n <= SHOWN_TERMS else [
                    row.contributions[k] for k in (0, 1, 2, n - 1)
                ]  # fmt: skip
                sum_text = f"the {n:,} contributions above: " + _sum(
                    [num(c.value)[0] for c in shown], n, "text"
                )
                sum_tex = _sum([num(c.value)[1] for c in shown], n, "latex")
                rows.append(((bar[0] + " (sum)", bar[1] + " \\text{ (sum)}"),
                             (sum_text, sum_tex), num(row.value)))  # fmt: skip
        for node in self.inputs:
            name = self.input_names[node]
            bar = _bar(self._cell(node))
            partial_tex = f"\\frac{{\\partial {out_tex}}}{{\\partial {latex_label(name)}}}"
            rows.append(((f"∂{out}/∂{name}", partial_tex),
                         (f"= {bar[0]} (the gradient)", f"= {bar[1]}"),
                         num(self.gradients[name])))  # fmt: skip
        return rows

    def _num(self, x: float) -> Cell:
        text = number(x, self.digits)
        return text, text

    def _tables(self) -> list[tuple[str, list[tuple[Cell, Cell, Cell]], tuple[str, str, str]]]:
        return [
            ("Forward primal trace", self.primal_cells(), ("v", "definition", "value")),
            ("Reverse adjoint trace (from the output back to the inputs)",
             self.adjoint_cells(), ("adjoint", "formula", "value")),
        ]  # fmt: skip

    def __str__(self) -> str:
        blocks = []
        for title, rows, header in self._tables():
            lines = [header, *((a[0], b[0], c[0]) for a, b, c in rows)]
            # A long cell (a sum of many terms) sticks out of its column instead of widening
            # every row: the table's size stays linear in the graph's.
            widths = [max(min(_width(line[i]), WIDEST) for line in lines) for i in range(3)]
            equals = title.startswith("Forward")
            body = [
                "  "
                + _pad(a, widths[0])
                + ("  = " if equals and i else "    " if equals else "  ")
                + _pad(b, widths[1])
                + "  "
                + " " * max(0, widths[2] - _width(c))
                + c
                for i, (a, b, c) in enumerate(lines)
            ]
            blocks.append("\n".join([title, *body]))
        return "\n\n".join(blocks)

    def to_markdown(self) -> str:
        blocks = []
        for title, rows, header in self._tables():
            lines = [f"**{title}**", "", "| " + " | ".join(header) + " |", "|---|---|---:|"]
            lines += [f"| {_md(a[0])} | {_md(b[0])} | {c[0]} |" for a, b, c in rows]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) + "\n"

    def to_latex(self) -> str:
        blocks = []
        for title, rows, header in self._tables():
            lines = [
                "\\begin{tabular}{lll}",
                f"\\multicolumn{{3}}{{l}}{{\\textbf{{{_escape_latex(title)}}}}} \\\\",
                " & ".join(f"\\textit{{{h}}}" for h in header) + " \\\\",
                "\\hline",
            ]
            lines += [f"${a[1]}$ & ${b[1]}$ & ${c[1]}$ \\\\" for a, b, c in rows]
            lines.append("\\end{tabular}")
            blocks.append("\n".join(lines))
        return "\n\n\\bigskip\n\n".join(blocks) + "\n"

    def to_html(self) -> str:
        blocks = []
        for title, rows, header in self._tables():
            head = "".join(f"<th>{h}</th>" for h in header)
            body = "".join(
                "<tr>" + "".join(f"<td>{_html(x[0])}</td>" for x in row) + "</tr>" for row in rows
            )
            blocks.append(
                f"<table><caption>{html.escape(title)}</caption>"
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            )
        return "<div>" + "".join(blocks) + "</div>"

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return f"<Trace of {len(self.primal)} rows: y = {number(self.output.data, self.digits)}>"


class TangentTrace(Trace):
    """The forward tangent trace (forward mode): v̇_i = Σ_j ∂v_i/∂v_j v̇_j, inputs first.

    ``seeds`` gives the tangent of each input by label (or v-name); the others are 0. Seeding
    ẋ1 = 1 gives ẏ = ∂y/∂x1: one forward sweep per input, where one reverse sweep gave them all.
    """

    def __init__(self, root: Value, seeds: dict[str, float], digits: int = 4) -> None:
        super().__init__(root, digits)
        known = {name: node for node, name in self.input_names.items()}
        unknown = sorted(set(seeds) - set(known))
        if unknown:
            raise ValueError(
                f"tangent trace: no input named {unknown[0]!r}; inputs: {sorted(known)}"
            )
        self.seeds: dict[Node, float] = {known[name]: float(t) for name, t in seeds.items()}
        record: list[tuple[Node, tuple[float, ...], float]] = []
        self.tangents: dict[Node, float] = tangent_sweep([root], self.seeds, record)
        steps = {node: local for node, local, _ in record}
        self.rows: list[tuple[Cell, Cell, Cell]] = []
        for node in self.order:
            if node.is_constant:
                continue
            me = self._cell(node)
            t = self.tangents[node]
            if not node.parents:
                name = self.input_names[node]
                self.rows.append((_dot(me), (f"seed ({name})", "\\text{seed}"), self._num(t)))
                continue
            text_terms, tex_terms, numbers = [], [], []
            for i, (parent, d) in enumerate(zip(node.parents, steps[node])):
                if parent.is_constant:
                    continue
                pdot = _dot(self._cell(parent))
                text_terms.append(f"{pdot[0]} * {self._formula(node, i, 'text')}")
                tex_terms.append(f"{pdot[1]} \\cdot {self._formula(node, i, 'latex')}")
                numbers.append(f"{number(self.tangents[parent], digits)} * {number(d, digits)}")
            formula_cell = (
                " + ".join(text_terms) + " = " + " + ".join(numbers),
                " + ".join(tex_terms),
            )
            self.rows.append((_dot(me), formula_cell, self._num(t)))
        self.output_tangent = self.tangents[root]
        """ẏ: the derivative of the output along the seeded direction."""

    def _tables(self) -> list[tuple[str, list[tuple[Cell, Cell, Cell]], tuple[str, str, str]]]:
        return [("Forward tangent trace", self.rows, ("tangent", "formula", "value"))]


def _dot(cell: Cell) -> Cell:
    """v_0 -> v̇_0 (a combining dot above), \\dot{v}_{0}."""
    text, tex = cell
    return text[0] + "\u0307" + text[1:], "\\dot{" + tex[0] + "}" + tex[1:]


def tangent_trace(y: Value, digits: int = 4, **seeds: float) -> TangentTrace:
    """The forward tangent trace of ``y``: ``tangent_trace(y, x1=1)`` gives ẏ = ∂y/∂x1."""
    return TangentTrace(y, seeds, digits)


_COMBINING = re.compile("[\u0300-\u036f]")


def _width(text: str) -> int:
    """Columns on a terminal: a combining macron (the bar of v̄) takes none."""
    return len(text) if text.isascii() else len(text) - len(_COMBINING.findall(text))


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _md(text: str) -> str:
    return subscripted(text).replace("|", "\\|")


def trace(y: Value, digits: int = 4) -> Trace:
    """The adjoint table of ``y``: forward primal trace, reverse adjoint trace, gradients.

    It does not touch any ``grad``: the gradients it shows equal what ``y.backward()`` gives.
    """
    return Trace(y, digits)
