//! Every mistake a person makes in kirikae.toml is refused with the file, the key path, the line
//! and what was expected.

use std::path::Path;

use kirikae_config::{locate, Config, ConfigError, ConfigSource};

const GOOD: &str = r#"
[aws]
region = "ap-northeast-1"

[jump]
profile = "jump"
mfa_serial = "arn:aws:iam::000000000000:mfa/your-user-name"

[accounts.prod]
id = "111111111111"
role = "ops"
alias = "shop-prod"
protected = true

[accounts.dev]
id = "222222222222"
role = "ops"

[sweep]
tag = "kirikae:sweep"
"#;

fn path() -> &'static Path {
    Path::new("/srv/team/kirikae.toml")
}

fn error_of(text: &str) -> ConfigError {
    match Config::from_str(text, path()) {
        Ok(_) => panic!("accepted a bad config:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn a_good_config_loads_with_defaults() {
    let c = Config::from_str(GOOD, path()).unwrap();
    assert_eq!(c.aws.region, "ap-northeast-1");
    assert_eq!(c.accounts.len(), 2);
    assert!(c.accounts["prod"].protected);
    assert!(!c.accounts["dev"].protected);
    assert_eq!(
        c.accounts["prod"].role_arn(),
        "arn:aws:iam::111111111111:role/ops"
    );
    assert_eq!(c.jump.mfa_session_hours, 12);
    assert_eq!(c.sweep.tag, "kirikae:sweep");
    // Looked up by name, alias or id.
    assert_eq!(c.account("shop-prod").unwrap().0, "prod");
    assert_eq!(c.account("222222222222").unwrap().0, "dev");
    assert!(c.account("staging").is_none());
}

#[test]
fn unknown_key_names_the_key_path_and_line() {
    let text = GOOD.replace("protected = true", "protectd = true");
    let e = error_of(&text);
    let msg = e.to_string();
    assert!(msg.contains("/srv/team/kirikae.toml"), "{msg}");
    let p = &e.problems()[0];
    assert_eq!(p.key, "accounts.prod.protectd", "{msg}");
    assert_eq!(p.line, Some(13), "{msg}");
    assert!(p.message.contains("unknown key `protectd`"), "{msg}");
    assert!(
        p.message.contains("`protected`"),
        "lists what is allowed: {msg}"
    );
}

#[test]
fn unknown_section_is_refused() {
    let e = error_of(&format!("{GOOD}\n[acounts.x]\nid = \"1\"\n"));
    assert!(
        e.problems()[0].message.contains("unknown key `acounts`"),
        "{e}"
    );
}

#[test]
fn wrong_type_says_what_was_expected() {
    let text = GOOD.replace("protected = true", "protected = \"yes\"");
    let e = error_of(&text);
    let p = &e.problems()[0];
    assert_eq!(p.key, "accounts.prod.protected", "{e}");
    assert_eq!(p.line, Some(13), "{e}");
    assert!(p.message.contains("expected a boolean"), "{e}");
}

#[test]
fn account_id_must_be_twelve_digits() {
    let text = GOOD.replace("\"111111111111\"", "\"11111111111\"");
    let e = error_of(&text);
    let p = &e.problems()[0];
    assert_eq!(p.key, "accounts.prod.id", "{e}");
    assert_eq!(p.line, Some(10), "{e}");
    assert!(p.message.contains("12-digit"), "{e}");
    assert!(
        p.message.contains("\"11111111111\""),
        "shows what was found: {e}"
    );
}

#[test]
fn account_id_as_integer_says_to_quote_it() {
    let text = GOOD.replace("\"222222222222\"", "22222222222");
    let e = error_of(&text);
    let p = &e.problems()[0];
    assert_eq!(p.key, "accounts.dev.id", "{e}");
    assert!(p.message.contains("\"022222222222\" in quotes"), "{e}");
}

#[test]
fn missing_required_key_is_named() {
    let text = GOOD.replace("role = \"ops\"\nalias", "alias");
    let e = error_of(&text);
    let p = &e.problems()[0];
    assert!(
        p.message.contains("`role` is required in [accounts.prod]"),
        "{e}"
    );
}

#[test]
fn refresh_naming_an_unknown_account_lists_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.toml"), "").unwrap();
    let text = format!(
        "{GOOD}\n[refresh.staging]\nsource = {{ account = \"production\", cluster = \"shop-prod\" }}\n\
         target = {{ account = \"stg\", cluster = \"shop-staging\", subnet_group = \"staging-db\", instance_class = \"db.r6g.large\" }}\n\
         masking = \"shop.toml\"\n"
    );
    let e = Config::from_str(&text, &dir.path().join("kirikae.toml")).unwrap_err();
    let keys: Vec<&str> = e.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "refresh.staging.source.account",
            "refresh.staging.target.account"
        ],
        "{e}"
    );
    assert!(e.problems()[0].message.contains("known: dev, prod"), "{e}");
    assert!(e.problems()[0].line.is_some(), "{e}");
}

#[test]
fn refresh_with_missing_rules_is_refused_and_a_protected_target_is_left_to_confirm() {
    let text = format!(
        "{GOOD}\n[refresh.staging]\nsource = {{ account = \"dev\", cluster = \"a\" }}\n\
         target = {{ account = \"prod\", cluster = \"b\", subnet_group = \"s\", instance_class = \"db.r6g.large\" }}\n\
         masking = \"masking/nope.toml\"\n"
    );
    let e = error_of(&text);
    let msgs: Vec<String> = e.problems().iter().map(|p| p.to_string()).collect();
    // A protected target is not a config error: `kirikae refresh run` asks for --confirm <alias>.
    assert!(
        !msgs
            .iter()
            .any(|m| m.contains("refresh.staging.target.account")),
        "{e}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("refresh.staging.masking")
                && m.contains("/srv/team/masking/nope.toml")),
        "masking path is resolved against the config's directory: {e}"
    );
}

#[test]
fn bad_region_and_mfa_serial_are_explained() {
    let text = GOOD
        .replace("ap-northeast-1", "tokyo")
        .replace("arn:aws:iam::000000000000:mfa/your-user-name", "my phone");
    let e = error_of(&text);
    let keys: Vec<&str> = e.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["aws.region", "jump.mfa_serial"], "{e}");
    assert!(e.to_string().contains("2 problems"), "{e}");
}

#[test]
fn broken_toml_gives_the_line() {
    let e = error_of("[aws]\nregion = \"ap-northeast-1\n");
    let p = &e.problems()[0];
    assert!(p.message.starts_with("not valid TOML"), "{e}");
    assert_eq!(p.line, Some(2), "{e}");
}

#[test]
fn missing_file_says_how_it_was_found() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let e = Config::load(&missing, ConfigSource::Flag).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("nope.toml") && msg.contains("--config"),
        "{msg}"
    );

    let e = Config::load(
        Path::new("kirikae-does-not-exist.toml"),
        ConfigSource::WorkingDir,
    )
    .unwrap_err();
    assert!(e.to_string().contains("KIRIKAE_CONFIG"), "{e}");
}

#[test]
fn relative_paths_resolve_against_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("credentials"), "[jump]\n").unwrap();
    let text = GOOD.replace(
        "profile = \"jump\"",
        "profile = \"jump\"\ncredentials_file = \"credentials\"",
    ) + "\n[state]\ndir = \"state\"\n";
    let file = dir.path().join("kirikae.toml");
    std::fs::write(&file, text).unwrap();
    let c = Config::load(&file, ConfigSource::Flag).unwrap();
    assert_eq!(
        c.jump.credentials_file.unwrap(),
        dir.path().join("credentials")
    );
    assert_eq!(c.state_dir.unwrap(), dir.path().join("state"));
}

#[test]
fn locate_prefers_flag_then_env_then_working_dir() {
    let (p, s) = locate(Some(Path::new("a.toml")), Some("b.toml".as_ref()));
    assert_eq!((p.to_str().unwrap(), s), ("a.toml", ConfigSource::Flag));
    let (p, s) = locate(None, Some("b.toml".as_ref()));
    assert_eq!((p.to_str().unwrap(), s), ("b.toml", ConfigSource::Env));
    let (p, s) = locate(None, None);
    assert_eq!(
        (p.to_str().unwrap(), s),
        ("kirikae.toml", ConfigSource::WorkingDir)
    );
}

#[test]
fn refresh_budget_of_zero_and_misspelt_refresh_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.toml"), "").unwrap();
    let base = format!(
        "{GOOD}\n[refresh.staging]\nmasking = \"shop.toml\"\nkeep_retired = 2\n\
         source = {{ account = \"prod\", cluster = \"shop-prod\", kms_key = \"alias/snap\" }}\n\
         target = {{ account = \"dev\", cluster = \"staging\", subnet_group = \"s\", instance_class = \"db.t4g.medium\" }}\n"
    );
    let c = Config::from_str(&base, &dir.path().join("kirikae.toml")).unwrap();
    let r = &c.refresh["staging"];
    assert_eq!(r.keep_retired, 2);
    assert_eq!(r.source.kms_key.as_deref(), Some("alias/snap"));
    assert_eq!(r.budget.copy_minutes, 240);

    let zero = format!("{base}[refresh.staging.budget]\ncopy_minutes = 0\n");
    let e = Config::from_str(&zero, &dir.path().join("kirikae.toml")).unwrap_err();
    assert_eq!(
        e.problems()[0].key,
        "refresh.staging.budget.copy_minutes",
        "{e}"
    );
    assert!(e.problems()[0].message.contains(">= 1"), "{e}");

    let typo = base.replace("keep_retired", "keep_retried");
    let e = Config::from_str(&typo, &dir.path().join("kirikae.toml")).unwrap_err();
    assert!(
        e.problems()[0]
            .message
            .contains("unknown key `keep_retried`"),
        "{e}"
    );
}
