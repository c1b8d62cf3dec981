-- Report section 2: every session of the period against the break-glass policy: who, with
-- which role, where, when, for how long, the reason found, the checks it broke, and the
-- command that opens it. Outside the policy first.
SELECT
    c.allowed,
    s.start_time,
    s.principal,
    CASE
        WHEN s.sso_permission_set IS NOT NULL THEN concat('permission set ', s.sso_permission_set)
        ELSE COALESCE(s.role_arn, s.principal_type)
    END AS role,
    s.role_arn,
    s.sso_permission_set,
    concat(COALESCE(s.account, '?'), ' / ', COALESCE(s.cluster, '?'), ' / ', COALESCE(s.container, '?')) AS location,
    s.account,
    s.region,
    s.cluster,
    s.container,
    s.task_id,
    s.duration_s,
    c.environment,
    c.breakglass,
    c.reason,
    c.violations,
    c.violation_detail,
    concat('execaudit show ', s.session_id) AS show_command,
    s.session_id
FROM compliance AS c
JOIN sessions AS s ON s.session_id = c.session_id
ORDER BY c.allowed, s.start_time, s.session_id
