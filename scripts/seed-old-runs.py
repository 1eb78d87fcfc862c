#!/usr/bin/python3
"""Adds finished runs, each with one log line, to a stopped Cronium's database, as if they had
ended DAYS days ago: what the retention tests and cronium-bench's purge measurement remove.

    scripts/seed-old-runs.py DATABASE EVENT_ID COUNT DAYS

Python's own sqlite3 module, so that nothing more needs installing."""
import sqlite3
import sys
import time

path, event, count, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ended = int((time.time() - days * 86400) * 1000) - count
db = sqlite3.connect(path)
with db:
    first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM executions").fetchone()[0]
    db.execute(
        """WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
           INSERT INTO executions (event_id, status, trigger, attempt, created_at, started_at, finished_at, exit_code, log_bytes)
           SELECT ?, 'SUCCESS', 'MANUAL', 1, ? + i, ? + i, ? + i, 0, 12 FROM n""",
        (count, event, ended, ended, ended),
    )
    db.execute(
        "INSERT INTO log_lines (execution_id, seq, ts, stream, text) SELECT id, 1, finished_at, 'stdout', 'an old line' FROM executions WHERE id >= ?",
        (first,),
    )
db.close()
