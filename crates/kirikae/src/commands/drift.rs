//! `kirikae accounts drift`: reads the IAM that `[bootstrap]` describes, in every account at once
//! (its switch role, `iam:Get*`/`iam:List*` only) and in the jump account (the jump credentials),
//! and prints what `kirikae_bootstrap::drift` finds. Exit 1 on any finding or unreadable account.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_iam::Client;
use kirikae_aws::Estate;
use kirikae_bootstrap::drift::{self, Finding, LiveAccount, LiveGroup, LiveRole, Severity};
use kirikae_bootstrap::{AccountKind, BootstrapError, Structure};
use kirikae_config::Config;

use crate::cli::{DriftArgs, OutputFormat, Shared};
use crate::render::{self, Table};
use crate::{Failure, Outcome};

pub async fn run(shared: &Shared, config: Arc<Config>, args: DriftArgs) -> Outcome {
    let structure = Arc::new(Structure::from_config(&config).map_err(|e| match e {
        e @ BootstrapError::NotConfigured { .. } => Failure::BadInput(anyhow!(e)),
        e => Failure::Failed(anyhow!(e)),
    })?);
    let estate = Arc::new(
        Estate::connect(
            config.clone(),
            kirikae_aws::EstateOptions {
                mfa_code: shared.mfa_code.clone(),
            },
        )
        .await?,
    );

    // Every member account in parallel, then the jump account.
    let names = config.accounts.keys().cloned().collect::<Vec<_>>();
    let (e, st) = (estate.clone(), structure.clone());
    let results = kirikae_aws::fanout::bounded(names, args.concurrency.into(), move |name| {
        let estate = e.clone();
        let structure = st.clone();
        async move {
            let kind = if estate.config().accounts[&name].protected {
                AccountKind::MemberProtected
            } else {
                AccountKind::Member
            };
            let read = async {
                let sdk = estate.sdk_config(&name).await?;
                read_member(&Client::new(&sdk), &structure).await
            };
            match read.await {
                Ok(live) => Ok(drift::check_member(&structure, &name, kind, &live)),
                Err(e) => Err((name, format!("{e:#}"))),
            }
        }
    })
    .await;
    let mut findings = Vec::new();
    let mut unreadable = Vec::new();
    for r in results {
        match r {
            Ok(f) => findings.extend(f),
            Err(e) => unreadable.push(e),
        }
    }
    match read_jump(&estate, &structure).await {
        Ok(live) => findings.extend(drift::check_jump(&structure, &live)),
        Err(e) => unreadable.push(("jump".into(), format!("{e:#}"))),
    }

    if shared.output == OutputFormat::Json {
        render::print_json(&serde_json::json!({
            "ok": findings.is_empty() && unreadable.is_empty(),
            "findings": findings,
            "unreadable": unreadable.iter().map(|(a, e)| serde_json::json!({"account": a, "error": e})).collect::<Vec<_>>(),
        }))?;
    } else {
        print_table(&findings)?;
        for (account, error) in &unreadable {
            outln!("{}: {error}", render::red(&format!("{account} not read")))?;
        }
        let summary = format!(
            "{} finding{} in {} accounts and the jump account",
            findings.len(),
            if findings.len() == 1 { "" } else { "s" },
            config.accounts.len()
        );
        outln!(
            "{}",
            if findings.is_empty() && unreadable.is_empty() {
                render::green(&summary)
            } else {
                render::red(&summary)
            }
        )?;
    }
    let clean = findings.is_empty() && unreadable.is_empty();
    Ok(ExitCode::from(if clean { 0 } else { 1 }))
}

fn print_table(findings: &[Finding]) -> Result<(), Failure> {
    if findings.is_empty() {
        return Ok(());
    }
    let mut table = Table::new(&["ACCOUNT", "RESOURCE", "SEVERITY", "FINDING", "FIX"]);
    for f in findings {
        table.row(vec![
            f.account.clone(),
            f.resource.clone(),
            match f.severity {
                Severity::Error => render::red("error"),
                Severity::Warning => "warning".into(),
            },
            f.message.clone(),
            f.fix.clone(),
        ]);
    }
    out!("{}", table.render())?;
    Ok(())
}

/// The roles of the structure in one account, as IAM returns them.
async fn read_member(iam: &Client, s: &Structure) -> anyhow::Result<LiveAccount> {
    let mut live = LiveAccount::default();
    for spec in &s.roles {
        let role = match iam.get_role().role_name(&spec.name).send().await {
            Ok(out) => out.role.context("GetRole returned no role")?,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                continue
            }
            Err(e) => {
                return Err(anyhow!(aws_sdk_iam::error::DisplayErrorContext(e)))
                    .context(format!("GetRole {}", spec.name))
            }
        };
        let mut inline_policies = std::collections::BTreeMap::new();
        let names = iam
            .list_role_policies()
            .role_name(&spec.name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| anyhow!(aws_sdk_iam::error::DisplayErrorContext(e)))
            .context(format!("ListRolePolicies {}", spec.name))?;
        for name in names {
            let doc = iam
                .get_role_policy()
                .role_name(&spec.name)
                .policy_name(&name)
                .send()
                .await
                .map_err(|e| anyhow!(aws_sdk_iam::error::DisplayErrorContext(e)))
                .context(format!("GetRolePolicy {} {name}", spec.name))?;
            inline_policies.insert(name, doc.policy_document);
        }
        let attached = iam
            .list_attached_role_policies()
            .role_name(&spec.name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| anyhow!(aws_sdk_iam::error::DisplayErrorContext(e)))
            .context(format!("ListAttachedRolePolicies {}", spec.name))?;
        live.roles.insert(
            spec.name.clone(),
            LiveRole {
                path: role.path,
                trust_policy: role.assume_role_policy_document.unwrap_or_default(),
                max_session_seconds: role.max_session_duration.unwrap_or(3600).max(0) as u32,
                inline_policies,
                attached_policies: attached.into_iter().filter_map(|p| p.policy_arn).collect(),
            },
        );
    }
    Ok(live)
}

/// The groups of the structure in the jump account, read with the jump credentials.
async fn read_jump(estate: &Estate, s: &Structure) -> anyhow::Result<LiveAccount> {
    let any = estate
        .config()
        .accounts
        .keys()
        .next()
        .context("no accounts")?;
    let base = estate.sdk_config(any).await?;
    let creds = estate.jump().credentials().await?;
    let sdk = base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .build();
    let iam = Client::new(&sdk);
    let mut live = LiveAccount::default();
    for g in &s.groups {
        match iam.get_group().group_name(&g.name).send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                continue
            }
            Err(e) => {
                return Err(anyhow!(aws_sdk_iam::error::DisplayErrorContext(e)))
                    .context(format!("GetGroup {}", g.name))
            }
        }
        let names = iam
            .list_group_policies()
            .group_name(&g.name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| anyhow!(aws_sdk_iam::error::DisplayErrorContext(e)))
            .context(format!("ListGroupPolicies {}", g.name))?;
        let mut inline_policies = std::collections::BTreeMap::new();
        for name in names {
            let doc = iam
                .get_group_policy()
                .group_name(&g.name)
                .policy_name(&name)
                .send()
                .await
                .map_err(|e| anyhow!(aws_sdk_iam::error::DisplayErrorContext(e)))
                .context(format!("GetGroupPolicy {} {name}", g.name))?;
            inline_policies.insert(name, doc.policy_document);
        }
        let attached = iam
            .list_attached_group_policies()
            .group_name(&g.name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| anyhow!(aws_sdk_iam::error::DisplayErrorContext(e)))
            .context(format!("ListAttachedGroupPolicies {}", g.name))?;
        live.groups.insert(
            g.name.clone(),
            LiveGroup {
                inline_policies,
                attached_policies: attached.into_iter().filter_map(|p| p.policy_arn).collect(),
            },
        );
    }
    Ok(live)
}
