//! `date_shift`: dates and timestamps move by a whole number of days, between 1 and `max_days`
//! earlier or later (never 0), drawn from the digest of the original value; the time of day is
//! kept. `{ transform = "date_shift", max_days = 30 }`.
//!
//! On PostgreSQL the SQL form of a `date` column is a timestamp at midnight, which the
//! assignment to the column turns back into the same date.

use std::sync::Arc;

use serde::Deserialize;

use super::sqlkit;
use crate::calendar::{civil_from_days, days_from_civil};
use crate::prf::Prf;
use crate::schema::{Column, ColumnKind};
use crate::transform::{Dialect, RowView, SqlContext, Transform};

const DOMAIN: &str = "date_shift";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateShift {
    max_days: i64,
}

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    let t: DateShift = super::params("date_shift", params)?;
    if !(1..=36_500).contains(&t.max_days) {
        return Err(format!(
            "date_shift: `max_days` must be 1 to 36500, found {}",
            t.max_days
        ));
    }
    Ok(Arc::new(t))
}

/// The date part "YYYY-MM-DD" of a canonical date or timestamp text.
pub(crate) fn parse_date(s: &str) -> Option<(i64, i64, i64)> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = s[..4].parse().ok()?;
    let m: i64 = s[5..7].parse().ok()?;
    let d: i64 = s[8..10].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some((y, m, d))
}

impl DateShift {
    fn shift(&self, d: &crate::prf::Digest128) -> i64 {
        let s = i64::from(d.draw(0)) % (2 * self.max_days);
        if s < self.max_days {
            s - self.max_days
        } else {
            s - self.max_days + 1
        }
    }
}

impl Transform for DateShift {
    fn name(&self) -> &'static str {
        "date_shift"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        match column.kind {
            ColumnKind::Date | ColumnKind::DateTime => Ok(()),
            _ => Err(super::wrong_type(
                "date_shift",
                "a date or timestamp column",
                column,
            )),
        }
    }
    /// Zero dates (MySQL '0000-00-00') and other unparsable values become NULL, as
    /// `DATE_ADD` makes them.
    fn apply(&self, value: Option<&str>, _row: &RowView<'_>, prf: &Prf) -> Option<String> {
        let value = value?;
        let (y, m, d) = parse_date(value)?;
        let shift = self.shift(&prf.digest(DOMAIN, value));
        let (y, m, d) = civil_from_days(days_from_civil(y, m, d) + shift);
        Some(format!("{y:04}-{m:02}-{d:02}{}", &value[10..]))
    }
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String> {
        let d = ctx.dialect;
        let input = d.as_text(ctx.column);
        let max = self.max_days;
        Some(sqlkit::with_digest(ctx, DOMAIN, &input, ctx.column, |h| {
            // s = draw(0) % 2max; the shift is s - max below max, s - max + 1 from max on: that
            // is s - max + 0.5 (an exact decimal, never a whole number) rounded half away from
            // zero, which both engines' ROUND do for exact values. One use of the digest, so it
            // is inlined rather than bound (see sqlkit).
            let s = format!("({} % {})", sqlkit::draw(d, h.as_str(), 0), 2 * max);
            let shift = format!("ROUND({s} - {max} + 0.5)");
            match d {
                Dialect::MySql => format!(
                    "DATE_ADD({}, INTERVAL CAST({shift} AS SIGNED) DAY)",
                    ctx.column
                ),
                Dialect::Postgres => {
                    format!("({} + make_interval(days => ({shift})::int))", ctx.column)
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_within_the_window_never_zero_and_keeps_the_time() {
        let prf = Prf::from_secret(b"k");
        let t = DateShift { max_days: 3 };
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..400 {
            let (y, m, d) = civil_from_days(days_from_civil(2000, 1, 1) + i);
            let v = format!("{y:04}-{m:02}-{d:02} 12:34:56.5");
            let out = t.apply_one(Some(&v), &prf).unwrap();
            assert!(out.ends_with(" 12:34:56.5"), "{out}");
            let (oy, om, od) = parse_date(&out).unwrap();
            let delta = days_from_civil(oy, om, od) - days_from_civil(y, m, d);
            assert!(delta != 0 && delta.abs() <= 3, "{v} -> {out}");
            seen.insert(delta);
        }
        assert_eq!(seen.len(), 6, "{seen:?}");
        assert_eq!(t.apply_one(Some("0000-00-00"), &prf), None);
        assert_eq!(
            t.apply_one(Some("2024-02-29"), &prf),
            t.apply_one(Some("2024-02-29"), &prf)
        );
    }

    #[test]
    fn the_sql_shift_formula_is_the_rust_shift() {
        // ROUND(s - max + 0.5), half away from zero, as the SQL form computes it.
        for max in [1i64, 2, 3, 30, 400, 36_500] {
            let t = DateShift { max_days: max };
            for s in 0..2 * max {
                let x = 2 * (s - max) + 1; // twice s - max + 0.5, odd
                let rounded = if x > 0 { (x + 1) / 2 } else { (x - 1) / 2 };
                // The Rust form, for a draw whose remainder is s.
                let rust = if s < t.max_days { s - max } else { s - max + 1 };
                assert_eq!(rounded, rust, "max {max}, s {s}");
            }
        }
    }

    #[test]
    fn calendar_arithmetic_round_trips() {
        for z in -800_000..800_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(
            civil_from_days(days_from_civil(2024, 2, 28) + 1),
            (2024, 2, 29)
        );
        assert_eq!(
            civil_from_days(days_from_civil(2023, 12, 31) + 1),
            (2024, 1, 1)
        );
    }

    #[test]
    fn parameters_and_types_are_checked() {
        let mut p = toml::Table::new();
        p.insert("max_days".into(), toml::Value::Integer(0));
        assert!(build(&p).unwrap_err().contains("1 to 36500"));
        assert!(build(&toml::Table::new()).unwrap_err().contains("max_days"));
        let col = Column {
            name: "note".into(),
            sql_type: "text".into(),
            kind: ColumnKind::Text,
            nullable: true,
            max_chars: None,
        };
        let e = DateShift { max_days: 1 }.check(&col).unwrap_err();
        assert!(e.contains("note") && e.contains("text"), "{e}");
    }
}
