"""The two check digits of the store and the requests, each written once, scalar and vectorised
side by side. Pure functions.

総務省令の算式 (個人番号, 住民票コード): weights 2..7 repeat from the right over the digits before
the check digit; the check digit is 11 - (sum mod 11), or 0 when the remainder is 0 or 1.

JIS X 0402 (市町村コード, 6 digits): weights 6, 5, 4, 3, 2 over the 5-digit code; the check digit
is (11 - sum mod 11) mod 10 (岐阜市 21201 → 212016).

The vectorised forms take a matrix of digits (a numpy integer array, rows × digits) and answer
one value per row; they use only arithmetic operators, so this module needs no numpy import
(store/load.py brings numpy; conditions.py, which imports this module, stays light).
"""
from __future__ import annotations

from operator import mul


_WEIGHTS = tuple(2 + n % 6 for n in range(64))  # from the right: 2, 3, 4, 5, 6, 7, 2, …
# The weighted sum is taken over the ASCII codes (digit + 48): _OFFSET[n] takes the 48s back out
# for a body of n digits, so no int() per digit is needed (twice as fast per 100k-row request).
_OFFSET = tuple(48 * sum(_WEIGHTS[:n]) for n in range(len(_WEIGHTS) + 1))
_MUNICIPALITY_WEIGHTS = (6, 5, 4, 3, 2)


def _digit_of(remainder):
    """総務省令: the check digit for `remainder` = weighted sum mod 11 (an int or an array)."""
    return (11 - remainder) * (remainder > 1)


def _municipality_digit_of(total):
    """JIS X 0402: the check digit for the weighted sum `total` (an int or an array)."""
    return (11 - total % 11) % 10


# --- 総務省令: 個人番号 and 住民票コード --------------------------------------------------------
def check_digit(body: str) -> int:
    """The check digit for `body`, a string of ASCII digits (without the check digit)."""
    if len(body) > len(_WEIGHTS):
        raise ValueError("body too long")
    if not (body.isascii() and body.isdigit()):
        raise ValueError("body must be ASCII digits")
    return _digit_of((sum(map(mul, body.encode()[::-1], _WEIGHTS)) - _OFFSET[len(body)]) % 11)


def _valid(value: str, length: int) -> bool:
    return (
        len(value) == length
        and value.isascii()
        and value.isdigit()
        and check_digit(value[:-1]) == ord(value[-1]) - 48
    )


def valid_kojin_bango(value: str) -> bool:
    """True for a 12-digit 個人番号 whose last digit is its check digit."""
    return _valid(value, 12)


def valid_jumin_code(value: str) -> bool:
    """True for an 11-digit 住民票コード whose last digit is its check digit."""
    return _valid(value, 11)


def with_check_digit(body: str) -> str:
    """`body` followed by its check digit (for generators and tests)."""
    return body + str(check_digit(body))


def check_digits(bodies):
    """Vectorised check_digit: rows × n digits (the bodies) → the check digit of each row."""
    n = bodies.shape[1]
    return _digit_of((bodies @ _WEIGHTS[n - 1::-1]) % 11)


def valid_check_digits(digits):
    """Vectorised validity: rows × n digits → per row, whether the last digit is the check
    digit of the others (the caller has checked that every row is n ASCII digits)."""
    return check_digits(digits[:, :-1]) == digits[:, -1]


# --- JIS X 0402: 市町村コード -------------------------------------------------------------------
def municipality_check_digit(code5: str) -> int:
    """JIS X 0402 全国地方公共団体コードの検査数字 of a 5-digit code."""
    return _municipality_digit_of(sum(int(d) * w for d, w in zip(code5, _MUNICIPALITY_WEIGHTS)))


def municipality_code(code5: str) -> str:
    """The 6-digit 市町村コード: `code5` followed by its check digit."""
    return code5 + str(municipality_check_digit(code5))


def valid_municipality_code(value: str) -> bool:
    """True for 6 ASCII digits whose last is the JIS X 0402 check digit of the first five."""
    return (len(value) == 6 and value.isascii() and value.isdigit()
            and municipality_check_digit(value[:5]) == ord(value[5]) - 48)


def valid_municipality_codes(digits):
    """Vectorised valid_municipality_code: rows × 6 digits → per row, whether it is valid."""
    return _municipality_digit_of(digits[:, :5] @ _MUNICIPALITY_WEIGHTS) == digits[:, 5]
