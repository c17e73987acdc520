//! The lifecycle table: when each Lambda runtime, database engine, cache engine, Kubernetes and
//! Amazon Linux version leaves standard support and when its last support ends, with a source per
//! row. The table kirikae is built with is `data/lifecycle.json`, written by
//! `scripts/lifecycle/generate` from endoflife.date's data and a reviewed overlay; `--lifecycle
//! FILE` reads a newer one of the same shape.
//!
//! Dates are calendar days (UTC); "ended" stands for a date the data says has passed without
//! naming it, and counts as passed on any day.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The table built into kirikae.
const BUILT_IN: &str = include_str!("../data/lifecycle.json");

/// Older than this (against `--as-of` or today), the table says it may miss newer dates.
pub const STALE_AFTER_DAYS: i64 = 90;

/// How far ahead an end of support is reported (`RT-005`).
pub const SOON_DAYS: i64 = 180;

/// A calendar day, counted from 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i64);

impl Date {
    /// `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let y: i64 = s[0..4].parse().ok()?;
        let m: u32 = s[5..7].parse().ok()?;
        let d: u32 = s[8..10].parse().ok()?;
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        Some(Date::from_civil(y, m, d))
    }

    /// Today in UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Date(secs.div_euclid(86_400))
    }

    /// The day of a Unix timestamp in seconds (UTC).
    pub fn from_unix(secs: i64) -> Date {
        Date(secs.div_euclid(86_400))
    }

    // Howard Hinnant's days_from_civil.
    fn from_civil(y: i64, m: u32, d: u32) -> Date {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(m);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Date(era * 146_097 + doe - 719_468)
    }

    fn civil(self) -> (i64, u32, u32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (
            if m <= 2 {
                yoe + era * 400 + 1
            } else {
                yoe + era * 400
            },
            m,
            d,
        )
    }

    /// Days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        later.0 - self.0
    }
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = self.civil();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// A date in the table: a day, or "ended" (passed, day not published).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    On(Date),
    Ended,
}

impl Mark {
    fn parse(s: &str) -> Option<Mark> {
        if s == "ended" {
            Some(Mark::Ended)
        } else {
            Date::parse(s).map(Mark::On)
        }
    }

    /// Whether it has passed on `day` (a date is passed from the day after it).
    pub fn passed(self, day: Date) -> bool {
        match self {
            Mark::Ended => true,
            Mark::On(d) => d < day,
        }
    }
}

impl std::fmt::Display for Mark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mark::On(d) => d.fmt(f),
            Mark::Ended => f.write_str("an unpublished date"),
        }
    }
}

/// One product version: `lambda` `python3.9`, `rds-mysql` `5.7`, `aurora-mysql` `2`, ...
#[derive(Debug, Clone)]
pub struct Row {
    pub product: String,
    pub cycle: String,
    pub label: Option<String>,
    pub released: Option<Mark>,
    /// Lambda: deprecation; databases, caches, EKS: end of standard support (Extended Support
    /// starts); Amazon Linux: end of standard support.
    pub end_standard: Option<Mark>,
    /// Lambda: function updates blocked; databases, caches, EKS: end of Extended Support (AWS
    /// upgrades); Amazon Linux: end of security support.
    pub end_extended: Option<Mark>,
    pub source: String,
}

/// The Extended Support surcharge per vCPU-hour of a provisioned database instance.
#[derive(Debug, Clone, Deserialize)]
pub struct Rate {
    pub products: Vec<String>,
    pub region: String,
    pub year_1_2: f64,
    pub year_3: f64,
    pub source: String,
}

/// A lifecycle table and where it came from.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    /// The data's date.
    pub date: Date,
    /// `built in` or the file's path.
    pub origin: String,
    pub rows: Vec<Row>,
    pub rates: Vec<Rate>,
}

/// A `--lifecycle` file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("cannot read the lifecycle table {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the lifecycle table {origin} is not JSON of the shape scripts/lifecycle/generate writes"
    )]
    Json {
        origin: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the lifecycle table {origin}: {what}")]
    Invalid { origin: String, what: String },
}

#[derive(Deserialize)]
struct RawTable {
    schema: u32,
    date: String,
    #[serde(default)]
    extended_support_rates: Vec<Rate>,
    rows: Vec<RawRow>,
}

#[derive(Deserialize)]
struct RawRow {
    product: String,
    cycle: String,
    label: Option<String>,
    released: Option<String>,
    end_standard: Option<String>,
    end_extended: Option<String>,
    source: Option<String>,
}

impl Lifecycle {
    /// The table kirikae was built with.
    pub fn built_in() -> Lifecycle {
        // Tested in this module: the committed table always parses.
        Lifecycle::parse(BUILT_IN, "built in").expect("data/lifecycle.json parses")
    }

    /// A table from a file (`--lifecycle FILE`).
    pub fn read(path: &Path) -> Result<Lifecycle, LifecycleError> {
        let text = std::fs::read_to_string(path).map_err(|source| LifecycleError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Lifecycle::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Lifecycle, LifecycleError> {
        let invalid = |what: String| LifecycleError::Invalid {
            origin: origin.to_string(),
            what,
        };
        let raw: RawTable = serde_json::from_str(text).map_err(|source| LifecycleError::Json {
            origin: origin.to_string(),
            source,
        })?;
        if raw.schema != 1 {
            return Err(invalid(format!(
                "schema {} is not 1: this kirikae reads schema 1",
                raw.schema
            )));
        }
        let date = Date::parse(&raw.date)
            .ok_or_else(|| invalid(format!("date {:?} is not YYYY-MM-DD", raw.date)))?;
        let mut rows = Vec::with_capacity(raw.rows.len());
        for r in raw.rows {
            let what = format!("{} {}", r.product, r.cycle);
            let mark = |v: Option<String>, field: &str| -> Result<Option<Mark>, LifecycleError> {
                v.map(|s| {
                    Mark::parse(&s).ok_or_else(|| {
                        invalid(format!(
                            "{what}: {field} {s:?} is not YYYY-MM-DD or \"ended\""
                        ))
                    })
                })
                .transpose()
            };
            let source = r
                .source
                .filter(|s| !s.is_empty())
                .ok_or_else(|| invalid(format!("{what}: no source")))?;
            let row = Row {
                released: mark(r.released, "released")?,
                end_standard: mark(r.end_standard, "end_standard")?,
                end_extended: mark(r.end_extended, "end_extended")?,
                product: r.product,
                cycle: r.cycle,
                label: r.label,
                source,
            };
            if row.released.is_none() && row.end_standard.is_none() && row.end_extended.is_none() {
                return Err(invalid(format!("{what}: no date")));
            }
            rows.push(row);
        }
        Ok(Lifecycle {
            date,
            origin: origin.to_string(),
            rows,
            rates: raw.extended_support_rates,
        })
    }

    /// The row of `product` version `cycle`, if the table has it.
    pub fn find(&self, product: &str, cycle: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.product == product && r.cycle == cycle)
    }

    /// Whether the table knows `product` at all (an unknown version of a known product is worth
    /// saying; a product the table does not cover is not).
    pub fn covers(&self, product: &str) -> bool {
        self.rows.iter().any(|r| r.product == product)
    }

    pub fn rate(&self, product: &str) -> Option<&Rate> {
        self.rates
            .iter()
            .find(|r| r.products.iter().any(|p| p == product))
    }

    /// The table's age in days on `day` when it is older than [`STALE_AFTER_DAYS`].
    pub fn stale(&self, day: Date) -> Option<i64> {
        let age = self.date.days_until(day);
        (age > STALE_AFTER_DAYS).then_some(age)
    }
}

/// Where a version stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// In standard support; the next end, if one is published.
    Supported { next: Option<Date> },
    /// Past the end of standard support, before the end of the last support.
    Extended { since: Mark, until: Option<Mark> },
    /// Past the end of every support.
    Ended { since: Mark },
}

impl Row {
    pub fn stage(&self, day: Date) -> Stage {
        if let Some(end) = self.end_extended.filter(|m| m.passed(day)) {
            return Stage::Ended { since: end };
        }
        if let Some(end) = self.end_standard.filter(|m| m.passed(day)) {
            return Stage::Extended {
                since: end,
                until: self.end_extended,
            };
        }
        let next = [self.end_standard, self.end_extended]
            .into_iter()
            .flatten()
            .find_map(|m| match m {
                Mark::On(d) => Some(d),
                Mark::Ended => None,
            });
        Stage::Supported { next }
    }

    /// `Python 3.9 (python3.9)` or the cycle alone.
    pub fn name(&self) -> String {
        match &self.label {
            Some(l) if *l != self.cycle => format!("{l} ({})", self.cycle),
            _ => self.cycle.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn dates_round_trip_and_count_days() {
        for s in [
            "1970-01-01",
            "2024-02-29",
            "2026-08-22",
            "2000-12-31",
            "2100-03-01",
        ] {
            assert_eq!(d(s).to_string(), s);
        }
        assert_eq!(d("2024-02-28").days_until(d("2024-03-01")), 2);
        assert_eq!(Date::from_unix(86_400 * 365).to_string(), "1971-01-01");
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "yesterday",
            "2026-04-31",
        ] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_built_in_table_parses_and_every_row_has_a_date_and_a_source() {
        let t = Lifecycle::built_in();
        assert!(t.rows.len() > 50, "{} rows", t.rows.len());
        for r in &t.rows {
            assert!(
                r.released.is_some() || r.end_standard.is_some() || r.end_extended.is_some(),
                "{} {}",
                r.product,
                r.cycle
            );
            assert!(
                r.source.starts_with("https://"),
                "{} {}",
                r.product,
                r.cycle
            );
        }
        for product in [
            "lambda",
            "rds-mysql",
            "rds-postgres",
            "aurora-mysql",
            "aurora-postgresql",
            "elasticache-redis",
            "eks",
            "amazon-linux",
        ] {
            assert!(t.covers(product), "{product}");
        }
        // Aurora MySQL comes from the overlay.
        let a2 = t.find("aurora-mysql", "2").unwrap();
        assert_eq!(a2.end_standard, Some(Mark::On(d("2024-10-31"))));
        assert!(a2.source.contains("docs.aws.amazon.com"));
        assert!(t.rate("rds-mysql").is_some());
    }

    #[test]
    fn a_stage_follows_the_day() {
        let t = Lifecycle::built_in();
        let py39 = t.find("lambda", "python3.9").unwrap();
        assert!(matches!(
            py39.stage(d("2025-01-01")),
            Stage::Supported { next: Some(n) } if n == d("2025-12-15")
        ));
        assert!(matches!(
            py39.stage(d("2026-01-01")),
            Stage::Extended { .. }
        ));
        assert!(matches!(py39.stage(d("2027-03-04")), Stage::Ended { .. }));
        // The end date itself is still inside.
        assert!(matches!(
            py39.stage(d("2025-12-15")),
            Stage::Supported { .. }
        ));
    }

    #[test]
    fn a_bad_table_says_what_is_wrong() {
        let e = Lifecycle::parse(
            r#"{"schema":1,"date":"2026-08-22","rows":[{"product":"lambda","cycle":"x","end_standard":"soon","source":"https://x"}]}"#,
            "t.json",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("lambda x: end_standard \"soon\""),
            "{e}"
        );
        let e = Lifecycle::parse(
            r#"{"schema":1,"date":"2026-08-22","rows":[{"product":"lambda","cycle":"x","end_standard":"2026-01-01"}]}"#,
            "t.json",
        )
        .unwrap_err();
        assert!(e.to_string().contains("no source"), "{e}");
        let t = Lifecycle::parse(r#"{"schema":1,"date":"2026-01-01","rows":[]}"#, "t").unwrap();
        assert_eq!(t.stale(d("2026-03-01")), None);
        assert_eq!(t.stale(d("2026-04-02")), Some(91));
    }
}
