//! Reading a whole table by key ranges, chunk by chunk (fingerprinting the originals before a
//! run, and `verify` after it): no long-running statement, memory bounded by the chunk.

use crate::db::{Conn, DbError, DbResult, FlatRows};
use crate::plan;

/// Reads `table` by ranges of `key` on `reader`, a connection of its own: each row is the key's
/// texts, then `select`; calls `each` with each chunk of at most `chunk` rows, in key order.
///
/// The reads run on a task of their own, one chunk ahead: the server produces the next chunk
/// while `each` handles this one (at 10M rows, reading and handling one after the other left
/// each side idle half the time). At most three chunks are held at once.
pub async fn by_key_ranges<E: From<DbError>>(
    reader: Conn,
    table: &str,
    key: &[String],
    select: &[String],
    chunk: u64,
    mut each: impl FnMut(&FlatRows) -> Result<(), E>,
) -> Result<(), E> {
    let d = reader.dialect();
    let chunk = chunk.max(1);
    // Qualified: PostgreSQL names the output column `("id")::text` "id", and an unqualified
    // `ORDER BY id` sorts by that text ("10" before "2"), which made the key-range walk skip rows.
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
    let (tx, mut rx) = tokio::sync::mpsc::channel::<DbResult<FlatRows>>(1);
    let read = tokio::spawn(async move {
        let mut reader = reader;
        let mut last: Option<Vec<String>> = None;
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
            if tx.send(rows).await.is_err() || !more {
                return;
            }
        }
    });
    let handled = async {
        while let Some(rows) = rx.recv().await {
            each(&rows?)?;
        }
        Ok(())
    }
    .await;
    read.abort();
    handled
}
