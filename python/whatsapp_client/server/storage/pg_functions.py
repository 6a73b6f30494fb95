"""Server-side functions of the PostgreSQL storage, set-based (migration 3).

Migration 2 stored a batch of messages and applied a run of acknowledgements in PL/pgSQL
loops (pg_functions_v2.py): four or five statements per message, each with the
interpreter's overhead, so PostgreSQL spent about 50 µs of CPU per message on each side,
and one process's ordered writer waits for every one of them. Here a whole batch is a few
statements:

- ``wac_store_messages`` first checks whether the batch is the common case (every message
  new and distinct, every recipient known and with room for all of its messages of the
  batch); then one INSERT and one UPDATE of the counters do it. Otherwise it hands the
  batch to the loop of migration 2, kept as ``wac_store_messages_loop``, which answers
  duplicates and quota errors one message at a time.
- ``wac_acknowledge`` is one statement: a message is cleared by the first acknowledgement
  (in number order) that names it, which is what the loop did.

Locks are taken as before: the recipients' ``users`` rows first, ``FOR UPDATE`` in id order.
Every write to a recipient's messages (storing, acknowledging, marking read) holds that
row, so the acknowledgement reads the statuses it reports without locking each message.
"""

from __future__ import annotations

RENAME_STORE_LOOP = """
ALTER FUNCTION wac_store_messages(
    TEXT[], TEXT[], TEXT[], TEXT[], BIGINT[], BIGINT[], BIGINT[], BIGINT
) RENAME TO wac_store_messages_loop
"""

# One answer per message, in the order given: (stamp, new, error). seq values follow the
# order of the batch (rows leave the ORDER BY in order; nextval() is taken per row).
STORE_MESSAGES = """
CREATE FUNCTION wac_store_messages(
    p_sender TEXT[], p_id TEXT[], p_recipient TEXT[], p_content TEXT[], p_size BIGINT[],
    p_max_pending BIGINT[], p_max_bytes BIGINT[], p_now BIGINT
) RETURNS TABLE (stamp BIGINT, is_new BOOLEAN, error TEXT)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM users u WHERE u.id = ANY(p_recipient) ORDER BY u.id FOR UPDATE;
    IF EXISTS (
        SELECT 1 FROM unnest(p_sender, p_id) AS b(s, i) GROUP BY b.s, b.i HAVING count(*) > 1
    ) OR EXISTS (
        SELECT 1 FROM unnest(p_sender, p_id) AS b(s, i)
        JOIN messages m ON m.sender = b.s AND m.id = b.i
    ) OR EXISTS (
        SELECT 1 FROM (
            SELECT b.r, b.mp, b.mb, row_number() OVER w AS k, sum(b.sz) OVER w AS bytes
            FROM unnest(p_recipient, p_size, p_max_pending, p_max_bytes) WITH ORDINALITY
                AS b(r, sz, mp, mb, o)
            WINDOW w AS (PARTITION BY b.r ORDER BY b.o)
        ) q LEFT JOIN users u ON u.id = q.r
        WHERE u.id IS NULL OR u.pending_count + q.k > q.mp
            OR (q.mb IS NOT NULL AND u.pending_bytes + q.bytes > q.mb)
    ) THEN
        RETURN QUERY SELECT * FROM wac_store_messages_loop(
            p_sender, p_id, p_recipient, p_content, p_size, p_max_pending, p_max_bytes, p_now
        );
        RETURN;
    END IF;
    INSERT INTO messages (sender, id, recipient, content, timestamp, status)
        SELECT b.s, b.i, b.r, b.c, p_now, 'sent'
        FROM unnest(p_sender, p_id, p_recipient, p_content) WITH ORDINALITY AS b(s, i, r, c, o)
        ORDER BY b.o;
    UPDATE users u SET pending_count = u.pending_count + g.added,
        pending_bytes = u.pending_bytes + g.bytes
        FROM (
            SELECT b.r, count(*) AS added, sum(b.sz) AS bytes
            FROM unnest(p_recipient, p_size) AS b(r, sz) GROUP BY b.r
        ) g
        WHERE u.id = g.r;
    RETURN QUERY SELECT p_now, TRUE, NULL::TEXT
        FROM generate_series(1, coalesce(array_length(p_sender, 1), 0));
END
$$
"""

# (ack number, recipient, id) triples. A message still holding content is cleared by the
# lowest-numbered acknowledgement naming it: its content dropped, 'sent' made 'delivered'
# (was_sent says whom to tell), its recipient's counters shrunk. Answers in ack order, then
# seq order within an ack.
ACKNOWLEDGE = """
CREATE OR REPLACE FUNCTION wac_acknowledge(p_ack INTEGER[], p_recipient TEXT[], p_id TEXT[])
RETURNS TABLE (ack INTEGER, sender TEXT, id TEXT, was_sent BOOLEAN)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM users u WHERE u.id = ANY(p_recipient) ORDER BY u.id FOR UPDATE;
    RETURN QUERY
    WITH wanted AS (
        SELECT a.r, a.i, min(a.n) AS n FROM unnest(p_ack, p_recipient, p_id) AS a(n, r, i)
        GROUP BY a.r, a.i
    ), old AS (
        SELECT m.seq, m.status, octet_length(m.content) AS size, w.n
        FROM messages m JOIN wanted w ON m.recipient = w.r AND m.id = w.i
        WHERE m.content IS NOT NULL
    ), changed AS (
        UPDATE messages m SET content = NULL,
            status = CASE m.status WHEN 'sent' THEN 'delivered' ELSE m.status END
        FROM old WHERE m.seq = old.seq
        RETURNING m.seq, m.sender, m.id, m.recipient, old.status = 'sent' AS sent_before,
            old.size, old.n
    ), counted AS (
        UPDATE users u SET pending_count = greatest(0, u.pending_count - g.cleared),
            pending_bytes = greatest(0, u.pending_bytes - g.freed)
        FROM (
            SELECT c.recipient, count(*) AS cleared, sum(c.size) AS freed
            FROM changed c GROUP BY c.recipient
        ) g
        WHERE u.id = g.recipient
    )
    SELECT c.n, c.sender, c.id, c.sent_before FROM changed c ORDER BY c.n, c.seq;
END
$$
"""
