"""checkdigit: the 総務省令 formula, against the ordinance's own wording and a published example."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulktool.checkdigit import check_digit, valid_jumin_code, valid_kojin_bango, with_check_digit


def ordinance(body: str) -> int:
    """As the ordinance writes it: P_n is the n-th digit from the right of the body, Q_n = n + 1
    for 1 ≤ n ≤ 6 and n − 5 for 7 ≤ n ≤ 11; 11 − (Σ P_n × Q_n mod 11), or 0 when the remainder ≤ 1."""
    total = sum(int(p) * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(reversed(body), 1))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def test_the_published_example_number():
    assert check_digit("12345678901") == 8 and valid_kojin_bango("123456789018")
    assert not valid_kojin_bango("123456789017")


@given(st.text(alphabet="0123456789", min_size=1, max_size=11))
def test_agrees_with_the_ordinance_for_every_body(body):
    assert check_digit(body) == ordinance(body)


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_jumin_code_and_a_changed_check_digit(body):
    code = with_check_digit(body)
    assert valid_jumin_code(code)
    assert not valid_jumin_code(code[:-1] + str((int(code[-1]) + 1) % 10))


@pytest.mark.parametrize("body", ["１２３", "12a", ""])
def test_a_body_that_is_not_ascii_digits_is_a_programming_error(body):
    with pytest.raises(ValueError):
        check_digit(body)
    assert not valid_kojin_bango("１２３４５６７８９０１８")


def _matrix(values: list[str]):
    import numpy as np

    return np.array([[ord(c) - 48 for c in v] for v in values], dtype=np.int64).reshape(len(values), -1)


@given(st.lists(st.text(alphabet="0123456789", min_size=12, max_size=12), min_size=1, max_size=50))
def test_the_vectorised_formula_agrees_with_the_scalar_one(values):
    from bulktool.checkdigit import check_digits, valid_check_digits

    for n in (11, 12):
        rows = [v[:n] for v in values] + [with_check_digit(v[:n - 1]) for v in values]
        assert list(valid_check_digits(_matrix(rows))) == [
            (valid_jumin_code if n == 11 else valid_kojin_bango)(v) for v in rows]
        assert list(check_digits(_matrix([v[:n - 1] for v in values]))) == [check_digit(v[:n - 1]) for v in values]


def test_municipality_check_digit_is_jis_x_0402_scalar_and_vectorised():
    from bulktool.checkdigit import (municipality_check_digit, municipality_code, valid_municipality_code,
                                     valid_municipality_codes)

    assert municipality_code("21201") == "212016" and municipality_code("13000") == "130001"
    assert municipality_check_digit("01000") == 6
    codes = [f"{n:05d}" for n in range(0, 100_000, 37)]
    rows = [municipality_code(c) for c in codes] + [c + str((municipality_check_digit(c) + 1) % 10) for c in codes]
    assert list(valid_municipality_codes(_matrix(rows))) == [valid_municipality_code(r) for r in rows]
    assert sum(map(valid_municipality_code, rows)) == len(codes)
    assert not valid_municipality_code("21201") and not valid_municipality_code("２１２０１６")
