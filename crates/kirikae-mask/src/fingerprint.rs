//! Keyed fingerprints of the originals of masked columns: taken by `run` before a table
//! changes, compared by `verify` after (see [`crate::state`] for where they are kept and
//! [`Fingerprinter`] for the key).

use crate::db::{Conn, DbError};
use crate::scan;
use crate::state::{Fingerprinter, StateError};
use crate::transform::Transform;

/// The fingerprint file of (key, value) of each row, kept for every masked column.
pub const BY_ROW: &str = "rows";
/// The fingerprint file of values alone, kept only where [`by_value`] says.
pub const BY_VALUE: &str = "values";

/// Whether a masked column's originals are also fingerprinted by value alone: only under a
/// transform that keeps values unique, the one kind `verify` looks an original up for without
/// its row (`original_elsewhere`). At 10M rows each such file is 80 MB written, sorted and
/// synced, so the other columns go without.
pub fn by_value(transform: &dyn Transform) -> bool {
    transform.preserves_uniqueness()
}

/// The fingerprint files a masked column under `transform` gets.
pub fn files(transform: &dyn Transform) -> &'static [&'static str] {
    if by_value(transform) {
        &[BY_ROW, BY_VALUE]
    } else {
        &[BY_ROW]
    }
}

/// The fingerprint of a row's value: of (key texts, value text) joined by the separator; `None`
/// when a key part is NULL. Computed here rather than in SQL: keyed MD5s per column and row cost
/// the server more than the masking itself.
pub fn row_fingerprint<K: AsRef<str>>(
    fp: &Fingerprinter,
    key: &[Option<K>],
    v: &str,
) -> Option<u64> {
    match key {
        [Some(k)] => Some(fp.of(&[k.as_ref(), v])),
        _ => {
            let mut parts: Vec<&str> = Vec::with_capacity(key.len() + 1);
            for k in key {
                parts.push(k.as_ref()?.as_ref());
            }
            parts.push(v);
            Some(fp.of(&parts))
        }
    }
}

/// The fingerprint of a value alone (kept where [`by_value`] says).
pub fn value_fingerprint(fp: &Fingerprinter, v: &str) -> u64 {
    fp.of(&[v])
}

/// Why fingerprinting a table stopped.
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// Fingerprints of `columns` of `table`, read on `reader` (a connection of its own): for each
/// column, [`BY_ROW`] (key and value) and, where `columns` says so ([`by_value`]), [`BY_VALUE`],
/// handed to `sink` chunk by chunk.
pub async fn fingerprint_columns(
    reader: Conn,
    table: &str,
    key: &[String],
    columns: &[(String, bool)],
    prf: &Fingerprinter,
    mut sink: impl FnMut(&str, &str, &[u64]) -> Result<(), StateError>,
    chunk: u64,
) -> Result<(), FingerprintError> {
    if columns.is_empty() {
        return Ok(());
    }
    let d = reader.dialect();
    let select: Vec<String> = columns
        .iter()
        .map(|(c, _)| d.as_text(&d.ident(c)))
        .collect();
    let nk = key.len();
    scan::by_key_ranges(reader, table, key, &select, chunk, |rows| {
        // The chunk's values, row after row, unpacked once for all the columns.
        let width = nk + columns.len();
        let mut cells: Vec<Option<&str>> = Vec::with_capacity(rows.len() * width);
        for r in 0..rows.len() {
            cells.extend(rows.row(r));
        }
        for (i, (c, with_value)) in columns.iter().enumerate() {
            let mut rows_fps = Vec::with_capacity(rows.len());
            let mut values_fps = Vec::with_capacity(if *with_value { rows.len() } else { 0 });
            for row in cells.chunks_exact(width) {
                let Some(v) = row[nk + i] else { continue };
                rows_fps.extend(row_fingerprint(prf, &row[..nk], v));
                if *with_value {
                    values_fps.push(value_fingerprint(prf, v));
                }
            }
            sink(c, BY_ROW, &rows_fps)?;
            if *with_value {
                sink(c, BY_VALUE, &values_fps)?;
            }
        }
        Ok::<(), FingerprintError>(())
    })
    .await
}
