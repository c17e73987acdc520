//! What the workers of one run share: the run's state, its reporter, the rules, the keys; and
//! the helpers every copy path uses (one transaction with deadlock retries, progress events).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::json;

use super::error::RunError;
use super::report::{Event, Progress, Reporter};
use crate::db::{Conn, DbError, DbUrl};
use crate::plan::PathChoice;
use crate::prf::Prf;
use crate::rules::Rules;
use crate::state::{self, RunInfo, StateDir, StateError};

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Rows per chunk (each chunk commits on its own).
    pub chunk_rows: u64,
    /// Continue an interrupted run.
    pub resume: bool,
    /// Tables masked at once (one connection each).
    pub jobs: usize,
    /// Which path the planner prefers.
    pub path: PathChoice,
    /// Connections per table: on the server-side paths (rebuild, update) the key range is cut
    /// into this many slices; the load path on MySQL/MariaDB loads this many chunks at once.
    pub parallel: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            chunk_rows: 20_000,
            resume: false,
            jobs: 2,
            path: PathChoice::Auto,
            parallel: 2,
        }
    }
}

/// Shared by the workers of one run.
pub(crate) struct Shared {
    pub(crate) url: DbUrl,
    pub(crate) state: StateDir,
    pub(crate) info: Mutex<RunInfo>,
    pub(crate) reporter: Arc<dyn Reporter>,
    pub(crate) started: Instant,
    pub(crate) overall_done: Mutex<(u64, u64)>,
    pub(crate) opts: RunOptions,
    pub(crate) prf: Prf,
    pub(crate) fp_prf: state::Fingerprinter,
    pub(crate) rules: Rules,
    /// Set when the connection holding the run's lock failed.
    pub(crate) lock_lost: Arc<std::sync::atomic::AtomicBool>,
    /// Swaps run one at a time: a swap alters the tables that reference the swapped one, which
    /// may be swapping themselves.
    pub(crate) swap_lock: tokio::sync::Mutex<()>,
}

impl Shared {
    /// Stops the run when its lock is gone (another run could take the database).
    pub(crate) fn check_lock(&self) -> Result<(), RunError> {
        if self.lock_lost.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(RunError::Failed(
                "the connection holding this run's lock on the database failed, so another run \
                 could start: stopped"
                    .into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn emit(&self, e: Event) {
        self.reporter.event(&e);
        // Progress lines are many: the journal keeps them too (they are the record of rates).
        if let Ok(v) = serde_json::to_value(&e) {
            let mut v = v;
            if let Some(o) = v.as_object_mut() {
                o.insert("at".into(), json!(state::now()));
            }
            let _ = self.state.journal(&v);
        }
    }

    /// Writes the run's info to `run.json`. The info stays locked while it is written: two
    /// tasks saving at once (a table's sealing beside another table's copy) must not land an
    /// older snapshot over a newer one.
    pub(crate) fn save_info(&self) -> Result<(), StateError> {
        let info = self.info.lock().unwrap_or_else(|p| p.into_inner());
        self.state.write_run(&info)
    }
}

impl Shared {
    /// The transforms of a table's columns.
    pub(crate) fn rules_for(
        &self,
        table: &str,
    ) -> BTreeMap<String, Arc<dyn crate::transform::Transform>> {
        self.rules
            .table(table)
            .map(|t| {
                t.columns
                    .iter()
                    .map(|(c, r)| (c.clone(), r.transform.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The table's row count before masking, once recorded.
    pub(crate) fn rows_before(&self, table: &str) -> Option<u64> {
        self.info
            .lock()
            .ok()
            .and_then(|i| i.rows_before.get(table).copied())
    }

    /// Whether the table's fingerprints are sealed and recorded.
    pub(crate) fn fingerprinted(&self, table: &str) -> bool {
        self.info
            .lock()
            .map(|i| i.fingerprinted.contains_key(table))
            .unwrap_or(false)
    }

    /// No fingerprint files left of the table from an attempt that did not finish them.
    pub(crate) fn remove_fingerprints(&self, table: &str) -> Result<(), StateError> {
        let dir = self.state.fingerprint_dir(table);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| StateError {
                path: dir.clone(),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }
}

/// One transaction on `$conn`: `BEGIN`, the body (steps that fail with a `DbError`, evaluating
/// to the transaction's value), `COMMIT`; gives `Result<_, RunError>`. The server may choose
/// it as a deadlock's victim (MySQL 1213, PostgreSQL 40P01: parallel slices insert into the same
/// new table, and every table's chunks update the same progress table): it rolled the whole
/// transaction back, so the transaction runs again, up to 8 times with backoff. Any other
/// error rolls back and is returned. The body must be safe to run again (it is, by the rollback).
macro_rules! transaction {
    ($conn:expr, $body:expr) => {{
        let mut attempt = 0u32;
        loop {
            let r: Result<_, $crate::db::DbError> = async {
                $conn.exec("BEGIN").await?;
                let value = $body;
                $conn.exec("COMMIT").await?;
                Ok(value)
            }
            .await;
            match r {
                Err(e) if e.is_deadlock() && attempt < 8 => {
                    let _ = $conn.exec("ROLLBACK").await;
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                }
                r => break $crate::run::shared::rollback_on_error($conn, r).await,
            }
        }
    }};
}
pub(crate) use transaction;

pub(crate) async fn rollback_on_error<T>(
    conn: &mut Conn,
    r: Result<T, DbError>,
) -> Result<T, RunError> {
    match r {
        Ok(v) => Ok(v),
        Err(e) => {
            let _ = conn.exec("ROLLBACK").await;
            Err(e.into())
        }
    }
}

pub(crate) fn report_progress(
    shared: &Shared,
    table: &str,
    rows: u64,
    total: u64,
    start_rows: u64,
    t0: Instant,
    added: u64,
) {
    let elapsed = t0.elapsed().as_secs_f64().max(1e-6);
    let rate = (rows - start_rows) as f64 / elapsed;
    let total = total.max(rows);
    let (overall_rows, overall_total) = match shared.overall_done.lock() {
        Ok(mut o) => {
            o.0 += added;
            o.1 = o.1.max(o.0);
            *o
        }
        Err(_) => (0, 0),
    };
    let overall_elapsed = shared.started.elapsed().as_secs_f64().max(1e-6);
    let overall_rate = overall_rows as f64 / overall_elapsed;
    let eta = |left: u64, rate: f64| (rate > 0.0).then(|| left as f64 / rate);
    shared.emit(Event::Progress(Progress {
        table: table.to_string(),
        rows,
        table_total: total,
        rows_per_s: rate,
        table_eta_s: eta(total - rows, rate),
        overall_rows,
        overall_total,
        overall_eta_s: eta(overall_total - overall_rows, overall_rate),
    }));
}

/// A task that is stopped when its handle is dropped (a failed copy stops its fingerprints).
pub(crate) struct AbortOnDrop<T>(pub(crate) tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
