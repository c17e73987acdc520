//! `address`: a generic (US-style) street address, "1234 Oak St, Springfield, IL 62704", drawn
//! from the digest of the original (of the `from` column when given). `part = "full" |
//! "street" | "city" | "state" | "postal_code"` masks split columns consistently.

use std::sync::Arc;

use serde::Deserialize;

use super::dict::addresses::{EN_CITIES, EN_STREETS, EN_STREET_SUFFIXES};
use super::sqlkit;
use crate::prf::{Digest128, Prf};
use crate::schema::Column;
use crate::transform::{Dialect, RowView, SqlContext, Transform};

const DOMAIN: &str = "address";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Part {
    Full,
    Street,
    City,
    State,
    PostalCode,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default = "default_part")]
    part: Part,
    from: Option<String>,
}

fn default_part() -> Part {
    Part::Full
}

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    Ok(Arc::new(super::params::<Address>("address", params)?))
}

const NS: u32 = EN_STREETS.len() as u32;
const NX: u32 = EN_STREET_SUFFIXES.len() as u32;

impl Address {
    fn render(&self, d: &Digest128) -> String {
        let number = d.pick(0, 9999) + 1;
        let street = EN_STREETS[d.pick(1, NS) as usize];
        let suffix = EN_STREET_SUFFIXES[((d.draw(1) / NS) % NX) as usize];
        let (city, state) = EN_CITIES[d.pick(2, EN_CITIES.len() as u32) as usize];
        let zip = d.pick(3, 90000) + 10000;
        match self.part {
            Part::Street => format!("{number} {street} {suffix}"),
            Part::City => city.to_string(),
            Part::State => state.to_string(),
            Part::PostalCode => zip.to_string(),
            Part::Full => format!("{number} {street} {suffix}, {city}, {state} {zip}"),
        }
    }
}

impl Transform for Address {
    fn name(&self) -> &'static str {
        "address"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        super::need_text(
            "address",
            column,
            Some(if self.part == Part::Full { 48 } else { 24 }),
        )
    }
    fn reads(&self) -> Vec<String> {
        self.from.iter().cloned().collect()
    }
    fn apply(&self, value: Option<&str>, row: &RowView<'_>, prf: &Prf) -> Option<String> {
        let source = super::source(self.from.as_deref(), value?, row);
        Some(self.render(&prf.digest(DOMAIN, source)))
    }
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String> {
        let d = ctx.dialect;
        let source = super::sql_source(ctx, self.from.as_deref());
        Some(sqlkit::with_digest(ctx, DOMAIN, &source, ctx.column, |h| {
            let h = h.as_str();
            let num = |e: String| match d {
                Dialect::MySql => format!("CAST({e} AS CHAR)"),
                Dialect::Postgres => format!("({e})::text"),
            };
            let street = || {
                sqlkit::concat(
                    d,
                    &[
                        num(format!("{} + 1", sqlkit::pick(d, h, 0, 9999))),
                        "' '".into(),
                        sqlkit::element(d, &sqlkit::pick(d, h, 1, NS.into()), EN_STREETS),
                        "' '".into(),
                        sqlkit::element(
                            d,
                            &format!(
                                "({} % {NX})",
                                sqlkit::idiv(d, &sqlkit::draw(d, h, 1), &NS.to_string())
                            ),
                            EN_STREET_SUFFIXES,
                        ),
                    ],
                )
            };
            let i = sqlkit::pick(d, h, 2, EN_CITIES.len() as u64);
            let cities: Vec<&str> = EN_CITIES.iter().map(|c| c.0).collect();
            let states: Vec<&str> = EN_CITIES.iter().map(|c| c.1).collect();
            let zip = || num(format!("{} + 10000", sqlkit::pick(d, h, 3, 90000)));
            match self.part {
                Part::Street => street(),
                Part::City => sqlkit::element(d, &i, &cities),
                Part::State => sqlkit::element(d, &i, &states),
                Part::PostalCode => zip(),
                Part::Full => sqlkit::concat(
                    d,
                    &[
                        street(),
                        "', '".into(),
                        sqlkit::element(d, &i, &cities),
                        "', '".into(),
                        sqlkit::element(d, &i, &states),
                        "' '".into(),
                        zip(),
                    ],
                ),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_address_is_made_of_its_parts() {
        let prf = Prf::from_secret(b"k");
        let columns = vec!["address".to_string()];
        let original = [Some("1600 Pennsylvania Ave NW")];
        let masked = [None];
        let row = RowView {
            columns: &columns,
            original: &original,
            masked: &masked,
        };
        let part = |p: Part| {
            Address {
                part: p,
                from: Some("address".into()),
            }
            .apply(Some("other"), &row, &prf)
            .unwrap()
        };
        let full = part(Part::Full);
        assert_eq!(
            full,
            format!(
                "{}, {}, {} {}",
                part(Part::Street),
                part(Part::City),
                part(Part::State),
                part(Part::PostalCode)
            )
        );
        assert!(full.len() <= 48, "{full}");
    }
}
