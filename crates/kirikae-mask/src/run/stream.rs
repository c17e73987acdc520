//! The `stream` path: chunk by chunk, the key and the columns masked in Rust are read, masked,
//! loaded into a temporary table, and the chunk is copied into the new table by
//! `INSERT ... SELECT` joined on the key (the other columns masked by their SQL forms), in one
//! transaction with its progress row.

use std::time::Instant;

use super::error::RunError;
use super::rebuild;
use super::shared::{report_progress, transaction, Shared};
use crate::db::progress::{self, ProgressState};
use crate::db::{self, Conn, LoadData};
use crate::plan::{self, Path, TablePlan, SRC, TMP_ALIAS};
use crate::transform::{Dialect, RowView};

fn key_texts(d: Dialect, prefix: &str, key: &[String]) -> Vec<String> {
    key.iter()
        .map(|k| d.as_text(&format!("{prefix}{}", d.ident(k))))
        .collect()
}

/// Copies the table into `new` chunk by chunk from after `last` (each chunk one transaction,
/// with its progress row); returns the rows copied in all.
pub(super) async fn copy(
    conn: &mut Conn,
    plan: &TablePlan,
    new: &str,
    mut last: Option<Vec<String>>,
    mut rows: u64,
    shared: &Shared,
) -> Result<u64, RunError> {
    let d = conn.dialect();
    let n = shared.opts.chunk_rows.max(1);
    let table = &plan.table;
    let src = rebuild::source(d, plan);
    let pre = format!("{SRC}.");
    let total = shared.rows_before(table).unwrap_or(plan.rows_estimate);
    let insert_head = rebuild::insert_head(d, plan, new);
    let tmp = format!("kirikae_tmp_{}", &db::md5_hex(table)[..10]);
    if plan.path == Path::Stream {
        create_tmp(conn, plan, &tmp).await?;
    }
    let t0 = Instant::now();
    let start_rows = rows;
    loop {
        let after = last
            .as_ref()
            .map(|l| plan::key_after(d, &pre, &plan.key, l));
        let (added, next_last, finished) = match plan.path {
            Path::Stream => {
                let (added, next) = stream_chunk(
                    conn,
                    plan,
                    &src,
                    &pre,
                    after.as_deref(),
                    n,
                    &tmp,
                    &insert_head,
                    shared,
                )
                .await?;
                let finished = next.is_none();
                (added, next.or(last.clone()), finished)
            }
            Path::Keep | Path::Load | Path::Rebuild | Path::Update => (0, None, true),
        };
        rows += added;
        last = next_last;
        report_progress(shared, table, rows, total, start_rows, t0, added);
        if finished {
            break;
        }
    }
    if plan.path == Path::Stream {
        db::work::drop_stream_tmp(conn, &tmp).await?;
    }
    Ok(rows)
}

async fn create_tmp(conn: &mut Conn, plan: &TablePlan, tmp: &str) -> Result<(), RunError> {
    let d = conn.dialect();
    let mut cols: Vec<String> = plan
        .key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{} AS {}", d.ident(k), d.ident(&plan::tmp_key(i))))
        .collect();
    cols.extend(
        plan.streamed
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{} AS {}", d.ident(c), d.ident(&plan::tmp_column(i)))),
    );
    let keys: Vec<String> = (0..plan.key.len())
        .map(|i| d.ident(&plan::tmp_key(i)))
        .collect();
    db::work::create_stream_tmp(conn, &plan.table, tmp, &cols, &keys).await?;
    Ok(())
}

/// One chunk of the streaming path; returns the rows copied and the chunk's last key (`None`
/// when this was the last chunk).
#[allow(clippy::too_many_arguments)]
async fn stream_chunk(
    conn: &mut Conn,
    plan: &TablePlan,
    src: &str,
    pre: &str,
    after: Option<&str>,
    n: u64,
    tmp: &str,
    insert_head: &str,
    shared: &Shared,
) -> Result<(u64, Option<Vec<String>>), RunError> {
    let d = conn.dialect();
    let nk = plan.key.len();
    let mut select = key_texts(d, pre, &plan.key);
    select.extend(
        plan.stream_reads
            .iter()
            .map(|c| format!("{pre}{}", d.ident(c))),
    );
    let rows = conn
        .rows(&format!(
            "SELECT {} FROM {src}{} ORDER BY {} LIMIT {n}",
            select.join(", "),
            after.map(|a| format!(" WHERE {a}")).unwrap_or_default(),
            plan::key_order(d, pre, &plan.key)
        ))
        .await?;
    let Some(last_row) = rows.last() else {
        conn.exec(&progress::set(
            d,
            &plan.table,
            ProgressState::Copied,
            None,
            0,
        ))
        .await?;
        return Ok((0, None));
    };
    let last: Vec<String> = last_row[..nk]
        .iter()
        .map(|v| v.clone().unwrap_or_default())
        .collect();
    let more = rows.len() as u64 == n;
    // Mask in Rust, in dependency order.
    let rules = &shared.rules_for(&plan.table);
    let columns = plan.stream_reads.clone();
    let mut data = Vec::with_capacity(rows.len() * 64);
    for r in &rows {
        let original: Vec<Option<&str>> = r[nk..].iter().map(|v| v.as_deref()).collect();
        let mut masked: Vec<Option<Option<String>>> = vec![None; columns.len()];
        for (i, c) in plan.streamed.iter().enumerate() {
            let Some(t) = rules.get(c) else { continue };
            let value = {
                let view = RowView {
                    columns: &columns,
                    original: &original,
                    masked: &masked,
                };
                t.apply(original[i], &view, &shared.prf)
            };
            masked[i] = Some(value);
        }
        let mut fields: Vec<Option<&str>> = r[..nk].iter().map(|v| v.as_deref()).collect();
        for m in masked.iter().take(plan.streamed.len()) {
            fields.push(m.as_ref().and_then(|v| v.as_deref()));
        }
        db::encode_text_row(&mut data, &fields);
    }
    let mut tmp_cols: Vec<String> = (0..nk).map(plan::tmp_key).collect();
    tmp_cols.extend((0..plan.streamed.len()).map(plan::tmp_column));
    let on: Vec<String> = plan
        .key
        .iter()
        .enumerate()
        .map(|(i, k)| {
            format!(
                "{pre}{} = {TMP_ALIAS}.{}",
                d.ident(k),
                d.ident(&plan::tmp_key(i))
            )
        })
        .collect();
    let data = LoadData::Text(data.into());
    let added = transaction!(conn, {
        db::work::relax_chunk_commit(conn).await?;
        conn.exec(&format!("DELETE FROM {}", d.ident(tmp))).await?;
        conn.load(tmp, &tmp_cols, &data).await?;
        let added = conn
            .exec_count(&format!(
                "{insert_head} FROM {src} JOIN {} AS {TMP_ALIAS} ON {}",
                d.ident(tmp),
                on.join(" AND ")
            ))
            .await?;
        let state = if more {
            ProgressState::Copying
        } else {
            ProgressState::Copied
        };
        conn.exec(&progress::set(d, &plan.table, state, Some(&last), added))
            .await?;
        added
    })?;
    Ok((added, more.then_some(last)))
}
