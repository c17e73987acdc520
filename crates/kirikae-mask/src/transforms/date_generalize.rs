//! `date_generalize`: dates and timestamps keep only their year (`keep = "year"`:
//! YYYY-01-01) or year and month (`keep = "month"`: YYYY-MM-01); a timestamp's time becomes
//! midnight (its UTC offset, if the text has one, is kept). Needs no key.

use std::sync::Arc;

use serde::Deserialize;

use crate::prf::Prf;
use crate::schema::{Column, ColumnKind};
use crate::transform::{Dialect, RowView, SqlContext, Transform};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Keep {
    Year,
    Month,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateGeneralize {
    keep: Keep,
}

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    Ok(Arc::new(super::params::<DateGeneralize>(
        "date_generalize",
        params,
    )?))
}

impl Transform for DateGeneralize {
    fn name(&self) -> &'static str {
        "date_generalize"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        match column.kind {
            ColumnKind::Date | ColumnKind::DateTime => Ok(()),
            _ => Err(super::wrong_type(
                "date_generalize",
                "a date or timestamp column",
                column,
            )),
        }
    }
    fn apply(&self, value: Option<&str>, _row: &RowView<'_>, _prf: &Prf) -> Option<String> {
        let value = value?;
        let (y, m, _) = super::date_shift::parse_date(value)?;
        let m = if self.keep == Keep::Year { 1 } else { m };
        let mut out = format!("{y:04}-{m:02}-01");
        if value.len() > 10 {
            out.push_str(" 00:00:00");
            // A UTC offset after the time (PostgreSQL timestamptz text): "+09", "-05:30".
            let rest = &value[10..];
            if let Some(i) = rest.rfind(['+', '-']).filter(|&i| i > 3) {
                out.push_str(&rest[i..]);
            }
        }
        Some(out)
    }
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String> {
        let c = ctx.column;
        Some(match (ctx.dialect, self.keep) {
            (Dialect::MySql, Keep::Year) => format!("DATE_FORMAT({c}, '%Y-01-01')"),
            (Dialect::MySql, Keep::Month) => format!("DATE_FORMAT({c}, '%Y-%m-01')"),
            (Dialect::Postgres, Keep::Year) => format!("date_trunc('year', {c})"),
            (Dialect::Postgres, Keep::Month) => format!("date_trunc('month', {c})"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_year_or_month() {
        let prf = Prf::from_secret(b"k");
        let y = DateGeneralize { keep: Keep::Year };
        let m = DateGeneralize { keep: Keep::Month };
        assert_eq!(y.apply_one(Some("1985-07-23"), &prf).unwrap(), "1985-01-01");
        assert_eq!(m.apply_one(Some("1985-07-23"), &prf).unwrap(), "1985-07-01");
        assert_eq!(
            m.apply_one(Some("2020-05-17 13:45:10.123"), &prf).unwrap(),
            "2020-05-01 00:00:00"
        );
        assert_eq!(
            y.apply_one(Some("2020-05-17 13:45:10+09"), &prf).unwrap(),
            "2020-01-01 00:00:00+09"
        );
        assert_eq!(y.apply_one(None, &prf), None);
        let mut p = toml::Table::new();
        p.insert("keep".into(), toml::Value::String("day".into()));
        assert!(build(&p).unwrap_err().contains("day"));
    }
}
