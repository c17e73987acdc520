//! `mask init`: a starter rules file from the live schema. Every column is classified from its
//! name (English and Japanese/romaji: `first_name`, `shimei`, `sei`, `mei`, `furigana`, `denwa`,
//! `yubin`, `jusho`, `seinengappi`, ...), its type and a sample of its values (emails, phone
//! numbers, postal codes, card numbers, kana), and its rule carries a comment saying why.
//! Columns nothing was detected in are `keep` with a `# review` marker. JSON columns get a rule
//! per path holding personal data (their sampled documents read at every depth), free text
//! holding contact data gets `text_scrub`; the detectors are [`crate::detect`]'s.
//!
//! [`update`] adds suggestions for what an existing rules file lacks without touching its
//! lines; [`suggest`] names the rule for each problem `check` reports (a refresh stopped by
//! the rules says them).
//!
//! The file passes `check` by construction: a rule that does not fit its column's type, or that
//! would break a unique index or a foreign key, is replaced by `keep` with a `# review` comment
//! saying what to decide.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::check::Problem;
use crate::db::{key_of, Conn, Live};
use crate::detect;
use crate::rules::Rules;
use crate::schema::{Column, ColumnKind, Table};
use crate::transform::Dialect;

/// One column's proposed rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The rule as TOML (`"keep"` or an inline table).
    pub rule: String,
    pub why: String,
    pub review: bool,
    /// Lines written as comments above the rule (a JSON column's paths, each with why).
    pub detail: Vec<String>,
}

fn keep(why: &str, review: bool) -> Proposal {
    Proposal {
        rule: "\"keep\"".into(),
        why: why.into(),
        review,
        detail: Vec::new(),
    }
}

fn rule(rule: &str, why: String) -> Proposal {
    Proposal {
        rule: rule.into(),
        why,
        review: false,
        detail: Vec::new(),
    }
}

/// The words of a column name: `firstName`, `first_name`, `FIRST-NAME` -> [first, name].
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn has(w: &[String], any: &[&str]) -> bool {
    w.iter().any(|x| any.contains(&x.as_str()))
}

/// What the sample values look like.
#[derive(Debug, Default, Clone, Copy)]
struct Looks {
    n: usize,
    email: usize,
    phone: usize,
    postal: usize,
    card: usize,
    kana: usize,
    hiragana: usize,
    cjk: usize,
    /// Contains characters (spaces, several words) of free text.
    long_text: usize,
}

impl Looks {
    fn mostly(&self, k: usize) -> bool {
        self.n > 0 && k * 10 >= self.n * 8
    }
}

fn looks(samples: &[String]) -> Looks {
    use std::sync::OnceLock;
    static RE: OnceLock<[regex::Regex; 3]> = OnceLock::new();
    let re = RE.get_or_init(|| {
        [
            regex::Regex::new(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$").unwrap(),
            regex::Regex::new(
                r"^(\+[0-9]{1,3}[\- ]?)?\(?0?[0-9]{1,4}\)?[\- ]?[0-9]{1,4}[\- ]?[0-9]{3,4}$",
            )
            .unwrap(),
            regex::Regex::new(r"^〒?[0-9]{3}-?[0-9]{4}$").unwrap(),
        ]
    });
    let mut l = Looks::default();
    for s in samples {
        let s = s.trim();
        if s.is_empty() {
            continue;
        }
        l.n += 1;
        if re[0].is_match(s) {
            l.email += 1;
        }
        let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
        if re[2].is_match(s) {
            l.postal += 1;
        } else if re[1].is_match(s) && (10..=13).contains(&digits) && s.starts_with(['0', '+', '('])
        {
            l.phone += 1;
        }
        if detect::personal_data_in(s).contains(&"card") {
            l.card += 1;
        }
        let letters: Vec<char> = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '・')
            .collect();
        if !letters.is_empty()
            && letters
                .iter()
                .all(|c| ('\u{30a0}'..='\u{30ff}').contains(c))
        {
            l.kana += 1;
        }
        if !letters.is_empty()
            && letters
                .iter()
                .all(|c| ('\u{3040}'..='\u{309f}').contains(c) || *c == 'ー')
        {
            l.hiragana += 1;
        }
        if s.chars().any(|c| {
            ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3040}'..='\u{30ff}').contains(&c)
        }) {
            l.cjk += 1;
        }
        if s.split_whitespace().count() >= 4 || s.chars().count() > 60 {
            l.long_text += 1;
        }
    }
    l
}

const PERSON_TABLES: &[&str] = &[
    "user",
    "users",
    "customer",
    "customers",
    "member",
    "members",
    "employee",
    "employees",
    "person",
    "persons",
    "people",
    "staff",
    "contact",
    "contacts",
    "account",
    "accounts",
    "patient",
    "patients",
    "student",
    "students",
    "kokyaku",
    "kaiin",
    "shain",
    "profile",
    "profiles",
];

/// The rule proposed for one column from its name, type and sample values.
pub fn classify(table: &Table, column: &Column, samples: &[String], is_key: bool) -> Proposal {
    let w = words(&column.name);
    let tw = words(&table.name);
    let l = looks(samples);
    let inside = Inside::of(samples);
    let text = column.kind.is_text();
    let temporal = column.kind.is_temporal();
    let ja = l.cjk > 0;
    let locale = if ja
        || (l.n == 0
            && has(
                &w,
                &["shimei", "simei", "sei", "mei", "namae", "furigana", "kana"],
            )) {
        "ja"
    } else {
        "en"
    };
    let from_name = |w: &[String]| -> String { w.join(", ") };
    // What a rule was proposed from: the sample values when they mostly look the part, else
    // the column's name.
    let seen_in = |values: bool| -> String {
        if values {
            "values".into()
        } else {
            format!("name: {}", from_name(&w))
        }
    };
    // Keys are kept: their values are identifiers, joined on by other tables.
    let emailish = has(
        &w,
        &["email", "mail", "emailaddress", "mailaddress", "meruado"],
    ) || (text && l.mostly(l.email));
    if is_key && !emailish {
        return keep("key column (joins other tables)", false);
    }
    if let ColumnKind::Json = column.kind {
        return json_rules(samples);
    }
    if !text && !temporal {
        if has(&w, &["card", "cardno", "credit"]) {
            return keep(
                "looks like a card number but is not a text column: mask it by hand",
                true,
            );
        }
        return keep("not detected as personal data", true);
    }
    if text && emailish {
        return rule(
            r#"{ transform = "email" }"#,
            format!("email (from the {})", seen_in(l.mostly(l.email))),
        );
    }
    let person_table = tw.iter().any(|t| PERSON_TABLES.contains(&t.as_str()));
    let kana_word = has(
        &w,
        &[
            "kana", "furigana", "yomi", "yomigana", "katakana", "hiragana",
        ],
    );
    if text && (kana_word || (l.mostly(l.kana) && has(&w, &["name", "shimei", "sei", "mei"]))) {
        let script = if l.n > 0 && l.hiragana * 2 > l.n {
            "hiragana"
        } else {
            "katakana"
        };
        let part = if has(&w, &["sei", "last", "family", "surname"]) {
            ", part = \"family\""
        } else if has(&w, &["mei", "first", "given"]) {
            ", part = \"given\""
        } else {
            ""
        };
        // The kanji column this reading belongs to: the same name without the kana word.
        let base: Vec<&str> = column
            .name
            .split('_')
            .filter(|p| {
                ![
                    "kana", "furigana", "yomi", "yomigana", "katakana", "hiragana",
                ]
                .contains(&p.to_ascii_lowercase().as_str())
            })
            .collect();
        let base = base.join("_");
        let from = table
            .columns
            .iter()
            .find(|c| c.name != column.name && c.name == base && c.kind.is_text())
            .map(|c| format!(", from = \"{}\"", c.name))
            .unwrap_or_default();
        return rule(
            &format!("{{ transform = \"person_name\", locale = \"ja\", script = \"{script}\"{part}{from} }}"),
            format!("name reading in {script} (name: {})", from_name(&w)),
        );
    }
    let name_word = has(
        &w,
        &[
            "name",
            "shimei",
            "simei",
            "namae",
            "fullname",
            "surname",
            "firstname",
            "lastname",
        ],
    );
    let not_person = has(
        &w,
        &[
            "dept",
            "department",
            "product",
            "item",
            "company",
            "shop",
            "store",
            "brand",
            "file",
            "host",
            "table",
            "column",
            "category",
            "title",
            "role",
            "group",
            "team",
            "org",
            "organization",
            "city",
            "street",
            "country",
            "prefecture",
            "bank",
            "branch",
            "display",
            "user",
            "login",
            "screen",
            "domain",
            "type",
            "kind",
            "status",
            "project",
            "app",
        ],
    );
    if text
        && !not_person
        && (has(&w, &["first", "given", "mei", "firstname"]) && (name_word || w.len() == 1))
    {
        return rule(
            &format!("{{ transform = \"person_name\", locale = \"{locale}\", part = \"given\" }}"),
            format!("given name (name: {})", from_name(&w)),
        );
    }
    if text
        && !not_person
        && (has(&w, &["last", "family", "surname", "sei", "lastname"])
            && (name_word || w.len() == 1))
    {
        return rule(
            &format!("{{ transform = \"person_name\", locale = \"{locale}\", part = \"family\" }}"),
            format!("family name (name: {})", from_name(&w)),
        );
    }
    if text
        && !not_person
        && (has(&w, &["shimei", "simei", "namae", "fullname"])
            || (name_word
                && (person_table || has(&w, &["full", "customer", "member", "contact", "person"]))))
    {
        return rule(
            &format!("{{ transform = \"person_name\", locale = \"{locale}\" }}"),
            format!(
                "full name (name: {}{})",
                from_name(&w),
                if person_table {
                    format!(", in table {}", table.name)
                } else {
                    String::new()
                }
            ),
        );
    }
    if text
        && (has(
            &w,
            &[
                "tel",
                "phone",
                "denwa",
                "mobile",
                "keitai",
                "fax",
                "telno",
                "phonenumber",
                "cellphone",
            ],
        ) || l.mostly(l.phone))
    {
        return rule(
            r#"{ transform = "phone" }"#,
            format!("phone number ({})", seen_in(l.mostly(l.phone))),
        );
    }
    if text
        && (has(
            &w,
            &[
                "zip",
                "zipcode",
                "postal",
                "postcode",
                "yubin",
                "yuubin",
                "yubinbango",
            ],
        ) || (l.mostly(l.postal) && has(&w, &["code", "no"])))
    {
        if ja || l.mostly(l.postal) || has(&w, &["yubin", "yuubin", "yubinbango"]) {
            return rule(
                r#"{ transform = "jp_postal_code" }"#,
                format!("Japanese postal code (name: {})", from_name(&w)),
            );
        }
        return rule(
            r#"{ transform = "address", part = "postal_code" }"#,
            format!("postal code (name: {})", from_name(&w)),
        );
    }
    if text
        && has(
            &w,
            &[
                "address",
                "addr",
                "jusho",
                "juusho",
                "jyusho",
                "street",
                "city",
                "pref",
                "prefecture",
                "todofuken",
                "shikuchoson",
                "banchi",
            ],
        )
    {
        let jp = ja
            || has(
                &w,
                &[
                    "jusho",
                    "juusho",
                    "jyusho",
                    "pref",
                    "prefecture",
                    "todofuken",
                    "shikuchoson",
                    "banchi",
                ],
            );
        let part = if has(&w, &["pref", "prefecture", "todofuken", "state"]) {
            if jp {
                "prefecture"
            } else {
                "state"
            }
        } else if has(&w, &["city", "shikuchoson"]) {
            "city"
        } else if has(&w, &["street", "banchi"]) {
            "street"
        } else {
            "full"
        };
        let t = if jp { "jp_address" } else { "address" };
        return rule(
            &format!("{{ transform = \"{t}\", part = \"{part}\" }}"),
            format!(
                "{} address, {part} (name: {})",
                if jp { "Japanese" } else { "street" },
                from_name(&w)
            ),
        );
    }
    if temporal
        && has(
            &w,
            &[
                "birth",
                "birthday",
                "birthdate",
                "dob",
                "seinengappi",
                "tanjobi",
                "tanjoubi",
                "born",
            ],
        )
    {
        return rule(
            r#"{ transform = "date_generalize", keep = "year" }"#,
            format!("birth date: keep the year only (name: {})", from_name(&w)),
        );
    }
    if text && (has(&w, &["card", "cardno", "creditcard", "cc", "pan"]) || l.mostly(l.card)) {
        return rule(
            r#"{ transform = "card" }"#,
            format!("payment card number ({})", seen_in(l.mostly(l.card))),
        );
    }
    if text
        && has(
            &w,
            &[
                "password", "passwd", "pwd", "secret", "token", "apikey", "salt",
            ],
        )
    {
        let len = column.max_chars.map(|m| m.min(32)).unwrap_or(32);
        return rule(
            &format!("{{ transform = \"hash\", length = {len} }}"),
            format!("secret (name: {})", from_name(&w)),
        );
    }
    if text
        && (has(
            &w,
            &[
                "note",
                "notes",
                "memo",
                "comment",
                "comments",
                "remark",
                "remarks",
                "biko",
                "bikou",
                "description",
                "message",
                "body",
                "inquiry",
                "naiyo",
                "naiyou",
                "free",
            ],
        ) || l.long_text * 2 > l.n.max(1)
            || (free_text(column) && !inside.is_empty()))
    {
        let why = if inside.is_empty() {
            format!(
                "free text: emails, phone and card numbers inside are masked (name: {})",
                from_name(&w)
            )
        } else {
            format!(
                "free text: sampled values hold {}; text_scrub masks them and names written \
                 with an honorific (name: {})",
                inside.describe(l.n),
                from_name(&w)
            )
        };
        return rule(r#"{ transform = "text_scrub" }"#, why);
    }
    if text && (l.email + l.phone + l.card) > 0 {
        return keep(
            "some sample values look like personal data (emails, phones or cards)",
            true,
        );
    }
    keep("not detected as personal data", true)
}

/// Free text by its type: `text` types, or a `varchar` of 100 characters or more.
fn free_text(column: &Column) -> bool {
    column.kind.is_text() && column.max_chars.is_none_or(|m| m >= 100)
}

/// How many sampled values hold an email, a phone or a card number somewhere inside them.
#[derive(Debug, Default)]
struct Inside {
    email: usize,
    phone: usize,
    card: usize,
}

impl Inside {
    fn of(samples: &[String]) -> Inside {
        let mut i = Inside::default();
        for s in samples {
            for k in detect::personal_data_in(s) {
                match k {
                    "email" => i.email += 1,
                    "phone" => i.phone += 1,
                    _ => i.card += 1,
                }
            }
        }
        i
    }
    fn is_empty(&self) -> bool {
        self.email + self.phone + self.card == 0
    }
    /// "emails (3 of 200 values), phone numbers (5 of 200 values)".
    fn describe(&self, n: usize) -> String {
        [
            ("emails", self.email),
            ("phone numbers", self.phone),
            ("card numbers", self.card),
        ]
        .iter()
        .filter(|(_, k)| *k > 0)
        .map(|(what, k)| format!("{what} ({k} of {n} values)"))
        .collect::<Vec<_>>()
        .join(", ")
    }
}

/// The leaf values of sampled JSON documents by path (`$.card.number`, `$.items[*].email`),
/// in the order first seen; keys a path cannot name (with `.`, `[`, `]`) are listed apart.
#[derive(Debug, Default)]
struct JsonLeaves {
    documents: usize,
    not_json: usize,
    paths: Vec<(String, Vec<String>)>,
    unnamed: Vec<String>,
}

impl JsonLeaves {
    fn of(samples: &[String]) -> JsonLeaves {
        let mut out = JsonLeaves::default();
        for s in samples {
            match serde_json::from_str::<serde_json::Value>(s) {
                Ok(v) => {
                    out.documents += 1;
                    out.walk("$".to_string(), &v);
                }
                Err(_) => out.not_json += 1,
            }
        }
        out
    }

    fn walk(&mut self, path: String, v: &serde_json::Value) {
        use serde_json::Value;
        let leaf = match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k.is_empty() || k.contains(['.', '[', ']']) {
                        if !self.unnamed.contains(k) {
                            self.unnamed.push(k.clone());
                        }
                        continue;
                    }
                    self.walk(format!("{path}.{k}"), x);
                }
                return;
            }
            Value::Array(a) => {
                for x in a {
                    self.walk(format!("{path}[*]"), x);
                }
                return;
            }
            Value::Null => return,
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if path == "$" {
            return;
        }
        match self.paths.iter_mut().find(|(p, _)| *p == path) {
            Some((_, vs)) => vs.push(leaf),
            None => self.paths.push((path, vec![leaf])),
        }
    }
}

/// The rule for one JSON path from its key and its values, with why; None: keep.
fn json_path_rule(path: &str, values: &[String]) -> Option<(String, String)> {
    let keys: Vec<String> = path
        .split(['.', '['])
        .filter(|k| !k.is_empty() && *k != "$" && *k != "*]")
        .map(str::to_string)
        .collect();
    let last = keys.last().map(|k| words(k)).unwrap_or_default();
    let parent = if keys.len() >= 2 {
        words(&keys[keys.len() - 2])
    } else {
        Vec::new()
    };
    let n = values.iter().filter(|v| !v.trim().is_empty()).count();
    if n == 0 {
        return None;
    }
    let count = |f: &dyn Fn(&str) -> bool| values.iter().filter(|v| f(v)).count();
    let share = |k: usize| format!("{k} of {n} values");
    let most = |k: usize| k * 2 >= n && k > 0;
    let cards = count(&detect::is_card);
    if most(cards)
        || (cards > 0 && (has(&last, &["pan", "cardno"]) || has(&parent, &["card", "cc"])))
    {
        return Some((
            "\"card\"".into(),
            format!("card number, Luhn-valid ({})", share(cards)),
        ));
    }
    let emails = count(&detect::is_email);
    if most(emails) || (emails > 0 && has(&last, &["email", "mail"])) {
        return Some((
            r#"{ transform = "email" }"#.into(),
            format!("email ({})", share(emails)),
        ));
    }
    let phones = count(&detect::is_phone);
    if most(phones) || (phones > 0 && has(&last, &["phone", "tel", "mobile", "denwa", "fax"])) {
        return Some((
            "\"phone\"".into(),
            format!("phone number ({})", share(phones)),
        ));
    }
    let postal = count(&detect::is_postal_code);
    if most(postal) || (postal > 0 && has(&last, &["zip", "postal", "yubin", "postcode"])) {
        return Some((
            "\"jp_postal_code\"".into(),
            format!("postal code ({})", share(postal)),
        ));
    }
    let addresses = count(&detect::is_address);
    if most(addresses) || (addresses > 0 && has(&last, &["address", "addr", "jusho", "street"])) {
        let ja = values.iter().any(|v| !v.is_ascii());
        let rule = if ja {
            r#"{ transform = "jp_address", part = "full" }"#
        } else {
            r#"{ transform = "address", part = "full" }"#
        };
        return Some((rule.into(), format!("address ({})", share(addresses))));
    }
    // Names: both parts known to the dictionaries, or one part under a key that says name.
    let name_key = has(
        &last,
        &[
            "name",
            "holder",
            "cardholder",
            "shimei",
            "namae",
            "fullname",
            "kanji",
            "kana",
        ],
    ) && !has(
        &parent,
        &[
            "product", "item", "shop", "store", "company", "plan", "file",
        ],
    );
    let matches: Vec<detect::NameMatch> = values
        .iter()
        .filter_map(|v| detect::person_name(v))
        .filter(|m| m.strong || name_key)
        .collect();
    if most(matches.len()) {
        let latin = matches.iter().filter(|m| m.latin.is_some()).count();
        let romaji = matches
            .iter()
            .filter(|m| m.latin == Some(detect::LatinNames::Romaji))
            .count();
        let kana = values
            .iter()
            .filter(|v| {
                v.chars()
                    .all(|c| ('\u{30a0}'..='\u{30ff}').contains(&c) || c.is_whitespace())
            })
            .count();
        let rule = if latin * 2 > matches.len() {
            if romaji * 2 >= latin {
                r#"{ transform = "person_name", script = "latin" }"#
            } else {
                r#"{ transform = "person_name", locale = "en" }"#
            }
        } else if kana * 2 > n {
            r#"{ transform = "person_name", script = "katakana" }"#
        } else {
            r#"{ transform = "person_name" }"#
        };
        return Some((
            rule.into(),
            format!("person name ({})", share(matches.len())),
        ));
    }
    None
}

/// A JSON column's proposal: a `json` rule with a rule per path holding personal data, every
/// other path kept and listed with why.
fn json_rules(samples: &[String]) -> Proposal {
    let leaves = JsonLeaves::of(samples);
    if leaves.documents == 0 {
        return keep(
            "JSON: no document sampled; add { transform = \"json\", paths = { ... } } for the paths holding personal data",
            true,
        );
    }
    let mut paths = Vec::new();
    let mut detail = Vec::new();
    for (path, values) in &leaves.paths {
        match json_path_rule(path, values) {
            Some((rule, why)) => {
                detail.push(format!("{path}: {rule}  # {why}"));
                paths.push(format!("{} = {rule}", toml_key(path)));
            }
            None => detail.push(format!(
                "{path}: kept, no personal data found in {} values",
                values.len()
            )),
        }
    }
    for k in &leaves.unnamed {
        detail.push(format!(
            "key {k:?}: kept, a path cannot name it (review: mask it in the application)"
        ));
    }
    let sampled = format!(
        "{} documents sampled{}",
        leaves.documents,
        if leaves.not_json > 0 {
            format!(", {} values not JSON", leaves.not_json)
        } else {
            String::new()
        }
    );
    if paths.is_empty() {
        let mut p = keep(
            &format!(
                "JSON: no personal data found at any of its {} paths ({sampled})",
                leaves.paths.len()
            ),
            true,
        );
        p.detail = detail;
        return p;
    }
    let mut p = rule(
        &format!(
            "{{ transform = \"json\", paths = {{ {} }} }}",
            paths.join(", ")
        ),
        format!(
            "JSON: personal data at {} of {} paths ({sampled}; every path listed above)",
            paths.len(),
            leaves.paths.len()
        ),
    );
    p.detail = detail;
    p
}

fn toml_key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

async fn samples(conn: &mut Conn, table: &Table, n: usize) -> BTreeMap<String, Vec<String>> {
    let d = conn.dialect();
    let text_cols: Vec<&Column> = table
        .columns
        .iter()
        .filter(|c| c.kind.is_text() || c.kind == ColumnKind::Json)
        .collect();
    let mut out = BTreeMap::new();
    if text_cols.is_empty() {
        return out;
    }
    let select: Vec<String> = text_cols.iter().map(|c| d.ident(&c.name)).collect();
    let sql = format!(
        "SELECT {} FROM {} LIMIT {n}",
        select.join(", "),
        d.ident(&table.name)
    );
    // A sample that cannot be read (binary data in a text column...) only means less evidence.
    let rows = conn.rows(&sql).await.unwrap_or_default();
    for (i, c) in text_cols.iter().enumerate() {
        out.insert(
            c.name.clone(),
            rows.iter().filter_map(|r| r[i].clone()).collect(),
        );
    }
    out
}

/// The proposal for each column of `table` (keys kept, generated columns kept, the rest
/// classified from name, type and samples), in the table's column order.
fn propose_table(
    live: &Live,
    t: &Table,
    samples: &BTreeMap<String, Vec<String>>,
) -> Vec<(String, Proposal)> {
    let schema = &live.schema;
    let keys: Vec<&String> = t
        .primary_key
        .iter()
        .chain(t.foreign_keys.iter().flat_map(|f| f.columns.iter()))
        .chain(
            schema
                .referencing(&t.name)
                .into_iter()
                .flat_map(|f| f.referenced_columns.iter()),
        )
        .collect();
    t.columns
        .iter()
        .map(|c| {
            let s = samples.get(&c.name).cloned().unwrap_or_default();
            let p = if live.extras(&t.name).generated.contains(&c.name) {
                keep(
                    "generated column: recomputed from the masked columns",
                    false,
                )
            } else {
                classify(t, c, &s, keys.contains(&&c.name))
            };
            (c.name.clone(), p)
        })
        .collect()
}

/// A problem of the rules against the live schema, with the column's type and the rule
/// `init` would write for it (refresh names these when the rules stop it; `init --update`
/// writes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub problem: Problem,
    /// The column's type as the server reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql_type: Option<String>,
    /// The rule `init` proposes (TOML), when the problem is about one column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

impl std::fmt::Display for Suggestion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.problem;
        match &p.column {
            Some(c) => write!(f, "{}.{c}", p.table)?,
            None => write!(f, "{}", p.table)?,
        }
        if let Some(t) = &self.sql_type {
            write!(f, " ({t})")?;
        }
        write!(f, ": {} [{}]", p.message, p.id)?;
        if let (Some(c), Some(rule)) = (&p.column, &self.rule) {
            write!(
                f,
                "; init suggests `{} = {rule}` ({})",
                toml_key(c),
                self.why.as_deref().unwrap_or("-")
            )?;
        }
        Ok(())
    }
}

/// Each problem with the rule `init` would propose for its column, from the live schema and
/// `sample_rows` sampled rows. A table without rules gives one suggestion per column.
pub async fn suggest(
    conn: &mut Conn,
    problems: &[Problem],
    sample_rows: usize,
) -> Result<Vec<Suggestion>, crate::db::DbError> {
    let live = conn.introspect().await?;
    let mut proposed: BTreeMap<String, Vec<(String, Proposal)>> = BTreeMap::new();
    let mut out = Vec::new();
    for p in problems {
        let Some(t) = live.schema.tables.iter().find(|t| t.name == p.table) else {
            out.push(Suggestion {
                problem: p.clone(),
                sql_type: None,
                rule: None,
                why: None,
            });
            continue;
        };
        if !proposed.contains_key(&t.name) {
            let s = samples(conn, t, sample_rows).await;
            proposed.insert(t.name.clone(), propose_table(&live, t, &s));
        }
        let table_proposals = &proposed[&t.name];
        let columns: Vec<&Column> = match &p.column {
            Some(c) => t.columns.iter().filter(|x| &x.name == c).collect(),
            None if p.id == "table_without_rules" => t.columns.iter().collect(),
            None => Vec::new(),
        };
        if columns.is_empty() {
            out.push(Suggestion {
                problem: p.clone(),
                sql_type: None,
                rule: None,
                why: None,
            });
        }
        for c in columns {
            let proposal = table_proposals
                .iter()
                .find(|(n, _)| *n == c.name)
                .map(|(_, pr)| pr);
            let mut problem = p.clone();
            problem.column = Some(c.name.clone());
            out.push(Suggestion {
                problem,
                sql_type: Some(c.sql_type.clone()),
                rule: proposal.map(|pr| pr.rule.clone()),
                why: proposal.map(|pr| {
                    if pr.review {
                        format!("review: {}", pr.why)
                    } else {
                        pr.why.clone()
                    }
                }),
            });
        }
    }
    Ok(out)
}

/// Writes the starter rules (TOML text) for the live schema.
pub async fn init(
    conn: &mut Conn,
    database: &str,
    sample_rows: usize,
) -> Result<String, crate::db::DbError> {
    let live = conn.introspect().await?;
    let mut samples_by_table = BTreeMap::new();
    for t in &live.schema.tables {
        samples_by_table.insert(t.name.clone(), samples(conn, t, sample_rows).await);
    }
    Ok(render(&live, &samples_by_table, conn.dialect(), database))
}

/// What `init --update` did to a rules file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Update {
    /// The file's new text: the old text with lines added, nothing changed or removed.
    pub text: String,
    /// `table.column` of each rule added (inside tables the file already had).
    pub columns: Vec<String>,
    /// Tables added whole.
    pub tables: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("the rules file is not TOML: {0}")]
    NotToml(String),
    #[error(
        "[tables.{0}] has no `[tables.{0}.columns]` section to add to (its columns are written \
         another way): add the new columns' rules by hand ({1})"
    )]
    NoColumnsSection(String, String),
}

const UPDATE_NOTE: &str = "new column, added by `kirikae mask init --update`: ";

/// `init --update`: the rules file `existing` with a suggested rule (marked `# review`) for
/// every column of the live schema it has no rule for, and a section for every table it lacks.
/// Every existing line stays as it is, in its place (comments and order too).
pub async fn update(
    conn: &mut Conn,
    existing: &str,
    database: &str,
    sample_rows: usize,
) -> Result<Update, UpdateError> {
    let file: toml::Table =
        toml::from_str(existing).map_err(|e| UpdateError::NotToml(e.to_string()))?;
    let live = conn.introspect().await?;
    let missing = missing_columns(&file, &live);
    let mut samples_by_table = BTreeMap::new();
    for t in &live.schema.tables {
        if missing.iter().any(|(table, _)| *table == t.name) {
            samples_by_table.insert(t.name.clone(), samples(conn, t, sample_rows).await);
        }
    }
    render_update(&live, &samples_by_table, existing, database)
}

/// (table, column) of the live schema without a rule in `file`; column None: the whole table.
fn missing_columns(file: &toml::Table, live: &Live) -> Vec<(String, Option<String>)> {
    let tables = file.get("tables").and_then(|t| t.as_table());
    let mut out = Vec::new();
    for t in &live.schema.tables {
        let Some(tt) = tables
            .and_then(|x| x.get(&t.name))
            .and_then(|x| x.as_table())
        else {
            out.push((t.name.clone(), None));
            continue;
        };
        let cols = tt.get("columns").and_then(|c| c.as_table());
        for c in &t.columns {
            if !cols.is_some_and(|cs| cs.contains_key(&c.name)) {
                out.push((t.name.clone(), Some(c.name.clone())));
            }
        }
    }
    out
}

/// The update of `existing` from the schema and samples (see [`update`]).
pub fn render_update(
    live: &Live,
    samples: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
    existing: &str,
    database: &str,
) -> Result<Update, UpdateError> {
    let file: toml::Table =
        toml::from_str(existing).map_err(|e| UpdateError::NotToml(e.to_string()))?;
    let missing = missing_columns(&file, live);
    let proposals = checked_proposals(live, samples, database);
    let mut lines: Vec<String> = existing.lines().map(str::to_string).collect();
    let mut update = Update {
        text: String::new(),
        columns: Vec::new(),
        tables: Vec::new(),
    };
    let mut appended = String::new();
    for t in &live.schema.tables {
        let cols: Vec<&String> = missing
            .iter()
            .filter(|(table, _)| *table == t.name)
            .filter_map(|(_, c)| c.as_ref())
            .collect();
        if missing
            .iter()
            .any(|(table, c)| *table == t.name && c.is_none())
        {
            write_table(&mut appended, t, &proposals, UPDATE_NOTE);
            update.tables.push(t.name.clone());
            continue;
        }
        if cols.is_empty() {
            continue;
        }
        let mut added = String::new();
        for c in t.columns.iter().filter(|c| cols.contains(&&c.name)) {
            if let Some(p) = proposals.get(&(t.name.clone(), c.name.clone())) {
                write_column(&mut added, c, p, UPDATE_NOTE);
                update.columns.push(format!("{}.{}", t.name, c.name));
            }
        }
        // After the last rule of the table's `[tables.T.columns]` section.
        let header = format!("[tables.{}.columns]", toml_key(&t.name));
        let Some(start) = lines.iter().position(|l| {
            l.trim_start()
                .strip_prefix(header.as_str())
                .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
        }) else {
            return Err(UpdateError::NoColumnsSection(
                t.name.clone(),
                added
                    .lines()
                    .filter(|l| !l.starts_with('#'))
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
        };
        let mut end = lines[start + 1..]
            .iter()
            .position(|l| l.trim_start().starts_with('['))
            .map_or(lines.len(), |i| start + 1 + i);
        while end > start + 1 && lines[end - 1].trim().is_empty() {
            end -= 1;
        }
        let new: Vec<String> = added.lines().map(str::to_string).collect();
        lines.splice(end..end, new);
    }
    let mut text = lines.join("\n");
    if existing.ends_with('\n') || !appended.is_empty() {
        text.push('\n');
    }
    if text.ends_with("\n\n") {
        text.push_str(appended.trim_start_matches('\n'));
    } else {
        text.push_str(&appended);
    }
    update.text = text;
    Ok(update)
}

/// The rules text for a schema and samples; downgrades to `keep` (review) whatever would not
/// pass `check`.
pub fn render(
    live: &Live,
    samples: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
    _dialect: Dialect,
    database: &str,
) -> String {
    write(
        &live.schema,
        &checked_proposals(live, samples, database),
        database,
    )
}

type Proposals = BTreeMap<(String, String), Proposal>;

/// Every column's proposal, downgraded to `keep` (review) where `check` would refuse it.
fn checked_proposals(
    live: &Live,
    samples: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
    database: &str,
) -> Proposals {
    let schema = &live.schema;
    let mut proposals: BTreeMap<(String, String), Proposal> = BTreeMap::new();
    for t in &schema.tables {
        let none = BTreeMap::new();
        for (c, p) in propose_table(live, t, samples.get(&t.name).unwrap_or(&none)) {
            proposals.insert((t.name.clone(), c), p);
        }
    }
    // Downgrade what `check` refuses, until it accepts (each round only removes transforms).
    for _ in 0..8 {
        let text = write(schema, &proposals, database);
        let rules = match Rules::from_toml_str(&text) {
            Ok(r) => r,
            Err(e) => {
                for p in e.problems() {
                    let parts: Vec<&str> = p.key.split('.').collect();
                    if let [_, t, _, c] = parts.as_slice() {
                        if let Some(pr) = proposals.get_mut(&(t.to_string(), c.to_string())) {
                            *pr = keep(
                                &format!("the proposed rule was refused: {}", p.message),
                                true,
                            );
                        }
                    }
                }
                continue;
            }
        };
        let problems = crate::check::check(&rules, schema);
        let mut changed = false;
        for p in &problems {
            let Some(c) = &p.column else { continue };
            if let Some(pr) = proposals.get_mut(&(p.table.clone(), c.clone())) {
                if pr.rule != "\"keep\"" {
                    *pr = keep(
                        &format!("{} was proposed ({}), but {}", pr.rule, pr.why, p.message),
                        true,
                    );
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    proposals
}

fn write(
    schema: &crate::schema::Schema,
    proposals: &BTreeMap<(String, String), Proposal>,
    database: &str,
) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# kirikae masking rules for {database}, written by `kirikae mask init`.\n\
         # Every column of every table has a rule: a transform, or \"keep\". Each rule says why it\n\
         # was chosen; decide the lines marked `# review`, then run `kirikae mask check`.\n\
         # The secret key is never here: set $KIRIKAE_MASK_KEY or pass --key-file.\n\
         version = 1\n"
    ));
    for t in &schema.tables {
        write_table(&mut out, t, proposals, "");
    }
    out
}

/// One table's section: its key and a line per column (the `# review` ones prefixed with
/// `review_note` after the marker).
fn write_table(out: &mut String, t: &Table, proposals: &Proposals, review_note: &str) {
    out.push_str(&format!("\n[tables.{}]\n", toml_key(&t.name)));
    if t.primary_key.is_empty() {
        let unique_not_null = t
            .unique
            .iter()
            .find(|u| u.iter().all(|c| t.column(c).is_some_and(|c| !c.nullable)));
        match unique_not_null {
                Some(u) => out.push_str(&format!(
                    "key = [{}]  # no primary key: this unique NOT NULL index is used to copy the table by ranges\n",
                    u.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
                )),
                None => out.push_str(
                    "# review: no primary key and no unique NOT NULL index: add one to the table, \
                     then `key = [\"...\"]` here\n",
                ),
            }
    } else {
        out.push_str(&format!(
            "# key: the primary key ({})\n",
            key_of(t, None).join(", ")
        ));
    }
    out.push_str(&format!("[tables.{}.columns]\n", toml_key(&t.name)));
    for c in &t.columns {
        if let Some(p) = proposals.get(&(t.name.clone(), c.name.clone())) {
            write_column(out, c, p, review_note);
        }
    }
}

/// A column's rule line, after the comment lines of its detail.
fn write_column(out: &mut String, c: &Column, p: &Proposal, review_note: &str) {
    let marker = if p.review || !review_note.is_empty() {
        format!("# review: {review_note}")
    } else {
        "# ".to_string()
    };
    for d in &p.detail {
        out.push_str(&format!("#   {}.{d}\n", c.name));
    }
    out.push_str(&format!(
        "{} = {}  {marker}{} [{}]\n",
        toml_key(&c.name),
        p.rule,
        p.why.replace('\n', " "),
        c.sql_type
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, kind: ColumnKind) -> Column {
        Column {
            name: name.into(),
            sql_type: "varchar(100)".into(),
            kind,
            nullable: true,
            max_chars: Some(100),
        }
    }

    fn table(name: &str, cols: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: cols.iter().map(|c| col(c, ColumnKind::Text)).collect(),
            primary_key: vec![],
            unique: vec![],
            foreign_keys: vec![],
            rows_estimate: 0,
        }
    }

    fn rule_of(t: &Table, c: &str, samples: &[&str]) -> String {
        let s: Vec<String> = samples.iter().map(|s| s.to_string()).collect();
        classify(t, t.column(c).unwrap(), &s, false).rule
    }

    #[test]
    fn names_in_english_and_romaji() {
        let t = table(
            "customers",
            &[
                "first_name",
                "lastName",
                "shimei",
                "shimei_kana",
                "sei",
                "mei",
                "dept_name",
                "name",
            ],
        );
        assert!(rule_of(&t, "first_name", &[]).contains("part = \"given\""));
        assert!(rule_of(&t, "lastName", &[]).contains("part = \"family\""));
        assert!(rule_of(&t, "shimei", &["山田 花子"]).contains("locale = \"ja\""));
        let kana = rule_of(&t, "shimei_kana", &["ヤマダ ハナコ"]);
        assert!(
            kana.contains("katakana") && kana.contains("from = \"shimei\""),
            "{kana}"
        );
        assert!(rule_of(&t, "sei", &["山田"]).contains("family"));
        assert!(rule_of(&t, "mei", &["花子"]).contains("given"));
        assert_eq!(rule_of(&t, "dept_name", &["Sales"]), "\"keep\"");
        assert!(rule_of(&t, "name", &["Ann Lee"]).contains("person_name"));
    }

    #[test]
    fn contact_data_by_name_and_by_values() {
        let t = table("t", &["mail", "denwa", "yubin", "jusho", "x", "y", "biko"]);
        assert!(rule_of(&t, "mail", &[]).contains("email"));
        assert!(rule_of(&t, "denwa", &[]).contains("phone"));
        assert!(rule_of(&t, "yubin", &[]).contains("jp_postal_code"));
        assert!(rule_of(&t, "jusho", &[]).contains("jp_address"));
        assert!(rule_of(&t, "x", &["a@b.co.jp", "c@d.com"]).contains("email"));
        assert!(rule_of(&t, "y", &["090-1234-5678", "03-1234-5678"]).contains("phone"));
        assert!(rule_of(&t, "biko", &[]).contains("text_scrub"));
        let p = classify(&t, t.column("x").unwrap(), &["hello".into()], false);
        assert!(p.review);
    }

    #[test]
    fn birth_dates_keep_the_year() {
        let mut t = table("people", &[]);
        t.columns.push(col("seinengappi", ColumnKind::Date));
        t.columns.push(col("birth_date", ColumnKind::Date));
        assert!(rule_of(&t, "seinengappi", &[]).contains("date_generalize"));
        assert!(rule_of(&t, "birth_date", &[]).contains("date_generalize"));
    }

    #[test]
    fn json_columns_get_a_rule_per_path_holding_personal_data() {
        let mut t = table("reservations", &[]);
        t.columns.push(col("payment", ColumnKind::Json));
        let docs: Vec<String> = [
            r#"{"method":"card","card":{"brand":"VISA","number":"4111111111111111","holder":"HANAKO YAMADA","expiry":"05/27"},"billing":{"name":"山田 花子","email":"hanako@gmail.com"},"amount":1200,"charge_id":"ch_00ab"}"#,
            r#"{"method":"card","card":{"brand":"JCB","number":"3530111333300000","holder":"TARO SUZUKI","expiry":"01/28"},"billing":{"name":"鈴木 太郎","email":"taro@yahoo.co.jp"},"amount":300,"charge_id":"ch_99ff"}"#,
            r#"{"method":"wallet","wallet":{"provider":"PayPay","phone":"090-1234-5678"},"billing":{"name":"佐藤 一郎","email":"ichiro@docomo.ne.jp"},"items":[{"to":"〒150-0001 "},{"to":"530-0001"}]}"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let p = classify(&t, t.column("payment").unwrap(), &docs, false);
        assert!(!p.review, "{p:?}");
        for path in [
            r#""$.card.number" = "card""#,
            r#""$.card.holder" = { transform = "person_name", script = "latin" }"#,
            r#""$.billing.name" = { transform = "person_name" }"#,
            r#""$.billing.email" = { transform = "email" }"#,
            r#""$.wallet.phone" = "phone""#,
            r#""$.items[*].to" = "jp_postal_code""#,
        ] {
            assert!(p.rule.contains(path), "{path} missing from {}", p.rule);
        }
        for kept in [
            "$.method",
            "$.card.brand",
            "$.card.expiry",
            "$.amount",
            "$.charge_id",
        ] {
            assert!(!p.rule.contains(kept), "{kept} in {}", p.rule);
            assert!(
                p.detail
                    .iter()
                    .any(|d| d.starts_with(&format!("{kept}: kept, no personal data"))),
                "{kept}: {:?}",
                p.detail
            );
        }
        // The rule is valid and masks the documents.
        let rules = Rules::from_toml_str(&format!(
            "[tables.r]\nkey = [\"id\"]\n[tables.r.columns]\npayment = {}",
            p.rule
        ))
        .unwrap();
        let prf = crate::prf::Prf::from_secret(b"k");
        let masked = rules
            .table("r")
            .unwrap()
            .column("payment")
            .unwrap()
            .transform
            .apply_one(Some(docs[0].as_str()), &prf)
            .unwrap();
        for secret in [
            "4111111111111111",
            "HANAKO YAMADA",
            "山田 花子",
            "hanako@gmail.com",
        ] {
            assert!(!masked.contains(secret), "{secret} in {masked}");
        }
        assert!(
            masked.contains("05/27") && masked.contains("VISA"),
            "{masked}"
        );
        // Documents with nothing personal stay kept, for review, saying so.
        let p = classify(
            &t,
            t.column("payment").unwrap(),
            &[r#"{"a":1,"b":"x"}"#.into()],
            false,
        );
        assert!(
            p.review && p.rule == "\"keep\"" && p.why.contains("no personal data"),
            "{p:?}"
        );
    }

    #[test]
    fn free_text_holding_contact_data_is_scrubbed_and_says_why() {
        let mut t = table("orders", &[]);
        let mut c = col("extra", ColumnKind::Text);
        c.max_chars = None;
        t.columns.push(c);
        let samples: Vec<String> = [
            "到着が遅れる場合は 090-1234-5678 までご連絡ください。",
            "領収書は hanako@gmail.com 宛にお願いします。",
            "軽自動車です。",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let p = classify(&t, t.column("extra").unwrap(), &samples, false);
        assert_eq!(p.rule, r#"{ transform = "text_scrub" }"#);
        assert!(
            p.why.contains("emails (1 of 3 values)")
                && p.why.contains("phone numbers (1 of 3 values)"),
            "{p:?}"
        );
        // A short code column with a phone-shaped value is not free text: kept for review.
        let mut short = table("orders", &["ref"]);
        short.columns[0].max_chars = Some(20);
        let p = classify(
            &short,
            short.column("ref").unwrap(),
            &["090-1234-5678 x".into(), "a".into(), "b".into(), "c".into()],
            false,
        );
        assert!(p.review, "{p:?}");
    }

    #[test]
    fn words_split_snake_and_camel_case() {
        assert_eq!(words("firstName"), vec!["first", "name"]);
        assert_eq!(words("LAST_NAME"), vec!["last", "name"]);
        assert_eq!(words("e-mail"), vec!["e", "mail"]);
    }
}
