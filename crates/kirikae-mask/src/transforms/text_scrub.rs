//! `text_scrub`: free text with the personal data found inside it masked: email addresses (as
//! the `email` transform masks them, with the same `email_domain`, so an address masks alike in
//! text and in an email column), Japanese and international phone numbers (as `phone`), and
//! Luhn-valid card numbers of 13 to 19 digits (as `card`), and person names written with an
//! honorific (`佐藤 花子様`, `鈴木さん`, `田中氏`, `Mr. Taro Yamada`: as `person_name` masks the
//! name column holding them, so the pseudonym in a note is the one in the name column; off with
//! `names = false`); the rest of the text is kept. With `replace = "all"` the whole value becomes
//! `with` (default "[redacted]"). Rust only.

use std::sync::{Arc, OnceLock};

use regex::Regex;
use serde::Deserialize;

use super::card::{luhn_valid, Card};
use super::email::Email;
use super::phone::Phone;
use crate::detect;
use crate::prf::Prf;
use crate::schema::{Column, ColumnKind};
use crate::transform::{RowView, SqlContext, Transform};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Replace {
    Matches,
    All,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "default_replace")]
    replace: Replace,
    email_domain: Option<String>,
    with: Option<String>,
    #[serde(default = "default_names")]
    names: bool,
}

fn default_names() -> bool {
    true
}

fn default_replace() -> Replace {
    Replace::Matches
}

#[derive(Debug)]
pub struct TextScrub {
    replace: Replace,
    with: String,
    email: Email,
    /// The `person_name` rules a name column would have: (Japanese full, Japanese family,
    /// latin full, latin family); None with `names = false`.
    names: Option<[Arc<dyn Transform>; 4]>,
}

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    Ok(Arc::new(TextScrub::from_params(params)?))
}

const D: &str = "[0-9０-９]";
const S: &str = "[-－‐ ]";

/// email | run of 13 or more digits (a card, or phone numbers side by side) | phone,
/// leftmost first.
fn finder() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        let email = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+";
        let card = format!("{D}(?:[ \\-]?{D}){{12,}}");
        Regex::new(&format!(
            "(?P<email>{email})|(?P<card>{card})|(?P<phone>{})",
            phone_pattern()
        ))
        .expect("valid pattern")
    })
}

fn phone_pattern() -> String {
    format!(
        r"(?:\+81{S}?|[0０]){D}{{1,4}}{S}?{D}{{1,4}}{S}?{D}{{3,4}}|\(0{D}{{1,4}}\)[\t\n\x0B\x0C\r ]?{D}{{1,4}}{S}?{D}{{3,4}}"
    )
}

fn phones() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(&phone_pattern()).expect("valid pattern"))
}

fn digit_count(s: &str) -> usize {
    s.chars()
        .filter(|&c| super::sqlkit::is_any_digit(c))
        .count()
}

/// A phone-shaped match masked as a phone number when it is plausibly one, else kept.
fn phone_or_kept(m: &str, prf: &Prf) -> String {
    if plausible_phone(m) {
        Phone.mask(m, prf)
    } else {
        m.to_string()
    }
}

/// A phone match with a plausible number of digits (10 or 11 national digits).
fn plausible_phone(s: &str) -> bool {
    // "+81-90-..." drops the national leading 0: count it back.
    let n = match s.strip_prefix("+81") {
        Some(rest) => digit_count(rest) + 1,
        None => digit_count(s),
    };
    (10..=11).contains(&n)
}

impl TextScrub {
    fn from_params(params: &toml::Table) -> Result<TextScrub, String> {
        let p: Params = super::params("text_scrub", params)?;
        let mut email_params = toml::Table::new();
        if let Some(d) = p.email_domain {
            email_params.insert("domain".into(), toml::Value::String(d));
        }
        let email = Email::from_params(&email_params)
            .map_err(|e| format!("text_scrub: `email_domain`: {e}"))?;
        if p.with.is_some() && p.replace != Replace::All {
            return Err("text_scrub: `with` only applies to replace = \"all\"".into());
        }
        let names = if p.names {
            let rule = |params: &str| -> Result<Arc<dyn Transform>, String> {
                let t: toml::Table = toml::from_str(params).map_err(|e| e.to_string())?;
                super::person_name::build(&t)
            };
            Some([
                rule("locale = \"ja\"")?,
                rule("locale = \"ja\"\npart = \"family\"")?,
                rule("locale = \"en\"")?,
                rule("locale = \"en\"\npart = \"family\"")?,
            ])
        } else {
            None
        };
        Ok(TextScrub {
            names,
            replace: p.replace,
            with: p.with.unwrap_or_else(|| "[redacted]".into()),
            email,
        })
    }

    fn scrub_phones(&self, s: &str, prf: &Prf) -> String {
        phones()
            .replace_all(s, |c: &regex::Captures<'_>| phone_or_kept(&c[0], prf))
            .into_owned()
    }

    /// Names written with an honorific, masked as the name column holding them would be: the
    /// name spelt as such a column writes it (family and given name apart by one space).
    fn scrub_names(&self, text: &str, prf: &Prf) -> String {
        let Some([ja_full, ja_family, en_full, en_family]) = &self.names else {
            return text.to_string();
        };
        let found = detect::honorific_names(text);
        if found.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for h in found {
            if h.start < at {
                continue;
            }
            out.push_str(&text[at..h.start]);
            let name = &text[h.start..h.end];
            let t = match (h.latin, h.family_only) {
                (false, false) => ja_full,
                (false, true) => ja_family,
                (true, false) => en_full,
                (true, true) => en_family,
            };
            let spelt = if h.latin || h.family_only {
                name.split_whitespace().collect::<Vec<_>>().join(" ")
            } else {
                detect::ja_full_name(name)
            };
            out.push_str(&t.apply_one(Some(spelt.as_str()), prf).unwrap_or_default());
            at = h.end;
        }
        out.push_str(&text[at..]);
        out
    }

    pub(crate) fn scrub(&self, text: &str, prf: &Prf) -> String {
        let text = self.scrub_names(text, prf);
        finder()
            .replace_all(&text, |c: &regex::Captures<'_>| {
                if let Some(m) = c.name("email") {
                    return self.email.mask(m.as_str(), prf);
                }
                if let Some(m) = c.name("card") {
                    let digits: Vec<u8> = m.as_str().bytes().filter(u8::is_ascii_digit).collect();
                    let n = digits.len();
                    if n == digit_count(m.as_str()) && (13..=19).contains(&n) && luhn_valid(&digits)
                    {
                        return Card.mask(m.as_str(), prf);
                    }
                    // Not a card: perhaps phone numbers side by side.
                    return self.scrub_phones(m.as_str(), prf);
                }
                phone_or_kept(&c[0], prf)
            })
            .into_owned()
    }
}

impl Transform for TextScrub {
    fn name(&self) -> &'static str {
        "text_scrub"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        match column.kind {
            ColumnKind::Text | ColumnKind::Json => Ok(()),
            _ => Err(super::wrong_type("text_scrub", "a text column", column)),
        }
    }
    fn apply(&self, value: Option<&str>, _row: &RowView<'_>, prf: &Prf) -> Option<String> {
        let value = value?;
        Some(match self.replace {
            Replace::All => self.with.clone(),
            Replace::Matches => self.scrub(value, prf),
        })
    }
    fn sql(&self, _ctx: &SqlContext<'_>) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub(p: &str) -> TextScrub {
        TextScrub::from_params(&toml::from_str(p).unwrap()).unwrap()
    }

    #[test]
    fn emails_phones_and_cards_inside_text_mask_like_their_columns() {
        let prf = Prf::from_secret(b"k");
        let t = scrub("");
        let text = "山田様（hanako@corp.co.jp）携帯 090-1234-5678、会社 03-1234-5678。\
                    カード 4111 1111 1111 1111 で決済。注文番号 12345。";
        let out = t.scrub(text, &prf);
        let email = Email::from_params(&toml::Table::new())
            .unwrap()
            .mask("hanako@corp.co.jp", &prf);
        assert!(out.contains(&email), "{out}");
        assert!(out.contains(&Phone.mask("090-1234-5678", &prf)), "{out}");
        assert!(out.contains(&Phone.mask("03-1234-5678", &prf)), "{out}");
        assert!(
            out.contains(&Card.mask("4111 1111 1111 1111", &prf)),
            "{out}"
        );
        for secret in ["hanako@corp.co.jp", "1234-5678", "4111 1111 1111 1111"] {
            assert!(!out.contains(secret), "{secret} survived in {out}");
        }
        // 山田様 is a name with an honorific: masked too (see the test below); the rest is kept.
        assert!(
            !out.starts_with("山田") && out.contains("様（") && out.contains("注文番号 12345。"),
            "{out}"
        );
        let two = t.scrub("03-1234-5678 090-1111-2222", &prf);
        assert!(
            !two.contains("1234-5678") && !two.contains("1111-2222"),
            "{two}"
        );
        assert_eq!(t.scrub(text, &prf), out, "deterministic");
    }

    #[test]
    fn names_with_an_honorific_mask_as_their_name_column_would() {
        let prf = Prf::from_secret(b"k");
        let name_rule =
            |p: &str| super::super::person_name::build(&toml::from_str(p).unwrap()).unwrap();
        let ja = name_rule("locale = \"ja\"");
        let ja_family = name_rule("locale = \"ja\"\npart = \"family\"");
        let en = name_rule("locale = \"en\"");
        let t = scrub("");
        let text =
            "担当の佐藤 花子様より。鈴木さんに確認済み。田中氏、Mr. Taro Yamada も同席。お客様各位";
        let out = t.scrub(text, &prf);
        let hanako = ja.apply_one(Some("佐藤 花子"), &prf).unwrap();
        assert!(out.starts_with(&format!("担当の{hanako}様より。")), "{out}");
        assert!(
            out.contains(&format!(
                "{}さんに",
                ja_family.apply_one(Some("鈴木"), &prf).unwrap()
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "{}氏、",
                ja_family.apply_one(Some("田中"), &prf).unwrap()
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "Mr. {} も",
                en.apply_one(Some("Taro Yamada"), &prf).unwrap()
            )),
            "{out}"
        );
        assert!(out.ends_with("お客様各位"), "{out}");
        assert!(!out.contains("Taro Yamada"), "{out}");
        // Written together or with a full-width space: the same person, the same pseudonym.
        assert_eq!(t.scrub("佐藤花子様", &prf), format!("{hanako}様"));
        assert_eq!(t.scrub("佐藤　花子さん", &prf), format!("{hanako}さん"));
        assert_eq!(scrub("names = false").scrub("鈴木さん", &prf), "鈴木さん");
    }

    #[test]
    fn replace_all_and_parameter_errors() {
        let prf = Prf::from_secret(b"k");
        let t = scrub("replace = \"all\"\nwith = \"(消去)\"");
        assert_eq!(t.apply_one(Some("anything"), &prf).unwrap(), "(消去)");
        assert_eq!(t.apply_one(None, &prf), None);
        let e = |p: &str| TextScrub::from_params(&toml::from_str(p).unwrap()).unwrap_err();
        assert!(e("replace = \"some\"").contains("some"));
        assert!(e("with = \"x\"").contains("replace"));
        assert!(e("email_domain = \"a b\"").contains("email_domain"));
    }
}
