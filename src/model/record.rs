//! A CloudTrail record read in place: the typed, borrowing view [`super::normalize`] classifies.
//!
//! A candidate record is parsed one object level at a time: [`Obj`] holds each key of a level
//! with its value as raw JSON text (`RawValue`, a slice of the input), and a nested level is
//! parsed only when a field in it is asked for. Strings come back borrowed from the input
//! unless they hold escapes. A 4 KiB bucket policy in `requestParameters` is thus skipped over,
//! never built into a tree, when only the bucket's name is needed.
//!
//! Field reads follow `serde_json::Value`'s semantics exactly, so classification is the same
//! whatever path a record took: a missing, null or wrongly typed field reads as absent (never an
//! error), and of repeated keys the last one wins.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// A map key or string value, borrowed from the input when it holds no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Str<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// One JSON value's scalar reading: a string, a boolean, or something else (null, a number, an
/// array, an object), consumed without building anything.
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Bool(bool),
    Other,
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

fn scalar(raw: &RawValue) -> Scalar<'_> {
    serde_json::from_str(raw.get()).unwrap_or(Scalar::Other)
}

/// One JSON object level: its keys, in order, each with its value as raw JSON text. Anything
/// that is not an object reads as an empty level (as `Value::get` finds nothing in it).
#[derive(Debug, Default, Clone)]
pub struct Obj<'a> {
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'de> Deserialize<'de> for Obj<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Obj<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(24));
                while let Some(Str(k)) = map.next_key::<Str>()? {
                    fields.push((k, map.next_value::<&RawValue>()?));
                }
                Ok(Obj { fields })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Obj::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Obj::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Obj::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Obj::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Obj::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Obj::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Obj::default())
            }
        }
        d.deserialize_any(V)
    }
}

impl<'a> Obj<'a> {
    /// Parses JSON text (one value, nothing after it but whitespace).
    pub fn parse_str(text: &'a str) -> Result<Obj<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The level a raw value holds (empty when it is not an object).
    pub fn of(raw: Option<&'a RawValue>) -> Obj<'a> {
        match raw {
            Some(r) if r.get().starts_with('{') => Obj::parse_str(r.get()).unwrap_or_default(),
            _ => Obj::default(),
        }
    }

    /// Whether the object has no keys (or was not an object).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value under `key`, null included (`Value::get`); the last of repeated keys wins.
    pub fn raw(&self, key: &str) -> Option<&'a RawValue> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
    }

    /// Whether `key` is present, even as null.
    pub fn has(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }

    /// The value under `key` unless null.
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.raw(key).filter(|v| v.get() != "null")
    }

    /// The object under `key` (empty when absent or not an object).
    pub fn obj(&self, key: &str) -> Obj<'a> {
        Obj::of(self.raw(key))
    }

    /// The value at a path of keys unless null, as `normalize`'s `get` on a `Value`.
    pub fn path(&self, keys: &[&str]) -> Option<&'a RawValue> {
        let (last, init) = keys.split_last()?;
        let mut level = self.clone();
        for k in init {
            level = level.obj(k);
        }
        level.get(last)
    }

    /// The string under `key`; `None` when absent or not a string.
    pub fn text(&self, key: &str) -> Option<Cow<'a, str>> {
        match scalar(self.get(key)?) {
            Scalar::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The string at a path of keys.
    pub fn text_at(&self, keys: &[&str]) -> Option<Cow<'a, str>> {
        match scalar(self.path(keys)?) {
            Scalar::Text(t) => Some(t),
            _ => None,
        }
    }

    /// A boolean as logged: a JSON boolean, or `"true"`/`"false"` in any case (Lake rows,
    /// `mfaAuthenticated`).
    pub fn flag(&self, key: &str) -> Option<bool> {
        flag(self.get(key)?)
    }

    /// The elements of the array under `key` (empty when absent or not an array).
    pub fn array(&self, key: &str) -> Vec<&'a RawValue> {
        match self.get(key) {
            Some(r) if r.get().starts_with('[') => {
                serde_json::from_str::<Vec<&RawValue>>(r.get()).unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    /// The keys and raw values, in order.
    pub fn fields(&self) -> &[(Cow<'a, str>, &'a RawValue)] {
        &self.fields
    }
}

/// A boolean as logged (see [`Obj::flag`]).
pub fn flag(raw: &RawValue) -> Option<bool> {
    match scalar(raw) {
        Scalar::Bool(b) => Some(b),
        Scalar::Text(t) if t.eq_ignore_ascii_case("true") => Some(true),
        Scalar::Text(t) if t.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The string a raw value holds, if it is one.
pub fn text(raw: &RawValue) -> Option<Cow<'_, str>> {
    match scalar(raw) {
        Scalar::Text(t) => Some(t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn reads_like_value_does() {
        let text = r#"{"a":"x\"y","b":null,"c":{"d":{"e":"deep"}},"f":3,"g":"TRUE","a2":"plain","h":[1,{"x":2}],"a":"last"}"#;
        let o = Obj::parse_str(text).unwrap();
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(o.text("a").as_deref(), v["a"].as_str());
        assert!(matches!(o.text("a2"), Some(Cow::Borrowed("plain"))));
        assert!(o.has("b") && v.get("b").is_some());
        assert!(o.get("b").is_none());
        assert_eq!(o.text_at(&["c", "d", "e"]).as_deref(), Some("deep"));
        assert!(o.path(&["c", "x", "e"]).is_none());
        assert_eq!(o.text("f"), None);
        assert_eq!(o.flag("g"), Some(true));
        assert_eq!(o.array("h").len(), 2);
        assert!(o.obj("f").is_empty() && o.obj("h").is_empty());
        assert!(Obj::of(None).is_empty());
        assert!(Obj::parse_str("[1,2]").unwrap().is_empty());
        assert!(Obj::parse_str("{\"a\":").is_err());
    }
}
