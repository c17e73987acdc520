//! `kirikae accounts` against the local emulator seeded with the story's world: a jump account
//! with hanako (MFA), prod and dev accounts with an `ops` role that requires MFA.

mod support;

use std::process::Command;

use support::{edit, run, text, venv_bin, Emulator};

#[test]
fn check_switches_into_every_account_with_one_mfa_code() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());

    let o = run(&config, &["accounts", "check"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("2 of 2 accounts reachable"), "{out}");
    for line in [
        "arn:aws:sts::111111111111:assumed-role/ops/hanako",
        "arn:aws:sts::222222222222:assumed-role/ops/hanako",
        "shop-prod (protected)",
    ] {
        assert!(out.contains(line), "{line} missing:\n{out}");
    }

    // The MFA session is cached (owner-only): the next run works without any code source.
    let sessions = dir.path().join("state/sessions");
    let files: Vec<_> = std::fs::read_dir(&sessions).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "one cached MFA session");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        files[0].metadata().unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text_before = std::fs::read_to_string(&config).unwrap();
    let without_command: String = text_before
        .lines()
        .filter(|l| !l.starts_with("mfa_command"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&config, without_command).unwrap();
    let o = run(&config, &["accounts", "check", "--output", "json"]);
    let (out, err) = text(&o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "cached session not used: {out}{err}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["accounts"][1]["name"], "prod");
    assert_eq!(v["accounts"][1]["account_id"], "111111111111");
    assert!(v["accounts"][1]["expires"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn check_names_the_account_that_fails_and_why() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    // `readonly` exists only in dev: switching into prod with it is refused.
    edit(&config, "role = \"ops\"", "role = \"readonly\"");

    let o = run(&config, &["accounts", "check"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("1 of 2 accounts reachable"), "{out}");
    assert!(
        out.contains("prod failed: AssumeRole: access denied"),
        "{out}"
    );
    assert!(
        out.contains("arn:aws:iam::111111111111:role/readonly"),
        "{out}"
    );
}

#[test]
fn without_mfa_the_roles_refuse_and_a_wrong_code_is_named() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());

    let o = run(&config, &["accounts", "check", "--mfa-code", "000000"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("MFA code refused"), "{out}");

    let original = std::fs::read_to_string(&config).unwrap();
    let no_mfa: String = original
        .lines()
        .filter(|l| !l.starts_with("mfa_"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&config, no_mfa).unwrap();
    let o = run(&config, &["accounts", "check"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("0 of 2 accounts reachable"), "{out}");
    assert!(out.contains("set [jump] mfa_serial"), "{out}");
}

#[test]
fn check_rides_out_throttling() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    emu.fault(r#"{"service":"sts","operation":"AssumeRole","nth":1,"times":2,"error":"Throttling","status":400,"message":"Rate exceeded"}"#);
    let o = run(&config, &["accounts", "check"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert_eq!(
        emu.fault_hits(),
        [2],
        "the throttling really happened and was retried"
    );
}

#[test]
fn exec_runs_a_command_as_the_account_and_returns_its_exit_code() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());

    let o = run(
        &config,
        &[
            "accounts",
            "exec",
            "dev",
            "--",
            "sh",
            "-c",
            "echo $KIRIKAE_ACCOUNT_ID; exit 7",
        ],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(7), "{out}{err}");
    assert_eq!(out.trim(), "222222222222");

    // The AWS CLI run this way acts in the dev account of the emulator.
    let aws = venv_bin("aws");
    let o = run(
        &config,
        &[
            "accounts",
            "exec",
            "shop-dev",
            "--",
            aws.to_str().unwrap(),
            "sts",
            "get-caller-identity",
            "--output",
            "json",
        ],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["Account"], "222222222222");
    assert_eq!(
        v["Arn"],
        "arn:aws:sts::222222222222:assumed-role/ops/hanako"
    );
}

#[test]
fn generated_profiles_work_with_the_real_aws_cli() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    let aws_config = dir.path().join("aws-config");
    std::fs::write(&aws_config, "[default]\noutput = json\n").unwrap();

    let o = run(
        &config,
        &[
            "accounts",
            "profiles",
            "--prefix",
            "story-",
            "--file",
            aws_config.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(std::fs::read_to_string(&aws_config)
        .unwrap()
        .starts_with("[default]\noutput = json\n"));

    // The CLI asks for the MFA code on its own (role_arn + mfa_serial); it reads it from stdin
    // when there is no terminal.
    let code = support::totp(dir.path());
    let mut child = Command::new(venv_bin("aws"))
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            "story-prod",
            "--output",
            "json",
        ])
        // The CLI caches assumed-role credentials under ~/.aws/cli/cache: a private HOME keeps
        // another run's (another emulator's) credentials out.
        .env("HOME", dir.path())
        .env("AWS_CONFIG_FILE", &aws_config)
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("credentials"),
        )
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{code}").unwrap();
    let o = child.wait_with_output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["Account"], "111111111111");
}

/// `-v`: one log line per AWS request on stderr (service, operation, account, region, duration,
/// attempts, throttles); a throttled call shows its retries; stdout is untouched and no secret of
/// the jump account's credentials file reaches the log, even at `-vv`.
#[test]
fn verbose_logs_every_aws_request_with_its_retries_and_no_secret() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    emu.fault(r#"{"service":"sts","operation":"AssumeRole","nth":1,"times":2,"error":"Throttling","status":400,"message":"Rate exceeded"}"#);

    let mut c = support::kirikae();
    let o = c
        .args(["accounts", "check", "-v", "--output", "json", "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    // stdout is still the JSON result alone.
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON only");
    assert_eq!(v["ok"], true);
    assert_eq!(emu.fault_hits(), [2]);

    let requests: Vec<&str> = err.lines().filter(|l| l.contains("aws request")).collect();
    // The jump account's session and its "who am I" (for the session name), a switch into each
    // of the two accounts, and a "who am I" in each: six requests, each logged once.
    assert_eq!(requests.len(), 6, "{err}");
    for line in &requests {
        for field in [
            "service=",
            "operation=",
            "account=",
            "region=ap-northeast-1",
            "duration_ms=",
            "attempts=",
            "throttles=",
        ] {
            assert!(line.contains(field), "{field} missing in {line}");
        }
        assert!(
            !line.contains('\x1b'),
            "no colours off a terminal: {line:?}"
        );
    }
    let line_of = |op: &str, account: &str| {
        requests
            .iter()
            .filter(|l| l.contains(&format!("operation={op} ")))
            .filter(|l| l.contains(&format!("account={account} ")))
            .count()
    };
    assert_eq!(line_of("GetSessionToken", "jump"), 1, "{err}");
    assert_eq!(line_of("GetCallerIdentity", "jump"), 1, "{err}");
    assert_eq!(line_of("AssumeRole", "jump"), 2, "{err}");
    assert_eq!(line_of("GetCallerIdentity", "111111111111"), 1, "{err}");
    assert_eq!(line_of("GetCallerIdentity", "222222222222"), 1, "{err}");
    // The two switches run at once: the fault throttled the first two AssumeRole attempts, and
    // the SDK retried them. Each AssumeRole line counts its own: attempts = throttles + 1, two
    // throttles in all; every other request went through at once.
    let field = |line: &str, name: &str| -> u32 {
        line.split(' ')
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    };
    let mut throttles = 0;
    for line in requests
        .iter()
        .filter(|l| l.contains("operation=AssumeRole "))
    {
        assert_eq!(
            field(line, "attempts"),
            field(line, "throttles") + 1,
            "{line}"
        );
        assert!(line.contains("outcome=ok"), "{line}");
        throttles += field(line, "throttles");
    }
    assert_eq!(throttles, 2, "{err}");
    assert!(
        requests
            .iter()
            .filter(|l| !l.contains("operation=AssumeRole "))
            .all(|l| l.contains("attempts=1 throttles=0")),
        "{err}"
    );

    // -vv: more log, still no secret: the jump account's keys (from its credentials file) never
    // appear, nor does any session token the emulator handed out.
    let o = run_env(&config, &["accounts", "check", "-vv"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(err.contains("aws request"), "{err}");
    let creds = std::fs::read_to_string(dir.path().join("credentials")).unwrap_or_else(|_| {
        let toml = std::fs::read_to_string(&config).unwrap();
        let file = toml
            .lines()
            .find_map(|l| l.strip_prefix("credentials_file = "))
            .expect("the seeded config names its credentials file")
            .trim_matches('"')
            .to_string();
        std::fs::read_to_string(file).unwrap()
    });
    let secrets: Vec<&str> = creds
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.trim() != "region")
        .map(|(_, v)| v.trim())
        .filter(|v| v.len() >= 8)
        .collect();
    assert!(
        !secrets.is_empty(),
        "the credentials file has keys: {creds}"
    );
    for secret in secrets {
        assert!(
            !err.contains(secret),
            "a credential reached the log:\n{err}"
        );
    }
    for marker in [
        "SessionToken",
        "SecretAccessKey",
        "x-amz-security-token",
        "Signature=",
    ] {
        assert!(!err.contains(marker), "{marker} reached the log:\n{err}");
    }
}

/// `run` with a clean log environment (`RUST_LOG` unset) and without colours asked for.
fn run_env(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    support::command(config, args)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// On a terminal (a pseudo-terminal from util-linux's `script`), the log is coloured unless
/// `NO_COLOR` is set; either way every request is still logged.
#[test]
fn verbose_log_on_a_terminal_honours_no_color() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = emu.seed_story(dir.path());
    let in_terminal = |no_color: bool| {
        let line = format!(
            "{} accounts check -v --config {}",
            env!("CARGO_BIN_EXE_kirikae"),
            config.display()
        );
        let mut c = Command::new("script");
        c.args(["-qefc", &line, "/dev/null"])
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null());
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let o = c.output().expect("util-linux script runs");
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(0), "{out}{err}");
        out
    };
    let coloured = in_terminal(false);
    assert!(coloured.contains("aws request"), "{coloured}");
    assert!(
        coloured.contains("\x1b["),
        "no colours on a terminal:\n{coloured:?}"
    );
    let plain = in_terminal(true);
    // The first run's MFA session is reused: no GetSessionToken, five requests.
    assert_eq!(
        plain.lines().filter(|l| l.contains("aws request")).count(),
        5,
        "{plain}"
    );
    assert!(
        !plain.contains("\x1b["),
        "colours despite NO_COLOR:\n{plain:?}"
    );
}
