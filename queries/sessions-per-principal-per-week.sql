-- Sessions per principal per ISO week (weeks start on Monday, UTC), with how many clusters
-- and accounts each principal went into and how many commands they ran. `cluster` is a
-- keyword of the SQL dialect: qualify it (w.cluster) or quote it ("cluster").
SELECT
    w.principal,
    w.iso_year,
    w.iso_week,
    count(*) AS sessions,
    count(DISTINCT w.cluster) AS clusters,
    count(DISTINCT w.account) AS accounts,
    sum(w.commands) AS commands_run
FROM (
    SELECT
        s.principal,
        s.cluster,
        s.account,
        s.commands,
        EXTRACT(ISOYEAR FROM s.start_time) AS iso_year,
        EXTRACT(WEEK FROM s.start_time) AS iso_week
    FROM sessions AS s
) AS w
GROUP BY w.principal, w.iso_year, w.iso_week
ORDER BY w.iso_year, w.iso_week, sessions DESC, w.principal
