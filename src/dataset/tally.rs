//! The commands typed most often, counted one store part at a time.
//!
//! `queries/reports/frequent-commands.sql` joins every command of a period to its session and
//! counts; at 5 million commands polars holds the joined rows at once (about 800 MB). The report
//! computes the same answer here instead: each part of the `commands` table is read alone (two
//! columns, flags filtered in the scan) and folded into per-command counts, with sessions and
//! principals as small integers, so memory follows one part and the distinct pairs, not the
//! period. `tests/report.rs` checks the report against the SQL run by hand.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;
use rayon::prelude::*;

use super::{Damage, Dataset, Source};
use crate::model::{CommandRow, Table};
use crate::store::Days;

type Fast = foldhash::fast::RandomState;

/// One command's counts.
#[derive(Default)]
struct Tally {
    times: u64,
    sessions: HashSet<u32, Fast>,
    principals: HashSet<u32, Fast>,
}

#[derive(Default)]
struct Tallies(HashMap<Box<str>, Tally, Fast>);

impl Tallies {
    fn merge(self, other: Tallies) -> Tallies {
        let (mut big, small) = if self.0.len() >= other.0.len() {
            (self.0, other.0)
        } else {
            (other.0, self.0)
        };
        for (command, t) in small {
            let e = big.entry(command).or_default();
            e.times += t.times;
            e.sessions.extend(t.sessions);
            e.principals.extend(t.principals);
        }
        Tallies(big)
    }
}

/// The sessions counted: id -> (session number, principal number or none).
struct Sessions {
    ids: HashMap<Box<str>, (u32, Option<u32>), Fast>,
}

impl Sessions {
    fn of(df: &DataFrame) -> PolarsResult<Sessions> {
        let text = |name: &str| df.column(name)?.cast(&DataType::String);
        let (ids, who) = (text("session_id")?, text("principal")?);
        let mut principals: HashMap<&str, u32, Fast> = HashMap::default();
        let mut map: HashMap<Box<str>, (u32, Option<u32>), Fast> = HashMap::default();
        for (id, p) in ids.str()?.iter().zip(who.str()?.iter()) {
            let Some(id) = id else { continue };
            let n = map.len() as u32;
            let p = p.map(|p| {
                let k = principals.len() as u32;
                *principals.entry(p).or_insert(k)
            });
            map.entry(id.into()).or_insert((n, p));
        }
        Ok(Sessions { ids: map })
    }

    fn fold(&self, df: &DataFrame) -> PolarsResult<Tallies> {
        let ids = df.column("session_id")?.str()?;
        let commands = df.column("command")?.str()?;
        let mut out = Tallies::default();
        for (id, command) in ids.iter().zip(commands.iter()) {
            let (Some(id), Some(command)) = (id, command) else {
                continue;
            };
            let Some(&(session, principal)) = self.ids.get(id) else {
                continue;
            };
            let t = match out.0.get_mut(command) {
                Some(t) => t,
                None => out.0.entry(command.into()).or_default(),
            };
            t.times += 1;
            t.sessions.insert(session);
            if let Some(p) = principal {
                t.principals.insert(p);
            }
        }
        Ok(out)
    }
}

/// The rows of a commands part that count: typed at a shell prompt (not abandoned, not input
/// read by a program; a missing flag is false, as in the SQL), with a command.
fn counted(lf: LazyFrame) -> LazyFrame {
    let not = |c: &str| col(c).fill_null(lit(false)).eq(lit(false));
    lf.filter(
        not("abandoned")
            .and(not("program_input"))
            .and(col("command").is_not_null()),
    )
    .select([col("session_id"), col("command")])
}

impl Dataset {
    /// The `limit` commands typed most often in `sessions` (a frame with `session_id` and
    /// `principal`: a period's sessions view), over the commands filed on `days`: columns
    /// `command`, `times`, `sessions`, `principals`, most typed first, ties by command. What
    /// `queries/reports/frequent-commands.sql` answers; see the module documentation. A part
    /// that cannot be read is set aside in `damage`.
    pub fn frequent_commands(
        &self,
        sessions: &DataFrame,
        days: Option<&Days>,
        limit: usize,
        damage: &mut Damage,
    ) -> anyhow::Result<DataFrame> {
        let who = Sessions::of(sessions)?;
        let tallies = match &self.source {
            Source::Store(s) => {
                let parts = s.parts(CommandRow::NAME, days);
                let folded: Vec<Result<Tallies, (std::path::PathBuf, String)>> = parts
                    .into_par_iter()
                    .map(|part| {
                        s.scan_part(CommandRow::NAME, &part)
                            .and_then(|lf| counted(lf).collect())
                            .and_then(|df| who.fold(&df))
                            .map_err(|e| (part, e.to_string()))
                    })
                    .collect();
                let mut all = Tallies::default();
                for r in folded {
                    match r {
                        Ok(t) => all = all.merge(t),
                        Err(bad) => damage.parts.push(bad),
                    }
                }
                all
            }
            Source::Frames(_) => {
                let df = self.collect(damage, |d| Ok(counted(d.table(CommandRow::NAME, days)?)))?;
                who.fold(&df)?
            }
        };
        let mut rows: Vec<(Box<str>, Tally)> = tallies.0.into_iter().collect();
        rows.sort_unstable_by(|a, b| b.1.times.cmp(&a.1.times).then_with(|| a.0.cmp(&b.0)));
        rows.truncate(limit);
        let count =
            |f: fn(&Tally) -> u64| -> Vec<u32> { rows.iter().map(|(_, t)| f(t) as u32).collect() };
        let df = df!(
            "command" => rows.iter().map(|(c, _)| c.as_ref()).collect::<Vec<&str>>(),
            "times" => count(|t| t.times),
            "sessions" => count(|t| t.sessions.len() as u64),
            "principals" => count(|t| t.principals.len() as u64),
        )?;
        Ok(df)
    }
}
