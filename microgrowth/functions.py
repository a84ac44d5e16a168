"""The operations as functions that take Values or plain numbers: ``microgrowth.log(x)``."""

from __future__ import annotations

from microgrowth import rules
from microgrowth.engine import Operand, Value, _apply1, apply


def exp(x: Operand) -> Value:
    return _apply1(rules.EXP, x)


def log(x: Operand) -> Value:
    """The natural logarithm (also available as ``ln``)."""
    return _apply1(rules.LOG, x)


ln = log


def sin(x: Operand) -> Value:
    return _apply1(rules.SIN, x)


def cos(x: Operand) -> Value:
    return _apply1(rules.COS, x)


def tan(x: Operand) -> Value:
    return _apply1(rules.TAN, x)


def tanh(x: Operand) -> Value:
    return _apply1(rules.TANH, x)


def sigmoid(x: Operand) -> Value:
    return _apply1(rules.SIGMOID, x)


def softplus(x: Operand) -> Value:
    return _apply1(rules.SOFTPLUS, x)


def relu(x: Operand) -> Value:
    return _apply1(rules.RELU, x)


def sqrt(x: Operand) -> Value:
    return _apply1(rules.SQRT, x)


def abs(x: Operand) -> Value:
    return _apply1(rules.ABS, x)


def neg(x: Operand) -> Value:
    return _apply1(rules.NEG, x)


FUNCTIONS = {r.name: (lambda x, r=r: apply(r, x)) for r in rules.UNARY}
"""Every unary rule as a function by name (``ln`` too): what the command line accepts."""
FUNCTIONS["ln"] = FUNCTIONS["log"]
