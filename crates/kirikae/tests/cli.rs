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
fn commands_of_later_versions_say_so_and_exit_2() {
    let o = kirikae()
        .args(["audit", "run", "--anything"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("not yet available"));
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
