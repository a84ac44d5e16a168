"""The command line: tables in every format, and refusals of anything but arithmetic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from microgrowth.cli import main
from microgrowth.expression import ExpressionError, parse


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_trace_prints_the_running_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "trace", "ln(x1) + x1*x2 - sin(x2)", "x1=2", "x2=5")
    assert code == 0
    assert "v_5     = v_4 - v_3     11.6521" in out
    assert "∂y/∂x2             = v̄_0 (the gradient)                             1.7163" in out


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [
        ("markdown", "| v_1 | ln(v_{-1}) |"),
        ("latex", "\\ln v_{-1}"),
        ("html", "<td>ln(v_{-1})</td>"),
        ("text", "v_1     = ln(v_{-1})"),
    ],
)
def test_formats(capsys: pytest.CaptureFixture[str], fmt: str, marker: str) -> None:
    code, out, _ = run(
        capsys,
        "trace",
        "log(x1) + x1*x2 - sin(x2)",
        "x1=2",
        "x2=5",
        "--format",
        fmt,
        "--digits",
        "2",
        "--svg",
        "",
    )
    assert code == 0 and marker in out and "11.65" in out and "11.652" not in out


HOSTILE = [
    ("__import__('os').system('touch PWNED')", "is not a function here"),
    ("x1.__class__.__bases__", "is not allowed (Attribute)"),
    ("[x1 for x1 in (1, 2)]", "is not allowed (ListComp)"),
    ("(lambda: 1)()", "is not a function here"),
    ("lambda: 1", "is not allowed (Lambda)"),
    ("'touch PWNED'", "only numbers are allowed as literals"),
    ("x1[0]", "is not allowed (Subscript)"),
    ("open('PWNED', 'w')", "`open` (column 1) is not a function here"),
    ("exec('1')", "`exec` (column 1) is not a function here"),
    ("x3 + 1", "`x3` (column 1) has no value: add x3=<number>"),
    ("x1 + +", "not a valid expression"),
    ("sin(x1, x2)", "sin takes one argument"),
    ("sin(x=x1)", "sin takes one argument"),
    ("x1 // 2", "the operator FloorDiv"),
    ("x1 < 2", "is not allowed (Compare)"),
    ("True * x1", "only numbers are allowed as literals, not `True`"),
    ("1j * x1", "only numbers are allowed as literals, not `1j`"),
    ("log(0 * x1)", "log(0.0): the input must be positive"),
    ("x1 / (x2 - 5)", "div(2.0, 0.0): the divisor must not be zero"),
    ("x1 + " * 2000 + "x1", "nested too deeply"),
]


@pytest.mark.parametrize(("expression", "message"), HOSTILE)
def test_hostile_expressions_are_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    expression: str,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "trace", expression, "x1=2", "x2=5")
    assert code == 2 and out == ""
    assert err.startswith("microgrowth: ") and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing was executed


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["x1=abc"], "x1=abc: the value must be a number"),
        (["x1=nan"], "finite"),
        (["x1=inf"], "finite"),
        (["x1"], "give each variable as name=number"),
        (["1x=2"], "give each variable as name=number"),
    ],
)
def test_bad_values_are_refused(
    capsys: pytest.CaptureFixture[str], values: list[str], message: str
) -> None:
    code, _, err = run(capsys, "trace", "x1 * 2", *values)
    assert code == 2 and message in err


def test_parse_labels_inputs_and_reuses_them() -> None:
    y, inputs = parse("x * x + 2 ** x", {"x": 3})
    assert inputs["x"].label == "x" and y.data == 17.0
    y.backward()
    assert inputs["x"].grad == pytest.approx(6 + 8 * 0.6931471805599453)
    with pytest.raises(ExpressionError):
        parse("x.y", {"x": 1})


def test_console_entry_point_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "microgrowth", "trace", "tanh(w*x + b)", "w=0.5", "x=2", "b=-1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "v_3     = tanh(v_2)" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "microgrowth", "trace", "os.getcwd()"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "not a function here" in bad.stderr


def test_demo_without_graphviz_writes_dot_text_and_says_how_to_install(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/nonexistent")
    code, out, err = run(capsys, "demo")
    assert code == 0 and "v_5     = v_4 - v_3     11.6521" in out
    assert "install it with 'sudo apt-get install graphviz'" in err and "wrote graph.dot" in err
    assert (tmp_path / "graph.dot").read_text().startswith("digraph microgrowth {")
    code, _, err = run(capsys, "trace", "x * 2", "x=1", "--svg", "x.svg")
    assert code == 1 and "dot program was not found" in err  # asked for SVG explicitly: an error
