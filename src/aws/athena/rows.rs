//! From Athena result rows back to CloudTrail records, then through the local normaliser.
//!
//! The extraction query (`queries/athena/extract.sql`) returns the record's fields as strings:
//! `requestparameters`/`responseelements` as the JSON text the CloudTrail SerDe keeps, and
//! `useridentity` as a JSON object whose keys the SerDe lower-cased. This file rebuilds the
//! record CloudTrail wrote (camel-case keys, JSON values) and hands it to
//! [`crate::model::normalize::classify`], the same code local files go through, so rows from
//! Athena and from the bucket normalise and deduplicate alike.

use serde_json::{Map, Value};

use crate::ingest::{FileReport, InputScan};
use crate::model::normalize::classify;

/// The record field each result column fills, and whether its text is JSON.
const COLUMNS: &[(&str, &str, bool)] = &[
    ("eventversion", "eventVersion", false),
    ("useridentity", "userIdentity", true),
    ("eventtime", "eventTime", false),
    ("eventsource", "eventSource", false),
    ("eventname", "eventName", false),
    ("awsregion", "awsRegion", false),
    ("sourceipaddress", "sourceIPAddress", false),
    ("useragent", "userAgent", false),
    ("errorcode", "errorCode", false),
    ("errormessage", "errorMessage", false),
    ("requestparameters", "requestParameters", true),
    ("responseelements", "responseElements", true),
    ("eventid", "eventID", false),
    ("recipientaccountid", "recipientAccountId", false),
];

/// The columns the extraction query returns, in order (the last names the log file).
pub fn result_columns() -> Vec<&'static str> {
    COLUMNS
        .iter()
        .map(|(c, _, _)| *c)
        .chain(std::iter::once("object"))
        .collect()
}

/// `userIdentity` keys as CloudTrail writes them, for the SerDe's lower-cased ones.
const IDENTITY_KEYS: &[&str] = &[
    "type",
    "principalId",
    "arn",
    "accountId",
    "invokedBy",
    "accessKeyId",
    "userName",
    "onBehalfOf",
    "userId",
    "identityStoreArn",
    "sessionContext",
    "attributes",
    "mfaAuthenticated",
    "creationDate",
    "sessionIssuer",
    "ec2RoleDelivery",
    "sourceIdentity",
    "webIdFederationData",
    "federatedProvider",
    "credentialId",
    "identityProvider",
    "inScopeOf",
];

fn camel(key: &str) -> String {
    IDENTITY_KEYS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(key))
        .map_or_else(|| key.to_owned(), |k| (*k).to_owned())
}

/// Restores CloudTrail's key case and drops the nulls a struct cast writes for absent fields.
fn restore(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (camel(&k), restore(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Where each needed column sits in a result row.
#[derive(Debug, Clone)]
pub struct Header {
    index: Vec<(usize, &'static str, bool)>,
    object: Option<usize>,
}

impl Header {
    /// Maps the header row's names; errors name the columns missing.
    pub fn new(names: &[Option<String>]) -> Result<Header, String> {
        let find = |c: &str| {
            names
                .iter()
                .position(|n| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(c)))
        };
        let mut index = Vec::new();
        let mut missing = Vec::new();
        for (col, field, json) in COLUMNS {
            match find(col) {
                Some(i) => index.push((i, *field, *json)),
                None => missing.push(*col),
            }
        }
        if !missing.is_empty() {
            return Err(format!(
                "the result has no column {} (is this execaudit's extraction query?)",
                missing.join(", ")
            ));
        }
        Ok(Header {
            index,
            object: find("object"),
        })
    }
}

/// Rebuilds one record from a result row (`None` cells are SQL NULLs).
pub fn record(header: &Header, row: &[Option<String>]) -> Value {
    let mut m = Map::new();
    for &(i, field, json) in &header.index {
        let Some(Some(text)) = row.get(i) else {
            continue;
        };
        let v = if json {
            match serde_json::from_str::<Value>(text) {
                Ok(v) if field == "userIdentity" => restore(v),
                Ok(v) => v,
                Err(_) => Value::String(text.clone()),
            }
        } else {
            Value::String(text.clone())
        };
        if !v.is_null() {
            m.insert(field.to_owned(), v);
        }
    }
    Value::Object(m)
}

/// The log file a row came from (`"$path"`), when the query returned it.
pub fn object<'r>(header: &Header, row: &'r [Option<String>]) -> Option<&'r str> {
    header
        .object
        .and_then(|i| row.get(i))
        .and_then(|c| c.as_deref())
}

/// Normalises one page of rows as one input named `source` (the query): the rows the
/// normaliser keeps, and each row it could not use, named by its log file and event id.
pub fn scan_rows(header: &Header, rows: &[Vec<Option<String>>], source: &str) -> InputScan {
    let mut scan = InputScan {
        report: FileReport {
            path: source.into(),
            ..FileReport::default()
        },
        ..InputScan::default()
    };
    for row in rows {
        scan.report.records += 1;
        scan.report.bytes += row.iter().flatten().map(|c| c.len() as u64).sum::<u64>();
        let rec = record(header, row);
        let src = object(header, row).unwrap_or(source);
        match classify(&rec, src) {
            Ok(Some(c)) => {
                match &c {
                    crate::model::normalize::Classified::Exec(_) => scan.report.exec_events += 1,
                    crate::model::normalize::Classified::Control(_) => {
                        scan.report.control_events += 1;
                    }
                }
                scan.events.push(c);
            }
            Ok(None) => scan.report.bad_records.push(format!(
                "{src}: event {} is not one execaudit keeps (the table's query and this version disagree)",
                rec.get("eventID").and_then(Value::as_str).unwrap_or("?")
            )),
            Err(e) => scan.report.bad_records.push(format!(
                "{src}: event {}: {e}",
                rec.get("eventID").and_then(Value::as_str).unwrap_or("?")
            )),
        }
    }
    scan.report.candidates = scan.report.records;
    scan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::normalize::Classified;

    fn header() -> Header {
        let names: Vec<Option<String>> = result_columns()
            .into_iter()
            .map(|c| Some(c.to_owned()))
            .collect();
        Header::new(&names).unwrap()
    }

    /// A row as Athena returns it for a record, cell by cell (lower-cased struct keys, JSON
    /// text for the string columns that hold objects, a null for every absent struct field).
    fn row(ui: &str, req: &str, resp: Option<&str>) -> Vec<Option<String>> {
        let s = |v: &str| Some(v.to_owned());
        vec![
            s("1.08"),
            s(ui),
            s("2024-11-18T10:00:00Z"),
            s("ecs.amazonaws.com"),
            s("ExecuteCommand"),
            s("eu-west-1"),
            s("198.51.100.7"),
            s("aws-cli/2.15.0"),
            None,
            None,
            s(req),
            resp.map(str::to_owned),
            s("ev-1"),
            s("111122223333"),
            s("s3://trail/AWSLogs/o-x/111122223333/CloudTrail/eu-west-1/2024/11/18/f.json.gz"),
        ]
    }

    #[test]
    fn a_row_normalises_like_the_record_it_came_from() {
        let original: Value = serde_json::json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "AssumedRole", "principalId": "AROA:alice",
                "arn": "arn:aws:sts::111122223333:assumed-role/Dev/alice", "accountId": "111122223333",
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/ops/Dev", "userName": "Dev"},
                    "attributes": {"mfaAuthenticated": "true"}, "sourceIdentity": "alice@example.com"}},
            "eventTime": "2024-11-18T10:00:00Z", "eventSource": "ecs.amazonaws.com", "eventName": "ExecuteCommand",
            "awsRegion": "eu-west-1", "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.0",
            "requestParameters": {"cluster": "prod", "container": "app", "command": "/bin/sh", "interactive": true,
                "task": "0123456789abcdef0123456789abcdef"},
            "responseElements": {"clusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/prod",
                "taskArn": "arn:aws:ecs:eu-west-1:111122223333:task/prod/0123456789abcdef0123456789abcdef",
                "containerName": "app", "session": {"sessionId": "ecs-execute-command-abc", "tokenValue": "HIDDEN_DUE_TO_SECURITY_REASONS"}},
            "eventID": "ev-1", "recipientAccountId": "111122223333"
        });
        let ui = r#"{"type":"AssumedRole","principalid":"AROA:alice","arn":"arn:aws:sts::111122223333:assumed-role/Dev/alice","accountid":"111122223333","invokedby":null,"accesskeyid":null,"username":null,"onbehalfof":null,"sessioncontext":{"attributes":{"mfaauthenticated":"true","creationdate":null},"sessionissuer":{"type":"Role","principalid":null,"arn":"arn:aws:iam::111122223333:role/ops/Dev","accountid":null,"username":"Dev"},"ec2roledelivery":null,"sourceidentity":"alice@example.com"}}"#;
        let req = original["requestParameters"].to_string();
        let resp = original["responseElements"].to_string();
        let h = header();
        let r = row(ui, &req, Some(&resp));
        let scan = scan_rows(&h, std::slice::from_ref(&r), "athena:q-1");
        assert_eq!(scan.events.len(), 1, "{:?}", scan.report.bad_records);
        let from_file = classify(&original, object(&h, &r).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(scan.events[0], from_file);
        let Classified::Exec(e) = &scan.events[0] else {
            panic!("not exec")
        };
        assert_eq!(e.principal.as_deref(), Some("alice@example.com"));
        assert_eq!(
            e.role_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/ops/Dev")
        );
    }

    #[test]
    fn a_row_the_selection_should_not_have_returned_is_named() {
        let h = header();
        let mut r = row("{}", "{}", None);
        r[4] = Some("DescribeTasks".into());
        let scan = scan_rows(&h, &[r], "athena:q-2");
        assert!(scan.events.is_empty());
        assert_eq!(scan.report.bad_records.len(), 1);
        assert!(scan.report.bad_records[0].contains("ev-1"));
    }

    #[test]
    fn a_result_without_the_needed_columns_is_refused() {
        let e = Header::new(&[Some("eventid".into())]).unwrap_err();
        assert!(e.contains("useridentity"), "{e}");
    }
}
