-- Report section 1 chart: sessions per quarter hour (UTC). `execaudit report` adds the
-- quarters up into the days of its --tz (every time zone in use is a whole number of quarter
-- hours from UTC); for UTC days alone, group by `day` only.
SELECT
    q.day,
    q.hour,
    q.quarter,
    count(*) AS sessions
FROM (
    SELECT
        CAST(s.start_time AS DATE) AS day,
        EXTRACT(HOUR FROM s.start_time) AS hour,
        CAST(floor(EXTRACT(MINUTE FROM s.start_time) / 15) AS INTEGER) AS quarter
    FROM sessions AS s
) AS q
GROUP BY q.day, q.hour, q.quarter
ORDER BY q.day, q.hour, q.quarter
