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
//! - `masked_in_place_not_rewritten`: a table masked by UPDATEs in place whose rewrite into new
//!   files did not happen (its files may hold old row versions with the originals).
//!
//! Each table is read once, by key ranges, for all of its masked and scanned columns.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::db::{Conn, DbError, DbUrl};
use crate::detect::personal_data_in;
pub use crate::fingerprint::fingerprint_columns;
use crate::fingerprint::{self, row_fingerprint, value_fingerprint};
use crate::key::{KeySource, MaskKey, KEY_ENV};
use crate::rules::Rules;
use crate::scan;
use crate::schema::ColumnKind;
use crate::state::{self, StateDir, StateError};

/// Why verify could not give a verdict (findings are not errors: they are in the report).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    State(#[from] StateError),
    /// Nothing to verify against, or not with this key: what to do instead is in the message.
    #[error("{0}")]
    Refused(String),
}

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

const SAMPLES: usize = 5;

/// A masked column checked against the fingerprints of its originals.
struct MaskedCheck {
    column: String,
    rows_set: state::FingerprintSet,
    /// For transforms that keep values unique: any original value of the column.
    values_set: Option<state::FingerprintSet>,
    transform: std::sync::Arc<dyn crate::transform::Transform>,
    in_row: (u64, Vec<Vec<String>>),
    elsewhere: (u64, Vec<Vec<String>>),
}

/// A kept text or JSON column scanned for personal data.
struct KeptScan {
    column: String,
    /// Values with findings, the kinds found, sample keys.
    hits: u64,
    kinds: Vec<&'static str>,
    samples: Vec<Vec<String>>,
}

/// The one read of a table's values: every masked column against its fingerprints and every
/// kept text column scanned, chunk by chunk, in a single walk of the key (reading the table
/// once per column made verify twice as slow as the masking run on a wide table).
struct ValuePass<'a> {
    /// Per masked column, in the table's order: its check, or why it cannot be checked (the
    /// finding's message).
    masked: Vec<(String, Result<MaskedCheck, String>)>,
    kept: Vec<KeptScan>,
    /// The key the run fingerprinted rows by (the rules' key at the time).
    recorded_key: Vec<String>,
    fp_prf: &'a state::Fingerprinter,
    mask_prf: &'a crate::prf::Prf,
    table: String,
}

impl<'a> ValuePass<'a> {
    fn new(
        table: &crate::schema::Table,
        tr: &crate::rules::TableRules,
        key: &[String],
        info: &state::RunInfo,
        state: &StateDir,
        fp_prf: &'a state::Fingerprinter,
        mask_prf: &'a crate::prf::Prf,
    ) -> Result<ValuePass<'a>, VerifyError> {
        let fingerprinted = info.fingerprinted.get(&table.name);
        let mut masked = Vec::new();
        for c in &table.columns {
            let Some(rule) = tr.column(&c.name).filter(|r| !r.transform.is_keep()) else {
                continue;
            };
            if !fingerprinted.is_some_and(|f| f.contains(&c.name)) {
                masked.push((
                    c.name.clone(),
                    Err(
                        "no fingerprints of this column's originals: it was not masked by the \
                         recorded run, so it cannot be verified"
                            .into(),
                    ),
                ));
                continue;
            }
            let file = |what| state.fingerprint_file(&table.name, &c.name, what);
            let by_value = fingerprint::by_value(rule.transform.as_ref());
            if by_value && !file(fingerprint::BY_VALUE).exists() {
                masked.push((
                    c.name.clone(),
                    Err(format!(
                        "the recorded run did not fingerprint this column's originals by value \
                         (its rule then was one that does not keep values unique; now it is \
                         `{}`), so no masked value can be checked against them: mask again \
                         with these rules",
                        rule.transform.name()
                    )),
                ));
                continue;
            }
            masked.push((
                c.name.clone(),
                Ok(MaskedCheck {
                    column: c.name.clone(),
                    rows_set: state::FingerprintSet::open(&file(fingerprint::BY_ROW))?,
                    values_set: if by_value {
                        Some(state::FingerprintSet::open(&file(fingerprint::BY_VALUE))?)
                    } else {
                        None
                    },
                    transform: rule.transform.clone(),
                    in_row: (0, Vec::new()),
                    elsewhere: (0, Vec::new()),
                }),
            ));
        }
        let kept = table
            .columns
            .iter()
            .filter(|c| {
                matches!(c.kind, ColumnKind::Text | ColumnKind::Json)
                    && tr.column(&c.name).is_some_and(|r| r.transform.is_keep())
                    && !key.contains(&c.name)
            })
            .map(|c| KeptScan {
                column: c.name.clone(),
                hits: 0,
                kinds: Vec::new(),
                samples: Vec::new(),
            })
            .collect();
        Ok(ValuePass {
            masked,
            kept,
            recorded_key: info.keys.get(&table.name).cloned().unwrap_or(key.to_vec()),
            fp_prf,
            mask_prf,
            table: table.name.clone(),
        })
    }

    /// Reads the table once; gives the findings of the masked columns (in the table's order),
    /// those of the kept columns, and the names of the columns checked and scanned.
    async fn run(
        mut self,
        reader: Conn,
        table: &str,
        key: &[String],
        chunk: u64,
    ) -> Result<(Vec<Finding>, Vec<Finding>, Vec<String>, Vec<String>), VerifyError> {
        let d = reader.dialect();
        let checks: Vec<&String> = self
            .masked
            .iter()
            .filter_map(|(_, m)| m.as_ref().ok().map(|m| &m.column))
            .collect();
        if !checks.is_empty() || !self.kept.is_empty() {
            let select: Vec<String> = self
                .recorded_key
                .iter()
                .chain(checks)
                .chain(self.kept.iter().map(|k| &k.column))
                .map(|c| d.as_text(&d.ident(c)))
                .collect();
            let (nk, nr) = (key.len(), self.recorded_key.len());
            let (fp_prf, mask_prf) = (self.fp_prf, self.mask_prf);
            let mut checks: Vec<&mut MaskedCheck> = self
                .masked
                .iter_mut()
                .filter_map(|(_, m)| m.as_mut().ok())
                .collect();
            let kept = &mut self.kept;
            let width = nk + select.len();
            scan::by_key_ranges(reader, table, key, &select, chunk, |rows| {
                let n = rows.len();
                // The chunk's values, row after row.
                let mut cells: Vec<Option<&str>> = Vec::with_capacity(n * width);
                for row in 0..n {
                    cells.extend(rows.row(row));
                }
                let row_key = |row: usize| -> Vec<String> {
                    cells[row * width..row * width + nk]
                        .iter()
                        .map(|x| x.unwrap_or_default().to_string())
                        .collect()
                };
                // Column by column: the row fingerprints of the chunk's values first, then the
                // lookups, each asking for the memory of the one PREFETCH_AHEAD values on, so
                // that their cache misses overlap instead of coming one after another.
                let mut fps: Vec<Option<u64>> = Vec::with_capacity(n);
                for (i, m) in checks.iter_mut().enumerate() {
                    let col = nk + nr + i;
                    fps.clear();
                    fps.extend((0..n).map(|row| {
                        let r = &cells[row * width..(row + 1) * width];
                        r[col].and_then(|v| row_fingerprint(fp_prf, &r[nk..nk + nr], v))
                    }));
                    for row in 0..n {
                        if let Some(Some(ahead)) = fps.get(row + PREFETCH_AHEAD) {
                            m.rows_set.prefetch(*ahead);
                        }
                        let Some(v) = cells[row * width + col] else {
                            continue;
                        };
                        if let Some(hit) = m.check(fp_prf, mask_prf, fps[row], v)? {
                            let (count, samples) = match hit {
                                Hit::InRow => &mut m.in_row,
                                Hit::Elsewhere => &mut m.elsewhere,
                            };
                            *count += 1;
                            if samples.len() < SAMPLES {
                                samples.push(row_key(row));
                            }
                        }
                    }
                }
                for row in 0..n {
                    let r = &cells[row * width..(row + 1) * width];
                    let first_kept = nk + nr + checks.len();
                    for (i, k) in kept.iter_mut().enumerate() {
                        let Some(v) = r[first_kept + i] else {
                            continue;
                        };
                        let kinds = personal_data_in(v);
                        if kinds.is_empty() {
                            continue;
                        }
                        k.hits += 1;
                        for kind in kinds {
                            if !k.kinds.contains(&kind) {
                                k.kinds.push(kind);
                            }
                        }
                        if k.samples.len() < SAMPLES {
                            k.samples.push(row_key(row));
                        }
                    }
                }
                Ok::<(), VerifyError>(())
            })
            .await?;
        }
        Ok(self.findings())
    }

    fn findings(self) -> (Vec<Finding>, Vec<Finding>, Vec<String>, Vec<String>) {
        let table = self.table;
        let finding = |id, column: &str, count, message, sample_keys| Finding {
            id,
            table: table.clone(),
            column: Some(column.to_string()),
            count,
            message,
            sample_keys,
        };
        let mut masked_findings = Vec::new();
        let mut checked = Vec::new();
        for (column, m) in self.masked {
            let m = match m {
                Ok(m) => m,
                Err(why) => {
                    masked_findings.push(finding("not_fingerprinted", &column, 1, why, Vec::new()));
                    continue;
                }
            };
            let (in_row, s_row) = m.in_row;
            if in_row > 0 {
                masked_findings.push(finding(
                    "original_in_row",
                    &column,
                    in_row,
                    format!("{in_row} rows still hold their original value"),
                    s_row,
                ));
            }
            let (elsewhere, s_else) = m.elsewhere;
            if elsewhere > 0 {
                masked_findings.push(finding(
                    "original_elsewhere",
                    &column,
                    elsewhere,
                    format!(
                        "{elsewhere} rows hold a value that was an original value of this column"
                    ),
                    s_else,
                ));
            }
            checked.push(column);
        }
        let mut kept_findings = Vec::new();
        let mut scanned = Vec::new();
        for k in self.kept {
            if k.hits > 0 {
                let n = k.hits;
                kept_findings.push(finding(
                    "personal_data_in_kept_column",
                    &k.column,
                    n,
                    format!(
                        "{n} values of a kept column look like personal data ({}): mask the \
                         column (text_scrub) or check these rows",
                        k.kinds.join(", ")
                    ),
                    k.samples,
                ));
            }
            scanned.push(k.column);
        }
        (masked_findings, kept_findings, checked, scanned)
    }
}

/// How many values ahead of its lookup a fingerprint's memory is asked for (each lookup is
/// about a hundred instructions; a miss to memory several hundred cycles).
const PREFETCH_AHEAD: usize = 8;

/// Where a masked value was found among the originals.
enum Hit {
    /// It is the value this very row held before masking.
    InRow,
    /// It was some row's original value (checked for transforms that keep values unique).
    Elsewhere,
}

impl MaskedCheck {
    fn check(
        &self,
        fp: &state::Fingerprinter,
        mask_prf: &crate::prf::Prf,
        by_row: Option<u64>,
        v: &str,
    ) -> Result<Option<Hit>, StateError> {
        let hit = match by_row {
            Some(f) if self.rows_set.contains(f)? => Hit::InRow,
            // The value's own fingerprint only where it is looked up: for the transforms that
            // keep values unique (most columns have no `values` set to look in).
            _ => match &self.values_set {
                Some(set) if set.contains(value_fingerprint(fp, v))? => Hit::Elsewhere,
                _ => return Ok(None),
            },
        };
        // A value its transform maps to itself is no leak.
        let t = &self.transform;
        let fixed_point =
            t.reads().is_empty() && t.apply_one(Some(v), mask_prf) == Some(v.to_string());
        Ok((!fixed_point).then_some(hit))
    }
}

/// Verifies the database against the last run recorded in `state_dir`.
///
/// `key` (the run's masking key, else the random key the run saved) is used only to tell a
/// value its transform maps to itself from a value left unmasked.
pub async fn verify(
    url: &DbUrl,
    rules: &Rules,
    key: Option<MaskKey>,
    state_dir: &Path,
    report_file: Option<&Path>,
    chunk: u64,
) -> Result<VerifyReport, VerifyError> {
    let state = StateDir::open(state_dir)?;
    let Some(info) = state.read_run()? else {
        return Err(VerifyError::Refused(format!(
            "no masking run recorded in {}: `kirikae mask run` takes the fingerprints verify \
             needs (pass its --state-dir if it used another)",
            state_dir.display()
        )));
    };
    if info.fingerprint_scheme != state::FINGERPRINT_SCHEME {
        return Err(VerifyError::Refused(format!(
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
            Ok(s) => MaskKey::new(s.trim().as_bytes(), KeySource::Random),
            Err(_) => {
                return Err(VerifyError::Refused(format!(
                    "verify needs the masking key the run used: set ${} or pass --key-file (the \
                     fingerprints of the originals in {} are keyed with a key derived from it, so \
                     that nobody without it can test guesses against them)",
                    KEY_ENV,
                    state_dir.display()
                )))
            }
        },
    };
    if key.check_value(&info.salt) != info.key_check {
        return Err(VerifyError::Refused(format!(
            "this is not the masking key of the run recorded in {} (it was {}): verify with the \
             key the run used",
            state_dir.display(),
            info.key_source
        )));
    }
    let fp_prf = key.fingerprinter(&info.salt);
    let mask_prf = key.prf();
    let mut conn = Conn::connect(url).await?;
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
        if info.in_place.contains(&table.name) && !info.rewritten.contains(&table.name) {
            findings.push(Finding {
                id: "masked_in_place_not_rewritten",
                table: table.name.clone(),
                column: None,
                count: 1,
                message: "masked in place (UPDATEs) and not rewritten since: the table's files \
                          may still hold old row versions with the original values; run \
                          `kirikae mask run --resume` to finish the run (it rewrites the table)"
                    .into(),
                sample_keys: Vec::new(),
            });
        }
        // The value pass reads the table on a connection of its own while the server counts its
        // rows and checks its unique indexes and foreign keys on this one: the checks are the
        // server's work (at 2M rows on PostgreSQL, 5.6 s after a 6 s pass), the pass mostly
        // kirikae's.
        let pass = ValuePass::new(table, tr, &key, &info, &state, &fp_prf, &mask_prf)?;
        let rows_before = info.rows_before.get(&table.name).copied();
        let (values, constraints) = tokio::join!(
            async {
                pass.run(Conn::connect(url).await?, &table.name, &key, chunk)
                    .await
            },
            constraint_findings(&mut conn, table, rows_before),
        );
        let (column_findings, kept_findings, checked, scanned) = values?;
        let (rows_after, constraint_findings) = constraints?;
        findings.extend(column_findings);
        findings.extend(constraint_findings);
        findings.extend(kept_findings);
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

/// What the server checks of a table after masking, in findings: its row count against the one
/// before masking (`rows_before`), its unique indexes and primary key, its foreign keys. Gives
/// the rows it has now, and the findings.
async fn constraint_findings(
    conn: &mut Conn,
    table: &crate::schema::Table,
    rows_before: Option<u64>,
) -> Result<(u64, Vec<Finding>), VerifyError> {
    let d = conn.dialect();
    let mut findings = Vec::new();
    let rows_after = conn.row_count(&table.name).await?;
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
    Ok((rows_after, findings))
}
