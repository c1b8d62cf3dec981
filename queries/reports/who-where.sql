-- Report section 4: who exec'd where: sessions per principal and cluster, with the commands
-- they ran and the first and last session of the period.
SELECT
    s.principal,
    s.account,
    s.cluster,
    count(*) AS sessions,
    COALESCE(sum(s.commands), 0) AS commands,
    min(s.start_time) AS first_session,
    max(s.start_time) AS last_session
FROM sessions AS s
GROUP BY s.principal, s.account, s.cluster
ORDER BY s.principal, s.account, s.cluster
