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
         masking = \"shop.toml\"\ntls = \"disable\"\n"
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
         masking = \"masking/nope.toml\"\ntls = \"disable\"\n"
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
        "{GOOD}\n[refresh.staging]\nmasking = \"shop.toml\"\nkeep_retired = 2\ntls = \"disable\"\n\
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
    assert!(e.problems()[0].message.contains("from 1 to 10080"), "{e}");

    let typo = base.replace("keep_retired", "keep_retried");
    let e = Config::from_str(&typo, &dir.path().join("kirikae.toml")).unwrap_err();
    assert!(
        e.problems()[0]
            .message
            .contains("unknown key `keep_retried`"),
        "{e}"
    );
}

/// `[refresh.staging]` with valid settings and a rules file in `dir`; `extra` is appended.
fn with_refresh(dir: &Path, extra: &str) -> String {
    std::fs::write(dir.join("shop.toml"), "").unwrap();
    std::fs::write(dir.join("global-bundle.pem"), "").unwrap();
    format!(
        "{GOOD}\n[refresh.staging]\nmasking = \"shop.toml\"\nca_bundle = \"global-bundle.pem\"\n\
         source = {{ account = \"prod\", cluster = \"shop-prod\" }}\n\
         target = {{ account = \"dev\", cluster = \"staging\", subnet_group = \"s\", instance_class = \"db.t4g.medium\" }}\n{extra}"
    )
}

/// The problems of `text` as `key: message` lines (the config must be refused).
fn problems_of(dir: &Path, text: &str) -> Vec<String> {
    match Config::from_str(text, &dir.join("kirikae.toml")) {
        Ok(_) => panic!("accepted a bad config:\n{text}"),
        Err(e) => e
            .problems()
            .iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect(),
    }
}

#[test]
fn a_budget_too_large_to_compute_is_refused_with_the_range() {
    // This value passed `config check`, then `refresh run` panicked on the multiply by 60,
    // leaving a RAM share in production and a cluster in dev.
    let dir = tempfile::tempdir().unwrap();
    let text = with_refresh(
        dir.path(),
        "[refresh.staging.budget]\ncopy_minutes = 18446744073709551615\nstep_minutes = 100000\n",
    );
    let p = problems_of(dir.path(), &text);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(
        p[0].starts_with("refresh.staging.budget.copy_minutes: expected minutes from 1 to 10080")
            && p[0].contains("found 18446744073709551615"),
        "{p:#?}"
    );
    assert!(
        p[1].starts_with("refresh.staging.budget.step_minutes: expected minutes from 1 to 1440"),
        "{p:#?}"
    );
    let text = with_refresh(dir.path(), "keep_retired = 4294967295\n");
    let p = problems_of(dir.path(), &text);
    assert!(
        p.iter().any(|m| m.starts_with(
            "refresh.staging.keep_retired: expected a number of retired clusters from 0 to 100"
        )),
        "{p:#?}"
    );
}

#[test]
fn a_refresh_name_that_is_a_path_or_not_an_rds_identifier_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = with_refresh(dir.path(), "");
    Config::from_str(&good, &dir.path().join("kirikae.toml")).unwrap();
    for bad in [
        "../../etc",
        "",
        "a/b",
        "staging_2",
        "-staging",
        "staging-",
        "st--aging",
        "2staging",
        "ステージング",
        "a-very-long-refresh-name-xyz",
    ] {
        let text = good.replace("refresh.staging", &format!("refresh.\"{bad}\""));
        let p = problems_of(dir.path(), &text);
        assert!(
            p.iter().any(
                |m| m.contains("a refresh name is 1 to 27 letters, digits and hyphens")
                    && m.contains(&format!("found {bad:?}"))
            ),
            "{bad:?}: {p:#?}"
        );
    }
}

#[test]
fn cluster_identifiers_follow_the_rds_rule() {
    let dir = tempfile::tempdir().unwrap();
    let good = with_refresh(dir.path(), "");
    let long = "a".repeat(64);
    for bad in [
        "",
        "1shop",
        "shop--prod",
        "shop-prod-",
        "shop_prod",
        "shop prod",
        long.as_str(),
    ] {
        let text = good.replace("cluster = \"shop-prod\"", &format!("cluster = {bad:?}"));
        let p = problems_of(dir.path(), &text);
        assert!(
            p.iter().any(|m| m.starts_with(
                "refresh.staging.source.cluster: a DB cluster identifier is 1 to 63 letters"
            ) && m.contains(&format!("found {bad:?}"))),
            "{bad:?}: {p:#?}"
        );
    }
    // the target is renamed <cluster>-retired-<run id>: 34 characters at most
    let text = good.replace(
        "cluster = \"staging\"",
        &format!("cluster = \"{}\"", "s".repeat(35)),
    );
    let p = problems_of(dir.path(), &text);
    assert!(
        p.iter().any(|m| m.starts_with(
            "refresh.staging.target.cluster: a target DB cluster identifier is 1 to 34"
        )),
        "{p:#?}"
    );
    let ok = good.replace(
        "cluster = \"staging\"",
        &format!("cluster = \"{}\"", "s".repeat(34)),
    );
    Config::from_str(&ok, &dir.path().join("kirikae.toml")).unwrap();
}

#[test]
fn empty_nul_and_right_to_left_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = with_refresh(dir.path(), "");
    let cases: [(&str, &str, &str); 7] = [
        (
            "alias = \"shop-prod\"",
            "alias = \"\"",
            "accounts.prod.alias: expected an alias of 1 to 64 visible",
        ),
        (
            "alias = \"shop-prod\"",
            "alias = \"shop\\u0000prod\"",
            "accounts.prod.alias: holds a control or right-to-left character (\\u{0})",
        ),
        (
            "alias = \"shop-prod\"",
            "alias = \"\\u202Edorp-pohs\"",
            "accounts.prod.alias: holds a control or right-to-left character (\\u{202e})",
        ),
        (
            "[accounts.dev]",
            "[accounts.\"dev\\u2067\"]",
            "holds a control or right-to-left character (\\u{2067})",
        ),
        (
            "[accounts.dev]",
            "[accounts.\"\"]",
            "account names are 1 to 64 letters",
        ),
        (
            "role = \"ops\"\nalias",
            "role = \"\"\nalias",
            "accounts.prod.role: expected a role name of 1 to 64",
        ),
        (
            "subnet_group = \"s\"",
            "subnet_group = \"\"",
            "refresh.staging.target.subnet_group: expected a name or id of 1 to 255",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(good.contains(from), "{from}");
        let text = good.replacen(from, to, 1);
        let p = problems_of(dir.path(), &text);
        assert!(p.iter().any(|m| m.contains(expected)), "{to}: {p:#?}");
    }
}

#[test]
fn role_names_and_arns_follow_the_iam_rule() {
    for (role, ok) in [
        ("ops", true),
        ("ops+admin@x.y_z-1", true),
        ("arn:aws:iam::111111111111:role/ops", true),
        ("arn:aws:iam::111111111111:role/team/ops", true),
        ("ops role", false),
        ("ops/role", false),
        ("arn:aws:iam::111111111111:role/", false),
        ("arn:aws:iam::222222222222:role/ops", false),
        ("arn:aws:iam::111111111111:user/ops", false),
    ] {
        let text = GOOD.replacen("role = \"ops\"", &format!("role = {role:?}"), 1);
        let r = Config::from_str(&text, path());
        assert_eq!(r.is_ok(), ok, "{role}: {r:?}");
        if let Err(e) = r {
            assert_eq!(e.problems()[0].key, "accounts.prod.role", "{e}");
        }
    }
}

#[test]
fn two_entries_with_one_account_id_are_refused_naming_both() {
    // A second entry for production without `protected` unprotected it for `sweep apply`.
    let text = format!("{GOOD}\n[accounts.prod2]\nid = \"111111111111\"\nrole = \"ops\"\n");
    let e = error_of(&text);
    let p = &e.problems()[0];
    assert_eq!(p.key, "accounts.prod2.id", "{e}");
    assert!(
        p.message.contains("111111111111") && p.message.contains("[accounts.prod]"),
        "{e}"
    );
    assert!(p.line.is_some(), "{e}");
}

#[test]
fn connect_via_is_refused_saying_tunnel_replaced_it_with_an_example() {
    let dir = tempfile::tempdir().unwrap();
    let text = with_refresh(
        dir.path(),
        "[refresh.staging.connect]\nvia = \"127.0.0.1:13306\"\n",
    );
    let e = Config::from_str(&text, &dir.path().join("kirikae.toml")).unwrap_err();
    assert_eq!(e.problems().len(), 1, "{e}");
    let p = &e.problems()[0];
    assert_eq!(p.key, "refresh.staging.connect", "{e}");
    assert!(p.line.is_some(), "{e}");
    for part in [
        "`connect.via` (one fixed host:port) was replaced by `tunnel`",
        "Remove [refresh.staging.connect]",
        "tunnel = \"ssh -N -L {local_port}:{host}:{port} bastion\"",
    ] {
        assert!(p.message.contains(part), "{part:?} in {e}");
    }
    assert!(!p.message.contains("unknown key"), "{e}");
}

#[test]
fn a_tunnel_command_needs_local_port_and_host_and_knows_no_other_placeholder() {
    let dir = tempfile::tempdir().unwrap();
    let good = with_refresh(
        dir.path(),
        "tunnel = \"ssh -N -L {local_port}:{host}:{port} -i ${HOME}/.ssh/k bastion\"\n",
    );
    let c = Config::from_str(&good, &dir.path().join("kirikae.toml")).unwrap();
    let r = &c.refresh["staging"];
    assert_eq!(r.tunnel_wait_seconds, 60);
    assert_eq!(r.tls, kirikae_config::TlsMode::VerifyFull, "the default");
    assert_eq!(
        r.ca_bundle.as_deref(),
        Some(dir.path().join("global-bundle.pem").as_path()),
        "resolved against the config's directory"
    );
    for (command, expected) in [
        (
            "ssh -N -L 13306:{host}:{port} bastion",
            "does not contain {local_port}",
        ),
        (
            "ssh -N -L {local_port}:db.internal:3306 bastion",
            "does not contain {host}",
        ),
        (
            "ssh -N -L {local_port}:{hostname}:{port} bastion",
            "unknown placeholder {hostname}: a tunnel command knows {host}, {port} and {local_port}",
        ),
        ("  ", "expected a command"),
    ] {
        let text = with_refresh(dir.path(), &format!("tunnel = {command:?}\n"));
        let p = problems_of(dir.path(), &text);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("refresh.staging.tunnel: ") && p[0].contains(expected),
            "{command}: {p:?}"
        );
    }
    for wait in [0, 601] {
        let text = with_refresh(
            dir.path(),
            &format!("tunnel = \"x {{host}} {{local_port}}\"\ntunnel_wait_seconds = {wait}\n"),
        );
        let p = problems_of(dir.path(), &text);
        assert!(
            p.len() == 1
                && p[0].starts_with(
                    "refresh.staging.tunnel_wait_seconds: expected seconds from 1 to 600"
                ),
            "{p:?}"
        );
    }
}

#[test]
fn verified_tls_needs_a_ca_bundle_and_says_where_to_get_the_rds_one() {
    let dir = tempfile::tempdir().unwrap();
    let with = with_refresh(dir.path(), "tls = \"verify-ca\"\n");
    for (from, to) in [
        // no bundle: the default verify-full and verify-ca need one
        ("ca_bundle = \"global-bundle.pem\"\n", ""),
        ("tls = \"verify-ca\"\n", ""),
    ] {
        let text = with
            .replace(from, to)
            .replace("ca_bundle = \"global-bundle.pem\"\n", "");
        let p = problems_of(dir.path(), &text);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("refresh.staging.tls: tls = \"verify-")
                && p[0].contains("needs `ca_bundle`")
                && p[0].contains(kirikae_config::RDS_CA_BUNDLE_URL),
            "{p:?}"
        );
    }
    // a bundle that is not there
    let missing = with.replace("global-bundle.pem", "rds-ca.pem");
    let p = problems_of(dir.path(), &missing);
    assert!(
        p.len() == 1
            && p[0].starts_with("refresh.staging.ca_bundle: the CA bundle ")
            && p[0].contains("rds-ca.pem does not exist"),
        "{p:?}"
    );
    // require and disable need none; an unknown mode names the known ones
    for mode in ["require", "disable"] {
        let text = with
            .replace("ca_bundle = \"global-bundle.pem\"\n", "")
            .replace("verify-ca", mode);
        let c = Config::from_str(&text, &dir.path().join("kirikae.toml")).unwrap();
        assert_eq!(c.refresh["staging"].tls.name(), mode);
    }
    let p = problems_of(dir.path(), &with.replace("verify-ca", "verify_full"));
    assert!(
        p[0].contains("unknown value `verify_full`") && p[0].contains("verify-full"),
        "{p:?}"
    );
}

const UNATTENDED: &str = r#"
[aws]
region = "ap-northeast-1"

[jump]
unattended = true
session_name = "kirikae-nightly"

[accounts.dev]
id = "222222222222"
role = "kirikae-unattended"
"#;

#[test]
fn an_unattended_jump_loads_without_profile_or_mfa() {
    let c = Config::from_str(UNATTENDED, path()).unwrap();
    assert!(c.jump.unattended);
    assert_eq!(c.jump.web_identity_session_hours, 1);
    let long = UNATTENDED.replace(
        "unattended = true\n",
        "unattended = true\nweb_identity_session_hours = 6\n",
    );
    assert_eq!(
        Config::from_str(&long, path())
            .unwrap()
            .jump
            .web_identity_session_hours,
        6
    );
    let e = error_of(&UNATTENDED.replace(
        "unattended = true\n",
        "unattended = true\nweb_identity_session_hours = 24\n",
    ));
    assert!(e.to_string().contains("from 1 to 12"), "{e}");
    let e = error_of(&GOOD.replace("[jump]\n", "[jump]\nweb_identity_session_hours = 2\n"));
    assert!(
        e.to_string()
            .contains("applies only to `unattended = true`"),
        "{e}"
    );
    assert!(c.jump.profile.is_none() && c.jump.mfa_serial.is_none());
    assert!(!Config::from_str(GOOD, path()).unwrap().jump.unattended);
    // Without [jump] at all: the environment's keys, with the documented defaults.
    let bare = Config::from_str("[aws]\nregion = \"ap-northeast-1\"\n", path()).unwrap();
    assert_eq!(bare.jump.mfa_session_hours, 12);
    assert!(bare.jump.profile.is_none() && !bare.jump.unattended);
}

#[test]
fn unattended_with_a_persons_sign_in_is_refused_key_by_key() {
    let text = UNATTENDED.replace(
        "unattended = true\n",
        "unattended = true\nprofile = \"jump\"\nmfa_serial = \"arn:aws:iam::000000000000:mfa/hanako\"\n\
         mfa_command = \"echo 123456\"\nmfa_session_hours = 12\n",
    );
    let e = error_of(&text);
    let keys: Vec<&str> = e.problems().iter().map(|p| p.key.as_str()).collect();
    for key in [
        "jump.profile",
        "jump.mfa_serial",
        "jump.mfa_command",
        "jump.mfa_session_hours",
    ] {
        assert!(keys.contains(&key), "{key} not named: {e}");
    }
    let mfa = e
        .problems()
        .iter()
        .find(|p| p.key == "jump.mfa_serial")
        .unwrap();
    assert_eq!(mfa.line, Some(8), "{e}");
    assert!(
        mfa.message
            .contains("no person to type an MFA code: remove it"),
        "{e}"
    );
    let profile = e
        .problems()
        .iter()
        .find(|p| p.key == "jump.profile")
        .unwrap();
    assert!(profile.message.contains("AWS_PROFILE"), "{e}");
}

#[test]
fn notify_takes_the_url_from_the_environment_or_a_file_never_inline() {
    let with = |notify: &str| format!("{UNATTENDED}\n[notify]\n{notify}\n");
    let c = Config::from_str(&with("url_env = \"KIRIKAE_NOTIFY_URL\""), path()).unwrap();
    let n = c.notify.unwrap();
    assert_eq!(n.url_env.as_deref(), Some("KIRIKAE_NOTIFY_URL"));
    assert_eq!(
        (n.attempts, n.backoff_seconds, n.timeout_seconds),
        (3, 1, 10)
    );
    assert!(Config::from_str(UNATTENDED, path())
        .unwrap()
        .notify
        .is_none());

    let secret = "https://hooks.slack.com/services/T0/B0/not-for-the-file";
    let e = error_of(&with(&format!("url = \"{secret}\"")));
    assert_eq!(e.problems()[0].key, "notify.url", "{e}");
    assert!(
        e.to_string().contains("url_env = \"KIRIKAE_NOTIFY_URL\""),
        "{e}"
    );
    assert!(
        !e.to_string().contains(secret),
        "the error repeats the URL: {e}"
    );
    assert!(!format!("{e:?}").contains(secret));

    let e = error_of(&with(""));
    assert!(
        e.problems()[0].message.contains("needs the webhook URL"),
        "{e}"
    );
    let e = error_of(&with("url_env = \"https://hooks.example/x\""));
    assert!(
        e.problems()[0]
            .message
            .contains("name of an environment variable"),
        "{e}"
    );
    let e = error_of(&with("url_file = \"no-such-file\""));
    assert!(e.problems()[0].message.contains("does not exist"), "{e}");
    let e = error_of(&with("url_env = \"X\"\nurl_file = \"y\""));
    assert!(e.to_string().contains("not both"), "{e}");
    let e = error_of(&with(
        "url_env = \"X\"\nattempts = 0\ntimeout_seconds = 600",
    ));
    let keys: Vec<&str> = e.problems().iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["notify.attempts", "notify.timeout_seconds"], "{e}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("webhook-url"), secret).unwrap();
    let c = Config::from_str(
        &with("url_file = \"webhook-url\""),
        &dir.path().join("kirikae.toml"),
    )
    .unwrap();
    assert_eq!(
        c.notify.unwrap().url_file.unwrap(),
        dir.path().join("webhook-url"),
        "resolved against the config's directory"
    );
}

#[test]
fn audit_tags_load_and_each_mistake_is_named_with_its_key() {
    let good = GOOD.replacen(
        "protected = true\n",
        "protected = true\ntags = { env = \"prod\" }\n",
        1,
    ) + "\n[audit]\nrequired_tags = [\"env\", \"owner\"]\n";
    let c = Config::from_str(&good, path()).unwrap();
    assert_eq!(c.audit.required_tags, ["env", "owner"]);
    assert_eq!(c.accounts["prod"].tags["env"], "prod");
    assert!(c.accounts["dev"].tags.is_empty());
    // Without [audit]: nothing required.
    assert!(Config::from_str(GOOD, path())
        .unwrap()
        .audit
        .required_tags
        .is_empty());

    let bad = GOOD.replacen(
        "protected = true\n",
        "protected = true\ntags = { Env = \"prod\", \"aws:x\" = \"y\" }\n",
        1,
    ) + "\n[audit]\nrequired_tags = [\"env\", \"owner\", \"Owner\", \"\"]\nrequred = 1\n";
    // An unknown key in [audit] is refused first (parse errors stop at the first).
    let e = error_of(&bad);
    assert!(
        e.problems()[0].message.contains("unknown key `requred`"),
        "{e}"
    );
    let bad = bad.replace("requred = 1\n", "");
    let e = error_of(&bad);
    let msgs: Vec<String> = e.problems().iter().map(|p| p.to_string()).collect();
    let has = |key: &str, says: &str| {
        assert!(
            msgs.iter().any(|m| m.contains(key) && m.contains(says)),
            "{key}: {says} not in {msgs:#?}"
        )
    };
    has("audit.required_tags[2]", "\"Owner\" is \"owner\" again");
    has("audit.required_tags[3]", "1 to 128 characters");
    has("accounts.prod.tags.aws:x", "not starting with \"aws:\"");
    has(
        "accounts.prod.tags.Env",
        "[audit] required_tags spells this key \"env\"",
    );
}

const BOOTSTRAP: &str = r#"
[bootstrap]
jump_account = "000000000000"

[bootstrap.role_kinds.ops]
managed_policies = ["arn:aws:iam::aws:policy/PowerUserAccess"]
"#;

/// `GOOD` with the roles under bootstrap's default path, plus `[bootstrap]`.
fn with_bootstrap(extra: &str) -> String {
    GOOD.replace(
        "id = \"111111111111\"\nrole = \"ops\"",
        "id = \"111111111111\"\nrole = \"arn:aws:iam::111111111111:role/kirikae/ops\"",
    )
    .replace(
        "id = \"222222222222\"\nrole = \"ops\"",
        "id = \"222222222222\"\nrole = \"arn:aws:iam::222222222222:role/kirikae/ops\"",
    ) + BOOTSTRAP
        + extra
}

#[test]
fn bootstrap_loads_with_documented_defaults() {
    let c = Config::from_str(&with_bootstrap(""), path()).unwrap();
    let b = c.bootstrap.unwrap();
    assert_eq!(b.jump_account.as_str(), "000000000000");
    assert_eq!(b.path, "/kirikae/");
    assert_eq!(
        (b.mfa_max_age_seconds, b.protected_mfa_max_age_seconds),
        (43_200, 3_600)
    );
    assert_eq!((b.max_session_hours, b.protected_max_session_hours), (1, 1));
    assert_eq!(b.role_kinds["ops"].group_name("ops"), "kirikae-ops");
    assert!(b.runner.is_none());
}

#[test]
fn bootstrap_unknown_key_is_refused_with_its_path() {
    let e = error_of(&with_bootstrap("").replace("jump_account =", "jump_acount ="));
    let p = &e.problems()[0];
    assert_eq!(p.key, "bootstrap.jump_acount", "{e}");
    assert!(p.message.contains("unknown key"), "{e}");
    let e = error_of(&with_bootstrap("external_id = \"x\"\n"));
    assert!(
        e.problems()[0]
            .message
            .contains("unknown key `external_id`"),
        "{e}"
    );
}

#[test]
fn bootstrap_protected_bounds_cannot_be_looser() {
    let text = with_bootstrap("").replace(
        "jump_account = \"000000000000\"",
        "jump_account = \"000000000000\"\nmfa_max_age_seconds = 3600\nprotected_mfa_max_age_seconds = 86400\nmax_session_hours = 13",
    );
    let e = error_of(&text);
    let keys = e
        .problems()
        .iter()
        .map(|p| p.key.as_str())
        .collect::<Vec<_>>();
    assert!(
        keys.contains(&"bootstrap.protected_mfa_max_age_seconds"),
        "{e}"
    );
    assert!(keys.contains(&"bootstrap.max_session_hours"), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("make it at most mfa_max_age_seconds"), "{msg}");
    assert!(msg.contains("from 1 to 12"), "{msg}");
}

#[test]
fn bootstrap_roles_must_be_the_ones_it_makes() {
    // A plain role name under a path: the ARN with the path is what AWS assumes.
    let text = GOOD.to_string() + BOOTSTRAP;
    let e = error_of(&text);
    let p = e
        .problems()
        .iter()
        .find(|p| p.key == "accounts.prod.role")
        .unwrap_or_else(|| panic!("{e}"));
    assert!(
        p.message
            .contains("write role = \"arn:aws:iam::111111111111:role/kirikae/ops\""),
        "{e}"
    );
    // A role no kind makes.
    let text =
        with_bootstrap("").replace("role/kirikae/ops\"\nalias", "role/kirikae/admin\"\nalias");
    let e = error_of(&text);
    assert!(
        e.to_string()
            .contains("\"admin\" is not one bootstrap makes (role kinds and runner: ops)"),
        "{e}"
    );
}

#[test]
fn bootstrap_runner_trusts_one_named_role() {
    let e = error_of(&with_bootstrap(
        "[bootstrap.runner]\nprincipal = \"arn:aws:iam::000000000000:role/*\"\nrole = \"ops\"\n",
    ));
    let keys = e
        .problems()
        .iter()
        .map(|p| p.key.as_str())
        .collect::<Vec<_>>();
    assert_eq!(
        keys,
        ["bootstrap.runner.role", "bootstrap.runner.principal"],
        "{e}"
    );
    assert!(e.to_string().contains("no wildcards"), "{e}");
    let ok = with_bootstrap(
        "[bootstrap.runner]\nprincipal = \"arn:aws:iam::000000000000:role/ci-nightly\"\n",
    );
    let c = Config::from_str(&ok, path()).unwrap();
    assert_eq!(
        c.bootstrap.unwrap().runner.unwrap().role,
        "kirikae-unattended"
    );
    let e = error_of(&format!("{ok}jobs = [\"refresh\"]\n"));
    let p = &e.problems()[0];
    assert_eq!(p.key, "bootstrap.runner.jobs[0]", "{e}");
    assert!(
        p.message.contains(
            "expected one of `refresh-source`, `refresh-target`, `sweep`, `audit`, `checks`"
        ),
        "{e}"
    );
}
