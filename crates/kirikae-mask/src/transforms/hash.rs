//! `hash`: a keyed digest of the value, `length` characters (1..=32) of an alphabet: `hex`
//! (default) or `digits`. Unique when the full 32 hex digits are kept.

use std::sync::Arc;

use serde::Deserialize;

use crate::prf::{sql_draw, Prf};
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
        let hex = ctx
            .prf
            .sql_digest_hex(d, &self.domain, &d.as_text(ctx.column));
        let body = match self.alphabet {
            Alphabet::Hex => match d {
                Dialect::MySql => format!("SUBSTRING({hex}, 1, {})", self.length),
                Dialect::Postgres => format!("substr({hex}, 1, {})", self.length),
            },
            Alphabet::Digits => {
                let parts: Vec<String> = (0..4)
                    .map(|i| {
                        let n = format!("({} % 1000000000)", sql_draw(d, "h.x", i));
                        match d {
                            Dialect::MySql => format!("LPAD({n}, 9, '0')"),
                            Dialect::Postgres => format!("lpad(({n})::text, 9, '0')"),
                        }
                    })
                    .collect();
                // The digest is computed once per row in a derived value `h.x`.
                let joined = match d {
                    Dialect::MySql => format!("CONCAT({})", parts.join(", ")),
                    Dialect::Postgres => parts.join(" || "),
                };
                let inner = match d {
                    Dialect::MySql => format!("SUBSTRING({joined}, 1, {})", self.length),
                    Dialect::Postgres => format!("substr({joined}, 1, {})", self.length),
                };
                match d {
                    Dialect::MySql => format!("(SELECT {inner} FROM (SELECT {hex} AS x) AS h)"),
                    Dialect::Postgres => format!("(SELECT {inner} FROM (SELECT {hex} AS x) AS h)"),
                }
            }
        };
        Some(format!(
            "CASE WHEN {} IS NULL THEN NULL ELSE {body} END",
            ctx.column
        ))
    }
}
