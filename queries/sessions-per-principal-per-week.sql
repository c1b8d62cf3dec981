-- Sessions per principal per ISO week (weeks start on Monday, UTC), with how many clusters
-- and accounts each principal went into and how many commands they ran.
SELECT
    principal,
    date_trunc('week', start_time) AS week,
    count(*) AS sessions,
    count(DISTINCT cluster) AS clusters,
    count(DISTINCT account) AS accounts,
    sum(commands) AS commands_run
FROM sessions
GROUP BY principal, date_trunc('week', start_time)
ORDER BY week, sessions DESC, principal
