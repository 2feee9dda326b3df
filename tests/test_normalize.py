"""One test per normalisation rule (docs/normalize.md), and properties over arbitrary text."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulktool.normalize import (DateError, address_key, digits, is_kana, kana_key, kanji_to_int, name_key,
                                parse_date, split_name)


def test_digits_folds_width_hyphens_and_spaces():
    assert digits("１２３４-５６７８ ９０１２") == "123456789012"
    assert digits("1234‐5678−9012") == "123456789012"
    assert digits("12a4") == "12a4"  # kept, so that the caller's isdigit check refuses it


def test_name_key_removes_spaces_of_every_width():
    assert name_key("山田　太郎") == name_key("山田 太郎") == name_key("山田太郎") == "山田太郎"


def test_name_key_never_nfkc_folds_compatibility_ideographs():
    key = name_key("\ufa19田　太郎")
    assert key[0] == "\ufa19"
    assert key != name_key("\u795e田太郎")


def test_name_key_ignores_ivs_selectors():
    assert name_key("葛\U000e0100城　花子") == name_key("葛城　花子")


def test_name_key_keeps_old_character_forms_apart():
    assert name_key("髙橋") != name_key("高橋")
    assert name_key("齋藤") != name_key("斎藤")


def test_name_key_keeps_characters_outside_cp932():
    assert name_key("𠮷田　一郎") == "𠮷田一郎"


def test_name_key_folds_full_width_ascii_only():
    assert name_key("ＡＢＣ") == "ABC"


def test_kana_key_katakana_and_hiragana_agree():
    assert kana_key("ヤマダ タロウ") == kana_key("やまだ　たろう")


def test_kana_key_half_width_katakana_with_dakuten():
    assert kana_key("ﾔﾏﾀﾞ ﾀﾛｳ") == kana_key("やまだたろう")


def test_kana_key_small_kana():
    assert kana_key("しょうた") == kana_key("しようた")
    assert kana_key("きっかわ") == kana_key("きつかわ")


def test_kana_key_long_vowel_mark():
    assert kana_key("ユーコ") == kana_key("ゆうこ")
    assert kana_key("コータ") == kana_key("こうた")
    assert kana_key("ユ－コ") == kana_key("ゆうこ")  # full-width hyphen look-alike


def test_kana_key_seion():
    assert kana_key("ばば") == kana_key("はは")
    assert kana_key("ぱく") == kana_key("はく")
    assert kana_key("ヴァ") == kana_key("うあ")


def test_kana_key_keeps_different_readings_apart():
    assert kana_key("さとう") != kana_key("さいとう")
    assert kana_key("かとう") != kana_key("かとうう")


@pytest.mark.parametrize("form", ["岐阜県岐阜市本町2丁目1番地2号", "岐阜市本町二丁目一番二号", "岐阜県岐阜市本町2-1-2",
                                  "岐阜県岐阜市本町２－１－２", "岐阜県岐阜市本町2丁目1-2", "岐阜県 岐阜市 本町 2ー1ー2",
                                  "岐阜県岐阜市本町2丁目1番2号", "岐阜県岐阜市本町2丁目1の2"])
def test_address_forms_agree(form):
    assert address_key(form) == address_key("岐阜県岐阜市本町2-1-2")


def test_address_keeps_different_numbers_apart():
    assert address_key("本町1-12") != address_key("本町11-2")
    assert address_key("本町2丁目1番2号") != address_key("本町2丁目12号")
    assert address_key("本町2-1-2") != address_key("本町2-1-3")


def test_address_kanji_numerals_only_in_numbers():
    assert address_key("八幡町二十三番地") == "八幡町23"
    assert address_key("四日市") == "四日市"
    assert kanji_to_int("二十三") == 23 and kanji_to_int("百五") == 105 and kanji_to_int("一二") == 12


def test_address_long_vowel_in_place_name_is_not_a_hyphen():
    assert address_key("センター1ー2") == "センター1-2"


def test_address_ke_variants_between_kanji():
    assert address_key("霞ヶ丘1-2") == address_key("霞ケ丘1-2") == address_key("霞が丘1-2")


def test_address_room_and_building():
    assert address_key("本町2-1-2　コーポ桜101号室") == address_key("本町2丁目1番2号 コーポ桜101")
    assert address_key("本町2-1-2 コーポ桜101") != address_key("本町2-1-2 コーポ桜102")


def test_address_prefecture_prefix_optional():
    assert address_key("岐阜県大垣市本町1-2-3") == address_key("大垣市本町1-2-3")


def test_split_name():
    assert split_name("山田　太郎") == ("山田", "太郎")
    assert split_name("山田 太郎") == ("山田", "太郎")
    assert split_name("山田太郎") == ("山田太郎", "")


def test_is_kana():
    assert is_kana("やまだ　たろう") and is_kana("ヤマダ・タロウ") and is_kana("ﾔﾏﾀﾞ ﾀﾛｰ")
    assert not is_kana("山田") and not is_kana("") and not is_kana("yamada")


@pytest.mark.parametrize("text,expected", [
    ("1975-04-01", date(1975, 4, 1)), ("1975/4/1", date(1975, 4, 1)), ("19750401", date(1975, 4, 1)),
    ("１９７５－０４－０１", date(1975, 4, 1)), ("1975年4月1日", date(1975, 4, 1)),
    ("昭和50年4月1日", date(1975, 4, 1)), ("S50.4.1", date(1975, 4, 1)), ("s50/4/1", date(1975, 4, 1)),
    ("Ｓ５０．４．１", date(1975, 4, 1)), ("昭和五十年四月一日", date(1975, 4, 1)),
    ("平成元年1月8日", date(1989, 1, 8)), ("H1.1.8", date(1989, 1, 8)), ("R3.8.10", date(2021, 8, 10)),
    ("令和元年5月1日", date(2019, 5, 1)), ("H31.4.30", date(2019, 4, 30)), ("昭和64年1月7日", date(1989, 1, 7)),
    ("大正15年12月24日", date(1926, 12, 24)), ("昭和元年12月25日", date(1926, 12, 25)), ("M45.7.29", date(1912, 7, 29)),
])
def test_parse_date_forms(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text,reason", [
    ("平成31年5月1日", "元号の期間外です"), ("昭和64年1月8日", "元号の期間外です"), ("令和元年4月30日", "元号の期間外です"),
    ("大正15年12月25日", "元号の期間外です"), ("2023-02-29", "存在しない日付です"), ("S50.2.30", "存在しない日付です"),
    ("昭和50年", "日付として読めません"), ("abc", "日付として読めません"), ("X50.1.1", "日付として読めません"),
])
def test_parse_date_refusals(text, reason):
    with pytest.raises(DateError) as exc:
        parse_date(text)
    assert str(exc.value) == reason
    assert text not in str(exc.value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_keys_are_idempotent_and_total(text):
    for key in (name_key, kana_key, address_key):
        once = key(text)
        assert key(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_parse_date_raises_only_date_error(text):
    try:
        parse_date(text)
    except DateError:
        pass
