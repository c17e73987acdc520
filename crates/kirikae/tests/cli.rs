//! The command line as people meet it, without AWS: config errors, exit codes, the shared options
//! (each command takes only those that apply, before or after it), console links, profiles,
//! completions and man pages.

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
        vec!["audit", "security"],
        vec!["audit", "az", "--fail-on", "severe"],
        vec!["audit", "cost", "--months", "13"],
        vec!["audit", "report"],
    ] {
        let o = kirikae().args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = text(&o).1;
        assert!(
            err.contains("invalid value")
                || err.contains("unrecognized subcommand")
                || err.contains("--out <FILE>"),
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

/// The subcommands listed in a `--help` ("Commands:" section), without `help`.
fn subcommands_in(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        // "  name  Description", continued on lines indented further
        .filter_map(|l| l.strip_prefix("  ").filter(|l| !l.starts_with(' ')))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

fn help_of(command: &[&str]) -> String {
    let o = kirikae().args(command).arg("--help").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{command:?}: {:?}", text(&o));
    text(&o).0
}

/// Every command that runs something: `["accounts", "check"]`, ..., `["man"]`, found through
/// `--help` as a user would.
fn every_command() -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for group in subcommands_in(&help_of(&[])) {
        let subs = subcommands_in(&help_of(&[&group]));
        if subs.is_empty() {
            all.push(vec![group]);
        } else {
            all.extend(subs.into_iter().map(|s| vec![group.clone(), s]));
        }
    }
    all
}

/// The long options a `--help` lists, each with the values it lists ("Possible values:").
fn options_in(help: &str) -> Vec<(String, Vec<String>)> {
    let mut options: Vec<(String, Vec<String>)> = Vec::new();
    for line in help.lines() {
        // "      --config <FILE>" or "  -h, --help"; descriptions are indented further.
        let option = line.strip_prefix("      --").or_else(|| {
            line.get(2..)
                .filter(|_| line.starts_with("  -") && line.get(4..6) == Some(", "))
                .and_then(|l| l.get(4..))
                .and_then(|l| l.strip_prefix("--"))
        });
        if let Some(o) = option {
            let name = o.split_whitespace().next().unwrap();
            options.push((format!("--{name}"), Vec::new()));
        } else if let Some(value) = line.trim_start().strip_prefix("- ") {
            if let Some((_, values)) = options.last_mut() {
                values.push(value.split(':').next().unwrap().to_string());
            }
        }
    }
    options
}

const TABLE_JSON: &[&str] = &["table", "json"];

/// Which shared options each command takes: (command, --config, --output formats, --mfa-code).
/// A new command must be added here: the test below fails for a command it does not know.
const SHARED_OPTIONS: &[(&str, bool, &[&str], bool)] = &[
    ("config check", true, TABLE_JSON, false),
    ("accounts check", true, TABLE_JSON, true),
    ("accounts profiles", true, TABLE_JSON, false),
    ("accounts console", true, TABLE_JSON, false),
    ("accounts exec", true, TABLE_JSON, true),
    ("refresh plan", true, TABLE_JSON, true),
    ("refresh run", true, TABLE_JSON, true),
    ("refresh resume", true, TABLE_JSON, true),
    ("refresh status", true, TABLE_JSON, false),
    ("refresh list", true, TABLE_JSON, false),
    // The database is --url: kirikae.toml is not read, no AWS credentials are obtained.
    ("mask init", false, TABLE_JSON, false),
    ("mask check", false, TABLE_JSON, false),
    ("mask run", false, TABLE_JSON, false),
    ("mask verify", false, TABLE_JSON, false),
    ("sweep scan", true, TABLE_JSON, true),
    ("sweep mark", true, TABLE_JSON, true),
    ("sweep show", true, &["table", "json", "csv", "html"], false),
    ("sweep apply", true, TABLE_JSON, true),
    ("accounts bootstrap", true, TABLE_JSON, false),
    ("accounts drift", true, TABLE_JSON, true),
    ("audit az", true, &["table", "json", "csv"], true),
    ("audit tags", true, &["table", "json", "csv"], true),
    ("audit runtimes", true, &["table", "json", "csv"], true),
    ("audit quotas", true, &["table", "json", "csv"], true),
    ("audit all", true, &["table", "json", "csv"], true),
    ("audit cost", true, &["table", "json", "csv"], true),
    ("audit report", true, &["table", "json", "csv"], true),
    ("completions", false, &[], false),
    ("man", false, &[], false),
];

#[test]
fn each_command_lists_exactly_the_shared_options_that_apply_to_it() {
    let commands = every_command();
    let mut names: Vec<String> = commands.iter().map(|c| c.join(" ")).collect();
    let mut expected: Vec<&str> = SHARED_OPTIONS.iter().map(|(c, ..)| *c).collect();
    names.sort();
    expected.sort();
    assert_eq!(names, expected, "every command --help lists, and no other");

    for (command, config, formats, mfa) in SHARED_OPTIONS {
        let words: Vec<&str> = command.split(' ').collect();
        let help = help_of(&words);
        let options = options_in(&help);
        let has = |o: &str| options.iter().any(|(name, _)| name == o);
        assert!(has("--help"), "{command}: {options:?}");
        assert_eq!(has("--config"), *config, "{command} --config:\n{help}");
        assert_eq!(has("--mfa-code"), *mfa, "{command} --mfa-code:\n{help}");
        let output: Option<&Vec<String>> = options
            .iter()
            .find(|(name, _)| name == "--output")
            .map(|(_, v)| v);
        match output {
            Some(listed) => assert_eq!(listed, formats, "{command} --output:\n{help}"),
            None => assert!(formats.is_empty(), "{command}: no --output:\n{help}"),
        }
        // Not even mentioned where it does not apply (the old "`sweep show` only" lines).
        if !*mfa {
            assert!(!help.contains("mfa-code"), "{command}:\n{help}");
        }
        for format in ["csv", "html"] {
            if !formats.contains(&format) {
                assert!(
                    !help.contains(format),
                    "{command} mentions {format}:\n{help}"
                );
            }
        }
    }
}

#[test]
fn the_parser_reads_the_shared_options_of_the_help() {
    assert_eq!(
        options_in("Options:\n      --config <FILE>\n          The file\n      --output <FORMAT>\n          How\n\n          Possible values:\n          - table: People\n          - json:  Scripts\n\n  -h, --help\n          Print help\n"),
        vec![
            ("--config".to_string(), vec![]),
            ("--output".to_string(), vec!["table".to_string(), "json".to_string()]),
            ("--help".to_string(), vec![]),
        ]
    );
}

#[test]
fn config_and_output_work_before_or_after_the_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let file = refresh_config(dir.path());
    let file = file.to_str().unwrap();
    let run = |args: &[String]| {
        let o = kirikae().args(args).current_dir("/").output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {:?}", text(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {:?}", text(&o)))
    };
    for (before, after) in [
        (vec!["--config", file, "--output", "json"], vec![]),
        (vec![], vec!["--config", file, "--output", "json"]),
        (vec!["--output", "json"], vec!["--config", file]),
        (vec!["--config", file], vec!["--output=json"]),
        (vec!["--output=json", "--config", file], vec![]),
    ] {
        let with = |command: &[&str]| -> Vec<String> {
            let words = before.iter().chain(command).chain(&after);
            words.map(|w| w.to_string()).collect()
        };
        let v = run(&with(&["config", "check"]));
        assert_eq!(v["valid"], true, "{before:?} {after:?}: {v}");
        let v = run(&with(&["accounts", "console", "prod"]));
        assert_eq!(v["account"], "prod", "{before:?} {after:?}: {v}");
        let v = run(&with(&["refresh", "list"]));
        assert!(v.is_array(), "{before:?} {after:?}: {v}");
    }

    // Given on both sides, the one after the subcommand is the command's.
    let o = kirikae()
        .args([
            "--output", "json", "config", "check", "--output", "table", "--config", file,
        ])
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        out.contains("valid") && !out.trim_start().starts_with('{'),
        "{out}"
    );

    // `accounts exec` ends with `-- COMMAND`: there --config goes before the subcommand.
    let o = kirikae()
        .args(["--config", file, "accounts", "exec", "nope", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    assert!(text(&o).1.contains("known: dev, prod"), "{:?}", text(&o));

    // The review formats of `sweep show` before it: the parser lets them through (the plan is
    // what is missing then).
    for format in ["csv", "html"] {
        let o = kirikae()
            .args([
                "--output",
                format,
                "--config",
                file,
                "sweep",
                "show",
                "missing.json",
            ])
            .output()
            .unwrap();
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("missing.json"), "{format}: {err}");
        assert!(!err.contains("--output"), "{format}: {err}");
    }
}

#[test]
fn with_output_json_before_the_subcommand_errors_are_json_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = refresh_config(dir.path());
    let file = file.to_str().unwrap();
    for (args, kind, says) in [
        (
            &["refresh", "plan", "stagign"][..],
            "bad_input",
            "no [refresh.stagign]",
        ),
        (&["refresh", "run"][..], "bad_input", "<NAME>"),
        (
            &["refresh", "run", "staging", "--confirm", "shop-dev"][..],
            "not_confirmed",
            "is not its alias",
        ),
    ] {
        let o = kirikae()
            .args(["--output", "json", "--config", file])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {:?}", text(&o));
        let v = json_error(&o);
        assert_eq!(v["error"]["kind"], kind, "{args:?}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(says),
            "{args:?}: {v}"
        );
    }
}

#[test]
fn a_shared_option_a_command_does_not_take_is_refused_by_the_parser_wherever_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = refresh_config(dir.path());
    let file = file.to_str().unwrap();
    let mask = [
        "mask",
        "run",
        "--url",
        "mysql://root@127.0.0.1/shop",
        "--rules",
        "shop.toml",
    ];
    let cases: [(&[&str], &[&str], &str); 6] = [
        (
            &mask,
            &["--mfa-code", "123456"],
            "unexpected argument '--mfa-code'",
        ),
        (
            &[
                "mask",
                "check",
                "--url",
                "mysql://root@127.0.0.1/shop",
                "--rules",
                "r.toml",
            ],
            &["--config", file],
            "unexpected argument '--config'",
        ),
        (
            &["accounts", "console", "prod"],
            &["--mfa-code", "123456"],
            "unexpected argument '--mfa-code'",
        ),
        (
            &["refresh", "status", "20990101-000000-abcd"],
            &["--mfa-code", "123456"],
            "unexpected argument '--mfa-code'",
        ),
        (
            &["accounts", "check"],
            &["--output", "html"],
            "invalid value 'html' for '--output <FORMAT>'",
        ),
        (
            &["sweep", "scan", "--account", "prod"],
            &["--output", "csv"],
            "invalid value 'csv' for '--output <FORMAT>'",
        ),
    ];
    for (command, option, says) in cases {
        for args in [[option, command].concat(), [command, option].concat()] {
            let o = kirikae().args(&args).output().unwrap();
            let (out, err) = text(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(out.is_empty(), "{args:?}: nothing ran: {out}");
            assert!(err.starts_with("error: "), "{args:?}: clap's error: {err}");
            assert!(err.contains(says), "{args:?}: {err}");
            assert!(err.contains("try '--help'"), "{args:?}: {err}");
            if says.starts_with("unexpected argument") {
                assert!(err.contains("Usage: kirikae "), "{args:?}: {err}");
            } else {
                assert!(
                    err.contains("[possible values: table, json]"),
                    "{args:?}: {err}"
                );
            }

            // The same error as JSON when JSON was asked for.
            let o = kirikae()
                .args(["--output", "json"])
                .args(&args)
                .output()
                .unwrap();
            if !args.contains(&"--output") {
                assert_eq!(o.status.code(), Some(2), "{args:?}");
                let v = json_error(&o);
                assert_eq!(v["error"]["kind"], "bad_input", "{v}");
                assert!(
                    v["error"]["message"].as_str().unwrap().contains(says),
                    "{args:?}: {v}"
                );
            }
        }
    }
}

/// Runs `script` in bash after sourcing the bash completions; returns its stdout.
fn bash_with_completions(completions: &Path, script: &str) -> String {
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!("source {}\n{script}", completions.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{script}: {:?}", text(&o));
    text(&o).0
}

fn completions(shell: &str) -> String {
    let o = kirikae().args(["completions", shell]).output().unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{shell}: {err}");
    assert!(err.is_empty(), "{shell}: {err}");
    out
}

#[test]
fn bash_completions_are_valid_and_complete_what_each_command_takes() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("kirikae.bash");
    std::fs::write(&script, completions("bash")).unwrap();
    let o = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(o.status.success(), "bash -n: {:?}", text(&o));

    // What a user gets at TAB: `complete -F _kirikae kirikae` calls it with the words typed.
    let complete = |words: &[&str]| {
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let out = bash_with_completions(
            &script,
            &format!(
                "COMP_WORDS=({})\nCOMP_CWORD={}\n_kirikae kirikae '{}' '{}'\necho \"${{COMPREPLY[@]}}\"",
                quoted.join(" "),
                words.len() - 1,
                words[words.len() - 1],
                words[words.len() - 2],
            ),
        );
        out.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let top = complete(&["kirikae", ""]);
    for c in [
        "accounts",
        "refresh",
        "mask",
        "sweep",
        "audit",
        "config",
        "completions",
        "man",
    ] {
        assert!(top.contains(&c.to_string()), "{c}: {top:?}");
    }
    let subs = complete(&["kirikae", "sweep", ""]);
    for c in ["scan", "mark", "show", "apply"] {
        assert!(subs.contains(&c.to_string()), "{c}: {subs:?}");
    }
    let mask_run = complete(&["kirikae", "mask", "run", "--"]);
    assert!(mask_run.contains(&"--url".to_string()), "{mask_run:?}");
    assert!(mask_run.contains(&"--output".to_string()), "{mask_run:?}");
    assert!(
        !mask_run.contains(&"--mfa-code".to_string()),
        "{mask_run:?}"
    );
    assert!(!mask_run.contains(&"--config".to_string()), "{mask_run:?}");
    let check = complete(&["kirikae", "accounts", "check", "--"]);
    for o in ["--config", "--output", "--mfa-code", "--concurrency"] {
        assert!(check.contains(&o.to_string()), "{o}: {check:?}");
    }
    assert_eq!(
        complete(&["kirikae", "accounts", "check", "--output", ""]),
        ["table", "json"]
    );
    assert_eq!(
        complete(&["kirikae", "sweep", "show", "plan.json", "--output", ""]),
        ["table", "json", "csv", "html"]
    );
}

#[test]
fn zsh_and_fish_completions_name_every_command_and_its_own_options() {
    let commands = every_command();
    let zsh = completions("zsh");
    assert!(
        zsh.starts_with("#compdef kirikae"),
        "{}",
        &zsh[..100.min(zsh.len())]
    );
    for command in &commands {
        let last = command.last().unwrap();
        assert!(zsh.contains(&format!("'{last}:")), "zsh: {command:?}");
    }

    let fish = completions("fish");
    // One `complete` line per option of a subcommand, conditioned on the words typed.
    let options_of = |group: &str, sub: &str| -> Vec<String> {
        let condition = format!(
            "-n \"__fish_kirikae_using_subcommand {group}; and __fish_seen_subcommand_from {sub}\""
        );
        fish.lines()
            .filter(|l| l.contains(&condition))
            .filter_map(|l| l.split(" -l ").nth(1))
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect()
    };
    for command in commands.iter().filter(|c| c.len() == 2) {
        assert!(
            fish.contains(&format!("__fish_seen_subcommand_from {}", command[1])),
            "fish: {command:?}"
        );
        let options = options_of(&command[0], &command[1]);
        assert!(
            options.contains(&"help".to_string()),
            "{command:?}: {options:?}"
        );
        let (_, config, _, mfa) = SHARED_OPTIONS
            .iter()
            .find(|(c, ..)| *c == command.join(" "))
            .unwrap();
        assert_eq!(
            options.contains(&"config".to_string()),
            *config,
            "{command:?}: {options:?}"
        );
        assert_eq!(
            options.contains(&"mfa-code".to_string()),
            *mfa,
            "{command:?}: {options:?}"
        );
    }

    let o = kirikae()
        .args(["completions", "powershell"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).1.contains("[possible values: bash, zsh, fish]"),
        "{:?}",
        text(&o)
    );
}

#[test]
fn man_pages_are_written_one_per_command_and_read_by_man() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let o = kirikae()
        .arg("man")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");

    // kirikae, each group, each command of a group.
    let mut expected = vec!["kirikae".to_string()];
    for command in every_command() {
        if command.len() == 2 && !expected.contains(&format!("kirikae-{}", command[0])) {
            expected.push(format!("kirikae-{}", command[0]));
        }
        expected.push(format!("kirikae-{}", command.join("-")));
    }
    let mut written: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected_files: Vec<String> = expected.iter().map(|p| format!("{p}.1")).collect();
    expected_files.sort();
    assert_eq!(written, expected_files);
    assert!(
        stdout.contains(&format!("wrote {} man pages", expected.len())),
        "{stdout}"
    );

    let man = Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    for page in &expected {
        let file = out.join(format!("{page}.1"));
        let roff = std::fs::read_to_string(&file).unwrap();
        assert!(roff.contains(&format!(".TH {page} 1 ")), "{page}: {roff}");
        assert!(roff.contains(".SH NAME\n"), "{page}");
        assert!(
            roff.contains(&format!("\n{} \\- ", page.replace('-', "\\-"))),
            "{page}: {roff}"
        );
        assert!(roff.contains(".SH SYNOPSIS\n"), "{page}");
        if man {
            let o = Command::new("man")
                .arg("-l")
                .arg(&file)
                .env("MANWIDTH", "100")
                .env("MANPAGER", "cat")
                .env("PAGER", "cat")
                .output()
                .unwrap();
            let (shown, err) = text(&o);
            assert!(o.status.success(), "man -l {page}: {err}");
            assert!(err.is_empty(), "man -l {page}: {err}");
            assert!(
                shown.contains("NAME") && shown.contains("SYNOPSIS"),
                "{page}: {shown}"
            );
        }
    }
    // The pages list what the commands take.
    let page = |p: &str| std::fs::read_to_string(out.join(format!("{p}.1"))).unwrap();
    assert!(page("kirikae-accounts-check").contains("\\-\\-mfa\\-code"));
    assert!(!page("kirikae-mask-run").contains("mfa"));
    assert!(page("kirikae-sweep-show").contains("html"));
    assert!(!page("kirikae-accounts-check").contains("html"));

    // --out must be a directory.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let o = kirikae()
        .arg("man")
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{:?}", text(&o));
    assert!(text(&o).1.contains("(--out)"), "{:?}", text(&o));
}
