//! Several transcripts under one session id: copies, superseded uploads and conflicts.
//!
//! A session's transcript can reach the store more than once: from S3 and from CloudWatch Logs
//! (the same commands), cut off first and complete later (a re-upload), or written by an older
//! version of the tool before transcripts carried a digest. And whoever can write to a folder
//! or bucket that gets ingested can plant a `<sessionId>.log` with other commands. The views
//! read each session's transcripts as follows:
//!
//! - transcripts with the same command lines are one: the extra copies are left out;
//! - an incomplete transcript (truncated, empty or unreadable) whose commands begin a complete
//!   one's is superseded by it and left out, with its commands;
//! - what remains, when more than one, is a conflict: every one is kept (their commands too:
//!   hiding either could hide the real one), and the session's status is `conflicting`.
//!
//! Sessions with more than one transcript are rare, so this is worked out once per dataset
//! from a small query, and the views filter on the ids it leaves out (no filter when none).
//! Which sessions have more than one, the store's writer lists in the manifest at each
//! commit: a reader then need not group every transcript (50 ms at 100k transcripts, in
//! every command).

use std::collections::HashMap;

use polars::prelude::*;

use super::views::strings;
use super::Dataset;
use crate::model::{CommandRow, Table, TranscriptRow};

/// What the views leave out and which sessions conflict.
#[derive(Debug, Default, Clone)]
pub struct Resolution {
    /// Transcript ids left out (copies and superseded uploads). Commands are matched on their
    /// `transcript_id`, or their session id for rows stored before commands carried one.
    pub left_out: Vec<String>,
}

/// One transcript of a session with several.
struct Candidate {
    id: String,
    complete: bool,
    /// Preferred when copies are equal: a transcript with a digest (written by this version).
    current: bool,
    commands: Vec<String>,
}

impl Dataset {
    /// The transcripts views leave out; see the module documentation.
    pub fn resolution(&self) -> PolarsResult<&Resolution> {
        if let Some(r) = self.resolved.get() {
            return Ok(r);
        }
        let r = self.resolve()?;
        Ok(self.resolved.get_or_init(|| r))
    }

    fn resolve(&self) -> PolarsResult<Resolution> {
        let ids = match self
            .store()
            .and_then(|s| s.manifest().shared_sessions.clone())
        {
            // The writer worked them out: the manifest's list is of every part, a superset
            // of what the readable ones share, which the candidates below narrow.
            Some(ids) => ids,
            None => strings(
                &crate::store::shared_sessions(self.table(TranscriptRow::NAME, None)?).collect()?,
                "session_id",
            )?,
        };
        if ids.is_empty() {
            return Ok(Resolution::default());
        }
        let in_ids = || {
            col("session_id").is_in(
                lit(Series::new("ids".into(), ids.as_slice())).implode(false),
                false,
            )
        };
        let transcripts = self
            .table(TranscriptRow::NAME, None)?
            .filter(in_ids())
            .select([
                col("session_id"),
                col("transcript_id"),
                col("status"),
                col("digest"),
            ])
            .collect()?;
        let commands = self
            .table(CommandRow::NAME, None)?
            .filter(in_ids())
            .select([
                coalesce(&[col("transcript_id"), col("session_id")]).alias("tid"),
                col("seq"),
                col("command"),
            ])
            .sort(["tid", "seq"], SortMultipleOptions::default())
            .collect()?;
        let mut lines: HashMap<String, Vec<String>> = HashMap::new();
        let tid = commands.column("tid")?.str()?;
        let text = commands.column("command")?.str()?;
        for (t, c) in tid.iter().zip(text.iter()) {
            if let Some(t) = t {
                lines
                    .entry(t.to_owned())
                    .or_default()
                    .push(c.unwrap_or("").to_owned());
            }
        }
        let mut sessions: HashMap<String, Vec<Candidate>> = HashMap::new();
        let sid = transcripts.column("session_id")?.str()?;
        let tids = transcripts.column("transcript_id")?.str()?;
        let status = transcripts.column("status")?.str()?;
        let digest = transcripts.column("digest")?.str()?;
        for i in 0..transcripts.height() {
            let (Some(s), Some(t)) = (sid.get(i), tids.get(i)) else {
                continue;
            };
            sessions.entry(s.to_owned()).or_default().push(Candidate {
                id: t.to_owned(),
                complete: status.get(i) == Some("present"),
                current: digest.get(i).is_some(),
                commands: lines.remove(t).unwrap_or_default(),
            });
        }
        let mut left_out = Vec::new();
        for (_, mut c) in sessions {
            left_out.extend(resolve_session(&mut c));
        }
        left_out.sort();
        Ok(Resolution { left_out })
    }
}

/// The ids of a session's transcripts that add nothing to the others.
fn resolve_session(c: &mut [Candidate]) -> Vec<String> {
    // Complete ones first, then current ones, so the one kept of equal copies is the best.
    c.sort_by(|a, b| (b.complete, b.current, &a.id).cmp(&(a.complete, a.current, &b.id)));
    let mut out = Vec::new();
    for i in 0..c.len() {
        let redundant = (0..i).any(|j| {
            !out.contains(&c[j].id)
                && (c[j].commands == c[i].commands
                    || (!c[i].complete
                        && c[j].complete
                        && c[j].commands.starts_with(&c[i].commands)))
        });
        if redundant {
            out.push(c[i].id.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, complete: bool, commands: &[&str]) -> Candidate {
        Candidate {
            id: id.into(),
            complete,
            current: true,
            commands: commands.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_cut_off_upload_is_superseded_by_the_complete_one() {
        let mut v = [c("t1", false, &["ls"]), c("t2", true, &["ls", "id"])];
        assert_eq!(resolve_session(&mut v), ["t1"]);
    }

    #[test]
    fn a_longer_complete_transcript_does_not_supersede_a_complete_one() {
        // Appending a command to a real transcript is framing, not a re-upload.
        let mut v = [
            c("real", true, &["ls"]),
            c("planted", true, &["ls", "rm -rf /"]),
        ];
        assert!(resolve_session(&mut v).is_empty());
    }

    #[test]
    fn a_cut_off_transcript_with_other_commands_is_a_conflict() {
        let mut v = [
            c("t1", false, &["cat /etc/shadow"]),
            c("t2", true, &["ls", "id"]),
        ];
        assert!(resolve_session(&mut v).is_empty());
    }

    #[test]
    fn equal_copies_keep_the_current_one() {
        let mut old = c("s", true, &["ls"]);
        old.current = false;
        let mut v = [old, c("s~ab", true, &["ls"])];
        assert_eq!(resolve_session(&mut v), ["s"]);
    }
}
