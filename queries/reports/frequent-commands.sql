-- Report section 8: the 20 commands typed most often in the period's sessions (reconstructed
-- from transcripts; abandoned lines and input read by programs left out), in how many sessions
-- and by how many people.
--
-- `COALESCE(x, FALSE) = FALSE` rather than `x IS NOT TRUE`: a store written before a flag
-- existed holds nulls there, and polars SQL reads `NULL IS NOT TRUE` as false.
--
-- The report computes this same answer one `commands` part at a time (src/dataset/tally.rs):
-- run whole, polars holds the join of every command of the week at once (about 800 MB at 5
-- million commands). tests/report.rs checks that the two agree.
SELECT
    c.command,
    count(*) AS times,
    count(DISTINCT c.session_id) AS sessions,
    count(DISTINCT s.principal) AS principals
FROM commands AS c
JOIN sessions AS s ON s.session_id = c.session_id
WHERE COALESCE(c.abandoned, FALSE) = FALSE
    AND COALESCE(c.program_input, FALSE) = FALSE
    AND c.command IS NOT NULL
GROUP BY c.command
ORDER BY times DESC, c.command
LIMIT 20
