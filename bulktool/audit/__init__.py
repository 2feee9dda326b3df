"""The auditor's tools (contract §10): reading the 媒体棚卸表 (inventory.py), linking the operation
log to the ledger (links.py), the findings AUD-01 … AUD-15 as pure functions over plain records
(reconcile.py, operators.py for AUD-12), the workspace's parts read into those plain records
(gather.py), and the self-contained HTML report (report.py, with its SVG charts in charts.py).

Nothing here writes to the workspace; `audit checkpoint` (gather.checkpoint) appends one 点検 entry
after a full verification.
"""
