"""ID numbers: checked by hand against GB 11643-1999 (weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, mod 11)."""

from datetime import date

import polars as pl
import pytest

from doudi.core.ids import IdNumberError, build_id_number, convert_15_to_18, normalize_id_expr, parse_id_number

# 11010519491231002X: weighted sum 167, 167 mod 11 = 2 -> 'X' (the standard's own example).
VALID = "11010519491231002X"


def test_standard_example_is_valid_and_decoded() -> None:
    info = parse_id_number(VALID)
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "F"  # 17th digit 2 is even
    assert info.area_code == "110105"


def test_lower_case_x_and_spaces_are_normalised() -> None:
    assert parse_id_number(" 11010519491231002x ").number == VALID


def test_15_digit_number_is_converted() -> None:
    # 110105 491231 002 -> 110105 19491231 002 + check X
    assert convert_15_to_18("110105491231002") == VALID
    assert parse_id_number("110105491231002").number == VALID


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("", "missing"),
        ("1101051949123100", "length"),
        ("11010519491231002Y", "format"),
        ("1101051949123A002X", "format"),
        ("110105194912310021", "checksum"),  # expected X
        ("990105194912310025", "area"),  # 99 is no province
        ("110105194902300021", "birth_date"),  # 30 February
        ("440524188001010014", "birth_date"),  # the standard's 1880 example: checksum right, implausible today
        ("110105209912310025", "birth_date"),  # in the future
    ],
)
def test_each_failure_has_its_own_code(number: str, code: str) -> None:
    with pytest.raises(IdNumberError) as err:
        parse_id_number(number, today=date(2026, 11, 29))
    assert err.value.code == code
    assert str(err.value)


def test_build_id_number_round_trips() -> None:
    n = build_id_number("370784", date(1958, 3, 7), 123, "M")
    info = parse_id_number(n)
    assert info.sex == "M" and info.birth_date == date(1958, 3, 7) and n.startswith("37078419580307")
    f = build_id_number("370784", date(1990, 1, 1), 123, "F")
    assert parse_id_number(f).sex == "F"


def test_vectorised_normalisation_matches_scalar() -> None:
    raw = [VALID, "11010519491231002x", "110105491231002", "110105194912310021", None, "abc", "990105194912310025"]
    out = pl.DataFrame({"id": raw}).select(normalize_id_expr("id")).to_series().to_list()
    assert out == [VALID, VALID, VALID, None, None, None, None]
