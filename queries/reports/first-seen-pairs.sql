-- Report section 4: principal -> cluster pairs seen for the first time (in all the data
-- stored) during the period: the `exec-new-principal-cluster` check.
SELECT
    f.time AS first_session,
    f.principal,
    f.account,
    f.cluster,
    f.container,
    concat('execaudit show ', f.session_id) AS show_command,
    f.session_id
FROM findings AS f
WHERE f.rule_id = 'exec-new-principal-cluster'
ORDER BY f.time, f.principal, f.cluster
