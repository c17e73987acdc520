//! `[jump] unattended = true` against the emulator: credentials from the SDK's default chain (a
//! web identity token file, container credentials served on loopback), then a plain AssumeRole
//! into each account; with none of them, a clear error and never a prompt.
//!
//! The world (support/unattended_world.py): jump has GitHub Actions' OIDC provider and the role
//! `kirikae-runner` trusting it for `repo:example/shop:*`; prod and dev have `kirikae-unattended`
//! trusting `kirikae-runner` without an MFA condition.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{text, venv_bin, Emulator};

/// Every variable of the default chain, so the machine running the tests lends none of its own.
const CHAIN_VARS: [&str; 12] = [
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL_STS",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_CREDENTIAL_EXPIRATION",
];

fn world(args: &[&str]) -> String {
    support::world_script("unattended_world.py", args)
}

/// The emulator with the world built, and an unattended kirikae.toml in `dir`.
fn setup(dir: &Path) -> (Emulator, std::path::PathBuf) {
    let emu = Emulator::start();
    world(&["setup", &emu.url]);
    let config = dir.join("kirikae.toml");
    std::fs::write(
        &config,
        format!(
            "[aws]\nregion = \"ap-northeast-1\"\nendpoint_url = \"{}\"\n\n\
             [jump]\nunattended = true\n\n[state]\ndir = \"state\"\n\n\
             [accounts.prod]\nid = \"111111111111\"\nrole = \"kirikae-unattended\"\nalias = \"shop-prod\"\n\n\
             [accounts.dev]\nid = \"222222222222\"\nrole = \"kirikae-unattended\"\nalias = \"shop-dev\"\n",
            emu.url
        ),
    )
    .unwrap();
    (emu, config)
}

/// kirikae with only `env` of the chain's variables, a HOME with no ~/.aws, no stdin, and a
/// deadline: an unattended run that waited for a person would hang here, and fail the test.
fn unattended(config: &Path, home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = support::command(config, args);
    for var in CHAIN_VARS {
        c.env_remove(var);
    }
    c.env("HOME", home).envs(env.iter().copied());
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("kirikae {args:?} did not finish in 120 s: waiting for a person?");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn checks(o: &Output) -> serde_json::Value {
    let (out, err) = text(o);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"))
}

#[test]
fn a_web_identity_token_file_reaches_every_account_through_the_runner_role() {
    let dir = tempfile::tempdir().unwrap();
    let (_emu, config) = setup(dir.path());
    let token_file = dir.path().join("token");
    std::fs::write(
        &token_file,
        world(&["token", "repo:example/shop:ref:refs/heads/main"]),
    )
    .unwrap();
    let token_path = token_file.to_str().unwrap();
    let env = [
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token_path),
        (
            "AWS_ROLE_ARN",
            "arn:aws:iam::100000000000:role/kirikae-runner",
        ),
        ("AWS_ROLE_SESSION_NAME", "gha-nightly"),
    ];

    let o = unattended(
        &config,
        dir.path(),
        &env,
        &["accounts", "check", "--output", "json"],
    );
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let v = checks(&o);
    let arns: Vec<&str> = v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["assumed_arn"].as_str().unwrap_or("-"))
        .collect();
    // The role session is named after the runner's web identity session.
    assert_eq!(
        arns,
        [
            "arn:aws:sts::222222222222:assumed-role/kirikae-unattended/gha-nightly",
            "arn:aws:sts::111111111111:assumed-role/kirikae-unattended/gha-nightly",
        ]
    );

    // A command run as dev (the AWS CLI against the emulator) acts in dev as that role.
    let aws = venv_bin("aws");
    let o = unattended(
        &config,
        dir.path(),
        &env,
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
    let who: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(who["Account"], "222222222222");
    assert_eq!(
        who["Arn"],
        "arn:aws:sts::222222222222:assumed-role/kirikae-unattended/gha-nightly"
    );

    // A token of another repository is refused by the runner role's trust: the error names
    // the call and what to check, and the token itself is never printed.
    let other = world(&["token", "repo:someone-else/shop:ref:refs/heads/main"]);
    std::fs::write(&token_file, &other).unwrap();
    let o = unattended(
        &config,
        dir.path(),
        &env,
        &["accounts", "exec", "dev", "--", "true"],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        err.contains("AssumeRoleWithWebIdentity: access denied"),
        "{err}"
    );
    assert!(
        err.contains("arn:aws:iam::100000000000:role/kirikae-runner"),
        "{err}"
    );
    assert!(!err.contains(&other) && !out.contains(&other), "{err}");

    // A longer web identity session is asked for as configured: the runner role (default
    // MaxSessionDuration, one hour) refuses two hours, and the error says so.
    std::fs::write(
        &token_file,
        world(&["token", "repo:example/shop:ref:refs/heads/main"]),
    )
    .unwrap();
    support::edit(
        &config,
        "unattended = true\n",
        "unattended = true\nweb_identity_session_hours = 2\n",
    );
    let o = unattended(
        &config,
        dir.path(),
        &env,
        &["accounts", "exec", "dev", "--", "true"],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains("exceeds the MaxSessionDuration"), "{err}");
}

/// The (path, Authorization header) of each request a container endpoint received.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A container credentials endpoint on loopback (as ECS's agent serves them): answers every GET
/// with `body` and records each request's path and Authorization header.
fn container_endpoint(body: String) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/v2/credentials/task",
        listener.local_addr().unwrap().port()
    );
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap_or(0);
            let mut authorization = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("authorization") {
                        authorization = v.trim().to_string();
                    }
                }
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            record.lock().unwrap().push((path, authorization));
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, seen)
}

#[test]
fn container_credentials_from_a_loopback_endpoint_reach_every_account() {
    let dir = tempfile::tempdir().unwrap();
    let (emu, config) = setup(dir.path());
    // What an ECS task role session would be: here the runner role's, from a web identity.
    let token = world(&["token", "repo:example/shop:ref:refs/heads/main"]);
    let creds = world(&["runner-creds", &emu.url, &token, "ecs-task"]);
    let (url, seen) = container_endpoint(creds);
    let authorization = "container-auth-token-not-to-be-printed";
    let env = [
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url.as_str()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", authorization),
    ];

    let o = unattended(
        &config,
        dir.path(),
        &env,
        &["accounts", "check", "--output", "json"],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    let v = checks(&o);
    for (i, id) in [(0, "222222222222"), (1, "111111111111")] {
        assert_eq!(
            v["accounts"][i]["assumed_arn"],
            format!("arn:aws:sts::{id}:assumed-role/kirikae-unattended/ecs-task"),
            "{out}"
        );
    }
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the container endpoint was never called");
    for (path, auth) in &seen {
        assert_eq!(path, "/v2/credentials/task");
        assert_eq!(auth, authorization, "the authorization token was not sent");
    }
    // One session from the container serves both accounts.
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(!out.contains(authorization) && !err.contains(authorization));
}

#[test]
fn with_no_credentials_anywhere_the_run_fails_at_once_naming_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let (_emu, config) = setup(dir.path());
    let started = Instant::now();
    let o = unattended(
        &config,
        dir.path(),
        &[],
        &["accounts", "exec", "dev", "--", "true"],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    for part in [
        "no credentials for this unattended run",
        "AWS_ACCESS_KEY_ID is not set",
        "AWS_WEB_IDENTITY_TOKEN_FILE is not set",
        "container credentials",
        "the instance profile (EC2 instance metadata): skipped",
        "docs/config.md",
    ] {
        assert!(err.contains(part), "{part:?} missing: {err}");
    }
    assert!(!err.contains("MFA code"), "{err}");
    // Nothing waited: no instance metadata service probed, no terminal asked.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );

    // `accounts check` says the same for each account, with exit code 1.
    let o = unattended(
        &config,
        dir.path(),
        &[],
        &["accounts", "check", "--output", "json"],
    );
    assert_eq!(o.status.code(), Some(1), "{:?}", text(&o));
    let v = checks(&o);
    for a in v["accounts"].as_array().unwrap() {
        assert!(
            a["error"]
                .as_str()
                .unwrap()
                .contains("no credentials for this unattended run"),
            "{a}"
        );
    }
}
