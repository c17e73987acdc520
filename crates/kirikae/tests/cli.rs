//! The command line as people meet it, without AWS: config errors, exit codes, global options in
//! any position, console links, profiles.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kirikae() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kirikae"));
    c.env_remove("KIRIKAE_CONFIG").env_remove("AWS_CONFIG_FILE");
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const CONFIG: &str = r#"
[aws]
region = "ap-northeast-1"

[jump]
profile = "jump"
mfa_serial = "arn:aws:iam::100000000000:mfa/hanako"

[accounts.prod]
id = "111111111111"
role = "ops"
alias = "shop-prod"
protected = true

[accounts.dev]
id = "222222222222"
role = "ops"
"#;

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("kirikae.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn help_lists_every_command_group() {
    let o = kirikae().arg("--help").output().unwrap();
    let (out, _) = text(&o);
    for c in ["accounts", "refresh", "mask", "sweep", "audit", "config"] {
        assert!(out.contains(&format!("  {c} ")), "{c} missing from:\n{out}");
    }
    assert!(out.contains("Examples:"));
}

#[test]
fn audit_parts_of_later_versions_and_bad_fail_on_are_refused_by_the_parser() {
    for args in [
        vec!["audit", "cost"],
        vec!["audit", "az", "--fail-on", "severe"],
    ] {
        let o = kirikae().args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = text(&o).1;
        assert!(
            err.contains("invalid value") || err.contains("unrecognized subcommand"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn config_check_accepts_a_good_file_from_anywhere_with_config_before_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), CONFIG);
    for args in [
        vec!["--config", file.to_str().unwrap(), "config", "check"],
        vec!["config", "check", "--config", file.to_str().unwrap()],
    ] {
        let o = kirikae().args(&args).current_dir("/").output().unwrap();
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {out}{err}");
        assert!(out.contains("valid"), "{out}");
        assert!(out.contains("accounts: 2 (1 protected: prod)"), "{out}");
    }
}

#[test]
fn config_is_found_through_the_environment_and_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), CONFIG);
    let o = kirikae()
        .args(["config", "check"])
        .env("KIRIKAE_CONFIG", &file)
        .current_dir("/")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let o = kirikae()
        .args(["config", "check"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
}

#[test]
fn a_bad_config_exits_2_naming_file_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), &CONFIG.replace("\"222222222222\"", "\"2222\""));
    let o = kirikae()
        .args(["config", "check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(file.to_str().unwrap()), "{err}");
    assert!(err.contains("accounts.dev.id (line 16)"), "{err}");
    assert!(err.contains("12-digit"), "{err}");

    // The same in JSON, for scripts.
    let o = kirikae()
        .args(["config", "check", "--output", "json", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["problems"][0]["key"], "accounts.dev.id");
    assert_eq!(v["problems"][0]["line"], 16);
}

#[test]
fn every_command_refuses_a_bad_config_before_doing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        dir.path(),
        &CONFIG.replace("protected = true", "protected = 1"),
    );
    let o = kirikae()
        .args(["accounts", "check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("accounts.prod.protected"), "{err}");
}

#[test]
fn console_prints_the_switch_role_link() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), CONFIG);
    let console = |account: &str| {
        kirikae()
            .args(["accounts", "console", account, "--config"])
            .arg(&file)
            .output()
            .unwrap()
    };
    let o = console("prod");
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(
        out.trim(),
        "https://signin.aws.amazon.com/switchrole?account=111111111111&roleName=ops&displayName=shop-prod"
    );
    // By alias too; an unknown account is bad input that lists the known ones.
    assert_eq!(console("shop-prod").status.code(), Some(0));
    let o = console("staging");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("known: dev, prod"), "{:?}", text(&o));
}

#[test]
fn profiles_are_written_idempotently_keeping_the_rest_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), CONFIG);
    let aws = dir.path().join("aws-config");
    let mine = "[default]\nregion = us-west-2\n# my comment\n[profile personal]\nregion=eu-west-1";
    std::fs::write(&aws, mine).unwrap();

    let run = |extra: &[&str]| {
        let o = kirikae()
            .args(["accounts", "profiles", "--file"])
            .arg(&aws)
            .args(extra)
            .arg("--config")
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
        text(&o).0
    };
    let dry = run(&["--dry-run"]);
    assert!(dry.contains("would be added:     dev, prod"), "{dry}");
    assert_eq!(
        std::fs::read_to_string(&aws).unwrap(),
        mine,
        "a dry run writes nothing"
    );

    let out = run(&[]);
    assert!(out.contains("backup of the previous file"), "{out}");
    let written = std::fs::read_to_string(&aws).unwrap();
    assert!(written.starts_with(mine), "{written}");
    assert!(
        written.contains(
            "[profile prod]\n# managed by kirikae: `kirikae accounts profiles` rewrites the keys it wrote\n\
             role_arn = arn:aws:iam::111111111111:role/ops\nsource_profile = jump\n\
             mfa_serial = arn:aws:iam::100000000000:mfa/hanako\nregion = ap-northeast-1\n"
        ),
        "{written}"
    );
    let backups: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("aws-config.kirikae-backup-")
        })
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read_to_string(backups[0].path()).unwrap(), mine);

    let again = run(&[]);
    assert!(again.contains("unchanged: dev, prod"), "{again}");
    assert_eq!(std::fs::read_to_string(&aws).unwrap(), written);
}

#[test]
fn exec_into_an_unknown_account_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), CONFIG);
    let o = kirikae()
        .args(["accounts", "exec", "nope", "--config"])
        .arg(&file)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
}

/// `CONFIG` with `[refresh.staging]` into the protected prod account (rules file beside it).
fn refresh_config(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("shop.toml"), "").unwrap();
    write_config(
        dir,
        &format!(
            "{CONFIG}\n[state]\ndir = \"state\"\n[refresh.staging]\nmasking = \"shop.toml\"\ntls = \"disable\"\n\
             source = {{ account = \"dev\", cluster = \"shop-dev\" }}\n\
             target = {{ account = \"prod\", cluster = \"staging\", subnet_group = \"s\", instance_class = \"db.t4g.medium\" }}\n"
        ),
    )
}

fn json_error(o: &Output) -> serde_json::Value {
    let (out, err) = text(o);
    assert!(
        err.is_empty(),
        "nothing on stderr with --output json: {err}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: not JSON: {out:?}"));
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    v
}

#[test]
fn with_output_json_every_error_is_one_json_object_on_stdout_with_the_same_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let file = refresh_config(dir.path());
    let cases: [(&[&str], i32, &str, &str); 6] = [
        (
            &["refresh", "plan", "stagign"],
            2,
            "bad_input",
            "no [refresh.stagign]",
        ),
        (
            &["refresh", "status", "20990101-000000-abcd"],
            2,
            "bad_input",
            "no refresh run",
        ),
        (&["accounts", "console", "nope"], 2, "bad_input", "nope"),
        (
            &["audit", "tags"],
            2,
            "bad_input",
            "add [audit] required_tags",
        ),
        // a bad argument, found by the parser
        (&["refresh", "run"], 2, "bad_input", "<NAME>"),
        (
            &["refresh", "run", "staging", "--confirm", "shop-dev"],
            2,
            "not_confirmed",
            "is not its alias",
        ),
    ];
    for (args, code, kind, says) in cases {
        let text_o = kirikae()
            .args(args)
            .arg("--config")
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(
            text_o.status.code(),
            Some(code),
            "{args:?}: {:?}",
            text(&text_o)
        );
        assert!(
            text_o.stdout.is_empty(),
            "{args:?}: errors go to stderr as text"
        );
        assert!(
            text(&text_o).1.contains(says),
            "{args:?}: {:?}",
            text(&text_o)
        );

        let o = kirikae()
            .args(args)
            .args(["--output", "json", "--config"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(code), "{args:?}: same exit code");
        let v = json_error(&o);
        assert_eq!(v["error"]["kind"], kind, "{args:?}: {v}");
        assert_eq!(v["error"]["exit_code"], code, "{args:?}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(says),
            "{args:?}: {v}"
        );
    }
}

#[test]
fn a_missing_or_wrong_confirm_exits_2_before_any_credentials_are_asked_for() {
    // The jump profile of CONFIG does not exist: reaching AWS would fail with exit 1.
    let dir = tempfile::tempdir().unwrap();
    let file = refresh_config(dir.path());
    for confirm in [
        &[][..],
        &["--confirm", "shop-dev"][..],
        &["--confirm", ""][..],
    ] {
        let o = kirikae()
            .args(["refresh", "run", "staging"])
            .args(confirm)
            .arg("--config")
            .arg(&file)
            .output()
            .unwrap();
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{confirm:?}: {err}");
        assert!(
            err.contains("pass --confirm shop-prod"),
            "{confirm:?}: {err}"
        );
    }
    // resume reads the refresh from the run's journal: the same refusal, the same code
    let runs = dir.path().join("state/refresh/staging");
    std::fs::create_dir_all(&runs).unwrap();
    std::fs::write(
        runs.join("20261206-100000-abcd.jsonl"),
        "{\"event\":\"started\",\"name\":\"staging\",\"at\":\"2026-12-06T10:00:00Z\"}\n",
    )
    .unwrap();
    let o = kirikae()
        .args([
            "refresh",
            "resume",
            "20261206-100000-abcd",
            "--confirm",
            "shop-dev",
        ])
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("is not its alias"), "{err}");
}

#[test]
fn a_closed_stdout_ends_the_process_quietly() {
    // `kirikae config check | head -0`: the reader is gone before the first line is written.
    let dir = tempfile::tempdir().unwrap();
    let file = refresh_config(dir.path());
    for args in [
        &["config", "check"][..],
        &["config", "check", "--output", "json"][..],
        &["accounts", "console", "prod"][..],
        &["refresh", "list", "--output", "json"][..],
    ] {
        let mut child = kirikae()
            .args(args)
            .arg("--config")
            .arg(&file)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let (_, err) = text(&o);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.contains("error"), "{args:?}: quietly: {err}");
        assert_eq!(o.status.code(), Some(141), "{args:?}: {err}");
    }
}

#[test]
fn config_check_refuses_what_the_issue_found_accepted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.toml"), "").unwrap();
    let base = format!(
        "{CONFIG}\n[refresh.staging]\nmasking = \"shop.toml\"\ntls = \"disable\"\n\
         source = {{ account = \"prod\", cluster = \"shop-prod\" }}\n\
         target = {{ account = \"dev\", cluster = \"staging\", subnet_group = \"s\", instance_class = \"db.t4g.medium\" }}\n"
    );
    let cases = [
        (
            format!("{base}[refresh.staging.budget]\ncopy_minutes = 18446744073709551615\n"),
            "refresh.staging.budget.copy_minutes",
        ),
        (
            base.replace("[refresh.staging", "[refresh.\"../../etc\""),
            "refresh.../../etc",
        ),
        (
            base.replace("shop-prod\" }", "shop--prod\" }"),
            "refresh.staging.source.cluster",
        ),
        (
            format!("{base}\n[accounts.prod2]\nid = \"111111111111\"\nrole = \"ops\"\n"),
            "accounts.prod2.id",
        ),
        (
            base.replace("alias = \"shop-prod\"", "alias = \"shop\\u202eprod\""),
            "accounts.prod.alias",
        ),
    ];
    for (text_, key) in cases {
        let file = write_config(dir.path(), &text_);
        let o = kirikae()
            .args(["config", "check", "--config"])
            .arg(&file)
            .output()
            .unwrap();
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{key}: {err}");
        assert!(err.contains(key), "{key}: {err}");
    }
}
