//! `kirikae accounts drift` against the emulator: the story's world, whose account structure the
//! seed deploys from kirikae's own CloudFormation output (one stack per account); no drift right
//! after; then changes made by hand with IAM calls are found, each with its severity and fix.

mod support;

use serde_json::{json, Value};
use support::{emulator_python, run, stdout_of, text, Emulator};

/// Runs IAM calls in the emulator as `account` (the seed's way: an unknown key acts as root of
/// the account named by x-moto-account-id). `calls`: [[account, operation, {params}], ...].
fn iam(emu: &Emulator, calls: Value) {
    let script = r#"
import json, sys
from kirikae_emulator.seed import client
endpoint = sys.argv[1]
for account, op, params in json.loads(sys.argv[2]):
    c = client("iam", endpoint, account)
    try:
        getattr(c, op)(**params)
    except c.exceptions.EntityAlreadyExistsException:
        pass
"#;
    emu.python(script, &[&calls.to_string()]);
}

/// Appends the story's `[bootstrap]` (the section its deployed templates were written from).
fn append_story_bootstrap(config: &std::path::Path) {
    let bootstrap = stdout_of(
        emulator_python().args([
            "-c",
            "from kirikae_emulator.seed import STORY_BOOTSTRAP; print(STORY_BOOTSTRAP)",
        ]),
        "STORY_BOOTSTRAP",
    );
    let mut text = std::fs::read_to_string(config).unwrap();
    text.push('\n');
    text.push_str(&bootstrap);
    text.push('\n');
    std::fs::write(config, text).unwrap();
}

/// A role's trust policy as IAM returns it (boto3 decodes it).
fn read_trust(emu: &Emulator, account: &str, role: &str) -> Value {
    let out = emu.python(
        "import json, sys\nfrom kirikae_emulator.seed import client\n\
         c = client('iam', sys.argv[1], sys.argv[2])\n\
         print(json.dumps(c.get_role(RoleName=sys.argv[3])['Role']['AssumeRolePolicyDocument']))",
        &[account, role],
    );
    serde_json::from_str(&out).unwrap()
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
    append_story_bootstrap(&config_path);

    // Right after the deploy: nothing (IAM returns the documents URL-encoded and reordered; the
    // dev team's own `readonly` role, neither tagged nor under kirikae's path, is not looked at).
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
            // A role someone made with kirikae's tag that bootstrap does not emit.
            ["222222222222", "create_role", {"RoleName": "ops-old", "Path": "/",
                "AssumeRolePolicyDocument": no_mfa.to_string(),
                "Tags": [{"Key": "managed-by", "Value": "kirikae"}]}],
            // dev's ops trusts a CI role of the jump account too, which is then deleted: IAM
            // shows its unique id (AROA...) in the trust from then on.
            ["100000000000", "create_role", {"RoleName": "ci-deploy",
                "AssumeRolePolicyDocument": no_mfa.to_string()}],
        ]),
    );
    let mut with_ci = read_trust(&emu, "222222222222", "ops");
    let mfa = with_ci["Statement"][0]["Condition"].clone();
    with_ci["Statement"].as_array_mut().unwrap().push(
        json!({"Effect": "Allow", "Action": "sts:AssumeRole", "Condition": mfa,
            "Principal": {"AWS": "arn:aws:iam::100000000000:role/ci-deploy"}}),
    );
    iam(
        &emu,
        json!([
            ["222222222222", "update_assume_role_policy", {"RoleName": "ops",
                "PolicyDocument": with_ci.to_string()}],
            ["100000000000", "delete_role", {"RoleName": "ci-deploy"}],
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
    has("dev", "role/ops-old", "role-not-in-code", "error");
    has("dev", "role/ops", "deleted-principal", "error");
    let deleted = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "deleted-principal")
        .unwrap();
    assert!(
        deleted["message"].as_str().unwrap().contains("AROA"),
        "{deleted:#}"
    );
    assert_eq!(found.len(), 8, "{found:#?}");
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
