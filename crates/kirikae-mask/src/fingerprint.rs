//! Keyed fingerprints of the originals of masked columns: taken by `run` before a table
//! changes, compared by `verify` after (see [`crate::state`] for where they are kept and
//! [`Fingerprinter`] for the key).

use crate::db::{Conn, DbError};
use crate::scan;
use crate::state::{Fingerprinter, StateError};

/// The fingerprints of one row's value: of (key texts, value text) joined by the separator, and
/// of the value text alone; `None` when the value is NULL, and no row fingerprint when a key part
/// is. Computed here rather than in SQL: two keyed MD5s per column and row cost the server more
/// than the masking itself.
pub fn row_fingerprints<K: AsRef<str>>(
    fp: &Fingerprinter,
    key: &[Option<K>],
    value: Option<&str>,
) -> Option<(Option<u64>, u64)> {
    let v = value?;
    Some((row_fingerprint(fp, key, v), value_fingerprint(fp, v)))
}

/// The first of [`row_fingerprints`]: of the row's key texts and its value; `None` when a key
/// part is NULL.
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

/// The second of [`row_fingerprints`]: of the value alone.
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
/// column, `rows` (key and value) and `values`, handed to `sink` chunk by chunk.
pub async fn fingerprint_columns(
    reader: Conn,
    table: &str,
    key: &[String],
    columns: &[String],
    prf: &Fingerprinter,
    mut sink: impl FnMut(&str, &str, &[u64]) -> Result<(), StateError>,
    chunk: u64,
) -> Result<(), FingerprintError> {
    if columns.is_empty() {
        return Ok(());
    }
    let d = reader.dialect();
    let select: Vec<String> = columns.iter().map(|c| d.as_text(&d.ident(c))).collect();
    let nk = key.len();
    scan::by_key_ranges(reader, table, key, &select, chunk, |rows| {
        // The chunk's values, row after row, unpacked once for all the columns.
        let width = nk + columns.len();
        let mut cells: Vec<Option<&str>> = Vec::with_capacity(rows.len() * width);
        for r in 0..rows.len() {
            cells.extend(rows.row(r));
        }
        for (i, c) in columns.iter().enumerate() {
            let mut by_row = Vec::with_capacity(rows.len());
            let mut by_value = Vec::with_capacity(rows.len());
            for row in cells.chunks_exact(width) {
                if let Some((fr, fv)) = row_fingerprints(prf, &row[..nk], row[nk + i]) {
                    by_row.extend(fr);
                    by_value.push(fv);
                }
            }
            sink(c, "rows", &by_row)?;
            sink(c, "values", &by_value)?;
        }
        Ok::<(), FingerprintError>(())
    })
    .await
}
