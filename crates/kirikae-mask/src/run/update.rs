//! The `update` path: masked in place by key-chunked `UPDATE`s (the chunks are run by
//! [`super::slices`]), chosen for a table where few rows change; then the table is rewritten,
//! so that no old row version holding an original stays in its files.

use std::time::Instant;

use super::error::RunError;
use super::report::Event;
use super::shared::Shared;
use crate::db::{self, Conn};
use crate::plan::{Path, TablePlan, SRC};
use crate::transform::Dialect;

/// `UPDATE table AS src SET <masked expressions>`, and the condition that selects the rows
/// that change (if not all), to which a chunk adds its key range.
pub(super) fn update_head(d: Dialect, plan: &TablePlan) -> Option<(String, Option<String>)> {
    let pre = format!("{SRC}.");
    plan.update.as_ref().map(|u| {
        let sets: Vec<String> = u
            .sets
            .iter()
            .map(|(c, e)| match d {
                Dialect::MySql => format!("{pre}{} = {e}", d.ident(c)),
                Dialect::Postgres => format!("{} = {e}", d.ident(c)),
            })
            .collect();
        (
            format!(
                "UPDATE {} SET {}",
                super::rebuild::source(d, plan),
                sets.join(", ")
            ),
            u.filter.clone(),
        )
    })
}

/// After the last chunk: the table rewritten into new files (see [`db::work::rewrite`]), and
/// recorded as rewritten for `verify`. A run interrupted here rewrites it again on `--resume`.
pub(super) async fn rewrite(conn: &mut Conn, table: &str, shared: &Shared) -> Result<(), RunError> {
    let t0 = Instant::now();
    db::fault("before_rewrite")?;
    db::work::rewrite(conn, table).await?;
    if let Ok(mut i) = shared.info.lock() {
        i.rewritten.insert(table.to_string());
    }
    shared.save_info()?;
    shared.emit(Event::Rewritten {
        table: table.to_string(),
        seconds: t0.elapsed().as_secs_f64(),
    });
    Ok(())
}

/// Auto: a table where few rows have anything to mask is masked in place, which also needs no
/// second copy of the table and no swap. Measured (bench/mask/paths, bench/mask/RESULTS.md):
/// chunked UPDATEs of a column that is in no index beat the copy paths on MariaDB even when
/// every row changes (InnoDB updates in place, the copy rebuilds every index), while on
/// PostgreSQL every updated row is a new row version with new index entries, and the load path
/// is faster from about 1 row in 10 changing. The thresholds: half the rows on MySQL/MariaDB,
/// 1 in 20 on PostgreSQL. (Measured before the update path rewrote the table afterwards, which
/// adds one server-side copy of the table without masking: about the reference rewrite of
/// bench/mask/RESULTS.md.)
pub(super) async fn sparse_to_update(conn: &mut Conn, p: &mut TablePlan) -> Result<(), RunError> {
    let Some(filter) = p.update.as_ref().and_then(|u| u.filter.clone()) else {
        return Ok(());
    };
    if matches!(p.path, Path::Keep | Path::Update) {
        return Ok(());
    }
    let d = conn.dialect();
    let r = conn
        .rows(&format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN {filter} THEN 1 ELSE 0 END), 0) FROM {} AS {SRC}",
            d.ident(&p.table)
        ))
        .await?;
    let n = |i: usize| -> u64 {
        r.first()
            .and_then(|r| r.get(i).cloned().flatten())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (rows, changing) = (n(0), n(1));
    let share = match d {
        Dialect::MySql => 2,
        Dialect::Postgres => 20,
    };
    if rows > 0 && changing * share <= rows {
        p.path = Path::Update;
    }
    Ok(())
}
