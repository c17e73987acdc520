//! The progress table (`_kirikae_progress`): one row per table of a masking run (and one per
//! slice of a table copied on parallel connections), updated in the same transaction as the
//! chunk it records, so the database itself says what is in after a crash.

use serde::{Deserialize, Serialize};

use super::{Conn, DbError, DbResult, PROGRESS_TABLE};
use crate::transform::Dialect;

/// Where a table (or a slice) has got to. Stored as these strings, which runs of every kirikae
/// version wrote: a run interrupted under an older binary resumes under this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgressState {
    /// Chunks are being copied (or updated in place); `last_key` is the last one committed.
    Copying,
    /// Every chunk is in; the indexes, fingerprints and the swap may still be to do.
    Copied,
    /// MySQL/MariaDB: the swap's plan is recorded and `RENAME TABLE` may have run.
    Swapping,
    /// The table is masked.
    Done,
}

impl ProgressState {
    pub const ALL: [ProgressState; 4] = [
        ProgressState::Copying,
        ProgressState::Copied,
        ProgressState::Swapping,
        ProgressState::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProgressState::Copying => "copying",
            ProgressState::Copied => "copied",
            ProgressState::Swapping => "swapping",
            ProgressState::Done => "done",
        }
    }
}

impl std::fmt::Display for ProgressState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProgressState {
    type Err = DbError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ProgressState::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                DbError::Other(format!(
                    "{PROGRESS_TABLE} holds the state {s:?}, which this kirikae does not know \
                     (a newer version started the run?): resume with the version that started it"
                ))
            })
    }
}

/// The progress row of a table.
#[derive(Debug, Clone)]
pub struct ProgressRow {
    pub state: ProgressState,
    pub last_key: Option<Vec<String>>,
    pub rows: u64,
    pub plan: Option<String>,
}

/// Creates the progress table (a run starting afresh).
pub async fn create(conn: &mut Conn) -> DbResult<()> {
    let d = conn.dialect();
    let ddl = match d {
        Dialect::MySql => format!(
            "CREATE TABLE {} (tbl VARCHAR(190) NOT NULL PRIMARY KEY, state VARCHAR(16) NOT NULL, \
             last_key TEXT NULL, rows_done BIGINT NOT NULL DEFAULT 0, plan LONGTEXT NULL) \
             ENGINE = InnoDB DEFAULT CHARSET = utf8mb4",
            d.ident(PROGRESS_TABLE)
        ),
        Dialect::Postgres => format!(
            "CREATE TABLE {} (tbl text PRIMARY KEY, state text NOT NULL, last_key text, \
             rows_done bigint NOT NULL DEFAULT 0, plan text)",
            d.ident(PROGRESS_TABLE)
        ),
    };
    conn.exec(&ddl).await
}

/// Drops the progress table (the run finished).
pub async fn drop(conn: &mut Conn) -> DbResult<()> {
    let d = conn.dialect();
    conn.exec(&format!("DROP TABLE {}", d.ident(PROGRESS_TABLE)))
        .await
}

/// The rows whose name `wanted` accepts (the slices of a table), with their names. (The table
/// also holds the run lock's row, [`crate::lock`], whose state is its own.)
pub async fn rows_named(
    conn: &mut Conn,
    wanted: impl Fn(&str) -> bool,
) -> DbResult<Vec<(String, ProgressRow)>> {
    let d = conn.dialect();
    let rows = conn
        .rows(&format!(
            "SELECT tbl, state, last_key, rows_done, plan FROM {}",
            d.ident(PROGRESS_TABLE)
        ))
        .await?;
    rows.into_iter()
        .filter_map(|r| {
            let name = r[0].clone().unwrap_or_default();
            wanted(&name).then(|| Ok((name, parse_row(&r[1..])?)))
        })
        .collect()
}

fn parse_row(r: &[Option<String>]) -> DbResult<ProgressRow> {
    Ok(ProgressRow {
        state: r[0].as_deref().unwrap_or_default().parse()?,
        last_key: r[1]
            .as_deref()
            .and_then(|k| serde_json::from_str::<Vec<String>>(k).ok()),
        rows: r[2].as_deref().and_then(|n| n.parse().ok()).unwrap_or(0),
        plan: r[3].clone(),
    })
}

/// The progress row of a table, if it has one.
pub async fn row(conn: &mut Conn, table: &str) -> DbResult<Option<ProgressRow>> {
    let d = conn.dialect();
    let rows = conn
        .rows(&format!(
            "SELECT state, last_key, rows_done, plan FROM {} WHERE tbl = {}",
            d.ident(PROGRESS_TABLE),
            d.string_literal(table)
        ))
        .await?;
    rows.into_iter().next().map(|r| parse_row(&r)).transpose()
}

/// The statement adding a table's row in `state`.
pub fn insert(d: Dialect, table: &str, state: ProgressState) -> String {
    format!(
        "INSERT INTO {} (tbl, state) VALUES ({}, {})",
        d.ident(PROGRESS_TABLE),
        d.string_literal(table),
        d.string_literal(state.as_str())
    )
}

/// The statement adding the rows of slices: (name, where it starts, its upper bound), JSON.
pub fn insert_slices(d: Dialect, slices: &[(String, String, String)]) -> String {
    let values: Vec<String> = slices
        .iter()
        .map(|(name, last, hi)| {
            format!(
                "({}, {}, {}, 0, {})",
                d.string_literal(name),
                d.string_literal(ProgressState::Copying.as_str()),
                d.string_literal(last),
                d.string_literal(hi)
            )
        })
        .collect();
    format!(
        "INSERT INTO {} (tbl, state, last_key, rows_done, plan) VALUES {}",
        d.ident(PROGRESS_TABLE),
        values.join(", ")
    )
}

/// The statement deleting the rows named (a table's slices, once all are copied).
pub fn delete(d: Dialect, names: &[String]) -> String {
    let names: Vec<String> = names.iter().map(|n| d.string_literal(n)).collect();
    format!(
        "DELETE FROM {} WHERE tbl IN ({})",
        d.ident(PROGRESS_TABLE),
        names.join(", ")
    )
}

/// The statement setting a row's state, its last key (kept when `None`) and adding rows done.
pub fn set(
    d: Dialect,
    table: &str,
    state: ProgressState,
    last_key: Option<&[String]>,
    add_rows: u64,
) -> String {
    let key = match last_key {
        Some(k) => d.string_literal(&serde_json::to_string(k).unwrap_or_default()),
        None => "last_key".into(),
    };
    format!(
        "UPDATE {} SET state = {}, last_key = {key}, rows_done = rows_done + {add_rows} WHERE tbl = {}",
        d.ident(PROGRESS_TABLE),
        d.string_literal(state.as_str()),
        d.string_literal(table)
    )
}

/// The statement recording the swap's plan and the state `swapping` (MySQL/MariaDB).
pub fn set_swapping(d: Dialect, table: &str, plan_json: &str) -> String {
    format!(
        "UPDATE {} SET state = {}, plan = {} WHERE tbl = {}",
        d.ident(PROGRESS_TABLE),
        d.string_literal(ProgressState::Swapping.as_str()),
        d.string_literal(plan_json),
        d.string_literal(table)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The strings of the progress table of a run interrupted under an older kirikae (which
    /// compared and wrote plain strings) are the states this one resumes from.
    #[test]
    fn states_written_by_older_runs_still_load() {
        for (old, state) in [
            ("copying", ProgressState::Copying),
            ("copied", ProgressState::Copied),
            ("swapping", ProgressState::Swapping),
            ("done", ProgressState::Done),
        ] {
            assert_eq!(old.parse::<ProgressState>().unwrap(), state);
            assert_eq!(state.as_str(), old);
            let row = parse_row(&[
                Some(old.into()),
                Some(r#"["41"]"#.into()),
                Some("7".into()),
                None,
            ])
            .unwrap();
            assert_eq!(row.state, state);
            assert_eq!(row.last_key, Some(vec!["41".to_string()]));
            assert_eq!(serde_json::to_string(&state).unwrap(), format!("\"{old}\""));
        }
        let e = "rewriting"
            .parse::<ProgressState>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("rewriting") && e.contains("version"), "{e}");
    }
}
