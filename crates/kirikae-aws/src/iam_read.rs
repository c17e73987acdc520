//! Reading IAM roles and groups as they are, with `iam:Get*` / `iam:List*` only: what `kirikae
//! accounts drift` compares with the code. A role and a group carry policies the same way
//! (inline policies by name, managed policies attached by ARN), so one reader serves both
//! ([`Holder`]); a role adds its trust policy, path and session bound.
//!
//! Policy documents are returned as IAM gives them (URL-encoded JSON on AWS); decoding and
//! comparing them is the caller's business.

use std::collections::BTreeMap;

use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// What holds policies in IAM, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder<'a> {
    Role(&'a str),
    Group(&'a str),
}

impl std::fmt::Display for Holder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holder::Role(n) => write!(f, "role {n}"),
            Holder::Group(n) => write!(f, "group {n}"),
        }
    }
}

/// The policies of one role or group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policies {
    /// Inline policy name -> its document as returned.
    pub inline: BTreeMap<String, String>,
    /// The ARNs of the managed policies attached.
    pub attached: Vec<String>,
}

/// One role as IAM returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub path: String,
    /// `AssumeRolePolicyDocument` as returned.
    pub trust_policy: String,
    pub max_session_seconds: u32,
    pub tags: BTreeMap<String, String>,
    pub policies: Policies,
}

/// What kind of failure a read was, so the caller can say what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IamReadErrorKind {
    /// The credentials may not read IAM: the role needs `iam:Get*` and `iam:List*`.
    AccessDenied,
    /// Throttled after the SDK's retries.
    Throttled,
    /// IAM could not be reached, or answered something else.
    Other,
}

#[derive(Debug, thiserror::Error)]
#[error("IAM {operation} on {resource} failed{}", hint(*kind))]
pub struct IamReadError {
    pub operation: &'static str,
    /// `role <name>`, `group <name>`, `roles under /kirikae/`.
    pub resource: String,
    pub kind: IamReadErrorKind,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

fn hint(kind: IamReadErrorKind) -> &'static str {
    match kind {
        IamReadErrorKind::AccessDenied => {
            " (the role used needs iam:Get* and iam:List*, e.g. the managed policy IAMReadOnlyAccess)"
        }
        IamReadErrorKind::Throttled => " (throttled: run again later or with less concurrency)",
        IamReadErrorKind::Other => "",
    }
}

/// Classified where it is made: the error code IAM answered.
fn read_error<E, R>(
    operation: &'static str,
    resource: impl std::fmt::Display,
    e: SdkError<E, R>,
) -> IamReadError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let kind = match e.code() {
        Some("AccessDenied" | "AccessDeniedException") => IamReadErrorKind::AccessDenied,
        Some("Throttling" | "ThrottlingException") => IamReadErrorKind::Throttled,
        _ => IamReadErrorKind::Other,
    };
    IamReadError {
        operation,
        resource: resource.to_string(),
        kind,
        source: DisplayErrorContext(e).to_string().into(),
    }
}

/// A role by name, with its policies; `None` when IAM has no such role.
pub async fn role(iam: &aws_sdk_iam::Client, name: &str) -> Result<Option<Role>, IamReadError> {
    let holder = Holder::Role(name);
    let found = iam.get_role().role_name(name).send().await;
    let role = match found {
        Ok(out) => out.role,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(read_error("GetRole", holder, e)),
    };
    let Some(role) = role else { return Ok(None) };
    Ok(Some(Role {
        name: role.role_name.clone(),
        path: role.path.clone(),
        trust_policy: role.assume_role_policy_document.clone().unwrap_or_default(),
        max_session_seconds: role.max_session_duration.unwrap_or(3600).max(0) as u32,
        tags: role
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        policies: policies(iam, holder).await?,
    }))
}

/// A group's policies by name; `None` when IAM has no such group.
pub async fn group(
    iam: &aws_sdk_iam::Client,
    name: &str,
) -> Result<Option<Policies>, IamReadError> {
    let holder = Holder::Group(name);
    let found = iam.get_group().group_name(name).send().await;
    match found {
        Ok(_) => Ok(Some(policies(iam, holder).await?)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(read_error("GetGroup", holder, e)),
    }
}

/// The names of the roles whose path starts with `path_prefix` (`/kirikae/`).
pub async fn role_names_under(
    iam: &aws_sdk_iam::Client,
    path_prefix: &str,
) -> Result<Vec<String>, IamReadError> {
    let roles = iam
        .list_roles()
        .path_prefix(path_prefix)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| read_error("ListRoles", format!("roles under {path_prefix}"), e))?;
    Ok(roles.into_iter().map(|r| r.role_name).collect())
}

/// The names of the groups whose path starts with `path_prefix`.
pub async fn group_names_under(
    iam: &aws_sdk_iam::Client,
    path_prefix: &str,
) -> Result<Vec<String>, IamReadError> {
    let groups = iam
        .list_groups()
        .path_prefix(path_prefix)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| read_error("ListGroups", format!("groups under {path_prefix}"), e))?;
    Ok(groups.into_iter().map(|g| g.group_name).collect())
}

/// Inline policies (names, then each document) and attached policies of a role or group.
pub async fn policies(
    iam: &aws_sdk_iam::Client,
    holder: Holder<'_>,
) -> Result<Policies, IamReadError> {
    let mut out = Policies::default();
    for name in inline_policy_names(iam, holder).await? {
        let document = inline_policy_document(iam, holder, &name).await?;
        out.inline.insert(name, document);
    }
    out.attached = attached_policy_arns(iam, holder).await?;
    Ok(out)
}

async fn inline_policy_names(
    iam: &aws_sdk_iam::Client,
    holder: Holder<'_>,
) -> Result<Vec<String>, IamReadError> {
    match holder {
        Holder::Role(name) => iam
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| read_error("ListRolePolicies", holder, e)),
        Holder::Group(name) => iam
            .list_group_policies()
            .group_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| read_error("ListGroupPolicies", holder, e)),
    }
}

async fn inline_policy_document(
    iam: &aws_sdk_iam::Client,
    holder: Holder<'_>,
    policy: &str,
) -> Result<String, IamReadError> {
    match holder {
        Holder::Role(name) => iam
            .get_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .map(|o| o.policy_document)
            .map_err(|e| read_error("GetRolePolicy", format!("{holder} policy {policy}"), e)),
        Holder::Group(name) => iam
            .get_group_policy()
            .group_name(name)
            .policy_name(policy)
            .send()
            .await
            .map(|o| o.policy_document)
            .map_err(|e| read_error("GetGroupPolicy", format!("{holder} policy {policy}"), e)),
    }
}

async fn attached_policy_arns(
    iam: &aws_sdk_iam::Client,
    holder: Holder<'_>,
) -> Result<Vec<String>, IamReadError> {
    let attached = match holder {
        Holder::Role(name) => iam
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| read_error("ListAttachedRolePolicies", holder, e))?,
        Holder::Group(name) => iam
            .list_attached_group_policies()
            .group_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| read_error("ListAttachedGroupPolicies", holder, e))?,
    };
    Ok(attached.into_iter().filter_map(|p| p.policy_arn).collect())
}
