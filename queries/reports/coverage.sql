-- Report section 5: transcript coverage per cluster: the share of sessions whose transcript
-- arrived whole (`present`), the incomplete ones (empty, cut off, unreadable, conflicting)
-- and the ones with none at all.
SELECT
    s.account,
    s.cluster,
    count(*) AS sessions,
    COALESCE(sum(CASE WHEN s.transcript_status = 'present' THEN 1 ELSE 0 END), 0) AS present,
    COALESCE(sum(CASE WHEN s.transcript_status IN ('empty', 'truncated', 'unreadable', 'conflicting') THEN 1 ELSE 0 END), 0) AS incomplete,
    COALESCE(sum(CASE WHEN s.transcript_status = 'missing' THEN 1 ELSE 0 END), 0) AS missing,
    round(100.0 * COALESCE(sum(CASE WHEN s.transcript_status = 'present' THEN 1 ELSE 0 END), 0) / count(*), 1) AS coverage_pct
FROM sessions AS s
GROUP BY s.account, s.cluster
ORDER BY coverage_pct, s.account, s.cluster
