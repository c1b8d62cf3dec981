//! `search`: a pattern in reconstructed commands, in `ExecuteCommand` command strings, and
//! (asked for) in what the commands printed.
//!
//! Commands and command strings are matched by polars inside the scan (only matching rows are
//! materialised). Output is matched per transcript by polars first, a run of days at a time;
//! only the transcripts that contain a match are split into lines here. A line inside a private key block is reported as
//! the whole block, so redaction at the output edge sees the block and hides every line of it.

use polars::prelude::*;
use regex::Regex;

use super::filter::{event_days, exec_expr};
use super::views::{columns_of, hits, who_where};
use super::Dataset;
use crate::config::Filter;
use crate::model::{CommandHit, CommandRow, ExecEvent, Table, TranscriptRow};
use crate::store::Days;
use rayon::prelude::*;
use std::collections::HashMap;

/// What to look for: text (case-insensitive) or a regular expression (Rust syntax).
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The regular expression polars and this module both run.
    pattern: String,
    re: Regex,
}

impl Matcher {
    /// Case-insensitive text.
    pub fn text(t: &str) -> Matcher {
        let pattern = format!("(?i){}", regex::escape(t));
        let re = Regex::new(&pattern).expect("an escaped literal compiles");
        Matcher { pattern, re }
    }

    /// A regular expression; an invalid one is an error naming the problem.
    pub fn regex(p: &str) -> Result<Matcher, regex::Error> {
        Ok(Matcher {
            re: Regex::new(p)?,
            pattern: p.to_owned(),
        })
    }

    fn expr(&self, column: &str) -> Expr {
        col(column)
            .str()
            .contains(lit(self.pattern.clone()), true)
            .fill_null(lit(false))
    }
}

/// The most bytes of transcripts parts one query of `search --in-output` reads (their text is
/// about five times as large): two days of 100k sessions a week. One query read them all
/// (1.08 GB for `root --principal 'user00*'`, 1.73 GB for `root`: 0.47 and 0.93 GB now);
/// runs of 128 MB held 0.68 and 1.57 GB.
const OUTPUT_RUN_BYTES: u64 = 64 << 20;

impl Dataset {
    /// Every match, sorted by time, session and order (columns of [`CommandHit`]).
    pub fn search(&self, f: &Filter, m: &Matcher, in_output: bool) -> PolarsResult<LazyFrame> {
        let ctx = self.session_context(f)?;
        let typed = hits(
            self.restrict(CommandRow::NAME, f, &ctx, Some(m.expr("command")))?,
            "command",
        );
        let asked = self
            .table(ExecEvent::NAME, event_days(f).as_ref())?
            .filter(m.expr("command").and(exec_expr(f).unwrap_or(lit(true))))
            .with_columns(not_a_command([
                col("event_time").alias("time"),
                lit("cloudtrail").alias("found_in"),
            ]))
            .select(columns_of::<CommandHit>());
        let mut parts = vec![typed, asked];
        if in_output {
            crate::trace::stage("search: context");
            parts.push(self.search_output(f, &ctx, m)?);
        }
        Ok(concat(parts, UnionArgs::default())?.sort(
            ["time", "session_id", "seq"],
            SortMultipleOptions::default()
                .with_maintain_order(true)
                .with_nulls_last(true),
        ))
    }

    /// Output lines that match, from the transcripts that contain a match at all, a run of
    /// the store's days at a time ([`OUTPUT_RUN_BYTES`]): the matching lines are kept, the
    /// text of the run's transcripts is not, and a search holds one run's text at most.
    fn search_output(&self, f: &Filter, ctx: &DataFrame, m: &Matcher) -> PolarsResult<LazyFrame> {
        self.output_in_runs(f, ctx, m, OUTPUT_RUN_BYTES)
    }

    /// [`Dataset::search_output`] in runs of days whose transcripts parts hold `bytes` at most.
    pub(super) fn output_in_runs(
        &self,
        f: &Filter,
        ctx: &DataFrame,
        m: &Matcher,
        bytes: u64,
    ) -> PolarsResult<LazyFrame> {
        let mut picked: Option<DataFrame> = None;
        for days in self.days_to_read(TranscriptRow::NAME, f, ctx, bytes)? {
            let found = self
                .restrict_within(
                    TranscriptRow::NAME,
                    f,
                    ctx,
                    Some(m.expr("text")),
                    days.as_ref(),
                )?
                .select(
                    [
                        col("session_id"),
                        coalesce(&[col("transcript_id"), col("session_id")]).alias("transcript_id"),
                        col("time").alias("transcript_time"),
                        col("time_of_row"),
                        col("text"),
                    ]
                    .into_iter()
                    .chain(who_where())
                    .collect::<Vec<_>>(),
                )
                .collect()?;
            crate::trace::stage("search: a run's transcripts");
            let lines = self.output_hits(&found, days.as_ref(), m)?;
            drop(found);
            crate::trace::stage("search: output of a run of days");
            match &mut picked {
                None => picked = Some(lines),
                Some(all) => {
                    all.vstack_mut(&lines)?;
                }
            }
        }
        let picked = picked.expect("days_to_read gives one range at least");
        // In a fixed order, whatever the runs: the lines of one session share its start time
        // and have no `seq`, so the search's own sort keeps the order they come in.
        Ok(picked
            .lazy()
            .sort(
                [
                    "time_of_row",
                    "session_id",
                    "transcript_time",
                    "transcript_id",
                ],
                SortMultipleOptions::default()
                    .with_maintain_order(true)
                    .with_nulls_last(true),
            )
            .with_columns(not_a_command([
                col("time_of_row").alias("time"),
                lit("output").alias("found_in"),
            ]))
            .select(columns_of::<CommandHit>()))
    }

    /// The matching output lines of the transcripts `found` (with their `text`), each line a
    /// row with its transcript's other columns and the line as `command`. A line that is one
    /// of its transcript's commands as typed is input, not output; a transcript's commands are
    /// filed under its day, so those of `days` are all it has.
    fn output_hits(
        &self,
        found: &DataFrame,
        days: Option<&Days>,
        m: &Matcher,
    ) -> PolarsResult<DataFrame> {
        let sids: Vec<String> = found
            .column("session_id")?
            .str()?
            .iter()
            .flatten()
            .map(str::to_owned)
            .collect();
        // Transcripts no session id names (a file named otherwise): their commands by
        // transcript id.
        let lone: Vec<&str> = found
            .column("session_id")?
            .str()?
            .iter()
            .zip(found.column("transcript_id")?.str()?.iter())
            .filter_map(|(s, t)| s.is_none().then_some(t).flatten())
            .collect();
        let columns = [
            coalesce(&[col("transcript_id"), col("session_id")]).alias("transcript_id"),
            col("command"),
        ];
        let mut typed = if sids.is_empty() {
            DataFrame::empty()
        } else {
            self.sessions_rows(CommandRow::NAME, &sids, days)?
                .select(columns.clone())
                .collect()?
        };
        if !lone.is_empty() {
            let more = self
                .table(CommandRow::NAME, days)?
                .filter(
                    col("session_id").is_null().and(
                        col("transcript_id")
                            .is_in(lit(Series::new("t".into(), lone)).implode(false), false),
                    ),
                )
                .select(columns)
                .collect()?;
            typed = if typed.height() == 0 {
                more
            } else {
                typed.vstack(&more)?
            };
        }
        let mut by_transcript: HashMap<&str, Vec<&str>> = HashMap::new();
        if typed.height() > 0 {
            for (t, c) in typed
                .column("transcript_id")?
                .str()?
                .iter()
                .zip(typed.column("command")?.str()?.iter())
            {
                if let (Some(t), Some(c)) = (t, c) {
                    by_transcript.entry(t).or_default().push(c);
                }
            }
        }
        let text = found.column("text")?.str()?;
        let tid = found.column("transcript_id")?.str()?;
        // Each transcript's lines on its own (both cores: a common word's lines were most
        // of a search of every session's output).
        let each: Vec<(Option<&str>, Option<&str>)> = text.iter().zip(tid.iter()).collect();
        let found_lines: Vec<Vec<String>> = each
            .par_iter()
            .map(|(t, id)| {
                let Some(t) = t else {
                    return Vec::new();
                };
                let cmds = by_transcript
                    .get(id.unwrap_or(""))
                    .map_or(&[][..], Vec::as_slice);
                matching_lines(t, &m.re, cmds)
            })
            .collect();
        let mut rows: Vec<IdxSize> = Vec::new();
        let mut lines: Vec<String> = Vec::new();
        for (i, found) in found_lines.into_iter().enumerate() {
            for line in found {
                rows.push(i as IdxSize);
                lines.push(line);
            }
        }
        let mut picked = found
            .take(&IdxCa::from_vec("i".into(), rows))?
            .drop("text")?;
        picked.with_column(Column::new("command".into(), lines))?;
        Ok(picked)
    }
}

/// The output lines of a transcript that match, each once; a matching line inside a private
/// key block stands for the whole block. A line that is one of the transcript's `commands`
/// (alone or after a prompt) is that command's input, not output.
pub(crate) fn matching_lines(text: &str, re: &Regex, commands: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    // The last line of each command, once (not once a line: 51 commands by a million lines
    // was most of a search of common output), and only for lines that match.
    let tails: Vec<&str> = commands
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| c.lines().last().unwrap_or(c))
        .collect();
    let lines: Vec<&str> = text.lines().collect();
    let blocks = crate::redact::key_blocks(&lines);
    let mut i = 0;
    while i < lines.len() {
        if let Some(&(start, end)) = blocks.iter().find(|(s, e)| (*s..=*e).contains(&i)) {
            if lines[start..=end].iter().any(|l| re.is_match(l)) {
                out.push(lines[start..=end].join("\n"));
            }
            i = end + 1;
            continue;
        }
        let line = lines[i];
        if re.is_match(line) && !tails.iter().any(|t| echoes(line, t)) {
            out.push(line.to_owned());
        }
        i += 1;
    }
    out
}

/// Whether an output line is a command's own input line: the command alone, or after a
/// prompt (text ending in `$`, `#`, `>`, `%` or `❯` and a space). Output that merely ends with
/// a command's text (`README  devtools` after `ls`) is output: it was dropped as input.
fn echoes(line: &str, command: &str) -> bool {
    let line = line.trim_end();
    let Some(before) = line.strip_suffix(command) else {
        return false;
    };
    before.trim().is_empty()
        || (before.ends_with(' ') && before.trim_end().ends_with(['$', '#', '>', '%', '❯']))
}

/// A hit that is not a reconstructed command (a CloudTrail command string, an output line):
/// `time` and `found_in` as given, the command-only columns null.
fn not_a_command(head: [Expr; 2]) -> Vec<Expr> {
    let mut v = head.to_vec();
    v.extend([
        lit(NULL).cast(DataType::Int64).alias("seq"),
        lit(NULL).cast(DataType::String).alias("cwd"),
        lit(NULL).cast(DataType::Boolean).alias("abandoned"),
        lit(NULL).cast(DataType::String).alias("flags"),
        lit(NULL).cast(DataType::Int64).alias("output_lines"),
        lit(NULL).cast(DataType::String).alias("output_excerpt"),
        lit(NULL).cast(DataType::Float64).alias("confidence"),
    ]);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_that_ends_like_a_command_is_output() {
        let text = "/app # ls\nREADME  devtools\n/app # cat /etc/hostname\nbuild-host-cat /etc/hostname\nuser@h:~$ ls\nls\n";
        let re = Regex::new("devtools|build-host|ls").unwrap();
        let got = matching_lines(text, &re, &["ls", "cat /etc/hostname"]);
        assert_eq!(got, ["README  devtools", "build-host-cat /etc/hostname"]);
    }

    #[test]
    fn a_match_inside_a_key_block_reports_the_whole_block() {
        let text = "$ cat id_rsa\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nQUJDREVGR0hJSktM\n-----END OPENSSH PRIVATE KEY-----\n$ ls\nQUJD.txt";
        let re = Regex::new("QUJD").unwrap();
        let got = matching_lines(text, &re, &["cat id_rsa", "ls"]);
        assert_eq!(got.len(), 2);
        assert!(got[0].starts_with("-----BEGIN") && got[0].ends_with("KEY-----"));
        assert_eq!(got[1], "QUJD.txt");
        // The block as one value is what redaction hides.
        assert!(!crate::redact::redact(&got[0]).contains("QUJDREVG"));
    }

    #[test]
    fn a_command_line_is_not_output() {
        let re = Regex::new("secret").unwrap();
        let got = matching_lines(
            "$ grep secret app.env\nsecret_mode=on",
            &re,
            &["grep secret app.env"],
        );
        assert_eq!(got, ["secret_mode=on"]);
    }
}
