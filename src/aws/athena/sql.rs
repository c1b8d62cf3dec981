//! The statements `sync --engine athena` runs, rendered from the SQL kept in `queries/athena/`.
//!
//! The templates hold the SQL; this file fills their `{{...}}` slots: the table name, the
//! partitions of the range, and the selection, which is rendered from
//! [`crate::model::normalize::SELECTION`] (the one definition the local scanner's `classify`
//! walks too), so Athena and the scanner keep the same records. Every value put into SQL is
//! checked (names) or quoted (literals) here.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::normalize::{Selector, SELECTION};

const CREATE_DATABASE: &str = include_str!("../../../queries/athena/create_database.sql");
const CREATE_TABLE: &str = include_str!("../../../queries/athena/create_table.sql");
const UPDATE_PARTITIONS: &str = include_str!("../../../queries/athena/update_partitions.sql");
const EXTRACT: &str = include_str!("../../../queries/athena/extract.sql");

/// A `database.table` name, checked to be plain identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub database: String,
    pub table: String,
}

impl TableName {
    /// Parses `db.table` (letters, digits and `_`, as Glue names are).
    pub fn parse(text: &str) -> Result<TableName, String> {
        let (db, table) = text
            .split_once('.')
            .ok_or_else(|| format!("{text:?}: expected database.table"))?;
        for part in [db, table] {
            let ok = !part.is_empty()
                && part.len() <= 255
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !ok {
                return Err(format!(
                    "{text:?}: {part:?} is not a database or table name (letters, digits, _)"
                ));
            }
        }
        Ok(TableName {
            database: db.to_ascii_lowercase(),
            table: table.to_ascii_lowercase(),
        })
    }

    /// `"db"."table"` for queries (Trino quoting).
    pub fn quoted(&self) -> String {
        format!("\"{}\".\"{}\"", self.database, self.table)
    }

    /// `` `db`.`table` `` for DDL (Hive quoting).
    pub fn ddl(&self) -> String {
        format!("`{}`.`{}`", self.database, self.table)
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.database, self.table)
    }
}

/// A SQL string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    items
        .into_iter()
        .map(|s| literal(s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A template without its leading comment lines, slots filled, ending in exactly one `;`.
fn render(template: &str, slots: &[(&str, &str)]) -> String {
    let body: Vec<&str> = template
        .lines()
        .skip_while(|l| l.trim_start().starts_with("--") || l.trim().is_empty())
        .collect();
    let mut out = body.join("\n");
    for (name, value) in slots {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    let trimmed = out.trim_end().trim_end_matches(';').trim_end();
    format!("{trimmed};")
}

/// A JSONPath to a field of `requestParameters` (bracket form: keys like `aws:ssm:SessionId`).
fn json_path(path: &[&str]) -> String {
    let mut p = String::from("$");
    for k in path {
        if k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            p.push('.');
            p.push_str(k);
        } else {
            p.push_str(&format!("[\"{k}\"]"));
        }
    }
    p
}

fn selector_sql(sel: &Selector) -> String {
    let mut parts = vec![format!("eventsource = {}", literal(sel.source))];
    if sel.names != ["*"] {
        let exact: Vec<&str> = sel
            .names
            .iter()
            .filter(|n| !n.ends_with('*'))
            .copied()
            .collect();
        let mut names = Vec::new();
        match exact.as_slice() {
            [] => {}
            [one] => names.push(format!("eventname = {}", literal(one))),
            many => names.push(format!("eventname IN ({})", list(many))),
        }
        for p in sel.names.iter().filter_map(|n| n.strip_suffix('*')) {
            names.push(format!("eventname LIKE {}", literal(&format!("{p}%"))));
        }
        parts.push(if names.len() == 1 {
            names.remove(0)
        } else {
            format!("({})", names.join(" OR "))
        });
    }
    if let Some(path) = sel.requires {
        // Present and not JSON null, alike whether the engine answers a JSON null with SQL NULL
        // or with the JSON value null.
        parts.push(format!(
            "coalesce(json_format(json_extract(requestparameters, {})), 'null') <> 'null'",
            literal(&json_path(path))
        ));
    }
    format!("({})", parts.join(" AND "))
}

/// The selection of exec and control events, as a SQL condition.
pub fn selection() -> String {
    SELECTION
        .iter()
        .map(selector_sql)
        .collect::<Vec<_>>()
        .join("\n    OR ")
}

/// The partitions to read: for each set of days, the accounts (grouped by identical region
/// sets) and regions that need them. Grouping keeps the statement short for hundreds of
/// accounts whose days are all alike.
pub fn partitions(wanted: &BTreeMap<(String, String), BTreeSet<String>>) -> String {
    // days -> account -> regions
    let mut by_days: BTreeMap<&BTreeSet<String>, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for ((account, region), days) in wanted {
        if days.is_empty() {
            continue;
        }
        by_days
            .entry(days)
            .or_default()
            .entry(account)
            .or_default()
            .insert(region);
    }
    let mut groups = Vec::new();
    for (days, accounts) in by_days {
        // regions -> accounts
        let mut by_regions: BTreeMap<&BTreeSet<&str>, Vec<&str>> = BTreeMap::new();
        for (account, regions) in &accounts {
            by_regions.entry(regions).or_default().push(account);
        }
        let pairs: Vec<String> = by_regions
            .into_iter()
            .map(|(regions, accounts)| {
                format!(
                    "account IN ({}) AND region IN ({})",
                    list(&accounts),
                    list(regions.iter())
                )
            })
            .collect();
        let pairs = if pairs.len() == 1 {
            pairs.into_iter().next().unwrap_or_default()
        } else {
            format!(
                "({})",
                pairs
                    .iter()
                    .map(|p| format!("({p})"))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            )
        };
        groups.push(format!("(day IN ({}) AND {pairs})", list(days.iter())));
    }
    if groups.is_empty() {
        "FALSE".into()
    } else {
        groups.join("\n    OR ")
    }
}

/// `CREATE DATABASE IF NOT EXISTS`.
pub fn create_database(t: &TableName) -> String {
    render(
        CREATE_DATABASE,
        &[("database", &format!("`{}`", t.database))],
    )
}

/// The projected CloudTrail table over `location` (`s3://bucket/.../AWSLogs/o-xxx/`).
pub fn create_table(
    t: &TableName,
    location: &str,
    accounts: &[String],
    regions: &[String],
) -> String {
    render(
        CREATE_TABLE,
        &[
            ("table", &t.ddl()),
            ("location", &location.replace('\'', "")),
            ("accounts", &accounts.join(",")),
            ("regions", &regions.join(",")),
        ],
    )
}

/// Refreshes the projected account and region values of an existing table.
pub fn update_partitions(t: &TableName, accounts: &[String], regions: &[String]) -> String {
    render(
        UPDATE_PARTITIONS,
        &[
            ("table", &t.ddl()),
            ("accounts", &accounts.join(",")),
            ("regions", &regions.join(",")),
        ],
    )
}

/// The extraction query over the given partitions.
pub fn extract(t: &TableName, wanted: &BTreeMap<(String, String), BTreeSet<String>>) -> String {
    render(
        EXTRACT,
        &[
            ("table", &t.quoted()),
            ("partitions", &partitions(wanted)),
            ("selection", &selection()),
        ],
    )
}

/// A statement as Athena takes it (no trailing `;`).
pub fn for_api(statement: &str) -> &str {
    statement.trim_end().trim_end_matches(';').trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(items: &[(&str, &str, &[&str])]) -> BTreeMap<(String, String), BTreeSet<String>> {
        items
            .iter()
            .map(|(a, r, d)| {
                (
                    ((*a).to_owned(), (*r).to_owned()),
                    d.iter().map(|s| (*s).to_owned()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn table_names_are_checked() {
        assert_eq!(
            TableName::parse("Audit.CloudTrail_Logs").unwrap().quoted(),
            "\"audit\".\"cloudtrail_logs\""
        );
        assert!(TableName::parse("nodot").is_err());
        assert!(TableName::parse("a.b;drop").is_err());
        assert!(TableName::parse("a\".b").is_err());
    }

    #[test]
    fn every_selector_and_name_is_in_the_selection() {
        let s = selection();
        for sel in SELECTION {
            assert!(s.contains(&format!("eventsource = '{}'", sel.source)));
            for n in sel.names.iter().filter(|n| **n != "*") {
                assert!(s.contains(&format!("'{}", n.trim_end_matches('*'))), "{n}");
            }
        }
        assert!(
            s.contains(r#"'$.encryptionContext["aws:ssm:SessionId"]'"#),
            "{s}"
        );
        assert!(
            s.contains("'$.configuration.executeCommandConfiguration'"),
            "{s}"
        );
        assert!(s.contains("eventname LIKE 'PutBucketLifecycle%'"), "{s}");
    }

    #[test]
    fn partitions_group_alike_accounts_and_days() {
        let w = wanted(&[
            ("111111111111", "us-east-1", &["2024/11/18", "2024/11/19"]),
            ("111111111111", "eu-west-1", &["2024/11/18", "2024/11/19"]),
            ("222222222222", "us-east-1", &["2024/11/18", "2024/11/19"]),
            ("222222222222", "eu-west-1", &["2024/11/18", "2024/11/19"]),
            ("333333333333", "us-east-1", &["2024/11/19"]),
            ("444444444444", "us-east-1", &[]),
        ]);
        assert_eq!(
            partitions(&w),
            "(day IN ('2024/11/18', '2024/11/19') AND account IN ('111111111111', '222222222222') AND region IN ('eu-west-1', 'us-east-1'))\n    \
             OR (day IN ('2024/11/19') AND account IN ('333333333333') AND region IN ('us-east-1'))"
        );
        assert_eq!(partitions(&wanted(&[])), "FALSE");
    }

    #[test]
    fn statements_are_filled_and_end_in_one_semicolon() {
        let t = TableName::parse("audit.trail").unwrap();
        let w = wanted(&[("111111111111", "us-east-1", &["2024/11/18"])]);
        let q = extract(&t, &w);
        assert!(q.starts_with("SELECT"), "{q}");
        assert!(q.ends_with(");") && !q.ends_with(";;"), "{q}");
        assert!(!q.contains("{{"), "{q}");
        assert!(q.contains("FROM \"audit\".\"trail\""));
        assert_eq!(for_api(&q).chars().last(), Some(')'));
        let c = create_table(
            &t,
            "s3://b/AWSLogs/o-x/",
            &["111111111111".into()],
            &["us-east-1".into()],
        );
        assert!(c.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `audit`.`trail`"));
        assert!(c.contains("'s3://b/AWSLogs/o-x/${account}/CloudTrail/${region}/${day}'"));
        assert!(c.ends_with(");"));
        assert_eq!(
            create_database(&t),
            "CREATE DATABASE IF NOT EXISTS `audit`;"
        );
    }
}
