"""Every one-input rule of the table as a function of a Value or a plain number: ``mg.sin(x)``.

The functions are made from the rule table (`microgrowth.rules`), so a rule declared later with
``rules.rule(...)`` is here too: ``ops.softsign(x)``, ``microgrowth.softsign(x)``. ``ln`` is
``log``. ``abs`` is left out of ``from microgrowth import *`` so that the builtin keeps its name.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from microgrowth import rules
from microgrowth.engine import Operand, Value, apply1
from microgrowth.rules import Rule

Function = Callable[[Operand], Value]

FUNCTIONS: dict[str, Function] = {}
"""Every one-input rule as a function, by name (``ln`` too): what the command line accepts."""


def _function(rule: Rule) -> Function:
    function = partial(apply1, rule)  # apply1(rule, x), called from C: one Python frame fewer
    function.__name__ = function.__qualname__ = rule.name  # type: ignore[attr-defined]
    function.__doc__ = f"{rule.text.replace('a', 'x')}: the rule {rule.name!r} of the table."
    return function


def _add(rule: Rule) -> None:
    if rule.arity == 1:
        FUNCTIONS[rule.name] = _function(rule)
        if rule.name == "log":
            FUNCTIONS["ln"] = FUNCTIONS["log"]
        for name, function in FUNCTIONS.items():
            globals().setdefault(name, function)  # never hides a name of this module


rules._listeners.append(_add)
for _rule in rules.RULES.values():
    _add(_rule)


if TYPE_CHECKING:  # for type checkers only: the functions are made above, from the table

    def __getattr__(name: str) -> Function: ...
