//! Property tests of the config parser: whatever the file holds, `Config::from_str` returns a
//! config or an error with a message; it never panics. Two sources of input:
//!
//! * the shipped example (with a `[refresh]` section added) mutated at random: bytes deleted,
//!   text inserted (control and right-to-left characters, huge numbers, TOML syntax), lines
//!   duplicated or swapped;
//! * random TOML documents whose keys are mostly kirikae's own, with values of every type and
//!   extreme size.
//!
//! Budget: a fixed number of cases per property ([`CASES`]), about 10 s for the file in a debug
//! build on one core; CI runs it as part of `cargo test -p kirikae-config`. A failing case is
//! shrunk and printed by proptest; add it to `errors.rs` as a regression test when fixing it.

use std::path::{Path, PathBuf};

use kirikae_config::Config;
use proptest::prelude::*;
use proptest::test_runner::Config as RunnerConfig;

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

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// examples/kirikae.toml with a refresh using the example masking rules (so every validation,
/// the refresh's included, is reached before mutation).
fn seed() -> String {
    let text = std::fs::read_to_string(examples().join("kirikae.toml")).unwrap();
    format!(
        "{text}\n[refresh.staging]\nmasking = \"masking/shop.toml\"\nkeep_retired = 1\n\
         switch = {{ method = \"cname\", zone = \"Z123\", record = \"db.staging.internal\" }}\n\
         tunnel = \"ssh -N -L {{local_port}}:{{host}}:{{port}} bastion\"\ntunnel_wait_seconds = 60\n\
         tls = \"verify-full\"\nca_bundle = \"masking/shop.toml\"\n\
         [refresh.staging.source]\naccount = \"prod\"\ncluster = \"shop-prod\"\nkms_key = \"alias/snap\"\n\
         [refresh.staging.target]\naccount = \"dev\"\ncluster = \"staging\"\nsubnet_group = \"staging-db\"\n\
         security_groups = [\"sg-0123456789abcdef0\"]\ninstance_class = \"db.t4g.medium\"\n\
         [refresh.staging.budget]\ncopy_minutes = 240\nstep_minutes = 60\n"
    )
}

/// The result must be a config or an error that says something, for every problem.
fn check(text: &str) -> Result<(), TestCaseError> {
    match Config::from_str(text, &examples().join("kirikae.toml")) {
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

/// Text worth inserting: TOML syntax, numbers at and past every integer limit, characters
/// that hide what a name is, paths.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("18446744073709551615".to_string()),
        Just("9223372036854775807".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("4294967296".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("1e400".to_string()),
        Just("nan".to_string()),
        Just("\"\"".to_string()),
        Just("\\u0000".to_string()),
        Just("\u{202e}".to_string()),
        Just("\u{2067}".to_string()),
        Just("../../etc".to_string()),
        Just("\n[refresh.\"../x\"]\n".to_string()),
        Just("\n[accounts.x]\nid = \"111111111111\"\nrole = \"ops\"\n".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("=".to_string()),
        Just("\"".to_string()),
        Just("'''".to_string()),
        Just("{".to_string()),
        Just(".".to_string()),
        Just("\n".to_string()),
        "[ -~]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

/// kirikae's own keys, so random documents get past "unknown key" often.
const KEYS: &[&str] = &[
    "aws",
    "region",
    "endpoint_url",
    "jump",
    "profile",
    "credentials_file",
    "config_file",
    "mfa_serial",
    "mfa_command",
    "mfa_session_hours",
    "session_name",
    "state",
    "dir",
    "accounts",
    "prod",
    "dev",
    "id",
    "role",
    "alias",
    "protected",
    "refresh",
    "staging",
    "source",
    "target",
    "account",
    "cluster",
    "kms_key",
    "subnet_group",
    "security_groups",
    "instance_class",
    "parameter_group",
    "strategy",
    "switch",
    "method",
    "zone",
    "record",
    "masking",
    "connect",
    "via",
    "keep_retired",
    "budget",
    "copy_minutes",
    "step_minutes",
    "mask_in",
    "sweep",
    "tag",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => proptest::sample::select(KEYS).prop_map(str::to_string),
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

fn leaf() -> impl Strategy<Value = toml::Value> {
    prop_oneof![
        any::<i64>().prop_map(toml::Value::Integer),
        proptest::sample::select(&[0i64, 1, -1, 12, 36, 37, 240, i64::MAX, i64::MIN][..])
            .prop_map(toml::Value::Integer),
        any::<f64>().prop_map(toml::Value::Float),
        any::<bool>().prop_map(toml::Value::Boolean),
        any::<String>().prop_map(toml::Value::String),
        proptest::sample::select(
            &[
                "",
                "ap-northeast-1",
                "111111111111",
                "ops",
                "shop-prod",
                "staging",
                "auto",
                "clone",
                "snapshot",
                "source",
                "rename",
                "cname",
                "masking/shop.toml",
                "arn:aws:iam::111111111111:role/ops",
                "http://127.0.0.1:5000",
                "a\u{0}b",
                "\u{202e}prod",
            ][..]
        )
        .prop_map(|s| toml::Value::String(s.to_string())),
    ]
}

fn document() -> impl Strategy<Value = toml::Table> {
    let value = leaf().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            proptest::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
        ]
    });
    proptest::collection::btree_map(key(), value, 0..8).prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(runner())]

    #[test]
    fn a_mutated_example_never_panics(edits in proptest::collection::vec(edit(fragment().boxed()), 1..6)) {
        let mut text = seed();
        for e in &edits {
            apply(&mut text, e);
        }
        check(&text)?;
    }

    #[test]
    fn a_random_document_never_panics(doc in document()) {
        // Some documents cannot be written as TOML (a NaN key path, say): nothing to test then.
        if let Ok(text) = toml::to_string(&doc) {
            check(&text)?;
        }
    }
}

#[test]
fn the_seed_is_a_valid_config() {
    Config::from_str(&seed(), &examples().join("kirikae.toml")).unwrap();
}
