use polars::prelude::*;

use super::*;
use crate::model::{Attempt, Table, Timestamp};

fn sample() -> DataFrame {
    Attempt::to_frame(&[Attempt {
        event_time: Timestamp(0),
        principal: Some("=cmd|' /C calc'!A0".into()),
        command: Some("sh -c 'echo password=hunter22, done'\x1b]0;pwned\x07".into()),
        error_code: Some("AccessDenied".into()),
        ..Default::default()
    }])
    .unwrap()
}

fn to_string(format: Format, show_secrets: bool) -> String {
    let mut out = Vec::new();
    render(
        &mut out,
        &sample(),
        Style {
            format,
            show_secrets,
        },
        &["event_time", "principal", "command"],
    )
    .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn every_format_redacts_unless_asked() {
    for f in [Format::Table, Format::Json, Format::Jsonl, Format::Csv] {
        let text = to_string(f, false);
        assert!(
            !text.contains("hunter22") && text.contains("<redacted:"),
            "{f:?}: {text}"
        );
        assert!(to_string(f, true).contains("hunter22"), "{f:?}");
    }
}

#[test]
fn no_format_carries_a_raw_escape() {
    for f in [Format::Table, Format::Json, Format::Jsonl, Format::Csv] {
        let text = to_string(f, true);
        assert!(
            !text.contains('\x1b') && !text.contains('\x07'),
            "{f:?}: {text}"
        );
    }
}

#[test]
fn csv_quotes_neutralises_and_json_uses_column_names() {
    let csv = to_string(Format::Csv, true);
    assert!(csv.starts_with("event_time,account,region,principal"));
    assert!(
        csv.contains("\"sh -c 'echo password=hunter22, done'\\x1b]0;pwned\\x07\""),
        "{csv}"
    );
    assert!(csv.contains("\"'=cmd|' /C calc'!A0\""), "{csv}");
    let json: serde_json::Value = serde_json::from_str(&to_string(Format::Json, false)).unwrap();
    assert_eq!(json[0]["error_code"], "AccessDenied");
    assert_eq!(json[0]["event_time"], "1970-01-01T00:00:00Z");
    assert_eq!(json[0]["account"], serde_json::Value::Null);
    for line in to_string(Format::Jsonl, false).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["principal"], "=cmd|' /C calc'!A0");
    }
}

#[test]
fn documents_have_sections() {
    let doc = Document {
        head: vec![("summary".into(), serde_json::json!({"n": 1}))],
        sections: vec![
            Section::new("attempts", "Failed attempts", sample(), &["principal"]),
            Section::new("empty", "Nothing", sample().head(Some(0)), &[]),
        ],
    };
    let mut out = Vec::new();
    render_document(
        &mut out,
        &doc,
        Style {
            format: Format::Json,
            show_secrets: false,
        },
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["summary"]["n"], 1);
    assert_eq!(v["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(v["empty"].as_array().unwrap().len(), 0);
    let mut out = Vec::new();
    render_document(
        &mut out,
        &doc,
        Style {
            format: Format::Jsonl,
            show_secrets: false,
        },
    )
    .unwrap();
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8(out).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(first["table"], "attempts");
}

#[test]
fn a_section_given_a_frame_at_a_time_renders_as_the_whole_does() {
    use polars::prelude::*;
    let whole = df!(
        "n" => (0..50i64).collect::<Vec<_>>(),
        "s" => (0..50).map(|i| format!("row {i}")).collect::<Vec<_>>()
    )
    .unwrap();
    let doc = |chunked: bool| {
        let sections = if chunked {
            let mut rest = vec![whole.slice(10, 25), whole.slice(35, 15)].into_iter();
            vec![Section {
                more: Some(Chunks {
                    height: 50,
                    next: std::cell::RefCell::new(Box::new(move || Ok(rest.next()))),
                }),
                ..Section::new("rows", "Rows", whole.slice(0, 10), &[])
            }]
        } else {
            vec![Section::new("rows", "Rows", whole.clone(), &[])]
        };
        Document {
            head: vec![("summary".into(), serde_json::json!({"n": 50}))],
            sections,
        }
    };
    for format in [Format::Json, Format::Jsonl, Format::Table] {
        let render = |chunked: bool| {
            let mut out = Vec::new();
            let style = Style {
                format,
                show_secrets: false,
            };
            render_document(&mut out, &doc(chunked), style).unwrap();
            String::from_utf8(out).unwrap()
        };
        let (a, b) = (render(false), render(true));
        match format {
            // Each frame is aligned on its own: the same lines, spaced as their frame needs.
            Format::Table => {
                let squash = |t: &str| -> Vec<String> {
                    t.lines()
                        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                        .collect()
                };
                assert_eq!(squash(&a), squash(&b));
                assert!(b.starts_with("== Rows (50) =="), "{b}");
            }
            _ => assert_eq!(a, b, "{format:?}"),
        }
    }
}
