//! The local part of `sync --engine athena`: 1M `GetQueryResults` rows (pages of 1000, as the
//! API returns them) rebuilt into CloudTrail records, normalised by the local normaliser and
//! written to a fresh store through the sync sink (deduplication, fsync'd parts, manifest).
//! Reports rows/s. `cargo bench --bench athena_rows`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use execaudit::aws::athena::rows::{result_columns, scan_rows, Header};
use execaudit::aws::sink::Sink;
use execaudit::store::Store;

const ROWS: usize = 1_000_000;
const PAGE: usize = 1000;

/// One result row as Athena returns it: exec events mostly, a control event every tenth row.
fn row(i: usize) -> Vec<Option<String>> {
    let account = ["111122223333", "444455556666", "777788889999"][i % 3];
    let region = ["us-east-1", "eu-west-1"][i % 2];
    let day = 18 + (i % 7);
    let s = |v: String| Some(v);
    let (source, name, req, resp) = if i % 10 == 9 {
        (
            "ecs.amazonaws.com",
            "UpdateService",
            format!(r#"{{"cluster":"prod","service":"api-{i}","enableExecuteCommand":true}}"#),
            None,
        )
    } else {
        (
            "ecs.amazonaws.com",
            "ExecuteCommand",
            format!(
                r#"{{"cluster":"prod","container":"app","command":"/bin/sh","interactive":true,"task":"arn:aws:ecs:{region}:{account}:task/prod/{i:032x}"}}"#
            ),
            Some(format!(
                r#"{{"clusterArn":"arn:aws:ecs:{region}:{account}:cluster/prod","containerName":"app","interactive":true,"taskArn":"arn:aws:ecs:{region}:{account}:task/prod/{i:032x}","session":{{"sessionId":"ecs-execute-command-{i:016x}","streamUrl":"wss://ssmmessages.{region}.amazonaws.com/v1/data-channel/ecs-execute-command-{i:016x}","tokenValue":"HIDDEN_DUE_TO_SECURITY_REASONS"}}}}"#
            )),
        )
    };
    vec![
        s("1.08".into()),
        s(format!(
            r#"{{"type":"AssumedRole","principalid":"AROAEXAMPLE:user{u}","arn":"arn:aws:sts::{account}:assumed-role/AWSReservedSSO_Dev_0123456789abcdef/user{u}","accountid":"{account}","invokedby":null,"accesskeyid":"ASIAEXAMPLE","username":null,"onbehalfof":null,"sessioncontext":{{"attributes":{{"mfaauthenticated":"false","creationdate":"2024-11-{day}T08:00:00Z"}},"sessionissuer":{{"type":"Role","principalid":"AROAEXAMPLE","arn":"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_0123456789abcdef","accountid":"{account}","username":"AWSReservedSSO_Dev_0123456789abcdef"}},"ec2roledelivery":null,"sourceidentity":null}}}}"#,
            u = i % 300
        )),
        s(format!("2024-11-{day}T{:02}:{:02}:{:02}Z", i % 24, i % 60, (i / 60) % 60)),
        s(source.into()),
        s(name.into()),
        s(region.into()),
        s("198.51.100.7".into()),
        s("aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64 command/ecs.execute-command".into()),
        None,
        None,
        s(req),
        resp,
        s(format!("{i:08x}-0000-4000-8000-{i:012x}")),
        s(account.into()),
        s(format!(
            "s3://org-trail/AWSLogs/o-abc/{account}/CloudTrail/{region}/2024/11/{day}/{account}_CloudTrail_{region}_202411{day}T1000Z_x.json.gz"
        )),
    ]
}

fn bench(c: &mut Criterion) {
    let names: Vec<Option<String>> = result_columns()
        .into_iter()
        .map(|c| Some(c.to_owned()))
        .collect();
    let header = Header::new(&names).expect("header");
    let pages: Vec<Vec<Vec<Option<String>>>> = (0..ROWS / PAGE)
        .map(|p| (p * PAGE..(p + 1) * PAGE).map(row).collect())
        .collect();
    let mut g = c.benchmark_group("athena_rows");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("normalise_and_store_1M", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("tempdir"),
            |dir| {
                let mut store = Store::open_for_write(dir.path()).expect("store");
                let mut sink = Sink::new(&mut store);
                for (i, p) in pages.iter().enumerate() {
                    let scan = scan_rows(&header, p, &format!("athena:bench/{i}"));
                    sink.add(scan);
                    if sink.due() {
                        sink.flush().expect("flush");
                    }
                }
                sink.flush().expect("flush");
                assert_eq!(sink.taken.exec.added as usize, ROWS - ROWS / 10);
                dir
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
