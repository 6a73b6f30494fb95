"""Server-side functions of the PostgreSQL storage as migration 2 created them (frozen:
migration 3 replaces them with the set-based versions in pg_functions.py).

Storing a batch of direct messages and acknowledging delivered ones each took five or six
round trips (BEGIN, the row locks, the lookups, the writes, COMMIT), and one process's
ordered writes go one transaction at a time: on a busy host every round trip is a chance
to wait for a CPU, and that wait is paid by every message queued behind it. Each step is
now one PL/pgSQL function called as one statement, so it is one round trip and one
implicit transaction, with the same locks in the same order as before: the recipients'
``users`` rows first (``FOR UPDATE``, in id order), then the messages.
"""

from __future__ import annotations

# One answer per message, in the order given: (stamp, new, error). A known (sender, id)
# answers its stored timestamp and is not stored again; quotas are checked against the
# counters as they grow within the batch; seq values follow the order of the batch.
STORE_MESSAGES = """
CREATE FUNCTION wac_store_messages(
    p_sender TEXT[], p_id TEXT[], p_recipient TEXT[], p_content TEXT[], p_size BIGINT[],
    p_max_pending BIGINT[], p_max_bytes BIGINT[], p_now BIGINT
) RETURNS TABLE (stamp BIGINT, is_new BOOLEAN, error TEXT)
LANGUAGE plpgsql AS $$
DECLARE
    i INTEGER;
    known BIGINT;
    queued BIGINT;
    queued_bytes BIGINT;
BEGIN
    PERFORM 1 FROM users u WHERE u.id = ANY(p_recipient) ORDER BY u.id FOR UPDATE;
    FOR i IN 1 .. coalesce(array_length(p_sender, 1), 0) LOOP
        SELECT m.timestamp INTO known FROM messages m
            WHERE m.sender = p_sender[i] AND m.id = p_id[i];
        IF FOUND THEN
            stamp := known; is_new := FALSE; error := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;
        SELECT u.pending_count, u.pending_bytes INTO queued, queued_bytes FROM users u
            WHERE u.id = p_recipient[i];
        stamp := 0; is_new := FALSE;
        IF NOT FOUND THEN
            error := 'user_not_found';
        ELSIF queued >= p_max_pending[i] THEN
            error := 'queue_full';
        ELSIF p_max_bytes[i] IS NOT NULL AND queued_bytes + p_size[i] > p_max_bytes[i] THEN
            error := 'recipient_quota_exceeded';
        ELSE
            INSERT INTO messages (sender, id, recipient, content, timestamp, status)
                VALUES (p_sender[i], p_id[i], p_recipient[i], p_content[i], p_now, 'sent');
            UPDATE users u SET pending_count = u.pending_count + 1,
                pending_bytes = u.pending_bytes + p_size[i]
                WHERE u.id = p_recipient[i];
            stamp := p_now; is_new := TRUE; error := NULL;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$
"""

# Several acknowledgements in one statement: (ack number, recipient, id) triples, the acks
# applied in number order. For each, the messages that still had content, in seq order:
# their content is dropped, 'sent' becomes 'delivered' (was_sent says whom to tell) and
# the recipient's counters shrink by what was freed. Every recipient's row is locked first,
# in id order, as the store does, so the two never deadlock.
ACKNOWLEDGE = """
CREATE FUNCTION wac_acknowledge(p_ack INTEGER[], p_recipient TEXT[], p_id TEXT[])
RETURNS TABLE (ack INTEGER, sender TEXT, id TEXT, was_sent BOOLEAN)
LANGUAGE plpgsql AS $$
DECLARE
    one INTEGER;
    who TEXT;
    wanted TEXT[];
    senders TEXT[];
    ids TEXT[];
    sent_flags BOOLEAN[];
    cleared BIGINT;
    freed BIGINT;
BEGIN
    PERFORM 1 FROM users u WHERE u.id = ANY(p_recipient) ORDER BY u.id FOR UPDATE;
    FOR one, who, wanted IN
        SELECT a.n, min(a.r), array_agg(a.i)
        FROM unnest(p_ack, p_recipient, p_id) AS a(n, r, i)
        GROUP BY a.n ORDER BY a.n
    LOOP
        WITH old AS (
            SELECT m.seq, m.status, octet_length(m.content) AS size FROM messages m
            WHERE m.recipient = who AND m.id = ANY(wanted) AND m.content IS NOT NULL
            FOR UPDATE
        ), changed AS (
            UPDATE messages m SET content = NULL,
                status = CASE m.status WHEN 'sent' THEN 'delivered' ELSE m.status END
            FROM old WHERE m.seq = old.seq
            RETURNING m.seq, m.sender, m.id, old.status = 'sent' AS was_sent, old.size
        )
        SELECT array_agg(c.sender ORDER BY c.seq), array_agg(c.id ORDER BY c.seq),
            array_agg(c.was_sent ORDER BY c.seq), count(*), coalesce(sum(c.size), 0)
            INTO senders, ids, sent_flags, cleared, freed
            FROM changed c;
        IF cleared > 0 THEN
            UPDATE users u SET pending_count = greatest(0, u.pending_count - cleared),
                pending_bytes = greatest(0, u.pending_bytes - freed)
                WHERE u.id = who;
            RETURN QUERY SELECT one, t.s, t.i, t.w
                FROM unnest(senders, ids, sent_flags) WITH ORDINALITY AS t(s, i, w, k)
                ORDER BY t.k;
        END IF;
    END LOOP;
END
$$
"""
