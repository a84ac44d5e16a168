"""A tiny neural-network library on top of `Value`: Module, Neuron, Layer, MLP.

The vocabulary is micrograd's and PyTorch's, so ``MLP(2, [16, 16, 1])``, ``Neuron(nin,
nonlin=True)``, ``model.parameters()`` and ``model.zero_grad()`` work as they do there. Weights
start uniform in [-1, 1] and biases at 0, as in micrograd, drawn from ``random.Random(seed)``: the
same seed gives the same network, and the global random state is never touched.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from microgrowth.engine import Operand, Value, dot

ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": lambda v: v,
}


_SHOWN = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear"}


class Module:
    """Anything with parameters: ``parameters()``, ``zero_grad()``, ``state_dict()``."""

    def __call__(self, x: Sequence[Operand]) -> Value | list[Value]:
        raise NotImplementedError(f"{type(self).__name__} does not define __call__")

    def parameters(self) -> list[Value]:
        return []

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0

    def state_dict(self) -> list[float]:
        """The parameters' values as a plain list of floats (save it with ``json.dump``)."""
        return [p.data for p in self.parameters()]

    def load_state_dict(self, state: Sequence[float]) -> None:
        """Set the parameters from a list made by `state_dict`, checking it fits this model."""
        params = self.parameters()
        if len(state) != len(params):
            raise ValueError(
                f"load_state_dict: the state has {len(state)} numbers but {type(self).__name__} "
                f"has {len(params)} parameters; was it saved from a model of another shape?"
            )
        numbers = [_finite(x, i) for i, x in enumerate(state)]
        for p, x in zip(params, numbers):
            p.data = x


def _finite(x: object, i: int) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise ValueError(f"load_state_dict: entry {i} is {x!r}, not a finite number")
    return float(x)


def _activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation={activation!r}: choose one of {', '.join(ACTIVATIONS)}")
    return activation


class Neuron(Module):
    """``activation(w · x + b)``: one weight per input and a bias."""

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        *,
        nonlin: bool | None = None,
        seed: int | None = 0,
        rng: random.Random | None = None,
    ) -> None:
        if nonlin is not None:  # micrograd's spelling: Neuron(nin, nonlin=False) is linear
            activation = "relu" if nonlin else "linear"
        if isinstance(nin, bool) or not isinstance(nin, int) or nin < 1:
            raise ValueError(f"Neuron: nin={nin!r}; give the number of inputs, at least 1")
        rng = rng or random.Random(seed)
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.activation = _activation(activation)
        self._act = ACTIVATIONS[self.activation]

    @property
    def nonlin(self) -> bool:
        return self.activation != "linear"

    def __call__(self, x: Sequence[Operand]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron: expected {len(self.w)} inputs, got {len(x)}")
        return self._act(dot(self.w, x) + self.b)  # one node for the sum of products

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{_SHOWN[self.activation]}Neuron({len(self.w)})"  # micrograd's ReLUNeuron(2)


class Layer(Module):
    """``nout`` neurons that all see the same inputs."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        *,
        nonlin: bool | None = None,
        seed: int | None = 0,
        rng: random.Random | None = None,
    ) -> None:
        rng = rng or random.Random(seed)
        self.neurons = [Neuron(nin, activation, nonlin=nonlin, rng=rng) for _ in range(nout)]

    def __call__(self, x: Sequence[Operand]) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out  # micrograd returns a lone output unwrapped

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multilayer perceptron: ``MLP(2, [16, 16, 1])``; the last layer is linear."""

    def __init__(
        self, nin: int, nouts: Sequence[int], activation: str = "relu", *, seed: int | None = 0
    ) -> None:
        if not nouts:
            raise ValueError("MLP: nouts is empty; give the size of each layer, e.g. [16, 16, 1]")
        rng = random.Random(seed)
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < last else "linear", rng=rng)
            for i in range(len(nouts))
        ]

    def __call__(self, x: Sequence[Operand]) -> Value | list[Value]:
        out: Value | list[Value] = list(x)  # type: ignore[arg-type]
        for layer in self.layers:
            out = layer(out if isinstance(out, list) else [out])
        return out

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
