//! `jp_address`: a Japanese address: prefecture + city + town + chome-banchi-go, e.g.
//! "東京都港区芝公園4-2-8", drawn from the digest of the original (of the `from` column when
//! given). `part = "full" | "prefecture" | "city" | "street"` masks split address columns
//! consistently from one column: `pref = { transform = "jp_address", part = "prefecture",
//! from = "address" }` gives the prefecture of the address that `address` is masked to.

use std::sync::{Arc, OnceLock};

use serde::Deserialize;

use super::dict::addresses::{JA_PREFECTURES, JA_TOWNS};
use super::sqlkit;
use crate::prf::{Digest128, Prf};
use crate::schema::Column;
use crate::transform::{RowView, SqlContext, Transform};

const DOMAIN: &str = "jp_address";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Part {
    Full,
    Prefecture,
    City,
    Street,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JpAddress {
    #[serde(default = "default_part")]
    part: Part,
    from: Option<String>,
}

fn default_part() -> Part {
    Part::Full
}

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    Ok(Arc::new(super::params::<JpAddress>("jp_address", params)?))
}

/// Every (prefecture, city) pair, flattened.
fn places() -> &'static (Vec<&'static str>, Vec<&'static str>) {
    static P: OnceLock<(Vec<&'static str>, Vec<&'static str>)> = OnceLock::new();
    P.get_or_init(|| {
        let mut prefs = Vec::new();
        let mut cities = Vec::new();
        for (p, cs) in JA_PREFECTURES {
            for c in *cs {
                prefs.push(*p);
                cities.push(*c);
            }
        }
        (prefs, cities)
    })
}

const CHOME: u32 = 9;
const BANCHI: u32 = 40;
const GO: u32 = 30;

impl JpAddress {
    fn render(&self, d: &Digest128) -> String {
        let (prefs, cities) = places();
        let i = d.pick(0, prefs.len() as u32) as usize;
        let street = || {
            format!(
                "{}{}-{}-{}",
                JA_TOWNS[d.pick(1, JA_TOWNS.len() as u32) as usize],
                d.pick(2, CHOME) + 1,
                d.pick(3, BANCHI) + 1,
                (d.draw(2) / CHOME) % GO + 1
            )
        };
        match self.part {
            Part::Prefecture => prefs[i].to_string(),
            Part::City => cities[i].to_string(),
            Part::Street => street(),
            Part::Full => format!("{}{}{}", prefs[i], cities[i], street()),
        }
    }
}

impl Transform for JpAddress {
    fn name(&self) -> &'static str {
        "jp_address"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        let (prefs, cities) = places();
        let max = |l: &[&str]| l.iter().map(|s| s.chars().count()).max().unwrap_or(0);
        let street = max(JA_TOWNS) + 7;
        let longest = match self.part {
            Part::Prefecture => max(prefs),
            Part::City => max(cities),
            Part::Street => street,
            Part::Full => max(prefs) + max(cities) + street,
        };
        super::need_text("jp_address", column, Some(longest))
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
        let (prefs, cities) = places();
        Some(sqlkit::with_digest(ctx, DOMAIN, &source, ctx.column, |h| {
            let h = h.as_str();
            let i = sqlkit::pick(d, h, 0, prefs.len() as u64);
            let num = |e: String| match d {
                crate::transform::Dialect::MySql => format!("CAST({e} AS CHAR)"),
                crate::transform::Dialect::Postgres => format!("({e})::text"),
            };
            let street = || {
                sqlkit::concat(
                    d,
                    &[
                        sqlkit::element(d, &sqlkit::pick(d, h, 1, JA_TOWNS.len() as u64), JA_TOWNS),
                        num(format!("{} + 1", sqlkit::pick(d, h, 2, CHOME.into()))),
                        "'-'".into(),
                        num(format!("{} + 1", sqlkit::pick(d, h, 3, BANCHI.into()))),
                        "'-'".into(),
                        num(format!(
                            "{} % {GO} + 1",
                            sqlkit::idiv(d, &sqlkit::draw(d, h, 2), &CHOME.to_string())
                        )),
                    ],
                )
            };
            match self.part {
                Part::Prefecture => sqlkit::element(d, &i, prefs),
                Part::City => sqlkit::element(d, &i, cities),
                Part::Street => street(),
                Part::Full => sqlkit::concat(
                    d,
                    &[
                        sqlkit::element(d, &i, prefs),
                        sqlkit::element(d, &i, cities),
                        street(),
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
    fn parts_agree_with_the_full_address() {
        let prf = Prf::from_secret(b"k");
        let full = JpAddress {
            part: Part::Full,
            from: None,
        };
        let pref = JpAddress {
            part: Part::Prefecture,
            from: Some("address".into()),
        };
        let city = JpAddress {
            part: Part::City,
            from: Some("address".into()),
        };
        let street = JpAddress {
            part: Part::Street,
            from: Some("address".into()),
        };
        let columns = vec!["address".to_string()];
        for a in ["東京都港区芝公園4-2-8", "大阪府大阪市北区梅田1-1-1", "x"] {
            let original = [Some(a)];
            let masked = [None];
            let row = RowView {
                columns: &columns,
                original: &original,
                masked: &masked,
            };
            let f = full.apply(Some(a), &row, &prf).unwrap();
            let p = pref.apply(Some("神奈川県"), &row, &prf).unwrap();
            let c = city.apply(Some("横浜市"), &row, &prf).unwrap();
            let s = street.apply(Some("本町1-1"), &row, &prf).unwrap();
            assert_eq!(f, format!("{p}{c}{s}"));
            assert!(JA_PREFECTURES
                .iter()
                .any(|(x, cs)| *x == p && cs.contains(&c.as_str())));
            let nums: Vec<&str> = s
                .trim_start_matches(|c: char| !c.is_ascii_digit())
                .split('-')
                .collect();
            assert_eq!(nums.len(), 3, "{s}");
        }
        assert_eq!(full.apply_one(None, &prf), None);
        let mut p = toml::Table::new();
        p.insert("part".into(), toml::Value::String("zip".into()));
        assert!(build(&p).unwrap_err().contains("zip"));
    }
}
