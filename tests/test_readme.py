"""The README's Python examples run, and print what their comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from .conftest import rules_declared_here

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs_and_prints_its_comments(index: int) -> None:
    code = BLOCKS[index].replace("fit(model, X, y,", "fit(model, X, y, progress=False,")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), rules_declared_here():
        exec(compile(code, f"README block {index}", "exec"), {})  # our own README
    printed = out.getvalue().splitlines()
    expected = [c.strip() for c in re.findall(r"print\(.*\)\s*#\s*(.*)", code)]
    assert len(printed) == len(expected)
    for got, want in zip(printed, expected, strict=True):
        pattern = re.escape(want).replace(re.escape("..."), ".*")  # "..." elides digits
        assert re.fullmatch(pattern, got), (got, want)
