//! `mask verify`: proves a masking run's result and writes a JSON report. Findings:
//! - `original_in_row`: a masked column still holds, in some row, the very value it held before
//!   masking (compared through keyed fingerprints of (row key, value) taken by `run` before it
//!   touched the table; no original value is stored anywhere). A value that its transform maps
//!   to itself (a fixed point: `fixed`'s own value, a date already on the first of its month
//!   under `date_generalize`) is not a leak and is not reported.
//! - `original_elsewhere`: for transforms that keep values unique (email, hash, ...), whose
//!   outputs are drawn from a space far larger than the data, an original value of the column
//!   appears in any row. For the others (dates, numbers, names drawn from a dictionary) a masked
//!   value equal to some other row's original is expected by chance and is not a finding.
//! - `row_count_changed`, `duplicate_in_unique_index`, `broken_foreign_key`.
//! - `personal_data_in_kept_column`: text or JSON columns kept as-is scanned for emails, phone
//!   numbers and (Luhn-valid) card numbers; reserved example domains are ignored.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::db::{Conn, DbUrl};
use crate::detect::personal_data_in;
use crate::plan;
use crate::rules::Rules;
use crate::run::RunError;
use crate::schema::ColumnKind;
use crate::state::{self, Fingerprinter, StateDir, StateError};

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub table: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub count: u64,
    pub message: String,
    /// Keys of a few rows concerned (never the values).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sample_keys: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableCheck {
    pub table: String,
    pub rows_before: Option<u64>,
    pub rows_after: u64,
    pub masked_columns_checked: Vec<String>,
    pub kept_columns_scanned: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub database: String,
    pub ok: bool,
    pub findings: Vec<Finding>,
    pub tables: Vec<TableCheck>,
    pub report_file: PathBuf,
}

/// The fingerprints of one row's value: of (key texts, value text) joined by the separator, and
/// of the value text alone; `None` when the value is NULL, and no row fingerprint when a key part
/// is. Computed here rather than in SQL: two keyed MD5s per column and row cost the server more
/// than the masking itself.
pub fn row_fingerprints(
    fp: &Fingerprinter,
    key: &[Option<String>],
    value: Option<&str>,
) -> Option<(Option<u64>, u64)> {
    let v = value?;
    let by_row = match key {
        [Some(k)] => Some(fp.of(&[k, v])),
        _ => {
            let mut parts: Vec<&str> = Vec::with_capacity(key.len() + 1);
            for k in key {
                parts.push(k.as_deref()?);
            }
            parts.push(v);
            Some(fp.of(&parts))
        }
    };
    Some((by_row, fp.of(&[v])))
}

/// Reads a table by key ranges: `select` after the key texts; calls `each` with each chunk.
async fn by_chunks(
    conn: &mut Conn,
    table: &str,
    key: &[String],
    select: &[String],
    chunk: u64,
    mut each: impl FnMut(&[Vec<Option<String>>]) -> Result<(), StateError>,
) -> Result<(), RunError> {
    let d = conn.dialect();
    let nk = key.len();
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

/// Fingerprints of `columns` of `table`: for each column, `rows` (key and value) and
/// `values`, handed to `sink` chunk by chunk.
pub async fn fingerprint_columns(
    conn: &mut Conn,
    table: &str,
    key: &[String],
    columns: &[String],
    prf: &Fingerprinter,
    mut sink: impl FnMut(&str, &str, &[u64]) -> Result<(), StateError>,
    chunk: u64,
) -> Result<(), RunError> {
    if columns.is_empty() {
        return Ok(());
    }
    let d = conn.dialect();
    let select: Vec<String> = columns.iter().map(|c| d.as_text(&d.ident(c))).collect();
    let nk = key.len();
    by_chunks(conn, table, key, &select, chunk.max(1), |rows| {
        for (i, c) in columns.iter().enumerate() {
            let mut by_row = Vec::with_capacity(rows.len());
            let mut by_value = Vec::with_capacity(rows.len());
            for r in rows {
                if let Some((fr, fv)) = row_fingerprints(prf, &r[..nk], r[nk + i].as_deref()) {
                    by_row.extend(fr);
                    by_value.push(fv);
                }
            }
            sink(c, "rows", &by_row)?;
            sink(c, "values", &by_value)?;
        }
        Ok(())
    })
    .await
}

const SAMPLES: usize = 5;

/// Per scanned column: values with findings, the kinds found, sample keys.
type KeptHits = (u64, Vec<&'static str>, Vec<Vec<String>>);

/// Verifies the database against the last run recorded in `state_dir`.
///
/// `key` (the run's masking key, else the random key the run saved) is used only to tell a
/// value its transform maps to itself from a value left unmasked.
pub async fn verify(
    url: &DbUrl,
    rules: &Rules,
    key: Option<crate::run::MaskKey>,
    state_dir: &Path,
    report_file: Option<&Path>,
    chunk: u64,
) -> Result<VerifyReport, RunError> {
    let state = StateDir::open(state_dir)?;
    let Some(info) = state.read_run()? else {
        return Err(RunError::Refused(format!(
            "no masking run recorded in {}: `kirikae mask run` takes the fingerprints verify \
             needs (pass its --state-dir if it used another)",
            state_dir.display()
        )));
    };
    if info.fingerprint_scheme != state::FINGERPRINT_SCHEME {
        return Err(RunError::Refused(format!(
            "the run recorded in {} took its fingerprints another way (an older kirikae): run \
             `kirikae mask run` again on a fresh copy, then verify",
            state_dir.display()
        )));
    }
    // The fingerprints are keyed with a key derived from the masking key (never stored), so
    // verify needs the run's key: given now, else the random key a run without one saved.
    let key = match key {
        Some(k) => k,
        None => match std::fs::read_to_string(state.random_key_file()) {
            Ok(s) => crate::run::MaskKey::new(s.trim().as_bytes(), crate::run::KeySource::Random),
            Err(_) => {
                return Err(RunError::Refused(format!(
                    "verify needs the masking key the run used: set ${} or pass --key-file (the \
                     fingerprints of the originals in {} are keyed with a key derived from it, so \
                     that nobody without it can test guesses against them)",
                    crate::run::KEY_ENV,
                    state_dir.display()
                )))
            }
        },
    };
    if key.check_value(&info.salt) != info.key_check {
        return Err(RunError::Refused(format!(
            "this is not the masking key of the run recorded in {} (it was {}): verify with the \
             key the run used",
            state_dir.display(),
            info.key_source
        )));
    }
    let fp_prf = key.fingerprinter(&info.salt);
    let mask_prf = key.prf();
    let mut conn = Conn::connect(url).await?;
    let d = conn.dialect();
    let live = conn.introspect().await?;
    let problems = crate::check::check(rules, &live.schema);
    let mut findings = Vec::new();
    if !info.finished {
        findings.push(Finding {
            id: "run_not_finished",
            table: String::new(),
            column: None,
            count: 1,
            message: "the recorded masking run did not finish: run `kirikae mask run --resume`"
                .into(),
            sample_keys: Vec::new(),
        });
    }
    for p in problems {
        findings.push(Finding {
            id: "rules_do_not_fit",
            table: p.table.clone(),
            column: p.column.clone(),
            count: 1,
            message: p.message.clone(),
            sample_keys: Vec::new(),
        });
    }
    let mut tables = Vec::new();
    for table in &live.schema.tables {
        let Some(tr) = rules.table(&table.name) else {
            continue;
        };
        let key = crate::db::key_of(table, tr.key.as_ref());
        if key.is_empty() {
            continue;
        }
        let rows_after = conn.row_count(&table.name).await?;
        let rows_before = info.rows_before.get(&table.name).copied();
        if let Some(b) = rows_before {
            if b != rows_after {
                findings.push(Finding {
                    id: "row_count_changed",
                    table: table.name.clone(),
                    column: None,
                    count: b.abs_diff(rows_after),
                    message: format!("{b} rows before masking, {rows_after} now"),
                    sample_keys: Vec::new(),
                });
            }
        }
        let masked: Vec<String> = table
            .columns
            .iter()
            .filter(|c| tr.column(&c.name).is_some_and(|r| !r.transform.is_keep()))
            .map(|c| c.name.clone())
            .collect();
        let fingerprinted = info.fingerprinted.get(&table.name);
        let mut checked = Vec::new();
        for col in &masked {
            let Some(rule) = tr.column(col) else { continue };
            if !fingerprinted.is_some_and(|f| f.contains(col)) {
                findings.push(Finding {
                    id: "not_fingerprinted",
                    table: table.name.clone(),
                    column: Some(col.clone()),
                    count: 1,
                    message: "no fingerprints of this column's originals: it was not masked by \
                              the recorded run, so it cannot be verified"
                        .into(),
                    sample_keys: Vec::new(),
                });
                continue;
            }
            let rows_set =
                state::FingerprintSet::open(&state.fingerprint_file(&table.name, col, "rows"))?;
            let values_set = if rule.transform.preserves_uniqueness() {
                Some(state::FingerprintSet::open(&state.fingerprint_file(
                    &table.name,
                    col,
                    "values",
                ))?)
            } else {
                None
            };
            let t = rule.transform.clone();
            let fixed_point = |v: &str| {
                t.reads().is_empty() && t.apply_one(Some(v), &mask_prf) == Some(v.to_string())
            };
            let recorded_key = info.keys.get(&table.name).cloned().unwrap_or(key.clone());
            let select: Vec<String> = recorded_key
                .iter()
                .chain(std::iter::once(col))
                .map(|c| d.as_text(&d.ident(c)))
                .collect();
            let nk = key.len();
            let nr = recorded_key.len();
            let (mut in_row, mut elsewhere) = (0u64, 0u64);
            let (mut s_row, mut s_else) = (Vec::new(), Vec::new());
            by_chunks(&mut conn, &table.name, &key, &select, chunk, |rows| {
                for r in rows {
                    let Some(v) = r[nk + nr].as_deref() else {
                        continue;
                    };
                    let Some((by_row, by_value)) =
                        row_fingerprints(&fp_prf, &r[nk..nk + nr], Some(v))
                    else {
                        continue;
                    };
                    let row_hit = match by_row {
                        Some(f) => rows_set.contains(f)?,
                        None => false,
                    };
                    let value_hit = !row_hit
                        && match &values_set {
                            Some(set) => set.contains(by_value)?,
                            None => false,
                        };
                    if (row_hit || value_hit) && fixed_point(v) {
                        continue;
                    }
                    let k: Vec<String> = r[..nk]
                        .iter()
                        .map(|x| x.clone().unwrap_or_default())
                        .collect();
                    if row_hit {
                        in_row += 1;
                        if s_row.len() < SAMPLES {
                            s_row.push(k);
                        }
                    } else if value_hit {
                        elsewhere += 1;
                        if s_else.len() < SAMPLES {
                            s_else.push(k);
                        }
                    }
                }
                Ok(())
            })
            .await?;
            if in_row > 0 {
                findings.push(Finding {
                    id: "original_in_row",
                    table: table.name.clone(),
                    column: Some(col.clone()),
                    count: in_row,
                    message: format!("{in_row} rows still hold their original value"),
                    sample_keys: s_row,
                });
            }
            if elsewhere > 0 {
                findings.push(Finding {
                    id: "original_elsewhere",
                    table: table.name.clone(),
                    column: Some(col.clone()),
                    count: elsewhere,
                    message: format!(
                        "{elsewhere} rows hold a value that was an original value of this column"
                    ),
                    sample_keys: s_else,
                });
            }
            checked.push(col.clone());
        }
        // Unique indexes and the primary key.
        let mut uniques = table.unique.clone();
        if !table.primary_key.is_empty() {
            uniques.push(table.primary_key.clone());
        }
        for u in &uniques {
            let cols: Vec<String> = u.iter().map(|c| d.ident(c)).collect();
            let not_null: Vec<String> = cols.iter().map(|c| format!("{c} IS NOT NULL")).collect();
            let dups = conn
                .count(&format!(
                    "SELECT COUNT(*) FROM (SELECT {c} FROM {t} WHERE {nn} GROUP BY {c} HAVING COUNT(*) > 1) AS kirikae_dups",
                    c = cols.join(", "),
                    t = d.ident(&table.name),
                    nn = not_null.join(" AND ")
                ))
                .await?;
            if dups > 0 {
                findings.push(Finding {
                    id: "duplicate_in_unique_index",
                    table: table.name.clone(),
                    column: Some(u.join(", ")),
                    count: dups,
                    message: format!("{dups} values appear more than once"),
                    sample_keys: Vec::new(),
                });
            }
        }
        for fk in &table.foreign_keys {
            let on: Vec<String> = fk
                .columns
                .iter()
                .zip(&fk.referenced_columns)
                .map(|(c, p)| format!("c.{} = p.{}", d.ident(c), d.ident(p)))
                .collect();
            let nn: Vec<String> = fk
                .columns
                .iter()
                .map(|c| format!("c.{} IS NOT NULL", d.ident(c)))
                .collect();
            let broken = conn
                .count(&format!(
                    "SELECT COUNT(*) FROM {} c LEFT JOIN {} p ON {} WHERE {} AND p.{} IS NULL",
                    d.ident(&table.name),
                    d.ident(&fk.referenced_table),
                    on.join(" AND "),
                    nn.join(" AND "),
                    d.ident(&fk.referenced_columns[0])
                ))
                .await?;
            if broken > 0 {
                findings.push(Finding {
                    id: "broken_foreign_key",
                    table: table.name.clone(),
                    column: Some(fk.columns.join(", ")),
                    count: broken,
                    message: format!(
                        "{broken} rows reference a missing {} row ({})",
                        fk.referenced_table, fk.name
                    ),
                    sample_keys: Vec::new(),
                });
            }
        }
        // Kept text and JSON columns.
        let scanned: Vec<String> = table
            .columns
            .iter()
            .filter(|c| {
                matches!(c.kind, ColumnKind::Text | ColumnKind::Json)
                    && tr.column(&c.name).is_some_and(|r| r.transform.is_keep())
                    && !key.contains(&c.name)
            })
            .map(|c| c.name.clone())
            .collect();
        if !scanned.is_empty() {
            let select: Vec<String> = scanned.iter().map(|c| d.as_text(&d.ident(c))).collect();
            let nk = key.len();
            let mut hits: Vec<KeptHits> = vec![(0, Vec::new(), Vec::new()); scanned.len()];
            by_chunks(&mut conn, &table.name, &key, &select, chunk, |rows| {
                for r in rows {
                    for (i, h) in hits.iter_mut().enumerate() {
                        let Some(v) = r[nk + i].as_deref() else {
                            continue;
                        };
                        let kinds = personal_data_in(v);
                        if kinds.is_empty() {
                            continue;
                        }
                        h.0 += 1;
                        for k in kinds {
                            if !h.1.contains(&k) {
                                h.1.push(k);
                            }
                        }
                        if h.2.len() < SAMPLES {
                            h.2.push(
                                r[..nk]
                                    .iter()
                                    .map(|x| x.clone().unwrap_or_default())
                                    .collect(),
                            );
                        }
                    }
                }
                Ok(())
            })
            .await?;
            for (c, (n, kinds, samples)) in scanned.iter().zip(hits) {
                if n > 0 {
                    findings.push(Finding {
                        id: "personal_data_in_kept_column",
                        table: table.name.clone(),
                        column: Some(c.clone()),
                        count: n,
                        message: format!(
                            "{n} values of a kept column look like personal data ({}): mask the \
                             column (text_scrub) or check these rows",
                            kinds.join(", ")
                        ),
                        sample_keys: samples,
                    });
                }
            }
        }
        tables.push(TableCheck {
            table: table.name.clone(),
            rows_before,
            rows_after,
            masked_columns_checked: checked,
            kept_columns_scanned: scanned,
        });
    }
    let report_file = match report_file {
        Some(p) => p.to_path_buf(),
        None => state.path.join(format!("verify-{}.json", state::now())),
    };
    let report = VerifyReport {
        database: url.to_string(),
        ok: findings.is_empty(),
        findings,
        tables,
        report_file: report_file.clone(),
    };
    let text = serde_json::to_string_pretty(&report).map_err(|e| StateError {
        path: report_file.clone(),
        message: e.to_string(),
    })?;
    state::write_private(&report_file, text.as_bytes())?;
    Ok(report)
}
