-- Report section 2: sessions per policy scope, break-glass or not, inside or outside the
-- policy. `compliance` has one row per session of the period (needs --policy).
SELECT
    c.environment,
    count(*) AS sessions,
    COALESCE(sum(CASE WHEN c.breakglass THEN 1 ELSE 0 END), 0) AS breakglass_sessions,
    COALESCE(sum(CASE WHEN c.allowed THEN 1 ELSE 0 END), 0) AS inside_policy,
    COALESCE(sum(CASE WHEN c.allowed THEN 0 ELSE 1 END), 0) AS outside_policy,
    count(DISTINCT s.principal) AS principals
FROM compliance AS c
JOIN sessions AS s ON s.session_id = c.session_id
GROUP BY c.environment
ORDER BY outside_policy DESC, c.environment
