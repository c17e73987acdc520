//! `phone`: phone numbers keep their shape. The leading group (area or mobile code: "090",
//! "03", "0120", "+81-90") and every non-digit character stay where they are; the other digits
//! are replaced by digits drawn from the digest of the original, so 090-1234-5678 stays a mobile
//! number with hyphens in the same places and 03-1234-5678 a Tokyo landline shape. Full-width
//! digits become full-width digits. Only the first 24 characters are kept (longer values are cut).
//!
//! The kept prefix: up to the first separator (a non-digit) when it comes within the first 6
//! characters ("+" numbers: up to the second, within the first 9); without an early separator, 4
//! characters for 0120/0800/0570 numbers, 3 for 050/070/080/090, else 2 (4 for "+" numbers).
//!
//! `text_scrub` masks the phone numbers it finds in free text with this transform.

use std::sync::Arc;

use super::sqlkit::{self, Slot};
use crate::prf::Prf;
use crate::schema::Column;
use crate::transform::{Dialect, RowView, SqlContext, Transform};

pub(crate) const DOMAIN: &str = "phone";
const MAX_CHARS: usize = 24;

#[derive(Debug, Clone)]
pub struct Phone;

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    if let Some(k) = params.keys().next() {
        return Err(format!("phone takes no parameters, found `{k}`"));
    }
    Ok(Arc::new(Phone))
}

const FREE_DIAL: [&str; 3] = ["0120", "0800", "0570"];
const MOBILE: [&str; 4] = ["050", "070", "080", "090"];

/// How many leading characters are kept (see the module documentation).
fn kept_prefix(chars: &[char]) -> usize {
    let sep = |j: usize| j < chars.len() && !sqlkit::is_any_digit(chars[j]);
    if chars.first() == Some(&'+') {
        for j in 2..=4 {
            if sep(j) {
                return (j + 2..=j + 5).find(|&k| sep(k)).unwrap_or(j);
            }
        }
        return 4;
    }
    if let Some(j) = (1..=5).find(|&j| sep(j)) {
        return j;
    }
    let starts = |p: &str| p.len() <= chars.len() && p.chars().zip(chars).all(|(a, b)| a == *b);
    if FREE_DIAL.iter().any(|p| starts(p)) {
        4
    } else if MOBILE.iter().any(|p| starts(p)) {
        3
    } else {
        2
    }
}

/// [`kept_prefix`] in SQL over the text expression `s`.
fn sql_kept_prefix(d: Dialect, s: &str) -> String {
    let sep = |j: usize| sqlkit::sql_is_separator_at(d, s, j + 1);
    let mut plus = String::from("CASE");
    for j in 2..=4 {
        let mut inner = String::from("CASE");
        for k in j + 2..=j + 5 {
            inner.push_str(&format!(" WHEN {} THEN {k}", sep(k)));
        }
        inner.push_str(&format!(" ELSE {j} END"));
        plus.push_str(&format!(" WHEN {} THEN {inner}", sep(j)));
    }
    plus.push_str(" ELSE 4 END");
    let list = |l: &[&str]| {
        l.iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut domestic = String::from("CASE");
    for j in 1..=5 {
        domestic.push_str(&format!(" WHEN {} THEN {j}", sep(j)));
    }
    domestic.push_str(&format!(
        " WHEN {} IN ({}) THEN 4 WHEN {} IN ({}) THEN 3 ELSE 2 END",
        sqlkit::substr(d, s, "1", Some("4")),
        list(&FREE_DIAL),
        sqlkit::substr(d, s, "1", Some("3")),
        list(&MOBILE)
    ));
    format!(
        "CASE WHEN {} = '+' THEN {plus} ELSE {domestic} END",
        sqlkit::substr(d, s, "1", Some("1"))
    )
}

impl Phone {
    pub(crate) fn mask(&self, value: &str, prf: &Prf) -> String {
        let digits = sqlkit::digits36(&prf.digest(DOMAIN, value));
        let chars: Vec<char> = value.chars().take(MAX_CHARS).collect();
        let p = kept_prefix(&chars).min(chars.len());
        let mut out = String::with_capacity(value.len());
        out.extend(&chars[..p]);
        sqlkit::replace_digits(&chars, p, &digits, &mut out);
        out
    }
}

impl Transform for Phone {
    fn name(&self) -> &'static str {
        "phone"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        super::need_text("phone", column, None)
    }
    fn apply(&self, value: Option<&str>, _row: &RowView<'_>, prf: &Prf) -> Option<String> {
        Some(self.mask(value?, prf))
    }
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String> {
        let d = ctx.dialect;
        let s = d.as_text(ctx.column);
        Some(sqlkit::with_digest(ctx, DOMAIN, &s, ctx.column, |h| {
            let digits = Slot::new("d");
            let p = sql_kept_prefix(d, &s);
            let replaced = sqlkit::sql_replace_digits(d, &s, digits.as_str(), MAX_CHARS);
            let left = match d {
                Dialect::MySql => format!("LEFT({s}, {p})"),
                Dialect::Postgres => format!("left({s}, {p})"),
            };
            let body = sqlkit::concat(
                d,
                &[
                    left,
                    sqlkit::substr(d, &replaced, &format!("{p} + 1"), None),
                ],
            );
            let value = sqlkit::sql_digits36(d, h.as_str());
            sqlkit::bind(ctx, "phone-digits", &digits, &value, None, &body)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(s: &str) -> String {
        s.chars()
            .map(|c| if sqlkit::is_any_digit(c) { '9' } else { c })
            .collect()
    }

    #[test]
    fn numbers_keep_their_shape_and_leading_group() {
        let prf = Prf::from_secret(b"k");
        for (input, kept) in [
            ("090-1234-5678", "090-"),
            ("03-1234-5678", "03-"),
            ("09012345678", "090"),
            ("0120-123-456", "0120-"),
            ("0312345678", "03"),
            ("+81-90-1234-5678", "+81-90-"),
            ("+81 3 1234 5678", "+81 3 "),
            ("(03) 1234-5678", "(03)"),
            ("０９０－１２３４－５６７８", "０９０－"),
            ("045-123-4567 内線12", "045-"),
        ] {
            let out = Phone.mask(input, &prf);
            assert_eq!(shape(&out), shape(input), "{input} -> {out}");
            assert!(out.starts_with(kept), "{input} -> {out}");
            assert_ne!(out, input);
            assert_eq!(out, Phone.mask(input, &prf));
        }
    }

    #[test]
    fn other_digits_are_spread_over_0_to_9() {
        let prf = Prf::from_secret(b"k");
        let mut counts = [0u32; 10];
        for i in 0..2000 {
            let out = Phone.mask(&format!("090-{:04}-{:04}", i, i * 7 % 10000), &prf);
            for c in out[4..].chars().filter(char::is_ascii_digit) {
                counts[(c as u8 - b'0') as usize] += 1;
            }
        }
        let total: u32 = counts.iter().sum();
        for c in counts {
            assert!((c as f64) > total as f64 * 0.08, "{counts:?}");
        }
    }

    #[test]
    fn long_values_are_cut_and_parameters_refused() {
        let prf = Prf::from_secret(b"k");
        let long = "03-1234-5678 / 090-1111-2222 (mobile)";
        assert_eq!(Phone.mask(long, &prf).chars().count(), MAX_CHARS);
        let mut t = toml::Table::new();
        t.insert("format".into(), toml::Value::String("x".into()));
        assert!(build(&t).unwrap_err().contains("format"));
    }
}
