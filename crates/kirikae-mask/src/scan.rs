//! Reading a whole table by key ranges, chunk by chunk (fingerprinting the originals before a
//! run, and `verify` after it): no long-running statement, memory bounded by the chunk.

use crate::db::{Conn, DbError, DbResult, FlatRows};
use crate::plan;

/// Reads `table` by ranges of `key` on `reader`, a connection of its own: each row is the key's
/// texts, then `select`; calls `each` with each chunk of at most `chunk` rows, in key order.
/// At most three chunks are held at once (see [`Chunks`]).
pub async fn by_key_ranges<E: From<DbError>>(
    reader: Conn,
    table: &str,
    key: &[String],
    select: &[String],
    chunk: u64,
    mut each: impl FnMut(&FlatRows) -> Result<(), E>,
) -> Result<(), E> {
    let mut chunks = Chunks::read(reader, table, key, select, chunk, None, |rows| rows);
    while let Some(rows) = chunks.next().await {
        each(&rows?)?;
    }
    Ok(())
}

/// A walk of a table by ranges of its key, chunk by chunk in key order, read on a task of its
/// own one chunk ahead: the server produces the next chunk while the caller handles this one (at
/// 10M rows, reading and handling one after the other left each side idle half the time).
/// Each row is the key's texts, then the selected columns. The walk ends with the first chunk
/// shorter than the chunk size, which is still given (empty when the rows came out even).
/// Dropping it stops the reads.
pub(crate) struct Chunks<T> {
    rx: tokio::sync::mpsc::Receiver<DbResult<T>>,
    task: tokio::task::JoinHandle<()>,
}

impl<T: Send + 'static> Chunks<T> {
    /// Starts the walk of `table` on `reader` (a connection of its own) after the key `after`
    /// (texts), or from the start. `select` is evaluated over the table aliased
    /// [`plan::SRC`]. Each chunk is handed to `then` on the reading task as soon as it is read
    /// (the load path starts masking it there), and what `then` gives is what [`Chunks::next`]
    /// gives.
    pub(crate) fn read(
        reader: Conn,
        table: &str,
        key: &[String],
        select: &[String],
        chunk: u64,
        after: Option<Vec<String>>,
        mut then: impl FnMut(FlatRows) -> T + Send + 'static,
    ) -> Chunks<T> {
        let d = reader.dialect();
        let chunk = chunk.max(1);
        // Qualified: PostgreSQL names the output column `("id")::text` "id", and an unqualified
        // `ORDER BY id` sorts by that text ("10" before "2"), which made the key-range walk
        // skip rows.
        let pre = format!("{}.", plan::SRC);
        let mut cols: Vec<String> = key
            .iter()
            .map(|k| d.as_text(&format!("{pre}{}", d.ident(k))))
            .collect();
        cols.extend(select.iter().cloned());
        let head = format!(
            "SELECT {} FROM {} AS {}",
            cols.join(", "),
            d.ident(table),
            plan::SRC
        );
        let order = plan::key_order(d, &pre, key);
        let key = key.to_vec();
        let (tx, rx) = tokio::sync::mpsc::channel::<DbResult<T>>(1);
        let task = tokio::spawn(async move {
            let mut reader = reader;
            let mut last = after;
            let mut hint = (0, 0);
            loop {
                let where_ = last
                    .as_ref()
                    .map(|l| format!(" WHERE {}", plan::key_after(d, &pre, &key, l)))
                    .unwrap_or_default();
                let rows = reader
                    .flat_rows(
                        &format!("{head}{where_} ORDER BY {order} LIMIT {chunk}"),
                        hint,
                    )
                    .await;
                let more = match &rows {
                    Ok(r) if r.len() as u64 >= chunk => {
                        hint = r.size();
                        last = Some(
                            r.row(r.len() - 1)
                                .take(key.len())
                                .map(|v| v.unwrap_or_default().to_string())
                                .collect(),
                        );
                        true
                    }
                    _ => false,
                };
                if tx.send(rows.map(&mut then)).await.is_err() || !more {
                    return;
                }
            }
        });
        Chunks { rx, task }
    }

    /// The next chunk; `None` after the last.
    pub(crate) async fn next(&mut self) -> Option<DbResult<T>> {
        self.rx.recv().await
    }
}

impl<T> Drop for Chunks<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}
