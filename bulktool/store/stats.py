"""`store stats`: counts per store file — never personal data.

    store_stats(store, today) -> dict[str, int]     (today from the one clock, never the system's)

Keys (docs/store.md): rows, persons, records in force today that are current or a 消除,
historic versions (not in force today, including deleted and future-dated rows), rows with
削除フラグ, gaiji-flagged records in force, 附票 persons abroad (record in force 記載中 with an
empty 住所漢字), and the number of provision records.
"""
from __future__ import annotations

from datetime import date

LABELS = (
    ("jumin_rows", "本人確認情報 行数（全履歴）"),
    ("jumin_people", "本人確認情報 人数"),
    ("jumin_current", "現存者（今日時点の記録が消除でない）"),
    ("jumin_removed", "消除者（死亡・転出・職権消除など）"),
    ("jumin_historic", "履歴の記録（今日時点で効力のない版）"),
    ("jumin_deleted_rows", "削除フラグの立った行"),
    ("jumin_gaiji", "外字フラグのある現在の記録"),
    ("fuhyo_rows", "附票本人確認情報 行数"),
    ("fuhyo_people", "附票 人数"),
    ("fuhyo_current", "附票 記載中"),
    ("fuhyo_removed", "附票 消除"),
    ("fuhyo_historic", "附票 履歴の記録"),
    ("fuhyo_abroad", "附票 国外転出者"),
    ("fuhyo_gaiji", "附票 外字フラグのある現在の記録"),
    ("provisions", "提供状況記録の件数"),
)


def store_stats(store, today: date | str) -> dict[str, int]:
    """Counts of `store` (a StoreBackend) as of `today` (the command's clock passes it in)."""
    return store.stats(today)


def render_rows(stats: dict) -> list[tuple[str, int]]:
    """(Japanese label, count) pairs in display order."""
    return [(label, stats.get(key, 0)) for key, label in LABELS]
