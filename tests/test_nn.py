"""The tiny MLP: modules, micrograd compatibility, state dicts."""

from __future__ import annotations

import copy
import json
import pickle
import random

import pytest

from microgrowth import Value
from microgrowth.engine import as_values
from microgrowth.nn import MLP, Layer, Module, Neuron
from microgrowth.trace import trace


def test_mlp_shape_and_parameter_count() -> None:
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    assert [layer.neurons[0].activation for layer in model.layers] == ["relu", "relu", "linear"]
    out = model([0.5, -1.0])
    assert isinstance(out, Value)
    assert isinstance(MLP(2, [3, 2])([1.0, 2.0]), list)


def test_neuron_computes_activation_of_w_dot_x_plus_b() -> None:
    n = Neuron(3, activation="tanh", seed=4)
    n.b.data = 0.25
    x = [0.5, -1.0, 2.0]
    expected = sum(w.data * xi for w, xi in zip(n.w, x)) + 0.25
    out = n(x)
    assert out.data == pytest.approx(Value(expected).tanh().data, rel=1e-12)
    out.backward()
    d = 1 - out.data**2
    assert [w.grad for w in n.w] == pytest.approx([d * xi for xi in x], rel=1e-12)
    assert n.b.grad == pytest.approx(d)


def test_micrograd_spellings() -> None:
    assert not Neuron(3, nonlin=False).nonlin
    assert Neuron(3, nonlin=True).activation == "relu"
    layer = Layer(2, 3, nonlin=False)
    assert all(n.activation == "linear" for n in layer.neurons)
    assert repr(MLP(2, [2, 1])) == (
        "MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2)], Layer of [LinearNeuron(2)]]"
    )


def test_seeded_initialisation_is_reproducible_and_leaves_global_random_alone() -> None:
    random.seed(5)
    before = random.random()
    random.seed(5)
    a, b = MLP(2, [4, 1], seed=7), MLP(2, [4, 1], seed=7)
    assert random.random() == before  # the global state was not used
    assert a.state_dict() == b.state_dict()
    assert a.state_dict() != MLP(2, [4, 1], seed=8).state_dict()
    assert all(-1 <= w <= 1 for w in a.state_dict())


def test_zero_grad_and_state_dict_round_trip() -> None:
    model = MLP(2, [3, 1], seed=1)
    out = model([1.0, 2.0])
    assert isinstance(out, Value)
    out.backward()
    assert any(p.grad for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    saved = json.dumps(model.state_dict())
    other = MLP(2, [3, 1], seed=2)
    other.load_state_dict(json.loads(saved))
    assert other.state_dict() == model.state_dict()
    o1, o2 = model([0.3, 0.4]), other([0.3, 0.4])
    assert isinstance(o1, Value) and isinstance(o2, Value) and o1.data == o2.data


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="the state has 2 numbers but MLP has 13 parameters"):
        MLP(2, [3, 1]).load_state_dict([1.0, 2.0])
    with pytest.raises(ValueError, match="entry 0 is nan"):
        MLP(1, [1]).load_state_dict([float("nan"), 0.0])
    with pytest.raises(ValueError, match="activation='swish': choose one of relu"):
        Neuron(2, activation="swish")
    with pytest.raises(ValueError, match="Neuron: expected 2 inputs, got 3"):
        Neuron(2)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"nouts=\[\]; give the size of each layer"):
        MLP(2, [])
    with pytest.raises(ValueError, match="nin=0"):
        Neuron(0)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Layer(2, 0), "Layer: nout=0; give a whole number of at least 1"),
        (lambda: Layer(0, 2), "Layer: nin=0"),
        (lambda: Layer(2, 2.0), "Layer: nout=2.0"),  # type: ignore[arg-type]
        (lambda: Neuron(True), "Neuron: nin=True"),
        (lambda: MLP(2, [16, 0, 1]), r"MLP: nouts\[1\]=0"),
        (lambda: MLP(2, [16, -3]), r"MLP: nouts\[1\]=-3"),
        (lambda: MLP(2, 16), "MLP: nouts=16; give the size of each layer as a list"),  # type: ignore[arg-type]
        (lambda: MLP(2.5, [1]), "MLP: nin=2.5"),  # type: ignore[arg-type]
        (lambda: MLP(2, [1], activation="swish"), "activation='swish': choose one of relu, tanh"),
        (lambda: Layer(2, 1, activation="ReLU"), "activation='ReLU': choose one of relu"),
        (lambda: Neuron(2, activation=None), "activation=None: choose one of"),  # type: ignore[arg-type]
        (lambda: MLP(2, [1], seed=1.5), "seed=1.5: use a whole number"),  # type: ignore[arg-type]
    ],
)
def test_sizes_and_activations_are_checked(make, message: str) -> None:  # type: ignore[no-untyped-def]
    # MLP(2, [1], activation="swish") used to pass: its only layer is linear, so the name was
    # never looked up; Layer(2, 0) made a layer that returned [].
    with pytest.raises((ValueError, TypeError), match=message):
        make()


@pytest.mark.parametrize("state", [{0: 0.5, 1: 0.5, 2: 0.5, 3: 0.5}, {0.5, 0.25}, "0.5", 0.5])
def test_load_state_dict_refuses_a_dict_and_other_non_lists(state: object) -> None:
    # Issue 11: a dict {0: 0.5, 1: 0.5, ...} used to load its keys 0, 1, 2, ... as the weights.
    model = Neuron(3, seed=0)
    before = model.state_dict()
    with pytest.raises(TypeError, match="load_state_dict: got .*; give Neuron the list of numbers"):
        model.load_state_dict(state)  # type: ignore[arg-type]
    assert model.state_dict() == before


def test_load_state_dict_takes_any_sequence_in_parameter_order() -> None:
    model = Neuron(3, seed=0)
    model.load_state_dict((0.1, 0.2, 0.3, 0.4))
    assert [w.data for w in model.w] == [0.1, 0.2, 0.3] and model.b.data == 0.4
    with pytest.raises(ValueError, match="entry 2 is 'x', not a finite number"):
        model.load_state_dict([1.0, 2.0, "x", 4.0])  # type: ignore[list-item]
    assert model.state_dict() == [0.1, 0.2, 0.3, 0.4]  # all or nothing


@pytest.mark.parametrize(
    "make",
    [
        lambda: MLP(2, [4, 4, 1], seed=0),
        lambda: MLP(2, [3, 3], activation="tanh", seed=1),
        lambda: Layer(2, 3, activation="sigmoid", seed=2),
        lambda: Neuron(2, nonlin=False, seed=3),
    ],
)
def test_models_pickle_and_deepcopy(make) -> None:  # type: ignore[no-untyped-def]
    # The "linear" activation was a lambda stored on every neuron: no MLP could be pickled.
    model = make()
    model(as_values([0.5, -1.0]))  # a graph built once must not get in the way
    for twin in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert twin.state_dict() == model.state_dict()
        assert twin.parameters()[0] is not model.parameters()[0]
        for x in ([0.5, -1.0], [2.0, 0.25]):
            assert outputs(twin(x)) == outputs(model(x))
        twin.parameters()[0].data += 1.0
        assert twin.state_dict() != model.state_dict()  # independent copies


def outputs(out: Value | list[Value]) -> list[float]:
    return [v.data for v in (out if isinstance(out, list) else [out])]


def test_unseeded_models_draw_from_the_global_random_module() -> None:
    # Issue 13: MLP(...) used a private generator with seed 0, so random.seed(...) was ignored.
    random.seed(1337)
    a = MLP(2, [3, 1])
    random.seed(1337)
    expected = [random.uniform(-1, 1) for _ in range(2)] + [0.0]  # micrograd: weights, bias 0
    assert a.layers[0].neurons[0].state_dict() == expected
    random.seed(1337)
    assert MLP(2, [3, 1]).state_dict() == a.state_dict()
    assert MLP(2, [3, 1]).state_dict() != a.state_dict()  # the global state moved on
    assert Neuron(2, seed=5).state_dict() == Neuron(2, seed=5).state_dict()


def test_module_base_has_no_parameters() -> None:
    assert Module().parameters() == [] and Module().state_dict() == []


MICROGRAD_SCRIPT = """
import random
from microgrowth.engine import Value
from microgrowth.nn import Neuron, Layer, MLP

random.seed(1337)
X = [[random.uniform(-1, 1), random.uniform(-1, 1)] for _ in range(40)]
y = [1 if a * b > 0 else -1 for a, b in X]
model = MLP(2, [16, 16, 1])
print(model)
print("number of parameters", len(model.parameters()))

def loss():
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    alpha = 1e-4
    reg_loss = alpha * sum((p * p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
    return total_loss, sum(accuracy) / len(accuracy)

for k in range(30):
    total_loss, acc = loss()
    model.zero_grad()
    total_loss.backward()
    learning_rate = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    if k % 10 == 0:
        print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")
print("final", total_loss.data, acc)
"""


def test_a_micrograd_script_runs_unchanged_with_the_import_swapped() -> None:
    namespace: dict[str, object] = {}
    exec(compile(MICROGRAD_SCRIPT, "micrograd_demo", "exec"), namespace)  # our own text
    total_loss = namespace["total_loss"]
    assert isinstance(total_loss, Value)
    first_loss, _ = namespace["loss"]()  # type: ignore[operator]
    assert first_loss.data < 0.5  # it learned: the hinge loss starts near 1
    assert namespace["acc"] >= 0.9  # type: ignore[operator]


def test_parameters_are_named_for_tables_and_graphs_without_changing_values_or_order() -> None:
    model = MLP(3, [4, 1], seed=0)
    names = [p.label for p in model.parameters()]
    assert names[:5] == ["L0.N0.w0", "L0.N0.w1", "L0.N0.w2", "L0.N0.b", "L0.N1.w0"]
    assert names[12] == "L0.N3.w0" and names[-1] == "L1.N0.b" and len(set(names)) == len(names)
    source = random.Random(0)  # the values are the seeded draws, in micrograd's order
    expected = []
    for nin, nout in ((3, 4), (4, 1)):
        for _ in range(nout):
            expected += [source.uniform(-1, 1) for _ in range(nin)] + [0.0]
    assert model.state_dict() == expected
    neuron = Neuron(2, seed=1)
    assert [p.label for p in neuron.parameters()] == ["w0", "w1", "b"]
    assert [p.label for p in Layer(2, 2, seed=1).parameters()][3:] == ["N1.w0", "N1.w1", "N1.b"]
    table = trace(model([1.0, 2.0, 3.0]))  # type: ignore[arg-type]
    assert "L0.N3.w1" in table.gradients and "L1.N0.b" in table.gradients
