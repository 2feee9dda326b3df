"""The prefectural store: 都道府県知事保存本人確認情報ファイル and 附票本人確認情報ファイル."""
