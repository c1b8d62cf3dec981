//! Command-line arguments (clap derive): raw values only; [`crate::config`] resolves them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Format;

const AFTER_HELP: &str = "\
Examples:
  execaudit audit sample-data/                      one shot over files, no store
  execaudit ingest s3-export/AWSLogs/ --store ./st   read trail files into the local store
  execaudit sessions --store ./st --since 7d --principal 'alice*'
  execaudit sessions --cluster payments-prod --format csv > sessions.csv
  execaudit attempts --since 2024-05-01 --until 2024-05-08
  execaudit control --kind tampering --format json
  execaudit show ecs-execute-command-0abc... --transcript
  execaudit search 'curl|wget' --regex --since 7d
  execaudit commands --cluster payments-prod --format csv
  execaudit query 'SELECT principal, count(*) AS n FROM sessions GROUP BY 1 ORDER BY n DESC'
  execaudit query queries/commands-in-a-container.sql --format csv --out typed.csv
  execaudit findings --policy queries/policy.toml --min-severity medium --fail-on high
  execaudit rules lint --rules ./my-rules
  execaudit report --week 2024-W47 --policy queries/policy.toml --format html --out week.html

Inputs are files or folders (walked recursively), plain or gzip, recognised by content:
CloudTrail S3 log files ({\"Records\":[...]}, organisation trails too), JSON arrays, JSON Lines,
LookupEvents responses, EventBridge events, CloudTrail Lake rows, CloudWatch Logs exports of a
trail; and ECS Exec session transcripts: S3 objects (<sessionId>.log), CloudWatch Logs
GetLogEvents/FilterLogEvents output, Session Manager streaming messages. CloudTrail-Digest/
folders are passed over.

Exit status:
  0  everything was read
  1  findings: some finding at or above --fail-on (findings), a rule example misbehaving (rules test)
  2  an error: bad arguments, invalid SQL or an unusable store (nothing done), or some input,
     record or store part could not be read (it is named on stderr; everything else was still
     read, stored and answered)
Output piped into a program that stops reading early (head) ends quietly with 0.";

/// Audit AWS ECS Exec: who opened a shell in which container, when, and whether it was allowed.
#[derive(Debug, Parser)]
#[command(name = "execaudit", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// One shot, no store: read the inputs and print sessions, failed attempts and exec changes.
    Audit(AuditArgs),
    /// Read inputs into the local Parquet store (idempotent: re-reading adds nothing).
    Ingest(IngestArgs),
    /// Pull from AWS into the store: trail buckets, LookupEvents, transcripts in S3 and
    /// CloudWatch Logs (incremental: a second run fetches only what is new).
    Sync(SyncArgs),
    /// List exec sessions from the store (one row per session id).
    Sessions(QueryArgs),
    /// List failed ExecuteCommand calls from the store.
    Attempts(QueryArgs),
    /// Show one session: who, when, where, the initial command, the transcript's status and the
    /// commands in order (`--transcript` adds the transcript as a person saw it).
    Show(ShowArgs),
    /// Search reconstructed commands and CloudTrail command strings (`--in-output`: output too).
    Search(SearchArgs),
    /// List every reconstructed command in order, with its session, who, when and where.
    Commands(CommandsArgs),
    /// List control-plane events from the store: exec enabled, logging changed, SSM/KMS session
    /// events, changes that can silence exec logging.
    Control(ControlArgs),
    /// List findings: risky commands typed, sessions outside the policy, changes that weaken
    /// exec logging (exit 1 when one is at or above --fail-on).
    Findings(FindingsArgs),
    /// Check rule files: `rules lint` (valid, unique ids, patterns compile), `rules test` (every
    /// rule's examples behave), `rules list`.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Run SQL (polars SQL) over the store's tables and views: exec_events, control_events,
    /// sessions, attempts, transcripts, commands, findings.
    Query(QueryCmdArgs),
    /// The weekly compliance report (Markdown, self-contained HTML or JSON): summary with
    /// week-over-week change, break-glass compliance, findings, who exec'd where, transcript
    /// coverage, exec configuration changes, failed attempts, longest sessions, top commands.
    Report(ReportArgs),
    /// Print the columns of every table (docs/schema.md is this output).
    Schema,
    /// Write a synthetic organisation trail (sample data or a benchmark corpus).
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct StoreArg {
    /// Store folder [default: $EXECAUDIT_STORE, else ~/.local/share/execaudit/store]
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print secrets found in commands as they are (default: replaced by <redacted:hash>)
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Args, Default)]
pub struct FilterArgs {
    /// Principal: user/session name, role name or ARN, or SSO permission set; exact
    /// (case-insensitive) or a glob with * and ?
    #[arg(long, value_name = "P")]
    pub principal: Option<String>,
    /// Cluster name or ARN (glob allowed)
    #[arg(long, value_name = "C")]
    pub cluster: Option<String>,
    /// Task id or ARN (glob allowed)
    #[arg(long, value_name = "T")]
    pub task: Option<String>,
    /// Container name (glob allowed)
    #[arg(long, value_name = "N")]
    pub container: Option<String>,
    /// From this time on: 2024-05-14, 2024-05-14T09:00:00Z, or 7d / 36h / 90m ago
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Before this time (same forms as --since)
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Files or folders to read
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub detect: DetectArgs,
    /// Output format (csv is not offered: the report has several tables)
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
    /// Print secrets found in commands as they are
    #[arg(long)]
    pub show_secrets: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// How input files are read.
#[derive(Debug, Args, Default)]
pub struct ReadArgs {
    /// The most one file may hold once decompressed (e.g. 64M, 1G); larger files are refused
    /// by name and the run goes on [default: 256M]
    #[arg(long, value_name = "SIZE")]
    pub max_file_bytes: Option<String>,
    /// Cap on one transcript's terminal stream (bytes; K, M, G suffixes): beyond it the start and
    /// end are read and the middle is left out, with a warning
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = parse_bytes)]
    pub max_transcript_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or folders to read
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub store: StoreArg,
    /// Do not list each skipped file and bad record, only the counts
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// A byte count: digits with an optional binary suffix (`K`, `M`, `G`, optionally followed by
/// `iB` or `B`).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = t[digits.len()..].to_ascii_uppercase();
    let shift = match unit.as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("`{s}`: unknown unit (use K, M or G)")),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{s}`: not a byte count"))?;
    n.checked_mul(1 << shift)
        .filter(|&b| b >= 1024)
        .ok_or_else(|| format!("`{s}`: out of range (at least 1K)"))
}

const SYNC_AFTER_HELP: &str = "\
Examples:
  execaudit sync --cloudtrail-bucket s3://org-trail/AWSLogs --since 7d
  execaudit sync --cloudtrail-bucket s3://org-trail --accounts 111122223333,444455556666 --regions eu-west-1
  execaudit sync --lookup --region eu-west-1 --region us-east-1
  execaudit sync --lookup --accounts 111122223333 --role-arn-template 'arn:aws:iam::{account}:role/AuditRead'
  execaudit sync --cloudtrail-bucket s3://org-trail --transcript-bucket s3://exec-logs/prod --log-group /ecs/app
  execaudit sync --cloudtrail-bucket s3://org-trail --engine athena --athena-create \
                 --output-location s3://athena-results/execaudit/ --since 30d --dry-run

Credentials come from the standard chain (environment, --profile / AWS_PROFILE, SSO, credential
process, web identity, container and instance roles). Transcripts are fetched for the sessions the
store's CloudTrail events show in the range; --sweep reads a whole prefix or log group instead.
Checkpoints under <store>/checkpoints/ make every run incremental; a run that was interrupted is
completed by the next one. The minimal IAM policy is in docs/aws.md.

Exit status:
  0  everything was read
  2  an error: bad arguments or an unusable store (nothing done), or some object, stream or
     request failed (each is named on stderr; everything else was still read and stored)";

#[derive(Debug, Args)]
#[command(after_help = SYNC_AFTER_HELP)]
pub struct SyncArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// A CloudTrail bucket (account or organisation trail): s3://bucket[/prefix] (repeatable)
    #[arg(long, value_name = "S3_URL")]
    pub cloudtrail_bucket: Vec<String>,
    /// Read CloudTrail event history (LookupEvents) for exec and control events
    #[arg(long)]
    pub lookup: bool,
    /// With --lookup: only this event name (repeatable; default: every name execaudit keeps)
    #[arg(long, value_name = "NAME", requires = "lookup")]
    pub lookup_event: Vec<String>,
    /// Session transcripts in S3: s3://bucket[/prefix] holding <sessionId>.log (repeatable)
    #[arg(long, value_name = "S3_URL")]
    pub transcript_bucket: Vec<String>,
    /// A CloudWatch Logs group with one stream per session (repeatable; in DEFAULT logging the
    /// application's own group: exec streams are picked by the session id)
    #[arg(long, value_name = "NAME")]
    pub log_group: Vec<String>,
    /// Read every transcript in the prefixes and log groups, not only the sessions CloudTrail shows
    #[arg(long)]
    pub sweep: bool,
    /// From this time on [default: 7d]: 2024-05-14, 2024-05-14T09:00:00Z, or 7d / 36h / 90m ago
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Before this time [default: now] (same forms as --since)
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Only these accounts (comma-separated); with --role-arn-template, the accounts to assume into
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// Only these regions' trail folders (comma-separated); also the API regions when --region is not given
    #[arg(long, value_name = "REGIONS", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// A profile from the shared AWS config and credentials files
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// A region to call LookupEvents and CloudWatch Logs in (repeatable) [default: the profile's]
    #[arg(long, value_name = "REGION")]
    pub region: Vec<String>,
    /// Send every request to this endpoint (e.g. http://127.0.0.1:5000, a VPC endpoint)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Assume this role in each account, e.g. 'arn:aws:iam::{account}:role/AuditRead'
    #[arg(long, value_name = "ARN")]
    pub role_arn_template: Option<String>,
    /// Objects, pages or streams fetched at once
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: usize,
    /// Where the trail bucket is scanned: `local` fetches its files and scans them here; `athena`
    /// runs SQL over it in Athena and fetches only the matching rows (see docs/aws.md)
    #[arg(long, value_enum, default_value_t = Engine::Local)]
    pub engine: Engine,
    /// With --engine athena: the CloudTrail table over --cloudtrail-bucket, partitioned by
    /// account, region and day [default with --athena-create: execaudit.cloudtrail]
    #[arg(long, value_name = "DB.TABLE")]
    pub athena_table: Option<String>,
    /// With --engine athena: create the table (partition projection over the bucket's accounts
    /// and regions) when it does not exist, and refresh its account and region lists
    #[arg(long)]
    pub athena_create: bool,
    /// With --engine athena: refuse to run when the partitions to scan hold more than this
    /// (GB of 2^30 bytes, from the S3 listing of their folders)
    #[arg(long, value_name = "GB", default_value_t = 100)]
    pub max_scan_gb: u64,
    /// With --engine athena: run even when the scan estimate is above --max-scan-gb
    #[arg(long)]
    pub allow_large_scan: bool,
    /// With --engine athena: print the scan estimate and the exact statements, run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// With --engine athena: the Athena workgroup [default: the account's primary]
    #[arg(long, value_name = "NAME")]
    pub work_group: Option<String>,
    /// With --engine athena: where Athena writes query results, s3://bucket/prefix/
    /// [default: the workgroup's]
    #[arg(long, value_name = "S3_URL")]
    pub output_location: Option<String>,
    /// With --engine athena: encryption of the query results
    #[arg(long, value_name = "OPTION", value_parser = ["SSE_S3", "SSE_KMS", "CSE_KMS"])]
    pub encryption_option: Option<String>,
    /// With --engine athena: the KMS key for SSE_KMS or CSE_KMS results (ARN or id)
    #[arg(long, value_name = "KEY", requires = "encryption_option")]
    pub kms_key: Option<String>,
    /// No progress bars, and only the counts of problems
    #[arg(long, short)]
    pub quiet: bool,
    /// Cap on one transcript's terminal stream (bytes; K, M, G suffixes): beyond it the start and
    /// end are read and the middle is left out, with a warning
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = parse_bytes)]
    pub max_transcript_bytes: u64,
}

/// Where `sync` scans a CloudTrail bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// Fetch the log files and scan them here.
    Local,
    /// Query them in place with Amazon Athena.
    Athena,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ControlArgs {
    #[command(flatten)]
    pub query: QueryArgs,
    /// Only this kind: exec_enablement, exec_logging, ssm_session, kms_session, tampering
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Session id (or a unique part of one)
    #[arg(value_name = "SESSION_ID")]
    pub session: String,
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Also print the cleaned transcript (escapes applied; secrets redacted unless --show-secrets)
    #[arg(long)]
    pub transcript: bool,
    #[command(flatten)]
    pub detect: DetectArgs,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Text to find (case-insensitive), or a regular expression with --regex
    #[arg(value_name = "PATTERN")]
    pub pattern: String,
    /// PATTERN is a regular expression (Rust regex syntax; add (?i) for case-insensitive)
    #[arg(long)]
    pub regex: bool,
    /// Also search what the commands printed
    #[arg(long)]
    pub in_output: bool,
    #[command(flatten)]
    pub query: QueryArgs,
}

#[derive(Debug, Args)]
pub struct CommandsArgs {
    /// Only this session (id or a unique part of one)
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    #[command(flatten)]
    pub query: QueryArgs,
}

#[derive(Debug, Args)]
pub struct QueryCmdArgs {
    /// The SQL, or a file holding it (e.g. queries/sessions-per-principal-per-week.sql)
    #[arg(value_name = "SQL|FILE.sql")]
    pub sql: String,
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Write the result to this file (written whole, then renamed into place)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Read only the days from this time on (whole UTC days; same forms as elsewhere)
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Read only the days before this time (the views hold the sessions started before it;
    /// the `transcripts` and `commands` tables, filed when a session ends, two days more)
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Rules and policy for the `findings` table (computed only when the SQL names it)
    #[command(flatten)]
    pub detect: DetectArgs,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder to write (created; existing files with the same names are replaced)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Background records to write, spread over the week (the scenario's exec activity is
    /// scaled with it)
    #[arg(long, default_value_t = 6000)]
    pub records: u64,
    /// Seed for the deterministic generator
    #[arg(long, default_value_t = 20241118)]
    pub seed: u64,
    /// Also write session transcripts (S3 object form) under <out>/exec-logs/
    #[arg(long)]
    pub transcripts: bool,
    /// Background: `simple` (the sample week) or `realistic` (an organisation's everyday trail:
    /// many accounts, ~355-record files, 1.4% bucket/log group/key/trail changes)
    #[arg(long, value_enum, default_value_t = crate::sample::Profile::Simple)]
    pub profile: crate::sample::Profile,
    /// Instead, a large benchmark corpus: this many sessions over one week, each an
    /// ExecuteCommand in the trail and a transcript under <out>/exec-logs/
    #[arg(long, value_name = "N")]
    pub sessions: Option<u64>,
    /// Commands per session in the benchmark corpus (about; with --sessions)
    #[arg(long, default_value_t = 50, requires = "sessions")]
    pub commands_per_session: u64,
}

#[derive(Debug, Args, Default)]
pub struct DetectArgs {
    /// Break-glass policy (TOML; queries/policy.toml is a commented example)
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Folder of extra rule files, added to the shipped ones (repeatable)
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Load the valid rule files and warn about the bad ones instead of stopping
    #[arg(long)]
    pub skip_bad_rules: bool,
}

#[derive(Debug, Args)]
pub struct FindingsArgs {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[command(flatten)]
    pub detect: DetectArgs,
    /// Only findings at or above this severity
    #[arg(long, value_enum, value_name = "S", default_value_t = crate::detect::Severity::Info)]
    pub min_severity: crate::detect::Severity,
    /// Exit with status 1 when a finding printed is at or above this severity
    #[arg(long, value_enum, value_name = "S")]
    pub fail_on: Option<crate::detect::Severity>,
    /// Only these rule or check ids (glob allowed)
    #[arg(long, value_name = "ID")]
    pub rule: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = FindingsFormat::Table)]
    pub format: FindingsFormat,
    /// Print secrets found in evidence and commands as they are
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FindingsFormat {
    Table,
    Json,
    Jsonl,
    Csv,
    /// SARIF 2.1.0, for code-scanning dashboards and CI
    Sarif,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Check every rule file: valid TOML, known fields, unique ids, patterns that compile
    Lint(RulesArgs),
    /// Run every rule's `match` and `no_match` examples through the engine
    Test(RulesArgs),
    /// List the rules and built-in checks
    List(RulesArgs),
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Folder of extra rule files to check with the shipped ones (repeatable)
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// A policy whose [checks] ids and severities apply (rules list)
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// ISO week to report on, e.g. 2024-W47 (Monday to Monday in --tz) [default: the last
    /// complete ISO week]
    #[arg(long, value_name = "YYYY-Www", conflicts_with_all = ["since", "until"])]
    pub week: Option<String>,
    /// Instead of a week: from this time on (same forms as elsewhere; needs --until; at most
    /// 400 days)
    #[arg(long, value_name = "T", requires = "until")]
    pub since: Option<String>,
    /// Before this time (needs --since)
    #[arg(long, value_name = "T", requires = "since")]
    pub until: Option<String>,
    /// Time zone of the week's bounds, its days and the times shown: an IANA name
    /// (Europe/Berlin), UTC or an offset (+02:00)
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// Write the report to this file (written whole, then renamed into place)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub detect: DetectArgs,
    /// Print secrets found in commands and evidence as they are
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Markdown, for wikis and tickets
    Md,
    /// One self-contained HTML file (inline styles and SVG charts, no scripts)
    Html,
    /// One JSON object (schema in docs/report.md)
    Json,
}
