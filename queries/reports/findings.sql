-- Report section 3: every finding of the period with its evidence (redacted on output) and the
-- session it belongs to. Most severe first, then in time order.
SELECT
    f.severity,
    f.time,
    f.rule_id,
    f.principal,
    f.account,
    f.cluster,
    f.container,
    f.seq,
    f.evidence,
    f.likely_cause,
    f.detail,
    f.session_id
FROM findings AS f
ORDER BY
    CASE f.severity WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 WHEN 'low' THEN 4 ELSE 5 END,
    f.time,
    f.session_id,
    f.seq,
    f.rule_id
