"""A tiny neural-network library on top of `Value`: Module, Neuron, Layer, MLP.

The vocabulary is micrograd's and PyTorch's, so ``MLP(2, [16, 16, 1])``, ``Neuron(nin,
nonlin=True)``, ``model.parameters()`` and ``model.zero_grad()`` work as they do there.

Weights start uniform in [-1, 1] and biases at 0, as in micrograd. Without ``seed`` they are
drawn from the global `random` module in micrograd 0.1.0's order (layer by layer, neuron by
neuron, one ``random.uniform(-1, 1)`` per weight), so ``random.seed(1337)`` gives micrograd's
network and micrograd's demo its losses. With ``seed=`` a private ``random.Random(seed)`` is used:
the same seed gives the same network and the global random state is not touched.

Modules hold only Values and names (activations are looked up by name, never stored as
lambdas), so they pickle and ``copy.deepcopy`` like any plain object.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from typing import Protocol

from microgrowth.engine import Operand, Value, dot


def linear(v: Value) -> Value:
    """The identity: a neuron without a nonlinearity (micrograd's ``nonlin=False``)."""
    return v


ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": linear,
}


class Uniform(Protocol):
    """Where weights come from: a ``random.Random``, or the `random` module itself."""

    def uniform(self, a: float, b: float, /) -> float: ...


def _source(seed: int | None, rng: Uniform | None) -> Uniform:
    if rng is not None:
        return rng
    if seed is None:
        return random  # the global generator, as micrograd: random.seed(...) decides
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed={seed!r}: use a whole number, or None for the global random")
    return random.Random(seed)


def _size(where: str, name: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{where}: {name}={n!r}; give a whole number of at least 1")
    return n


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

    def load_state_dict(self, state: Iterable[float]) -> None:
        """Set the parameters from a list made by `state_dict`, checking it fits this model.

        All or nothing: every entry is checked before any parameter changes.
        """
        name = type(self).__name__
        if isinstance(state, (Mapping, Set, str, bytes)) or not isinstance(state, Iterable):
            raise TypeError(
                f"load_state_dict: got {type(state).__name__} {_short(state)}; give {name} the "
                "list of numbers that state_dict() returns (one per parameter, in parameters() "
                "order), e.g. json.load of a saved state_dict()"
            )
        state = list(state)  # a list, a tuple, a NumPy array ...: in order, one per parameter
        params = self.parameters()
        if len(state) != len(params):
            raise ValueError(
                f"load_state_dict: the state has {len(state)} numbers but {type(self).__name__} "
                f"has {len(params)} parameters; was it saved from a model of another shape?"
            )
        numbers = [_finite(x, i) for i, x in enumerate(state)]
        for p, x in zip(params, numbers):
            p.data = x


def _short(x: object) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _finite(x: object, i: int) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(x):
        raise ValueError(f"load_state_dict: entry {i} is {_short(x)}, not a finite number")
    return float(x)


def _activation(activation: str) -> str:
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
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
        seed: int | None = None,
        rng: Uniform | None = None,
    ) -> None:
        if nonlin is not None:  # micrograd's spelling: Neuron(nin, nonlin=False) is linear
            activation = "relu" if nonlin else "linear"
        self.activation = _activation(activation)
        source = _source(seed, rng)
        self.w = [Value(source.uniform(-1, 1)) for _ in range(_size("Neuron", "nin", nin))]
        self.b = Value(0.0)
        self.name("")

    def name(self, prefix: str) -> None:
        """Label the parameters for tables and graphs: w0, w1, ..., b after ``prefix``
        (a layer names its neurons N0., N1., an MLP its layers L0., L1.: L0.N3.w1)."""
        for i, w in enumerate(self.w):
            w.label = f"{prefix}w{i}"
        self.b.label = f"{prefix}b"

    @property
    def nonlin(self) -> bool:
        return self.activation != "linear"

    def __call__(self, x: Sequence[Operand]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron: expected {len(self.w)} inputs, got {len(x)}")
        act = ACTIVATIONS[self.activation]  # by name: a module holds no function, so it pickles
        return act(dot(self.w, x) + self.b)  # one node for the sum of products

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
        seed: int | None = None,
        rng: Uniform | None = None,
    ) -> None:
        _size("Layer", "nin", nin)
        _activation(activation)
        source = _source(seed, rng)
        self.neurons = [
            Neuron(nin, activation, nonlin=nonlin, rng=source)
            for _ in range(_size("Layer", "nout", nout))
        ]
        self.name("")

    def name(self, prefix: str) -> None:
        """Label the parameters ``prefix`` N0.w0, N0.w1, ..., N0.b, N1.w0, ..."""
        for j, neuron in enumerate(self.neurons):
            neuron.name(f"{prefix}N{j}.")

    def __call__(self, x: Sequence[Operand]) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out  # micrograd returns a lone output unwrapped

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multilayer perceptron: ``MLP(2, [16, 16, 1])``; the last layer is linear.

    ``activation`` is the hidden layers' nonlinearity; ``seed`` as in the module docstring.
    """

    def __init__(
        self, nin: int, nouts: Sequence[int], activation: str = "relu", *, seed: int | None = None
    ) -> None:
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(
                f"MLP: nouts={nouts!r}; give the size of each layer as a list, e.g. [16, 16, 1]"
            )
        sizes = [_size("MLP", "nin", nin)]
        sizes += [_size("MLP", f"nouts[{i}]", n) for i, n in enumerate(nouts)]
        _activation(activation)
        source = _source(seed, None)
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < last else "linear", rng=source)
            for i in range(len(nouts))
        ]
        for i, layer in enumerate(self.layers):
            layer.name(f"L{i}.")  # L0.N3.w1: layer 0, neuron 3, weight 1 (from 0, as in Python)

    def __call__(self, x: Sequence[Operand]) -> Value | list[Value]:
        out: Value | list[Value] = list(x)  # type: ignore[arg-type]
        for layer in self.layers:
            out = layer(out if isinstance(out, list) else [out])
        return out

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
