-- Report section 5: sessions without a whole transcript, with the likely cause the coverage
-- checks found (logging NONE at the time, the destination tampered with, DEFAULT logging to
-- a log group not ingested, the transcript empty or cut off).
SELECT
    s.start_time,
    s.principal,
    s.account,
    s.cluster,
    s.container,
    s.transcript_status,
    f.likely_cause,
    s.session_id
FROM sessions AS s
LEFT JOIN (
    SELECT session_id, likely_cause
    FROM findings
    WHERE rule_id IN ('session-without-transcript', 'transcript-incomplete', 'transcript-conflicting')
) AS f ON f.session_id = s.session_id
WHERE s.transcript_status <> 'present'
ORDER BY s.start_time, s.session_id
