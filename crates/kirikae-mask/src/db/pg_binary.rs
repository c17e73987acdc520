//! PostgreSQL's binary COPY format, for the load path's writes: the server then parses no text
//! (at 10M rows of the benchmark's table the load path's server CPU fell by 14-16 % and its time
//! by 11-13 %, alternated runs in bench/mask/RESULTS.md).
//!
//! Values still come to kirikae as text (what the transforms see, see [`super`]), and each is
//! turned into its column's binary form here, for the types where that is exact: the text types
//! (the bytes themselves), `json`, `jsonb`, `boolean`, the integers, `date` and `timestamp`
//! (without time zone) as the server writes them under `DateStyle = 'ISO, YMD'`, which every
//! connection sets. A table with a column of any other type (a domain, an enum, `numeric`,
//! `timestamptz`, ...) is loaded as text. A value the codec does not take as written (a date
//! `infinity`, a year BC) makes its chunk go as text: the server reads it as it always did.

use super::{Conn, DbResult};
use crate::calendar::{days_from_civil, days_in_month};

/// How one column's text becomes its binary form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// `text`, `varchar`, `char`: the UTF-8 bytes.
    Text,
    /// `json`: the text.
    Json,
    /// `jsonb`: format version 1, then the text.
    Jsonb,
    Bool,
    Int2,
    Int4,
    Int8,
    /// Days from 2000-01-01, 32 bits.
    Date,
    /// Microseconds from 2000-01-01 00:00:00, 64 bits.
    Timestamp,
}

impl Codec {
    /// The codec of a built-in type, by its OID (fixed for built-in types; a domain or an
    /// extension's type has an OID of its own and gets none).
    fn of_type(oid: u32) -> Option<Codec> {
        Some(match oid {
            25 | 1042 | 1043 => Codec::Text,
            114 => Codec::Json,
            3802 => Codec::Jsonb,
            16 => Codec::Bool,
            21 => Codec::Int2,
            23 => Codec::Int4,
            20 => Codec::Int8,
            1082 => Codec::Date,
            1114 => Codec::Timestamp,
            _ => return None,
        })
    }
}

/// The codecs of `columns` of `table`, in that order; `None` when a column's type has none
/// (the table is then loaded as text).
pub async fn codecs(
    conn: &mut Conn,
    table: &str,
    columns: &[String],
) -> DbResult<Option<Vec<Codec>>> {
    let rows = conn
        .rows(&format!(
            "SELECT attname, atttypid::int8 FROM pg_attribute WHERE attrelid = {} AND attnum > 0 \
             AND NOT attisdropped",
            super::postgres::regclass(table)
        ))
        .await?;
    let types: std::collections::HashMap<String, u32> = rows
        .into_iter()
        .filter_map(|r| {
            let mut r = r.into_iter();
            let (name, oid) = (r.next()??, r.next()??);
            Some((name, oid.parse().ok()?))
        })
        .collect();
    Ok(columns
        .iter()
        .map(|c| types.get(c).copied().and_then(Codec::of_type))
        .collect())
}

/// The start of a binary COPY stream: its signature, flags and (empty) header extension.
pub fn begin(out: &mut Vec<u8>) {
    out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
}

/// The end of a binary COPY stream.
pub fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i16).to_be_bytes());
}

/// A value its column's codec does not take as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unencodable;

/// Appends one row: each value by its column's codec, NULL as length -1. On `Err` the row is
/// left half written: the caller encodes the chunk as text instead.
pub fn encode_row<'a>(
    out: &mut Vec<u8>,
    codecs: &[Codec],
    values: impl IntoIterator<Item = Option<&'a str>>,
) -> Result<(), Unencodable> {
    // A table's column count fits: PostgreSQL allows at most 1600.
    out.extend_from_slice(&(codecs.len() as i16).to_be_bytes());
    for (codec, v) in codecs.iter().zip(values) {
        let Some(v) = v else {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            continue;
        };
        match codec {
            Codec::Text | Codec::Json => field(out, v.as_bytes())?,
            Codec::Jsonb => {
                let len = i32::try_from(v.len() + 1).map_err(|_| Unencodable)?;
                out.extend_from_slice(&len.to_be_bytes());
                out.push(1);
                out.extend_from_slice(v.as_bytes());
            }
            Codec::Bool => match v {
                "t" => field(out, &[1])?,
                "f" => field(out, &[0])?,
                _ => return Err(Unencodable),
            },
            Codec::Int2 => field(
                out,
                &v.parse::<i16>().map_err(|_| Unencodable)?.to_be_bytes(),
            )?,
            Codec::Int4 => field(
                out,
                &v.parse::<i32>().map_err(|_| Unencodable)?.to_be_bytes(),
            )?,
            Codec::Int8 => field(
                out,
                &v.parse::<i64>().map_err(|_| Unencodable)?.to_be_bytes(),
            )?,
            Codec::Date => field(out, &date_days(v).ok_or(Unencodable)?.to_be_bytes())?,
            Codec::Timestamp => field(out, &timestamp_micros(v).ok_or(Unencodable)?.to_be_bytes())?,
        }
    }
    Ok(())
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), Unencodable> {
    let len = i32::try_from(bytes.len()).map_err(|_| Unencodable)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// `n` ASCII digits as a number.
fn digits(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
}

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_DAYS: i64 = 10_957;

/// `YYYY-MM-DD` (a year of four digits, AD) as days from 2000-01-01; `None` for anything else.
fn date_days(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&b[..4])?, digits(&b[5..7])?, digits(&b[8..])?);
    if y < 1 || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    i32::try_from(days_from_civil(y, m, d) - PG_EPOCH_DAYS).ok()
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` as microseconds from 2000-01-01 00:00:00; `None` for
/// anything else (a leap second, `infinity`, BC, a time zone).
fn timestamp_micros(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let days = i64::from(date_days(&s[..10])?);
    let (h, mi, sec) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let micros = match &b[19..] {
        [] => 0,
        [b'.', f @ ..] if (1..=6).contains(&f.len()) => digits(f)? * 10i64.pow(6 - f.len() as u32),
        _ => return None,
    };
    Some(((days * 24 + h) * 60 + mi) * 60_000_000 + sec * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(codec: Codec, v: Option<&str>) -> Result<Vec<u8>, Unencodable> {
        let mut out = Vec::new();
        encode_row(&mut out, &[codec], [v])?;
        // The field count, then the field.
        assert_eq!(&out[..2], &1i16.to_be_bytes());
        Ok(out[2..].to_vec())
    }

    #[test]
    fn dates_count_days_from_2000() {
        assert_eq!(date_days("2000-01-01"), Some(0));
        assert_eq!(date_days("1999-12-31"), Some(-1));
        assert_eq!(date_days("2000-03-01"), Some(60));
        assert_eq!(date_days("1970-01-01"), Some(-10_957));
        assert_eq!(date_days("0001-01-01"), Some(-730_119));
        assert_eq!(date_days("9999-12-31"), Some(2_921_939));
        assert_eq!(date_days("2024-02-29"), Some(8_825));
        for not_taken in [
            "2023-02-29",
            "1900-02-29",
            "2000-13-01",
            "2000-00-10",
            "2000-01-32",
            "0000-01-01",
            "infinity",
            "-infinity",
            "0044-03-15 BC",
            "12345-01-01",
            "2000/01/01",
            "2000-1-01",
        ] {
            assert_eq!(date_days(not_taken), None, "{not_taken}");
        }
    }

    #[test]
    fn timestamps_count_microseconds_from_2000() {
        assert_eq!(timestamp_micros("2000-01-01 00:00:00"), Some(0));
        assert_eq!(timestamp_micros("2000-01-01 00:00:01.5"), Some(1_500_000));
        assert_eq!(timestamp_micros("2000-01-01 00:00:00.000001"), Some(1));
        assert_eq!(timestamp_micros("1999-12-31 23:59:59"), Some(-1_000_000));
        assert_eq!(
            timestamp_micros("2015-01-01 12:34:56.789"),
            Some(((5_479 * 24 + 12) * 60 + 34) * 60_000_000 + 56_789_000)
        );
        for not_taken in [
            "2000-01-01",
            "2000-01-01 24:00:00",
            "2000-01-01 23:59:60",
            "2000-01-01 00:00:00.1234567",
            "2000-01-01 00:00:00.",
            "2000-01-01 00:00:00+09",
            "2000-01-01T00:00:00",
            "infinity",
            "2000-01-01 00:00:00 BC",
        ] {
            assert_eq!(timestamp_micros(not_taken), None, "{not_taken}");
        }
    }

    #[test]
    fn fields_carry_their_length_and_nulls_none() {
        assert_eq!(encoded(Codec::Text, None).unwrap(), (-1i32).to_be_bytes());
        assert_eq!(
            encoded(Codec::Text, Some("佐藤\t\\")).unwrap(),
            [&8i32.to_be_bytes()[..], "佐藤\t\\".as_bytes()].concat()
        );
        assert_eq!(
            encoded(Codec::Jsonb, Some("{}")).unwrap(),
            [&3i32.to_be_bytes()[..], b"\x01{}"].concat()
        );
        assert_eq!(
            encoded(Codec::Int8, Some("-42")).unwrap(),
            [&8i32.to_be_bytes()[..], &(-42i64).to_be_bytes()].concat()
        );
        assert_eq!(
            encoded(Codec::Bool, Some("t")).unwrap(),
            [&1i32.to_be_bytes()[..], &[1]].concat()
        );
        assert_eq!(encoded(Codec::Int2, Some("40000")), Err(Unencodable));
        assert_eq!(encoded(Codec::Int4, Some(" 1")), Err(Unencodable));
        assert_eq!(encoded(Codec::Bool, Some("true")), Err(Unencodable));
        assert_eq!(encoded(Codec::Date, Some("infinity")), Err(Unencodable));
    }

    #[test]
    fn a_stream_is_signature_rows_and_trailer() {
        let mut out = Vec::new();
        begin(&mut out);
        assert_eq!(out.len(), 19);
        assert!(out.starts_with(b"PGCOPY\n\xff\r\n\0"));
        end(&mut out);
        assert_eq!(&out[19..], &(-1i16).to_be_bytes());
    }
}
