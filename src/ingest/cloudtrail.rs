//! CloudTrail scanner: bytes of one input -> the exec and control events in it.
//!
//! Most of a trail is irrelevant (S3 reads, KMS decrypts, EC2 describes), so records are not
//! parsed unless they can match.
//!
//! CloudTrail's own files (`{"Records":[{"eventVersion":...},...]}`, what S3 delivery writes)
//! take the fast path: one pass over the decompressed bytes finds each record's `"eventSource"`
//! key (one single-string search, ~3x faster than searching for many needles at once), and
//! the source and name CloudTrail writes there decide, against the selection itself
//! ([`may_keep`], read off `model::normalize::SELECTION`), whether the record is parsed. A
//! record starts at the `{` before its `"eventVersion"` key, which CloudTrail always writes
//! first; [`classify`] confirms a parsed record exactly. A record that carries its source or
//! name twice (CloudTrail never writes one; JSON leaves duplicate keys undefined, and the full
//! parse takes the last) is judged here by the first.
//!
//! Inputs read record by record use the prefilter needles ([`PREFILTER_NEEDLES`]) instead.
//! Every other shape (JSON arrays, JSON Lines, LookupEvents responses, EventBridge envelopes,
//! CloudTrail Lake rows, CloudWatch Logs exports of a trail) is detected from its content and
//! parsed whole: those are exports of modest size.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use serde_json::{Map, Value};

use memchr::memmem;

use crate::model::normalize::{classify, classify_record, may_keep, Classified, PREFILTER_NEEDLES};
use crate::model::record::Obj;

/// The kind of input a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InputKind {
    /// `{"Records":[...]}` as CloudTrail delivers to S3.
    TrailFile,
    /// A JSON array of records (or of EventBridge envelopes / LookupEvents events).
    RecordArray,
    /// One JSON record (or envelope) per line.
    JsonLines,
    /// A raw `LookupEvents` response (`Events[].CloudTrailEvent` as JSON strings).
    LookupEvents,
    /// One EventBridge delivery (`detail` holds the record).
    EventBridge,
    /// CloudTrail Lake `GetQueryResults` rows.
    LakeRows,
    /// CloudWatch Logs `GetLogEvents`/`FilterLogEvents` output of a trail delivered to Logs.
    LogEvents,
    /// A single record object.
    SingleRecord,
    /// A CloudTrail digest file (integrity validation): recognised and skipped.
    Digest,
    /// An ECS Exec session transcript (`script` output): recognised, read by the transcript reader.
    Transcript,
    /// A file found in a folder that is plainly not a log (a README, notes): passed over.
    NotALog,
}

impl InputKind {
    /// Short name for summaries.
    pub fn label(self) -> &'static str {
        match self {
            InputKind::TrailFile => "trail file",
            InputKind::RecordArray => "record array",
            InputKind::JsonLines => "JSON Lines",
            InputKind::LookupEvents => "LookupEvents response",
            InputKind::EventBridge => "EventBridge event",
            InputKind::LakeRows => "CloudTrail Lake rows",
            InputKind::LogEvents => "CloudWatch Logs events",
            InputKind::SingleRecord => "single record",
            InputKind::Digest => "digest file (skipped)",
            InputKind::Transcript => "session transcript",
            InputKind::NotALog => "not a log (passed over)",
        }
    }
}

/// Why a whole input could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("empty file")]
    Empty,
    #[error("not JSON (starts with {0:?})")]
    NotJson(String),
    #[error("truncated JSON: {0}")]
    Truncated(String),
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("JSON that is not CloudTrail ({0})")]
    NotCloudTrail(String),
}

/// What one input yielded.
#[derive(Debug, Default)]
pub struct Scanned {
    pub kind: Option<InputKind>,
    /// Records seen (counted, not parsed, on the fast path).
    pub records: u64,
    /// Records the prefilter passed to the parser.
    pub candidates: u64,
    pub events: Vec<Classified>,
    /// Records that could not be used, with the reason (the file itself was readable).
    pub bad_records: Vec<String>,
    /// Something wrong with the input as a whole that did not stop it being read.
    pub warning: Option<String>,
}

/// The prefilter needles, for inputs read record by record (JSON Lines, LookupEvents responses,
/// records in another key order).
static MATCHER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    // Leftmost-first, not the default standard semantics: only the leftmost kinds can use the
    // SIMD packed searcher (Teddy); standard semantics run a byte-at-a-time automaton, ~5x slower.
    AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(PREFILTER_NEEDLES)
        .expect("static patterns compile")
});

/// Whether the bytes contain any prefilter needle.
pub fn may_match(bytes: &[u8]) -> bool {
    MATCHER.is_match(bytes)
}

fn skip_ws(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    &b[start..]
}

/// Consumes an exact token after optional whitespace.
fn eat<'a>(b: &'a [u8], token: &[u8]) -> Option<&'a [u8]> {
    skip_ws(b).strip_prefix(token)
}

/// Where the first record starts in a `{"Records":[{"eventVersion"` document.
fn trail_records_start(bytes: &[u8]) -> Option<usize> {
    let rest = eat(bytes, b"{")?;
    let rest = eat(rest, b"\"Records\"")?;
    let rest = eat(rest, b":")?;
    let rest = eat(rest, b"[")?;
    let rest = skip_ws(rest);
    rest.starts_with(b"{\"eventVersion\"")
        .then(|| bytes.len() - rest.len())
}

/// True when the text is a `script` transcript rather than JSON.
pub fn looks_like_transcript(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    head.starts_with(b"Script started on")
        || memchr::memmem::find(head, b"Script started on").is_some()
}

/// Recognises an input from its first bytes: `Err` with the error [`scan`] would give when they
/// cannot begin CloudTrail JSON or a transcript, so the rest need not be read.
pub fn sniff(head: &[u8]) -> Result<(), ScanError> {
    let body = skip_ws(head);
    if body.is_empty() || looks_like_transcript(head) {
        return Ok(());
    }
    match body[0] {
        b'{' | b'[' => Ok(()),
        _ => Err(ScanError::NotJson(
            String::from_utf8_lossy(&body[..body.len().min(16)]).into(),
        )),
    }
}

/// Scans one input's (decompressed) bytes. `source` names it in the events and messages.
pub fn scan(bytes: &[u8], source: &str) -> Result<Scanned, ScanError> {
    let body = skip_ws(bytes);
    if body.is_empty() {
        return Err(ScanError::Empty);
    }
    if looks_like_transcript(bytes) {
        return Ok(Scanned {
            kind: Some(InputKind::Transcript),
            ..Scanned::default()
        });
    }
    match body[0] {
        b'{' | b'[' => {}
        _ => {
            let head: String = String::from_utf8_lossy(&body[..body.len().min(16)]).into();
            return Err(ScanError::NotJson(head));
        }
    }
    if let Some(start) = trail_records_start(bytes) {
        if let Some(found) = scan_trail_fast(bytes, start, source) {
            return Ok(found);
        }
    }
    if let Some(found) = scan_records_in_place(body, source) {
        return Ok(found);
    }
    if body[0] == b'{' {
        if let Some(found) = scan_json_lines(body, source) {
            return Ok(found);
        }
    }
    scan_whole(body, source)
}

/// Reads the one record at the start of `bytes` in place; returns it and the bytes it spans.
fn parse_record(bytes: &[u8]) -> Result<(Obj<'_>, usize), serde_json::Error> {
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Obj>();
    match stream.next() {
        Some(Ok(v)) => Ok((v, stream.byte_offset())),
        Some(Err(e)) => Err(e),
        None => Err(serde::de::Error::custom("no value")),
    }
}

const SOURCE: &[u8] = b"\"eventSource\"";

/// Finds `"eventSource"`, the key every CloudTrail record has once: the fast path's one pass.
/// With AVX2 the search is led by the key's `v` and `S`, its two bytes rarest in CloudTrail's
/// JSON (about 1% of bytes each): ~20% faster than memchr's own choice of bytes. Elsewhere, and
/// for the last bytes of a file, memchr's own finder.
struct SourceKeys {
    #[cfg(target_arch = "x86_64")]
    pair: Option<memchr::arch::x86_64::avx2::packedpair::Finder>,
    any: memmem::Finder<'static>,
}

static SOURCE_KEYS: LazyLock<SourceKeys> = LazyLock::new(|| SourceKeys {
    #[cfg(target_arch = "x86_64")]
    pair: memchr::arch::all::packedpair::Pair::with_indices(SOURCE, 2, 6)
        .and_then(|pair| memchr::arch::x86_64::avx2::packedpair::Finder::with_pair(SOURCE, pair)),
    any: memmem::Finder::new(SOURCE),
});

impl SourceKeys {
    fn find(&self, hay: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(pair) = &self.pair {
            if hay.len() >= pair.min_haystack_len() {
                return pair.find(hay, SOURCE);
            }
        }
        self.any.find(hay)
    }

    /// Every key at or after `from`, none overlapping another.
    fn iter<'a>(&'a self, bytes: &'a [u8], from: usize) -> impl Iterator<Item = usize> + 'a {
        let mut at = from;
        std::iter::from_fn(move || {
            let found = at + self.find(bytes.get(at..)?)?;
            at = found + SOURCE.len();
            Some(found)
        })
    }
}
/// The first key of a record as CloudTrail writes it, searched back from a candidate's source.
static RECORD_KEY: LazyLock<memmem::FinderRev<'static>> =
    LazyLock::new(|| memmem::FinderRev::new(b"{\"eventVersion\""));

/// A JSON string value after its key, whitespace allowed around the colon: its text and where it
/// ends, or `None` when what follows is not a string without escapes.
fn string_value(bytes: &[u8], after_key: usize) -> Option<(&[u8], usize)> {
    let rest = eat(&bytes[after_key..], b":")?;
    let rest = eat(rest, b"\"")?;
    let at = bytes.len() - rest.len();
    let len = memchr::memchr2(b'"', b'\\', rest)?;
    (rest[len] == b'"').then(|| (&rest[..len], at + len + 1))
}

/// The `eventSource` whose key starts at `key` and the `eventName` CloudTrail writes right after
/// it, and where the name ends. `None` when they are not laid out so, or hold escapes: then the
/// record is parsed to know.
fn source_and_name(bytes: &[u8], key: usize) -> Option<(&[u8], &[u8], usize)> {
    let (source, end) = string_value(bytes, key + SOURCE.len())?;
    let rest = eat(&bytes[end..], b",")?;
    let rest = eat(rest, b"\"eventName\"")?;
    let (name, end) = string_value(bytes, bytes.len() - rest.len())?;
    Some((source, name, end))
}

/// The fast path. `None` when the file breaks its assumptions (then it is parsed whole).
///
/// One pass finds each record's `"eventSource"` key; the source and the name after it decide,
/// with [`may_keep`], whether the record is parsed. A selector that requires a request
/// parameter looks for that key between the record's source and the next record's: CloudTrail
/// writes `requestParameters` after `eventName`. A parsed record starts at the last
/// `{"eventVersion"` before its source; when there is none after the last parsed record, or the
/// record parsed from there does not hold the source found, the file is not laid out as
/// CloudTrail's and is read another way. Sources inside a parsed record are not records.
fn scan_trail_fast(bytes: &[u8], first: usize, source: &str) -> Option<Scanned> {
    let mut out = Scanned {
        kind: Some(InputKind::TrailFile),
        ..Scanned::default()
    };
    let mut parsed_until = first;
    let mut keys = SOURCE_KEYS.iter(bytes, first).peekable();
    while let Some(key) = keys.next() {
        if key < parsed_until {
            continue; // inside the record already parsed
        }
        out.records += 1;
        let wanted = match source_and_name(bytes, key) {
            Some((event_source, name, end)) => {
                let next = keys.peek().copied().unwrap_or(bytes.len()).max(end);
                may_keep(event_source, name, &bytes[end..next])
            }
            None => true,
        };
        if !wanted {
            continue;
        }
        let start = parsed_until + RECORD_KEY.rfind(&bytes[parsed_until..key])?;
        out.candidates += 1;
        match parse_record(&bytes[start..]) {
            Ok((record, len)) => {
                if start + len <= key {
                    return None; // the source is outside this record: not CloudTrail's layout
                }
                parsed_until = start + len;
                let text = &bytes[start..start + len];
                match classify_record(&record, text, source) {
                    Ok(Some(c)) => out.events.push(c),
                    Ok(None) => {}
                    Err(e) => out.bad_records.push(format!(
                        "event {}: {e}",
                        record
                            .text("eventID")
                            .as_deref()
                            .unwrap_or("without eventID")
                    )),
                }
            }
            Err(e) if e.is_eof() => {
                out.bad_records
                    .push(format!("record at byte {start} is cut off"));
                break;
            }
            Err(e) => {
                out.bad_records.push(format!("record at byte {start}: {e}"));
                parsed_until = key + 1;
            }
        }
    }
    if !ends_records_array(bytes) {
        out.warning = Some(format!(
            "truncated JSON: the file ends inside the Records array ({} record(s) begun before the cut)",
            out.records
        ));
    }
    Some(out)
}

fn skip_ws_rev(b: &[u8]) -> &[u8] {
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &b[..end]
}

/// True when the document ends `]` `}` (whitespace allowed between).
fn ends_records_array(tail: &[u8]) -> bool {
    let t = skip_ws_rev(tail);
    t.strip_suffix(b"}")
        .map(skip_ws_rev)
        .is_some_and(|t| t.ends_with(b"]"))
}

fn push_classified(out: &mut Scanned, record: &Value, source: &str) {
    match classify(record, source) {
        Ok(Some(c)) => out.events.push(c),
        Ok(None) => {}
        Err(e) => out.bad_records.push(format!(
            "event {}: {e}",
            record
                .get("eventID")
                .and_then(Value::as_str)
                .unwrap_or("without eventID")
        )),
    }
}

/// One JSON value per line. `None` when the first line is not a complete JSON object on its own.
fn scan_json_lines(body: &[u8], source: &str) -> Option<Scanned> {
    let first_end = memchr::memchr(b'\n', body)?;
    let first: Value = serde_json::from_slice(&body[..first_end]).ok()?;
    if !first.is_object() {
        return None;
    }
    let mut out = Scanned {
        kind: Some(InputKind::JsonLines),
        ..Scanned::default()
    };
    for (n, line) in body.split(|&c| c == b'\n').enumerate() {
        let line = skip_ws(line);
        if line.is_empty() {
            continue;
        }
        out.records += 1;
        if !may_match(line) {
            continue;
        }
        out.candidates += 1;
        match serde_json::from_slice::<Value>(line) {
            Ok(v) => {
                let mut inner = Scanned::default();
                if dispatch(v, source, &mut inner).is_err() {
                    out.bad_records
                        .push(format!("line {}: not a CloudTrail record", n + 1));
                }
                out.events.append(&mut inner.events);
                out.bad_records.append(&mut inner.bad_records);
            }
            Err(e) => out.bad_records.push(format!("line {}: {e}", n + 1)),
        }
    }
    Some(out)
}

/// A `{"Records":[...]}` document whose records are not laid out as CloudTrail writes them
/// (keys in another order, e.g. re-written by a tool that sorts them): the records are read in
/// place, each kept as its raw text, and only those the prefilter picks are parsed, as in the
/// fast path. A full parse into a JSON tree cost ~10x as much (100k exec records: 2.4 CPU-s).
/// `None` when the document is not such a file or does not parse whole (then it is parsed
/// whole, which names the problem).
fn scan_records_in_place(body: &[u8], source: &str) -> Option<Scanned> {
    #[derive(serde::Deserialize)]
    struct Doc<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<&'a serde_json::value::RawValue>,
    }
    let rest = eat(body, b"{")?;
    eat(rest, b"\"Records\"")?;
    let doc: Doc = serde_json::from_slice(body).ok()?;
    let mut out = Scanned {
        kind: Some(InputKind::TrailFile),
        ..Scanned::default()
    };
    for raw in doc.records {
        let text = raw.get();
        if !text.starts_with('{') || !may_match(text.as_bytes()) {
            out.records += 1;
            if !text.starts_with('{') {
                out.bad_records
                    .push("array element that is not a CloudTrail record".into());
            }
            continue;
        }
        let obj = Obj::parse_str(text).unwrap_or_default();
        if obj.has("eventName") && (obj.has("eventTime") || obj.has("eventSource")) {
            out.records += 1;
            out.candidates += 1;
            match classify_record(&obj, text.as_bytes(), source) {
                Ok(Some(c)) => out.events.push(c),
                Ok(None) => {}
                Err(e) => out.bad_records.push(format!(
                    "event {}: {e}",
                    obj.text("eventID").as_deref().unwrap_or("without eventID")
                )),
            }
        } else {
            // An envelope or something else: the general walk says what it is.
            match serde_json::from_str::<Value>(text) {
                Ok(v) => record(v, source, &mut out),
                Err(_) => out.records += 1,
            }
        }
    }
    Some(out)
}

/// Parses the whole document and walks whatever shape it has.
fn scan_whole(body: &[u8], source: &str) -> Result<Scanned, ScanError> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| {
        if e.is_eof() {
            ScanError::Truncated(e.to_string())
        } else {
            ScanError::InvalidJson(e.to_string())
        }
    })?;
    let mut out = Scanned::default();
    let kind = dispatch(doc, source, &mut out)?;
    out.kind = Some(kind);
    Ok(out)
}

fn is_record(o: &Map<String, Value>) -> bool {
    o.contains_key("eventName") && (o.contains_key("eventTime") || o.contains_key("eventSource"))
}

/// Recognises one JSON value's shape and classifies the records in it.
fn dispatch(doc: Value, source: &str, out: &mut Scanned) -> Result<InputKind, ScanError> {
    let Value::Object(mut o) = doc else {
        let Value::Array(items) = doc else {
            return Err(ScanError::NotCloudTrail("a bare JSON value".into()));
        };
        let mut any = items.is_empty();
        for item in items {
            if dispatch(item, source, out).is_ok() {
                any = true;
            } else {
                out.records += 1;
                out.bad_records
                    .push("array element that is not a CloudTrail record".into());
            }
        }
        return if any {
            Ok(InputKind::RecordArray)
        } else {
            Err(ScanError::NotCloudTrail("an array of non-records".into()))
        };
    };
    if let Some(Value::Array(records)) = o.remove("Records") {
        for r in records {
            record(r, source, out);
        }
        return Ok(InputKind::TrailFile);
    }
    if let Some(Value::Array(events)) = o.get("Events") {
        for e in events {
            lookup_event(e, source, out);
        }
        return Ok(InputKind::LookupEvents);
    }
    if let Some(Value::Array(rows)) = o.get("QueryResultRows") {
        for row in rows {
            out.records += 1;
            match lake_row(row) {
                Some(r) => {
                    out.candidates += 1;
                    push_classified(out, &r, source);
                }
                None => out.bad_records.push("Lake row without eventTime".into()),
            }
        }
        return Ok(InputKind::LakeRows);
    }
    if o.contains_key("detail-type") {
        if let Some(detail) = o.remove("detail") {
            record(detail, source, out);
            return Ok(InputKind::EventBridge);
        }
    }
    if o.contains_key("CloudTrailEvent") {
        lookup_event(&Value::Object(o), source, out);
        return Ok(InputKind::LookupEvents);
    }
    if o.contains_key("sessionData") && o.contains_key("sessionId") {
        return Ok(InputKind::Transcript); // Session Manager JSON streaming form
    }
    if o.contains_key("digestStartTime")
        || o.contains_key("logFiles") && o.contains_key("digestS3Object")
    {
        return Ok(InputKind::Digest);
    }
    if let Some(Value::Array(events)) = o.get("events") {
        if events.iter().all(|e| e.get("message").is_some()) {
            for e in events {
                let msg = e.get("message").and_then(Value::as_str).unwrap_or("");
                out.records += 1;
                if looks_like_transcript(msg.as_bytes()) {
                    return Ok(InputKind::Transcript);
                }
                match serde_json::from_str::<Value>(msg) {
                    Ok(v) => {
                        out.records -= 1;
                        let _ = dispatch(v, source, out);
                    }
                    Err(_) => out
                        .bad_records
                        .push("log event whose message is not a CloudTrail record".into()),
                }
            }
            return Ok(InputKind::LogEvents);
        }
    }
    if is_record(&o) {
        record(Value::Object(o), source, out);
        return Ok(InputKind::SingleRecord);
    }
    let keys: Vec<&str> = o.keys().take(4).map(String::as_str).collect();
    Err(ScanError::NotCloudTrail(format!(
        "an object with keys {}",
        keys.join(", ")
    )))
}

fn record(r: Value, source: &str, out: &mut Scanned) {
    out.records += 1;
    match r {
        Value::Object(ref o) if is_record(o) => {
            out.candidates += 1;
            push_classified(out, &r, source);
        }
        Value::Object(ref o) if o.contains_key("detail-type") => {
            out.records -= 1;
            if let Some(d) = o.get("detail") {
                record(d.clone(), source, out);
            }
        }
        _ => out
            .bad_records
            .push("record that is not a CloudTrail event".into()),
    }
}

fn lookup_event(e: &Value, source: &str, out: &mut Scanned) {
    out.records += 1;
    let Some(text) = e.get("CloudTrailEvent").and_then(Value::as_str) else {
        out.bad_records
            .push("LookupEvents entry without CloudTrailEvent".into());
        return;
    };
    if !may_match(text.as_bytes()) {
        return;
    }
    out.candidates += 1;
    match serde_json::from_str::<Value>(text) {
        Ok(r) => push_classified(out, &r, source),
        Err(err) => out.bad_records.push(format!(
            "LookupEvents entry {}: CloudTrailEvent is not JSON: {err}",
            e.get("EventId").and_then(Value::as_str).unwrap_or("?")
        )),
    }
}

/// Rebuilds a record from one Lake result row (a list of single-key maps, values as strings,
/// nested objects as JSON text). Column names are matched case-insensitively, with or without
/// their `userIdentity.`/`requestParameters.` prefixes.
fn lake_row(row: &Value) -> Option<Value> {
    let mut rec = Map::new();
    let mut ui = Map::new();
    let mut issuer = Map::new();
    let mut req = Map::new();
    let mut resp = Map::new();
    let parse_map = |v: &Value| -> Map<String, Value> {
        let m = match v {
            Value::String(t) => serde_json::from_str::<Value>(t).ok(),
            other => Some(other.clone()),
        };
        m.and_then(|m| m.as_object().cloned())
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(t) if t.starts_with('{') || t.starts_with('[') => {
                    (k, serde_json::from_str(&t).unwrap_or(Value::String(t)))
                }
                Value::String(t) if t == "true" || t == "false" => (k, Value::Bool(t == "true")),
                other => (k, other),
            })
            .collect()
    };
    for cell in row.as_array()? {
        let Some((k, v)) = cell.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        if v.is_null() {
            continue;
        }
        let key = k.to_ascii_lowercase();
        let key = key.rsplit('.').next().unwrap_or(&key).to_owned();
        let top = |name: &str| (name.to_owned(), v.clone());
        let (map, (name, value)) = match key.as_str() {
            "eventtime" => (&mut rec, top("eventTime")),
            "eventid" => (&mut rec, top("eventID")),
            "eventname" => (&mut rec, top("eventName")),
            "eventsource" => (&mut rec, top("eventSource")),
            "awsregion" => (&mut rec, top("awsRegion")),
            "sourceipaddress" => (&mut rec, top("sourceIPAddress")),
            "useragent" => (&mut rec, top("userAgent")),
            "errorcode" => (&mut rec, top("errorCode")),
            "errormessage" => (&mut rec, top("errorMessage")),
            "recipientaccountid" => (&mut rec, top("recipientAccountId")),
            "eventversion" => (&mut rec, top("eventVersion")),
            "arn" if k.to_ascii_lowercase().contains("sessionissuer") => (&mut issuer, top("arn")),
            "arn" => (&mut ui, top("arn")),
            "type" => (&mut ui, top("type")),
            "principalid" => (&mut ui, top("principalId")),
            "accountid" => (&mut ui, top("accountId")),
            "username" => (&mut ui, top("userName")),
            "requestparameters" => {
                req.extend(parse_map(v));
                continue;
            }
            "responseelements" => {
                resp.extend(parse_map(v));
                continue;
            }
            "cluster" | "task" | "container" | "command" => (&mut req, top(&key)),
            "interactive" => (
                &mut req,
                (
                    "interactive".to_owned(),
                    Value::Bool(v.as_str() == Some("true") || v == &Value::Bool(true)),
                ),
            ),
            "clusterarn" => (&mut resp, top("clusterArn")),
            "taskarn" => (&mut resp, top("taskArn")),
            "containername" => (&mut resp, top("containerName")),
            "sessionid" => {
                resp.insert("session".into(), serde_json::json!({ "sessionId": v }));
                continue;
            }
            _ => continue,
        };
        map.insert(name, value);
    }
    rec.get("eventTime")?;
    if !rec.contains_key("eventName")
        && (resp.contains_key("session") || req.contains_key("command"))
    {
        rec.insert("eventName".into(), "ExecuteCommand".into());
    }
    if !rec.contains_key("eventSource")
        && rec.get("eventName").and_then(Value::as_str) == Some("ExecuteCommand")
    {
        rec.insert("eventSource".into(), "ecs.amazonaws.com".into());
    }
    if !ui.contains_key("type") {
        let kind = match ui.get("arn").and_then(Value::as_str) {
            Some(a) if a.contains(":assumed-role/") => Some("AssumedRole"),
            Some(a) if a.contains(":user/") => Some("IAMUser"),
            Some(a) if a.ends_with(":root") => Some("Root"),
            _ => None,
        };
        if let Some(kind) = kind {
            ui.insert("type".into(), kind.into());
        }
    }
    if !issuer.is_empty() {
        ui.insert(
            "sessionContext".into(),
            serde_json::json!({ "sessionIssuer": issuer }),
        );
    }
    rec.insert("userIdentity".into(), Value::Object(ui));
    if !req.is_empty() {
        rec.insert("requestParameters".into(), Value::Object(req));
    }
    if !resp.is_empty() {
        rec.insert("responseElements".into(), Value::Object(resp));
    }
    Some(Value::Object(rec))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec_record(id: &str, session: &str) -> String {
        format!(
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","userName":"bob"}},"eventTime":"2024-05-14T09:12:31Z","eventSource":"ecs.amazonaws.com","eventName":"ExecuteCommand","awsRegion":"us-east-1","requestParameters":{{"cluster":"c","task":"t","command":"/bin/sh","interactive":true}},"responseElements":{{"session":{{"sessionId":"{session}"}}}},"eventID":"{id}"}}"#
        )
    }

    fn noise(id: &str) -> String {
        format!(
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","userName":"x"}},"eventTime":"2024-05-14T09:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","requestParameters":{{"note":"{{\"a\":\"}}\"}}"}},"eventID":"{id}"}}"#
        )
    }

    fn sessions(s: &Scanned) -> Vec<String> {
        s.events
            .iter()
            .filter_map(|e| match e {
                Classified::Exec(e) => e.session_id.clone(),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn trail_fast_path_finds_exec_records_among_noise() {
        let doc = format!(
            r#"{{"Records":[{},{},{},{}]}}"#,
            noise("n1"),
            exec_record("e1", "ecs-execute-command-aaa"),
            noise("n2"),
            exec_record("e2", "ecs-execute-command-bbb")
        );
        let s = scan(doc.as_bytes(), "f").unwrap();
        assert_eq!(s.kind, Some(InputKind::TrailFile));
        assert_eq!(s.records, 4);
        assert_eq!(s.candidates, 2);
        assert_eq!(
            sessions(&s),
            ["ecs-execute-command-aaa", "ecs-execute-command-bbb"]
        );
        assert!(s.warning.is_none() && s.bad_records.is_empty());
    }

    #[test]
    fn truncated_trail_keeps_the_complete_records_and_warns() {
        let doc = format!(
            r#"{{"Records":[{},{}"#,
            exec_record("e1", "ecs-execute-command-aaa"),
            exec_record("e2", "ecs-execute-command-bbb")
        );
        let cut = &doc[..doc.len() - 40];
        let s = scan(cut.as_bytes(), "f").unwrap();
        assert_eq!(sessions(&s), ["ecs-execute-command-aaa"]);
        assert_eq!(s.bad_records.len(), 1, "{:?}", s.bad_records);
        assert!(s.warning.unwrap().contains("truncated"));
    }

    #[test]
    fn mention_in_a_policy_is_not_a_candidate_nor_an_event() {
        // The needles would have parsed it; its source and name say it cannot be kept.
        let rec = r#"{"eventVersion":"1.09","eventTime":"2024-05-14T09:00:00Z","eventSource":"iam.amazonaws.com","eventName":"PutRolePolicy","requestParameters":{"policyDocument":"{\"Action\":\"ecs:ExecuteCommand\"}"},"eventID":"p"}"#;
        let doc = format!(r#"{{"Records":[{rec}]}}"#);
        let s = scan(doc.as_bytes(), "f").unwrap();
        assert_eq!((s.records, s.candidates, s.events.len()), (1, 0, 0));
        assert!(
            may_match(doc.as_bytes()),
            "the needles' path still parses it"
        );
    }

    fn event_ids(s: &Scanned) -> Vec<String> {
        s.events
            .iter()
            .filter_map(|e| match e {
                Classified::Exec(e) => e.event_id.clone(),
                Classified::Control(e) => e.event_id.clone(),
            })
            .collect()
    }

    /// Records laid out otherwise than CloudTrail writes them, after a first record that is:
    /// whitespace around colons and commas (Python's `json.dumps`), a record with no source,
    /// a source inside the request, a source written with an escape, a KMS call whose session
    /// key sits after a nested `"eventSource"`. Every kept record is found, once.
    #[test]
    fn the_fast_path_finds_records_in_any_layout_after_a_cloudtrail_one() {
        let spaced = exec_record("e2", "ecs-execute-command-bbb")
            .replace("\":\"", "\": \"")
            .replace("\",\"", "\", \"");
        assert!(
            spaced.contains(r#""eventSource": "ecs.amazonaws.com", "eventName": "ExecuteCommand""#)
        );
        let sourceless = r#"{"eventVersion":"1.09","eventTime":"2024-05-14T09:00:00Z","eventName":"ExecuteCommand","eventID":"n0"}"#;
        let nested = r#"{"eventVersion":"1.09","eventTime":"2024-05-14T09:00:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","requestParameters":{"bucketName":"b","x":{"eventSource":"ecs.amazonaws.com","eventName":"ExecuteCommand"}},"eventID":"t1"}"#;
        let escaped = exec_record("e3", "ecs-execute-command-ccc")
            .replace("ecs.amazonaws.com", "ecs\\u002eamazonaws.com");
        let kms = r#"{"eventVersion":"1.09","eventTime":"2024-05-14T09:00:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","requestParameters":{"encryptionContext":{"eventSource":"x","aws:ssm:SessionId":"ecs-execute-command-ddd"}},"eventID":"k1"}"#;
        let doc = format!(
            r#"{{"Records":[{},{spaced},{sourceless},{nested},{},{escaped},{kms},{}]}}"#,
            exec_record("e1", "ecs-execute-command-aaa"),
            noise("n1"),
            noise("n2"),
        );
        let first = trail_records_start(doc.as_bytes()).unwrap();
        let fast = scan_trail_fast(doc.as_bytes(), first, "f").expect("read on the fast path");
        let whole = scan_whole(doc.as_bytes(), "f").unwrap();
        assert_eq!(event_ids(&fast), ["e1", "e2", "t1", "e3", "k1"]);
        assert_eq!(
            event_ids(&scan(doc.as_bytes(), "f").unwrap()),
            event_ids(&fast)
        );
        assert_eq!(event_ids(&fast), event_ids(&whole));
        assert!(fast.bad_records.is_empty(), "{:?}", fast.bad_records);
    }

    /// The key search led by two chosen bytes finds what memchr's own finds: keys at the
    /// start, the end, side by side, in haystacks shorter than its vectors, near look-alikes.
    #[test]
    fn source_keys_are_all_found() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let pieces: [&[u8]; 6] = [
            SOURCE,
            b"\"eventSourceArn\"",
            b"\"evetSource\"",
            b"vS",
            b"x",
            b"\"eventSource",
        ];
        for len in [0usize, 1, 3, 8, 20, 40, 200, 3000] {
            for _ in 0..50 {
                let mut hay = Vec::new();
                while hay.len() < len {
                    hay.extend_from_slice(pieces[next() as usize % pieces.len()]);
                }
                for from in [0, 1, hay.len() / 2] {
                    let from = from.min(hay.len());
                    let got: Vec<usize> = SOURCE_KEYS.iter(&hay, from).collect();
                    let want: Vec<usize> = memmem::find_iter(&hay[from..], SOURCE)
                        .map(|k| from + k)
                        .collect();
                    assert_eq!(got, want, "{}", String::from_utf8_lossy(&hay));
                }
            }
        }
    }

    /// Every file of the examples, the real logs, the sample week and an organisation's
    /// everyday trail of `records` records (its near misses too), decompressed, digests left
    /// out: the corpora the prefilters are checked over.
    fn corpus(records: u64) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let realistic = tempfile::tempdir().unwrap();
        crate::sample::generate_profile(
            realistic.path(),
            records,
            3,
            false,
            crate::sample::Profile::Realistic,
        )
        .unwrap();
        let mut files = Vec::new();
        for dir in [
            root.join("tests/data/examples"),
            root.join("tests/data/realdata"),
            root.join("sample-data"),
            realistic.path().to_path_buf(),
        ] {
            for entry in walkdir::WalkDir::new(dir)
                .into_iter()
                .filter_map(Result::ok)
            {
                let p = entry.path();
                if !entry.file_type().is_file() || p.to_string_lossy().contains("Digest") {
                    continue;
                }
                let mut bytes = std::fs::read(p).unwrap();
                if crate::ingest::gzip::is_gzip(&bytes) {
                    let mut out = Vec::new();
                    let n = crate::ingest::gzip::Inflater::default()
                        .inflate(&bytes, &mut out, usize::MAX)
                        .unwrap();
                    out.truncate(n.len);
                    bytes = out;
                }
                files.push((p.to_path_buf(), bytes));
            }
        }
        files
    }

    /// Over the examples, the real logs, the sample week and an organisation's everyday trail,
    /// the fast path keeps exactly what parsing every record keeps.
    #[test]
    fn the_fast_path_keeps_what_a_full_parse_keeps() {
        let (mut files, mut kept) = (0, 0);
        for (p, bytes) in corpus(20_000) {
            let Some(first) = trail_records_start(&bytes) else {
                continue;
            };
            let fast = scan_trail_fast(&bytes, first, "f").expect("CloudTrail's layout");
            let whole = scan_whole(&bytes, "f").unwrap();
            assert_eq!(event_ids(&fast), event_ids(&whole), "{}", p.display());
            assert_eq!(fast.records, whole.records, "{}", p.display());
            files += 1;
            kept += fast.events.len();
        }
        assert!(files > 20 && kept > 100, "{files} files, {kept} events");
    }

    #[test]
    fn other_key_orders_fall_back_to_a_full_parse() {
        let rec = r#"{"eventTime":"2024-05-14T09:12:31Z","eventSource":"ecs.amazonaws.com","eventName":"ExecuteCommand","eventVersion":"1.08","responseElements":{"session":{"sessionId":"ecs-execute-command-ccc"}},"eventID":"x"}"#;
        let doc = format!(r#"{{"Records":[{rec}]}}"#);
        let s = scan(doc.as_bytes(), "f").unwrap();
        assert_eq!(sessions(&s), ["ecs-execute-command-ccc"]);
    }

    #[test]
    fn records_in_another_key_order_are_read_in_place_with_the_same_result() {
        // The same records, their keys sorted (as a tool that re-writes JSON leaves them).
        let sorted = |rec: String| {
            let v: Value = serde_json::from_str(&rec).unwrap();
            v.to_string()
        };
        let records = [
            noise("n1"),
            exec_record("e1", "ecs-execute-command-aaa"),
            noise("n2"),
            exec_record("e2", "ecs-execute-command-bbb"),
        ];
        let cloudtrail = format!(r#"{{"Records":[{}]}}"#, records.join(","));
        let resorted = format!(r#"{{"Records":[{}]}}"#, records.map(sorted).join(",\n"));
        assert!(trail_records_start(resorted.as_bytes()).is_none());
        let a = scan(cloudtrail.as_bytes(), "f").unwrap();
        let b = scan_records_in_place(resorted.as_bytes(), "f").expect("read in place");
        assert_eq!(b.kind, Some(InputKind::TrailFile));
        assert_eq!((b.records, b.candidates), (4, 2));
        assert_eq!(sessions(&b), sessions(&a));
        let ids = |s: &Scanned| -> Vec<String> {
            s.events
                .iter()
                .filter_map(|e| match e {
                    Classified::Exec(e) => e.event_id.clone(),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(ids(&b), ["e1", "e2"]);
        assert_eq!(ids(&scan(resorted.as_bytes(), "f").unwrap()), ["e1", "e2"]);
        assert!(b.bad_records.is_empty() && b.warning.is_none());
        // A cut-off file of that layout is not read in place: the whole parse names the cut.
        let cut = &resorted[..resorted.len() - 30];
        assert!(scan_records_in_place(cut.as_bytes(), "f").is_none());
        assert!(matches!(
            scan(cut.as_bytes(), "f"),
            Err(ScanError::Truncated(_))
        ));
    }

    #[test]
    fn json_lines_and_arrays_and_envelopes() {
        let lines = format!(
            "{}\n{}\n\n{}\n",
            noise("n"),
            exec_record("a", "ecs-execute-command-l1"),
            exec_record("b", "ecs-execute-command-l2")
        );
        let s = scan(lines.as_bytes(), "f").unwrap();
        assert_eq!(s.kind, Some(InputKind::JsonLines));
        assert_eq!((s.records, s.candidates), (3, 2));
        assert_eq!(sessions(&s).len(), 2);

        let arr = format!(
            "[\n{},\n{}\n]",
            noise("n"),
            exec_record("a", "ecs-execute-command-arr")
        );
        let s = scan(arr.as_bytes(), "f").unwrap();
        assert_eq!(s.kind, Some(InputKind::RecordArray));
        assert_eq!(sessions(&s), ["ecs-execute-command-arr"]);

        let eb = format!(
            r#"{{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.ecs","detail":{}}}"#,
            exec_record("a", "ecs-execute-command-eb")
        );
        let s = scan(eb.as_bytes(), "f").unwrap();
        assert_eq!(s.kind, Some(InputKind::EventBridge));
        assert_eq!(sessions(&s), ["ecs-execute-command-eb"]);
    }

    #[test]
    fn bad_inputs_are_named_errors() {
        assert_eq!(scan(b"  \n", "f").unwrap_err(), ScanError::Empty);
        assert!(matches!(
            scan(b"\x00\x01garbage", "f"),
            Err(ScanError::NotJson(_))
        ));
        assert!(matches!(
            scan(br#"[{"eventName":"#, "f"),
            Err(ScanError::Truncated(_))
        ));
        assert!(matches!(
            scan(br#"{"a":1,}"#, "f"),
            Err(ScanError::InvalidJson(_))
        ));
        assert!(matches!(
            scan(br#"{"name":"package","version":"1"}"#, "f"),
            Err(ScanError::NotCloudTrail(_))
        ));
    }

    /// Every record `classify` keeps contains a prefilter needle, and its source and name pass
    /// [`may_keep`], so neither prefilter can skip one: checked over the examples, the real
    /// logs, the sample week and a realistic organisation trail.
    #[test]
    fn every_kept_record_passes_the_prefilter() {
        let mut kept = 0;
        for (p, bytes) in corpus(5000) {
            let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            let records: Vec<Value> = match doc {
                Value::Array(a) => a,
                Value::Object(mut o) => match o.remove("Records") {
                    Some(Value::Array(a)) => a,
                    _ => vec![o.remove("detail").unwrap_or(Value::Object(o))],
                },
                _ => continue,
            };
            for r in records {
                if let Ok(Some(_)) = classify(&r, "t") {
                    kept += 1;
                    let text = r.to_string();
                    assert!(may_match(text.as_bytes()), "{}: {r}", p.display());
                    let field = |k: &str| r[k].as_str().unwrap_or("").as_bytes().to_vec();
                    assert!(
                        may_keep(&field("eventSource"), &field("eventName"), text.as_bytes()),
                        "{}: {r}",
                        p.display()
                    );
                }
            }
        }
        assert!(kept > 120, "{kept}");
    }

    #[test]
    fn transcripts_are_recognised_not_parsed() {
        let s = scan(
            b"Script started on 2024-05-14 09:31:07+00:00 [COMMAND=\"cat x\"]\n$ id\r\r\n",
            "f",
        )
        .unwrap();
        assert_eq!(s.kind, Some(InputKind::Transcript));
    }
}
