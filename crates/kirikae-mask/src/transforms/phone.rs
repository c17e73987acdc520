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
        // The common shapes first (see `fast`), then the general form. A NULL matches no shape.
        let mut out = String::from("CASE");
        for shape in [Shape::Grouped, Shape::Digits] {
            for (max_len, draws) in [(18, 2), (MAX_CHARS, 3)] {
                let (when, then) = fast(ctx, &s, shape, max_len, draws);
                out.push_str(&format!(" WHEN {when} THEN {then}"));
            }
        }
        out.push_str(&format!(" ELSE {} END", general_sql(ctx, &s)));
        Some(out)
    }
}

/// The shapes of the SQL fast path: ASCII digits only, and no cut (at most 24 characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Three groups of digits, the first of 1 to 5, separated by hyphens ("090-1234-5678",
    /// "03-1234-5678", "0120-123-456"): the kept prefix is the first group, and only the digits
    /// between and after the two hyphens change. (Spaces as separators take the general form:
    /// finding them costs more string functions, which are what costs on PostgreSQL.)
    Grouped,
    /// 6 to 24 digits ("09012345678"): the kept prefix is 4, 3 or 2 digits by the prefix lists,
    /// the rest are digits.
    Digits,
}

impl Shape {
    /// The regular expression, written for both engines (no `$`: on MariaDB it also matches
    /// before a final newline).
    fn pattern(self, d: Dialect) -> &'static str {
        match (self, d) {
            (Shape::Grouped, Dialect::MySql) => r"^[0-9]{1,5}-[0-9]+-[0-9]+\z",
            (Shape::Grouped, Dialect::Postgres) => r"^[0-9]{1,5}-[0-9]+-[0-9]+$",
            (Shape::Digits, Dialect::MySql) => r"^[0-9]{6,24}\z",
            (Shape::Digits, Dialect::Postgres) => r"^[0-9]{6,24}$",
        }
    }
}

/// A fast branch of the SQL form for values of `shape` of at most `max_len` characters, with
/// the replacement digits from `draws` draws of the digest (9 digits each): (condition, value).
///
/// The digit that replaces the digit at (1-based) position i is character i of the digit
/// string ([`sqlkit::digits36`]), so for these shapes the result is the kept prefix, then the
/// digit string from the next position on, with the separators put back at their places.
/// The digit string is used once, so the digest is computed once per row on MySQL/MariaDB
/// (a variable) and two or three times on PostgreSQL without a subquery (see sqlkit).
fn fast(
    ctx: &SqlContext<'_>,
    s: &str,
    shape: Shape,
    max_len: usize,
    draws: usize,
) -> (String, String) {
    let d = ctx.dialect;
    let (len, re) = match d {
        Dialect::MySql => (format!("CHAR_LENGTH({s})"), "REGEXP"),
        Dialect::Postgres => (format!("length({s})"), "~"),
    };
    let when = format!(
        "{len} <= {max_len} AND {s} {re} {}",
        d.string_literal(shape.pattern(d))
    );
    let slot = Slot::new("h");
    let digits = {
        let parts: Vec<String> = (0..draws)
            .map(|i| {
                let n = format!("({} % 1000000000)", sqlkit::draw(d, slot.as_str(), i));
                sqlkit::lpad_int(d, &n, 9)
            })
            .collect();
        sqlkit::concat(d, &parts)
    };
    let body = match shape {
        Shape::Grouped => {
            // p1: the position of the first hyphen; q: the second's, counted from p1.
            let (p1, q) = match d {
                Dialect::MySql => {
                    let p1 = format!("LOCATE('-', {s})");
                    let q = format!("(LOCATE('-', {s}, {p1} + 1) - {p1})");
                    (p1, q)
                }
                Dialect::Postgres => {
                    let p1 = format!("strpos({s}, '-')");
                    let q = format!("strpos(substr({s}, {p1} + 1), '-')");
                    (p1, q)
                }
            };
            let rest = sqlkit::substr(
                d,
                &digits,
                &format!("{p1} + 1"),
                Some(&format!("{len} - {p1}")),
            );
            let rest = match d {
                Dialect::MySql => format!("INSERT({rest}, {q}, 1, '-')"),
                Dialect::Postgres => format!("overlay({rest} placing '-' from {q} for 1)"),
            };
            let head = match d {
                Dialect::MySql => format!("LEFT({s}, {p1})"),
                Dialect::Postgres => format!("left({s}, {p1})"),
            };
            sqlkit::concat(d, &[head, rest])
        }
        Shape::Digits => {
            let list = |l: &[&str]| {
                l.iter()
                    .map(|p| format!("'{p}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let p = format!(
                "(CASE WHEN {} IN ({}) THEN 4 WHEN {} IN ({}) THEN 3 ELSE 2 END)",
                sqlkit::substr(d, s, "1", Some("4")),
                list(&FREE_DIAL),
                sqlkit::substr(d, s, "1", Some("3")),
                list(&MOBILE)
            );
            let head = sqlkit::substr(d, s, "1", Some(&p));
            let rest = sqlkit::substr(
                d,
                &digits,
                &format!("{p} + 1"),
                Some(&format!("{len} - {p}")),
            );
            sqlkit::concat(d, &[head, rest])
        }
    };
    let hex = ctx.prf.sql_digest_hex(d, DOMAIN, s);
    let what = format!("{DOMAIN}-{shape:?}-{max_len}");
    (when, sqlkit::bind(ctx, &what, &slot, &hex, None, &body))
}

/// The general SQL form: any value, character by character.
fn general_sql(ctx: &SqlContext<'_>, s: &str) -> String {
    let d = ctx.dialect;
    sqlkit::with_digest(ctx, DOMAIN, s, ctx.column, |h| {
        let digits = Slot::new("d");
        let p = sql_kept_prefix(d, s);
        let replaced = sqlkit::sql_replace_digits(d, s, digits.as_str(), MAX_CHARS);
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
    })
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
