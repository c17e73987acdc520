//! `number_noise`: numbers move by a deterministic amount drawn from the digest of the original:
//! `percent = 10` (up to ±10 % of the value) or `absolute = 5` (up to ±5). Never by zero steps;
//! the sign is kept (a value that would cross zero stops at 0) and so is the scale: integers stay
//! integers, a decimal keeps its number of decimals.
//!
//! Exact arithmetic in units of the last decimal (no floating point) on both paths, so the SQL
//! form gives exactly the Rust form. The SQL form needs the column's scale, learned by `check`
//! (float columns have no SQL form: their text differs between engines). A value within the noise
//! of its type's limit can overflow the column: the write then fails loudly.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use serde::Deserialize;

use super::sqlkit::{self, Slot};
use crate::prf::Prf;
use crate::schema::{Column, ColumnKind};
use crate::transform::{Dialect, RowView, SqlContext, Transform};

const DOMAIN: &str = "number_noise";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    percent: Option<f64>,
    absolute: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
enum Noise {
    /// In basis points (1/100 %).
    BasisPoints(i128),
    Absolute(f64),
}

#[derive(Debug)]
pub struct NumberNoise {
    noise: Noise,
    /// The checked column's scale (-1: not checked yet, -2: float).
    scale: AtomicI64,
}

pub fn build(params: &toml::Table) -> Result<Arc<dyn Transform>, String> {
    let p: Params = super::params("number_noise", params)?;
    let noise = match (p.percent, p.absolute) {
        (Some(pc), None) if pc > 0.0 && pc <= 100.0 && (pc * 100.0).round() >= 1.0 => {
            Noise::BasisPoints((pc * 100.0).round() as i128)
        }
        (None, Some(a)) if a > 0.0 && a.is_finite() && a <= 1e15 => Noise::Absolute(a),
        (Some(_), Some(_)) => {
            return Err("number_noise: give either `percent` or `absolute`, not both".into())
        }
        (None, None) => {
            return Err(
                "number_noise: give `percent = <0.01..100>` or `absolute = <amount>`".into(),
            )
        }
        (Some(pc), None) => {
            return Err(format!(
                "number_noise: `percent` must be more than 0 and at most 100, found {pc}"
            ))
        }
        (None, Some(a)) => {
            return Err(format!(
                "number_noise: `absolute` must be more than 0 (and at most 1e15), found {a}"
            ))
        }
    };
    Ok(Arc::new(NumberNoise {
        noise,
        scale: AtomicI64::new(-1),
    }))
}

/// A signed draw in [-n, -1] ∪ [1, n] from draw 0.
fn nonzero(draw: u32, n: i128) -> i128 {
    let s = i128::from(draw) % (2 * n);
    if s < n {
        s - n
    } else {
        s - n + 1
    }
}

impl NumberNoise {
    /// The absolute range in units of the last decimal at `scale`.
    fn absolute_units(a: f64, scale: u32) -> i128 {
        ((a * 10f64.powi(scale as i32)).round() as i128).max(1)
    }

    fn noisy(&self, units: i128, scale: u32, draw: u32) -> i128 {
        let r = match self.noise {
            Noise::BasisPoints(bp) => units + units * nonzero(draw, bp) / 10_000,
            Noise::Absolute(a) => units + nonzero(draw, Self::absolute_units(a, scale)),
        };
        if units >= 0 {
            r.max(0)
        } else {
            r.min(0)
        }
    }
}

/// "-12.50" -> (-1250, 2)
fn parse_decimal(s: &str) -> Option<(i128, u32)> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) || int.len() + frac.len() > 36 {
        return None;
    }
    let mut units: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        units = units * 10 + i128::from(b - b'0');
    }
    Some((if neg { -units } else { units }, frac.len() as u32))
}

fn format_decimal(units: i128, scale: u32) -> String {
    let digits = units.unsigned_abs().to_string();
    let scale = scale as usize;
    let digits = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = digits.split_at(digits.len() - scale);
    let sign = if units < 0 { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

impl Transform for NumberNoise {
    fn name(&self) -> &'static str {
        "number_noise"
    }
    fn check(&self, column: &Column) -> Result<(), String> {
        let scale = match column.kind {
            ColumnKind::Integer => 0,
            ColumnKind::Decimal { scale } => i64::from(scale),
            ColumnKind::Float => -2,
            _ => {
                return Err(super::wrong_type(
                    "number_noise",
                    "a numeric column",
                    column,
                ))
            }
        };
        self.scale.store(scale, Ordering::Relaxed);
        Ok(())
    }
    fn apply(&self, value: Option<&str>, _row: &RowView<'_>, prf: &Prf) -> Option<String> {
        let value = value?;
        let draw = prf.digest(DOMAIN, value).draw(0);
        if let Some((units, scale)) = parse_decimal(value) {
            return Some(format_decimal(self.noisy(units, scale, draw), scale));
        }
        // Floats in exponent notation: noise on the f64, sign kept.
        let x: f64 = value.parse().ok()?;
        let y = match self.noise {
            Noise::BasisPoints(bp) => x + x * nonzero(draw, bp) as f64 / 10_000.0,
            Noise::Absolute(a) => x + nonzero(draw, Self::absolute_units(a, 0)) as f64,
        };
        let y = if x >= 0.0 { y.max(0.0) } else { y.min(0.0) };
        Some(y.to_string())
    }
    fn sql(&self, ctx: &SqlContext<'_>) -> Option<String> {
        let scale = self.scale.load(Ordering::Relaxed);
        if scale < 0 {
            return None;
        }
        let scale = scale as u32;
        let d = ctx.dialect;
        let c = ctx.column;
        let exact = match d {
            Dialect::MySql => format!("CAST({c} AS DECIMAL(65, {scale}))"),
            Dialect::Postgres => format!("({c})::numeric"),
        };
        let n = match self.noise {
            Noise::BasisPoints(bp) => bp,
            Noise::Absolute(a) => Self::absolute_units(a, scale),
        };
        let input = d.as_text(c);
        Some(sqlkit::with_digest(ctx, DOMAIN, &input, c, |h| {
            let s = Slot::new("s");
            let u = format!(
                "(CASE WHEN {s} < {n} THEN {s} - {n} ELSE {s} - {n} + 1 END)",
                s = s.as_str()
            );
            let delta = match self.noise {
                Noise::BasisPoints(_) => match d {
                    Dialect::MySql => format!("TRUNCATE({exact} * {u} / 10000, {scale})"),
                    Dialect::Postgres => format!("trunc({exact} * {u} / 10000, {scale})"),
                },
                Noise::Absolute(_) => {
                    format!("{u} * {}", format_decimal(1, scale))
                }
            };
            let r = format!("({exact} + {delta})");
            let body = format!("CASE WHEN {c} >= 0 THEN GREATEST({r}, 0) ELSE LEAST({r}, 0) END");
            let value = format!("({} % {})", sqlkit::draw(d, h.as_str(), 0), 2 * n);
            sqlkit::bind(ctx, "number-noise", &s, &value, None, &body)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(p: &str) -> Arc<dyn Transform> {
        build(&toml::from_str(p).unwrap()).unwrap()
    }

    #[test]
    fn stays_within_range_keeps_sign_and_scale() {
        let prf = Prf::from_secret(b"k");
        let t = noise("percent = 10");
        for i in 1..500 {
            let v = format!("{}.{:02}", i * 37, i % 100);
            let out = t.apply_one(Some(&v), &prf).unwrap();
            let (a, sa) = parse_decimal(&v).unwrap();
            let (b, sb) = parse_decimal(&out).unwrap();
            assert_eq!(sa, sb, "{v} -> {out}");
            assert!((b - a).abs() * 10 <= a, "{v} -> {out}");
            let neg = t.apply_one(Some(&format!("-{v}")), &prf).unwrap();
            assert!(neg.starts_with('-'), "{neg}");
        }
        let i = t.apply_one(Some("123456"), &prf).unwrap();
        assert!(i.parse::<i64>().is_ok(), "integers stay integers: {i}");
        assert_ne!(i, "123456");
        let a = noise("absolute = 5");
        for v in ["1", "0", "-2", "3"] {
            let out: i64 = a.apply_one(Some(v), &prf).unwrap().parse().unwrap();
            let x: i64 = v.parse().unwrap();
            assert!(
                (out - x).abs() <= 5 && (x >= 0) == (out >= 0),
                "{v} -> {out}"
            );
        }
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(0, 2), "0.00");
    }

    #[test]
    fn parameters_and_types_are_checked() {
        let e = |p: &str| build(&toml::from_str(p).unwrap()).unwrap_err();
        assert!(e("").contains("percent"));
        assert!(e("percent = 10\nabsolute = 1").contains("not both"));
        assert!(e("percent = 150").contains("at most 100"));
        assert!(e("absolute = -1").contains("more than 0"));
        let col = Column {
            name: "born".into(),
            sql_type: "date".into(),
            kind: ColumnKind::Date,
            nullable: true,
            max_chars: None,
        };
        let err = noise("percent = 1").check(&col).unwrap_err();
        assert!(err.contains("born") && err.contains("date"), "{err}");
    }
}
