//! `person_name`: a pseudonym from a dictionary of common names.
//!
//! ```toml
//! name      = { transform = "person_name", locale = "ja" }                      # 山田 花子
//! name_kana = { transform = "person_name", script = "katakana", from = "name" }  # ヤマダ ハナコ
//! first     = { transform = "person_name", locale = "en", part = "given" }
//! ```
//!
//! The pseudonym is chosen from the digest of the original value (of the `from` column when
//! given), family name by draw 0 and given name by draw 1, under one domain for every locale,
//! part and script: the kanji and kana columns of a row, and a name and its split family/given
//! columns, describe the same person. Japanese full names are family first ("山田 花子");
//! latin ones given first ("Hanako Yamada").

use std::sync::Arc;

use serde::Deserialize;

use super::dict::{self, en_names};
use super::sqlkit;
use crate::prf::Prf;
use crate::schema::Column;
use crate::transform::{RowView, SqlContext, Transform};

const DOMAIN: &str = "person_name";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Locale {
    Ja,
    En,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Part {
    Full,
    Family,
    Given,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Script {
    Kanji,
    Katakana,
    Hiragana,
    Latin,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "default_locale")]
    locale: Locale,
    #[serde(default = "default_part")]
    part: Part,
    script: Option<Script>,
    from: Option<String>,
    separator: Option<String>,
}

fn default_locale() -> Locale {
    Locale::Ja
}
fn default_part() -> Part {
    Part::Full
}

#[derive(Debug)]
pub struct PersonName {
    part: Part,
    from: Option<String>,
    separator: String,
    family: &'static [&'static str],
    given: &'static [&'static str],
    /// Latin names are written given name first.
    given_first: bool,
}

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    let p: Params = super::params("person_name", params)?;
    Ok(Arc::new(PersonName::new(p)?))
}

impl PersonName {
    fn new(p: Params) -> Result<PersonName, String> {
        let script = p.script.unwrap_or(match p.locale {
            Locale::Ja => Script::Kanji,
            Locale::En => Script::Latin,
        });
        let (family, given): (&'static [&'static str], &'static [&'static str]) =
            match (p.locale, script) {
                (Locale::En, Script::Latin) => (en_names::FAMILY, en_names::GIVEN),
                (Locale::En, s) => {
                    return Err(format!(
                        "person_name: locale \"en\" is written in script \"latin\", not {:?} \
                         (use locale = \"ja\" for kanji and kana)",
                        format!("{s:?}").to_lowercase()
                    ))
                }
                (Locale::Ja, s) => {
                    let (f, g) = (dict::ja_family(), dict::ja_given());
                    match s {
                        Script::Kanji => (&f.kanji[..], &g.kanji[..]),
                        Script::Hiragana => (&f.hiragana[..], &g.hiragana[..]),
                        Script::Katakana => (&f.katakana[..], &g.katakana[..]),
                        Script::Latin => (&f.latin[..], &g.latin[..]),
                    }
                }
            };
        if p.separator.is_some() && p.part != Part::Full {
            return Err("person_name: `separator` only applies to part = \"full\"".into());
        }
        if let Some(f) = &p.from {
            if f.is_empty() {
                return Err("person_name: `from` must name a column".into());
            }
        }
        Ok(PersonName {
            part: p.part,
            from: p.from,
            separator: p.separator.unwrap_or_else(|| " ".into()),
            family,
            given,
            given_first: script == Script::Latin,
        })
    }

    fn longest(&self) -> usize {
        let max = |l: &[&str]| l.iter().map(|s| s.chars().count()).max().unwrap_or(0);
        match self.part {
            Part::Family => max(self.family),
            Part::Given => max(self.given),
            Part::Full => max(self.family) + max(self.given) + self.separator.chars().count(),
        }
    }
}

impl Transform for PersonName {
    fn name(&self) -> &'static str {
        "person_name"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        super::need_text("person_name", column, Some(self.longest()))
    }
    fn reads(&self) -> Vec<String> {
        self.from.iter().cloned().collect()
    }
    fn apply(&self, value: Option<&str>, row: &RowView<'_>, prf: &Prf) -> Option<String> {
        let source = super::source(self.from.as_deref(), value?, row);
        let d = prf.digest(DOMAIN, source);
        let family = self.family[d.pick(0, self.family.len() as u32) as usize];
        let given = self.given[d.pick(1, self.given.len() as u32) as usize];
        Some(match self.part {
            Part::Family => family.to_string(),
            Part::Given => given.to_string(),
            Part::Full => {
                let (a, b) = if self.given_first {
                    (given, family)
                } else {
                    (family, given)
                };
                let mut s = String::with_capacity(a.len() + b.len() + self.separator.len());
                s.push_str(a);
                s.push_str(&self.separator);
                s.push_str(b);
                s
            }
        })
    }
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String> {
        let d = ctx.dialect;
        let source = super::sql_source(ctx, self.from.as_deref());
        Some(sqlkit::with_digest(ctx, DOMAIN, &source, ctx.column, |h| {
            let h = h.as_str();
            let family = sqlkit::element(
                d,
                &sqlkit::pick(d, h, 0, self.family.len() as u64),
                self.family,
            );
            let given = sqlkit::element(
                d,
                &sqlkit::pick(d, h, 1, self.given.len() as u64),
                self.given,
            );
            match self.part {
                Part::Family => family,
                Part::Given => given,
                Part::Full => {
                    let sep = d.string_literal(&self.separator);
                    if self.given_first {
                        sqlkit::concat(d, &[given, sep, family])
                    } else {
                        sqlkit::concat(d, &[family, sep, given])
                    }
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::build as build_rule;

    fn rule(s: &str) -> Arc<dyn Transform> {
        let v: toml::Value =
            toml::from_str::<toml::Table>(&format!("r = {s}")).unwrap()["r"].clone();
        build_rule(&v).unwrap()
    }

    fn row_apply(t: &Arc<dyn Transform>, own: &str, name: &str, prf: &Prf) -> String {
        let columns = vec!["name".to_string(), "name_kana".to_string()];
        let original = [Some(name), Some(own)];
        let masked = [None, None];
        let row = RowView {
            columns: &columns,
            original: &original,
            masked: &masked,
        };
        t.apply(Some(own), &row, prf).unwrap()
    }

    #[test]
    fn japanese_full_names_are_family_first_and_deterministic() {
        let prf = Prf::from_secret(b"k");
        let t = rule(r#"{ transform = "person_name" }"#);
        let a = t.apply_one(Some("鈴木 一郎"), &prf).unwrap();
        assert_eq!(a, t.apply_one(Some("鈴木 一郎"), &prf).unwrap());
        let (family, given) = a.split_once(' ').unwrap();
        assert!(dict::ja_family().kanji.contains(&family), "{a}");
        assert!(dict::ja_given().kanji.contains(&given), "{a}");
        assert_eq!(t.apply_one(None, &prf), None);
        assert_ne!(
            a,
            t.apply_one(Some("鈴木 一郎"), &Prf::from_secret(b"other"))
                .unwrap()
        );
    }

    #[test]
    fn kana_column_reads_the_same_pseudonym_as_its_kanji_column() {
        let prf = Prf::from_secret(b"k");
        let kanji = rule(r#"{ transform = "person_name" }"#);
        let kata = rule(r#"{ transform = "person_name", script = "katakana", from = "name" }"#);
        let hira = rule(r#"{ transform = "person_name", script = "hiragana", from = "name" }"#);
        let latin = rule(r#"{ transform = "person_name", script = "latin", from = "name" }"#);
        assert_eq!(kata.reads(), vec!["name".to_string()]);
        let fam = dict::ja_family();
        let giv = dict::ja_given();
        for i in 0..300 {
            let name = format!("佐藤 {i}子");
            let masked = kanji.apply_one(Some(&name), &prf).unwrap();
            let (f, g) = masked.split_once(' ').unwrap();
            let fi = fam.kanji.iter().position(|x| *x == f).unwrap();
            let gi = giv.kanji.iter().position(|x| *x == g).unwrap();
            // The kana column's own value does not matter: the pseudonym follows `name`.
            let k = row_apply(&kata, "サトウ ハナコ", &name, &prf);
            assert_eq!(k, format!("{} {}", fam.katakana[fi], giv.katakana[gi]));
            let h = row_apply(&hira, "さとう", &name, &prf);
            assert_eq!(h, format!("{} {}", fam.hiragana[fi], giv.hiragana[gi]));
            let l = row_apply(&latin, "Sato", &name, &prf);
            assert_eq!(l, format!("{} {}", giv.latin[gi], fam.latin[fi]));
        }
    }

    #[test]
    fn split_columns_agree_with_the_full_name_drawn_from_the_same_value() {
        let prf = Prf::from_secret(b"k");
        let full = rule(r#"{ transform = "person_name", from = "name" }"#);
        let family = rule(r#"{ transform = "person_name", part = "family", from = "name" }"#);
        let given = rule(r#"{ transform = "person_name", part = "given", from = "name" }"#);
        let f = row_apply(&family, "x", "高橋 健", &prf);
        let g = row_apply(&given, "x", "高橋 健", &prf);
        assert_eq!(row_apply(&full, "x", "高橋 健", &prf), format!("{f} {g}"));
    }

    #[test]
    fn english_names_are_given_first() {
        let prf = Prf::from_secret(b"k");
        let t = rule(r#"{ transform = "person_name", locale = "en", separator = "_" }"#);
        let a = t.apply_one(Some("John Smith"), &prf).unwrap();
        let (g, f) = a.split_once('_').unwrap();
        assert!(
            en_names::GIVEN.contains(&g) && en_names::FAMILY.contains(&f),
            "{a}"
        );
    }

    #[test]
    fn bad_parameters_are_refused_with_the_reason() {
        let err = |s: &str| {
            let v: toml::Value =
                toml::from_str::<toml::Table>(&format!("r = {s}")).unwrap()["r"].clone();
            build_rule(&v).unwrap_err()
        };
        let e = err(r#"{ transform = "person_name", locale = "fr" }"#);
        assert!(e.contains("fr") && e.contains("ja"), "{e}");
        assert!(
            err(r#"{ transform = "person_name", locale = "en", script = "kanji" }"#)
                .contains("latin")
        );
        assert!(err(r#"{ transform = "person_name", colour = 1 }"#).contains("colour"));
        assert!(
            err(r#"{ transform = "person_name", part = "given", separator = "," }"#)
                .contains("separator")
        );
    }

    #[test]
    fn check_names_the_column_and_its_type() {
        let t = rule(r#"{ transform = "person_name" }"#);
        let col = |kind, sql_type: &str, max| Column {
            name: "name".into(),
            sql_type: sql_type.into(),
            kind,
            nullable: true,
            max_chars: max,
        };
        use crate::schema::ColumnKind;
        let e = t
            .check(&col(ColumnKind::Integer, "int(11)", None))
            .unwrap_err();
        assert!(e.contains("name") && e.contains("int(11)"), "{e}");
        let e = t
            .check(&col(ColumnKind::Text, "varchar(3)", Some(3)))
            .unwrap_err();
        assert!(e.contains("varchar(3)"), "{e}");
        assert!(t
            .check(&col(ColumnKind::Text, "varchar(40)", Some(40)))
            .is_ok());
    }
}
