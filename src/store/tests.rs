use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::model::ExecEvent;

fn ev(id: &str, t: i64) -> ExecEvent {
    ExecEvent {
        event_id: Some(id.into()),
        event_time: Timestamp(t),
        principal: Some("p".into()),
        ..Default::default()
    }
}

const DAY: i64 = 86_400_000;

fn ids(store: &Store) -> Vec<String> {
    store
        .read::<ExecEvent>(None)
        .unwrap()
        .into_iter()
        .map(|e| e.event_id.unwrap())
        .collect()
}

#[test]
fn appends_are_idempotent_and_partitioned_by_day() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_for_write(dir.path()).unwrap();
    let first = store
        .append(vec![ev("a", 0), ev("b", DAY), ev("a", 0)])
        .unwrap();
    assert_eq!(
        first,
        Appended {
            added: 2,
            already_stored: 1
        }
    );
    let again = store
        .append(vec![ev("a", 0), ev("b", DAY), ev("c", DAY + 5)])
        .unwrap();
    assert_eq!(
        again,
        Appended {
            added: 1,
            already_stored: 2
        }
    );
    assert_eq!(ids(&store), ["a", "b", "c"]);
    let day2 = Days {
        first: "1970-01-02".into(),
        last: "1970-01-02".into(),
    };
    assert_eq!(store.read::<ExecEvent>(Some(&day2)).unwrap().len(), 2);
    assert!(dir.path().join("exec_events/day=1970-01-01").is_dir());
    // A reader opened afterwards sees the same.
    assert_eq!(
        ids(&Store::open_for_read(dir.path()).unwrap()),
        ["a", "b", "c"]
    );
}

#[test]
fn compaction_keeps_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_for_write(dir.path()).unwrap();
    for i in 0..(write::tests_compact_at() as i64 + 3) {
        store.append(vec![ev(&format!("e{i:03}"), i)]).unwrap();
    }
    let parts = store.manifest().parts(ExecEvent::NAME).len();
    assert!(parts < write::tests_compact_at(), "{parts} parts");
    assert_eq!(ids(&store).len(), write::tests_compact_at() + 3);
    // Files on disk are exactly the live parts: replaced ones were deleted.
    let on_disk = list_dir(&dir.path().join("exec_events/day=1970-01-01"))
        .unwrap()
        .len();
    assert_eq!(on_disk, parts);
}

#[test]
fn nothing_is_visible_until_commit_and_leftovers_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_for_write(dir.path()).unwrap();
    store.append(vec![ev("a", 0)]).unwrap();
    {
        let mut w = store.writer();
        w.append(vec![ev("b", 0)]).unwrap();
        let slots: Vec<_> = w.buffered_slots();
        for s in slots {
            w.flush_for_tests(&s).unwrap();
        }
        // Dropped without commit: a crash after the part was written.
    }
    let day = dir.path().join("exec_events/day=1970-01-01");
    assert_eq!(
        list_dir(&day).unwrap().len(),
        2,
        "the orphan part is on disk"
    );
    assert_eq!(ids(&Store::open_for_read(dir.path()).unwrap()), ["a"]);
    drop(store);
    let store = Store::open_for_write(dir.path()).unwrap();
    assert_eq!(
        list_dir(&day).unwrap().len(),
        1,
        "the next writer removed it"
    );
    assert_eq!(ids(&store), ["a"]);
}

#[test]
fn a_second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _store = Store::open_for_write(dir.path()).unwrap();
    assert!(matches!(
        Store::open_for_write(dir.path()),
        Err(StoreError::Locked(_))
    ));
}

#[test]
fn a_missing_store_is_an_error_for_readers() {
    let e = Store::open_for_read(Path::new("/nonexistent/execaudit-store"))
        .err()
        .unwrap();
    assert!(e.to_string().contains("no store here"), "{e}");
}

#[test]
fn the_store_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("st");
    let mut store = Store::open_for_write(&root).unwrap();
    store.append(vec![ev("a", 0)]).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&root), 0o700);
    let day = root.join("exec_events/day=1970-01-01");
    assert_eq!(mode(&day), 0o700);
    for f in list_dir(&day).unwrap() {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    assert_eq!(mode(&root.join(manifest::FILE)), 0o600);
    assert_eq!(mode(&root.join(".lock")), 0o600);
}

#[test]
fn a_file_where_the_store_should_be_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("st");
    fs::write(&file, b"x").unwrap();
    let e = Store::open_for_write(&file).err().unwrap().to_string();
    assert!(e.contains("a file, not a store folder"), "{e}");
    assert_eq!(fs::read(&file).unwrap(), b"x");
}

/// Writes a part the way versions before the manifest did (no manifest entry).
fn legacy_part(root: &Path, rows: &[ExecEvent], name: &str) {
    let day = root.join("exec_events/day=1970-01-01");
    fs::create_dir_all(&day).unwrap();
    let mut df = ExecEvent::to_frame(rows)
        .unwrap()
        .drop("token_unredacted")
        .unwrap();
    let f = fs::File::create(day.join(name)).unwrap();
    ParquetWriter::new(f).finish(&mut df).unwrap();
}

#[test]
fn an_older_store_is_read_and_adopted_with_duplicates_dropped() {
    let dir = tempfile::tempdir().unwrap();
    // Two parts holding "a" twice: an interrupted compaction of an older version.
    legacy_part(dir.path(), &[ev("a", 0), ev("b", 1)], "part-1.parquet");
    legacy_part(dir.path(), &[ev("a", 0)], "part-2.parquet");
    let reader = Store::open_for_read(dir.path()).unwrap();
    let rows = reader.read::<ExecEvent>(None).unwrap();
    assert_eq!(rows.len(), 3, "read as found, before adoption");
    assert_eq!(
        rows[0].token_unredacted, None,
        "a column the old part lacks reads null"
    );
    let mut store = Store::open_for_write(dir.path()).unwrap();
    assert_eq!(ids(&store), ["a", "b"]);
    store.append(vec![ev("b", 1), ev("c", 2)]).unwrap();
    assert_eq!(ids(&store), ["a", "b", "c"]);
}

/// Cuts the first part of a day's folder in half (a damaged part); its path.
fn truncate_a_part(day: &Path) -> PathBuf {
    let bad = day.read_dir().unwrap().next().unwrap().unwrap().path();
    let bytes = fs::read(&bad).unwrap();
    fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    bad
}

#[test]
fn a_damaged_part_is_named_and_the_others_still_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_for_write(dir.path()).unwrap();
    store.append(vec![ev("a", 0)]).unwrap();
    store.append(vec![ev("b", DAY)]).unwrap();
    drop(store);
    let bad = truncate_a_part(&dir.path().join("exec_events/day=1970-01-02"));
    let reader = Store::open_for_read(dir.path()).unwrap();
    assert!(reader.read::<ExecEvent>(None).is_err());
    let found = reader.exclude_unreadable();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, bad);
    assert_eq!(ids(&reader), ["a"]);
    assert!(bad.exists(), "nothing is deleted");
}

#[test]
fn small_batches_of_events_make_one_row_group_a_day() {
    // An organisation trail hands over a few events a day per batch: written batch by batch,
    // each became a row group whose metadata the open part kept until the end.
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_for_write(dir.path()).unwrap();
    let mut w = store.writer();
    let mut expected = Vec::new();
    for batch in 0..60 {
        // Later batches carry earlier times: the day's rows are sorted again when written.
        let rows: Vec<ExecEvent> = (0..21)
            .map(|i| {
                let id = format!("e{batch:02}-{i:02}");
                expected.push(id.clone());
                ev(&id, (i % 3) * DAY + (60 - batch) * 1_000 + i)
            })
            .collect();
        w.append(rows).unwrap();
    }
    assert_eq!(
        w.release_all_for_tests().unwrap(),
        3,
        "one row group per day"
    );
    w.commit().unwrap();
    let mut got = ids(&store);
    let times: Vec<i64> = store
        .read::<ExecEvent>(None)
        .unwrap()
        .iter()
        .map(|e| e.event_time.0)
        .collect();
    assert!(times.is_sorted(), "each day's part is sorted by time");
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
}

#[test]
fn a_scratch_store_is_published_and_read_as_any_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_scratch(dir.path()).unwrap();
    assert!(!store.durable);
    store
        .append(vec![ev("a", 0), ev("b", DAY), ev("c", 2 * DAY)])
        .unwrap();
    drop(store);
    let back = Store::open_for_read(dir.path()).unwrap();
    assert!(back.durable);
    assert_eq!(ids(&back), ["a", "b", "c"]);
    assert!(!dir.path().join(".manifest.json.tmp").exists());
}

/// The key the store derives is the one ingest wrote before: `<transcript id>#<seq>`, padded
/// to five digits, longer numbers whole.
#[test]
fn derived_command_keys_are_the_keys_ingest_wrote() {
    use crate::ingest::transcript::command_id;
    let seqs = [1i64, 42, 99_999, 100_000, 123_456];
    let df = df!(
        "command_id" => seqs.iter().map(|_| None::<&str>).collect::<Vec<_>>(),
        "transcript_id" => seqs.iter().map(|_| "ecs-execute-command-abc~0123456789abcdef").collect::<Vec<_>>(),
        "seq" => seqs.to_vec(),
    )
    .unwrap();
    let got = with_keys(table(CommandRow::NAME).unwrap(), df.lazy())
        .collect()
        .unwrap();
    let got: Vec<String> = got
        .column("command_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap().to_owned())
        .collect();
    let want: Vec<String> = seqs
        .iter()
        .map(|&s| command_id("ecs-execute-command-abc~0123456789abcdef", s))
        .collect();
    assert_eq!(got, want);
}

/// Ingest leaves a command's key out of the store and reads derive it; compaction neither
/// collapses the rows it left keyless nor writes their keys, and a key a row brought is kept.
#[test]
fn command_keys_are_derived_on_read_and_survive_compaction() {
    use crate::model::{CommandRow, TranscriptRow};
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_for_write(dir.path()).unwrap();
    let n = write::tests_compact_at() + 3;
    for i in 0..n {
        let transcript = TranscriptRow {
            transcript_id: Some(format!("s{i:02}~t")),
            session_id: Some(format!("s{i:02}")),
            time: Timestamp(i as i64),
            ..Default::default()
        };
        let command = |seq: i64| CommandRow {
            seq: Some(seq),
            time: Timestamp(i as i64),
            command: Some(format!("echo {seq}")),
            ..Default::default()
        };
        let (t, c) =
            crate::ingest::transcript_frames(vec![(transcript, vec![command(1), command(2)])])
                .unwrap();
        assert_eq!(c.column("command_id").unwrap().null_count(), 2);
        let mut w = store.writer();
        w.append_transcripts(t, c).unwrap();
        w.commit().unwrap();
    }
    store
        .append(vec![CommandRow {
            command_id: Some("own-key".into()),
            session_id: Some("x".into()),
            transcript_id: Some("x~t".into()),
            seq: Some(1),
            ..Default::default()
        }])
        .unwrap();
    let parts = store.parts(CommandRow::NAME, None);
    assert!(
        parts.len() < write::tests_compact_at(),
        "{} parts",
        parts.len()
    );
    let mut got: Vec<String> = store
        .read::<CommandRow>(None)
        .unwrap()
        .into_iter()
        .map(|r| r.command_id.unwrap())
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..n)
        .flat_map(|i| [format!("s{i:02}~t#00001"), format!("s{i:02}~t#00002")])
        .collect();
    want.push("own-key".into());
    want.sort();
    assert_eq!(got, want);
    // On disk, only the key a row brought.
    let mut stored = Vec::new();
    for p in parts {
        let df = ParquetReader::new(fs::File::open(p).unwrap())
            .finish()
            .unwrap();
        stored.extend(
            df.column("command_id")
                .unwrap()
                .str()
                .unwrap()
                .iter()
                .flatten()
                .map(str::to_owned),
        );
    }
    assert_eq!(stored, ["own-key"]);
}

/// The writer lists in the manifest the sessions more than one transcript carries, at every
/// commit that adds transcripts (a copy in a later run too); a write without transcripts
/// keeps the list; a manifest of an older version, without one, gets it at the next write.
#[test]
fn the_manifest_lists_the_sessions_several_transcripts_carry() {
    use crate::model::TranscriptRow;
    let t = |id: &str, session: &str, day: i64| TranscriptRow {
        transcript_id: Some(id.into()),
        session_id: Some(session.into()),
        time: Timestamp(day * DAY),
        ..Default::default()
    };
    let shared = |root: &Path| Manifest::load(root).unwrap().unwrap().shared_sessions;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_for_write(dir.path()).unwrap();
    store
        .append(vec![t("a", "s1", 0), t("b", "s2", 0)])
        .unwrap();
    assert_eq!(shared(dir.path()), Some(vec![]));
    // A copy of s2 on another day and of s3 twice in one run.
    store
        .append(vec![t("b~2", "s2", 1), t("c", "s3", 0), t("c~2", "s3", 2)])
        .unwrap();
    assert_eq!(shared(dir.path()), Some(vec!["s2".into(), "s3".into()]));
    store.append(vec![ev("e", 0)]).unwrap();
    assert_eq!(shared(dir.path()), Some(vec!["s2".into(), "s3".into()]));
    // An older version's manifest: the field is absent, and the next write works it out.
    let path = dir.path().join(manifest::FILE);
    let mut m: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    m.as_object_mut().unwrap().remove("shared_sessions");
    fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    assert_eq!(shared(dir.path()), None);
    drop(store);
    let mut store = Store::open_for_write(dir.path()).unwrap();
    store.append(vec![ev("f", 0)]).unwrap();
    assert_eq!(shared(dir.path()), Some(vec!["s2".into(), "s3".into()]));
}

/// A transcripts part damaged on disk does not stop the next write: its commit leaves the
/// shared sessions unknown (readers work them out over the parts they can read), and nothing
/// stored is lost.
#[test]
fn a_damaged_transcripts_part_leaves_the_shared_sessions_unknown() {
    use crate::model::TranscriptRow;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_for_write(dir.path()).unwrap();
    store
        .append(vec![TranscriptRow {
            transcript_id: Some("t".into()),
            session_id: Some("s".into()),
            ..Default::default()
        }])
        .unwrap();
    drop(store);
    let bad = truncate_a_part(&dir.path().join("transcripts/day=1970-01-01"));
    let mut store = Store::open_for_write(dir.path()).unwrap();
    store
        .append(vec![TranscriptRow {
            transcript_id: Some("u".into()),
            session_id: Some("s".into()),
            time: Timestamp(DAY),
            ..Default::default()
        }])
        .unwrap();
    let m = Manifest::load(dir.path()).unwrap().unwrap();
    assert_eq!(m.shared_sessions, None);
    assert_eq!(m.parts(TranscriptRow::NAME).len(), 2);
    assert!(bad.exists(), "nothing is deleted");
}

#[test]
fn runs_join_consecutive_rows_of_a_part() {
    assert_eq!(
        runs(vec![(1, 7), (0, 3), (0, 4), (0, 5), (0, 9), (1, 8), (0, 4)]),
        [(0, 3, 3), (0, 9, 1), (1, 7, 2)]
    );
    assert!(runs(Vec::new()).is_empty());
}

/// A session's rows read by their row numbers are the rows a filter on its id reads: over
/// parts of several days and appends, a session split between two row groups, and an id no
/// row carries.
#[test]
fn a_sessions_rows_read_by_position_are_the_filters_rows() {
    use crate::model::CommandRow;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_for_write(dir.path()).unwrap();
    let day = 86_400_000i64;
    let command = |s: usize, seq: i64, t: i64| CommandRow {
        session_id: Some(format!("s{s:02}")),
        transcript_id: Some(format!("s{s:02}~t{t}")),
        seq: Some(seq),
        time: Timestamp(t),
        command: Some(format!("echo {s} {seq}")),
        ..Default::default()
    };
    // 100 sessions of 400 commands on one day: more than a row group (32,768 rows).
    let mut first = Vec::new();
    for s in 0..100 {
        for seq in 0..400 {
            first.push(command(s, seq, day + s as i64));
        }
    }
    store.append(first).unwrap();
    store
        .append(vec![
            command(5, 1, day + 10),
            command(50, 1, 2 * day),
            command(50, 2, 2 * day),
        ])
        .unwrap();
    // A part holding a run of each of ten sessions more.
    store
        .append((0..10).map(|s| command(s, 1000, day + 20)).collect())
        .unwrap();
    drop(store);
    let store = Store::open_for_read(dir.path()).unwrap();
    for id in ["s00", "s05", "s50", "s81", "s82", "s99", "s100", ""] {
        let by_filter = store
            .scan(CommandRow::NAME, None)
            .unwrap()
            .filter(col("session_id").eq(lit(id)))
            .collect()
            .unwrap();
        let by_position = store
            .scan_sessions(CommandRow::NAME, &[id.to_owned()], None)
            .unwrap()
            .collect()
            .unwrap();
        assert!(
            by_filter.equals_missing(&by_position),
            "{id}: {by_filter}\n{by_position}"
        );
    }
    // By position (60 ids, 72 runs: more runs than MAX_SLICES), by the filter (more ids) and
    // by a join (more than MAX_LISTED).
    let names = |n: usize| (0..n).map(|s| format!("s{s:02}")).collect::<Vec<_>>();
    for ids in [names(3), names(60), names(100), names(MAX_LISTED + 1)] {
        let by_filter = store
            .scan(CommandRow::NAME, None)
            .unwrap()
            .filter(
                col("session_id").is_in(lit(Series::new("i".into(), &ids)).implode(false), false),
            )
            .collect()
            .unwrap();
        let read = store
            .scan_sessions(CommandRow::NAME, &ids, None)
            .unwrap()
            .collect()
            .unwrap();
        assert!(
            by_filter.equals_missing(&read),
            "{}: {by_filter}\n{read}",
            ids.len()
        );
    }
    let s50 = store
        .scan_sessions(CommandRow::NAME, &["s50".to_owned()], None)
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(s50.height(), 402);
}

/// One writer fed copies of a call in two batches (a `sync` flushes without a merger): a copy
/// that is not the same call is named, on the same day or another, and written once.
#[test]
fn copies_in_one_write_are_compared_and_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open_for_write(dir.path()).unwrap();
    let full = |id: &str, t: i64, ip: &str| ExecEvent {
        event_version: Some("1.09".into()),
        source_ip: Some(ip.into()),
        source: Some(format!("{ip}.json")),
        ..ev(id, t)
    };
    let mut w = store.writer();
    let a = w
        .append_exec(vec![
            full("e1", 1_000, "10.0.0.1"),
            full("e2", 1_000, "10.0.0.1"),
        ])
        .unwrap();
    assert_eq!(a.added, 2);
    let b = w
        .append_exec(vec![
            full("e1", 1_000, "6.6.6.6"),
            full("e2", 1_000 + 86_400_000, "10.0.0.1"),
            full("e1", 1_000, "10.0.0.1"),
        ])
        .unwrap();
    assert_eq!(b.added, 0);
    let c = w.take_conflicts();
    assert_eq!(c.count, 2, "{c:?}");
    assert!(c.examples[0].contains("eventID e1") && c.examples[0].contains("6.6.6.6.json"));
    assert!(c.examples[1].contains("eventID e2"));
    w.commit().unwrap();
    assert_eq!(ids(&store), ["e1", "e2"]);
}
