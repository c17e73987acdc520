//! Building blocks shared by the transforms' SQL forms, each with its Rust twin, so that a
//! transform's two forms are written side by side from the same pieces.
//!
//! Performance matters here (these expressions run over tens of millions of rows): an MD5 costs
//! about 0.5 µs on either engine, so a cell computes its digest once. When an expression needs a
//! value (the digest, derived digits) more than once, [`bind`] evaluates it once per row: on
//! MySQL/MariaDB into a user variable assigned in the leading `CASE WHEN` (which is evaluated
//! first), on PostgreSQL in a one-row `OFFSET 0` subquery (without `OFFSET 0` PostgreSQL inlines
//! the subquery and computes the value again at every use). A value used once is inlined. (On
//! PostgreSQL, inlining a value used twice, two MD5s, was measured slower in `INSERT ... SELECT`
//! than the subquery: bench/mask/sql-forms.md.)

use crate::prf::Digest128;
use crate::transform::{Dialect, SqlContext};

/// A placeholder for a bound value inside an expression under construction.
pub(crate) struct Slot(String);

impl Slot {
    pub(crate) fn new(tag: &str) -> Slot {
        Slot(format!("\u{1}{tag}\u{1}"))
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name unique to (column, what) so that nested bindings never share a variable.
fn binding_name(ctx: &SqlContext<'_>, what: &str) -> String {
    let d = ctx
        .prf
        .digest("sql-binding", &format!("{}\u{1f}{what}", ctx.column));
    format!("kirikae_{}", &d.hex()[..10])
}

/// `body` with `slot` replaced by `value`, evaluated once per row. The result is NULL when
/// `null_if` (a cheap expression, typically the column) is NULL, or when `value` is.
pub(crate) fn bind(
    ctx: &SqlContext<'_>,
    what: &str,
    slot: &Slot,
    value: &str,
    null_if: Option<&str>,
    body: &str,
) -> String {
    let uses = body.matches(slot.as_str()).count();
    if uses <= 1 {
        let inlined = body.replace(slot.as_str(), value);
        return match null_if {
            Some(n) => format!("CASE WHEN {n} IS NULL THEN NULL ELSE {inlined} END"),
            None => inlined,
        };
    }
    let name = binding_name(ctx, what);
    match ctx.dialect {
        Dialect::MySql => {
            let var = format!("@{name}");
            let body = body.replace(slot.as_str(), &var);
            let test = match null_if {
                Some(n) => format!("{n} IS NULL OR ({var} := {value}) IS NULL"),
                None => format!("({var} := {value}) IS NULL"),
            };
            format!("CASE WHEN {test} THEN NULL ELSE {body} END")
        }
        Dialect::Postgres => {
            let body = body.replace(slot.as_str(), &name);
            let sub = format!(
                "(SELECT CASE WHEN {name} IS NULL THEN NULL ELSE {body} END \
                 FROM (SELECT {value} AS {name} OFFSET 0) AS s_{name})"
            );
            match null_if {
                Some(n) => format!("CASE WHEN {n} IS NULL THEN NULL ELSE {sub} END"),
                None => sub,
            }
        }
    }
}

/// The SQL expression of a value computed from the digest hex of `input_text` (a text
/// expression) under `domain`; NULL when `null_if` is NULL. `body` uses the digest via `slot`.
pub(crate) fn with_digest(
    ctx: &SqlContext<'_>,
    domain: &str,
    input_text: &str,
    null_if: &str,
    body: impl FnOnce(&Slot) -> String,
) -> String {
    let slot = Slot::new("h");
    let b = body(&slot);
    let hex = ctx.prf.sql_digest_hex(ctx.dialect, domain, input_text);
    bind(ctx, domain, &slot, &hex, Some(null_if), &b)
}

/// The i-th 32-bit draw of a digest hex expression, as a signed 64-bit integer (MySQL refuses
/// negative results of unsigned arithmetic, so never leave it unsigned).
pub(crate) fn draw(d: Dialect, hex: &str, i: usize) -> String {
    let start = 8 * (i % 4) + 1;
    match d {
        Dialect::MySql => format!("CAST(CONV(SUBSTRING({hex}, {start}, 8), 16, 10) AS SIGNED)"),
        Dialect::Postgres => {
            format!("(('x' || substr({hex}, {start}, 8))::bit(32)::bigint & 4294967295)")
        }
    }
}

/// draw(i) % n
pub(crate) fn pick(d: Dialect, hex: &str, i: usize, n: u64) -> String {
    format!("({} % {n})", draw(d, hex, i))
}

/// The element `index` (0-based SQL integer) of a constant list.
pub(crate) fn element(d: Dialect, index: &str, items: &[&str]) -> String {
    let lits: Vec<String> = items.iter().map(|s| d.string_literal(s)).collect();
    match d {
        Dialect::MySql => format!("ELT(1 + {index}, {})", lits.join(", ")),
        Dialect::Postgres => format!("(ARRAY[{}]::text[])[(1 + {index})::int]", lits.join(", ")),
    }
}

/// Text concatenation of SQL text expressions.
pub(crate) fn concat(d: Dialect, parts: &[String]) -> String {
    match d {
        Dialect::MySql => format!("CONCAT({})", parts.join(", ")),
        Dialect::Postgres => format!("({})", parts.join(" || ")),
    }
}

/// An integer expression as zero-padded decimal text of `width` digits.
pub(crate) fn lpad_int(d: Dialect, int: &str, width: usize) -> String {
    match d {
        Dialect::MySql => format!("LPAD({int}, {width}, '0')"),
        Dialect::Postgres => format!("lpad(({int})::text, {width}, '0')"),
    }
}

/// Characters `from` (1-based) to `from + len - 1` of a text expression.
pub(crate) fn substr(d: Dialect, s: &str, from: &str, len: Option<&str>) -> String {
    match (d, len) {
        (Dialect::MySql, Some(l)) => format!("SUBSTRING({s}, {from}, {l})"),
        (Dialect::MySql, None) => format!("SUBSTRING({s}, {from})"),
        (Dialect::Postgres, Some(l)) => format!("substr({s}, {from}, {l})"),
        (Dialect::Postgres, None) => format!("substr({s}, {from})"),
    }
}

/// The code point of the first character of a text expression (0 for the empty string).
pub(crate) fn code_point(d: Dialect, ch: &str) -> String {
    match d {
        // ORD gives the UTF-8 bytes as one big-endian number: only the ASCII range and exact
        // values compared with [`mysql_ord`] are meaningful.
        Dialect::MySql => format!("ORD({ch})"),
        Dialect::Postgres => format!("ascii({ch})"),
    }
}

/// What [`code_point`] returns for `c` on dialect `d`.
pub(crate) fn code_point_value(d: Dialect, c: char) -> u64 {
    match d {
        Dialect::MySql => {
            let mut buf = [0u8; 4];
            c.encode_utf8(&mut buf)
                .bytes()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(b))
        }
        Dialect::Postgres => u64::from(u32::from(c)),
    }
}

/// 36 decimal digits from a digest: four draws, each as 9 digits (mod 10^9). Rust form.
pub(crate) fn digits36(d: &Digest128) -> [u8; 36] {
    let mut out = [b'0'; 36];
    for i in 0..4 {
        let mut n = d.draw(i) % 1_000_000_000;
        for k in (0..9).rev() {
            out[9 * i + k] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    out
}

/// [`digits36`] in SQL, from a digest hex expression.
pub(crate) fn sql_digits36(d: Dialect, hex: &str) -> String {
    let parts: Vec<String> = (0..4)
        .map(|i| lpad_int(d, &format!("({} % 1000000000)", draw(d, hex, i)), 9))
        .collect();
    concat(d, &parts)
}

/// Whether `c` is an ASCII or a full-width digit.
pub(crate) fn is_any_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// SQL: whether the code point expression `cp` is an ASCII or full-width digit.
pub(crate) fn sql_is_any_digit(d: Dialect, cp: &str) -> String {
    format!(
        "({cp} BETWEEN 48 AND 57 OR {cp} BETWEEN {} AND {})",
        code_point_value(d, '０'),
        code_point_value(d, '９')
    )
}

/// SQL: the character at 1-based position `i` of `s` is a separator (present, not a digit).
pub(crate) fn sql_is_separator_at(d: Dialect, s: &str, i: usize) -> String {
    let cp = code_point(d, &substr(d, s, &i.to_string(), Some("1")));
    format!("({cp} <> 0 AND NOT {})", sql_is_any_digit(d, &cp))
}

/// Appends `chars[start..]` to `out` with every digit replaced by the digit at the same
/// position of `digits` (full-width digits by full-width ones); other characters are kept.
pub(crate) fn replace_digits(chars: &[char], start: usize, digits: &[u8], out: &mut String) {
    for (i, &c) in chars.iter().enumerate().skip(start) {
        let nd = digits[i % digits.len()];
        if c.is_ascii_digit() {
            out.push(nd as char);
        } else if ('０'..='９').contains(&c) {
            out.push(char::from_u32(u32::from('０') + u32::from(nd - b'0')).unwrap_or(c));
        } else {
            out.push(c);
        }
    }
}

/// [`replace_digits`] in SQL over the first `n` characters of `s`, with digits from the text
/// expression `digits` (at least `n` characters long).
pub(crate) fn sql_replace_digits(d: Dialect, s: &str, digits: &str, n: usize) -> String {
    let fw0 = code_point_value(d, '０');
    let fw9 = code_point_value(d, '９');
    let pieces: Vec<String> = (1..=n)
        .map(|i| {
            let ch = substr(d, s, &i.to_string(), Some("1"));
            let cp = code_point(d, &ch);
            let nd = substr(d, digits, &i.to_string(), Some("1"));
            let fw = match d {
                Dialect::MySql => format!(
                    "ELT(1 + {nd}, '０', '１', '２', '３', '４', '５', '６', '７', '８', '９')"
                ),
                Dialect::Postgres => format!("chr(65296 + ({nd})::int)"),
            };
            format!(
                "CASE WHEN {cp} BETWEEN 48 AND 57 THEN {nd} \
                 WHEN {cp} BETWEEN {fw0} AND {fw9} THEN {fw} ELSE {ch} END"
            )
        })
        .collect();
    concat(d, &pieces)
}

/// Integer division of non-negative integer expressions (MySQL's `/` is decimal division).
pub(crate) fn idiv(d: Dialect, a: &str, b: &str) -> String {
    match d {
        Dialect::MySql => format!("({a} DIV {b})"),
        Dialect::Postgres => format!("({a} / {b})"),
    }
}
