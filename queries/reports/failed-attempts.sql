-- Report section 7: failed and denied ExecuteCommand calls grouped by principal and error,
-- each with its likely cause and fix (the `likely_cause` column of `attempts`).
SELECT
    a.principal,
    a.error_code,
    a.likely_cause,
    count(*) AS attempts,
    string_agg(DISTINCT a.cluster, ', ' ORDER BY a.cluster) AS clusters,
    min(a.event_time) AS first_attempt,
    max(a.event_time) AS last_attempt,
    min(a.error_message) AS error_message
FROM attempts AS a
GROUP BY a.principal, a.error_code, a.likely_cause
ORDER BY attempts DESC, a.principal, a.error_code
