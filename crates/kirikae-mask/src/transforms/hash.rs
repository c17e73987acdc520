//! `hash`: a keyed digest of the value, `length` characters (1..=32) of an alphabet: `hex`
//! (default) or `digits`. Unique when the full 32 hex digits are kept.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Deserialize;

use crate::prf::Prf;
use crate::schema::{Column, ColumnKind};
use crate::transform::{Dialect, RowView, SqlContext, Transform};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Alphabet {
    Hex,
    Digits,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hash {
    #[serde(default = "default_length")]
    length: u32,
    #[serde(default = "default_alphabet")]
    alphabet: Alphabet,
    /// Values hashed under the same domain map alike across tables (default "hash").
    #[serde(default = "default_domain")]
    domain: String,
    /// Set by `check` when the column is numeric: the SQL form then yields a number.
    #[serde(skip)]
    numeric_column: AtomicBool,
}

fn default_length() -> u32 {
    32
}
fn default_alphabet() -> Alphabet {
    Alphabet::Hex
}
fn default_domain() -> String {
    "hash".into()
}

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    let h: Hash = super::params("hash", params)?;
    let max = match h.alphabet {
        Alphabet::Hex => 32,
        Alphabet::Digits => 36,
    };
    if h.length == 0 || h.length > max {
        return Err(format!(
            "hash: `length` must be 1 to {max}, found {}",
            h.length
        ));
    }
    Ok(Arc::new(h))
}

impl Hash {
    /// Digits: four 32-bit draws, each as 9 zero-padded decimal digits (mod 10^9).
    fn digits(&self, d: &crate::prf::Digest128) -> String {
        let mut s = String::with_capacity(36);
        for i in 0..4 {
            s.push_str(&format!("{:09}", d.draw(i) % 1_000_000_000));
        }
        s.truncate(self.length as usize);
        s
    }
}

impl Transform for Hash {
    fn name(&self) -> &'static str {
        "hash"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        match &column.kind {
            ColumnKind::Text => {
                if column.max_chars.is_some_and(|m| m < self.length) {
                    return Err(format!(
                        "hash of length {} does not fit column {} ({})",
                        self.length, column.name, column.sql_type
                    ));
                }
                Ok(())
            }
            ColumnKind::Integer | ColumnKind::Decimal { .. }
                if self.alphabet == Alphabet::Digits && self.length <= 18 =>
            {
                self.numeric_column.store(true, Ordering::Relaxed);
                Ok(())
            }
            _ => Err(super::wrong_type(
                "hash",
                "a text column (or a numeric one with alphabet = \"digits\" and length <= 18)",
                column,
            )),
        }
    }
    fn preserves_uniqueness(&self) -> bool {
        self.alphabet == Alphabet::Hex && self.length == 32
    }
    fn apply(&self, value: Option<&str>, _row: &RowView<'_>, prf: &Prf) -> Option<String> {
        let d = prf.digest(&self.domain, value?);
        Some(match self.alphabet {
            Alphabet::Hex => d.hex()[..self.length as usize].to_string(),
            Alphabet::Digits => self.digits(&d),
        })
    }
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String> {
        let d = ctx.dialect;
        let input = d.as_text(ctx.column);
        let len = self.length.to_string();
        let expr = super::sqlkit::with_digest(ctx, &self.domain, &input, ctx.column, |h| {
            let h = h.as_str();
            match self.alphabet {
                Alphabet::Hex => super::sqlkit::substr(d, h, "1", Some(&len)),
                Alphabet::Digits => {
                    // Only the draws the length needs: each MD5 use costs, and the digest is
                    // bound once per row when used more than once.
                    let parts: Vec<String> = (0..self.length.div_ceil(9) as usize)
                        .map(|i| {
                            let n = format!("({} % 1000000000)", super::sqlkit::draw(d, h, i));
                            super::sqlkit::lpad_int(d, &n, 9)
                        })
                        .collect();
                    super::sqlkit::substr(d, &super::sqlkit::concat(d, &parts), "1", Some(&len))
                }
            }
        });
        // On PostgreSQL text does not convert to a number on assignment.
        if d == Dialect::Postgres && self.numeric_column.load(Ordering::Relaxed) {
            Some(format!("({expr})::numeric"))
        } else {
            Some(expr)
        }
    }
}
