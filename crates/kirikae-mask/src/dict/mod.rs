//! Dictionaries of the transforms, written as Rust source (common names and places are facts;
//! no data file to find at run time), and the forms derived from them: katakana and latin
//! (Hepburn) from the hiragana readings. Every list is indexed the same way in Rust and in SQL
//! (MySQL `ELT`, PostgreSQL `ARRAY[...][i]`).

pub mod addresses;
pub mod en_names;
pub mod ja_names;

use std::sync::OnceLock;

/// One list of names in every script, index for index.
pub struct NameList {
    pub kanji: Vec<&'static str>,
    pub hiragana: Vec<&'static str>,
    pub katakana: Vec<&'static str>,
    pub latin: Vec<&'static str>,
}

impl NameList {
    fn from_readings(entries: &'static [(&'static str, &'static str)]) -> NameList {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        NameList {
            kanji: entries.iter().map(|e| e.0).collect(),
            hiragana: entries.iter().map(|e| e.1).collect(),
            katakana: entries.iter().map(|e| leak(katakana(e.1))).collect(),
            latin: entries.iter().map(|e| leak(romaji(e.1))).collect(),
        }
    }
    pub fn len(&self) -> usize {
        self.kanji.len()
    }
    pub fn is_empty(&self) -> bool {
        self.kanji.is_empty()
    }
}

pub fn ja_family() -> &'static NameList {
    static L: OnceLock<NameList> = OnceLock::new();
    L.get_or_init(|| NameList::from_readings(ja_names::FAMILY))
}

pub fn ja_given() -> &'static NameList {
    static L: OnceLock<NameList> = OnceLock::new();
    L.get_or_init(|| NameList::from_readings(ja_names::GIVEN))
}

/// Hiragana to katakana (other characters unchanged).
pub fn katakana(hiragana: &str) -> String {
    hiragana
        .chars()
        .map(|c| match c {
            'ぁ'..='ゖ' | 'ゝ' | 'ゞ' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
            c => c,
        })
        .collect()
}

/// Hiragana to latin letters, Hepburn as on Japanese passports (long vowels not marked:
/// さとう -> Sato, おおの -> Ono), first letter capitalised.
pub fn romaji(hiragana: &str) -> String {
    let chars: Vec<char> = hiragana.chars().collect();
    let mut out = String::with_capacity(chars.len() * 2);
    let mut i = 0;
    let mut geminate = false;
    while i < chars.len() {
        let c = chars[i];
        if c == 'っ' {
            geminate = true;
            i += 1;
            continue;
        }
        // Two-character syllables (きゃ...) first.
        let mut syllable: Option<&str> = None;
        if let Some(&next) = chars.get(i + 1) {
            if let Some(s) = youon(c, next) {
                syllable = Some(s);
                i += 1;
            }
        }
        let s = syllable.or_else(|| mora(c)).unwrap_or("");
        if geminate {
            if let Some(first) = s.chars().next() {
                out.push(if s.starts_with("ch") { 't' } else { first });
            }
            geminate = false;
        }
        if c == 'ん' {
            out.push('n');
        } else {
            // Long vowels: ou, oo, uu written as one vowel (passport style).
            let skip = matches!(
                (out.chars().last(), s),
                (Some('o'), "u" | "o") | (Some('u'), "u")
            );
            if !skip {
                out.push_str(s);
            }
        }
        i += 1;
    }
    let mut cs = out.chars();
    match cs.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + cs.as_str(),
        None => out,
    }
}

fn youon(c: char, small: char) -> Option<&'static str> {
    let base = match c {
        'き' => "ky",
        'し' => "sh",
        'ち' => "ch",
        'に' => "ny",
        'ひ' => "hy",
        'み' => "my",
        'り' => "ry",
        'ぎ' => "gy",
        'じ' => "j",
        'び' => "by",
        'ぴ' => "py",
        _ => return None,
    };
    let v = match small {
        'ゃ' => 0,
        'ゅ' => 1,
        'ょ' => 2,
        _ => return None,
    };
    const T: &[(&str, [&str; 3])] = &[
        ("ky", ["kya", "kyu", "kyo"]),
        ("sh", ["sha", "shu", "sho"]),
        ("ch", ["cha", "chu", "cho"]),
        ("ny", ["nya", "nyu", "nyo"]),
        ("hy", ["hya", "hyu", "hyo"]),
        ("my", ["mya", "myu", "myo"]),
        ("ry", ["rya", "ryu", "ryo"]),
        ("gy", ["gya", "gyu", "gyo"]),
        ("j", ["ja", "ju", "jo"]),
        ("by", ["bya", "byu", "byo"]),
        ("py", ["pya", "pyu", "pyo"]),
    ];
    T.iter().find(|(b, _)| *b == base).map(|(_, s)| s[v])
}

fn mora(c: char) -> Option<&'static str> {
    const ROWS: &[(char, &str)] = &[
        ('あ', "a"),
        ('い', "i"),
        ('う', "u"),
        ('え', "e"),
        ('お', "o"),
        ('か', "ka"),
        ('き', "ki"),
        ('く', "ku"),
        ('け', "ke"),
        ('こ', "ko"),
        ('さ', "sa"),
        ('し', "shi"),
        ('す', "su"),
        ('せ', "se"),
        ('そ', "so"),
        ('た', "ta"),
        ('ち', "chi"),
        ('つ', "tsu"),
        ('て', "te"),
        ('と', "to"),
        ('な', "na"),
        ('に', "ni"),
        ('ぬ', "nu"),
        ('ね', "ne"),
        ('の', "no"),
        ('は', "ha"),
        ('ひ', "hi"),
        ('ふ', "fu"),
        ('へ', "he"),
        ('ほ', "ho"),
        ('ま', "ma"),
        ('み', "mi"),
        ('む', "mu"),
        ('め', "me"),
        ('も', "mo"),
        ('や', "ya"),
        ('ゆ', "yu"),
        ('よ', "yo"),
        ('ら', "ra"),
        ('り', "ri"),
        ('る', "ru"),
        ('れ', "re"),
        ('ろ', "ro"),
        ('わ', "wa"),
        ('を', "o"),
        ('ん', "n"),
        ('が', "ga"),
        ('ぎ', "gi"),
        ('ぐ', "gu"),
        ('げ', "ge"),
        ('ご', "go"),
        ('ざ', "za"),
        ('じ', "ji"),
        ('ず', "zu"),
        ('ぜ', "ze"),
        ('ぞ', "zo"),
        ('だ', "da"),
        ('ぢ', "ji"),
        ('づ', "zu"),
        ('で', "de"),
        ('ど', "do"),
        ('ば', "ba"),
        ('び', "bi"),
        ('ぶ', "bu"),
        ('べ', "be"),
        ('ぼ', "bo"),
        ('ぱ', "pa"),
        ('ぴ', "pi"),
        ('ぷ', "pu"),
        ('ぺ', "pe"),
        ('ぽ', "po"),
    ];
    ROWS.iter().find(|(k, _)| *k == c).map(|(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_convert_to_katakana_and_passport_romaji() {
        assert_eq!(katakana("やまだ はなこ"), "ヤマダ ハナコ");
        assert_eq!(romaji("さとう"), "Sato");
        assert_eq!(romaji("おおの"), "Ono");
        assert_eq!(romaji("はっとり"), "Hattori");
        assert_eq!(romaji("しょうた"), "Shota");
        assert_eq!(romaji("りゅうのすけ"), "Ryunosuke");
        assert_eq!(romaji("けんいち"), "Kenichi");
        assert_eq!(romaji("ちひろ"), "Chihiro");
        assert_eq!(romaji("いつき"), "Itsuki");
    }

    #[test]
    fn every_reading_is_plain_hiragana_and_every_latin_form_is_ascii_letters() {
        for list in [ja_family(), ja_given()] {
            for (i, r) in list.hiragana.iter().enumerate() {
                assert!(
                    r.chars().all(|c| ('ぁ'..='ゖ').contains(&c)),
                    "reading {r:?} of {}",
                    list.kanji[i]
                );
                let l = list.latin[i];
                assert!(
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphabetic()),
                    "latin {l:?} of {r:?}"
                );
            }
        }
        assert!(ja_family().len() >= 200 && ja_given().len() >= 150);
        assert!(en_names::GIVEN.len() >= 150 && en_names::FAMILY.len() >= 150);
    }

    #[test]
    fn entries_have_no_quote_or_backslash_to_escape_in_sql() {
        let all = ja_names::FAMILY
            .iter()
            .chain(ja_names::GIVEN)
            .flat_map(|(a, b)| [*a, *b])
            .chain(en_names::GIVEN.iter().copied())
            .chain(en_names::FAMILY.iter().copied());
        for s in all {
            assert!(!s.contains(['\'', '\\']), "{s}");
        }
    }
}
