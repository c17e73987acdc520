//! The CloudFormation flavour: one JSON template per account kind. The member templates take the
//! kind's values as parameters with defaults, so one StackSet per kind deploys them to every
//! account of that kind unchanged.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

use crate::{
    AccountKind, OutputFile, RoleSpec, Structure, JUMP_ACCOUNT_ID, MANAGED_TAG_KEY,
    MANAGED_TAG_VALUE, MAX_SESSION_DURATION, MFA_MAX_AGE_SECONDS,
};

/// `cloudformation/<kind>.json` for each account kind.
pub fn render(s: &Structure) -> Vec<OutputFile> {
    AccountKind::ALL
        .iter()
        .map(|&kind| OutputFile {
            path: PathBuf::from(format!("cloudformation/{}.json", kind.name())),
            text: format!(
                "{}\n",
                serde_json::to_string_pretty(&template(s, kind)).expect("JSON values serialise")
            ),
        })
        .collect()
}

/// The template of one account kind.
pub fn template(s: &Structure, kind: AccountKind) -> Value {
    let mut resources = Map::new();
    let mut outputs = Map::new();
    let mut template = Map::new();
    template.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
    match kind {
        AccountKind::Jump => {
            template.insert(
                "Description".into(),
                json!(format!(
                    "kirikae: the jump account's groups, each allowed to switch (with MFA) into \
                     exactly its role in {} accounts",
                    s.accounts.len()
                )),
            );
            for g in &s.groups {
                let id = logical_id(&g.name, "Group", &resources);
                resources.insert(
                    id.clone(),
                    json!({
                        "Type": "AWS::IAM::Group",
                        "Properties": {
                            "GroupName": g.name,
                            "Path": g.path,
                            "Policies": [{
                                "PolicyName": g.policy_name,
                                "PolicyDocument": intrinsic(&g.policy),
                            }]
                        }
                    }),
                );
                outputs.insert(
                    id.clone(),
                    json!({"Description": format!("The group that may assume {}", g.role),
                           "Value": {"Fn::GetAtt": [id, "Arn"]}}),
                );
            }
        }
        AccountKind::Member | AccountKind::MemberProtected => {
            let p = s.parameters(kind);
            let protected = kind == AccountKind::MemberProtected;
            template.insert(
                "Description".into(),
                json!(format!(
                    "kirikae: the switch roles of {} account, trusting only the jump account with MFA",
                    if protected { "a protected" } else { "an ordinary" }
                )),
            );
            template.insert(
                "Parameters".into(),
                json!({
                    JUMP_ACCOUNT_ID: {
                        "Type": "String",
                        "Description": "The account people sign in to; the only one trusted",
                        "AllowedPattern": "^[0-9]{12}$",
                        "Default": p.jump_account_id,
                    },
                    MFA_MAX_AGE_SECONDS: {
                        "Type": "Number",
                        "Description": "The oldest MFA sign-in (seconds) a switch accepts",
                        "MinValue": 60,
                        "MaxValue": kirikae_config::MAX_MFA_AGE_SECONDS,
                        "Default": p.mfa_max_age_seconds,
                    },
                    MAX_SESSION_DURATION: {
                        "Type": "Number",
                        "Description": "The switch roles' MaxSessionDuration (seconds)",
                        "MinValue": 3600,
                        "MaxValue": 43200,
                        "Default": p.max_session_seconds,
                    }
                }),
            );
            for r in &s.roles {
                let id = logical_id(&r.name, "Role", &resources);
                resources.insert(id.clone(), role(r));
                outputs.insert(
                    id.clone(),
                    json!({"Description": format!("The role {}", r.name),
                           "Value": {"Fn::GetAtt": [id, "Arn"]}}),
                );
            }
        }
    }
    template.insert("Resources".into(), Value::Object(resources));
    template.insert("Outputs".into(), Value::Object(outputs));
    Value::Object(template)
}

fn role(r: &RoleSpec) -> Value {
    let mut props = Map::new();
    props.insert("RoleName".into(), json!(r.name));
    props.insert("Path".into(), json!(r.path));
    props.insert(
        "AssumeRolePolicyDocument".into(),
        intrinsic(&r.trust_policy),
    );
    props.insert(
        "MaxSessionDuration".into(),
        match r.max_session_seconds {
            Some(s) => json!(s),
            None => json!({"Ref": MAX_SESSION_DURATION}),
        },
    );
    if !r.managed_policies.is_empty() {
        props.insert("ManagedPolicyArns".into(), json!(r.managed_policies));
    }
    if !r.inline_policies.is_empty() {
        props.insert(
            "Policies".into(),
            Value::Array(
                r.inline_policies
                    .iter()
                    .map(
                        |(name, doc)| json!({"PolicyName": name, "PolicyDocument": intrinsic(doc)}),
                    )
                    .collect(),
            ),
        );
    }
    props.insert(
        "Tags".into(),
        json!([{"Key": MANAGED_TAG_KEY, "Value": MANAGED_TAG_VALUE}]),
    );
    json!({"Type": "AWS::IAM::Role", "Properties": props})
}

/// A placeholder document as CloudFormation: every string holding `${...}` becomes `Fn::Sub`
/// (whose `${Name}` syntax the placeholders already use).
pub fn intrinsic(doc: &Value) -> Value {
    match doc {
        Value::String(s) if s.contains("${") => json!({"Fn::Sub": s}),
        Value::Array(a) => Value::Array(a.iter().map(intrinsic).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), intrinsic(v))).collect())
        }
        other => other.clone(),
    }
}

/// The inverse of [`intrinsic`] (for tests and reading a template back): `Fn::Sub` strings back
/// to placeholder strings, `Ref` to `${Name}`.
pub fn placeholder_form(doc: &Value) -> Value {
    match doc {
        Value::Object(o) if o.len() == 1 && o.contains_key("Fn::Sub") => o["Fn::Sub"].clone(),
        Value::Object(o) if o.len() == 1 && o.contains_key("Ref") => {
            json!(format!("${{{}}}", o["Ref"].as_str().unwrap_or_default()))
        }
        Value::Array(a) => Value::Array(a.iter().map(placeholder_form).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), placeholder_form(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A logical id from an IAM name: its letters and digits in CamelCase plus `suffix`, made unique.
fn logical_id(name: &str, suffix: &str, taken: &Map<String, Value>) -> String {
    let mut base = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            base.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    let base = format!("{base}{suffix}");
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains_key(&id) {
        id = format!("{base}{n}");
        n += 1;
    }
    id
}
