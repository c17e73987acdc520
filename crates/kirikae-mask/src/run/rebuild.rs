//! The `rebuild` path's own steps: the chunk statement (`INSERT ... SELECT` of the masked
//! expressions into the new table; the chunks are run by [`super::slices`]), and, for every copy
//! path, the secondary indexes built on the new table once its rows are in.

use std::time::Instant;

use super::error::RunError;
use super::report::Event;
use super::shared::Shared;
use crate::db::{self, Conn};
use crate::plan::{TablePlan, SRC};
use crate::transform::Dialect;

/// `INSERT INTO new (...) SELECT <masked expressions>`, to which a chunk adds
/// `FROM table AS src WHERE <its key range>`.
pub(super) fn insert_head(d: Dialect, plan: &TablePlan, new: &str) -> String {
    let insert_cols: Vec<String> = plan.insert_columns.iter().map(|c| d.ident(c)).collect();
    format!(
        "INSERT INTO {} ({}){} SELECT {}",
        d.ident(new),
        insert_cols.join(", "),
        db::work::insert_overriding(d),
        plan.select_exprs.join(", ")
    )
}

/// The source of a chunk: `table AS src`.
pub(super) fn source(d: Dialect, plan: &TablePlan) -> String {
    format!("{} AS {SRC}", d.ident(&plan.table))
}

/// Builds on the rebuilt table the secondary indexes its copy went without (each in one sorted
/// pass), and settles it ([`db::work::settle_new`]: statistics, and on PostgreSQL autovacuum
/// as the original's and a vacuum), before the swap. Looks before it acts: a resumed run
/// builds only what is missing, and nothing once the swap has renamed the new table.
pub(super) async fn build_indexes(
    conn: &mut Conn,
    table: &str,
    new: &str,
    shared: &Shared,
) -> Result<(), RunError> {
    if !conn.table_exists(new).await? {
        return Ok(());
    }
    let (indexes, statements) = db::missing_indexes(conn, table, new).await?;
    if !indexes.is_empty() {
        build_missing(conn, table, indexes, &statements, shared).await?;
    }
    // The swapped-in table would start without the original's statistics (on PostgreSQL none
    // at all until autovacuum gets to it), and the application's queries would be planned
    // without them; on PostgreSQL it is vacuumed too.
    db::work::settle_new(conn, table, new).await?;
    Ok(())
}

async fn build_missing(
    conn: &mut Conn,
    table: &str,
    indexes: Vec<String>,
    statements: &[String],
    shared: &Shared,
) -> Result<(), RunError> {
    let t0 = Instant::now();
    shared.emit(Event::BuildingIndexes {
        table: table.to_string(),
        indexes: indexes.clone(),
    });
    db::fault("before_indexes")?;
    for sql in statements {
        conn.exec(sql).await.map_err(|e| {
            // Only a duplicate value (MySQL 1062, PostgreSQL 23505 / "could not create unique
            // index") means the masked values collide; any other failure is said as it is.
            let text = e.to_string();
            let collide = text.contains("1062")
                || text.contains("Duplicate entry")
                || text.contains("could not create unique index")
                || text.contains("duplicate key value");
            let why = if collide {
                "masked values collide in a unique index: check that column's rule"
            } else {
                "the server refused the statement"
            };
            RunError::Failed(format!(
                "building the indexes {} of {table} on its masked copy failed ({why}); nothing \
                 was swapped, `mask run --resume` builds what is missing: {e}",
                indexes.join(", ")
            ))
        })?;
    }
    shared.emit(Event::IndexesBuilt {
        table: table.to_string(),
        indexes,
        seconds: t0.elapsed().as_secs_f64(),
    });
    Ok(())
}
