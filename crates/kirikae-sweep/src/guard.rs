//! What `apply` trusts about a plan: the plan file says which account and items, but whether
//! the account is protected and what its alias is come from kirikae.toml and the live account,
//! never from the file (which anyone can edit, or scan with an older kirikae.toml).
//!
//! A [`CheckedPlan`] is the only thing `apply` and `mark` accept. Making one checks, before any
//! AWS call: the plan's keyed digest (see [`crate::integrity`]); that the plan's account id is in
//! kirikae.toml exactly once; that the plan's alias and protection agree with that entry. Then,
//! with the account's credentials, [`CheckedPlan::check_live`] asks STS which account they act
//! in and IAM for the account's alias, and checks `--confirm` against it.

use std::path::Path;

use kirikae_config::Config;

use crate::{Cx, Plan, PlanAccount, PlanKey, SweepError};

/// A plan that is as `scan` wrote it, for an account kirikae.toml names once, with the same
/// alias and protection.
#[derive(Debug)]
pub struct CheckedPlan<'a> {
    plan: &'a Plan,
    account: PlanAccount,
}

fn yes_no(protected: bool) -> &'static str {
    if protected {
        "protected"
    } else {
        "not protected"
    }
}

fn alias_text(alias: &Option<String>) -> String {
    match alias {
        Some(a) => format!("alias {a:?}"),
        None => "no alias".to_string(),
    }
}

/// The one `[accounts.<name>]` of kirikae.toml with account id `id`, as a plan records it.
/// Refused if there is none, or more than one (which would make its protection ambiguous).
pub fn configured_account(config: &Config, id: &str) -> Result<PlanAccount, SweepError> {
    let entries: Vec<(&String, &kirikae_config::AccountSettings)> = config
        .accounts
        .iter()
        .filter(|(_, a)| a.id.as_str() == id)
        .collect();
    match entries.as_slice() {
        [(name, a)] => Ok(PlanAccount {
            name: name.to_string(),
            id: id.to_string(),
            alias: a.alias.clone(),
            protected: a.protected,
        }),
        [] => Err(SweepError::Mismatch(format!(
            "account {id} is not in {} (no [accounts.<name>] has id = \"{id}\"): add it, with \
             `protected = true` if it is production, then scan again",
            config.path.display()
        ))),
        many => Err(SweepError::Mismatch(format!(
            "{} gives account id {id} to {} entries ({}): whether it is protected is then \
             ambiguous; keep one entry for it",
            config.path.display(),
            many.len(),
            many.iter()
                .map(|(n, _)| format!("[accounts.{n}]"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

impl<'a> CheckedPlan<'a> {
    /// Checks `plan` (read from `path`) against its digest and kirikae.toml. Nothing here calls
    /// AWS.
    pub fn new(plan: &'a Plan, path: &Path, config: &Config) -> Result<Self, SweepError> {
        let state_dir = kirikae_aws::state::state_dir(config.state_dir.as_deref());
        let key = PlanKey::load(&state_dir)?;
        plan.check_integrity(
            &path.display().to_string(),
            key.as_ref(),
            &PlanKey::path(&state_dir),
        )?;
        let account = configured_account(config, &plan.account.id)?;
        let file = config.path.display();
        if plan.account.protected != account.protected {
            return Err(SweepError::Mismatch(format!(
                "the plan says account {} is {}, but {file} ([accounts.{}]) says it is {}: \
                 scan again with the current kirikae.toml",
                account.id,
                yes_no(plan.account.protected),
                account.name,
                yes_no(account.protected)
            )));
        }
        if plan.account.alias != account.alias {
            return Err(SweepError::Mismatch(format!(
                "the plan gives account {} {}, but {file} ([accounts.{}]) gives it {}: scan \
                 again with the current kirikae.toml",
                account.id,
                alias_text(&plan.account.alias),
                account.name,
                alias_text(&account.alias)
            )));
        }
        Ok(CheckedPlan { plan, account })
    }

    pub fn plan(&self) -> &'a Plan {
        self.plan
    }

    /// The account as kirikae.toml has it (its name there, alias, protection).
    pub fn account(&self) -> &PlanAccount {
        &self.account
    }

    /// What `--confirm` must say, as far as kirikae.toml knows (the live alias decides).
    pub fn confirm_hint(&self) -> &str {
        self.account.alias.as_deref().unwrap_or("<its IAM alias>")
    }

    /// Before any credentials are asked for: a deletion (`yes`) in a protected account needs
    /// `--confirm`, and it must name the alias kirikae.toml gives (which must be the live one).
    pub fn check_confirm(&self, yes: bool, confirm: Option<&str>) -> Result<(), SweepError> {
        if !yes {
            return Ok(());
        }
        let a = &self.account;
        match (confirm, &a.alias) {
            (None, _) if a.protected => Err(SweepError::NeedsConfirm(format!(
                "account {} ({}) is protected in kirikae.toml: add --confirm {} to delete",
                a.name,
                a.id,
                self.confirm_hint()
            ))),
            (Some(c), Some(alias)) if c != alias => Err(SweepError::NeedsConfirm(format!(
                "--confirm {c:?} does not match the account's alias {alias:?} (kirikae.toml, \
                 [accounts.{}]): nothing deleted",
                a.name
            ))),
            _ => Ok(()),
        }
    }

    /// With the account's credentials, before anything is deleted: every context acts in the
    /// plan's account (STS), the account's IAM alias is the one kirikae.toml gives, and a
    /// deletion in a protected account (or any `--confirm` given) names that alias. Returns the
    /// live alias.
    pub async fn check_live(
        &self,
        cxs: &[std::sync::Arc<Cx>],
        yes: bool,
        confirm: Option<&str>,
    ) -> Result<Option<String>, SweepError> {
        let a = &self.account;
        let Some(first) = cxs.first() else {
            return Err(SweepError::BadInput("no region to work in".into()));
        };
        for cx in cxs {
            if cx.account_id != a.id {
                return Err(SweepError::Mismatch(format!(
                    "the plan is for account {} but the credentials of [accounts.{}] act in {}: \
                     check [accounts] in kirikae.toml",
                    a.id, a.name, cx.account_id
                )));
            }
        }
        let live = crate::apply::account_alias(first).await?;
        if let (Some(configured), Some(real)) = (&a.alias, &live) {
            if configured != real {
                return Err(SweepError::Mismatch(format!(
                    "kirikae.toml ([accounts.{}]) gives account {} the alias {configured:?}, but \
                     its IAM alias is {real:?}: fix the alias in kirikae.toml, then scan again",
                    a.name, a.id
                )));
            }
        }
        self.check_confirm(yes, confirm)?;
        if yes && (a.protected || confirm.is_some()) {
            match (confirm, &live) {
                (None, _) => {
                    return Err(SweepError::NeedsConfirm(format!(
                        "account {} ({}) is protected in kirikae.toml: add --confirm {} (its \
                         alias) to delete",
                        a.name,
                        a.id,
                        live.as_deref().unwrap_or("<alias>")
                    )))
                }
                (Some(_), None) => {
                    return Err(SweepError::NeedsConfirm(format!(
                        "account {} has no alias in IAM, so --confirm cannot be checked: set one \
                         (aws iam create-account-alias) first",
                        a.id
                    )))
                }
                (Some(c), Some(r)) if c != r => {
                    return Err(SweepError::NeedsConfirm(format!(
                        "--confirm {c:?} does not match the account's alias {r:?}: nothing \
                         deleted"
                    )))
                }
                _ => {}
            }
        }
        Ok(live)
    }
}
