-- Report section 8: the 20 longest sessions of the period (from the ExecuteCommand to the
-- transcript's end; sessions without a transcript have no known end).
SELECT
    s.duration_s,
    s.start_time,
    s.principal,
    s.account,
    s.cluster,
    s.container,
    s.commands,
    s.transcript_status,
    concat('execaudit show ', s.session_id) AS show_command,
    s.session_id
FROM sessions AS s
WHERE s.duration_s IS NOT NULL
ORDER BY s.duration_s DESC, s.start_time, s.session_id
LIMIT 20
