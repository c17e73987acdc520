//! Golden tests: every transform with a SQL form gives, on the project's MariaDB and PostgreSQL,
//! exactly what its Rust form gives for the same cells.
//!
//! For each case a table holds the input values in a column of the case's type; the SQL form is
//! written into one column of that type, the Rust form (computed from the canonical text the
//! server gives for each cell, as the streaming path sees it) into another, and the two stored
//! values are compared as text; for text columns they are also compared with the Rust output.
//! Each run creates its own uniquely named database and drops it.

use std::sync::Arc;

mod common;

use kirikae_mask::prf::Prf;
use kirikae_mask::schema::{Column, ColumnKind};
use kirikae_mask::transform::{Dialect, RowView, SqlContext, Transform};

/// Other columns of every golden table (for `from` and `template`), with the rules that mask
/// them when a case's rule reads them.
const OTHERS: &[(&str, &str)] = &[
    ("name", r#"{ transform = "person_name" }"#),
    (
        "given",
        r#"{ transform = "person_name", part = "given", locale = "en" }"#,
    ),
    (
        "family",
        r#"{ transform = "person_name", part = "family", locale = "en" }"#,
    ),
    ("addr", "\"keep\""),
];

const OTHER_VALUES: &[[Option<&str>; 4]] = &[
    [
        Some("山田 花子"),
        Some("Hanako"),
        Some("Yamada"),
        Some("東京都港区芝公園4-2-8"),
    ],
    [Some("鈴木 一郎"), Some("John"), Some("O'Brien"), None],
    [None, None, Some("Smith"), Some("大阪府大阪市北区梅田1-1-1")],
    [Some("Ann Lee"), Some("Ann"), Some("Lee"), Some("1 Main St")],
];

struct Case {
    rule: &'static str,
    my_type: &'static str,
    pg_type: &'static str,
    text: bool,
    kind: ColumnKind,
    values: &'static [Option<&'static str>],
}

const TEXT_VALUES: &[Option<&str>] = &[
    Some("山田 花子"),
    Some("hanako.yamada@example.co.jp"),
    Some(""),
    None,
    Some("it's a \\ backslash"),
    Some("ヤマダ ハナコ"),
    Some("a"),
    Some("😀 emoji"),
];

const PHONES: &[Option<&str>] = &[
    Some("090-1234-5678"),
    Some("03-1234-5678"),
    Some("09012345678"),
    Some("0120-123-456"),
    Some("0312345678"),
    Some("+81-90-1234-5678"),
    Some("+81 3 1234 5678"),
    Some("+819012345678"),
    Some("(03) 1234-5678"),
    Some("０９０－１２３４－５６７８"),
    Some("045-123-4567 内線12"),
    Some("03-1234-5678 / 090-1111-2222 (mobile)"),
    Some("不明"),
    Some(""),
    Some("1"),
    None,
    // The fast path's shapes (phone.rs `Shape`), at their edges, and near misses that take the
    // general form.
    Some("03 1234 5678"),
    Some("090 1234-5678"),
    Some("0120 123 456"),
    Some("01234-5-6789"),
    Some("012345-678-9"),
    Some("123456"),
    Some("12345"),
    Some("0120-123-4567890"),
    Some("0570 0120 123456789"),
    Some("0800-1234567890-123456789"),
    Some("0800-1234567890-1234567890"),
    Some("0800-123456789-123456789"),
    Some("090-123456789012-345"),
    Some("0-1-2"),
    Some("080123456789012345"),
    Some("0801234567890123456"),
    Some("012012345678901234567890"),
    Some("0120123456789012345678901"),
    Some("050-1234-5678\n"),
    Some("03-1234-5678-9"),
    Some("090--1234"),
    Some("090-1234-"),
    Some("-090-1234"),
    Some("090-1234-5678 "),
];

const POSTAL_CODES: &[Option<&str>] = &[
    Some("105-0011"),
    Some("1050011"),
    Some("〒105-0011"),
    Some("１０５－００１１"),
    Some("105-00112345678"),
    Some("000-0000"),
    Some("9999999"),
    Some("105-0011\n"),
    Some("1050011\n"),
    Some("105-001"),
    Some("10500111"),
    Some("105 0011"),
    Some(""),
    None,
];

const DATES: &[Option<&str>] = &[
    Some("1985-07-23"),
    Some("2024-02-29"),
    Some("2000-01-01"),
    Some("1999-12-31"),
    Some("1970-01-01"),
    None,
];

const TIMESTAMPS: &[Option<&str>] = &[
    Some("2020-05-17 13:45:10"),
    Some("2024-02-29 23:59:59.999999"),
    Some("2000-01-01 00:00:00.5"),
    Some("1999-12-31 12:00:00"),
    None,
];

fn date(
    rule: &'static str,
    my_type: &'static str,
    pg_type: &'static str,
    values: &'static [Option<&'static str>],
) -> Case {
    let kind = if my_type == "date" {
        ColumnKind::Date
    } else {
        ColumnKind::DateTime
    };
    Case {
        rule,
        my_type,
        pg_type,
        text: false,
        kind,
        values,
    }
}

const INTS: &[Option<&str>] = &[
    Some("0"),
    Some("1"),
    Some("-1"),
    Some("2"),
    Some("123456"),
    Some("-987654"),
    Some("200000000"),
    None,
];

const DECIMALS: &[Option<&str>] = &[
    Some("0.00"),
    Some("0.01"),
    Some("-0.05"),
    Some("1234.56"),
    Some("-99999.99"),
    Some("1000000000.00"),
    None,
];

fn num(
    rule: &'static str,
    ty: &'static str,
    kind: ColumnKind,
    values: &'static [Option<&'static str>],
) -> Case {
    Case {
        rule,
        my_type: ty,
        pg_type: if ty == "int" { "integer" } else { ty },
        text: false,
        kind,
        values,
    }
}

fn cases() -> Vec<Case> {
    let text = |rule| Case {
        rule,
        my_type: "varchar(255)",
        pg_type: "varchar(255)",
        text: true,
        kind: ColumnKind::Text,
        values: TEXT_VALUES,
    };
    vec![
        text(r#""keep""#),
        text(r#""null""#),
        text(r#"{ transform = "fixed", value = "x'y" }"#),
        text(r#"{ transform = "hash" }"#),
        text(r#"{ transform = "hash", length = 7 }"#),
        text(r#"{ transform = "hash", alphabet = "digits", length = 5 }"#),
        text(r#"{ transform = "hash", alphabet = "digits", length = 20 }"#),
        text(r#"{ transform = "hash", alphabet = "digits", length = 36 }"#),
        text(r#"{ transform = "person_name" }"#),
        text(r#"{ transform = "person_name", part = "family" }"#),
        text(r#"{ transform = "person_name", part = "given", script = "hiragana" }"#),
        text(r#"{ transform = "person_name", script = "katakana", from = "name" }"#),
        text(r#"{ transform = "person_name", script = "latin", from = "name" }"#),
        text(r#"{ transform = "person_name", locale = "en", separator = ", " }"#),
        text(r#"{ transform = "email" }"#),
        text(r#"{ transform = "email", domain = "keep", length = 32 }"#),
        text(r#"{ transform = "email", domain = "staging.example.com" }"#),
        Case {
            values: PHONES,
            ..text(r#"{ transform = "phone" }"#)
        },
        Case {
            values: POSTAL_CODES,
            ..text(r#"{ transform = "jp_postal_code" }"#)
        },
        text(r#"{ transform = "jp_address" }"#),
        text(r#"{ transform = "jp_address", part = "prefecture", from = "addr" }"#),
        text(r#"{ transform = "jp_address", part = "city", from = "addr" }"#),
        text(r#"{ transform = "jp_address", part = "street", from = "addr" }"#),
        text(r#"{ transform = "address" }"#),
        text(r#"{ transform = "address", part = "street", from = "addr" }"#),
        text(r#"{ transform = "address", part = "postal_code" }"#),
        text(r#"{ transform = "address", part = "state", from = "addr" }"#),
        text(r#"{ transform = "template", template = "{given}.{family}@example.invalid" }"#),
        text(r#"{ transform = "template", template = "{name} ({addr}) {{x}}" }"#),
        date(
            r#"{ transform = "date_shift", max_days = 30 }"#,
            "date",
            "date",
            DATES,
        ),
        date(
            r#"{ transform = "date_shift", max_days = 400 }"#,
            "datetime(6)",
            "timestamp(6)",
            TIMESTAMPS,
        ),
        date(
            r#"{ transform = "date_shift", max_days = 2 }"#,
            "datetime",
            "timestamp",
            TIMESTAMPS,
        ),
        date(
            r#"{ transform = "date_generalize", keep = "year" }"#,
            "date",
            "date",
            DATES,
        ),
        date(
            r#"{ transform = "date_generalize", keep = "month" }"#,
            "date",
            "date",
            DATES,
        ),
        date(
            r#"{ transform = "date_generalize", keep = "month" }"#,
            "datetime(6)",
            "timestamp(6)",
            TIMESTAMPS,
        ),
        num(
            r#"{ transform = "number_noise", percent = 10 }"#,
            "int",
            ColumnKind::Integer,
            INTS,
        ),
        num(
            r#"{ transform = "number_noise", absolute = 3 }"#,
            "bigint",
            ColumnKind::Integer,
            INTS,
        ),
        num(
            r#"{ transform = "number_noise", percent = 37.5 }"#,
            "decimal(12,2)",
            ColumnKind::Decimal { scale: 2 },
            DECIMALS,
        ),
        num(
            r#"{ transform = "number_noise", absolute = 0.5 }"#,
            "decimal(12,2)",
            ColumnKind::Decimal { scale: 2 },
            DECIMALS,
        ),
        Case {
            rule: r#"{ transform = "hash", alphabet = "digits", length = 12 }"#,
            my_type: "bigint",
            pg_type: "bigint",
            text: false,
            kind: ColumnKind::Integer,
            values: &[Some("1"), Some("-42"), None, Some("9007199254740993")],
        },
    ]
}

fn build(rule: &str) -> Arc<dyn Transform> {
    let t: toml::Table = toml::from_str(&format!("r = {rule}")).expect("rule is TOML");
    kirikae_mask::transforms::build(&t["r"]).unwrap_or_else(|e| panic!("{rule}: {e}"))
}

/// The SQL expression of a case's rule, with the other columns' rules available for `template`.
fn sql_of(t: &dyn Transform, dialect: Dialect, prf: &Prf, column: &str) -> Option<String> {
    let others: Vec<(String, Arc<dyn Transform>)> = OTHERS
        .iter()
        .map(|(c, r)| (c.to_string(), build(r)))
        .collect();
    let original = |c: &str| dialect.ident(c);
    let masked = |c: &str| -> Option<String> {
        let (_, t) = others.iter().find(|(n, _)| n == c)?;
        if t.is_keep() {
            return None;
        }
        let ident = dialect.ident(c);
        let ctx = SqlContext {
            dialect,
            prf,
            column: &ident,
            original: &original,
            masked: &|_| None,
        };
        t.sql(&ctx)
    };
    let ident = dialect.ident(column);
    let ctx = SqlContext {
        dialect,
        prf,
        column: &ident,
        original: &original,
        masked: &masked,
    };
    t.sql(&ctx)
}

/// The Rust form for one row, given the canonical texts of the row's cells.
fn rust_of(
    t: &dyn Transform,
    prf: &Prf,
    value: Option<&str>,
    others: &[Option<String>],
) -> Option<String> {
    let mut columns: Vec<String> = OTHERS.iter().map(|(c, _)| c.to_string()).collect();
    columns.push("c".into());
    let mut original: Vec<Option<&str>> = others.iter().map(|o| o.as_deref()).collect();
    original.push(value);
    let mut masked: Vec<Option<Option<String>>> = Vec::new();
    for (i, (_, r)) in OTHERS.iter().enumerate() {
        let o = build(r);
        masked.push(if o.is_keep() {
            None
        } else {
            Some(o.apply(original[i], &RowView::EMPTY, prf))
        });
    }
    masked.push(None);
    let row = RowView {
        columns: &columns,
        original: &original,
        masked: &masked,
    };
    t.apply(value, &row, prf)
}

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("kirikae_golden_{}_{nanos}", std::process::id())
}

fn lit(d: Dialect, v: Option<&str>) -> String {
    match v {
        Some(s) => d.string_literal(s),
        None => "NULL".into(),
    }
}

/// One engine's connection, reduced to what the test needs.
#[allow(async_fn_in_trait)]
trait Db {
    fn dialect(&self) -> Dialect;
    async fn exec(&mut self, sql: &str);
    async fn rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>>;
}

struct My(mysql_async::Conn);
struct Pg(tokio_postgres::Client);

impl Db for My {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }
    async fn exec(&mut self, sql: &str) {
        use mysql_async::prelude::Queryable;
        self.0
            .query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("MariaDB: {e}\n{sql}"));
    }
    async fn rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        use mysql_async::prelude::Queryable;
        let rows: Vec<mysql_async::Row> = self
            .0
            .query(sql)
            .await
            .unwrap_or_else(|e| panic!("MariaDB: {e}\n{sql}"));
        rows.into_iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| match r.as_ref(i) {
                        Some(mysql_async::Value::NULL) | None => None,
                        Some(mysql_async::Value::Bytes(b)) => {
                            Some(String::from_utf8(b.clone()).expect("utf-8"))
                        }
                        Some(v) => Some(v.as_sql(true)),
                    })
                    .collect()
            })
            .collect()
    }
}

impl Db for Pg {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
    async fn exec(&mut self, sql: &str) {
        self.0
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL: {e:?}\n{sql}"));
    }
    async fn rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        // The simple query protocol returns every value as text.
        let msgs = self
            .0
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL: {e:?}\n{sql}"));
        msgs.into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect()
    }
}

async fn run_cases(db: &mut impl Db, cases: &[Case]) -> usize {
    let d = db.dialect();
    let prf = Prf::from_secret(b"golden key");
    let mut compared = 0;
    for (n, case) in cases.iter().enumerate() {
        let t = build(case.rule);
        let column = Column {
            name: "c".into(),
            sql_type: case.my_type.into(),
            kind: case.kind.clone(),
            nullable: true,
            max_chars: None,
        };
        t.check(&column)
            .unwrap_or_else(|e| panic!("{}: {e}", case.rule));
        let Some(expr) = sql_of(t.as_ref(), d, &prf, "c") else {
            panic!("{} has no SQL form", case.rule)
        };
        let ty = match d {
            Dialect::MySql => case.my_type,
            Dialect::Postgres => case.pg_type,
        };
        let table = format!("g{n}");
        let other_cols: Vec<String> = OTHERS
            .iter()
            .map(|(c, _)| format!("{} varchar(200)", d.ident(c)))
            .collect();
        db.exec(&format!(
            "CREATE TABLE {table} (id int PRIMARY KEY, c {ty} NULL, {}, s {ty} NULL, r {ty} NULL)",
            other_cols.join(", ")
        ))
        .await;
        for (i, v) in case.values.iter().enumerate() {
            let o = &OTHER_VALUES[i % OTHER_VALUES.len()];
            let others: Vec<String> = o.iter().map(|x| lit(d, *x)).collect();
            db.exec(&format!(
                "INSERT INTO {table} (id, c, {}) VALUES ({i}, {}, {})",
                OTHERS
                    .iter()
                    .map(|(c, _)| d.ident(c))
                    .collect::<Vec<_>>()
                    .join(", "),
                lit(d, *v),
                others.join(", ")
            ))
            .await;
        }
        db.exec(&format!("UPDATE {table} SET s = {expr}")).await;
        let select_others: Vec<String> = OTHERS.iter().map(|(c, _)| d.ident(c)).collect();
        let rows = db
            .rows(&format!(
                "SELECT id, {}, {} FROM {table} ORDER BY id",
                d.as_text("c"),
                select_others.join(", ")
            ))
            .await;
        let mut expected = Vec::new();
        for row in &rows {
            let id = row[0].clone().expect("id");
            let r = rust_of(t.as_ref(), &prf, row[1].as_deref(), &row[2..]);
            db.exec(&format!(
                "UPDATE {table} SET r = {} WHERE id = {id}",
                lit(d, r.as_deref())
            ))
            .await;
            expected.push((row[1].clone(), r));
        }
        let got = db
            .rows(&format!(
                "SELECT {}, {} FROM {table} ORDER BY id",
                d.as_text("s"),
                d.as_text("r")
            ))
            .await;
        assert_eq!(got.len(), case.values.len());
        for (g, (input, rust)) in got.iter().zip(&expected) {
            assert_eq!(
                g[0], g[1],
                "{d:?}: {} on {input:?}: SQL gave {:?}, Rust gave {:?}",
                case.rule, g[0], g[1]
            );
            if case.text {
                assert_eq!(&g[0], rust, "{d:?}: {} on {input:?}", case.rule);
            }
            compared += 1;
        }
    }
    compared
}

#[tokio::test]
async fn sql_forms_match_rust_forms_on_mariadb() {
    use mysql_async::prelude::Queryable;
    let name = unique_name();
    let server = common::server(Dialect::MySql);
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(server.host.clone())
        .tcp_port(server.port)
        .user(Some(server.user.clone()));
    let mut conn = mysql_async::Conn::new(opts.clone())
        .await
        .unwrap_or_else(|e| panic!("the private MariaDB ({server:?}; scripts/db status): {e}"));
    conn.query_drop(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
        .await
        .unwrap();
    let mut db = My(mysql_async::Conn::new(opts.db_name(Some(name.clone())))
        .await
        .unwrap());
    db.exec("SET NAMES utf8mb4").await;
    let cases = cases();
    let result = tokio::spawn(async move {
        let n = run_cases(&mut db, &cases).await;
        (n, cases.len())
    })
    .await;
    conn.query_drop(format!("DROP DATABASE {name}"))
        .await
        .unwrap();
    let (n, c) = result.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    assert!(n >= 4 * c, "compared {n} values");
}

#[tokio::test]
async fn sql_forms_match_rust_forms_on_postgresql() {
    let name = unique_name();
    let server = common::server(Dialect::Postgres);
    let connect = |db: &str| {
        let db = db.to_string();
        let server = server.clone();
        async move {
            let (client, conn) = tokio_postgres::connect(
                &format!(
                    "host={} port={} user={} dbname={db}",
                    server.host, server.port, server.user
                ),
                tokio_postgres::NoTls,
            )
            .await
            .unwrap_or_else(|e| {
                panic!("the private PostgreSQL ({server:?}; scripts/db status): {e}")
            });
            tokio::spawn(conn);
            client
        }
    };
    let admin = connect("postgres").await;
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0"
        ))
        .await
        .unwrap();
    let mut db = Pg(connect(&name).await);
    let cases = cases();
    let result = tokio::spawn(async move {
        let n = run_cases(&mut db, &cases).await;
        drop(db);
        (n, cases.len())
    })
    .await;
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
    let (n, c) = result.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    assert!(n >= 4 * c, "compared {n} values");
}

/// Every registered transform is either covered here or declared Rust-only (and then has no SQL
/// form, so the planner streams its table).
#[test]
fn every_transform_has_a_golden_case_or_no_sql_form() {
    const RUST_ONLY: &[(&str, &str)] = &[
        ("card", r#""card""#),
        ("text_scrub", r#""text_scrub""#),
        (
            "json",
            r#"{ transform = "json", paths = { "$.a" = "email" } }"#,
        ),
    ];
    let covered: Vec<String> = cases()
        .iter()
        .map(|c| build(c.rule).name().to_string())
        .collect();
    let prf = Prf::from_secret(b"k");
    for name in kirikae_mask::transforms::names() {
        if let Some((_, rule)) = RUST_ONLY.iter().find(|(n, _)| *n == name) {
            let t = build(rule);
            assert!(
                sql_of(t.as_ref(), Dialect::MySql, &prf, "c").is_none(),
                "{name} has a SQL form: give it golden cases"
            );
        } else {
            assert!(
                covered.iter().any(|c| c == name),
                "no golden case for {name}"
            );
        }
    }
}
