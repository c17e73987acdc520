//! The server-side paths (`rebuild`: `INSERT ... SELECT` into the new table; `update`: UPDATEs
//! in place) by key range, on parallel connections. The table's key range is cut into slices of
//! about equal row counts when the copy starts; each slice is copied chunk by chunk on its own
//! connection, and each chunk commits with its slice's progress row (its last key and rows) and
//! the table's row count, so a resumed run continues every slice after its last committed chunk
//! and masks no row twice.
//!
//! Progress rows: the table's own (`tbl` = the table) and one per slice
//! (`tbl` = `_kirikae_slice_<k>_<table>`: `last_key` is where the slice has got to, starting at
//! the slice's lower bound, `plan` its upper bound, JSON, `null` for the last slice).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::error::RunError;
use super::shared::{report_progress, transaction, Shared};
use super::{rebuild, update};
use crate::db::progress::{self, ProgressState};
use crate::db::{self, Conn, DbError, WORK_PREFIX};
use crate::plan::{self, Path, TablePlan, SRC};
use crate::transform::Dialect;

/// A slice: its progress row, where it has got to, and its inclusive upper bound.
#[derive(Debug, Clone)]
struct Slice {
    name: String,
    last: Option<Vec<String>>,
    hi: Option<Vec<String>>,
    done: bool,
}

fn slice_name(k: usize, table: &str) -> String {
    format!("{WORK_PREFIX}slice_{k}_{table}")
}

fn parse_slice(name: &str, table: &str) -> Option<usize> {
    let rest = name.strip_prefix(&format!("{WORK_PREFIX}slice_"))?;
    let (k, t) = rest.split_once('_')?;
    (t == table).then(|| k.parse().ok()).flatten()
}

/// The statements of a chunk: the head to which the chunk's key conditions are added.
struct Heads {
    insert: String,
    update: Option<(String, Option<String>)>,
}

impl Heads {
    fn statement(&self, path: Path, src: &str, conds: &[String]) -> String {
        match (&self.update, path) {
            (Some((head, filter)), Path::Update) => {
                let mut conds = conds.to_vec();
                conds.extend(filter.iter().cloned());
                if conds.is_empty() {
                    head.clone()
                } else {
                    format!("{head} WHERE {}", conds.join(" AND "))
                }
            }
            _ if conds.is_empty() => format!("{} FROM {src}", self.insert),
            _ => format!("{} FROM {src} WHERE {}", self.insert, conds.join(" AND ")),
        }
    }
}

fn heads(d: Dialect, plan: &TablePlan, new: &str) -> Heads {
    Heads {
        insert: rebuild::insert_head(d, plan, new),
        update: update::update_head(d, plan),
    }
}

fn key_texts(d: Dialect, key: &[String]) -> Vec<String> {
    key.iter()
        .map(|k| d.as_text(&format!("{SRC}.{}", d.ident(k))))
        .collect()
}

/// The key at `offset` rows after `after` (within `hi`), if there is one.
async fn key_at(
    conn: &mut Conn,
    plan: &TablePlan,
    after: Option<&[String]>,
    hi: Option<&[String]>,
    offset: u64,
) -> Result<Option<Vec<String>>, DbError> {
    let d = conn.dialect();
    let pre = format!("{SRC}.");
    let mut conds = Vec::new();
    if let Some(a) = after {
        conds.push(plan::key_after(d, &pre, &plan.key, a));
    }
    if let Some(h) = hi {
        conds.push(plan::key_upto(d, &pre, &plan.key, h));
    }
    let sql = format!(
        "SELECT {} FROM {} AS {SRC}{} ORDER BY {} LIMIT 1 OFFSET {offset}",
        key_texts(d, &plan.key).join(", "),
        d.ident(&plan.table),
        if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        },
        plan::key_order(d, &pre, &plan.key),
    );
    Ok(conn
        .rows(&sql)
        .await?
        .into_iter()
        .next()
        .map(|r| r.into_iter().map(|v| v.unwrap_or_default()).collect()))
}

/// The slices of a table whose copy is under way: read back, or cut now (none when the table
/// is copied as one range: small, `--parallel 1`, or a copy started as one range).
async fn slices(
    conn: &mut Conn,
    plan: &TablePlan,
    fresh: bool,
    shared: &Shared,
) -> Result<Vec<Slice>, RunError> {
    let d = conn.dialect();
    let mut found: Vec<(usize, Slice)> =
        progress::rows_named(conn, |name| parse_slice(name, &plan.table).is_some())
            .await?
            .into_iter()
            .filter_map(|(name, row)| {
                let k = parse_slice(&name, &plan.table)?;
                // A slice's `plan` is its upper bound, JSON (`null` for the last slice).
                let hi = row
                    .plan
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<Option<Vec<String>>>(s).ok())
                    .flatten();
                Some((
                    k,
                    Slice {
                        name,
                        done: row.state == ProgressState::Copied,
                        last: row.last_key,
                        hi,
                    },
                ))
            })
            .collect();
    if !found.is_empty() || !fresh {
        found.sort_by_key(|(k, _)| *k);
        return Ok(found.into_iter().map(|(_, s)| s).collect());
    }
    let parallel = shared.opts.parallel.max(1) as u64;
    let known = shared.rows_before(&plan.table);
    // The fingerprints (and their row count) may still be under way on their own connection;
    // the catalogue's estimate can be anything for a table just loaded.
    let total = match known {
        Some(n) => n,
        None => conn.row_count(&plan.table).await?,
    };
    // Slices worth a connection each: at least two chunks.
    let count = parallel
        .min(total / (2 * shared.opts.chunk_rows.max(1)))
        .max(1);
    if count < 2 {
        return Ok(Vec::new());
    }
    let mut bounds = Vec::new();
    for k in 1..count {
        match key_at(conn, plan, None, None, k * total / count).await? {
            Some(b) if bounds.last() != Some(&b) => bounds.push(b),
            _ => {}
        }
    }
    if bounds.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for k in 0..=bounds.len() {
        out.push(Slice {
            name: slice_name(k, &plan.table),
            last: if k == 0 {
                None
            } else {
                Some(bounds[k - 1].clone())
            },
            hi: bounds.get(k).cloned(),
            done: false,
        });
    }
    let json = |v: &Option<Vec<String>>| serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    let rows: Vec<(String, String, String)> = out
        .iter()
        .map(|s| (s.name.clone(), json(&s.last), json(&s.hi)))
        .collect();
    conn.exec(&progress::insert_slices(d, &rows)).await?;
    Ok(out)
}

/// Copies (rebuild) or updates (update) the table from after `last`, in slices on parallel
/// connections where the table is cut into slices; returns the table's rows done in all.
pub(crate) async fn copy(
    conn: &mut Conn,
    plan: &TablePlan,
    new: &str,
    last: Option<Vec<String>>,
    rows: u64,
    shared: &Arc<Shared>,
) -> Result<u64, RunError> {
    let d = conn.dialect();
    let table = plan.table.clone();
    let fresh = last.is_none() && rows == 0;
    let slices = slices(conn, plan, fresh, shared).await?;
    let total = shared.rows_before(&table).unwrap_or(plan.rows_estimate);
    let counter = Arc::new(AtomicU64::new(rows));
    let t0 = Instant::now();
    let heads = Arc::new(heads(d, plan, new));
    if slices.is_empty() {
        let one = Slice {
            name: table.clone(),
            last,
            hi: None,
            done: false,
        };
        copy_slice(conn, plan, &heads, one, None, shared, &counter, total, t0).await?;
        return Ok(counter.load(Ordering::SeqCst));
    }
    let names: Vec<String> = slices.iter().map(|s| s.name.clone()).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for s in slices.into_iter().filter(|s| !s.done) {
        let (plan, heads, shared, counter) =
            (plan.clone(), heads.clone(), shared.clone(), counter.clone());
        let table = table.clone();
        tasks.spawn(async move {
            let mut c = Conn::connect(&shared.url).await?;
            copy_slice(
                &mut c,
                &plan,
                &heads,
                s,
                Some(&table),
                &shared,
                &counter,
                total,
                t0,
            )
            .await
        });
    }
    let mut first_error = None;
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap_or_else(|e| Err(RunError::Failed(format!("a slice failed: {e}"))));
        if let Err(e) = r {
            // The other slices stop; their committed chunks stay committed.
            tasks.abort_all();
            first_error.get_or_insert(e);
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    transaction!(conn, {
        conn.exec(&progress::set(d, &table, ProgressState::Copied, None, 0))
            .await?;
        conn.exec(&progress::delete(d, &names)).await?;
    })?;
    Ok(counter.load(Ordering::SeqCst))
}

/// One slice (or the whole table, `main` = None), chunk by chunk.
#[allow(clippy::too_many_arguments)]
async fn copy_slice(
    conn: &mut Conn,
    plan: &TablePlan,
    heads: &Heads,
    slice: Slice,
    main: Option<&str>,
    shared: &Shared,
    counter: &AtomicU64,
    total: u64,
    t0: Instant,
) -> Result<(), RunError> {
    let d = conn.dialect();
    let n = shared.opts.chunk_rows.max(1);
    let pre = format!("{SRC}.");
    let src = format!("{} AS {SRC}", d.ident(&plan.table));
    let start_rows = counter.load(Ordering::SeqCst);
    let mut last = slice.last;
    loop {
        let upper = key_at(conn, plan, last.as_deref(), slice.hi.as_deref(), n - 1).await?;
        let mut conds: Vec<String> = last
            .iter()
            .map(|l| plan::key_after(d, &pre, &plan.key, l))
            .collect();
        if let Some(u) = upper.as_ref().or(slice.hi.as_ref()) {
            conds.push(plan::key_upto(d, &pre, &plan.key, u));
        }
        let statement = heads.statement(plan.path, &src, &conds);
        let state = if upper.is_some() {
            ProgressState::Copying
        } else {
            ProgressState::Copied
        };
        // Slices insert into the same new table and update the same progress row: the server
        // may pick a chunk as a deadlock's victim, and `transaction!` runs it again.
        let added = transaction!(conn, {
            db::work::relax_chunk_commit(conn).await?;
            let added = conn.exec_count(&statement).await?;
            conn.exec(&progress::set(
                d,
                &slice.name,
                state,
                upper.as_deref(),
                added,
            ))
            .await?;
            if let Some(m) = main {
                conn.exec(&progress::set(d, m, ProgressState::Copying, None, added))
                    .await?;
            }
            added
        })?;
        let rows = counter.fetch_add(added, Ordering::SeqCst) + added;
        report_progress(shared, &plan.table, rows, total, start_rows, t0, added);
        if upper.is_none() {
            return Ok(());
        }
        last = upper;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_names_belong_to_their_table_only() {
        let n = slice_name(3, "users_x");
        assert_eq!(parse_slice(&n, "users_x"), Some(3));
        assert_eq!(parse_slice(&n, "users"), None);
        assert_eq!(parse_slice(&slice_name(0, "users"), "users_x"), None);
        assert_eq!(parse_slice("users", "users"), None);
    }
}
