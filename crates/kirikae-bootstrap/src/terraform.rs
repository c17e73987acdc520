//! The Terraform flavour: one module per account kind (`terraform/<kind>/main.tf`), with the
//! kind's values as variable defaults. Policies are attached through the `*_exclusive`
//! resources, so `terraform plan` itself shows a policy added by hand (plain attachments do not),
//! and the text is laid out as `terraform fmt` lays it out (a test runs `terraform fmt -check`).
//! The policy documents are heredoc JSON, the same documents as the CloudFormation templates'.

use std::path::PathBuf;

use serde_json::Value;

use crate::{
    AccountKind, GroupSpec, OutputFile, RoleSpec, Structure, JUMP_ACCOUNT_ID, MANAGED_TAG_KEY,
    MANAGED_TAG_VALUE, MAX_SESSION_DURATION, MFA_MAX_AGE_SECONDS, PARTITION,
};

/// The oldest AWS provider with the `*_exclusive` resources this output uses.
pub const AWS_PROVIDER_VERSION: &str = ">= 5.72";

/// How a placeholder is written in Terraform.
pub fn reference(placeholder: &str) -> Option<&'static str> {
    match placeholder {
        PARTITION => Some("data.aws_partition.current.partition"),
        JUMP_ACCOUNT_ID => Some("var.jump_account_id"),
        MFA_MAX_AGE_SECONDS => Some("var.mfa_max_age_seconds"),
        MAX_SESSION_DURATION => Some("var.max_session_duration"),
        _ => None,
    }
}

/// `terraform/<kind>/main.tf` for each account kind.
pub fn render(s: &Structure) -> Vec<OutputFile> {
    AccountKind::ALL
        .iter()
        .map(|&kind| OutputFile {
            path: PathBuf::from(format!("terraform/{}/main.tf", kind.name())),
            text: module(s, kind),
        })
        .collect()
}

/// One piece of an HCL body.
enum Item {
    /// `key = value`, value already HCL on one line.
    Attr(String, String),
    /// `key = <<-EOT` ... `EOT`.
    Heredoc(String, String),
    /// `key = {` entries `}` (entries `key = value`).
    Map(String, Vec<(String, String)>),
    Block(String, Vec<Item>),
    Blank,
}

fn attr(k: &str, v: impl Into<String>) -> Item {
    Item::Attr(k.to_string(), v.into())
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

fn list(items: &[String]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|i| quoted(i))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The module of one account kind.
pub fn module(s: &Structure, kind: AccountKind) -> String {
    let mut top = vec![
        Item::Block(
            "terraform".into(),
            vec![Item::Block(
                "required_providers".into(),
                vec![Item::Map(
                    "aws".into(),
                    vec![
                        ("source".into(), quoted("hashicorp/aws")),
                        ("version".into(), quoted(AWS_PROVIDER_VERSION)),
                    ],
                )],
            )],
        ),
        Item::Blank,
    ];
    match kind {
        AccountKind::Jump => {
            top.push(Item::Block(
                "data \"aws_partition\" \"current\"".into(),
                vec![],
            ));
            for g in &s.groups {
                top.push(Item::Blank);
                top.extend(group(g));
            }
        }
        AccountKind::Member | AccountKind::MemberProtected => {
            let p = s.parameters(kind);
            for (name, ty, description, default) in [
                (
                    "jump_account_id",
                    "string",
                    "The account people sign in to; the only one trusted",
                    quoted(&p.jump_account_id),
                ),
                (
                    "mfa_max_age_seconds",
                    "number",
                    "The oldest MFA sign-in (seconds) a switch accepts",
                    p.mfa_max_age_seconds.to_string(),
                ),
                (
                    "max_session_duration",
                    "number",
                    "The switch roles' MaxSessionDuration (seconds)",
                    p.max_session_seconds.to_string(),
                ),
            ] {
                top.push(Item::Block(
                    format!("variable {}", quoted(name)),
                    vec![
                        attr("description", quoted(description)),
                        attr("type", ty),
                        attr("default", default),
                    ],
                ));
                top.push(Item::Blank);
            }
            top.push(Item::Block(
                "data \"aws_partition\" \"current\"".into(),
                vec![],
            ));
            for r in &s.roles {
                top.push(Item::Blank);
                top.extend(role(r));
            }
        }
    }
    let mut out = format!(
        "# kirikae accounts bootstrap: the {} account kind (generated from kirikae.toml; \
         regenerate, do not edit)\n\n",
        kind.name()
    );
    write_body(&mut out, &top, 0);
    out
}

fn role(r: &RoleSpec) -> Vec<Item> {
    let id = identifier(&r.name);
    let session = match r.max_session_seconds {
        Some(s) => s.to_string(),
        None => "var.max_session_duration".into(),
    };
    let mut items = vec![
        Item::Block(
            format!("resource \"aws_iam_role\" {}", quoted(&id)),
            vec![
                attr("name", quoted(&r.name)),
                attr("path", quoted(&r.path)),
                attr("max_session_duration", session),
                Item::Heredoc("assume_role_policy".into(), heredoc_json(&r.trust_policy)),
                Item::Map(
                    "tags".into(),
                    vec![(MANAGED_TAG_KEY.into(), quoted(MANAGED_TAG_VALUE))],
                ),
            ],
        ),
        Item::Blank,
    ];
    if !r.managed_policies.is_empty() {
        items.push(Item::Block(
            format!(
                "resource \"aws_iam_role_policy_attachment\" {}",
                quoted(&id)
            ),
            vec![
                attr("for_each", format!("toset({})", list(&r.managed_policies))),
                attr("role", format!("aws_iam_role.{id}.name")),
                attr("policy_arn", "each.value"),
            ],
        ));
        items.push(Item::Blank);
    }
    for (name, doc) in &r.inline_policies {
        items.push(Item::Block(
            format!(
                "resource \"aws_iam_role_policy\" {}",
                quoted(&format!("{id}_{}", identifier(name)))
            ),
            vec![
                attr("name", quoted(name)),
                attr("role", format!("aws_iam_role.{id}.name")),
                Item::Heredoc("policy".into(), heredoc_json(doc)),
            ],
        ));
        items.push(Item::Blank);
    }
    let names = r.inline_policies.keys().cloned().collect::<Vec<_>>();
    items.push(Item::Block(
        format!(
            "resource \"aws_iam_role_policies_exclusive\" {}",
            quoted(&id)
        ),
        vec![
            attr("role_name", format!("aws_iam_role.{id}.name")),
            attr("policy_names", list(&names)),
        ],
    ));
    items.push(Item::Blank);
    items.push(Item::Block(
        format!(
            "resource \"aws_iam_role_policy_attachments_exclusive\" {}",
            quoted(&id)
        ),
        vec![
            attr("role_name", format!("aws_iam_role.{id}.name")),
            attr("policy_arns", list(&r.managed_policies)),
        ],
    ));
    items
}

fn group(g: &GroupSpec) -> Vec<Item> {
    let id = identifier(&g.name);
    vec![
        Item::Block(
            format!("resource \"aws_iam_group\" {}", quoted(&id)),
            vec![attr("name", quoted(&g.name)), attr("path", quoted(&g.path))],
        ),
        Item::Blank,
        Item::Block(
            format!("resource \"aws_iam_group_policy\" {}", quoted(&id)),
            vec![
                attr("name", quoted(&g.policy_name)),
                attr("group", format!("aws_iam_group.{id}.name")),
                Item::Heredoc("policy".into(), heredoc_json(&g.policy)),
            ],
        ),
        Item::Blank,
        Item::Block(
            format!(
                "resource \"aws_iam_group_policies_exclusive\" {}",
                quoted(&id)
            ),
            vec![
                attr("group_name", format!("aws_iam_group.{id}.name")),
                attr("policy_names", format!("[aws_iam_group_policy.{id}.name]")),
            ],
        ),
        Item::Blank,
        Item::Block(
            format!(
                "resource \"aws_iam_group_policy_attachments_exclusive\" {}",
                quoted(&id)
            ),
            vec![
                attr("group_name", format!("aws_iam_group.{id}.name")),
                attr("policy_arns", "[]"),
            ],
        ),
    ]
}

/// The document as pretty JSON with the placeholders as Terraform references.
fn heredoc_json(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).expect("JSON values serialise");
    for p in crate::policy::placeholders(doc) {
        if let Some(r) = reference(&p) {
            text = text.replace(&format!("${{{p}}}"), &format!("${{{r}}}"));
        }
    }
    text
}

/// A Terraform name from an IAM name: letters, digits, `_` and `-`, not starting with a digit.
fn identifier(name: &str) -> String {
    let mut id = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>();
    if !id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        id.insert(0, '_');
    }
    id
}

/// Writes `items` at `depth` (two spaces each), aligning the `=` of consecutive one-line
/// attributes as `terraform fmt` does.
fn write_body(out: &mut String, items: &[Item], depth: usize) {
    let pad = "  ".repeat(depth);
    let mut i = 0;
    while i < items.len() {
        // A run of attributes shares one `=` column; a multi-line value (heredoc, map) is the
        // last line of its run, as in `terraform fmt`.
        let mut run_end = i;
        while run_end < items.len() {
            match &items[run_end] {
                Item::Attr(..) => run_end += 1,
                Item::Heredoc(..) | Item::Map(..) => {
                    run_end += 1;
                    break;
                }
                _ => break,
            }
        }
        if run_end > i {
            let width = items[i..run_end]
                .iter()
                .map(|it| match it {
                    Item::Attr(k, _) | Item::Heredoc(k, _) | Item::Map(k, _) => k.len(),
                    _ => 0,
                })
                .max()
                .unwrap_or(0);
            for it in &items[i..run_end] {
                match it {
                    Item::Attr(k, v) => out.push_str(&format!("{pad}{k:width$} = {v}\n")),
                    Item::Heredoc(k, text) => {
                        out.push_str(&format!("{pad}{k:width$} = <<-EOT\n"));
                        for line in text.lines() {
                            out.push_str(&format!("{pad}  {line}\n"));
                        }
                        out.push_str(&format!("{pad}EOT\n"));
                    }
                    Item::Map(k, entries) => {
                        out.push_str(&format!("{pad}{k:width$} = {{\n"));
                        let w = entries.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                        for (k, v) in entries {
                            out.push_str(&format!("{pad}  {k:w$} = {v}\n"));
                        }
                        out.push_str(&format!("{pad}}}\n"));
                    }
                    _ => {}
                }
            }
            i = run_end;
            continue;
        }
        match &items[i] {
            Item::Blank => out.push('\n'),
            Item::Block(header, body) if body.is_empty() => {
                out.push_str(&format!("{pad}{header} {{}}\n"))
            }
            Item::Block(header, body) => {
                out.push_str(&format!("{pad}{header} {{\n"));
                write_body(out, body, depth + 1);
                out.push_str(&format!("{pad}}}\n"));
            }
            _ => {}
        }
        i += 1;
    }
}
