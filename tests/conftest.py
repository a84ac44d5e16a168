"""Shared helpers: central finite differences and hypothesis settings."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("ci", max_examples=300, deadline=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def central_difference(
    f: Callable[..., float], xs: Sequence[float], i: int, h: float = 1e-6
) -> float:
    """(f(x + h e_i) - f(x - h e_i)) / 2h with a step scaled to x_i."""
    step = h * max(1.0, abs(xs[i]))
    up = [*xs]
    down = [*xs]
    up[i] += step
    down[i] -= step
    return (f(*up) - f(*down)) / (2 * step)


def close(a: float, b: float, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


@contextlib.contextmanager
def rules_declared_here() -> Iterator[None]:
    """Rules declared inside the block are removed after it (with their method and function), so
    that tests looping over the rule table see only the library's own rules."""
    import microgrowth
    from microgrowth import Value, ops, rules

    before = set(rules.RULES)
    try:
        yield
    finally:
        for name in set(rules.RULES) - before:
            del rules.RULES[name]
            if name in vars(Value):
                delattr(Value, name)
            function = ops.FUNCTIONS.pop(name, None)
            for module in (ops, microgrowth):  # the function, where it was exported
                if function is not None and vars(module).get(name) is function:
                    delattr(module, name)
