-- Report section 8: the 20 commands typed most often in the period's sessions (reconstructed
-- from transcripts; abandoned lines left out), in how many sessions and by how many people.
SELECT
    c.command,
    count(*) AS times,
    count(DISTINCT c.session_id) AS sessions,
    count(DISTINCT s.principal) AS principals
FROM commands AS c
JOIN sessions AS s ON s.session_id = c.session_id
WHERE c.abandoned IS NOT TRUE AND c.command IS NOT NULL
GROUP BY c.command
ORDER BY times DESC, c.command
LIMIT 20
