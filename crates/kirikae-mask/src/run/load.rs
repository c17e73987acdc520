//! The `load` path: the whole table is read by key range, its masked columns are masked in Rust
//! (and the keyed fingerprints of their originals taken in the same pass), and the rows are
//! bulk-loaded (`LOAD DATA LOCAL INFILE` / `COPY`) straight into the new table.
//!
//! Three stages overlap: a reader connection selects the next chunk while the previous one is
//! masked on a blocking thread and the ones before that are loaded (on MySQL/MariaDB on
//! `--parallel` connections: the run's own and more of their own). Each chunk's load and its
//! progress row commit together, in read order, so `--resume` starts after the last committed
//! chunk and no row is loaded twice. Fingerprints of a chunk are appended to the state directory
//! before its commit; a chunk redone after a crash appends them again, which the sealed (sorted,
//! deduplicated) files absorb.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use super::error::RunError;
use super::shared::{report_progress, transaction, Shared};
use crate::db::progress::{self, ProgressState};
use crate::db::{self, pg_binary, Conn, DbError, FlatRows, LoadData, LoadFormat};
use crate::fingerprint::{self, row_fingerprint, value_fingerprint};
use crate::plan::{self, TablePlan};
use crate::prf::Prf;
use crate::scan::Chunks;
use crate::state;
use crate::transform::{Dialect, RowView, Transform};

/// One chunk, masked and encoded for the loader.
struct Masked {
    data: LoadData,
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
    /// How the new table takes its rows.
    format: LoadFormat,
}

impl Masker {
    /// Masks a chunk and encodes it for its load: in PostgreSQL's binary format where the new
    /// table's types allow, as text where they do not or where a value of this chunk is not
    /// one its codec takes as written (the chunk is then masked again, as text).
    fn mask(&self, rows: FlatRows, n: u64) -> Masked {
        if let LoadFormat::PgBinary(codecs) = &self.format {
            let mut data = Vec::with_capacity(rows.size().0 + rows.size().1 * 4 + 1024);
            pg_binary::begin(&mut data);
            let binary = self.mask_into(
                &rows,
                n,
                data,
                |out, original, masked| {
                    pg_binary::encode_row(out, codecs, written(original, masked))
                },
                |mut data| {
                    pg_binary::end(&mut data);
                    LoadData::PgBinary(data.into())
                },
            );
            if let Ok(m) = binary {
                return m;
            }
        }
        // The encoded rows are about as long as the text read, plus escapes and separators.
        let data = Vec::with_capacity(rows.size().0 + rows.size().1 * 2 + 1024);
        let Ok(m) = self.mask_into(
            &rows,
            n,
            data,
            |out, original, masked| {
                db::encode_text_fields(out, written(original, masked));
                Ok::<(), Infallible>(())
            },
            |data| LoadData::Text(data.into()),
        );
        m
    }

    /// Masks the chunk's rows, appending each to `data` by `encode` (which `finish` closes),
    /// and takes the fingerprints of their originals; stops at the first error of `encode`.
    fn mask_into<E>(
        &self,
        rows: &FlatRows,
        n: u64,
        mut data: Vec<u8>,
        mut encode: impl FnMut(
            &mut Vec<u8>,
            &[Option<&str>],
            &[Option<Option<String>>],
        ) -> Result<(), E>,
        finish: impl FnOnce(Vec<u8>) -> LoadData,
    ) -> Result<Masked, E> {
        let nk = self.key_len;
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
            encode(&mut data, &original, &slots)?;
        }
        // The loop left the last row's key in `key`.
        let last = key
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect();
        Ok(Masked {
            data: finish(data),
            rows: rows.len() as u64,
            last,
            fingerprints,
            more: rows.len() as u64 == n,
        })
    }
}

/// A row's values as written: each masked column's masked value, the others' originals.
fn written<'a>(
    original: &'a [Option<&'a str>],
    masked: &'a [Option<Option<String>>],
) -> impl Iterator<Item = Option<&'a str>> + 'a {
    original.iter().zip(masked).map(|(o, m)| match m {
        Some(m) => m.as_deref(),
        None => *o,
    })
}

/// A chunk being masked.
type Pending = tokio::task::JoinHandle<Masked>;

/// Which chunk commits next. Chunks commit in the order they were read, whichever connection
/// loaded them, so the table's progress row (the last key committed) always has every row before
/// it committed and none after.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Turn {
    /// The chunk of this number (from 0, in read order) commits next.
    Next(u64),
    /// A chunk failed: the chunks after it roll back.
    Stopped,
}

/// What every loader of one table's copy shares.
struct Loading<'a> {
    shared: &'a Shared,
    table: &'a str,
    new: &'a str,
    columns: &'a [String],
    /// The masking, whose columns say which fingerprints a chunk carries.
    masker: &'a Masker,
    turn: tokio::sync::watch::Sender<Turn>,
    /// Masked chunks, numbered in read order, for whichever loader is free.
    chunks: tokio::sync::Mutex<tokio::sync::mpsc::Receiver<(u64, Masked)>>,
    rows: std::sync::atomic::AtomicU64,
    total: u64,
    start_rows: u64,
    t0: Instant,
}

/// Copies the table into `new` from after `last`; returns the rows copied in all.
///
/// On MySQL/MariaDB, chunks are loaded on `--parallel` connections at once (the run's own and
/// more of their own): one loader is a single server thread, and it was most of the copy's time
/// while the client's core waited. Each chunk's load runs as soon as a loader is free; its
/// progress row and commit wait for the chunk before it ([`Turn`]).
pub(crate) async fn copy(
    conn: &mut Conn,
    plan: &TablePlan,
    new: &str,
    last: Option<Vec<String>>,
    rows: u64,
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
        format: LoadFormat::of(conn, new, &columns).await?,
    });
    // The reader: its own connection, one chunk ahead of the masking, two ahead of the load.
    let select: Vec<String> = columns
        .iter()
        .map(|c| format!("{}.{}", plan::SRC, d.ident(c)))
        .collect();
    // Each chunk read is masked on a blocking thread at once, while the ones before it load.
    let to_mask = masker.clone();
    let mut reads = Chunks::read(
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
    // Loaders: the run's connection and, when the table has chunks enough, more of their own.
    // On PostgreSQL one: its copy is bound by kirikae's own CPU, not by the loader, and a second
    // loader made it slower (10M rows: 116.8 s against 107.4 s, bench/mask/RESULTS.md).
    let loaders = match d {
        Dialect::MySql => shared.opts.parallel.max(1) as u64,
        Dialect::Postgres => 1,
    };
    let left = total.saturating_sub(rows).div_ceil(n);
    let mut more_conns = Vec::new();
    for _ in 1..loaders.min(left.max(1)) {
        more_conns.push(Conn::connect(&shared.url).await?);
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<(u64, Masked)>(1);
    let loading = Loading {
        shared,
        table: &table,
        new,
        columns: &columns,
        masker: &masker,
        turn: tokio::sync::watch::channel(Turn::Next(0)).0,
        chunks: tokio::sync::Mutex::new(rx),
        rows: rows.into(),
        total,
        start_rows: rows,
        t0: Instant::now(),
    };
    // The feed: masked chunks in read order, numbered, until the last (or a loader stopped).
    let feed = async move {
        let mut seq = 0u64;
        while let Some(next) = reads.next().await {
            let m = next?.await.map_err(|e| {
                RunError::Failed(format!("masking a chunk of {} failed: {e}", plan.table))
            })?;
            let more = m.more;
            if tx.send((seq, m)).await.is_err() || !more {
                break;
            }
            seq += 1;
        }
        Ok::<(), RunError>(())
    };
    let loaders = std::iter::once(conn)
        .chain(more_conns.iter_mut())
        .map(|c| load_chunks(c, &loading));
    let (fed, loaded) = tokio::join!(feed, futures_util::future::join_all(loaders));
    // A loader's own failure first (the feed stops when the loaders do), then the feed's.
    loaded.into_iter().collect::<Result<(), RunError>>()?;
    fed?;
    Ok(loading.rows.into_inner())
}

/// One loader: takes the next masked chunk, loads it in a transaction, and commits it with the
/// table's progress row in its turn. Ends when the chunks do, or when a chunk failed (its own,
/// returned, or another loader's: then this one's uncommitted chunk rolls back, and `Ok`).
async fn load_chunks(conn: &mut Conn, l: &Loading<'_>) -> Result<(), RunError> {
    let d = conn.dialect();
    let mut turn = l.turn.subscribe();
    loop {
        let Some((seq, m)) = l.chunks.lock().await.recv().await else {
            return Ok(());
        };
        if *l.turn.borrow() == Turn::Stopped {
            return Ok(());
        }
        // Fingerprints go to the state directory before the chunk commits (sealing sorts them,
        // so the order of chunks does not matter, and one redone after a crash is absorbed).
        if let Err(e) = append_fingerprints(l, &m) {
            stop(l).await;
            return Err(e);
        }
        let state_name = if m.more {
            ProgressState::Copying
        } else {
            ProgressState::Copied
        };
        let last = (m.rows > 0).then_some(m.last.as_slice());
        let committed = transaction!(conn, {
            db::work::relax_chunk_commit(conn).await?;
            if m.rows > 0 {
                let loaded = conn.load(l.new, l.columns, &m.data).await?;
                if loaded != m.rows {
                    return Err(DbError::Other(format!(
                        "bulk load into {}: {loaded} rows were loaded of the {} read from {}",
                        l.new, m.rows, l.table
                    )));
                }
                db::fault("load_after_chunk")?;
                db::fault(&format!("load_after_chunk_{seq}"))?;
            }
            if !wait_turn(&mut turn, seq).await {
                return Err(DbError::Other(STOPPED.into()));
            }
            conn.exec(&progress::set(d, l.table, state_name, last, m.rows))
                .await?;
        });
        match committed {
            Ok(()) => {
                l.turn.send_replace(Turn::Next(seq + 1));
            }
            Err(_) if *l.turn.borrow() == Turn::Stopped => return Ok(()),
            Err(e) => {
                stop(l).await;
                return Err(e);
            }
        }
        let rows = l
            .rows
            .fetch_add(m.rows, std::sync::atomic::Ordering::SeqCst)
            + m.rows;
        report_progress(l.shared, l.table, rows, l.total, l.start_rows, l.t0, m.rows);
        if !m.more {
            return Ok(());
        }
    }
}

/// After a chunk failed: the chunks loaded after it roll back instead of committing, and the
/// feed stops (its next chunk finds the queue closed).
async fn stop(l: &Loading<'_>) {
    l.turn.send_replace(Turn::Stopped);
    l.chunks.lock().await.close();
}

/// Why a loader's chunk rolled back when a chunk before it failed.
const STOPPED: &str = "an earlier chunk of the copy failed";

/// Waits until chunk `seq` may commit; false when the copy stopped.
async fn wait_turn(turn: &mut tokio::sync::watch::Receiver<Turn>, seq: u64) -> bool {
    loop {
        match *turn.borrow_and_update() {
            Turn::Next(s) if s == seq => return true,
            Turn::Stopped => return false,
            Turn::Next(_) => {}
        }
        if turn.changed().await.is_err() {
            return false;
        }
    }
}

/// A chunk's fingerprints appended to the column files of the state directory.
fn append_fingerprints(l: &Loading<'_>, m: &Masked) -> Result<(), RunError> {
    for ((i, _, keeps_by_value), (by_row, by_value)) in l.masker.masked.iter().zip(&m.fingerprints)
    {
        let c = &l.masker.columns[*i];
        state::append_fingerprints(
            &l.shared
                .state
                .fingerprint_file(l.table, c, fingerprint::BY_ROW),
            by_row,
        )?;
        if *keeps_by_value {
            state::append_fingerprints(
                &l.shared
                    .state
                    .fingerprint_file(l.table, c, fingerprint::BY_VALUE),
                by_value,
            )?;
        }
    }
    Ok(())
}
