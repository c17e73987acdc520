//! The drift comparison: the structure exactly as bootstrap emits it, returned the way IAM
//! returns it (URL-encoded, reordered, single values), shows no drift; each kind of hand-made
//! change is found, with its severity.

use std::collections::BTreeMap;
use std::path::Path;

use kirikae_bootstrap::drift::{
    check_jump, check_member, Finding, LiveAccount, LiveGroup, LiveRole, Severity,
};
use kirikae_bootstrap::{AccountKind, Structure};
use kirikae_config::Config;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[aws]
region = "ap-northeast-1"
[accounts.prod]
id = "111111111111"
role = "arn:aws:iam::111111111111:role/kirikae/ops"
protected = true
[accounts.dev]
id = "222222222222"
role = "arn:aws:iam::222222222222:role/kirikae/ops"
[bootstrap]
jump_account = "000000000000"
[bootstrap.role_kinds.ops]
managed_policies = ["arn:aws:iam::aws:policy/PowerUserAccess"]
[bootstrap.runner]
principal = "arn:aws:iam::000000000000:role/ci-nightly"
jobs = ["refresh-target"]
"#;

fn structure() -> Structure {
    let c = Config::from_str(CONFIG, Path::new("/srv/kirikae.toml")).unwrap();
    Structure::from_config(&c).unwrap()
}

/// As AWS returns a document: compact JSON, keys reordered, percent-encoded.
fn as_iam_returns(doc: &Value) -> String {
    let text = serde_json::to_string(doc).unwrap();
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The member account as bootstrap would leave it.
fn deployed(s: &Structure, kind: AccountKind) -> LiveAccount {
    let p = s.parameters(kind);
    let roles = s
        .roles
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                LiveRole {
                    path: r.path.clone(),
                    trust_policy: as_iam_returns(&s.resolved(kind, &r.trust_policy)),
                    max_session_seconds: r.max_session_seconds.unwrap_or(p.max_session_seconds),
                    tags: [(
                        kirikae_bootstrap::MANAGED_TAG_KEY.to_string(),
                        kirikae_bootstrap::MANAGED_TAG_VALUE.to_string(),
                    )]
                    .into(),
                    inline_policies: r
                        .inline_policies
                        .iter()
                        .map(|(n, d)| (n.clone(), as_iam_returns(&s.resolved(kind, d))))
                        .collect(),
                    attached_policies: r.managed_policies.clone(),
                },
            )
        })
        .collect();
    LiveAccount {
        roles,
        groups: BTreeMap::new(),
    }
}

fn jump_deployed(s: &Structure) -> LiveAccount {
    LiveAccount {
        roles: BTreeMap::new(),
        groups: s
            .groups
            .iter()
            .map(|g| {
                (
                    g.name.clone(),
                    LiveGroup {
                        inline_policies: BTreeMap::from([(
                            g.policy_name.clone(),
                            as_iam_returns(&s.resolved(AccountKind::Jump, &g.policy)),
                        )]),
                        attached_policies: vec![],
                    },
                )
            })
            .collect(),
    }
}

fn rules(f: &[Finding]) -> Vec<(&str, Severity, &str)> {
    f.iter()
        .map(|f| (f.rule, f.severity, f.resource.as_str()))
        .collect()
}

fn set_trust(live: &mut LiveAccount, role: &str, doc: Value) {
    live.roles.get_mut(role).unwrap().trust_policy = as_iam_returns(&doc);
}

#[test]
fn no_drift_right_after_deploy_in_any_shape_iam_returns() {
    let s = structure();
    for kind in [AccountKind::Member, AccountKind::MemberProtected] {
        let live = deployed(&s, kind);
        assert_eq!(check_member(&s, "dev", kind, &live), vec![]);
        // Another shape of the same trust: account id principal, one-element lists, no Sid,
        // plain JSON (as moto's ListRoles returns it).
        let mut live = live;
        let age = s.parameters(kind).mfa_max_age_seconds;
        live.roles.get_mut("ops").unwrap().trust_policy = json!({
            "Statement": {"Principal": {"AWS": ["000000000000"]}, "Effect": "Allow",
                "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": [age]},
                              "Bool": {"aws:MultiFactorAuthPresent": true}},
                "Action": ["sts:AssumeRole"]},
            "Version": "2012-10-17"})
        .to_string();
        assert_eq!(check_member(&s, "dev", kind, &live), vec![]);
    }
    assert_eq!(check_jump(&s, &jump_deployed(&s)), vec![]);
}

#[test]
fn each_hand_made_change_to_a_member_role_is_found() {
    let s = structure();
    let good = |kind| deployed(&s, kind);
    let mfa_trust = |principal: Value, cond: Value| {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": principal}, "Action": "sts:AssumeRole", "Condition": cond}]})
    };
    let ok_cond = json!({"Bool": {"aws:MultiFactorAuthPresent": "true"},
                         "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}});

    // Role missing.
    let mut live = good(AccountKind::Member);
    live.roles.remove("ops");
    assert_eq!(
        rules(&check_member(&s, "dev", AccountKind::Member, &live)),
        [("role-missing", Severity::Error, "role/ops")]
    );

    // Trust without MFA; BoolIfExists is not MFA.
    for cond in [
        json!({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}),
        json!({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"},
               "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}),
    ] {
        let mut live = good(AccountKind::Member);
        set_trust(
            &mut live,
            "ops",
            mfa_trust(json!("arn:aws:iam::000000000000:root"), cond),
        );
        let f = check_member(&s, "dev", AccountKind::Member, &live);
        assert_eq!(
            rules(&f),
            [("trust-without-mfa", Severity::Error, "role/ops")]
        );
    }

    // MFA age too long: a warning in an ordinary account, an error in a protected one; a missing
    // bound likewise.
    for (kind, severity) in [
        (AccountKind::Member, Severity::Warning),
        (AccountKind::MemberProtected, Severity::Error),
    ] {
        let mut live = good(kind);
        set_trust(
            &mut live,
            "ops",
            mfa_trust(
                json!("arn:aws:iam::000000000000:root"),
                json!({"Bool": {"aws:MultiFactorAuthPresent": "true"},
                       "NumericLessThan": {"aws:MultiFactorAuthAge": "129600"}}),
            ),
        );
        assert_eq!(
            rules(&check_member(&s, "x", kind, &live)),
            [("mfa-age-too-long", severity, "role/ops")]
        );
        set_trust(
            &mut live,
            "ops",
            mfa_trust(
                json!("arn:aws:iam::000000000000:root"),
                json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
            ),
        );
        let f = check_member(&s, "x", kind, &live);
        assert_eq!(rules(&f), [("mfa-age-too-long", severity, "role/ops")]);
        assert!(
            f[0].message.contains("no aws:MultiFactorAuthAge bound"),
            "{f:?}"
        );
    }

    // Wildcard, unexpected and deleted principals.
    for (principal, rule) in [
        (json!("*"), "wildcard-principal"),
        (
            json!("arn:aws:iam::333333333333:root"),
            "unexpected-principal",
        ),
        (json!("AROAEXAMPLEDELETED01"), "deleted-principal"),
    ] {
        let mut live = good(AccountKind::Member);
        set_trust(
            &mut live,
            "ops",
            mfa_trust(
                json!(["arn:aws:iam::000000000000:root", principal]),
                ok_cond.clone(),
            ),
        );
        assert_eq!(
            rules(&check_member(&s, "dev", AccountKind::Member, &live)),
            [(rule, Severity::Error, "role/ops")],
            "{principal}"
        );
    }
    // The runner trusts only its principal.
    let mut live = good(AccountKind::Member);
    set_trust(
        &mut live,
        "kirikae-unattended",
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": "arn:aws:iam::000000000000:role/someone-else"}}]}),
    );
    assert_eq!(
        rules(&check_member(&s, "dev", AccountKind::Member, &live)),
        [(
            "unexpected-principal",
            Severity::Error,
            "role/kirikae-unattended"
        )]
    );

    // Session over the maximum.
    let mut live = good(AccountKind::MemberProtected);
    live.roles.get_mut("ops").unwrap().max_session_seconds = 43200;
    let f = check_member(&s, "prod", AccountKind::MemberProtected, &live);
    assert_eq!(
        rules(&f),
        [("session-too-long", Severity::Error, "role/ops")]
    );
    assert!(f[0].fix.contains("set MaxSessionDuration to 3600"), "{f:?}");

    // Policies added by hand.
    let mut live = good(AccountKind::Member);
    let ops = live.roles.get_mut("ops").unwrap();
    ops.inline_policies.insert(
        "backdoor".into(),
        as_iam_returns(&json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})),
    );
    ops.attached_policies
        .push("arn:aws:iam::aws:policy/AdministratorAccess".into());
    let f = check_member(&s, "dev", AccountKind::Member, &live);
    assert_eq!(
        rules(&f),
        [
            (
                "inline-policy-not-in-code",
                Severity::Error,
                "role/ops/policy/backdoor"
            ),
            (
                "attached-policy-not-in-code",
                Severity::Error,
                "role/ops/attached/arn:aws:iam::aws:policy/AdministratorAccess"
            ),
        ]
    );
    assert!(f[0]
        .fix
        .contains("delete-role-policy --role-name ops --policy-name backdoor"));
    assert_eq!(f[0].account, "dev");

    // The runner's job policy changed by hand.
    let mut live = good(AccountKind::Member);
    live.roles
        .get_mut("kirikae-unattended")
        .unwrap()
        .inline_policies
        .insert(
            "kirikae-refresh-target".into(),
            as_iam_returns(&json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds:*", "Resource": "*"}]})),
        );
    assert_eq!(
        rules(&check_member(&s, "dev", AccountKind::Member, &live)),
        [(
            "inline-policy-differs",
            Severity::Error,
            "role/kirikae-unattended/policy/kirikae-refresh-target"
        )]
    );
}

#[test]
fn jump_group_policies_on_wildcards_or_without_mfa_are_found() {
    let s = structure();
    let set = |doc: Value| {
        let mut live = jump_deployed(&s);
        live.groups
            .get_mut("kirikae-ops")
            .unwrap()
            .inline_policies
            .insert("kirikae-assume-ops".into(), as_iam_returns(&doc));
        live
    };
    let live = set(
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "sts:AssumeRole", "Resource": "*",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}),
    );
    assert_eq!(
        rules(&check_jump(&s, &live)),
        [(
            "assume-role-on-wildcard",
            Severity::Error,
            "group/kirikae-ops/policy/kirikae-assume-ops"
        )]
    );
    let live = set(
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": ["arn:aws:iam::111111111111:role/kirikae/ops", "arn:aws:iam::222222222222:role/kirikae/ops"]}]}),
    );
    assert_eq!(
        rules(&check_jump(&s, &live)),
        [(
            "assume-role-without-mfa",
            Severity::Error,
            "group/kirikae-ops/policy/kirikae-assume-ops"
        )]
    );
    let mut live = jump_deployed(&s);
    live.groups.clear();
    assert_eq!(
        rules(&check_jump(&s, &live)),
        [("group-missing", Severity::Error, "group/kirikae-ops")]
    );
}
