-- Every command run in one container (here: the `api` container of cluster `payments-prod`),
-- with who ran it and when the session started. Edit the two names to ask about another.
SELECT
    s.start_time,
    s.principal,
    s.account,
    s.cluster,
    s.task_id,
    s.container,
    c.seq,
    c.command,
    c.abandoned
FROM commands AS c
JOIN sessions AS s ON c.session_id = s.session_id
WHERE s.cluster = 'payments-prod' AND s.container = 'api'
ORDER BY s.start_time, s.session_id, c.seq
