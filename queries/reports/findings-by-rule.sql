-- Report section 3: findings per severity and rule or check, with how many sessions and
-- principals they concern. Most severe first.
SELECT
    f.severity,
    f.rule_id,
    f.title,
    count(*) AS findings,
    count(DISTINCT f.session_id) AS sessions,
    count(DISTINCT f.principal) AS principals
FROM findings AS f
GROUP BY f.severity, f.rule_id, f.title
ORDER BY
    CASE f.severity WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 WHEN 'low' THEN 4 ELSE 5 END,
    findings DESC,
    f.rule_id
