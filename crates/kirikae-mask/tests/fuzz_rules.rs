//! Property tests of the masking rules parser (`Rules::from_toml_str`, every transform's
//! parameter checks): whatever the file holds, it returns rules or an error whose every problem
//! has a message; it never panics. Inputs: the shipped example rules mutated at random, and
//! random rules files whose column rules name real transforms with parameters of every type and
//! extreme size.
//!
//! Budget: a fixed number of cases per property ([`CASES`]), about 10 s for the file in a debug
//! build on one core; CI runs it as part of `cargo test -p kirikae-mask --test fuzz_rules`.

use std::path::Path;

use kirikae_mask::transforms;
use kirikae_mask::Rules;
use proptest::prelude::*;
use proptest::test_runner::Config as RunnerConfig;

#[path = "../../kirikae-config/tests/text_edits/mod.rs"]
mod text_edits;
use text_edits::{apply, edit};

/// Cases per property (fixed, so the run time is too; no persisted failure files).
const CASES: u32 = 768;

fn runner() -> RunnerConfig {
    RunnerConfig {
        cases: CASES,
        failure_persistence: None,
        ..RunnerConfig::default()
    }
}

fn seed() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/masking/shop.toml");
    let mut text = std::fs::read_to_string(path).unwrap();
    // every transform once, so mutations reach each parameter check
    text.push_str(
        "\n[tables.people]\nkey = [\"id\"]\n[tables.people.columns]\nid = \"keep\"\nnote = \"null\"\n\
         code = { transform = \"fixed\", value = \"X\" }\ntoken = { transform = \"hash\", length = 16 }\n\
         mail = { transform = \"email\", domain = \"example.invalid\" }\ntel = \"phone\"\n\
         zip = \"jp_postal_code\"\nlabel = { transform = \"template\", template = \"user-{id}\" }\n\
         addr = \"address\"\njaddr = \"jp_address\"\ncard = \"card\"\nbio = \"text_scrub\"\n\
         doc = { transform = \"json\", paths = { \"$.name\" = { transform = \"person_name\" } } }\n\
         pay = { transform = \"number_noise\", absolute = 5 }\n",
    );
    text
}

fn check(text: &str) -> Result<(), TestCaseError> {
    match Rules::from_toml_str(text) {
        Ok(_) => Ok(()),
        Err(e) => {
            prop_assert!(!e.to_string().trim().is_empty());
            for p in e.problems() {
                prop_assert!(
                    !p.message.trim().is_empty(),
                    "a problem without a message: {p:?}"
                );
            }
            Ok(())
        }
    }
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("18446744073709551615".to_string()),
        Just("9223372036854775807".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("1e308".to_string()),
        Just("-0.0".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("\"\"".to_string()),
        Just("\"{\"".to_string()),
        Just("\"}{\"".to_string()),
        Just("\"{{}\"".to_string()),
        Just("\"$[\"".to_string()),
        Just("\"$..a[*]\"".to_string()),
        Just("\\u0000".to_string()),
        Just("\u{202e}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("=".to_string()),
        Just("\"".to_string()),
        Just("{".to_string()),
        Just("\n".to_string()),
        "[ -~]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| format!("{n:?}")),
    ]
}

/// Parameter names the transforms take (and a few they do not).
const PARAMS: &[&str] = &[
    "value",
    "length",
    "domain",
    "locale",
    "part",
    "template",
    "from",
    "max_days",
    "keep",
    "percent",
    "absolute",
    "paths",
    "separator",
    "with",
    "nulls",
    "digits",
    "unknown",
];

fn param_value() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(toml::Value::Integer),
        proptest::sample::select(
            &[
                0i64,
                1,
                -1,
                2,
                64,
                100,
                101,
                36500,
                36501,
                i64::MAX,
                i64::MIN
            ][..]
        )
        .prop_map(toml::Value::Integer),
        any::<f64>().prop_map(toml::Value::Float),
        proptest::sample::select(
            &[
                0.0f64,
                -0.0,
                1e-300,
                100.0,
                1e15,
                1e16,
                f64::INFINITY,
                f64::NAN
            ][..]
        )
        .prop_map(toml::Value::Float),
        any::<bool>().prop_map(toml::Value::Boolean),
        any::<String>().prop_map(toml::Value::String),
        proptest::sample::select(
            &[
                "",
                "{",
                "}",
                "{id}",
                "{{",
                "}}",
                "{name}{name}",
                "year",
                "month",
                "day",
                "en",
                "ja",
                "given",
                "family",
                "$",
                "$.a",
                "$[0]",
                "$.a[*].b",
                "$..",
                "1970-01-01",
                "not a date",
                "x@y",
                "\u{0}",
            ][..],
        )
        .prop_map(|s| toml::Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(toml::Value::Array),
            proptest::collection::btree_map("[$.a-z\\[\\]*0-9]{0,8}", inner, 0..3)
                .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
        ]
    })
}

fn column_rule() -> impl Strategy<Value = toml::Value> {
    let names = transforms::names();
    let name = prop_oneof![
        8 => proptest::sample::select(names).prop_map(str::to_string),
        1 => any::<String>().prop_map(|s| s.chars().take(10).collect()),
    ];
    prop_oneof![
        name.clone().prop_map(toml::Value::String),
        (
            name,
            proptest::collection::btree_map(proptest::sample::select(PARAMS), param_value(), 0..4)
        )
            .prop_map(|(n, params)| {
                let mut t = toml::Table::new();
                t.insert("transform".into(), toml::Value::String(n));
                for (k, v) in params {
                    t.insert(k.to_string(), v);
                }
                toml::Value::Table(t)
            }),
        param_value(),
    ]
}

fn rules_document() -> impl Strategy<Value = toml::Table> {
    let columns = proptest::collection::btree_map("[a-z_]{1,8}", column_rule(), 0..5);
    let table = (
        proptest::option::of(proptest::collection::vec(
            prop_oneof![
                "[a-z_]{1,6}".prop_map(toml::Value::String),
                any::<i64>().prop_map(toml::Value::Integer)
            ],
            0..3,
        )),
        columns,
    )
        .prop_map(|(key, columns)| {
            let mut t = toml::Table::new();
            if let Some(k) = key {
                t.insert("key".into(), toml::Value::Array(k));
            }
            t.insert(
                "columns".into(),
                toml::Value::Table(columns.into_iter().collect()),
            );
            toml::Value::Table(t)
        });
    (
        proptest::option::of(param_value()),
        proptest::collection::btree_map("[a-z_]{1,8}", table, 0..4),
    )
        .prop_map(|(version, tables)| {
            let mut doc = toml::Table::new();
            if let Some(v) = version {
                doc.insert("version".into(), v);
            }
            doc.insert(
                "tables".into(),
                toml::Value::Table(tables.into_iter().collect()),
            );
            doc
        })
}

proptest! {
    #![proptest_config(runner())]

    #[test]
    fn mutated_example_rules_never_panic(edits in proptest::collection::vec(edit(fragment().boxed()), 1..6)) {
        let mut text = seed();
        for e in &edits {
            apply(&mut text, e);
        }
        check(&text)?;
    }

    #[test]
    fn random_rules_never_panic(doc in rules_document()) {
        if let Ok(text) = toml::to_string(&doc) {
            check(&text)?;
        }
    }
}

#[test]
fn the_seed_is_valid_rules() {
    Rules::from_toml_str(&seed()).unwrap();
}
