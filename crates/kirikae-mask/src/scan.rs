//! Reading a whole table by key ranges, chunk by chunk (fingerprinting the originals before a
//! run, and `verify` after it): no long-running statement, memory bounded by the chunk.

use crate::db::{Conn, DbError, Rows};
use crate::plan;

/// Reads `table` by ranges of `key`: each row is the key's texts, then `select`; calls `each`
/// with each chunk of at most `chunk` rows.
pub async fn by_key_ranges<E: From<DbError>>(
    conn: &mut Conn,
    table: &str,
    key: &[String],
    select: &[String],
    chunk: u64,
    mut each: impl FnMut(&Rows) -> Result<(), E>,
) -> Result<(), E> {
    let d = conn.dialect();
    let nk = key.len();
    let chunk = chunk.max(1);
    // Qualified: PostgreSQL names the output column `("id")::text` "id", and an unqualified
    // `ORDER BY id` sorts by that text ("10" before "2"), which made the key-range walk skip rows.
    let pre = format!("{}.", plan::SRC);
    let mut cols: Vec<String> = key
        .iter()
        .map(|k| d.as_text(&format!("{pre}{}", d.ident(k))))
        .collect();
    cols.extend(select.iter().cloned());
    let mut last: Option<Vec<String>> = None;
    loop {
        let where_ = last
            .as_ref()
            .map(|l| format!(" WHERE {}", plan::key_after(d, &pre, key, l)))
            .unwrap_or_default();
        let rows = conn
            .rows(&format!(
                "SELECT {} FROM {} AS {}{where_} ORDER BY {} LIMIT {chunk}",
                cols.join(", "),
                d.ident(table),
                plan::SRC,
                plan::key_order(d, &pre, key)
            ))
            .await?;
        each(&rows)?;
        let Some(r) = rows.last() else { break };
        last = Some(
            r[..nk]
                .iter()
                .map(|v| v.clone().unwrap_or_default())
                .collect(),
        );
        if (rows.len() as u64) < chunk {
            break;
        }
    }
    Ok(())
}
