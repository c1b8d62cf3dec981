-- Successful sessions with no usable transcript: nothing recorded what was typed. `missing`
-- means none was ingested (logging off, the upload failed or was deleted); `empty`,
-- `truncated` and `unreadable` mean one arrived but says little or nothing.
SELECT
    s.start_time,
    s.principal,
    s.role_arn,
    s.account,
    s.region,
    s.cluster,
    s.task_id,
    s.container,
    s.transcript_status,
    s.session_id
FROM sessions AS s
WHERE s.transcript_status <> 'present'
ORDER BY s.start_time, s.session_id
