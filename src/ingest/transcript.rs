//! Transcript reader: the containers ECS Exec session logs arrive in -> terminal byte streams.
//!
//! - S3 objects (`<prefix>/<sessionId>.log`): the `script` typescript byte for byte, with the
//!   header `Script started on ...` and footer `Script done on ... [COMMAND_EXIT_CODE="n"]` of
//!   util-linux >= 2.35, or the older `%c` forms (formats.md §4.3).
//! - CloudWatch Logs `GetLogEvents` / `FilterLogEvents` responses (also what `aws logs
//!   get-log-events` / `filter-log-events` print): the same file split into events, `\r\n`
//!   turned into `\n`; events are joined in timestamp order, one transcript per log stream.
//! - Session Manager's JSON streaming messages (`sessionData` lines), one object or many.
//!
//! The session id comes from the log stream name, the JSON `sessionId`, or the file name.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

use crate::model::{CommandRow, Timestamp, TranscriptRow};
use crate::terminal::{reconstruct, Reconstruction};

/// Where a transcript came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The `script` file as uploaded to S3.
    Script,
    /// CloudWatch Logs events of the `script` file.
    CloudWatch,
    /// Session Manager JSON streaming messages.
    SessionManager,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::Script => "s3",
            Format::CloudWatch => "cloudwatch",
            Format::SessionManager => "session_manager",
        }
    }
}

/// One transcript, unwrapped.
#[derive(Debug, Clone)]
pub struct RawTranscript<'a> {
    pub session_id: Option<String>,
    pub source: String,
    pub format: Format,
    /// The terminal stream between header and footer: borrowed from the file's bytes when
    /// they hold it as it is (a `script` object within the cap; copying it was 1 GB of copies
    /// for 100k transcripts), else its own.
    pub body: Cow<'a, [u8]>,
    /// Total bytes of the transcript as stored.
    pub bytes: u64,
    /// `Script started on` time: when the agent generated the log, i.e. the end of the session.
    pub header_time: Option<Timestamp>,
    /// `Script done on` time.
    pub footer_time: Option<Timestamp>,
    /// CloudWatch event timestamp (upload time) or Session Manager `eventTime`.
    pub uploaded: Option<Timestamp>,
    /// `COMMAND_EXIT_CODE` of the footer.
    pub exit_code: Option<i64>,
    /// The footer was present (the file was not cut off).
    pub complete: bool,
    pub warnings: Vec<String>,
    /// Bytes left out of the middle of the body (over the cap, see [`set_max_bytes`]).
    pub omitted: u64,
}

/// What one transcript may cost by default: 64 MiB of terminal stream (its start and end are
/// read beyond that), and as much text.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;

static MAX_BYTES: AtomicU64 = AtomicU64::new(DEFAULT_MAX_BYTES);

/// Sets the cap on one transcript's terminal stream (`--max-transcript-bytes`), for the run.
pub fn set_max_bytes(bytes: u64) {
    MAX_BYTES.store(bytes.max(1024), Ordering::Relaxed);
}

/// The cap on one transcript's terminal stream.
pub fn max_bytes() -> u64 {
    MAX_BYTES.load(Ordering::Relaxed)
}

/// `body` within the cap: its first and last halves around a line saying what was left out,
/// and how many bytes that was.
fn capped(body: Cow<'_, [u8]>, cap: u64) -> (Cow<'_, [u8]>, u64) {
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    if body.len() <= cap {
        return (body, 0);
    }
    let half = cap / 2;
    let omitted = body.len() - 2 * half;
    let note = format!(
        "\r\n\x1b[0m[{omitted} bytes of the transcript left out: over the {cap}-byte cap \
         (--max-transcript-bytes)]\r\n"
    );
    let mut out = Vec::with_capacity(cap + note.len());
    out.extend_from_slice(&body[..half]);
    out.extend_from_slice(note.as_bytes());
    out.extend_from_slice(&body[body.len() - half..]);
    (Cow::Owned(out), omitted as u64)
}

impl<'a> RawTranscript<'a> {
    /// Sets the body, within the cap (with a warning naming it when it was over).
    fn set_body(&mut self, body: Cow<'a, [u8]>) {
        let cap = max_bytes();
        let len = body.len();
        let (kept, omitted) = capped(body, cap);
        if omitted > 0 {
            self.warnings.push(format!(
                "oversized: {len} bytes of terminal stream, over the --max-transcript-bytes cap of \
                 {cap}: its first and last {} bytes read, {omitted} bytes in the middle left out",
                cap / 2
            ));
        }
        self.body = kept;
        self.omitted = omitted;
    }

    /// The transcript with a body of its own.
    fn into_owned(self) -> RawTranscript<'static> {
        RawTranscript {
            body: Cow::Owned(self.body.into_owned()),
            session_id: self.session_id,
            source: self.source,
            format: self.format,
            bytes: self.bytes,
            header_time: self.header_time,
            footer_time: self.footer_time,
            uploaded: self.uploaded,
            exit_code: self.exit_code,
            complete: self.complete,
            warnings: self.warnings,
            omitted: self.omitted,
        }
    }
}

/// Finds an ECS Exec session id (`ecs-execute-command-<suffix>`) in a name or path.
pub fn session_id_in(text: &str) -> Option<String> {
    let start = text.rfind("ecs-execute-command-")?;
    let rest = &text[start + "ecs-execute-command-".len()..];
    let len = rest
        .bytes()
        .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        .count();
    (len > 0).then(|| text[start..start + "ecs-execute-command-".len() + len].to_owned())
}

/// Whether a name has the shape of a Session Manager session id: `<name>-<17 hex>` (older) or
/// `<name>-<26 lowercase alphanumerics>`.
fn ssm_session_id_shaped(stem: &str) -> bool {
    stem.rsplit_once('-').is_some_and(|(name, suffix)| {
        !name.is_empty()
            && ((suffix.len() == 17 && suffix.bytes().all(|b| b.is_ascii_hexdigit()))
                || (suffix.len() == 26
                    && suffix
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())))
    })
}

/// The session id a file name gives: an ECS Exec id anywhere in the path, else the stem of a
/// `<sessionId>.log` name when it has the shape of a Session Manager id. Any other name gives
/// none: the transcript is then kept under its source, unjoined.
fn session_id_from_source(source: &str) -> Option<String> {
    session_id_in(source).or_else(|| {
        let name = source.rsplit(['/', '\\']).next()?;
        let stem = name.strip_suffix(".log")?;
        ssm_session_id_shaped(stem).then(|| stem.to_owned())
    })
}

/// Parses the time in a `script` header or footer line.
fn script_time(text: &str) -> Option<Timestamp> {
    let t = text.trim();
    let t = t.split(" [").next().unwrap_or(t).trim();
    if let Ok(dt) = DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%:z") {
        return Some(Timestamp(dt.timestamp_millis()));
    }
    if let Ok(dt) = DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%z") {
        return Some(Timestamp(dt.timestamp_millis()));
    }
    // Older util-linux: ctime-like `%c` in the C locale (the container's zone is unknown; UTC).
    let squeezed = t.split_whitespace().collect::<Vec<_>>().join(" ");
    for fmt in [
        "%a %b %d %H:%M:%S %Y",
        "%a %d %b %Y %H:%M:%S",
        "%a %b %d %H:%M:%S %Z %Y",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(&squeezed, fmt) {
            return Some(Timestamp(n.and_utc().timestamp_millis()));
        }
    }
    Timestamp::parse(t)
}

fn exit_code(footer: &str) -> Option<i64> {
    let at = footer.find("COMMAND_EXIT_CODE=\"")? + "COMMAND_EXIT_CODE=\"".len();
    footer[at..].split('"').next()?.parse().ok()
}

/// Unwraps a `script` typescript: header, body, footer.
pub fn from_script<'a>(
    bytes: &'a [u8],
    source: &str,
    format: Format,
    session_id: Option<String>,
) -> RawTranscript<'a> {
    let mut t = RawTranscript {
        session_id: session_id.or_else(|| session_id_from_source(source)),
        source: source.to_owned(),
        format,
        body: Cow::Borrowed(&[]),
        bytes: bytes.len() as u64,
        header_time: None,
        footer_time: None,
        uploaded: None,
        exit_code: None,
        complete: false,
        warnings: Vec::new(),
        omitted: 0,
    };
    let mut body = bytes;
    const START: &[u8] = b"Script started on ";
    match memchr::memmem::find(&bytes[..bytes.len().min(1024)], START) {
        Some(at) => {
            let line_end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |e| at + e);
            t.header_time =
                script_time(&String::from_utf8_lossy(&bytes[at + START.len()..line_end]));
            if t.header_time.is_none() {
                t.warnings.push("header time not understood".into());
            }
            body = &bytes[(line_end + 1).min(bytes.len())..];
        }
        None => t.warnings.push("no `Script started on` header".into()),
    }
    const DONE: &[u8] = b"Script done on ";
    let tail_from = body.len().saturating_sub(4096);
    match memchr::memmem::rfind(&body[tail_from..], DONE) {
        Some(rel) => {
            let at = tail_from + rel;
            let footer = String::from_utf8_lossy(&body[at + DONE.len()..]).into_owned();
            t.footer_time = script_time(footer.lines().next().unwrap_or(""));
            t.exit_code = exit_code(&footer);
            t.complete = true;
            let mut end = at;
            // `script` writes a newline of its own before the footer.
            if end > 0 && body[end - 1] == b'\n' {
                end -= 1;
            }
            body = &body[..end];
        }
        None => t
            .warnings
            .push("no `Script done on` footer: the transcript is cut off".into()),
    }
    t.set_body(Cow::Borrowed(body));
    t
}

/// Reads every transcript in one input. `doc` is the parsed JSON when the input is JSON.
pub fn read<'a>(bytes: &'a [u8], source: &str) -> Vec<RawTranscript<'a>> {
    crate::alloc::transcripts_ahead();
    let trimmed = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&bytes[..0], |i| &bytes[i..]);
    if trimmed.first() != Some(&b'{') && trimmed.first() != Some(&b'[') {
        return vec![from_script(bytes, source, Format::Script, None)];
    }
    let docs: Vec<Value> = match serde_json::from_slice::<Value>(trimmed) {
        Ok(Value::Array(items)) => items,
        Ok(v) => vec![v],
        Err(_) => trimmed
            .split(|&b| b == b'\n')
            .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
            .collect(),
    };
    let mut streams: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    let mut manager: BTreeMap<String, (Vec<String>, Option<Timestamp>)> = BTreeMap::new();
    let mut add_manager = |m: &Value, fallback: &str| {
        let id = m
            .get("sessionId")
            .and_then(Value::as_str)
            .unwrap_or(fallback)
            .to_owned();
        let entry = manager.entry(id).or_default();
        if let Some(lines) = m.get("sessionData").and_then(Value::as_array) {
            entry
                .0
                .extend(lines.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        if let Some(t) = m
            .get("eventTime")
            .and_then(Value::as_str)
            .and_then(Timestamp::parse)
        {
            entry.1 = Some(entry.1.map_or(t, |e: Timestamp| e.max(t)));
        }
    };
    let file_session = session_id_from_source(source).unwrap_or_default();
    for doc in &docs {
        if doc.get("sessionData").is_some() {
            add_manager(doc, &file_session);
            continue;
        }
        for e in doc
            .get("events")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
            let stream = e
                .get("logStreamName")
                .and_then(Value::as_str)
                .unwrap_or(&file_session)
                .to_owned();
            if msg.starts_with('{') {
                if let Ok(m) = serde_json::from_str::<Value>(msg) {
                    if m.get("sessionData").is_some() {
                        add_manager(&m, &stream);
                        continue;
                    }
                }
            }
            let ts = e.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
            streams
                .entry(stream)
                .or_default()
                .push((ts, msg.to_owned()));
        }
    }
    let mut out = Vec::new();
    for (stream, mut events) in streams {
        events.sort_by_key(|(ts, _)| *ts);
        let joined = events
            .iter()
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let label = if stream.is_empty() {
            source.to_owned()
        } else {
            format!("{source}#{stream}")
        };
        let sid = session_id_in(&stream).or_else(|| (!stream.is_empty()).then(|| stream.clone()));
        let mut t = from_script(joined.as_bytes(), &label, Format::CloudWatch, sid).into_owned();
        t.uploaded = events.last().map(|(ts, _)| Timestamp(*ts));
        out.push(t);
    }
    for (id, (lines, time)) in manager {
        let mut body = lines.join("\n").into_bytes();
        body.push(b'\n');
        out.push(RawTranscript {
            session_id: (!id.is_empty()).then_some(id),
            source: source.to_owned(),
            format: Format::SessionManager,
            bytes: body.len() as u64,
            body: Cow::Borrowed(&[]),
            header_time: None,
            footer_time: None,
            uploaded: time,
            exit_code: None,
            complete: true,
            warnings: Vec::new(),
            omitted: 0,
        });
        if let Some(t) = out.last_mut() {
            t.set_body(Cow::Owned(body));
        }
    }
    out
}

/// Why a transcript's bytes are not a terminal recording: mostly control bytes or invalid text.
fn binary_share(body: &[u8]) -> f64 {
    if body.is_empty() {
        return 0.0;
    }
    let text = String::from_utf8_lossy(body);
    let odd = text
        .chars()
        .filter(|&c| {
            c == '\u{fffd}'
                || (c.is_control() && !matches!(c, '\r' | '\n' | '\t' | '\x1b' | '\x08' | '\x07'))
        })
        .count();
    odd as f64 / text.chars().count().max(1) as f64
}

/// SHA-256 (hex) of command lines, each ended by a NUL: what tells a copy of a transcript from
/// a different one. A cryptographic hash, as whoever plants a transcript chooses its content.
pub fn digest_of<'a>(commands: impl Iterator<Item = &'a str>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for c in commands {
        h.update(c.as_bytes());
        h.update([0u8]);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in h.finalize() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// Reconstructs one transcript and gives its rows. A failure inside reconstruction (a bug met
/// by some input) is caught here: that transcript is `unreadable`, with the reason, and the
/// run goes on with the others.
pub fn rows_of(raw: &RawTranscript<'_>) -> (TranscriptRow, Vec<CommandRow>) {
    rows_with(raw, reconstruct, Ids::Each)
}

/// [`rows_of`] with the command rows' `command_id`, `session_id` and `transcript_id` left
/// empty: they are the transcript's, and the frames of a batch take them from it
/// (`ingest::Rows`), rather than 5 million rows each allocating three copies.
pub(crate) fn rows_of_lean(raw: &RawTranscript<'_>) -> (TranscriptRow, Vec<CommandRow>) {
    rows_with(raw, reconstruct, Ids::FromTranscript)
}

/// Whether command rows carry their ids or leave them to the transcript's row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ids {
    Each,
    FromTranscript,
}

fn rows_with(
    raw: &RawTranscript<'_>,
    reconstruct: impl FnOnce(&[u8]) -> Reconstruction,
    ids: Ids,
) -> (TranscriptRow, Vec<CommandRow>) {
    match catch_unwind(AssertUnwindSafe(|| reconstruct(&raw.body))) {
        Ok(r) => to_rows(raw, r, None, ids),
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".to_owned());
            to_rows(raw, Reconstruction::default(), Some(&why), ids)
        }
    }
}

/// The stored rows of one transcript and its commands (`failure`: reconstruction failed so).
/// A command's key: its transcript's id and its place in it.
pub fn command_id(transcript_id: &str, seq: i64) -> String {
    let mut id = String::with_capacity(transcript_id.len() + 6);
    push_command_id(&mut id, transcript_id, seq);
    id
}

/// [`command_id`] into a buffer (cleared first).
pub fn push_command_id(buf: &mut String, transcript_id: &str, seq: i64) {
    use std::fmt::Write;
    buf.clear();
    buf.push_str(transcript_id);
    let _ = write!(buf, "#{seq:05}");
}

/// The reconstruction is consumed: its commands' strings and the text move into the rows
/// (copied, they were ~25 million allocations and the whole text again for 100k transcripts).
fn to_rows(
    raw: &RawTranscript<'_>,
    mut r: Reconstruction,
    failure: Option<&str>,
    ids: Ids,
) -> (TranscriptRow, Vec<CommandRow>) {
    let mut warnings = raw.warnings.clone();
    let blank = raw.body.iter().all(|b| b.is_ascii_whitespace());
    let stub = r.commands.is_empty()
        && memchr::memmem::find(&raw.body, b"executable file not found").is_some();
    let binary = r.commands.is_empty() && binary_share(&raw.body) > 0.25;
    let status = if let Some(why) = failure {
        warnings.push(format!(
            "reconstruction failed, the transcript was not read: {why}"
        ));
        "unreadable"
    } else if blank || stub {
        // Header and footer remarks say nothing about a transcript with nothing in it.
        warnings.clear();
        warnings.push(if stub {
            "the agent could not record the session: `script` is missing from the container image"
                .into()
        } else if raw.bytes == 0 {
            "an empty object".into()
        } else {
            "no terminal output between header and footer".into()
        });
        "empty"
    } else if binary {
        warnings.retain(|w| !w.contains("footer"));
        warnings.push("binary content: not a terminal recording".into());
        "unreadable"
    } else if !raw.complete {
        "truncated"
    } else {
        "present"
    };
    let time = raw
        .header_time
        .or(raw.footer_time)
        .or(raw.uploaded)
        .unwrap_or_default();
    let digest = digest_of(r.commands.iter().map(|c| c.text.as_str()));
    let transcript_id = match &raw.session_id {
        Some(sid) => format!("{sid}~{}", &digest[..16]),
        None => format!("source:{}", raw.source),
    };
    let commands: Vec<CommandRow> = std::mem::take(&mut r.commands)
        .into_iter()
        .enumerate()
        .map(|(i, c)| CommandRow {
            command_id: (ids == Ids::Each).then(|| command_id(&transcript_id, i as i64 + 1)),
            // Lean rows leave the id out without copying it first (5 million copies freed at once).
            session_id: if ids == Ids::Each {
                raw.session_id.clone()
            } else {
                None
            },
            transcript_id: (ids == Ids::Each).then(|| transcript_id.clone()),
            seq: Some(i as i64 + 1),
            time,
            user: c.user,
            host: c.host,
            cwd: c.cwd,
            command: Some(c.text),
            edited: Some(c.edited),
            pasted: Some(c.pasted),
            multi_line: Some(c.multi_line),
            abandoned: Some(c.abandoned),
            program_input: Some(c.program_input),
            full_screen: Some(c.full_screen),
            alternate_screen: Some(c.alternate_screen),
            output_lines: Some(c.output_lines as i64),
            output_bytes: Some(c.output_bytes as i64),
            output_excerpt: (!c.output_excerpt.is_empty()).then_some(c.output_excerpt),
            confidence: Some(f64::from(c.confidence)),
        })
        .collect();
    let row = TranscriptRow {
        transcript_id: Some(transcript_id),
        session_id: raw.session_id.clone(),
        time,
        source: Some(raw.source.clone()),
        format: Some(raw.format.label().to_owned()),
        digest: Some(digest),
        bytes: Some(raw.bytes as i64),
        header_time: raw.header_time,
        footer_time: raw.footer_time,
        uploaded: raw.uploaded,
        exit_code: raw.exit_code,
        status: Some(status.to_owned()),
        shell: if status == "present" || status == "truncated" {
            r.shell.take()
        } else {
            None
        },
        width: r.width.map(|w| w as i64),
        commands: Some(commands.len() as i64),
        commands_run: Some(
            commands
                .iter()
                .filter(|c| c.abandoned != Some(true) && c.program_input != Some(true))
                .count() as i64,
        ),
        output_lines: Some(r.output_lines as i64),
        warnings: (!warnings.is_empty()).then(|| warnings.join("; ")),
        unobservable_after: r.unobservable.as_ref().map(|(n, _)| *n as i64),
        unobservable_reason: r.unobservable.take().map(|(_, why)| why),
        omitted_bytes: (raw.omitted > 0).then_some(raw.omitted as i64),
        text: (!r.text.is_empty()).then(|| std::mem::take(&mut r.text)),
    };
    (row, commands)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_is_the_sha256_of_the_commands_in_lowercase_hex() {
        assert_eq!(
            digest_of(["ls", "id"].into_iter()),
            "d440f5f844f516b3c4e275746e69eab8f86260f7c01b1a98dbf24415372dce97"
        );
    }

    #[test]
    fn script_header_and_footer_in_both_util_linux_forms() {
        let new = b"Script started on 2024-05-14 09:31:07+00:00 [COMMAND=\"cat x\" <not executed on terminal>]\n$ id\r\r\n\nScript done on 2024-05-14 09:31:09+00:00 [COMMAND_EXIT_CODE=\"0\"]\n";
        let t = from_script(
            new,
            "bucket/p/ecs-execute-command-abc123.log",
            Format::Script,
            None,
        );
        assert_eq!(t.session_id.as_deref(), Some("ecs-execute-command-abc123"));
        assert_eq!(t.header_time, Timestamp::parse("2024-05-14T09:31:07Z"));
        assert_eq!(t.footer_time, Timestamp::parse("2024-05-14T09:31:09Z"));
        assert_eq!((t.exit_code, t.complete), (Some(0), true));
        assert_eq!(&*t.body, b"$ id\r\r\n");
        let old = b"Script started on Tue May 14 09:31:07 2024\n$ id\r\r\n\nScript done on Tue May 14 09:31:07 2024\n";
        let t = from_script(old, "x.log", Format::Script, None);
        assert_eq!(t.header_time, Timestamp::parse("2024-05-14T09:31:07Z"));
        assert!(t.complete && t.exit_code.is_none());
    }

    #[test]
    fn session_ids_come_only_from_names_shaped_like_them() {
        assert_eq!(
            session_id_from_source("b/p/ecs-execute-command-0122b68a67f39258e.log").as_deref(),
            Some("ecs-execute-command-0122b68a67f39258e")
        );
        assert_eq!(
            session_id_from_source("logs/jane-0a1b2c3d4e5f67890.log").as_deref(),
            Some("jane-0a1b2c3d4e5f67890")
        );
        assert_eq!(
            session_id_from_source("examples/ecs-exec-transcript-s3-object.log"),
            None
        );
        assert_eq!(session_id_from_source("app/server.log"), None);
    }

    #[test]
    fn a_cut_off_transcript_is_incomplete() {
        let t = from_script(
            b"Script started on 2024-05-14 09:31:07+00:00\n$ id\r\r\nuid=0",
            "s.log",
            Format::Script,
            None,
        );
        assert!(!t.complete);
        assert!(t.warnings[0].contains("cut off"));
    }

    #[test]
    fn cloudwatch_events_join_per_stream_in_time_order() {
        let doc = br#"{"events":[
            {"logStreamName":"ecs-execute-command-b","timestamp":5,"message":"Script started on 2024-05-14 09:00:00+00:00\n$ b"},
            {"logStreamName":"ecs-execute-command-a","timestamp":9,"message":"$ second\r\n\nScript done on 2024-05-14 09:00:00+00:00 [COMMAND_EXIT_CODE=\"0\"]"},
            {"logStreamName":"ecs-execute-command-a","timestamp":3,"message":"Script started on 2024-05-14 09:00:00+00:00 [COMMAND=\"cat x\"]\n$ first\r"}
        ]}"#;
        let ts = read(doc, "export.json");
        assert_eq!(ts.len(), 2);
        let a = &ts[0];
        assert_eq!(a.session_id.as_deref(), Some("ecs-execute-command-a"));
        assert_eq!(String::from_utf8_lossy(&a.body), "$ first\r\n$ second\r\n");
        assert_eq!(a.uploaded, Some(Timestamp(9)));
        assert!(a.complete && !ts[1].complete);
    }

    #[test]
    fn session_manager_streaming_messages() {
        let doc = br#"{"eventVersion":"1.0","eventTime":"2024-05-14T09:12:40Z","sessionId":"jane-0abc","sessionData":["sh-5.2$ whoami","ssm-user"]}"#;
        let ts = read(doc, "m.json");
        assert_eq!(ts[0].session_id.as_deref(), Some("jane-0abc"));
        assert_eq!(&*ts[0].body, b"sh-5.2$ whoami\nssm-user\n");
        assert_eq!(ts[0].format, Format::SessionManager);
    }

    #[test]
    fn a_script_objects_body_is_read_where_it_lies_and_a_streams_is_its_own() {
        let file = b"Script started on 2024-05-14 09:31:07+00:00\n$ id\r\n\nScript done on 2024-05-14 09:31:09+00:00\n";
        let t = &read(file, "b/p/ecs-execute-command-abc123.log")[0];
        assert!(matches!(t.body, Cow::Borrowed(_)));
        assert!(file.as_ptr_range().contains(&t.body.as_ptr()));
        assert_eq!(&*t.body, b"$ id\r\n");
        let stream = br#"{"events":[{"timestamp":1,"message":"Script started on 2024-05-14 09:31:07+00:00"},{"timestamp":2,"message":"$ id"}]}"#;
        let t = &read(stream, "export.json")[0];
        assert!(matches!(t.body, Cow::Owned(_)) && t.body.starts_with(b"$ id"));
    }

    #[test]
    fn an_oversized_body_keeps_its_start_and_end_and_says_what_was_cut() {
        let mut body = b"$ first\r\n".to_vec();
        body.extend(std::iter::repeat_n(b'x', 10_000));
        body.extend_from_slice(b"\r\n$ last\r\n");
        let (kept, omitted) = capped(Cow::Borrowed(&body), 4096);
        assert_eq!(omitted as usize, body.len() - 4096);
        let text = String::from_utf8_lossy(&kept);
        assert!(text.starts_with("$ first\r\n") && text.ends_with("$ last\r\n"));
        assert!(text.contains(&format!("[{omitted} bytes of the transcript left out")));
        let r = reconstruct(&kept);
        let lines: Vec<_> = r.commands.iter().map(|c| c.text.as_str()).collect();
        assert!(
            lines.contains(&"first") && lines.contains(&"last"),
            "{lines:?}"
        );
        let (small, none) = capped(Cow::Borrowed(b"$ id\r\n"), 4096);
        assert!(matches!(small, Cow::Borrowed(b"$ id\r\n")) && none == 0);
    }

    #[test]
    fn a_panic_in_reconstruction_makes_that_transcript_unreadable_with_the_reason() {
        let raw = from_script(
            b"Script started on 2024-05-14 09:31:07+00:00\n# id\r\nuid=0(root) gid=0(root)\r\n# \r\n\nScript done on 2024-05-14 09:31:09+00:00\n",
            "ecs-execute-command-x.log",
            Format::Script,
            None,
        );
        let (row, commands) = rows_with(&raw, |_| panic!("escape sequence too deep"), Ids::Each);
        assert_eq!(row.status.as_deref(), Some("unreadable"));
        assert!(commands.is_empty());
        let warnings = row.warnings.unwrap_or_default();
        assert!(warnings.contains("escape sequence too deep"), "{warnings}");
        let (row, commands) = rows_of(&raw);
        assert_eq!(row.status.as_deref(), Some("present"));
        assert_eq!(commands.len(), 1);
    }
}
