//! The CloudTrail scanner on anything: whole inputs of any shape, and records spliced into a
//! trail file so the fast path and `classify` see them. Must never panic, and every event kept
//! has a time and an id.
#![no_main]

use execaudit::ingest::cloudtrail::scan;
use execaudit::model::normalize::Classified;
use libfuzzer_sys::fuzz_target;

fn check(bytes: &[u8]) {
    if let Ok(s) = scan(bytes, "fuzz") {
        for e in &s.events {
            let id = match e {
                Classified::Exec(e) => &e.event_id,
                Classified::Control(c) => &c.event_id,
            };
            assert!(id.as_deref().is_some_and(|i| !i.is_empty()), "an event without an id");
        }
        assert!(s.candidates <= s.records.max(s.candidates));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => check(rest),
        // The rest of a record after CloudTrail's first key, inside a trail file.
        1 => {
            let mut doc = br#"{"Records":[{"eventVersion":"1.09","#.to_vec();
            doc.extend_from_slice(rest);
            doc.extend_from_slice(b"}]}");
            check(&doc);
        }
        // A record among others, cut anywhere.
        2 => {
            let mut doc = br#"{"Records":[{"eventVersion":"1.09","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2024-05-14T09:00:00Z","eventID":"a"},{"eventVersion":"1.09","#.to_vec();
            doc.extend_from_slice(rest);
            check(&doc);
        }
        // JSON Lines of the same.
        _ => {
            let mut doc = b"{\"eventVersion\":\"1.09\",\"eventName\":\"ExecuteCommand\"}\n".to_vec();
            doc.extend_from_slice(rest);
            check(&doc);
        }
    }
});
