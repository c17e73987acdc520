//! `fixed`: every non-NULL value becomes the same value (`value = "..."`); NULL stays NULL
//! unless `nulls = true`.

use std::sync::Arc;

use serde::Deserialize;

use crate::prf::Prf;
use crate::schema::{Column, ColumnKind};
use crate::transform::{RowView, SqlContext, Transform};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixed {
    value: toml::Value,
    /// Replace NULLs too.
    #[serde(default)]
    nulls: bool,
    #[serde(skip)]
    text: String,
}

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    let mut f: Fixed = super::params("fixed", params)?;
    f.text = match &f.value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => if *b { "1" } else { "0" }.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        _ => return Err("fixed: `value` must be a string, number, boolean or date".into()),
    };
    Ok(Arc::new(f))
}

/// Whether the value can be written to the column as the server would take it, so that `check`
/// refuses what `run` would fail on (or silently truncate): `Err` says why not.
fn fits(value: &toml::Value, text: &str, column: &Column) -> Result<(), String> {
    use toml::Value as V;
    match (&column.kind, value) {
        (ColumnKind::Integer, V::Integer(i)) => {
            let (min, max) = integer_range(&column.sql_type);
            if (*i as i128) < min || (*i as i128) > max {
                return Err(format!("the column holds {min} to {max}"));
            }
            Ok(())
        }
        (ColumnKind::Integer, _) => Err("an integer column needs an integer value".into()),
        (ColumnKind::Decimal { scale }, V::Integer(_) | V::Float(_)) => {
            if let V::Float(x) = value {
                if !x.is_finite() {
                    return Err("not a finite number".into());
                }
            }
            let Some(precision) = decimal_precision(&column.sql_type) else {
                return Ok(());
            };
            let digits = integer_digits(text);
            let room = precision.saturating_sub(*scale);
            if digits > room {
                return Err(format!(
                    "{digits} digits before the decimal point, the column has room for {room}"
                ));
            }
            Ok(())
        }
        (ColumnKind::Decimal { .. }, _) => Err("a decimal column needs a number".into()),
        (ColumnKind::Float, V::Integer(_)) => Ok(()),
        (ColumnKind::Float, V::Float(x)) if x.is_finite() => Ok(()),
        (ColumnKind::Float, _) => Err("a floating-point column needs a finite number".into()),
        (ColumnKind::Enum { values }, _) => {
            if values.iter().any(|v| v == text) {
                Ok(())
            } else {
                Err(format!("the allowed values are {}", values.join(", ")))
            }
        }
        (ColumnKind::Text, _) => match column.max_chars {
            Some(m) if text.chars().count() as u64 > m as u64 => Err(format!(
                "{} characters, the column holds at most {m}",
                text.chars().count()
            )),
            _ => Ok(()),
        },
        (ColumnKind::Date, V::Datetime(d)) if d.date.is_some() && d.time.is_none() => Ok(()),
        (ColumnKind::Date, V::String(s)) if is_date(s) => Ok(()),
        (ColumnKind::Date, _) => Err("a date column needs a date such as 2000-01-01".into()),
        (ColumnKind::DateTime, V::Datetime(d)) if d.date.is_some() => Ok(()),
        (ColumnKind::DateTime, V::String(s)) if is_datetime(s) => Ok(()),
        (ColumnKind::DateTime, _) => Err(
            "a date-time column needs a date or a date and time such as 2000-01-01 00:00:00".into(),
        ),
        (ColumnKind::Time, V::Datetime(d)) if d.date.is_none() && d.offset.is_none() => Ok(()),
        (ColumnKind::Time, V::String(s)) if is_time(s) => Ok(()),
        (ColumnKind::Time, _) => Err("a time column needs a time such as 12:00:00".into()),
        (ColumnKind::Boolean, V::Boolean(_)) => Ok(()),
        (ColumnKind::Boolean, V::Integer(0 | 1)) => Ok(()),
        (ColumnKind::Boolean, _) => Err("a boolean column needs true or false".into()),
        (ColumnKind::Json, _) => serde_json::from_str::<serde_json::Value>(text)
            .map(|_| ())
            .map_err(|e| format!("not a JSON document ({e})")),
        // Binary and other types: the server decides; nothing known to check.
        (ColumnKind::Binary | ColumnKind::Other, _) => Ok(()),
    }
}

/// The range of an integer column from its type as the server reports it (`int(11) unsigned`,
/// `smallint`, `bigint`, `year`...).
fn integer_range(sql_type: &str) -> (i128, i128) {
    let t = sql_type.to_ascii_lowercase();
    let unsigned = t.contains("unsigned");
    let bits = if t.starts_with("tinyint") {
        8
    } else if t.starts_with("smallint") {
        16
    } else if t.starts_with("mediumint") {
        24
    } else if t.starts_with("bigint") {
        64
    } else if t.starts_with("year") {
        return (0, 2155);
    } else {
        32
    };
    if unsigned {
        (0, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    }
}

/// The precision of `decimal(p,s)` / `numeric(p,s)`; `None` when the type has none (PostgreSQL's
/// plain `numeric` holds any number).
fn decimal_precision(sql_type: &str) -> Option<u32> {
    let (_, rest) = sql_type.split_once('(')?;
    let p = rest.split([',', ')']).next()?;
    p.trim().parse().ok()
}

/// Digits before the decimal point of a number's text (`-12.50` → 2, `0.5` → 0).
fn integer_digits(text: &str) -> u32 {
    let t = text.trim_start_matches(['-', '+']);
    let whole = t.split(['.', 'e', 'E']).next().unwrap_or("");
    whole
        .trim_start_matches('0')
        .chars()
        .filter(char::is_ascii_digit)
        .count() as u32
}

fn number(s: &str, digits: usize, min: u32, max: u32) -> Option<u32> {
    if s.len() != digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = s.parse().ok()?;
    (min..=max).contains(&n).then_some(n)
}

/// `YYYY-MM-DD`, a real day of the calendar.
fn is_date(s: &str) -> bool {
    let mut parts = s.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(y), Some(m)) = (number(y, 4, 1, 9999), number(m, 2, 1, 12)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    number(d, 2, 1, days).is_some()
}

/// `HH:MM:SS` with optional fractional seconds.
fn is_time(s: &str) -> bool {
    let (hms, frac) = s.split_once('.').unwrap_or((s, "0"));
    let mut parts = hms.split(':');
    let ok = matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(h), Some(m), Some(sec), None)
            if number(h, 2, 0, 23).is_some()
                && number(m, 2, 0, 59).is_some()
                && number(sec, 2, 0, 59).is_some()
    );
    ok && !frac.is_empty() && frac.len() <= 6 && frac.bytes().all(|b| b.is_ascii_digit())
}

/// A date, or a date and a time separated by a space or `T`.
fn is_datetime(s: &str) -> bool {
    match s.split_once([' ', 'T']) {
        None => is_date(s),
        Some((d, t)) => is_date(d) && is_time(t),
    }
}

impl Transform for Fixed {
    fn name(&self) -> &'static str {
        "fixed"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        match fits(&self.value, &self.text, column) {
            Ok(()) => Ok(()),
            Err(why) => Err(format!(
                "fixed value {:?} does not fit column {} ({}): {why}",
                self.text, column.name, column.sql_type
            )),
        }
    }
    fn apply(&self, value: Option<&str>, _row: &RowView<'_>, _prf: &Prf) -> Option<String> {
        if value.is_none() && !self.nulls {
            return None;
        }
        Some(self.text.clone())
    }
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String> {
        let lit = ctx.dialect.string_literal(&self.text);
        if self.nulls {
            Some(lit)
        } else {
            Some(format!(
                "CASE WHEN {} IS NULL THEN NULL ELSE {lit} END",
                ctx.column
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(sql_type: &str, kind: ColumnKind, max_chars: Option<u32>) -> Column {
        Column {
            name: "c".into(),
            sql_type: sql_type.into(),
            kind,
            nullable: true,
            max_chars,
        }
    }

    fn fixed(value: &str) -> Arc<dyn Transform> {
        let t: toml::Table = format!("value = {value}").parse().unwrap();
        build(&t).unwrap()
    }

    #[test]
    fn values_that_do_not_fit_the_column_are_refused() {
        let date = column("date", ColumnKind::Date, None);
        let datetime = column("datetime", ColumnKind::DateTime, None);
        let varchar = column("varchar(5)", ColumnKind::Text, Some(5));
        let dec = column("decimal(5,2)", ColumnKind::Decimal { scale: 2 }, None);
        let pg_dec = column("numeric(5,2)", ColumnKind::Decimal { scale: 2 }, None);
        let int = column("int(11)", ColumnKind::Integer, None);
        let tiny = column("tinyint(3) unsigned", ColumnKind::Integer, None);
        let float = column("double", ColumnKind::Float, None);
        let boolean = column("boolean", ColumnKind::Boolean, None);
        let json = column("json", ColumnKind::Json, None);
        let time = column("time", ColumnKind::Time, None);
        for (col, value) in [
            (&date, "\"not a date\""),
            (&date, "\"2023-02-29\""),
            (&date, "\"2023-13-01\""),
            (&date, "2020-01-01T10:00:00"),
            (&date, "20200101"),
            (&datetime, "\"yesterday\""),
            (&datetime, "\"2020-01-01 25:00:00\""),
            (&varchar, "\"toolong\""),
            (&dec, "1000"),
            (&dec, "1234.5"),
            (&pg_dec, "-1000.0"),
            (&dec, "\"12.5\""),
            (&dec, "\"abc\""),
            (&int, "\"abc\""),
            (&int, "2147483648"),
            (&int, "1.5"),
            (&tiny, "256"),
            (&tiny, "-1"),
            (&float, "\"abc\""),
            (&float, "nan"),
            (&boolean, "\"maybe\""),
            (&json, "\"{not json\""),
            (&time, "\"noon\""),
        ] {
            let e = fixed(value).check(col).unwrap_err();
            assert!(
                e.contains("does not fit column c") && e.contains(&col.sql_type),
                "{value} on {}: {e}",
                col.sql_type
            );
        }
        for (col, value) in [
            (&date, "\"2024-02-29\""),
            (&date, "2000-01-01"),
            (&datetime, "\"2000-01-01 12:30:00.5\""),
            (&datetime, "\"2000-01-01\""),
            (&datetime, "2000-01-01T12:30:00"),
            (&varchar, "\"abcde\""),
            (&varchar, "\"五文字です\""),
            (&dec, "999.99"),
            (&dec, "-999"),
            (&dec, "0.5"),
            (&int, "-2147483648"),
            (&tiny, "255"),
            (&float, "1e300"),
            (&boolean, "true"),
            (&boolean, "0"),
            (&json, "\"{\\\"a\\\": 1}\""),
            (&time, "\"12:00:00\""),
            (&time, "12:00:00"),
        ] {
            assert!(
                fixed(value).check(col).is_ok(),
                "{value} on {}: {:?}",
                col.sql_type,
                fixed(value).check(col)
            );
        }
    }

    #[test]
    fn integer_ranges_follow_the_type() {
        assert_eq!(integer_range("smallint"), (-32768, 32767));
        assert_eq!(integer_range("bigint(20) unsigned"), (0, u64::MAX as i128));
        assert_eq!(integer_range("integer"), (-(1 << 31), (1 << 31) - 1));
        assert_eq!(integer_range("mediumint(9)"), (-(1 << 23), (1 << 23) - 1));
        assert_eq!(decimal_precision("numeric(12,4)"), Some(12));
        assert_eq!(decimal_precision("numeric"), None);
        assert_eq!(integer_digits("-0012.50"), 2);
        assert_eq!(integer_digits("0.5"), 0);
    }
}
