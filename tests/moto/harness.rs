//! Test setup for the AWS tests: a moto server (with `execaudit_moto.py`) on 127.0.0.1, started
//! once per test process unless `EXECAUDIT_MOTO_URL` names one already running (as `.ci/run`
//! does), plus raw-HTTP helpers to seed it. The tool under test talks to it through the real SDK
//! clients; the seeding here uses the plain wire protocols (moto does not check signatures).
//!
//! The server is started from a virtualenv under `$EXECAUDIT_MOTO_HOME` (default
//! `~/.cache/execaudit-moto`), created with `pip install 'moto[server]==5.2.5'` when missing, on a
//! free port, and exits by itself when this test process ends (`--parent-pid`).

#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The pinned moto release (local-aws.md measured it).
const MOTO: &str = "moto[server]==5.2.5";

pub struct Moto {
    pub url: String,
    pub port: u16,
    _child: Option<Child>,
}

static MOTO_SERVER: OnceLock<Moto> = OnceLock::new();

/// The running server (started on first use).
pub fn moto() -> &'static Moto {
    MOTO_SERVER.get_or_init(start)
}

fn moto_home() -> PathBuf {
    std::env::var_os("EXECAUDIT_MOTO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home =
                std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
            home.join(".cache/execaudit-moto")
        })
}

/// Creates the virtualenv with moto when it is not there (under a lock: test binaries race).
fn venv_python() -> PathBuf {
    let home = moto_home();
    fs::create_dir_all(&home).expect("create the moto folder");
    let python = home.join("venv/bin/python");
    let lock = fs::File::create(home.join(".install.lock")).expect("lock file");
    lock.lock().expect("lock the moto install");
    let ok = python.exists()
        && Command::new(&python)
            .args(["-c", "import moto, werkzeug"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(home.join("venv"))
            .status()
            .expect("python3 -m venv");
        assert!(status.success(), "creating the moto virtualenv failed");
        let status = Command::new(home.join("venv/bin/pip"))
            .args(["install", "-q", MOTO])
            .status()
            .expect("pip install moto");
        assert!(status.success(), "pip install {MOTO} failed");
    }
    python
}

fn start() -> Moto {
    if let Ok(url) = std::env::var("EXECAUDIT_MOTO_URL") {
        let port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok());
        let m = Moto {
            url: url.trim_end_matches('/').to_owned(),
            port: port.expect("EXECAUDIT_MOTO_URL ends with :PORT"),
            _child: None,
        };
        wait_ready(&m);
        return m;
    }
    let python = venv_python();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/moto/execaudit_moto.py");
    let log = std::env::temp_dir().join(format!("execaudit-moto-{port}.log"));
    let child = Command::new(python)
        .arg(script)
        .args(["--port", &port.to_string()])
        .args(["--parent-pid", &std::process::id().to_string()])
        .stdout(fs::File::create(&log).expect("moto log"))
        .stderr(fs::File::create(&log).expect("moto log"))
        .spawn()
        .expect("start moto");
    let m = Moto {
        url: format!("http://127.0.0.1:{port}"),
        port,
        _child: Some(child),
    };
    wait_ready(&m);
    m
}

fn wait_ready(m: &Moto) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if m.try_get("/execaudit-test/ping")
            .is_some_and(|(s, _)| s == 200)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("moto did not answer on {}", m.url);
}

/// A raw HTTP response: status and body.
pub type Reply = (u16, Vec<u8>);

impl Moto {
    fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Option<Reply> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).ok()?;
        s.write_all(body).ok()?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).ok()?;
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
        let mut body = raw[split + 4..].to_vec();
        if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            body = dechunk(&body);
        }
        Some((status, body))
    }

    fn try_get(&self, path: &str) -> Option<Reply> {
        self.try_request("GET", path, &[], b"")
    }

    /// A raw request; panics when the server cannot be reached.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Reply {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|| panic!("{method} {path}: moto did not answer"))
    }

    /// A test endpoint of the extension, with a JSON body.
    pub fn test_post(&self, name: &str, body: Value) -> Value {
        let (status, out) = self.request(
            "POST",
            &format!("/execaudit-test/{name}"),
            &[("Content-Type", "application/json".into())],
            body.to_string().as_bytes(),
        );
        assert_eq!(status, 200, "{name}: {}", String::from_utf8_lossy(&out));
        serde_json::from_slice(&out).unwrap_or(Value::Null)
    }

    /// The requests the server saw that match every `key=value` filter.
    pub fn requests(&self, filters: &[(&str, &str)]) -> Vec<Value> {
        let q: Vec<String> = filters.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let (status, out) = self.request(
            "GET",
            &format!("/execaudit-test/requests?{}", q.join("&")),
            &[],
            b"",
        );
        assert_eq!(status, 200);
        let v: Value = serde_json::from_slice(&out).expect("requests JSON");
        v["requests"].as_array().cloned().unwrap_or_default()
    }

    fn auth(service: &str, region: &str, access_key: &str) -> (&'static str, String) {
        (
            "Authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={access_key}/20240101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"
            ),
        )
    }

    /// An AWS JSON 1.1 call (KMS, CloudWatch Logs, ...).
    pub fn json_call(&self, service: &str, target: &str, region: &str, body: Value) -> Value {
        let (status, out) = self.request(
            "POST",
            "/",
            &[
                Self::auth(service, region, "testing"),
                ("X-Amz-Target", target.into()),
                ("Content-Type", "application/x-amz-json-1.1".into()),
            ],
            body.to_string().as_bytes(),
        );
        assert_eq!(status, 200, "{target}: {}", String::from_utf8_lossy(&out));
        serde_json::from_slice(&out).unwrap_or(Value::Null)
    }

    /// Creates a bucket.
    pub fn create_bucket(&self, bucket: &str) {
        let (status, out) = self.request(
            "PUT",
            &format!("/{bucket}"),
            &[Self::auth("s3", "us-east-1", "testing")],
            b"",
        );
        assert_eq!(
            status,
            200,
            "CreateBucket {bucket}: {}",
            String::from_utf8_lossy(&out)
        );
    }

    /// Puts one object, SSE-KMS with `kms_key` when given.
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8], kms_key: Option<&str>) {
        let mut headers = vec![
            Self::auth("s3", "us-east-1", "testing"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD".into()),
        ];
        if let Some(k) = kms_key {
            headers.push(("x-amz-server-side-encryption", "aws:kms".into()));
            headers.push(("x-amz-server-side-encryption-aws-kms-key-id", k.into()));
        }
        let (status, out) = self.request("PUT", &format!("/{bucket}/{key}"), &headers, body);
        assert_eq!(
            status,
            200,
            "PutObject {key}: {}",
            String::from_utf8_lossy(&out)
        );
    }

    /// Puts many objects, eight at a time.
    pub fn put_objects(&self, bucket: &str, objects: Vec<(String, Vec<u8>)>) {
        let chunks: Vec<Vec<(String, Vec<u8>)>> = {
            let mut c: Vec<Vec<_>> = (0..8).map(|_| Vec::new()).collect();
            for (i, o) in objects.into_iter().enumerate() {
                c[i % 8].push(o);
            }
            c
        };
        std::thread::scope(|s| {
            for chunk in chunks {
                s.spawn(move || {
                    for (k, b) in chunk {
                        self.put_object(bucket, &k, &b, None);
                    }
                });
            }
        });
    }

    /// Creates a KMS key; returns its id.
    pub fn create_key(&self) -> String {
        let v = self.json_call("kms", "TrentService.CreateKey", "us-east-1", json!({}));
        v["KeyMetadata"]["KeyId"]
            .as_str()
            .expect("key id")
            .to_owned()
    }

    /// Uploads every file under `dir` to `bucket` under `prefix` (keys relative to `dir`).
    pub fn upload_dir(&self, bucket: &str, dir: &Path, prefix: &str) -> usize {
        let mut objects = Vec::new();
        for e in walk(dir) {
            let rel = e
                .strip_prefix(dir)
                .expect("under dir")
                .to_string_lossy()
                .replace('\\', "/");
            objects.push((
                format!("{prefix}{rel}"),
                fs::read(&e).expect("read fixture"),
            ));
        }
        let n = objects.len();
        self.put_objects(bucket, objects);
        n
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).expect("read dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
    out
}

/// The execaudit binary with an environment that can reach only moto: test credentials, no
/// profiles, no instance metadata, every endpoint pointed at the server, no SDK retries (so
/// throttling reaches the tool's own backoff).
pub fn execaudit(m: &Moto) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_execaudit"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            c.env_remove(k);
        }
    }
    c.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &m.url)
        .env("AWS_CONFIG_FILE", "/nonexistent/execaudit-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/execaudit-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("NO_COLOR", "1");
    c
}

/// A finished command's outcome.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a command to its end.
pub fn run(mut c: Command) -> Run {
    let out = c.output().expect("run execaudit");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Gzips bytes (trail files are gzip JSON).
pub fn gzip(b: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(b).expect("gzip");
    enc.finish().expect("gzip")
}

/// A successful `ExecuteCommand` record.
pub fn exec_record(id: &str, time: &str, account: &str, region: &str, session: &str) -> Value {
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROA:alice",
            "arn": format!("arn:aws:sts::{account}:assumed-role/Dev/alice"), "accountId": account,
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{account}:role/Dev"), "userName": "Dev"}}},
        "eventTime": time, "eventSource": "ecs.amazonaws.com", "eventName": "ExecuteCommand",
        "awsRegion": region, "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"cluster": "prod", "container": "app", "command": "/bin/sh", "interactive": true,
            "task": format!("arn:aws:ecs:{region}:{account}:task/prod/0123456789abcdef0123456789abcdef")},
        "responseElements": {"clusterArn": format!("arn:aws:ecs:{region}:{account}:cluster/prod"),
            "containerName": "app", "interactive": true,
            "taskArn": format!("arn:aws:ecs:{region}:{account}:task/prod/0123456789abcdef0123456789abcdef"),
            "session": {"sessionId": session, "streamUrl": "wss://ssmmessages/", "tokenValue": "HIDDEN_DUE_TO_SECURITY_REASONS"}},
        "eventID": id, "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": account, "eventCategory": "Management"
    })
}

/// A record execaudit does not keep (background noise).
pub fn noise_record(id: &str, time: &str, account: &str, region: &str) -> Value {
    json!({"eventVersion": "1.08", "eventID": id, "eventTime": time, "eventSource": "s3.amazonaws.com",
           "eventName": "GetObject", "awsRegion": region, "recipientAccountId": account,
           "userIdentity": {"type": "AWSService"}, "readOnly": true})
}

/// A trail file: `{"Records":[...]}`, gzip.
pub fn trail_file(records: &[Value]) -> Vec<u8> {
    gzip(json!({ "Records": records }).to_string().as_bytes())
}

/// A transcript as the agent uploads it to S3.
pub fn transcript(commands: &[&str]) -> Vec<u8> {
    let mut t = String::from(
        "Script started on 2024-11-18 10:00:00+00:00 [COMMAND=\"cat /x\" <not executed on terminal>]\n",
    );
    for c in commands {
        t.push_str(&format!(
            "\x1b[?2004hroot@ip-10-0-1-23:/# {c}\r\r\n\x1b[?2004l\routput of {c}\r\r\n"
        ));
    }
    t.push_str("\x1b[?2004hroot@ip-10-0-1-23:/# exit\r\r\n\x1b[?2004l\rexit\r\r\n\nScript done on 2024-11-18 10:05:00+00:00 [COMMAND_EXIT_CODE=\"0\"]\n");
    t.into_bytes()
}

/// Keys of one table in the store's live Parquet parts (those `manifest.json` lists),
/// duplicates included: what the files hold, not what a reader shows.
pub fn stored_ids(store: &Path, table: &str, key: &str) -> Vec<String> {
    use polars::prelude::*;
    let Ok(text) = fs::read(store.join("manifest.json")) else {
        return Vec::new();
    };
    let manifest: Value = serde_json::from_slice(&text).expect("manifest JSON");
    let mut ids = Vec::new();
    for part in manifest["tables"][table]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let path = store
            .join(table)
            .join(format!("day={}", part["day"].as_str().expect("day")))
            .join(part["file"].as_str().expect("file"));
        let df = ParquetReader::new(fs::File::open(&path).expect("part"))
            .finish()
            .expect("parquet");
        let col = df.column(key).expect("key column");
        ids.extend(
            col.str()
                .expect("strings")
                .iter()
                .flatten()
                .map(str::to_owned),
        );
    }
    ids.sort();
    ids
}
