"""Columns of the two store files (SPEC §2): the Japanese CSV header, in order, and the
English identifier used in the database."""
from __future__ import annotations

KIND_JUMIN = "jumin"
KIND_FUHYO = "fuhyo"
KINDS = (KIND_JUMIN, KIND_FUHYO)

JUMIN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("住民票コード", "jumin_code"),
    ("漢字氏名", "name"),
    ("外字数（氏名）", "name_gaiji_count"),
    ("ふりがな氏名", "name_kana"),
    ("生年月日", "birth_date"),
    ("性別", "sex"),
    ("住所", "address"),
    ("外字数（住所）", "address_gaiji_count"),
    ("個人番号", "kojin_bango"),
    ("異動事由", "change_reason"),
    ("異動年月日", "change_date"),
    ("保存期間フラグ", "retention_flag"),
    ("清音化かな氏名", "seion_kana"),
    ("市町村コード", "city_code"),
    ("大字・字コード", "aza_code"),
    ("操作者ID", "operator_id"),
    ("操作端末ID", "terminal_id"),
    ("タイムスタンプ", "timestamp"),
    ("通知を受けた年月日", "notified_date"),
    ("外字フラグ", "gaiji_flag"),
    ("削除フラグ", "deleted_flag"),
    ("更新順番号", "update_seq"),
    ("氏名外字変更連番", "name_gaiji_seq"),
    ("住所外字変更連番", "address_gaiji_seq"),
    ("旧氏 漢字", "old_name"),
    ("旧氏 外字数", "old_name_gaiji_count"),
    ("旧氏 ふりがな", "old_name_kana"),
    ("旧氏 外字変更連番", "old_name_gaiji_seq"),
)

FUHYO_COLUMNS: tuple[tuple[str, str], ...] = (
    ("住民票コード", "jumin_code"),
    ("氏名漢字", "name"),
    ("氏名外字数", "name_gaiji_count"),
    ("氏名ふりがな", "name_kana"),
    ("生年月日", "birth_date"),
    ("性別", "sex"),
    ("住所市町村コード", "city_code"),
    ("住所漢字", "address"),
    ("住所外字数", "address_gaiji_count"),
    ("最終住所漢字", "last_address"),
    ("最終住所外字数", "last_address_gaiji_count"),
    ("異動年月日", "change_date"),
    ("旧住民票コード", "old_jumin_code"),
    ("附票管理市町村コード", "fuhyo_city_code"),
    ("附票本人確認情報状態区分", "fuhyo_status"),
    ("外字フラグ", "gaiji_flag"),
    ("外字パターン", "gaiji_pattern"),
    ("通知区分", "notice_kind"),
    ("旧氏 漢字", "old_name"),
    ("旧氏 外字数", "old_name_gaiji_count"),
    ("旧氏 ふりがな", "old_name_kana"),
    ("旧氏 外字変更連番", "old_name_gaiji_seq"),
)

COLUMNS = {KIND_JUMIN: JUMIN_COLUMNS, KIND_FUHYO: FUHYO_COLUMNS}
HEADERS = {kind: tuple(ja for ja, _ in cols) for kind, cols in COLUMNS.items()}

# 異動事由 that make the record in force a 消除 (the person is a 消除者).
REMOVAL_REASONS = frozenset({"死亡", "転出", "国外転出", "職権消除", "失踪宣告", "消除"})

# 附票本人確認情報状態区分: "1" 記載中, "2" 消除 (this implementation's codes; docs/store.md).
FUHYO_STATUS_CURRENT = "1"
FUHYO_STATUS_REMOVED = "2"


def is_removal(change_reason: str) -> bool:
    """True when a jumin record with this 異動事由 is a 消除."""
    return change_reason in REMOVAL_REASONS or change_reason.endswith("消除")
