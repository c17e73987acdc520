//! The dialect-specific statements a masking run issues on its work tables and on the tables
//! it masks (the temporary table of the streaming path, statistics, rewriting a table).

use super::{Conn, DbResult};
use crate::transform::Dialect;

/// The new table a copy path fills: empty, shaped like `table` (dropped first if an attempt
/// that never got its progress row left one).
pub async fn create_new(conn: &mut Conn, table: &str, new: &str) -> DbResult<()> {
    let d = conn.dialect();
    conn.exec(&format!("DROP TABLE IF EXISTS {}", d.ident(new)))
        .await?;
    match d {
        Dialect::MySql => super::mysql::create_new(conn, table, new).await,
        Dialect::Postgres => super::postgres::create_new(conn, table, new).await,
    }
}

/// The session's temporary table of the streaming path: `columns` are `expr AS name` over
/// `table` (no rows copied), indexed on `keys` (already quoted).
pub async fn create_stream_tmp(
    conn: &mut Conn,
    table: &str,
    tmp: &str,
    columns: &[String],
    keys: &[String],
) -> DbResult<()> {
    let d = conn.dialect();
    let t = d.ident(tmp);
    let statements = match d {
        Dialect::MySql => [
            format!("DROP TEMPORARY TABLE IF EXISTS {t}"),
            format!(
                "CREATE TEMPORARY TABLE {t} ENGINE = InnoDB SELECT {} FROM {} LIMIT 0",
                columns.join(", "),
                d.ident(table)
            ),
            // Masked columns may be NOT NULL in the table but are written only by our loader.
            format!("ALTER TABLE {t} ADD PRIMARY KEY ({})", keys.join(", ")),
        ],
        Dialect::Postgres => [
            format!("DROP TABLE IF EXISTS pg_temp.{t}"),
            format!(
                "CREATE TEMP TABLE {t} AS SELECT {} FROM {} WITH NO DATA",
                columns.join(", "),
                d.ident(table)
            ),
            format!("CREATE INDEX ON {t} ({})", keys.join(", ")),
        ],
    };
    for s in statements {
        conn.exec(&s).await?;
    }
    Ok(())
}

/// Drops the streaming path's temporary table.
pub async fn drop_stream_tmp(conn: &mut Conn, tmp: &str) -> DbResult<()> {
    let d = conn.dialect();
    let sql = match d {
        Dialect::MySql => format!("DROP TEMPORARY TABLE IF EXISTS {}", d.ident(tmp)),
        Dialect::Postgres => format!("DROP TABLE IF EXISTS pg_temp.{}", d.ident(tmp)),
    };
    conn.exec(&sql).await
}

/// First in a chunk's transaction: its commit does not wait for the server to flush its log
/// (PostgreSQL `SET LOCAL synchronous_commit = off`; a commit per chunk otherwise waits for a
/// WAL flush each time). A server crash may then lose the last chunks committed, with their
/// progress rows, which commit with them: the run resumes before them, as after any crash.
/// Nothing on MySQL, whose setting (`innodb_flush_log_at_trx_commit`) is the server's.
pub async fn relax_chunk_commit(conn: &mut Conn) -> DbResult<()> {
    match conn.dialect() {
        Dialect::Postgres => conn.exec("SET LOCAL synchronous_commit = off").await,
        Dialect::MySql => Ok(()),
    }
}

/// The new table a copy path filled, once its rows and indexes are in, before the swap: its
/// statistics for the query planner, and on PostgreSQL the original's autovacuum setting and a
/// vacuum ([`super::postgres::settle_new`]).
pub async fn settle_new(conn: &mut Conn, table: &str, new: &str) -> DbResult<()> {
    let d = conn.dialect();
    match d {
        Dialect::MySql => conn.exec(&format!("ANALYZE TABLE {}", d.ident(new))).await,
        Dialect::Postgres => super::postgres::settle_new(conn, table, new).await,
    }
}

/// `INSERT ... OVERRIDING SYSTEM VALUE` on PostgreSQL (identity columns keep their values).
pub fn insert_overriding(d: Dialect) -> &'static str {
    match d {
        Dialect::Postgres => " OVERRIDING SYSTEM VALUE",
        Dialect::MySql => "",
    }
}

/// Rewrites the table into new files, leaving none of its old row versions on disk: after
/// UPDATEs in place, the originals live on in dead tuples (PostgreSQL, until `VACUUM FULL`;
/// a plain `VACUUM` marks the space free without erasing it) or in InnoDB's old page versions.
/// PostgreSQL's `VACUUM FULL` writes a new relfilenode and unlinks the old one; InnoDB's
/// `ALTER TABLE ... FORCE` rebuilds the table into a new `.ibd` and drops the old file.
pub async fn rewrite(conn: &mut Conn, table: &str) -> DbResult<()> {
    let d = conn.dialect();
    let sql = match d {
        Dialect::MySql => format!("ALTER TABLE {} FORCE", d.ident(table)),
        Dialect::Postgres => format!("VACUUM (FULL, ANALYZE) {}", d.ident(table)),
    };
    conn.exec(&sql).await
}
