"""`trace.number`: the numbers of every table, at every number of decimals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgrowth.trace import number


def test_zero_decimals_keep_the_zeros_of_whole_numbers() -> None:
    assert [number(x, 0) for x in (10.0, 100.0, 1000.0, 12.3, -250.0)] == [
        "10",
        "100",
        "1000",
        "12",
        "-250",
    ]


@pytest.mark.parametrize("digits", range(18))
def test_powers_of_ten_at_every_digits(digits: int) -> None:
    assert [number(10.0**k, digits) for k in range(9)] == [str(10**k) for k in range(9)]


@pytest.mark.parametrize(
    ("x", "digits", "shown"),
    [
        (11.652071455223084, 4, "11.6521"),
        (-0.2836621854632263, 4, "-0.2837"),
        (5.5, 4, "5.5"),
        (11.652071455223084, 0, "12"),
        (11.652071455223084, 1, "11.7"),
        (-0.0, 4, "0"),
        (0.4, 0, "4e-01"),  # rounding to 0 decimals would leave 0: scientific instead
        (1e-9, 4, "1.0000e-09"),
        (12345678901.0, 2, "1.23e+10"),
        (0.99996, 4, "1"),
    ],
)
def test_examples(x: float, digits: int, shown: str) -> None:
    assert number(x, digits) == shown


@given(st.floats(-1e12, 1e12), st.integers(0, 17))
def test_the_text_is_the_number_to_the_decimals_asked(x: float, digits: int) -> None:
    text = number(x, digits)
    if "e" in text:  # scientific: `digits` decimals in the mantissa
        mantissa = text.split("e")[0]
        assert len(mantissa.partition(".")[2]) == digits
        assert abs(float(text) - x) <= 0.5 * 10.0**-digits * abs(x) * (1 + 1e-9)
        assert abs(x) >= 1e9 or 0 < abs(x) < 10.0**-digits
    else:
        assert len(text.partition(".")[2]) <= digits and not text.endswith(".")
        assert abs(float(text) - x) <= 0.5 * 10.0**-digits + 1e-15 * abs(x)
        assert "." not in text or not text.endswith("0")


@pytest.mark.parametrize("digits", [-1, 18, 1000, True, 2.0, "3"])
def test_digits_out_of_range_are_refused(digits: object) -> None:
    with pytest.raises(ValueError, match=r"digits=.*: give a whole number of decimals"):
        number(1.0, digits)  # type: ignore[arg-type]
