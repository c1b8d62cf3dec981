-- Successful sessions with no usable transcript: nothing recorded what was typed. `missing`
-- means none was ingested (logging off, the upload failed or was deleted); `empty`,
-- `truncated` and `unreadable` mean one arrived but says little or nothing.
SELECT
    start_time,
    principal,
    role_arn,
    account,
    region,
    cluster,
    task_id,
    container,
    transcript_status,
    session_id
FROM sessions
WHERE transcript_status <> 'present'
ORDER BY start_time, session_id
