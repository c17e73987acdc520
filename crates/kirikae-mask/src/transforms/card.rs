//! `card`: payment card numbers become Luhn-valid numbers from well-known test ranges (Visa
//! 4111 11, Mastercard 5555 55 / 2223 00, Amex 3782 82, JCB 3530 11, Discover 6011 11), chosen
//! by the original's first digit, with its length and grouping (spaces, hyphens) kept; the
//! other digits are drawn from the digest of the original. Rust only (no SQL form).
//!
//! `text_scrub` masks the card numbers it finds in free text with this transform.

use std::sync::Arc;

use crate::prf::Prf;
use crate::schema::Column;
use crate::transform::{RowView, SqlContext, Transform};

pub(crate) const DOMAIN: &str = "card";

#[derive(Debug, Clone)]
pub struct Card;

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    if let Some(k) = params.keys().next() {
        return Err(format!("card takes no parameters, found `{k}`"));
    }
    Ok(Arc::new(Card))
}

/// Whether the ASCII digits pass the Luhn check.
pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    !digits.is_empty() && luhn_sum(digits, false).is_multiple_of(10)
}

/// The Luhn sum of `digits`; `payload` when the check digit is still to be appended.
fn luhn_sum(digits: &[u8], payload: bool) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if (i % 2 == 0) == payload {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum()
}

impl Card {
    pub(crate) fn mask(&self, value: &str, prf: &Prf) -> String {
        let n = value.bytes().filter(u8::is_ascii_digit).count();
        if n < 2 {
            return value.to_string();
        }
        let first = value.bytes().find(u8::is_ascii_digit).unwrap_or(b'4');
        let prefix: &[u8] = match first {
            b'4' => b"411111",
            b'5' => b"555555",
            b'2' => b"222300",
            b'3' if n == 15 => b"378282",
            b'3' => b"353011",
            b'6' => b"601111",
            _ => b"400000",
        };
        let random = super::sqlkit::digits36(&prf.digest(DOMAIN, value));
        let mut digits: Vec<u8> = prefix.iter().copied().take(n - 1).collect();
        let mut k = 0;
        while digits.len() < n - 1 {
            digits.push(random[k % random.len()]);
            k += 1;
        }
        let check = (10 - luhn_sum(&digits, true) % 10) % 10;
        digits.push(b'0' + check as u8);
        let mut it = digits.into_iter();
        value
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    it.next().map(char::from).unwrap_or(c)
                } else {
                    c
                }
            })
            .collect()
    }
}

impl Transform for Card {
    fn name(&self) -> &'static str {
        "card"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        super::need_text("card", column, None)
    }
    fn apply(&self, value: Option<&str>, _row: &RowView<'_>, prf: &Prf) -> Option<String> {
        Some(self.mask(value?, prf))
    }
    fn sql(&self, _ctx: &SqlContext<'_>) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(s: &str) -> Vec<u8> {
        s.bytes().filter(u8::is_ascii_digit).collect()
    }

    #[test]
    fn luhn_valid_test_numbers_with_the_same_length_and_grouping() {
        let prf = Prf::from_secret(b"k");
        assert!(luhn_valid(b"4111111111111111") && !luhn_valid(b"4111111111111112"));
        for i in 0..2000u64 {
            for input in [
                format!("4{:015}", i * 7919),
                format!(
                    "5{:03} {:04} {:04} {:04}",
                    i % 1000,
                    i,
                    i * 3 % 10000,
                    i * 7 % 10000
                ),
                format!("3{:02}-{:06}-{:05}", i % 100, i, i * 11 % 100000),
                format!("6{:012}", i),
            ] {
                let out = Card.mask(&input, &prf);
                assert!(luhn_valid(&digits(&out)), "{input} -> {out}");
                let shape = |s: &str| s.replace(|c: char| c.is_ascii_digit(), "9");
                assert_eq!(shape(&out), shape(&input));
                assert_eq!(out, Card.mask(&input, &prf));
            }
        }
        assert!(Card
            .mask("4000 1234 5678 9010", &prf)
            .starts_with("4111 11"));
        assert!(Card.mask("371449635398431", &prf).starts_with("378282"));
        assert_eq!(Card.apply_one(None, &prf), None);
    }
}
