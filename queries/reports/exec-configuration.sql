-- Report section 6: the exec configuration timeline: exec enabled on services and tasks,
-- logging configuration changes, and every control-plane event a check flagged (debug tasks
-- kept alive by a sleep override, SSM sessions straight to a container, tampering with the
-- exec-logging destinations), with the checks that fired.
SELECT
    c.event_time,
    c.kind,
    c.event_name,
    c.principal,
    c.account,
    c.region,
    c.cluster,
    c.service,
    c.enable_execute_command,
    c.exec_logging,
    COALESCE(c.command_overrides, c.ssm_target, c.resource) AS target,
    c.command_overrides,
    c.ssm_target,
    c.resource,
    c.error_code,
    f.severity,
    f.checks,
    c.event_id
FROM control_events AS c
LEFT JOIN (
    SELECT
        event_id,
        string_agg(DISTINCT rule_id, ', ' ORDER BY rule_id) AS checks,
        CASE max(CASE severity WHEN 'critical' THEN 5 WHEN 'high' THEN 4 WHEN 'medium' THEN 3 WHEN 'low' THEN 2 ELSE 1 END)
            WHEN 5 THEN 'critical' WHEN 4 THEN 'high' WHEN 3 THEN 'medium' WHEN 2 THEN 'low' ELSE 'info' END AS severity
    FROM findings
    WHERE found_in = 'control'
    GROUP BY event_id
) AS f ON f.event_id = c.event_id
WHERE c.kind IN ('exec_enablement', 'exec_logging') OR f.checks IS NOT NULL
ORDER BY c.event_time, c.event_id
