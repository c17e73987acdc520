//! The `load` path: the whole table is read by key range, its masked columns are masked in Rust
//! (and the keyed fingerprints of their originals taken in the same pass), and the rows are
//! bulk-loaded (`LOAD DATA LOCAL INFILE` / `COPY`) straight into the new table.
//!
//! Three stages overlap: a reader connection selects the next chunk while the previous one is
//! masked on a blocking thread and the one before that is loaded and committed on the run's own
//! connection. Each chunk's load and its progress row commit together, so `--resume` starts
//! after the last committed chunk and no row is loaded twice. Fingerprints of a chunk are
//! appended to the state directory before its commit; a chunk redone after a crash appends them
//! again, which the sealed (sorted, deduplicated) files absorb.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use super::error::RunError;
use super::shared::{report_progress, transaction, Shared};
use crate::db::progress::{self, ProgressState};
use crate::db::{self, Conn, DbError, FlatRows};
use crate::fingerprint::{self, row_fingerprint, value_fingerprint};
use crate::plan::{self, TablePlan};
use crate::prf::Prf;
use crate::scan::Chunks;
use crate::state;
use crate::transform::{RowView, Transform};

/// One chunk, masked and encoded for the loader.
struct Masked {
    data: Vec<u8>,
    rows: u64,
    /// The chunk's last key (texts).
    last: Vec<String>,
    /// Per masked column: fingerprints of (key, original), and of the original alone where the
    /// column keeps them ([`fingerprint::by_value`]; empty otherwise).
    fingerprints: Vec<(Vec<u64>, Vec<u64>)>,
    more: bool,
}

/// What the masking of a chunk needs, shared by the blocking threads.
struct Masker {
    /// The columns read and written, in the new table's insert order.
    columns: Vec<String>,
    key_len: usize,
    /// (index into `columns`, transform, fingerprinted by value too) of each masked column, in
    /// evaluation order.
    masked: Vec<(usize, Arc<dyn Transform>, bool)>,
    prf: Prf,
    fp_prf: state::Fingerprinter,
}

impl Masker {
    fn mask(&self, rows: FlatRows, n: u64) -> Masked {
        let nk = self.key_len;
        // The encoded rows are about as long as the text read, plus escapes and separators.
        let mut data = Vec::with_capacity(rows.size().0 + rows.size().1 * 2 + 1024);
        let mut fingerprints: Vec<(Vec<u64>, Vec<u64>)> = self
            .masked
            .iter()
            .map(|(_, _, by_value)| {
                (
                    Vec::with_capacity(rows.len()),
                    Vec::with_capacity(if *by_value { rows.len() } else { 0 }),
                )
            })
            .collect();
        let mut slots: Vec<Option<Option<String>>> = vec![None; self.columns.len()];
        // Reused from row to row: the row's key and original values, borrowed from `rows`.
        let mut key: Vec<Option<&str>> = Vec::with_capacity(nk);
        let mut original: Vec<Option<&str>> = Vec::with_capacity(self.columns.len());
        for row in 0..rows.len() {
            let mut values = rows.row(row);
            key.clear();
            key.extend(values.by_ref().take(nk));
            original.clear();
            original.extend(values);
            slots.iter_mut().for_each(|s| *s = None);
            for (j, (i, t, by_value)) in self.masked.iter().enumerate() {
                if let Some(v) = original[*i] {
                    fingerprints[j]
                        .0
                        .extend(row_fingerprint(&self.fp_prf, &key, v));
                    if *by_value {
                        fingerprints[j].1.push(value_fingerprint(&self.fp_prf, v));
                    }
                }
                let value = {
                    let view = RowView {
                        columns: &self.columns,
                        original: &original,
                        masked: &slots,
                    };
                    t.apply(original[*i], &view, &self.prf)
                };
                slots[*i] = Some(value);
            }
            db::encode_text_fields(
                &mut data,
                original.iter().zip(&slots).map(|(o, m)| match m {
                    Some(m) => m.as_deref(),
                    None => *o,
                }),
            );
        }
        // The loop left the last row's key in `key`.
        let last = key
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect();
        Masked {
            data,
            rows: rows.len() as u64,
            last,
            fingerprints,
            more: rows.len() as u64 == n,
        }
    }
}

/// A chunk being masked.
type Pending = tokio::task::JoinHandle<Masked>;

/// Copies the table into `new` from after `last`; returns the rows copied in all.
pub(crate) async fn copy(
    conn: &mut Conn,
    plan: &TablePlan,
    new: &str,
    last: Option<Vec<String>>,
    mut rows: u64,
    shared: &Shared,
) -> Result<u64, RunError> {
    let d = conn.dialect();
    let table = plan.table.clone();
    let n = shared.opts.chunk_rows.max(1);
    let total = shared.rows_before(&table).unwrap_or(plan.rows_estimate);
    let rules: BTreeMap<String, Arc<dyn Transform>> = shared.rules_for(&table);
    let columns = plan.stream_reads.clone();
    let masker = Arc::new(Masker {
        key_len: plan.key.len(),
        masked: plan
            .streamed
            .iter()
            .filter_map(|c| {
                let i = columns.iter().position(|x| x == c)?;
                let t = rules.get(c)?;
                Some((i, t.clone(), fingerprint::by_value(t.as_ref())))
            })
            .collect(),
        columns: columns.clone(),
        prf: shared.prf.clone(),
        fp_prf: shared.fp_prf.clone(),
    });
    // The reader: its own connection, one chunk ahead of the masking, two ahead of the load.
    let select: Vec<String> = columns
        .iter()
        .map(|c| format!("{}.{}", plan::SRC, d.ident(c)))
        .collect();
    // Each chunk read is masked on a blocking thread at once, while the ones before it load.
    let to_mask = masker.clone();
    let mut chunks = Chunks::read(
        Conn::connect(&shared.url).await?,
        &table,
        &plan.key,
        &select,
        n,
        last,
        move |rows| -> Pending {
            let m = to_mask.clone();
            tokio::task::spawn_blocking(move || m.mask(rows, n))
        },
    );
    let t0 = Instant::now();
    let start_rows = rows;
    while let Some(next) = chunks.next().await {
        let m = next?
            .await
            .map_err(|e| RunError::Failed(format!("masking a chunk of {table} failed: {e}")))?;
        for (j, c) in plan.streamed.iter().enumerate() {
            let (by_row, by_value) = &m.fingerprints[j];
            state::append_fingerprints(
                &shared
                    .state
                    .fingerprint_file(&table, c, fingerprint::BY_ROW),
                by_row,
            )?;
            if masker.masked[j].2 {
                state::append_fingerprints(
                    &shared
                        .state
                        .fingerprint_file(&table, c, fingerprint::BY_VALUE),
                    by_value,
                )?;
            }
        }
        let state_name = if m.more {
            ProgressState::Copying
        } else {
            ProgressState::Copied
        };
        let last = (m.rows > 0).then_some(m.last.as_slice());
        let data = bytes::Bytes::from(m.data);
        transaction!(conn, {
            db::work::relax_chunk_commit(conn).await?;
            if m.rows > 0 {
                let loaded = conn.load(new, &columns, data.clone()).await?;
                if loaded != m.rows {
                    return Err(DbError::Other(format!(
                        "bulk load into {new}: {loaded} rows were loaded of the {} read from \
                         {table}",
                        m.rows
                    )));
                }
                db::fault("load_after_chunk")?;
            }
            conn.exec(&progress::set(d, &table, state_name, last, m.rows))
                .await?;
        })?;
        rows += m.rows;
        report_progress(shared, &table, rows, total, start_rows, t0, m.rows);
        if !m.more {
            break;
        }
    }
    Ok(rows)
}
