//! `kirikae accounts drift` against the emulator: the story's world with the structure of
//! `[bootstrap]` put in place by IAM calls (as the emitted templates would), no drift right after;
//! then changes made by hand with IAM calls are found, each with its severity and fix.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use kirikae_bootstrap::{AccountKind, Structure};
use kirikae_config::{Config, ConfigSource};
use serde_json::{json, Value};
use support::{repo_root, run, text, venv_bin, Emulator};

const BOOTSTRAP: &str = r#"
[bootstrap]
jump_account = "100000000000"
path = "/"
mfa_max_age_seconds = 43200
protected_mfa_max_age_seconds = 3600

[bootstrap.role_kinds.ops]
managed_policies = ["arn:aws:iam::aws:policy/AdministratorAccess"]
"#;

/// Runs IAM calls in the emulator as `account` (the seed's way: an unknown key acts as root of
/// the account named by x-moto-account-id). `calls`: [[account, operation, {params}], ...].
fn iam(emu: &Emulator, calls: Value) {
    let script = r#"
import json, sys
from kirikae_emulator.seed import client
endpoint = sys.argv[1]
for account, op, params in json.load(sys.stdin):
    c = client("iam", endpoint, account)
    try:
        getattr(c, op)(**params)
    except c.exceptions.EntityAlreadyExistsException:
        pass
"#;
    let mut child = Command::new(venv_bin("python"))
        .args(["-c", script, &emu.url])
        .env("PYTHONPATH", repo_root().join("emulator"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(calls.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "IAM calls failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The IAM calls that leave every account as bootstrap's templates describe it.
fn deploy_calls(s: &Structure, config: &Config) -> Value {
    let mut calls = Vec::new();
    for a in config.accounts.values() {
        let kind = if a.protected {
            AccountKind::MemberProtected
        } else {
            AccountKind::Member
        };
        let id = a.id.as_str();
        for r in &s.roles {
            let trust = s.resolved(kind, &r.trust_policy).to_string();
            calls.push(
                json!([id, "create_role", {"RoleName": r.name, "Path": r.path,
                "AssumeRolePolicyDocument": trust}]),
            );
            calls.push(json!([id, "update_assume_role_policy", {"RoleName": r.name,
                "PolicyDocument": trust}]));
            calls.push(json!([id, "update_role", {"RoleName": r.name, "Description": "kirikae",
                "MaxSessionDuration": r.max_session_seconds.unwrap_or(s.parameters(kind).max_session_seconds)}]));
            for arn in &r.managed_policies {
                calls.push(
                    json!([id, "attach_role_policy", {"RoleName": r.name, "PolicyArn": arn}]),
                );
            }
        }
    }
    for g in &s.groups {
        calls.push(json!(["100000000000", "create_group", {"GroupName": g.name, "Path": g.path}]));
        calls.push(
            json!(["100000000000", "put_group_policy", {"GroupName": g.name,
            "PolicyName": g.policy_name,
            "PolicyDocument": s.resolved(AccountKind::Jump, &g.policy).to_string()}]),
        );
    }
    Value::Array(calls)
}

fn drift(config: &std::path::Path) -> (Option<i32>, Value, String) {
    let o = run(config, &["accounts", "drift", "--output", "json"]);
    let (out, err) = text(&o);
    let v = serde_json::from_str(&out).unwrap_or_else(|_| panic!("not JSON: {out}{err}"));
    (o.status.code(), v, err)
}

#[test]
fn drift_is_clean_after_deploy_and_finds_each_hand_made_change() {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config_path = emu.seed_story(dir.path());
    let mut text_now = std::fs::read_to_string(&config_path).unwrap();
    text_now.push_str(BOOTSTRAP);
    std::fs::write(&config_path, &text_now).unwrap();
    let config = Config::load(&config_path, ConfigSource::Flag).unwrap();
    let s = Structure::from_config(&config).unwrap();
    iam(&emu, deploy_calls(&s, &config));

    // Right after the deploy: nothing (IAM returns the documents URL-encoded and reordered).
    let (code, v, err) = drift(&config_path);
    assert_eq!(code, Some(0), "{v:#}{err}");
    assert_eq!(v["findings"], json!([]), "{v:#}");
    assert_eq!(v["unreadable"], json!([]), "{v:#}");

    // Changes by hand.
    let no_mfa = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::100000000000:root"}, "Action": "sts:AssumeRole"}]});
    let old_mfa = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::100000000000:root"}, "Action": "sts:AssumeRole",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                      "NumericLessThan": {"aws:MultiFactorAuthAge": "86400"}}}]});
    iam(
        &emu,
        json!([
            ["111111111111", "put_role_policy", {"RoleName": "ops", "PolicyName": "added-by-hand",
                "PolicyDocument": json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Action": "s3:*", "Resource": "*"}]}).to_string()}],
            ["111111111111", "update_assume_role_policy", {"RoleName": "ops",
                "PolicyDocument": old_mfa.to_string()}],
            ["111111111111", "update_role", {"RoleName": "ops", "Description": "kirikae",
                "MaxSessionDuration": 43200}],
            ["222222222222", "attach_role_policy", {"RoleName": "ops",
                "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
            ["100000000000", "put_group_policy", {"GroupName": "kirikae-ops",
                "PolicyName": "kirikae-assume-ops",
                "PolicyDocument": json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Action": "sts:AssumeRole", "Resource": "*"}]}).to_string()}],
        ]),
    );
    let (code, v, err) = drift(&config_path);
    assert_eq!(code, Some(1), "{v:#}{err}");
    let found = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["account"].as_str().unwrap().to_string(),
                f["resource"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect::<Vec<_>>();
    let has = |account: &str, resource: &str, rule: &str, severity: &str| {
        assert!(
            found.contains(&(
                account.into(),
                resource.into(),
                rule.into(),
                severity.into()
            )),
            "{account} {resource} {rule} {severity} not in {found:#?}"
        );
    };
    has(
        "prod",
        "role/ops/policy/added-by-hand",
        "inline-policy-not-in-code",
        "error",
    );
    has("prod", "role/ops", "mfa-age-too-long", "error");
    has("prod", "role/ops", "session-too-long", "error");
    has(
        "dev",
        "role/ops/attached/arn:aws:iam::aws:policy/ReadOnlyAccess",
        "attached-policy-not-in-code",
        "error",
    );
    has(
        "jump",
        "group/kirikae-ops/policy/kirikae-assume-ops",
        "assume-role-on-wildcard",
        "error",
    );
    has(
        "jump",
        "group/kirikae-ops/policy/kirikae-assume-ops",
        "assume-role-without-mfa",
        "error",
    );
    assert_eq!(found.len(), 6, "{found:#?}");
    assert!(v["findings"][0]["fix"].as_str().unwrap().len() > 10);

    // The table says the same, for people; and a trust without MFA in dev is found too.
    iam(
        &emu,
        json!([["222222222222", "update_assume_role_policy", {"RoleName": "ops",
            "PolicyDocument": no_mfa.to_string()}]]),
    );
    let o = run(&config_path, &["accounts", "drift"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    for needle in [
        "added-by-hand",
        "does not require MFA",
        "ACCOUNT",
        "FIX",
        "delete-role-policy --role-name ops --policy-name added-by-hand",
    ] {
        assert!(out.contains(needle), "{needle} missing:\n{out}");
    }
}
