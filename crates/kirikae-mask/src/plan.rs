//! The planner: per table, which path masks it and the SQL that path runs.
//!
//! - `keep`: every column is kept, nothing is written.
//! - `rebuild` (server-side SQL): every masked column has a SQL form. The table is copied by
//!   key ranges into a new table with `INSERT INTO new SELECT <masked expressions> FROM t`, then
//!   swapped in. Measured on a default MariaDB, this copy runs at about 92,000 rows/s where a
//!   full-table `UPDATE` ran at about 5,400 rows/s, so in-place UPDATE is not used.
//! - `stream`: some column's transform exists only in Rust. Those columns (and the columns their
//!   rules read) are read by key range, masked in Rust, bulk-loaded (`LOAD DATA LOCAL INFILE` /
//!   `COPY`) into a temporary table holding the key and the masked values, and joined back in
//!   the same `INSERT INTO new SELECT` that computes every other column in SQL. Kept columns
//!   never leave the server.
//!
//! - `load`: every column is read by key range, the masked ones are masked in Rust (with the
//!   keyed fingerprints `verify` needs, in the same pass), and the rows are bulk-loaded straight
//!   into the new table, reading the next chunk while one loads. Only for tables whose every
//!   column survives a trip through text unchanged (on MySQL: no binary, bit, spatial or
//!   floating-point columns; on PostgreSQL `COPY` reads back what it writes). Measured in
//!   bench/mask/RESULTS.md against the other two.
//!
//! Columns are evaluated in dependency order (a `template` after the columns it uses).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::db::TableExtras;
use crate::prf::Prf;
use crate::rules::TableRules;
use crate::schema::Table;
use crate::transform::{Dialect, SqlContext};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Path {
    Keep,
    Rebuild,
    Stream,
    Load,
    Update,
}

/// Which path the planner should prefer (`mask run --path`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathChoice {
    /// `load` where the table's columns allow it, else `rebuild` when every rule has a SQL
    /// form, else `stream`.
    #[default]
    Auto,
    /// `rebuild` when every rule has a SQL form, else `stream` (only the Rust-only columns
    /// leave the server).
    Sql,
    /// Every masked column in Rust: `load`, or `stream` when the table cannot be loaded
    /// through text.
    Rust,
    /// Key-chunked UPDATEs of the masked columns in place where the table allows it (every rule
    /// has a SQL form, no masked column in a key, a unique index or a foreign key, no UPDATE
    /// trigger), else as `auto`.
    Update,
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Path::Keep => "keep (nothing to mask)",
            Path::Rebuild => "rebuild (server-side SQL)",
            Path::Stream => "stream (Rust transforms, bulk load)",
            Path::Load => "load (Rust transforms, bulk load into the new table)",
            Path::Update => "update (server-side SQL, key-chunked UPDATEs in place)",
        })
    }
}

/// The alias of the source table in the copy statement, and of the temporary table.
pub const SRC: &str = "kirikae_src";
pub const TMP_ALIAS: &str = "kirikae_tmp";

#[derive(Debug, Clone, Serialize)]
pub struct TablePlan {
    pub table: String,
    pub path: Path,
    pub key: Vec<String>,
    /// The masked columns (not `keep`).
    pub masked: Vec<String>,
    /// Columns masked in Rust (stream path), in evaluation order.
    pub streamed: Vec<String>,
    /// Columns the Rust side reads (the streamed ones and what their rules read).
    pub stream_reads: Vec<String>,
    pub rows_estimate: u64,
    /// The columns written, and the SQL expression of each (on `SRC`, and `TMP_ALIAS` for the
    /// streamed ones).
    #[serde(skip)]
    pub insert_columns: Vec<String>,
    #[serde(skip)]
    pub select_exprs: Vec<String>,
    /// The table can be masked in place: the assignments, in an order where no expression
    /// reads a column already assigned, and the rows that change (`None`: all of them).
    #[serde(skip)]
    pub update: Option<UpdateForm>,
}

#[derive(Debug, Clone)]
pub struct UpdateForm {
    pub sets: Vec<(String, String)>,
    pub filter: Option<String>,
}

/// Whether the table can be masked by UPDATEs in place, and how: every masked column computed
/// in SQL; none in the primary key, a unique index or a foreign key (an UPDATE would collide
/// with rows not yet masked, or break references while it runs); no UPDATE trigger; and the
/// assignments ordered so that each expression still sees the originals it reads (MySQL
/// assigns left to right and later expressions see earlier assignments; a cycle of reads has no
/// such order). `filter` keeps to rows with a masked column not NULL when every rule leaves
/// NULL as NULL.
fn update_form(
    prf: &Prf,
    tr: &TableRules,
    table: &Table,
    extras: &TableExtras,
    masked: &[String],
    exprs: &BTreeMap<String, String>,
    q: &dyn Fn(&str) -> String,
) -> Option<UpdateForm> {
    if extras.update_triggers || masked.iter().any(|c| !exprs.contains_key(c)) {
        return None;
    }
    let in_key = |c: &String| {
        table.primary_key.contains(c)
            || table.unique.iter().any(|u| u.contains(c))
            || table.foreign_keys.iter().any(|f| f.columns.contains(c))
    };
    if table.primary_key.is_empty() || masked.iter().any(in_key) {
        return None;
    }
    // The originals each masked column's expression reads.
    fn reads_of(
        c: &str,
        tr: &TableRules,
        masked: &[String],
        seen: &mut Vec<String>,
    ) -> Vec<String> {
        if seen.iter().any(|s| s == c) {
            return Vec::new();
        }
        seen.push(c.to_string());
        let mut out = vec![c.to_string()];
        if let Some(r) = tr.column(c) {
            for o in r.transform.reads() {
                if masked.contains(&o) {
                    out.extend(reads_of(&o, tr, masked, seen));
                } else {
                    out.push(o);
                }
            }
        }
        out
    }
    let reads: BTreeMap<&String, Vec<String>> = masked
        .iter()
        .map(|c| (c, reads_of(c, tr, masked, &mut Vec::new())))
        .collect();
    // c may be assigned once every other column reading c's original has been.
    let mut order: Vec<String> = Vec::new();
    let mut left: Vec<&String> = masked.iter().collect();
    while !left.is_empty() {
        let pos = left.iter().position(|c| {
            left.iter()
                .all(|x| x == c || !reads.get(x).is_some_and(|r| r.contains(c)))
        })?;
        order.push(left.remove(pos).clone());
    }
    let null_stays_null = masked.iter().all(|c| {
        tr.column(c).is_some_and(|r| {
            r.transform.reads().is_empty()
                && r.transform
                    .apply(None, &crate::transform::RowView::EMPTY, prf)
                    .is_none()
        })
    });
    let filter = null_stays_null.then(|| {
        format!(
            "({})",
            masked
                .iter()
                .map(|c| format!("{} IS NOT NULL", q(c)))
                .collect::<Vec<_>>()
                .join(" OR ")
        )
    });
    Some(UpdateForm {
        sets: order
            .into_iter()
            .map(|c| {
                let e = exprs[&c].clone();
                (c, e)
            })
            .collect(),
        filter,
    })
}

/// The columns of a table in an order where each comes after the columns its rule reads;
/// `Err` is a cycle.
pub fn column_order(tr: &TableRules, table: &Table) -> Result<Vec<String>, Vec<String>> {
    let names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    let reads = |c: &str| -> Vec<String> {
        tr.column(c)
            .map(|r| {
                r.transform
                    .reads()
                    .into_iter()
                    .filter(|x| x != c && names.contains(x))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut order = Vec::new();
    // 0 = unvisited, 1 = in progress, 2 = done
    let mut state: BTreeMap<String, u8> = BTreeMap::new();
    fn visit(
        c: &str,
        reads: &dyn Fn(&str) -> Vec<String>,
        state: &mut BTreeMap<String, u8>,
        order: &mut Vec<String>,
        path: &mut Vec<String>,
    ) -> Result<(), Vec<String>> {
        match state.get(c).copied().unwrap_or(0) {
            2 => return Ok(()),
            1 => {
                let mut cycle = path.clone();
                cycle.push(c.to_string());
                return Err(cycle);
            }
            _ => {}
        }
        state.insert(c.to_string(), 1);
        path.push(c.to_string());
        for r in reads(c) {
            visit(&r, reads, state, order, path)?;
        }
        path.pop();
        state.insert(c.to_string(), 2);
        order.push(c.to_string());
        Ok(())
    }
    for n in &names {
        visit(n, &reads, &mut state, &mut order, &mut Vec::new())?;
    }
    Ok(order)
}

/// The plan of one table (the rules must have passed `check`).
pub fn plan_table(
    dialect: Dialect,
    prf: &Prf,
    tr: &TableRules,
    table: &Table,
    extras: &TableExtras,
    choice: PathChoice,
) -> TablePlan {
    let key = crate::db::key_of(table, tr.key.as_ref());
    let order = column_order(tr, table)
        .unwrap_or_else(|_| table.columns.iter().map(|c| c.name.clone()).collect());
    let is_masked = |c: &str| tr.column(c).is_some_and(|r| !r.transform.is_keep());
    let masked: Vec<String> = table
        .columns
        .iter()
        .map(|c| c.name.clone())
        .filter(|c| is_masked(c) && !extras.generated.contains(c))
        .collect();
    let q = |c: &str| format!("{SRC}.{}", dialect.ident(c));
    // Which masked columns have a SQL form: try each in order, with the masked expressions of
    // the columns before it available.
    let mut exprs: BTreeMap<String, String> = BTreeMap::new();
    let mut rust_only: Vec<String> = Vec::new();
    for c in &order {
        if !masked.contains(c) {
            continue;
        }
        let Some(rule) = tr.column(c) else { continue };
        // A column reading a Rust-only column is computed in Rust too.
        let reads_rust = rule.transform.reads().iter().any(|r| rust_only.contains(r));
        let ident = q(c);
        let sql = if reads_rust {
            None
        } else {
            let original = |o: &str| q(o);
            let masked_of = |o: &str| exprs.get(o).cloned();
            let ctx = SqlContext {
                dialect,
                prf,
                column: &ident,
                original: &original,
                masked: &masked_of,
            };
            rule.transform.sql(&ctx)
        };
        match sql {
            Some(e) => {
                exprs.insert(c.clone(), e);
            }
            None => rust_only.push(c.clone()),
        }
    }
    // The Rust side evaluates the Rust-only columns and, so that `template`s among them see
    // masked values, every masked column they read (transitively), in dependency order.
    let mut streamed: Vec<String> = Vec::new();
    let mut stack = rust_only.clone();
    while let Some(c) = stack.pop() {
        if streamed.contains(&c) {
            continue;
        }
        streamed.push(c.clone());
        if let Some(r) = tr.column(&c) {
            for read in r.transform.reads() {
                if masked.contains(&read) {
                    stack.push(read);
                }
            }
        }
    }
    let streamed = in_order(&order, &streamed);
    let stream_reads = stream_reads(tr, table, &streamed);
    // SQL expressions of the columns computed in SQL see the streamed ones through the
    // temporary table.
    if !streamed.is_empty() {
        exprs.clear();
        for c in &order {
            if !masked.contains(c) || streamed.contains(c) {
                continue;
            }
            let Some(rule) = tr.column(c) else { continue };
            let ident = q(c);
            let original = |o: &str| q(o);
            let masked_of = |o: &str| match streamed.iter().position(|s| s == o) {
                Some(i) => Some(tmp_ref(dialect, i)),
                None => exprs.get(o).cloned(),
            };
            let ctx = SqlContext {
                dialect,
                prf,
                column: &ident,
                original: &original,
                masked: &masked_of,
            };
            if let Some(e) = rule.transform.sql(&ctx) {
                exprs.insert(c.clone(), e);
            }
        }
    }
    let mut insert_columns = Vec::new();
    let mut select_exprs = Vec::new();
    for c in &table.columns {
        if extras.generated.contains(&c.name) {
            continue;
        }
        insert_columns.push(c.name.clone());
        let e = if let Some(i) = streamed.iter().position(|s| s == &c.name) {
            tmp_ref(dialect, i)
        } else if let Some(e) = exprs.get(&c.name) {
            e.clone()
        } else {
            q(&c.name)
        };
        select_exprs.push(e);
    }
    let loadable = insert_columns.iter().all(|c| {
        table
            .column(c)
            .is_some_and(|c| survives_text(dialect, &c.kind))
    }) && !key.is_empty();
    let update = if streamed.is_empty() && !masked.is_empty() {
        update_form(prf, tr, table, extras, &masked, &exprs, &q)
    } else {
        None
    };
    let path = if masked.is_empty() {
        Path::Keep
    } else if update.is_some() && choice == PathChoice::Update {
        Path::Update
    } else if loadable && choice != PathChoice::Sql {
        // Measured faster than the server-side rebuild on both engines (bench/mask/RESULTS.md).
        Path::Load
    } else if choice == PathChoice::Rust {
        // Rust asked for, but the table cannot be loaded through text: every masked column is
        // streamed and joined back.
        return stream_everything(dialect, tr, table, key, masked, &order, insert_columns);
    } else if streamed.is_empty() {
        Path::Rebuild
    } else {
        Path::Stream
    };
    let (streamed, stream_reads, select_exprs) = if path == Path::Load {
        // Everything is read; every masked column is computed in Rust.
        (
            in_order(&order, &masked),
            insert_columns.clone(),
            Vec::new(),
        )
    } else {
        (streamed, stream_reads, select_exprs)
    };
    TablePlan {
        table: table.name.clone(),
        path,
        key,
        masked,
        streamed,
        stream_reads,
        rows_estimate: table.rows_estimate,
        insert_columns,
        select_exprs,
        update,
    }
}

/// Whether a column of this kind reads back unchanged from its text form through `LOAD DATA` /
/// `COPY`. MySQL prints FLOAT with 6 significant digits and binary data is not text; PostgreSQL's
/// `COPY` text format takes any type's output back.
pub fn survives_text(dialect: Dialect, kind: &crate::schema::ColumnKind) -> bool {
    use crate::schema::ColumnKind as K;
    match dialect {
        Dialect::Postgres => true,
        Dialect::MySql => !matches!(kind, K::Binary | K::Float | K::Other),
    }
}

/// The stream-and-join plan with every masked column computed in Rust (`--path rust` on a table
/// that cannot be loaded through text).
#[allow(clippy::too_many_arguments)]
fn stream_everything(
    dialect: Dialect,
    tr: &TableRules,
    table: &Table,
    key: Vec<String>,
    masked: Vec<String>,
    order: &[String],
    insert_columns: Vec<String>,
) -> TablePlan {
    let streamed = in_order(order, &masked);
    let stream_reads = stream_reads(tr, table, &streamed);
    let select_exprs = insert_columns
        .iter()
        .map(|c| match streamed.iter().position(|s| s == c) {
            Some(i) => tmp_ref(dialect, i),
            None => format!("{SRC}.{}", dialect.ident(c)),
        })
        .collect();
    TablePlan {
        table: table.name.clone(),
        path: Path::Stream,
        key,
        masked,
        streamed,
        stream_reads,
        rows_estimate: table.rows_estimate,
        insert_columns,
        select_exprs,
        update: None,
    }
}

/// The columns of `subset`, in `order`.
fn in_order(order: &[String], subset: &[String]) -> Vec<String> {
    order
        .iter()
        .filter(|c| subset.contains(c))
        .cloned()
        .collect()
}

/// The columns the Rust side reads: the streamed ones, then the other columns of the table
/// their rules read.
fn stream_reads(tr: &TableRules, table: &Table, streamed: &[String]) -> Vec<String> {
    let mut reads = streamed.to_vec();
    for c in streamed {
        if let Some(r) = tr.column(c) {
            for read in r.transform.reads() {
                if !reads.contains(&read) && table.column(&read).is_some() {
                    reads.push(read);
                }
            }
        }
    }
    reads
}

/// The temporary table's column for the i-th streamed column, and for the i-th key column.
pub fn tmp_column(i: usize) -> String {
    format!("kirikae_m{i}")
}
pub fn tmp_key(i: usize) -> String {
    format!("kirikae_k{i}")
}

/// The i-th streamed column's masked value, in the copy statement.
fn tmp_ref(d: Dialect, i: usize) -> String {
    format!("{TMP_ALIAS}.{}", d.ident(&tmp_column(i)))
}

/// `key > last` for a (possibly composite) key, on the source alias.
pub fn key_after(d: Dialect, prefix: &str, key: &[String], last: &[String]) -> String {
    key_compare(d, prefix, key, last, ">")
}

/// `key <= upper`.
pub fn key_upto(d: Dialect, prefix: &str, key: &[String], upper: &[String]) -> String {
    key_compare(d, prefix, key, upper, "<=")
}

fn key_compare(d: Dialect, prefix: &str, key: &[String], vals: &[String], op: &str) -> String {
    // (a, b) > (x, y)  ==  a > x OR (a = x AND b > y): index-friendly on both engines.
    let col = |i: usize| format!("{prefix}{}", d.ident(&key[i]));
    let strict = if op == "<=" { "<" } else { op };
    let mut ors = Vec::new();
    for i in 0..key.len() {
        let mut ands: Vec<String> = (0..i)
            .map(|j| format!("{} = {}", col(j), d.string_literal(&vals[j])))
            .collect();
        let last_op = if i + 1 == key.len() { op } else { strict };
        ands.push(format!(
            "{} {last_op} {}",
            col(i),
            d.string_literal(&vals[i])
        ));
        ors.push(format!("({})", ands.join(" AND ")));
    }
    format!("({})", ors.join(" OR "))
}

/// `ORDER BY` the key.
pub fn key_order(d: Dialect, prefix: &str, key: &[String]) -> String {
    key.iter()
        .map(|k| format!("{prefix}{}", d.ident(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_key_ranges_are_lexicographic() {
        let k = vec!["a".to_string(), "b".to_string()];
        let v = vec!["1".to_string(), "x".to_string()];
        assert_eq!(
            key_after(Dialect::Postgres, "", &k, &v),
            "((\"a\" > '1') OR (\"a\" = '1' AND \"b\" > 'x'))"
        );
        assert_eq!(
            key_upto(Dialect::MySql, "s.", &k, &v),
            "((s.`a` < '1') OR (s.`a` = '1' AND s.`b` <= 'x'))"
        );
    }
}
