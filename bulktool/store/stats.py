"""`store stats`: counts only, never personal data."""
from __future__ import annotations

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
    ("fuhyo_abroad", "附票 国外転出者"),
    ("provisions", "提供状況記録の件数"),
)


def store_stats(store, today: str) -> dict:
    return store.stats(today)


def render_rows(stats: dict) -> list[tuple[str, int]]:
    return [(label, stats.get(key, 0)) for key, label in LABELS]
