-- Report section 1: the week in numbers (run twice by `execaudit report`: this week and the
-- week before, for the week-over-week change). One row.
WITH s AS (
    SELECT
        count(*) AS sessions,
        count(DISTINCT s.principal) AS principals,
        count(DISTINCT concat(COALESCE(s.account, ''), '/', COALESCE(s.cluster, ''))) AS clusters,
        count(DISTINCT s.account) AS accounts,
        COALESCE(sum(CASE WHEN s.transcript_status = 'present' THEN 1 ELSE 0 END), 0) AS transcripts_present,
        COALESCE(sum(CASE WHEN s.transcript_status IN ('empty', 'truncated', 'unreadable', 'conflicting') THEN 1 ELSE 0 END), 0) AS transcripts_incomplete,
        COALESCE(sum(CASE WHEN s.transcript_status = 'missing' THEN 1 ELSE 0 END), 0) AS transcripts_missing
    FROM sessions AS s
),
a AS (
    SELECT count(*) AS failed_attempts FROM attempts
),
f AS (
    SELECT
        count(*) AS findings,
        COALESCE(sum(CASE WHEN f.severity = 'critical' THEN 1 ELSE 0 END), 0) AS findings_critical,
        COALESCE(sum(CASE WHEN f.severity = 'high' THEN 1 ELSE 0 END), 0) AS findings_high,
        COALESCE(sum(CASE WHEN f.severity = 'medium' THEN 1 ELSE 0 END), 0) AS findings_medium,
        COALESCE(sum(CASE WHEN f.severity = 'low' THEN 1 ELSE 0 END), 0) AS findings_low,
        COALESCE(sum(CASE WHEN f.severity = 'info' THEN 1 ELSE 0 END), 0) AS findings_info
    FROM findings AS f
)
SELECT * FROM s CROSS JOIN a CROSS JOIN f
