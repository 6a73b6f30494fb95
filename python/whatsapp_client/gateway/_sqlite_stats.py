"""Per-minute message counts of a session, for ``/api/v1/sessions/{id}/stats``.

Counted from the history: a received message in the minute of its timestamp, an outbound
one (sent, delivered, read, or failed) in the minute it was accepted. The
``messages_newest`` index (session, timestamp) makes this a range scan of the window.
"""

from __future__ import annotations

import sqlite3

MINUTE_MS = 60_000


def per_minute(
    conn: sqlite3.Connection, session_id: str, since: int, until: int
) -> dict[int, tuple[int, int, int]]:
    """``{minute start (ms): (sent, received, failed)}`` for the minutes that have any,
    over timestamps in ``[since, until)``."""
    rows = conn.execute(
        "SELECT (timestamp / ?) * ? AS minute,"
        " SUM(direction = 'outbound' AND status IN ('sent', 'delivered', 'read')),"
        " SUM(direction = 'inbound'),"
        " SUM(direction = 'outbound' AND status = 'failed')"
        " FROM messages WHERE session_id = ? AND timestamp >= ? AND timestamp < ?"
        " GROUP BY minute",
        (MINUTE_MS, MINUTE_MS, session_id, since, until),
    ).fetchall()
    return {int(m): (int(s or 0), int(r or 0), int(f or 0)) for m, s, r, f in rows}
