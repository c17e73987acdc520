//! `kirikae accounts drift`: reads the IAM that `[bootstrap]` describes, in every account at once
//! (its switch role, `iam:Get*`/`iam:List*` only) and in the jump account (the jump credentials),
//! and prints what `kirikae_bootstrap::drift` finds. Exit 1 on any finding or unreadable account.

use std::process::ExitCode;
use std::sync::Arc;

use std::collections::BTreeSet;

use anyhow::anyhow;
use aws_sdk_iam::Client;
use kirikae_aws::iam_read::{self, IamReadError};
use kirikae_aws::Estate;
use kirikae_bootstrap::drift::{self, Finding, LiveAccount, LiveGroup, LiveRole, Severity};
use kirikae_bootstrap::{AccountKind, Structure};
use kirikae_config::Config;

use crate::cli::{DriftArgs, OutputFormat, Shared};
use crate::render::{self, Table};
use crate::{Failure, Outcome};

pub async fn run(shared: &Shared, config: Arc<Config>, args: DriftArgs) -> Outcome {
    let structure = Arc::new(Structure::from_config(&config).map_err(|e| match e {
        e if e.is_bad_input() => Failure::BadInput(anyhow!(e)),
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
                anyhow::Ok(read_member(&Client::new(&sdk), &structure).await?)
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

/// The roles of the structure in one account as IAM returns them, and the roles marked as
/// kirikae's that the structure lacks.
async fn read_member(iam: &Client, s: &Structure) -> Result<LiveAccount, IamReadError> {
    let mut names = s
        .roles
        .iter()
        .map(|r| r.name.clone())
        .collect::<BTreeSet<_>>();
    names.extend(iam_read::role_names_under(iam, &s.path).await?);
    let mut live = LiveAccount::default();
    for name in names {
        if let Some(role) = iam_read::role(iam, &name).await? {
            live.roles.insert(
                name,
                LiveRole {
                    path: role.path,
                    trust_policy: role.trust_policy,
                    max_session_seconds: role.max_session_seconds,
                    tags: role.tags,
                    inline_policies: role.policies.inline,
                    attached_policies: role.policies.attached,
                },
            );
        }
    }
    Ok(live)
}

/// The groups of the structure in the jump account, and those under kirikae's own path (not
/// `/`) that the structure lacks, read with the jump credentials.
async fn read_jump(estate: &Estate, s: &Structure) -> anyhow::Result<LiveAccount> {
    let (_, jump) = estate.jump_sdk_config().await?;
    let iam = Client::new(&jump);
    let mut names = s
        .groups
        .iter()
        .map(|g| g.name.clone())
        .collect::<BTreeSet<_>>();
    if s.path != "/" {
        names.extend(iam_read::group_names_under(&iam, &s.path).await?);
    }
    let mut live = LiveAccount::default();
    for name in names {
        if let Some(policies) = iam_read::group(&iam, &name).await? {
            live.groups.insert(
                name,
                LiveGroup {
                    inline_policies: policies.inline,
                    attached_policies: policies.attached,
                },
            );
        }
    }
    Ok(live)
}
