//! `mask init`: a starter rules file from the live schema. Every column is classified from its
//! name (English and Japanese/romaji: `first_name`, `shimei`, `sei`, `mei`, `furigana`, `denwa`,
//! `yubin`, `jusho`, `seinengappi`, ...), its type and a sample of its values (emails, phone
//! numbers, postal codes, card numbers, kana), and its rule carries a comment saying why.
//! Columns nothing was detected in are `keep` with a `# review` marker.
//!
//! The file passes `check` by construction: a rule that does not fit its column's type, or that
//! would break a unique index or a foreign key, is replaced by `keep` with a `# review` comment
//! saying what to decide.

use std::collections::BTreeMap;

use crate::db::{key_of, Conn, Live};
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
}

fn keep(why: &str, review: bool) -> Proposal {
    Proposal {
        rule: "\"keep\"".into(),
        why: why.into(),
        review,
    }
}

fn rule(rule: &str, why: String) -> Proposal {
    Proposal {
        rule: rule.into(),
        why,
        review: false,
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
    static RE: OnceLock<[regex_lite::Regex; 3]> = OnceLock::new();
    let re = RE.get_or_init(|| {
        [
            regex_lite::Regex::new(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$").unwrap(),
            regex_lite::Regex::new(
                r"^(\+\d{1,3}[\- ]?)?\(?0?\d{1,4}\)?[\- ]?\d{1,4}[\- ]?\d{3,4}$",
            )
            .unwrap(),
            regex_lite::Regex::new(r"^〒?\d{3}-?\d{4}$").unwrap(),
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
        if !crate::verify::personal_data_in(s).is_empty()
            && crate::verify::personal_data_in(s).contains(&"card")
        {
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
        return keep("JSON: add per-path rules with { transform = \"json\", paths = { ... } } where it holds personal data", true);
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
        ) || l.long_text * 2 > l.n.max(1))
    {
        return rule(
            r#"{ transform = "text_scrub" }"#,
            format!(
                "free text: emails, phone and card numbers inside are masked (name: {})",
                from_name(&w)
            ),
        );
    }
    if text && (l.email + l.phone + l.card) > 0 {
        return keep(
            "some sample values look like personal data (emails, phones or cards)",
            true,
        );
    }
    keep("not detected as personal data", true)
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
    let text_cols: Vec<&Column> = table.columns.iter().filter(|c| c.kind.is_text()).collect();
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

/// The rules text for a schema and samples; downgrades to `keep` (review) whatever would not
/// pass `check`.
pub fn render(
    live: &Live,
    samples: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
    _dialect: Dialect,
    database: &str,
) -> String {
    let schema = &live.schema;
    let mut proposals: BTreeMap<(String, String), Proposal> = BTreeMap::new();
    for t in &schema.tables {
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
        for c in &t.columns {
            let s = samples
                .get(&t.name)
                .and_then(|m| m.get(&c.name))
                .cloned()
                .unwrap_or_default();
            let p = if live.extras(&t.name).generated.contains(&c.name) {
                keep(
                    "generated column: recomputed from the masked columns",
                    false,
                )
            } else {
                classify(t, c, &s, keys.contains(&&c.name))
            };
            proposals.insert((t.name.clone(), c.name.clone()), p);
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
            return text;
        }
    }
    write(schema, &proposals, database)
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
            let Some(p) = proposals.get(&(t.name.clone(), c.name.clone())) else {
                continue;
            };
            let marker = if p.review { "# review: " } else { "# " };
            out.push_str(&format!(
                "{} = {}  {marker}{} [{}]\n",
                toml_key(&c.name),
                p.rule,
                p.why.replace('\n', " "),
                c.sql_type
            ));
        }
    }
    out
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
    fn words_split_snake_and_camel_case() {
        assert_eq!(words("firstName"), vec!["first", "name"]);
        assert_eq!(words("LAST_NAME"), vec!["last", "name"]);
        assert_eq!(words("e-mail"), vec!["e", "mail"]);
    }
}
