//! `email`: `u<hex>@<domain>`, the local part drawn from the digest of the whole original
//! address, so distinct addresses give distinct results (`length` hex digits, 16 to 32;
//! 24 by default: a collision among 10^9 addresses has a probability below 10^-10).
//!
//! ```toml
//! email = { transform = "email" }                          # u3f9c...@example.invalid
//! email = { transform = "email", domain = "keep" }         # u3f9c...@original-domain.jp
//! email = { transform = "email", domain = "staging.example.com" }
//! ```
//!
//! `text_scrub` masks the addresses it finds in free text with this transform, so an address
//! masks the same way in an email column and inside text (with the same `domain`).

use std::sync::Arc;

use serde::Deserialize;

use super::sqlkit;
use crate::prf::Prf;
use crate::schema::Column;
use crate::transform::{Dialect, RowView, SqlContext, Transform};

pub(crate) const DOMAIN: &str = "email";
const DEFAULT_DOMAIN: &str = "example.invalid";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    domain: Option<String>,
    length: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Email {
    /// `None`: keep the original's domain.
    domain: Option<String>,
    length: usize,
}

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    Ok(Arc::new(Email::from_params(params)?))
}

impl Email {
    pub(crate) fn from_params(params: &toml::Table) -> Result<Email, String> {
        let p: Params = super::params("email", params)?;
        let length = p.length.unwrap_or(24);
        if !(16..=32).contains(&length) {
            return Err(format!(
                "email: `length` (hex digits of the local part) must be 16 to 32, found {length}"
            ));
        }
        let domain = match p.domain.as_deref() {
            None => Some(DEFAULT_DOMAIN.to_string()),
            Some("keep") => None,
            Some(d) => {
                let ok = !d.is_empty()
                    && d.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
                if !ok || d.starts_with('.') || d.ends_with('.') {
                    return Err(format!(
                        "email: `domain` must be \"keep\" or a domain name such as \
                         \"example.invalid\", found {d:?}"
                    ));
                }
                Some(d.to_string())
            }
        };
        Ok(Email {
            domain,
            length: length as usize,
        })
    }

    /// The masked address of one original.
    pub(crate) fn mask(&self, value: &str, prf: &Prf) -> String {
        let hex = prf.digest(DOMAIN, value).hex();
        let domain = match &self.domain {
            Some(d) => d.as_str(),
            None => match value.rfind('@') {
                Some(at) => &value[at + 1..],
                None => DEFAULT_DOMAIN,
            },
        };
        let mut s = String::with_capacity(2 + self.length + domain.len());
        s.push('u');
        s.push_str(&hex[..self.length]);
        s.push('@');
        s.push_str(domain);
        s
    }
}

impl Transform for Email {
    fn name(&self) -> &'static str {
        "email"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        let longest = self.domain.as_ref().map(|d| 2 + self.length + d.len());
        super::need_text("email", column, longest)
    }
    fn preserves_uniqueness(&self) -> bool {
        true
    }
    fn apply(&self, value: Option<&str>, _row: &RowView<'_>, prf: &Prf) -> Option<String> {
        Some(self.mask(value?, prf))
    }
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String> {
        let d = ctx.dialect;
        let v = d.as_text(ctx.column);
        let default = d.string_literal(DEFAULT_DOMAIN);
        let domain = match &self.domain {
            Some(dom) => d.string_literal(dom),
            None => match d {
                Dialect::MySql => format!(
                    "CASE WHEN LOCATE('@', {v}) > 0 THEN SUBSTRING_INDEX({v}, '@', -1) \
                     ELSE {default} END"
                ),
                Dialect::Postgres => format!(
                    "CASE WHEN strpos({v}, '@') > 0 THEN reverse(split_part(reverse({v}), '@', 1)) \
                     ELSE {default} END"
                ),
            },
        };
        let len = self.length.to_string();
        Some(sqlkit::with_digest(ctx, DOMAIN, &v, ctx.column, |h| {
            sqlkit::concat(
                d,
                &[
                    "'u'".into(),
                    sqlkit::substr(d, h.as_str(), "1", Some(&len)),
                    "'@'".into(),
                    domain,
                ],
            )
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ColumnKind;

    fn email(params: &str) -> Email {
        Email::from_params(&toml::from_str(params).unwrap()).unwrap()
    }

    #[test]
    fn distinct_addresses_stay_distinct_over_a_million() {
        let prf = Prf::from_secret(b"k");
        let e = email("");
        let mut seen = std::collections::HashSet::with_capacity(1_000_000);
        for i in 0..1_000_000u32 {
            let v = format!("user{i}@example.co.jp");
            assert!(seen.insert(e.mask(&v, &prf)), "collision at {v}");
        }
    }

    #[test]
    fn domain_is_replaced_kept_or_defaulted() {
        let prf = Prf::from_secret(b"k");
        let a = email("").mask("hanako@corp.co.jp", &prf);
        assert!(a.starts_with('u') && a.ends_with("@example.invalid"), "{a}");
        assert_eq!(a.len(), 1 + 24 + 1 + "example.invalid".len());
        let k = email("domain = \"keep\"").mask("hanako@corp.co.jp", &prf);
        assert!(k.ends_with("@corp.co.jp"));
        assert_eq!(
            k[..25],
            a[..25],
            "the local part does not depend on the domain setting"
        );
        assert!(email("domain = \"keep\"")
            .mask("not an address", &prf)
            .ends_with("@example.invalid"));
        let s = email("domain = \"staging.test\"\nlength = 16").mask("a@b", &prf);
        assert_eq!(s.len(), 1 + 16 + 1 + "staging.test".len());
        assert_eq!(
            email("").mask("a@b", &prf),
            email("").mask("a@b", &prf),
            "deterministic"
        );
    }

    #[test]
    fn bad_parameters_and_types_are_refused() {
        let e = |p: &str| Email::from_params(&toml::from_str(p).unwrap()).unwrap_err();
        assert!(e("length = 8").contains("16 to 32"));
        assert!(e("domain = \"a b\"").contains("domain"));
        assert!(e("domian = \"x\"").contains("domian"));
        let col = Column {
            name: "email".into(),
            sql_type: "int(11)".into(),
            kind: ColumnKind::Integer,
            nullable: false,
            max_chars: None,
        };
        let err = email("").check(&col).unwrap_err();
        assert!(err.contains("email") && err.contains("int(11)"), "{err}");
    }
}
