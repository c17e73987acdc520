//! The comparison behind `kirikae accounts drift`: live IAM of one account, as read (policy
//! documents as IAM returns them, URL-encoded or not), against what bootstrap emits for it, plus
//! lint rules on trust and group policies that hold whatever the code says. No AWS calls here:
//! the reading side gives a [`LiveAccount`]; this says what is wrong, how bad, and how to fix it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::policy::{decode, normalise};
use crate::{AccountKind, Structure, Trust, MANAGED_TAG_KEY, MANAGED_TAG_VALUE};

/// One role as read from IAM.
#[derive(Debug, Clone, Default)]
pub struct LiveRole {
    pub path: String,
    /// `AssumeRolePolicyDocument` as returned (URL-encoded JSON on AWS).
    pub trust_policy: String,
    pub max_session_seconds: u32,
    pub tags: BTreeMap<String, String>,
    /// Inline policy name → document as returned.
    pub inline_policies: BTreeMap<String, String>,
    pub attached_policies: Vec<String>,
}

impl LiveRole {
    /// Marked as kirikae's: the tag bootstrap puts on every role, or a path of its own (a role
    /// under `/` is kirikae's only by its tag).
    pub fn is_kirikaes(&self, s: &Structure) -> bool {
        self.tags.get(MANAGED_TAG_KEY).map(String::as_str) == Some(MANAGED_TAG_VALUE)
            || (s.path != "/" && self.path.starts_with(&s.path))
    }
}

/// One group of the jump account as read from IAM.
#[derive(Debug, Clone, Default)]
pub struct LiveGroup {
    pub inline_policies: BTreeMap<String, String>,
    pub attached_policies: Vec<String>,
}

/// What was read in one account: its roles (or groups, in the jump account) by name; a name
/// bootstrap emits and IAM does not have is absent. Roles and groups bootstrap does not emit
/// are here too when they are under kirikae's path (or, roles, carry its tag): the reader lists
/// them, and they are findings.
#[derive(Debug, Clone, Default)]
pub struct LiveAccount {
    pub roles: BTreeMap<String, LiveRole>,
    pub groups: BTreeMap<String, LiveGroup>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One thing wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The account's name in `[accounts]` (`jump` for the jump account).
    pub account: String,
    /// `role/<name>`, `role/<name>/policy/<policy>`, `group/<name>` ...
    pub resource: String,
    pub severity: Severity,
    /// A short stable name of the rule, e.g. `trust-without-mfa`.
    pub rule: &'static str,
    pub message: String,
    pub fix: String,
}

/// The findings of a member account (`kind` is `Member` or `MemberProtected`).
pub fn check_member(
    s: &Structure,
    account: &str,
    kind: AccountKind,
    live: &LiveAccount,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut find = |resource: String, severity, rule, message: String, fix: String| {
        out.push(Finding {
            account: account.to_string(),
            resource,
            severity,
            rule,
            message,
            fix,
        })
    };
    let redeploy = format!(
        "redeploy the {} template (kirikae accounts bootstrap)",
        kind.name()
    );
    let p = s.parameters(kind);
    // Looser than configured is an error in a protected account, a warning elsewhere.
    let loose = if kind == AccountKind::MemberProtected {
        Severity::Error
    } else {
        Severity::Warning
    };
    for spec in &s.roles {
        let res = format!("role/{}", spec.name);
        let Some(role) = live.roles.get(&spec.name) else {
            find(
                res,
                Severity::Error,
                "role-missing",
                format!("the role {} does not exist", spec.name),
                redeploy.clone(),
            );
            continue;
        };
        let trust = match decode(&role.trust_policy) {
            Ok(t) => t,
            Err(e) => {
                find(
                    res,
                    Severity::Error,
                    "trust-unreadable",
                    format!("the trust policy cannot be read: {e}"),
                    redeploy.clone(),
                );
                continue;
            }
        };
        let expected = s.resolved(kind, &spec.trust_policy);
        let mut specific = false;
        for st in statements(&trust)
            .iter()
            .filter(|st| st["Effect"] == "Allow")
        {
            for principal in principals(st) {
                if principal == "*" || principal.contains(":*:") || principal.ends_with('*') {
                    specific = true;
                    find(
                        res.clone(),
                        Severity::Error,
                        "wildcard-principal",
                        format!("the trust policy allows the principal {principal:?}"),
                        format!("remove it; {redeploy}"),
                    );
                } else if principal.starts_with("AROA") || principal.starts_with("AIDA") {
                    specific = true;
                    find(
                        res.clone(),
                        Severity::Error,
                        "deleted-principal",
                        format!(
                            "the trust policy names {principal}, the id IAM shows for a \
                             principal that was deleted (recreating it does not restore trust)"
                        ),
                        format!("remove it; {redeploy}"),
                    );
                } else if !allowed_principal(&spec.trust, &p.jump_account_id, &principal) {
                    specific = true;
                    find(
                        res.clone(),
                        Severity::Error,
                        "unexpected-principal",
                        format!("the trust policy allows {principal}, which the code does not"),
                        format!("remove it; {redeploy}"),
                    );
                }
            }
            if spec.trust == Trust::JumpWithMfa {
                let cond = &st["Condition"];
                let mfa = ["Bool"].iter().any(|op| {
                    cond[op]["aws:MultiFactorAuthPresent"]
                        .to_string()
                        .contains("true")
                });
                if !mfa {
                    specific = true;
                    let if_exists =
                        cond["BoolIfExists"]["aws:MultiFactorAuthPresent"] != Value::Null;
                    find(
                        res.clone(),
                        Severity::Error,
                        "trust-without-mfa",
                        if if_exists {
                            "the trust policy tests MFA with BoolIfExists, which long-term keys \
                             (no MFA key at all) pass"
                                .into()
                        } else {
                            "the trust policy does not require MFA (aws:MultiFactorAuthPresent)"
                                .into()
                        },
                        format!("require \"Bool\": {{\"aws:MultiFactorAuthPresent\": \"true\"}}; {redeploy}"),
                    );
                }
                let age = ["NumericLessThan", "NumericLessThanEquals"]
                    .iter()
                    .filter_map(|op| number(&cond[op]["aws:MultiFactorAuthAge"]))
                    .min();
                match age {
                    Some(a) if a <= u64::from(p.mfa_max_age_seconds) => {}
                    other => {
                        specific = true;
                        find(
                            res.clone(),
                            loose,
                            "mfa-age-too-long",
                            match other {
                                Some(a) => format!(
                                    "the trust policy accepts an MFA sign-in {a} s old; at most {} \
                                     s is configured",
                                    p.mfa_max_age_seconds
                                ),
                                None => {
                                    "the trust policy sets no aws:MultiFactorAuthAge bound".into()
                                }
                            },
                            format!(
                                "bound aws:MultiFactorAuthAge to {} s; {redeploy}",
                                p.mfa_max_age_seconds
                            ),
                        );
                    }
                }
            }
        }
        if !specific && normalise(&trust) != normalise(&expected) {
            find(
                res.clone(),
                Severity::Warning,
                "trust-differs",
                "the trust policy differs from the code".into(),
                redeploy.clone(),
            );
        }
        let max = spec.max_session_seconds.unwrap_or(p.max_session_seconds);
        if role.max_session_seconds > max {
            find(
                res.clone(),
                loose,
                "session-too-long",
                format!(
                    "MaxSessionDuration is {} s; at most {max} s is configured",
                    role.max_session_seconds
                ),
                format!("set MaxSessionDuration to {max}; {redeploy}"),
            );
        }
        let expected_inline = spec
            .inline_policies
            .iter()
            .map(|(n, d)| (n.clone(), normalise(&s.resolved(kind, d))))
            .collect::<BTreeMap<_, _>>();
        for (name, text) in &role.inline_policies {
            let r = format!("{res}/policy/{name}");
            match expected_inline.get(name) {
                None => find(
                    r,
                    Severity::Error,
                    "inline-policy-not-in-code",
                    format!("the inline policy {name} is not in the code (added by hand?)"),
                    format!("delete it (aws iam delete-role-policy --role-name {} --policy-name {name}), or put what it grants into kirikae.toml", spec.name),
                ),
                Some(want) if decode(text).map(|d| normalise(&d)).ok().as_ref() != Some(want) => find(
                    r,
                    Severity::Error,
                    "inline-policy-differs",
                    format!("the inline policy {name} differs from the code"),
                    redeploy.clone(),
                ),
                Some(_) => {}
            }
        }
        for name in expected_inline
            .keys()
            .filter(|n| !role.inline_policies.contains_key(*n))
        {
            find(
                format!("{res}/policy/{name}"),
                Severity::Warning,
                "inline-policy-missing",
                format!("the inline policy {name} is missing"),
                redeploy.clone(),
            );
        }
        let want = spec.managed_policies.iter().collect::<BTreeSet<_>>();
        for arn in role.attached_policies.iter().filter(|a| !want.contains(a)) {
            find(
                format!("{res}/attached/{arn}"),
                Severity::Error,
                "attached-policy-not-in-code",
                format!("the managed policy {arn} is attached but not in the code (attached by hand?)"),
                format!("detach it (aws iam detach-role-policy --role-name {} --policy-arn {arn}), or add it to managed_policies in kirikae.toml", spec.name),
            );
        }
        for arn in want.iter().filter(|a| !role.attached_policies.contains(a)) {
            find(
                format!("{res}/attached/{arn}"),
                Severity::Warning,
                "attached-policy-missing",
                format!("the managed policy {arn} is not attached"),
                redeploy.clone(),
            );
        }
    }
    let in_code = s
        .roles
        .iter()
        .map(|r| r.name.as_str())
        .collect::<BTreeSet<_>>();
    for (name, role) in &live.roles {
        if in_code.contains(name.as_str()) || !role.is_kirikaes(s) {
            continue;
        }
        let trusted = decode(&role.trust_policy)
            .map(|t| {
                statements(&t)
                    .iter()
                    .flat_map(principals)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        find(
            format!("role/{name}"),
            Severity::Error,
            "role-not-in-code",
            format!(
                "the role {name} ({}{name}) is marked as kirikae's but bootstrap does not emit it; \
                 it trusts {}",
                role.path,
                if trusted.is_empty() { "nobody readable" } else { &trusted }
            ),
            format!(
                "delete it (detach and delete its policies, then aws iam delete-role --role-name \
                 {name}), or add its kind to [bootstrap.role_kinds] in kirikae.toml and redeploy"
            ),
        );
    }
    out
}

/// The findings of the jump account's groups.
pub fn check_jump(s: &Structure, live: &LiveAccount) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut find = |resource: String, severity, rule, message: String, fix: String| {
        out.push(Finding {
            account: "jump".into(),
            resource,
            severity,
            rule,
            message,
            fix,
        })
    };
    let redeploy = "redeploy the jump template (kirikae accounts bootstrap)".to_string();
    for g in &s.groups {
        let res = format!("group/{}", g.name);
        let Some(group) = live.groups.get(&g.name) else {
            find(
                res,
                Severity::Error,
                "group-missing",
                format!("the group {} does not exist", g.name),
                redeploy.clone(),
            );
            continue;
        };
        let want = normalise(&s.resolved(AccountKind::Jump, &g.policy));
        for (name, text) in &group.inline_policies {
            let r = format!("{res}/policy/{name}");
            let Ok(doc) = decode(text) else {
                find(
                    r,
                    Severity::Error,
                    "policy-unreadable",
                    format!("the policy {name} cannot be read"),
                    redeploy.clone(),
                );
                continue;
            };
            let mut specific = false;
            for st in statements(&doc).iter().filter(|st| st["Effect"] == "Allow") {
                let actions = strings(&st["Action"]);
                if !actions
                    .iter()
                    .any(|a| a == "*" || a == "sts:*" || a.eq_ignore_ascii_case("sts:AssumeRole"))
                {
                    continue;
                }
                if strings(&st["Resource"]).iter().any(|r| r.contains('*')) {
                    specific = true;
                    find(
                        r.clone(),
                        Severity::Error,
                        "assume-role-on-wildcard",
                        format!("the policy {name} allows sts:AssumeRole on a wildcard resource"),
                        format!("allow exactly the role ARNs; {redeploy}"),
                    );
                }
                if !st["Condition"]["Bool"]["aws:MultiFactorAuthPresent"]
                    .to_string()
                    .contains("true")
                {
                    specific = true;
                    find(r.clone(), Severity::Error, "assume-role-without-mfa",
                        format!("the policy {name} allows sts:AssumeRole without MFA"),
                        format!("add \"Bool\": {{\"aws:MultiFactorAuthPresent\": \"true\"}}; {redeploy}"));
                }
            }
            if name != &g.policy_name {
                find(r, Severity::Error, "inline-policy-not-in-code",
                    format!("the inline policy {name} is not in the code (added by hand?)"),
                    format!("delete it (aws iam delete-group-policy --group-name {} --policy-name {name})", g.name));
            } else if !specific && normalise(&doc) != want {
                find(
                    r,
                    Severity::Warning,
                    "inline-policy-differs",
                    format!("the policy {name} differs from the code (other roles or accounts)"),
                    redeploy.clone(),
                );
            }
        }
        if !group.inline_policies.contains_key(&g.policy_name) {
            find(
                format!("{res}/policy/{}", g.policy_name),
                Severity::Error,
                "inline-policy-missing",
                format!(
                    "the policy {} is missing: the group's members cannot switch",
                    g.policy_name
                ),
                redeploy.clone(),
            );
        }
        for arn in &group.attached_policies {
            find(
                format!("{res}/attached/{arn}"),
                Severity::Error,
                "attached-policy-not-in-code",
                format!(
                    "the managed policy {arn} is attached but not in the code (attached by hand?)"
                ),
                format!(
                    "detach it (aws iam detach-group-policy --group-name {} --policy-arn {arn})",
                    g.name
                ),
            );
        }
    }
    let in_code = s
        .groups
        .iter()
        .map(|g| g.name.as_str())
        .collect::<BTreeSet<_>>();
    for name in live.groups.keys().filter(|n| !in_code.contains(n.as_str())) {
        find(
            format!("group/{name}"),
            Severity::Error,
            "group-not-in-code",
            format!(
                "the group {name} is under kirikae's path {} but bootstrap does not emit it",
                s.path
            ),
            format!(
                "delete it (remove its members and policies, then aws iam delete-group \
                 --group-name {name}), or add a role kind for it in kirikae.toml and redeploy"
            ),
        );
    }
    out
}

fn statements(doc: &Value) -> Vec<Value> {
    match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::String(s) => vec![s.clone()],
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

/// Every principal of a statement (`"*"` for `"Principal": "*"`).
fn principals(st: &Value) -> Vec<String> {
    match &st["Principal"] {
        Value::String(s) => vec![s.clone()],
        Value::Object(o) => o.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

fn number(v: &Value) -> Option<u64> {
    strings(v).iter().filter_map(|s| s.parse().ok()).min()
}

fn allowed_principal(trust: &Trust, jump: &str, principal: &str) -> bool {
    match trust {
        Trust::JumpWithMfa => principal == jump || principal == format!("arn:aws:iam::{jump}:root"),
        Trust::Runner { principal: p } => principal == p,
    }
}
