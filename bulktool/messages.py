"""Every user-facing message, in Japanese, with its stable code.

A code never changes meaning once released; auditors and the operation log refer to it.
Messages carry counts, row numbers, field names and codes only, never personal data
(names, numbers, addresses): `params` must not be filled from a resident's data.

Exit codes (contract §9): 0 success, 1 refused or invalid input, 2 usage error,
3 integrity failure, 4 media or I/O failure that a retry may cure.
"""
from __future__ import annotations

import re

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_INTEGRITY = 3
EXIT_IO = 4

# code -> (exit code, Japanese message template)
MESSAGES: dict[str, tuple[int, str]] = {
    # --- workspace (E-WS) ---
    "E-WS-001": (1, "作業領域 {home} は既に初期化されています。何も変更していません。"),
    "E-WS-002": (2, "作業領域が初期化されていません（{home}）。先に bulktool init を実行してください。"),
    "E-WS-003": (2, "作業領域が指定されていません。--home または環境変数 BULKTOOL_HOME を指定してください。"),
    "E-WS-004": (3, "作業領域の設定ファイルが壊れています（{detail}）。"),
    # --- operators and login (E-AUTH) ---
    "E-AUTH-001": (1, "操作者ID {operator} は登録されていません。"),
    "E-AUTH-002": (1, "操作者ID {operator} またはパスフレーズが違います（5 回続けて誤るとロックされます）。"),
    "E-AUTH-003": (1, "操作者ID {operator} はロックされています。管理者に operator unlock を依頼してください。"),
    "E-AUTH-004": (1, "操作者ID {operator} は失効しています。"),
    "E-AUTH-005": (1, "操作者ID {operator} の研修受講日（{trained_on}）が未到来です。研修受講後に操作できます。"),
    "E-AUTH-006": (1, "操作者ID {operator} の有効期限（{valid_until}）が切れています。研修を受講し更新してください。"),
    "E-AUTH-007": (1, "操作者ID {operator}（役割: {role}）には「{command}」を実行する権限がありません。"),
    "E-AUTH-008": (1, "操作者ID {operator} は既に登録されています。"),
    "E-AUTH-009": (1, "最後の有効な管理者は失効できません。"),
    "E-AUTH-010": (2, "役割 {role} は不正です。operator, administrator, security, auditor のいずれかを指定してください。"),
    "E-AUTH-012": (2, "パスフレーズは {min} 文字以上にしてください。"),
    "E-AUTH-013": (2, "--operator を指定してください。"),
    "E-AUTH-014": (1, "セキュリティ責任者が解除・更新できるのは管理者のアカウントのみです。"),
    "E-AUTH-015": (2, "操作者IDは英数字と - _ . の 32 文字以内で指定してください（11 桁以上の数字の並びは使えません）。"),
    # --- departments and purposes (E-DEP) ---
    "E-DEP-001": (1, "照会元 {department} は登録されていません。"),
    "E-DEP-002": (1, "照会元 {department} は事務 {purpose} を保有していません。照会は行いません。"),
    "E-DEP-003": (1, "照会元 {department} は既に登録されています。更新は department update を使ってください。"),
    "E-DEP-004": (2, "提供項目 {field} は法定の提供情報にありません。"),
    "E-DEP-005": (2, "事務の指定 {value} が不正です。CODE=根拠 の形で指定してください。"),
    "E-DEP-006": (1, "照会元 {department} には公開鍵が登録されていません。封緘形式の照会はできません。"),
    "E-DEP-007": (1, "依頼票.json の {field}（{given}）がコマンドの指定（{expected}）と一致しません。"),
    "E-DEP-008": (2, "個人番号を提供項目にするには番号法の許可（すべての事務なら --kojin-bango、事務ごとなら --kojin-bango-purpose CODE）が必要です。許可を外すときは --fields からも個人番号を除いてください。何も変更していません。"),
    "E-DEP-009": (1, "照会元 {department} の登録は指定の内容と同じです。何も変更していません（管理簿にも記録しません）。"),
    "E-DEP-010": (2, "--kojin-bango（または --no-kojin-bango）と --kojin-bango-purpose は同時に指定できません。すべての事務ならば前者、事務ごとならば後者だけを指定してください。"),
    # --- media (E-MED) ---
    "E-MED-001": (1, "媒体 {path} は登録されていません（媒体IDファイルがありません）。"),
    "E-MED-002": (1, "媒体 {media_id} は照会元 {registered} に登録されています。照会元 {department} の媒体ではありません。"),
    "E-MED-003": (1, "媒体上に平文の表 {name} があります（計 {count} 件: .csv/.xlsx/.xls/.tsv/.txt）。暗号化されていない個人情報は受け付けられません。"),
    "E-MED-004": (1, "媒体上に照会ファイルが見つかりません。--request で指定してください。"),
    "E-MED-005": (1, "媒体上に照会ファイルが {count} 件あります。--request で一つを指定してください。"),
    "E-MED-006": (1, "媒体ID {media_id} は既に登録されています。"),
    "E-MED-007": (4, "媒体の空き容量が不足しています（必要 {needed} バイト、空き {free} バイト）。"),
    "E-MED-008": (4, "媒体への書き込みを検証できませんでした（読み戻したハッシュが一致しません）。媒体を交換して再実行してください。"),
    "E-MED-009": (4, "媒体 {path} にアクセスできません（{detail}）。"),
    "E-MED-010": (1, "媒体ID {media_id} は登録されていません。"),
    "E-MED-011": (1, "媒体ID {media_id} は廃棄済みです。"),
    "E-MED-012": (1, "媒体ID {media_id} は貸与中ではありません。"),
    "E-MED-013": (1, "媒体ID {media_id} は既に貸与中です。"),
    "E-MED-014": (1, "この照会ファイルには既に出力（管理簿 {entry} 番）があります。再発行は reissue を使ってください。"),
    "E-MED-015": (1, "管理簿 {entry} 番は出力・再発行の記録でも、出力のある受付の記録でもありません。"),
    "E-MED-016": (1, "管理簿 {entry} 番の照会結果の保管コピーはありません（受領確認済みまたは保管期間経過）。"),
    "E-MED-017": (1, "照会ファイル {name} が媒体上にありません。"),
    "E-MED-018": (1, "媒体ID {media_id} は紛失の届出がされています。この媒体は使えません。"),
    "E-MED-019": (1, "媒体ID {media_id} は貸与中です。返却を記録してから{action}してください。"),
    "E-MED-020": (1, "媒体ID {media_id} には消去されていない照会結果が {count} 件あります（管理簿 {entries} 番）。media erase で消去してから廃棄してください。"),
    "E-MED-021": (1, "このドライブは既に媒体 {media_id} として登録されています。登録し直すには先に廃棄してください。"),
    "E-MED-022": (1, "媒体 {path} の媒体IDファイルは署名が一致しません（改ざん、またはこの端末で登録した媒体ではありません）。"),
    "E-MED-023": (1, "媒体 {media_id} の媒体IDファイルが登録時と異なる機器にあります（登録時の製造番号 {registered}、現在 {found}）。コピーされた媒体IDファイルは受け付けません。"),
    "E-MED-024": (1, "管理簿 {entry} 番の受渡は記録済みです（管理簿 {done} 番）。"),
    "E-MED-025": (1, "管理簿 {entry} 番の受渡が記録されていません。受領確認の前に media handover を記録してください。"),
    "E-MED-026": (1, "管理簿 {entry} 番の受領確認は記録済みです（管理簿 {done} 番）。"),
    "E-MED-027": (1, "照会ファイル {name} は媒体 {path} の上にありません。--request には媒体上のファイルを指定してください。"),
    "E-MED-028": (4, "消去後の媒体に媒体IDファイル以外のファイルが残っています（{name}）。媒体を確認して再実行してください。"),
    "E-MED-029": (4, "媒体 {path} が見つかりません（取り外されたか、マウントされていません）。媒体を接続し直して再実行してください。"),
    "E-MED-030": (4, "媒体 {path} は読み取り専用です（書き込み禁止）。書き込みできる状態にして再実行してください。"),
    "E-MED-031": (2, "媒体IDに使えるのは英数字と - _ . の 32 文字までです（11 桁以上の数字の並びは使えません）。媒体のラベルの ID を確かめてください。何も変更していません。"),
    # --- 受領証 (E-RCP) ---
    "E-RCP-001": (1, "受領証を読めません（bulktool receipt が作った JSON ではありません）。"),
    "E-RCP-002": (1, "受領証は照会元 {department} の登録済みの鍵で署名されていません（偽造の疑い）。"),
    "E-RCP-003": (1, "受領証は管理簿 {given} 番の照会結果のものです（この照会結果は {entry} 番）。"),
    "E-RCP-004": (1, "受領証は照会元 {given} のものです（この照会結果の照会元は {department}）。"),
    "E-RCP-005": (1, "受領証の照会結果のハッシュが管理簿 {entry} 番に記録されたものと一致しません（別の、または改変された照会結果）。"),
    "E-RCP-007": (1, "受領証の内容が署名後に書き換えられています（改ざん）。"),
    "E-RCP-006": (1, "照会元 {department} には公開鍵が登録されていないため受領証を確認できません。department update --public-key で登録してください。"),
    # --- containers (E-CON) ---
    "E-CON-018": (1, "ZIP の項目 {entry} の暗号化が AES-256 ではありません（AES-128/192）。7-Zip で「暗号化方式: AES-256」を選ぶか、bulktool request zip で作り直してください。"),
    "E-CON-019": (2, "ZIP のパスワードが空です。パスワードを指定してください。"),
    "E-CON-001": (1, "照会ファイルの形式を判別できません（.zip または .bte を使ってください）。"),
    "E-CON-002": (1, "ZIP の項目 {entry} が ZipCrypto で暗号化されています。ZipCrypto は安全ではありません。7-Zip で「暗号化方式: AES-256」を選ぶか、bulktool request zip で作り直してください。"),
    "E-CON-003": (1, "ZIP の項目 {entry} が暗号化されていません。7-Zip で「暗号化方式: AES-256」を選ぶか、bulktool request zip で作り直してください。"),
    "E-CON-004": (1, "パスワードが違うか、ファイルが改ざんまたは破損しています。"),
    "E-CON-005": (1, "ZIP に表（.csv/.xlsx）が {count} 個あります。表はちょうど一つにしてください。"),
    "E-CON-006": (1, "ZIP に入れ子の書庫 {entry} があります。受け付けられません。"),
    "E-CON-007": (1, "ZIP の項目名 {entry} が不正です（絶対パス、.. またはリンク）。"),
    "E-CON-008": (1, "ZIP の項目数が上限（{limit}）を超えています。"),
    "E-CON-009": (1, "展開後の大きさが上限（{limit} バイト）を超えています。"),
    "E-CON-010": (1, "圧縮率が異常です（{entry}）。圧縮爆弾の疑いがあるため受け付けられません。"),
    "E-CON-011": (1, "ZIP ファイルが壊れているか途中で切れています。"),
    "E-CON-012": (1, "ZIP に想定外の項目 {entry} があります（表と 依頼票.json のみ入れてください）。"),
    "E-CON-013": (1, "封緘ファイルが壊れている、途中で切れている、または改ざんされています。"),
    "E-CON-014": (1, "封緘ファイルの署名を検証できません（登録された照会元の鍵と一致しません）。"),
    "E-CON-015": (1, "封緘ファイルはこの端末あてではありません。"),
    "E-CON-016": (1, "封緘ファイルの版 {version} には対応していません。"),
    "E-CON-017": (1, "依頼票.json を読めません（{detail}）。"),
    "E-CON-020": (2, "照会ファイルのパスワードは {min} 文字以上にしてください（紙で市町村課に渡します。読み違えにくい文字で）。"),
    "E-CON-021": (1, "照会ファイル {name} の大きさが上限（{limit} バイト）を超えています。ファイルを開かずに拒否しました。照会を分けてください。"),
    # --- request table (E-REQ) ---
    "E-REQ-010": (1, "表の形式を判別できません。拡張子 .csv または .xlsx の表にしてください。"),
    "E-REQ-001": (1, "表の文字コードを判別できません。UTF-8 または Shift_JIS（CP932）で保存してください。"),
    "E-REQ-002": (1, "表に見出し行がありません。"),
    "E-REQ-003": (1, "見出し {column} は使えない列名です。使える列: 連番, 対象, 個人番号, 住民票コード, 氏名, 氏名かな, 生年月日, 性別, 住所。"),
    "E-REQ-004": (1, "見出し「{column}」が重複しています。"),
    "E-REQ-005": (1, "必須の列「{column}」がありません。"),
    "E-REQ-006": (1, "表の行数が上限（{limit} 行）を超えています。"),
    "E-REQ-007": (1, "表にデータ行がありません。"),
    "E-REQ-008": (1, "Excel ファイルを読めません（{detail}）。"),
    "E-REQ-009": (1, "CSV の形式が不正です（{line} 行目: {detail}）。"),
    "E-REQ-011": (1, "表の {line} 行目が長すぎます（一行の上限 {limit} バイト）。改行のない巨大な行か、閉じていない引用符がないか確認してください。"),
    "E-REQ-020": (1, "照会元から来た{field}を管理簿に記録できません（{reason}）。照会元に直してもらってください。"),
    # --- store (E-STO) ---
    "E-STO-001": (1, "{file} の見出しが本人確認情報ファイルの列と一致しません（{detail}）。"),
    "E-STO-002": (1, "{file} {line} 行目: {field} が不正です（{reason}）。"),
    "E-STO-003": (1, "{file} に不正な行が {count} 行あります。このコマンドのファイルは一件も取り込んでいません。"),
    "E-STO-004": (1, "{file} を UTF-8 として読めません（{line} 行目）。"),
    "E-STO-005": (4, "{file} を読めません（{detail}）。"),
    "E-STO-006": (3, "保存ファイル store.sqlite の形式（版 {found}）がこの bulktool の形式（版 {expected}）と異なります。"
                     "新しい作業領域を作成し、store load で取り込み直してください。"),
    "E-STO-007": (3, "保存ファイル store.sqlite の {table} 表から読んだ行の列数が合いません（ファイルの破損の疑い）。"
                     "照会を中止しました。システム管理者に連絡してください。"),
    "E-STO-008": (4, "本人確認情報ファイルのデータベースサーバに接続できません（{detail}）。サーバの稼働と接続先（store の URL）を確認してください。"),
    "E-STO-009": (1, "データベースサーバへの接続が UNIX ソケットでも TLS でもありません。個人情報を暗号化されない TCP で送ることはできません（host にソケットのディレクトリを指定するか sslmode=verify-full を指定してください）。"),
    "E-STO-010": (1, "接続先のデータベースは空ではありません（{tables} 表があります）。空のデータベース（スキーマ）を指定してください。何も変更していません。"),
    "E-STO-011": (3, "移行先の {table} 表が移行元と一致しません（件数 {source}/{target}、行のハッシュ {detail}）。設定は切り替えていません。"),
    "E-STO-012": (1, "この作業領域の保存先は既に {kind} です。store migrate は SQLite の保存ファイルから移行します。"),
    "E-STO-013": (1, "保存期間を過ぎた提供状況記録を削除する権限が、保存先データベースの接続ロールにありません。config.json の \"store_load\"（所有者ロールの URL）を設定してください。何も削除していません。"),
    # --- keys (E-KEY) ---
    "E-KEY-005": (2, "鍵の名前が不正です（空、200 文字超、前後の空白または制御文字）。"),
    "E-KEY-006": (2, "秘密鍵のパスフレーズが空です。パスフレーズを指定してください。"),
    "E-KEY-001": (1, "鍵ファイル {file} を読めません（{detail}）。"),
    "E-KEY-002": (1, "鍵のパスフレーズが違うか、鍵ファイルが壊れています。"),
    "E-KEY-003": (3, "端末の鍵を読めません（{detail}）。"),
    "E-KEY-004": (1, "出力先 {path} には既に鍵ファイルがあります。上書きしません。"),
    # --- ledger (E-LED) ---
    "E-LED-001": (3, "管理簿の検証に失敗しました: {entry} 番目の記録 — {reason}"),
    "E-LED-002": (2, "チェックポイントの形式が不正です（N:HASH の形で指定してください）。"),
    "E-LED-003": (3, "管理簿が切り詰められています: チェックポイント {n} 件に対し {count} 件しかありません。"),
    "E-LED-004": (3, "管理簿の {n} 番目の記録のハッシュがチェックポイントと一致しません。"),
    "E-LED-005": (1, "管理簿 {entry} 番の記録はありません。"),
    "E-LED-006": (3, "{file} は管理簿の書き出し（ledger export --format csv）として読めません（{detail}）。"),
    # --- operation log (E-LOG) ---
    "E-LOG-001": (1, "{before} より前は削除できません。操作履歴の保存期間（{years} 年）内です（--before に指定できるのは {limit} まで。その日より前の記録を削除します）。"),
    "E-LOG-002": (3, "操作履歴の検証に失敗しました: {record} 番の記録 — {reason}"),
    "E-LOG-003": (3, "操作履歴が切り詰められています: チェックポイント {n} 番に対し最後の記録は {last} 番です。"),
    "E-LOG-004": (3, "操作履歴の {n} 番の記録がチェックポイントと一致しません（{reason}）。"),
    # --- audit (E-AUD) ---
    "E-AUD-001": (1, "棚卸表 {file} の文字コードを判別できません。UTF-8 または Shift_JIS（CP932）で保存してください。"),
    "E-AUD-002": (1, "棚卸表 {file} に見出し行がありません。"),
    "E-AUD-003": (1, "棚卸表の見出し「{column}」は使えない列名です。使える列: 媒体ID, 状態, 所在, 確認者, 確認日。"),
    "E-AUD-004": (1, "棚卸表に必須の列「{column}」がありません。"),
    "E-AUD-005": (1, "棚卸表の見出し「{column}」が重複しています。"),
    "E-AUD-006": (1, "棚卸表の {line} 行目: 媒体ID {media_id} は {first} 行目にもあります。一つの媒体は一行にしてください。"),
    "E-AUD-007": (1, "棚卸表の {line} 行目: {column} の値「{value}」が不正です（{expected}）。"),
    "E-AUD-008": (1, "棚卸表 {file} の形式が不正です（{line} 行目: {detail}）。"),
    "E-AUD-009": (1, "点検の備考に個人番号・住民票コードのような数字の並びがあります。個人情報は書かないでください。"),
    # --- result verification, department side (E-RES) ---
    "E-RES-003": (3, "照会結果を開けません: {reason}。"),
    "E-RES-001": (3, "照会結果の検証に失敗しました: {reason}"),
    "E-RES-002": (1, "出力先 {path} は既に存在します。上書きしません。"),
    # --- exchange (E-EXC) ---
    "E-EXC-003": (4, "照会処理が操作者によって中断されました。管理簿に失敗として記録しました。"),
    "E-EXC-001": (4, "照会処理を完了できませんでした（{reason}）。管理簿に失敗として記録しました。再実行してください。"),
    "E-EXC-010": (1, "照会結果が Excel の1シートに入る行数（{limit} 行）を超えるため xlsx では書き出せません。--table csv を指定してください。"),
    # --- backups (E-BAK) ---
    "E-BAK-001": (1, "--to に端末自身の公開鍵が指定されています。回復用の鍵は keys generate で別に作り、オフラインで保管する鍵を指定してください。"),
    "E-BAK-002": (1, "--to の鍵は照会元 {department} に登録された公開鍵です。回復用の鍵は照会元の鍵とは別に作ってください。"),
    "E-BAK-003": (1, "出力先 {path} は既にあります。上書きしません。"),
    "E-BAK-004": (4, "照会（exchange）の実行中はバックアップを作成できません。終了してから再実行してください。"),
    "E-BAK-005": (1, "このバックアップは指定された回復用の鍵（フィンガープリント {fingerprint}）宛てではありません。作成時に --to に指定した公開鍵と対の秘密鍵を指定してください。"),
    "E-BAK-006": (3, "バックアップ {file} が壊れているか改ざんされています（{detail}）。"),
    "E-BAK-007": (3, "バックアップの {name} が目録（manifest.json）と一致しません（{detail}）。"),
    "E-BAK-008": (3, "バックアップ内の{what}の検証に失敗しました: {reason}"),
    "E-BAK-009": (1, "復元先 {home} は空のフォルダではありません。新しいフォルダを指定してください（既存の作業領域は上書きしません）。"),
    "E-BAK-010": (4, "{home} に書き込めません（{detail}）。何も作成していません。"),
    # --- usage (E-USE) ---
    "E-USE-001": (2, "{option} の値 {value} が不正です。"),
    "E-USE-002": (2, "ファイル {path} を読めません。"),
    "E-USE-003": (2, "標準入力から読む指定（-）は一つのオプションにしか使えません。"),
    "E-USE-004": (2, "この決裁番号は管理簿に記録できません（{reason}）。決裁番号だけを入力してください。何も記録していません。"),
    "E-USE-005": (2, "ファイル {path} の大きさが上限（{limit} バイト）を超えています。開かずに止めました。指定したファイルを確かめてください。"),
    "E-USE-010": (2, "--encoding cp932 は CSV の照会結果にだけ使えます（照会結果の形式: xlsx）。--table csv を指定するか、--encoding を外してください。"),
}


# Control characters (C0, DEL, C1) and the bidi overrides that reorder what a terminal shows.
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SHOWN_MAX = 120


def shown(value: object, limit: int = SHOWN_MAX) -> object:
    """A message parameter as it may reach a screen or a log: text from outside (a file name on
    the drive, a department's string) loses its control characters and is cut to `limit`
    characters; numbers pass as they are."""
    if not isinstance(value, str):
        return value
    text = _UNSHOWABLE.sub("?", value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


class BulkError(Exception):
    """A refusal or failure with a stable code and a Japanese message.

    Only codes, counts, row numbers, file names and field names may go into params.
    """

    def __init__(self, code: str, **params: object) -> None:
        if code not in MESSAGES:
            raise KeyError(f"unknown message code {code}")
        self.code = code
        self.params = params
        self.exit_code = MESSAGES[code][0]
        super().__init__(f"{code}: {self.message}")

    @property
    def message(self) -> str:
        template = MESSAGES[self.code][1]
        try:
            return template.format(**{k: shown(v) for k, v in self.params.items()})
        except (KeyError, IndexError):
            return template


def text(code: str, **params: object) -> str:
    """The Japanese message for a code, for places that report without raising."""
    return MESSAGES[code][1].format(**params)


def reference_markdown() -> str:
    """docs/errors.md: every code, its exit code and its message (tests keep the file current)."""
    lines = ["# エラーコード一覧", "",
             "`bulktool` が表示するすべてのコード（終了コード: 1 拒否・入力不備、2 使い方の誤り、3 完全性の検証失敗、"
             "4 媒体・入出力の障害）。このファイルは `python -c \"from bulktool.messages import reference_markdown as r;"
             " print(r(), end='')\" > docs/errors.md` で生成します。", "",
             "| コード | 終了コード | メッセージ |", "|---|---|---|"]
    for code in sorted(MESSAGES):
        exit_code, template = MESSAGES[code]
        lines.append(f"| {code} | {exit_code} | {template.replace('|', '｜')} |")
    return "\n".join(lines) + "\n"
