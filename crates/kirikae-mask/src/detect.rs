//! Detectors of personal data, shared by `init` (which rule to propose), `verify` (what a kept
//! column must not hold) and `text_scrub` (person names with an honorific): card numbers (Luhn
//! and a card network's number range), emails, phone numbers (Japanese mobiles and landlines,
//! +81), postal codes, addresses and person names (latin, kanji and kana, checked against the
//! name dictionaries).
//!
//! Two questions, two functions: [`kind_of_value`] asks what a whole value (a column value, a
//! JSON leaf) is; [`personal_data_in`] asks what a free text holds somewhere inside it.
//! Precision and recall per kind on a labelled set: `tests/detect.rs` and `bench/mask/DETECT.md`.

use std::sync::OnceLock;

use regex::Regex;

use crate::transforms::dict;

/// A kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Card,
    Email,
    Phone,
    PostalCode,
    Address,
    PersonName,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Card,
        Kind::Email,
        Kind::Phone,
        Kind::PostalCode,
        Kind::Address,
        Kind::PersonName,
    ];

    /// The name used in reports and in the labelled set.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Card => "card",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::PostalCode => "postal_code",
            Kind::Address => "address",
            Kind::PersonName => "person_name",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Luhn check of a digit string (ASCII digits only).
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = (*d - b'0') as u32;
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// A number in a card network's range with that network's length (Visa, Mastercard, American
/// Express, JCB, Diners, Discover, UnionPay): a Luhn-valid id (an IMEI, a product number)
/// rarely is one.
fn card_range(d: &[u8]) -> bool {
    let n = d.len();
    let p = |k: usize| -> u32 {
        std::str::from_utf8(&d[..k.min(n)])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    match d.first() {
        Some(b'4') => matches!(n, 13 | 16 | 19),
        Some(b'5') => (51..=55).contains(&p(2)) && n == 16,
        Some(b'2') => (2221..=2720).contains(&p(4)) && n == 16,
        Some(b'3') => {
            (matches!(p(2), 34 | 37) && n == 15)
                || ((3528..=3589).contains(&p(4)) && (16..=19).contains(&n))
                || ((matches!(p(2), 36 | 38 | 39) || (300..=305).contains(&p(3))) && n == 14)
        }
        Some(b'6') => {
            (p(4) == 6011 || p(2) == 65 || (644..=649).contains(&p(3)) || p(2) == 62)
                && (16..=19).contains(&n)
        }
        _ => false,
    }
}

/// A whole value that is a payment card number: 13 to 19 digits, optionally grouped by spaces
/// or hyphens, Luhn-valid, in a card network's range.
pub fn is_card(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty()
        || !v
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-')
    {
        return false;
    }
    let digits: Vec<u8> = v.bytes().filter(u8::is_ascii_digit).collect();
    (13..=19).contains(&digits.len()) && luhn(&digits) && card_range(&digits)
}

/// A domain that cannot belong to a person (RFC 2606 and masked output).
fn reserved_domain(domain: &str) -> bool {
    let domain = domain.to_ascii_lowercase();
    domain.ends_with(".invalid")
        || domain.ends_with(".test")
        || domain.ends_with(".example")
        || ["example.com", "example.net", "example.org", "example.jp"]
            .iter()
            .any(|e| domain == *e || domain.ends_with(&format!(".{e}")))
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid pattern"))
}

/// A whole value that is an email address of a real-looking domain.
pub fn is_email(value: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    let v = value.trim();
    re(&R, r"^[A-Za-z0-9._%+\-]+@([A-Za-z0-9\-]+\.)+[A-Za-z]{2,}$").is_match(v)
        && !reserved_domain(v.rsplit('@').next().unwrap_or_default())
}

/// A whole value that is a phone number: a Japanese mobile (070/080/090, with or without
/// hyphens), a landline written with hyphens or an area code in brackets (10 digits with the
/// leading 0), a toll-free 0120 number, or +81 followed by the national number.
pub fn is_phone(value: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    let v = value.trim();
    let r = re(
        &R,
        r"^(?:0[789]0-?[0-9]{4}-?[0-9]{4}|0[0-9]{1,4}-[0-9]{1,4}-[0-9]{4}|\(0[0-9]{1,4}\) ?[0-9]{1,4}-[0-9]{4}|0120-?[0-9]{3}-?[0-9]{3}|\+81[\- ]?\(?0?\)?[0-9]{1,4}[\- ]?[0-9]{1,4}[\- ]?[0-9]{4})$",
    );
    if !r.is_match(v) {
        return false;
    }
    let national = match v.strip_prefix("+81") {
        Some(rest) => {
            let d = rest.bytes().filter(u8::is_ascii_digit).count();
            if rest.contains("(0)") {
                d
            } else {
                d + 1
            }
        }
        None => v.bytes().filter(u8::is_ascii_digit).count(),
    };
    (10..=11).contains(&national)
}

/// A whole value that is a Japanese postal code: `123-4567`, `〒1234567`, `〒123-4567`.
pub fn is_postal_code(value: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^(?:〒 ?[0-9]{3}-?[0-9]{4}|[0-9]{3}-[0-9]{4})$").is_match(value.trim())
}

fn is_kanji(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c) || c == '々' || c == 'ヶ' || c == 'ケ'
}

/// A whole value that is a postal address: Japanese (a prefecture, or a city/ward/town, then a
/// block number: 丁目, 番地, 1-2-3) or latin (a house number then a street name with its suffix).
pub fn is_address(value: &str) -> bool {
    static JA_BLOCK: OnceLock<Regex> = OnceLock::new();
    static EN: OnceLock<Regex> = OnceLock::new();
    let v = value.trim();
    if v.chars().count() > 200 {
        return false;
    }
    let ja_block = re(
        &JA_BLOCK,
        r"(?:[0-9０-９一二三四五六七八九十]+丁目|[0-9０-９]+番地?|[0-9０-９]+[-－ー‐][0-9０-９]+(?:[-－ー‐][0-9０-９]+)?|[0-9０-９]+号)",
    );
    let prefecture = dict::addresses::JA_PREFECTURES
        .iter()
        .any(|(p, _)| v.starts_with(p));
    let place = ['市', '区', '町', '村', '郡']
        .iter()
        .any(|c| v.contains(*c));
    if (prefecture || place) && ja_block.is_match(v) {
        return true;
    }
    if prefecture && v.chars().count() > 5 && place {
        return true;
    }
    let en = re(
        &EN,
        r"(?i-u)^[0-9]{1,6}[A-Z]?[\t\n\x0B\x0C\r ]+(?:[A-Z][A-Za-z.']*[\t\n\x0B\x0C\r ]+){1,4}(?:st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane|dr|drive|ct|court|way|pl|place|terrace|sq)(?-u:\b)\.?",
    );
    en.is_match(v)
}

fn ja_family_any(s: &str) -> bool {
    let f = dict::ja_family();
    f.kanji.contains(&s) || f.katakana.contains(&s) || f.hiragana.contains(&s)
}

fn ja_given_any(s: &str) -> bool {
    let g = dict::ja_given();
    g.kanji.contains(&s) || g.katakana.contains(&s) || g.hiragana.contains(&s)
}

fn latin_eq(list: &[&str], s: &str) -> bool {
    list.iter().any(|x| x.eq_ignore_ascii_case(s))
}

/// Which dictionary a latin name's words belong to, if any: romaji of Japanese names
/// (`Hanako Yamada`, `YAMADA HANAKO`) or English ones (`Ann Lee`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatinNames {
    Romaji,
    English,
}

/// How a whole value reads as a person's name, from the dictionaries: `strong` when both the
/// family and the given name are known (or a known family name and a name-shaped rest),
/// `weak` when one word is known and the value is name-shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameMatch {
    pub strong: bool,
    /// Set for latin names.
    pub latin: Option<LatinNames>,
}

fn name_shaped_latin(words: &[&str]) -> bool {
    (2..=3).contains(&words.len())
        && words.iter().all(|w| {
            w.len() >= 2
                && w.chars()
                    .all(|c| c.is_ascii_alphabetic() || c == '\'' || c == '-')
                && w.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        })
}

/// `value` as a person's name (see [`NameMatch`]), or None.
pub fn person_name(value: &str) -> Option<NameMatch> {
    let v = value.trim();
    let n = v.chars().count();
    if !(2..=40).contains(&n)
        || v.chars()
            .any(|c| c.is_ascii_digit() || "@/:#%&()".contains(c))
    {
        return None;
    }
    let words: Vec<&str> = v
        .split(|c: char| c.is_whitespace() || c == '・' || c == '　')
        .filter(|w| !w.is_empty())
        .collect();
    if v.is_ascii() {
        if !name_shaped_latin(&words) {
            return None;
        }
        let (f, g) = (dict::ja_family(), dict::ja_given());
        let romaji = |a: &str, b: &str| latin_eq(&f.latin, a) as u8 + latin_eq(&g.latin, b) as u8;
        let english = |a: &str, b: &str| {
            latin_eq(dict::en_names::FAMILY, a) as u8 + latin_eq(dict::en_names::GIVEN, b) as u8
        };
        let (first, last) = (words[0], words[words.len() - 1]);
        let ja = romaji(first, last).max(romaji(last, first));
        let en = english(last, first).max(english(first, last));
        if ja == 0 && en == 0 {
            return None;
        }
        let (latin, score) = if ja >= en {
            (LatinNames::Romaji, ja)
        } else {
            (LatinNames::English, en)
        };
        return Some(NameMatch {
            strong: score == 2,
            latin: Some(latin),
        });
    }
    // Japanese: kanji or kana only.
    if !v.chars().all(|c| {
        is_kanji(c)
            || ('\u{3040}'..='\u{30ff}').contains(&c)
            || c.is_whitespace()
            || c == '・'
            || c == '　'
    }) {
        return None;
    }
    match words.as_slice() {
        [family, given] => {
            let (f, g) = (ja_family_any(family), ja_given_any(given));
            let short = given.chars().count() <= 4 && family.chars().count() <= 4;
            (f || g).then_some(NameMatch {
                strong: f && (g || short),
                latin: None,
            })
        }
        [whole] => {
            let chars: Vec<char> = whole.chars().collect();
            if chars.len() > 6 {
                return None;
            }
            (1..chars.len())
                .find(|&i| {
                    let a: String = chars[..i].iter().collect();
                    let b: String = chars[i..].iter().collect();
                    ja_family_any(&a) && ja_given_any(&b)
                })
                .map(|_| NameMatch {
                    strong: true,
                    latin: None,
                })
        }
        _ => None,
    }
}

/// What a whole value is, the most specific kind first (a card before a phone, a postal code
/// before an address). Names count when the dictionaries know both parts.
pub fn kind_of_value(value: &str) -> Option<Kind> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if is_email(v) {
        Some(Kind::Email)
    } else if is_card(v) {
        Some(Kind::Card)
    } else if is_phone(v) {
        Some(Kind::Phone)
    } else if is_postal_code(v) {
        Some(Kind::PostalCode)
    } else if is_address(v) {
        Some(Kind::Address)
    } else if person_name(v).is_some_and(|m| m.strong) {
        Some(Kind::PersonName)
    } else {
        None
    }
}

/// What personal data a free text holds somewhere inside it: "email", "phone", "card"
/// (the kinds `text_scrub` masks, and `verify` looks for in kept columns). A card is a
/// Luhn-valid number in a card network's range: a corporate number or an IMEI is not one.
pub fn personal_data_in(text: &str) -> Vec<&'static str> {
    static RE: OnceLock<[Regex; 3]> = OnceLock::new();
    let re = RE.get_or_init(|| {
        [
            Regex::new(r"[A-Za-z0-9._%+\-]+@([A-Za-z0-9\-]+\.)+[A-Za-z]{2,}").unwrap(),
            Regex::new(
                r"(?:\+81[\- ]?\(?0?[0-9]{1,4}\)?[\- ]?[0-9]{1,4}[\- ]?[0-9]{3,4}|(?-u:\b)0[0-9]{1,4}-[0-9]{1,4}-[0-9]{3,4}(?-u:\b)|(?-u:\b)0[5789]0[0-9]{8}(?-u:\b)|\(0[0-9]{1,4}\) ?[0-9]{1,4}-[0-9]{4}|\+1[\- ]?\(?[0-9]{3}\)?[\- ]?[0-9]{3}-[0-9]{4})",
            )
            .unwrap(),
            Regex::new(r"(?-u:\b)[0-9](?:[ \-]?[0-9]){12,18}(?-u:\b)").unwrap(),
        ]
    });
    let mut out = Vec::new();
    if re[0]
        .find_iter(text)
        .any(|m| !reserved_domain(m.as_str().rsplit('@').next().unwrap_or_default()))
    {
        out.push("email");
    }
    if re[1].is_match(text) {
        out.push("phone");
    }
    if re[2].find_iter(text).any(|m| {
        let digits: Vec<u8> = m.as_str().bytes().filter(u8::is_ascii_digit).collect();
        (13..=19).contains(&digits.len()) && luhn(&digits) && card_range(&digits)
    }) {
        out.push("card");
    }
    out
}

/// A person's name written with an honorific in free text: `佐藤 花子様`, `佐藤さん`,
/// `鈴木氏`, `Mr. Taro Yamada`, `Ms. Lee`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HonorificName {
    /// Byte range of the name (without the honorific) in the text.
    pub start: usize,
    pub end: usize,
    /// Family name only (`佐藤さん`, `Mr. Yamada`), else family and given.
    pub family_only: bool,
    pub latin: bool,
}

/// A Japanese full name as a name column writes it: family and given name apart by one
/// half-width space (`佐藤　花子`, `佐藤花子` -> `佐藤 花子`, when the dictionaries can split it).
pub fn ja_full_name(name: &str) -> String {
    let words: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c == '　')
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() != 1 {
        return words.join(" ");
    }
    let whole = words[0];
    whole
        .char_indices()
        .skip(1)
        .find(|(i, _)| ja_family_any(&whole[..*i]) && ja_given_any(&whole[*i..]))
        .map(|(i, _)| format!("{} {}", &whole[..i], &whole[i..]))
        .unwrap_or_else(|| whole.to_string())
}

const HONORIFICS: &str = "様|さま|さん|氏|殿|くん|君|ちゃん|先生";

/// Every name written with an honorific in `text`. Japanese names count when the dictionary
/// knows the family name (`担当の佐藤様` finds 佐藤, not 担当の), or when written as two words
/// (`中ノ森 花子様`); latin names after Mr./Ms./Mrs./Miss/Dr.
pub fn honorific_names(text: &str) -> Vec<HonorificName> {
    static JA: OnceLock<Regex> = OnceLock::new();
    static EN: OnceLock<Regex> = OnceLock::new();
    let ja = re(
        &JA,
        &format!(
            "([\u{4e00}-\u{9fff}々ヶ]{{1,6}})(?:[ 　]([\u{4e00}-\u{9fff}々ヶ\u{3041}-\u{3096}\u{30a1}-\u{30fa}]{{1,4}}))? ?(?:{HONORIFICS})"
        ),
    );
    let en = re(
        &EN,
        r"(?-u:\b)(?:Mr|Ms|Mrs|Miss|Dr|Mx)\.? ([A-Z][a-z'\-]+(?: [A-Z][a-z'\-]+)?)",
    );
    let mut out = Vec::new();
    for c in ja.captures_iter(text) {
        let fam = c.get(1).expect("group 1 always matches");
        let run = fam.as_str();
        let starts: Vec<usize> = run.char_indices().map(|(i, _)| i).collect();
        match c.get(2) {
            Some(given) => {
                // The longest known family name ending the kanji run, else the whole run when
                // short enough to be one.
                let start = starts
                    .iter()
                    .find(|&&i| ja_family_any(&run[i..]))
                    .map(|&i| fam.start() + i)
                    .or((starts.len() <= 4).then_some(fam.start()));
                if let Some(start) = start {
                    out.push(HonorificName {
                        start,
                        end: given.end(),
                        family_only: false,
                        latin: false,
                    });
                }
            }
            None => {
                // 佐藤花子様 (a known family and given name written together) or 佐藤様.
                let found = starts.iter().find_map(|&i| {
                    let s = &run[i..];
                    let split = s
                        .char_indices()
                        .skip(1)
                        .any(|(j, _)| ja_family_any(&s[..j]) && ja_given_any(&s[j..]));
                    if split {
                        Some((i, false))
                    } else if ja_family_any(s) {
                        Some((i, true))
                    } else {
                        None
                    }
                });
                if let Some((i, family_only)) = found {
                    out.push(HonorificName {
                        start: fam.start() + i,
                        end: fam.end(),
                        family_only,
                        latin: false,
                    });
                }
            }
        }
    }
    for c in en.captures_iter(text) {
        let m = c.get(1).expect("group 1 always matches");
        out.push(HonorificName {
            start: m.start(),
            end: m.end(),
            family_only: !m.as_str().contains(' '),
            latin: true,
        });
    }
    out.sort_by_key(|h| h.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_personal_data_in_text() {
        assert_eq!(personal_data_in("mail hanako@gmail.com now"), vec!["email"]);
        assert!(personal_data_in("write to a@example.invalid").is_empty());
        assert_eq!(personal_data_in("tel 090-1234-5678"), vec!["phone"]);
        assert_eq!(personal_data_in("card 4111 1111 1111 1111."), vec!["card"]);
        assert!(personal_data_in("card 4111 1111 1111 1112").is_empty());
        assert!(personal_data_in("born 1985-07-23, id 12345").is_empty());
        assert!(
            personal_data_in("IMEI 490154203237518").is_empty(),
            "Luhn-valid, no card range"
        );
    }

    #[test]
    fn whole_values() {
        assert_eq!(kind_of_value("4111 1111 1111 1111"), Some(Kind::Card));
        assert_eq!(kind_of_value("9780306406157"), None, "an ISBN");
        assert_eq!(kind_of_value("090-1234-5678"), Some(Kind::Phone));
        assert_eq!(kind_of_value("+81 90 1234 5678"), Some(Kind::Phone));
        assert_eq!(kind_of_value("2024-01-05"), None);
        assert_eq!(kind_of_value("150-0001"), Some(Kind::PostalCode));
        assert_eq!(
            kind_of_value("東京都渋谷区神宮前1丁目2番3号"),
            Some(Kind::Address)
        );
        assert_eq!(kind_of_value("山田 花子"), Some(Kind::PersonName));
        assert_eq!(kind_of_value("HANAKO YAMADA"), Some(Kind::PersonName));
        assert_eq!(kind_of_value("Widget Pro"), None);
    }

    #[test]
    fn names_with_honorifics() {
        let t = "担当の佐藤 花子様と鈴木さん、Mr. Taro Yamada。お客様";
        let found: Vec<&str> = honorific_names(t)
            .iter()
            .map(|h| &t[h.start..h.end])
            .collect();
        assert_eq!(found, vec!["佐藤 花子", "鈴木", "Taro Yamada"]);
    }
}
