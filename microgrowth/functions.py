"""The operations as functions that take Values or plain numbers: ``microgrowth.log(x)``."""

from __future__ import annotations

from microgrowth import rules
from microgrowth.engine import Operand, Value, apply


def exp(x: Operand) -> Value:
    return apply(rules.EXP, x)


def log(x: Operand) -> Value:
    """The natural logarithm (also available as ``ln``)."""
    return apply(rules.LOG, x)


ln = log


def sin(x: Operand) -> Value:
    return apply(rules.SIN, x)


def cos(x: Operand) -> Value:
    return apply(rules.COS, x)


def tan(x: Operand) -> Value:
    return apply(rules.TAN, x)


def tanh(x: Operand) -> Value:
    return apply(rules.TANH, x)


def sigmoid(x: Operand) -> Value:
    return apply(rules.SIGMOID, x)


def softplus(x: Operand) -> Value:
    return apply(rules.SOFTPLUS, x)


def relu(x: Operand) -> Value:
    return apply(rules.RELU, x)


def sqrt(x: Operand) -> Value:
    return apply(rules.SQRT, x)


def abs(x: Operand) -> Value:
    return apply(rules.ABS, x)


def neg(x: Operand) -> Value:
    return apply(rules.NEG, x)


FUNCTIONS = {r.name: (lambda x, r=r: apply(r, x)) for r in rules.UNARY}
"""Every unary rule as a function by name (``ln`` too): what the command line accepts."""
FUNCTIONS["ln"] = FUNCTIONS["log"]
