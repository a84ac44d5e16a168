"""The command line: tables in every format, and refusals of anything but arithmetic."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from microgrowth import Value, exp, trace
from microgrowth.cli import main
from microgrowth.expression import ExpressionError, parse
from microgrowth.ops import FUNCTIONS
from microgrowth.rules import UNARY
from microgrowth.viz import MAX_NODES


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
        ("markdown", "| v₁ | ln(v₋₁) |"),
        ("latex", "\\ln v_{-1}"),
        ("html", "<td>ln(v<sub>-1</sub>)</td>"),
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
    ("x1 + " * 2000 + "x1", "the expression has 10,002 characters, more than 1,000"),
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
    assert "or write the graph's DOT text, which needs no Graphviz, with --svg FILE.dot" in err
    assert "draw(y)" not in err  # a shell user is told about flags, not Python
    assert (tmp_path / "graph.dot").read_text().startswith("digraph microgrowth {")
    code, _, err = run(capsys, "trace", "x * 2", "x=1", "--svg", "x.svg")
    assert code == 1 and "dot program was not found" in err  # asked for SVG explicitly: an error


# --- numbers are constants, as in the Python API ------------------------------------------------


def gradients(out: str) -> dict[str, str]:
    """The gradient rows of a text table: {"x": "0.2217"} from "∂y/∂x  = v̄_0 ...  0.2217"."""
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("∂y")]
    return {row[0].split("/∂", 1)[1]: row[-1] for row in rows}  # ∂y/∂x, or ∂y′/∂y


def test_numbers_typed_in_an_expression_are_constants(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "trace", "exp(x)/(1+exp(x))", "x=0.7")
    assert (code, err) == (0, "")
    assert gradients(out) == {"x": "0.2217"}  # one input: no row for the 1
    assert "= input" not in out
    x = Value(0.7, label="x")
    assert out == str(trace(exp(x) / (1 + exp(x)))) + "\n"  # the table of the Python API


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["(w*x - 3)**2", "w=0.5", "x=2"], {"w": "-8", "x": "-2"}),  # 2*(w*x - 3) * (x, w)
        (["x**2", "x=-3"], {"x": "-6"}),  # a number exponent: powc, no ln of the base
        (["x**0", "x=0"], {"x": "0"}),  # the limit: x**0 is flat, even at 0
        (["x**-1", "x=-2"], {"x": "-0.25"}),
        (["2**x", "x=3"], {"x": "5.5452"}),  # 2**3 * ln 2
        (["x*10*10", "x=10", "--digits", "0"], {"x": "100"}),
    ],
)
def test_expressions_that_crashed_with_a_number_as_input(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: dict[str, str]
) -> None:
    code, out, err = run(capsys, "trace", *argv)
    assert (code, err) == (0, "")
    assert gradients(out) == expected


def test_zero_digits_keep_the_zeros_of_whole_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "trace", "x*10*10", "x=10", "--digits", "0")
    values = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert code == 0 and {"10", "100", "1000"} <= values


# --- refusals: one line on stderr, exit status 2, nothing on stdout -----------------------------

REFUSALS = [
    (["sqrt(x)", "x=0"], "backward: sqrt(0.0): the local partial d/da = 0.5 / y cannot be"),
    (["1 + 2"], "`1 + 2` has no variable, so there is nothing to differentiate"),
    (["exp(1) * 2"], "has no variable"),
    (["x", "x=1", "x=2"], "x is given twice (x=1, x=2): give each variable once"),
    (["x", "x=1", "y=2"], "y is given a value but is not in the expression: remove y=..."),
    (["(log(0*\nx))", "x=1"], "`log(0* x)` (column 2): log(0.0): the input must be positive"),
    (["(2\n+ 3)"], "`(2 + 3)` has no variable"),
    (["x + 1 " * 200, "x=1"], "the expression has 1,199 characters"),
    (["x", "x=1", "--digits", "-1"], "argument --digits: '-1': give a whole number, from 0 to 17"),
    (["x", "x=1", "--digits", "18"], "argument --digits: '18': give a whole number, from 0 to 17"),
    (["x", "x=1", "--digits", "two"], "argument --digits: 'two'"),
    (["x", "x=1", "--digits"], "argument --digits: expected one argument"),
    (["x", "x=1", "--format", "pdf"], "argument --format: invalid choice: 'pdf'"),
    (["x", "x=1", "--colour"], "unrecognized arguments: --colour; see microgrowth trace --help"),
    (["x", "x=1", "--max-nodes", "0"], "argument --max-nodes: '0': give a whole number, 1 or more"),
    (["x", "x=1", "--svg", "graph.txt"], "--svg graph.txt: give the file an extension such as"),
    ([], "the following arguments are required: expression"),
    (["x+" * 3000 + "x", "x=1"], "the expression has 6,001 characters, more than 1,000"),
    (["-" * 10000 + "x", "x=1"], "the expression has 10,001 characters, more than 1,000"),
    (["x**" * 3000 + "x", "x=1"], "the expression has 9,001 characters, more than 1,000"),
    (["-" * 900 + "x", "x=1"], "the expression nests 901 operations in each other"),
    (["-" * 50 + "abs(" * 160 + "x" + ")" * 160, "x=1"], "nests 211 operations"),
    (["(" * 300 + "x" + ")" * 300, "x=1"], "too many nested parentheses"),
    (["9" * 400 + " * x", "x=1"], "(column 1): the result is too large for a float"),
    (["(-8)**0.5 * x", "x=1"], "`(-8)**0.5` (column 1) is not a real number"),
    (["1e999 * x", "x=1"], "`1e999` (column 1) is inf, not a finite number"),
]


@pytest.mark.parametrize(("argv", "message"), REFUSALS)
def test_every_refusal_is_one_line_exit_2_and_nothing_on_stdout(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "trace", *argv)
    assert (code, out) == (2, "")
    assert err.startswith("microgrowth") and err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err and "max_nodes=" not in err


def test_top_level_refusals_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["draw"], ["--digits", "3"]):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (2, "") and err.count("\n") == 1 and "microgrowth --help" in err


# --- shell habits -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["trace", "x*y", "--format", "markdown", "x=2", "y=3"],
        ["trace", "--format", "markdown", "x*y", "x=2", "y=3"],
        ["trace", "x*y", "x=2", "--format=markdown", "y=3"],
    ],
)
def test_options_anywhere(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "| v₁ | v₋₁ * v₀ | 6 |" in out


@pytest.mark.parametrize(
    ("expression", "gradient"), [("-x", "-1"), ("-x*y", "-3"), ("-(x - 5)**2", "6")]
)
def test_expressions_may_start_with_a_minus(
    capsys: pytest.CaptureFixture[str], expression: str, gradient: str
) -> None:
    argv = ["trace", expression, "x=2"] + (["y=3"] if "y" in expression else [])
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "") and gradients(out)["x"] == gradient


def test_a_closed_pipe_ends_quietly() -> None:
    reader, writer = os.pipe()
    os.close(reader)  # like `| head -1` that has already left: every write fails with EPIPE
    done = subprocess.run(
        [sys.executable, "-m", "microgrowth", "trace", "ln(x1) + x1*x2 - sin(x2)", "x1=2", "x2=5"],
        stdout=writer,
        stderr=subprocess.PIPE,
        check=False,
    )
    os.close(writer)
    assert (done.returncode, done.stderr) == (1, b"")


@pytest.mark.parametrize(
    ("argv", "shown"),
    [([b"x\xff", b"x=1"], "argument 2 is not valid UTF-8: b'x\\xff'"),
     ([b"x", b"x=\xff\xfe"], "argument 3 is not valid UTF-8: b'x=\\xff\\xfe'")],
)  # fmt: skip
def test_invalid_utf8_is_refused(argv: list[bytes], shown: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "microgrowth", "trace", *argv], capture_output=True, check=False
    )
    err = done.stderr.decode()
    assert (done.returncode, done.stdout) == (2, b"")
    assert err == f"microgrowth: {shown}; type it again as UTF-8 text\n"


def test_max_nodes_sets_the_drawing_limit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    expression, picture = "+".join(f"{i}*x" for i in range(1, 151)), tmp_path / "sum.dot"
    argv = ["trace", expression, "x=1", "--svg", str(picture)]
    code, out, err = run(capsys, *argv, "--max-nodes", "299")
    assert (code, out) == (2, "") and not picture.exists()
    assert err == (
        "microgrowth: the graph has 300 values, more than --max-nodes 299: a picture that large "
        "is hard to read; give --max-nodes 300 to draw it anyway\n"
    )
    code, out, err = run(capsys, *argv, "--max-nodes", "300")
    assert code == 0 and gradients(out) == {"x": "11325"}  # 1 + 2 + ... + 150
    assert picture.read_text().count("->") > 300 and err == f"wrote {picture}\n"
    assert MAX_NODES >= 300  # the default draws it too


def test_help_lists_every_function_of_the_rule_table(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["trace", "--help"], ["trace", "-h", "x"]):
        code, out, err = run(capsys, *argv)
        assert (code, err) == (0, "")
        words = out.replace(".", " ").split()
        assert all(rule.name in words for rule in UNARY) and "ln" in words
        assert 'microgrowth trace "ln(x1) + x1*x2 - sin(x2)" x1=2 x2=5' in out
        assert "softplus(x) = ln(1 + exp(x))" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"microgrowth {version('microgrowth')}\n", "")


def test_readme_lists_the_functions_the_command_line_accepts() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"functions of the rule table\n\(`([a-z ]+)`", readme)
    assert listed is not None and listed.group(1).split() == sorted(FUNCTIONS)


def test_names_are_read_as_python_reads_them(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "trace", "ﬁ*2", "ﬁ=3")  # the ligature ﬁ is the name fi
    assert (code, err) == (0, "") and gradients(out) == {"fi": "2"}


# --- the animation: --gif -----------------------------------------------------------------------

HAVE_DOT = __import__("shutil").which("dot") is not None
needs_dot = pytest.mark.skipif(
    not HAVE_DOT and not os.environ.get("MICROGROWTH_REQUIRE_DOT"),
    reason="Graphviz's dot program is not installed",
)


@needs_dot
def test_trace_writes_the_animation(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from PIL import Image, ImageSequence

    gif = tmp_path / "square.gif"
    code, out, err = run(capsys, "trace", "x*x", "x=3", "--gif", str(gif))
    assert code == 0 and f"wrote {gif}" in err and "v̄_0 (sum)" in out
    with Image.open(gif) as picture:
        assert (
            sum(1 for _ in ImageSequence.Iterator(picture)) == 2 + 5
        )  # the forward values, 5 rows of the table, the gradient


def test_gif_without_pillow_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now raises ImportError
    gif = tmp_path / "square.gif"
    code, out, err = run(capsys, "trace", "x*x", "x=3", "--gif", str(gif))
    assert code == 1 and "v̄_0 (sum)" in out and not gif.exists()
    assert err == (
        "microgrowth: Pillow was not found: the animation of the backward pass (--gif) is made "
        "with it; install it with 'pip install \"microgrowth[animation]\"' (or 'pip install "
        "Pillow'), or leave out --gif\n"
    )
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "demo")  # the demo writes the GIF where it can: no error
    assert code == 0 and "Pillow was not found" in err and "wrote graph" in err
    assert not (tmp_path / "backward.gif").exists()


def test_gif_wants_the_gif_extension(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "trace", "x*x", "x=3", "--gif", "square.png")
    assert (code, out) == (2, "")
    assert err == "microgrowth: --gif square.png: give the file the extension .gif\n"


@needs_dot
def test_demo_writes_the_graph_and_the_animation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image, ImageSequence

    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "demo")
    assert code == 0 and "wrote graph.svg" in err and "wrote backward.gif" in err
    with Image.open(tmp_path / "backward.gif") as picture:
        assert (
            sum(1 for _ in ImageSequence.Iterator(picture)) == 15
        )  # the running example: 13 rows, and the first and last


def test_svg_labels_edges_of_small_graphs_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    small, large = tmp_path / "small.dot", tmp_path / "large.dot"
    assert run(capsys, "trace", "x*y", "x=2", "y=3", "--svg", str(small))[0] == 0
    assert "∂v₁/∂v₋₁ = 3" in small.read_text()
    big = "+".join(f"sin(x*{k})" for k in range(5))  # 15 values
    assert run(capsys, "trace", big, "x=2", "--svg", str(large))[0] == 0
    text = large.read_text()
    assert "∂" not in text and "_op" not in text and "y (v₁₄)" in text


def test_an_unwritable_picture_path_is_refused_before_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for flag, name in (("--svg", "g.svg"), ("--gif", "g.gif")):
        code, out, err = run(capsys, "trace", "x*x", "x=1", flag, f"/nonexistent/dir/{name}")
        assert (code, out) == (2, "") and "does not exist or is not writable" in err
        assert err.count("\n") == 1


def test_an_overflow_in_plain_numbers_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "trace", "x*9**9**9", "x=1")
    assert (code, out) == (2, "") and "too large for a float" in err and "34" not in err
