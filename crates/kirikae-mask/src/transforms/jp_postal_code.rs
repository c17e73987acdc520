//! `jp_postal_code`: Japanese postal codes keep their shape (NNN-NNNN stays with its hyphen,
//! NNNNNNN without, "〒" and other characters kept); the digits are drawn from the digest of the
//! original. Values longer than 10 characters are cut to 10.

use std::sync::Arc;

use super::sqlkit::{self, Slot};
use crate::prf::Prf;
use crate::schema::Column;
use crate::transform::{Dialect, RowView, SqlContext, Transform};

const DOMAIN: &str = "jp_postal_code";
const MAX_CHARS: usize = 10;

#[derive(Debug)]
pub struct JpPostalCode;

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    if let Some(k) = params.keys().next() {
        return Err(format!("jp_postal_code takes no parameters, found `{k}`"));
    }
    Ok(Arc::new(JpPostalCode))
}

impl Transform for JpPostalCode {
    fn name(&self) -> &'static str {
        "jp_postal_code"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        super::need_text("jp_postal_code", column, None)
    }
    fn apply(&self, value: Option<&str>, _row: &RowView<'_>, prf: &Prf) -> Option<String> {
        let value = value?;
        let digits = sqlkit::digits36(&prf.digest(DOMAIN, value));
        let mut buf = ['\0'; MAX_CHARS];
        let mut n = 0;
        for c in value.chars().take(MAX_CHARS) {
            buf[n] = c;
            n += 1;
        }
        let mut out = String::with_capacity(value.len());
        sqlkit::replace_digits(&buf[..n], 0, &digits, &mut out);
        Some(out)
    }
    /// The common shapes "NNN-NNNN" and "NNNNNNN" (ASCII digits) first: their digits are the
    /// first 8 or 7 of the digit string, which lie in the first draw, so the digest is used once
    /// (no variable, no subquery) and only a few string functions run. Then the general form.
    /// A NULL matches neither shape.
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String> {
        let d = ctx.dialect;
        let s = d.as_text(ctx.column);
        let first9 = {
            let hex = ctx.prf.sql_digest_hex(d, DOMAIN, &s);
            let n = format!("({} % 1000000000)", sqlkit::draw(d, &hex, 0));
            sqlkit::lpad_int(d, &n, 9)
        };
        let (matches, hyphenated, plain) = match d {
            Dialect::MySql => (
                "REGEXP",
                format!("INSERT(LEFT({first9}, 8), 4, 1, '-')"),
                format!("LEFT({first9}, 7)"),
            ),
            Dialect::Postgres => (
                "~",
                format!("overlay(left({first9}, 8) placing '-' from 4 for 1)"),
                format!("left({first9}, 7)"),
            ),
        };
        // `$` also matches before a final newline on MariaDB.
        let end = match d {
            Dialect::MySql => r"\z",
            Dialect::Postgres => "$",
        };
        let hyphen_re = d.string_literal(&format!("^[0-9]{{3}}-[0-9]{{4}}{end}"));
        let plain_re = d.string_literal(&format!("^[0-9]{{7}}{end}"));
        let general = sqlkit::with_digest(ctx, DOMAIN, &s, ctx.column, |h| {
            let digits = Slot::new("d");
            let body = sqlkit::sql_replace_digits(d, &s, digits.as_str(), MAX_CHARS);
            let value = sqlkit::sql_digits36(d, h.as_str());
            sqlkit::bind(ctx, "postal-digits", &digits, &value, None, &body)
        });
        Some(format!(
            "CASE WHEN {s} {matches} {hyphen_re} THEN {hyphenated} \
             WHEN {s} {matches} {plain_re} THEN {plain} ELSE {general} END"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyphen_kept_or_not_as_in_the_original() {
        let prf = Prf::from_secret(b"k");
        let t = JpPostalCode;
        let a = t.apply_one(Some("105-0011"), &prf).unwrap();
        assert!(a.len() == 8 && a.as_bytes()[3] == b'-', "{a}");
        assert!(a.chars().filter(char::is_ascii_digit).count() == 7);
        let b = t.apply_one(Some("1050011"), &prf).unwrap();
        assert!(b.len() == 7 && b.chars().all(|c| c.is_ascii_digit()), "{b}");
        let c = t.apply_one(Some("〒105-0011"), &prf).unwrap();
        assert!(c.starts_with('〒') && c.chars().count() == 9, "{c}");
        assert_ne!(a, "105-0011");
        assert_eq!(a, t.apply_one(Some("105-0011"), &prf).unwrap());
        assert_eq!(t.apply_one(None, &prf), None);
    }
}
