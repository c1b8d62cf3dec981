//! The in-place record view against a `serde_json::Value` tree: every field read the same way
//! (strings, booleans as logged, presence, nested paths), and `classify` over the view equal
//! to `classify` over the tree.
#![no_main]

use execaudit::model::normalize::{classify, classify_record};
use execaudit::model::record::Obj;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn boolish(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(t) if t.eq_ignore_ascii_case("true") => Some(true),
        Value::String(t) if t.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn compare(obj: &Obj, v: &Value, depth: usize) {
    let Value::Object(map) = v else {
        assert!(obj.is_empty());
        return;
    };
    for (k, val) in map {
        assert!(obj.has(k), "{k} missing");
        assert_eq!(obj.get(k).is_some(), !val.is_null(), "{k}");
        assert_eq!(obj.text(k).as_deref(), val.as_str(), "{k}");
        assert_eq!(obj.flag(k), boolish(Some(val)), "{k}");
        if depth < 4 {
            compare(&obj.obj(k), val, depth + 1);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The view is as lenient as the tree or more (it does not convert numbers).
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let obj = Obj::parse_str(text).expect("a JSON value the tree reads is read by the view");
    compare(&obj, &v, 0);
    let by_tree = classify(&v, "fuzz");
    let by_view = classify_record(&obj, text.as_bytes(), "fuzz");
    assert_eq!(by_tree, by_view);
});
