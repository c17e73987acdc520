//! The run's side of fingerprinting ([`crate::fingerprint`]): the originals of a table's masked
//! columns fingerprinted into the state directory before the table changes, the files sealed,
//! and the table's row count and key recorded for `verify`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::error::RunError;
use super::report::Event;
use super::shared::Shared;
use crate::db::Conn;
use crate::fingerprint::{self, FingerprintError};
use crate::plan::TablePlan;
use crate::state;
use crate::transform::Transform;

impl From<FingerprintError> for RunError {
    fn from(e: FingerprintError) -> RunError {
        match e {
            FingerprintError::Db(e) => RunError::Db(e),
            FingerprintError::State(e) => RunError::State(e),
        }
    }
}

/// Before a `load` copy starts afresh: the row count, the key, and no fingerprint files left
/// from an attempt that never got its progress row.
pub(super) async fn start(
    conn: &mut Conn,
    plan: &TablePlan,
    shared: &Shared,
) -> Result<(), RunError> {
    shared.remove_fingerprints(&plan.table)?;
    record_count(conn, plan, shared).await
}

/// The table's row count before masking, and its key, recorded for `verify`.
async fn record_count(conn: &mut Conn, plan: &TablePlan, shared: &Shared) -> Result<(), RunError> {
    let count = conn.row_count(&plan.table).await?;
    if let Ok(mut i) = shared.info.lock() {
        i.rows_before.insert(plan.table.clone(), count);
        i.keys.insert(plan.table.clone(), plan.key.clone());
    }
    shared.save_info()?;
    Ok(())
}

/// Once every original is fingerprinted (by [`take`], or by a `load` copy's own
/// pass): the fingerprint files of the masked columns sorted (a column with no file, as in a
/// table with no rows, gets an empty one), and the table recorded as fingerprinted.
pub(super) fn seal(plan: &TablePlan, shared: &Shared) -> Result<(), RunError> {
    let table = &plan.table;
    let rules = shared.rules_for(table);
    let mut files = Vec::new();
    for c in &plan.masked {
        for what in column_files(&rules, c) {
            let f = shared.state.fingerprint_file(table, c, what);
            if !f.exists() {
                state::append_fingerprints(&f, &[])?;
            }
            files.push(f);
        }
    }
    seal_files(&files)?;
    let rows = {
        let mut i = shared.info.lock().map_err(|_| {
            RunError::Failed("the run's state was poisoned by a failed worker".into())
        })?;
        i.fingerprinted.insert(table.clone(), plan.masked.clone());
        i.rows_before.get(table).copied().unwrap_or(0)
    };
    shared.save_info()?;
    shared.emit(Event::Fingerprinted {
        table: table.clone(),
        rows,
        columns: plan.masked.clone(),
    });
    Ok(())
}

/// The fingerprint files of masked column `c`: those of its rule ([`fingerprint::files`]), or
/// both kinds for a column without one.
fn column_files(rules: &BTreeMap<String, Arc<dyn Transform>>, c: &str) -> &'static [&'static str] {
    rules
        .get(c)
        .map(|t| fingerprint::files(t.as_ref()))
        .unwrap_or(&[fingerprint::BY_ROW, fingerprint::BY_VALUE])
}

/// Seals `files` on all cores but one (each file is sorted on its own): the load path seals
/// while the server builds the table's indexes, and the core left is the server's (MariaDB
/// builds them on one thread).
fn seal_files(files: &[std::path::PathBuf]) -> Result<(), RunError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_sub(1)
        .clamp(1, files.len().max(1));
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| -> Result<(), state::StateError> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(f) = files.get(i) else {
                            return Ok(());
                        };
                        state::seal(f)?;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| {
                RunError::Failed("sealing the fingerprint files failed (a thread panicked)".into())
            })??;
        }
        Ok(())
    })
}

/// The table's row count; then fingerprints of the originals of its masked columns, by key
/// range, into the state directory, read on `reader` (a connection of their own: the original
/// does not change before they are sealed).
pub(super) async fn take(
    mut reader: Conn,
    plan: &TablePlan,
    shared: &Shared,
) -> Result<(), RunError> {
    record_count(&mut reader, plan, shared).await?;
    let table = &plan.table;
    let rules = shared.rules_for(table);
    let columns: Vec<(String, bool)> = plan
        .masked
        .iter()
        .map(|c| {
            let by_value = column_files(&rules, c).contains(&fingerprint::BY_VALUE);
            (c.clone(), by_value)
        })
        .collect();
    fingerprint::fingerprint_columns(
        reader,
        table,
        &plan.key,
        &columns,
        &shared.fp_prf,
        |c, what, fps| {
            state::append_fingerprints(&shared.state.fingerprint_file(table, c, what), fps)
        },
        shared.opts.chunk_rows,
    )
    .await?;
    seal(plan, shared)
}
