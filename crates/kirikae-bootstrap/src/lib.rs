//! `kirikae accounts bootstrap`: the switch-role structure of `[bootstrap]` in kirikae.toml as
//! code people deploy with their own tools (CloudFormation StackSets, Terraform). kirikae never
//! writes IAM itself, so it never needs admin rights in every account.
//!
//! The structure is computed once ([`Structure::from_config`]) as policy documents with
//! placeholders (`${JumpAccountId}`, `${MfaMaxAgeSeconds}`, `${AWS::Partition}`); each output
//! format maps the placeholders to its own parameters ([`cloudformation`], [`terraform`]), and
//! [`Structure::resolved`] fills them with one account's values (what `accounts drift` compares
//! live IAM with). So both formats describe the same policies by construction, and a test parses
//! both back to check it.
//!
//! Account kinds, one template (or Terraform module) each:
//! * `jump`: the groups whose members may assume exactly the member roles, only with MFA;
//! * `member`: the switch roles of an ordinary account (and the runner role, when configured);
//! * `member-protected`: the same with the stricter MFA age and session length.

pub mod cloudformation;
pub mod drift;
pub mod jobs;
pub mod policy;
pub mod terraform;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kirikae_config::{BootstrapSettings, Config, RunnerJob, RunnerSettings};
use serde_json::{json, Value};

/// The tag every role bootstrap makes carries (with the IAM path, it marks them as kirikae's).
pub const MANAGED_TAG_KEY: &str = "managed-by";
pub const MANAGED_TAG_VALUE: &str = "kirikae";

/// The placeholders of the policy documents.
pub const PARTITION: &str = "AWS::Partition";
pub const JUMP_ACCOUNT_ID: &str = "JumpAccountId";
pub const MFA_MAX_AGE_SECONDS: &str = "MfaMaxAgeSeconds";
pub const MAX_SESSION_DURATION: &str = "MaxSessionDuration";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(
        "{} has no [bootstrap] section: add one with jump_account and at least one \
         [bootstrap.role_kinds.<role name>] (docs/accounts.md)",
        path.display()
    )]
    NotConfigured { path: PathBuf },
    #[error(
        "bootstrap.runner.cloud_control_types: not a type of kirikae's Cloud Control table \
         (generated from the CloudFormation registry; crates/kirikae-cc-types/data/cc_types.json in \
         kirikae's source): {}; name \
         CloudFormation types as AWS spells them, e.g. AWS::Events::Rule",
        unknown.join(", ")
    )]
    UnknownCloudControlTypes { unknown: Vec<String> },
    #[error(
        "bootstrap.runner.cloud_control_types is set but the runner does not do the sweep job: \
         add \"sweep\" to bootstrap.runner.jobs or remove cloud_control_types"
    )]
    CloudControlTypesWithoutSweep,
    #[error(
        "the runner role's inline policies would be {size} characters, over IAM's limit of \
         {limit} for a role: bootstrap.runner.cloud_control_types names {types} types; name \
         fewer (the ones the team sweeps through Cloud Control), or attach a policy of your own \
         with bootstrap.runner.managed_policies"
    )]
    RunnerPoliciesTooLarge {
        size: usize,
        limit: usize,
        types: usize,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
}

impl BootstrapError {
    /// Whether the config is what must change (the rest are I/O failures).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, BootstrapError::Write { .. })
    }
}

/// The kinds of account a template is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountKind {
    Jump,
    Member,
    MemberProtected,
}

impl AccountKind {
    pub const ALL: [AccountKind; 3] = [
        AccountKind::Jump,
        AccountKind::Member,
        AccountKind::MemberProtected,
    ];

    /// The file stem of its template / the folder of its Terraform module.
    pub fn name(self) -> &'static str {
        match self {
            AccountKind::Jump => "jump",
            AccountKind::Member => "member",
            AccountKind::MemberProtected => "member-protected",
        }
    }
}

/// Who may assume a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// People of the jump account, with MFA no older than the account kind's bound.
    JumpWithMfa,
    /// One named principal (the unattended runner), without MFA.
    Runner { principal: String },
}

/// A role in a member account.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    pub name: String,
    pub path: String,
    pub trust: Trust,
    /// Placeholder form (`${JumpAccountId}` ...).
    pub trust_policy: Value,
    pub managed_policies: Vec<String>,
    /// Inline policies by name, placeholder form (the runner's job policies).
    pub inline_policies: BTreeMap<String, Value>,
    /// Seconds; `None` means the account kind's parameter (`MaxSessionDuration`).
    pub max_session_seconds: Option<u32>,
}

/// A group of the jump account and the one inline policy that lets its members switch.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    pub name: String,
    pub path: String,
    /// The role kind its members may assume.
    pub role: String,
    pub policy_name: String,
    /// Placeholder form (only `${AWS::Partition}`: the role ARNs are the configured accounts').
    pub policy: Value,
}

/// The values of one account kind's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindParameters {
    pub jump_account_id: String,
    pub mfa_max_age_seconds: u32,
    pub max_session_seconds: u32,
}

/// Everything bootstrap emits.
#[derive(Debug, Clone)]
pub struct Structure {
    pub jump_account_id: String,
    pub path: String,
    pub groups: Vec<GroupSpec>,
    /// The same roles go into every member account; the kind only changes the parameters.
    pub roles: Vec<RoleSpec>,
    pub member: KindParameters,
    pub member_protected: KindParameters,
    /// Which accounts (name → (id, protected)) get which kind.
    pub accounts: BTreeMap<String, (String, bool)>,
}

impl Structure {
    /// The structure `[bootstrap]` describes.
    pub fn from_config(config: &Config) -> Result<Structure, BootstrapError> {
        let b = config
            .bootstrap
            .as_ref()
            .ok_or_else(|| BootstrapError::NotConfigured {
                path: config.path.clone(),
            })?;
        let accounts = config
            .accounts
            .iter()
            .map(|(name, a)| (name.clone(), (a.id.to_string(), a.protected)))
            .collect::<BTreeMap<_, _>>();
        Ok(Structure {
            jump_account_id: b.jump_account.to_string(),
            path: b.path.clone(),
            groups: groups(b, &accounts),
            roles: roles(b)?,
            member: KindParameters {
                jump_account_id: b.jump_account.to_string(),
                mfa_max_age_seconds: b.mfa_max_age_seconds,
                max_session_seconds: b.max_session_hours * 3600,
            },
            member_protected: KindParameters {
                jump_account_id: b.jump_account.to_string(),
                mfa_max_age_seconds: b.protected_mfa_max_age_seconds,
                max_session_seconds: b.protected_max_session_hours * 3600,
            },
            accounts,
        })
    }

    pub fn parameters(&self, kind: AccountKind) -> &KindParameters {
        match kind {
            AccountKind::MemberProtected => &self.member_protected,
            AccountKind::Jump | AccountKind::Member => &self.member,
        }
    }

    /// The placeholder values of an account kind, partition `aws`.
    pub fn substitutions(&self, kind: AccountKind) -> BTreeMap<&'static str, String> {
        let p = self.parameters(kind);
        BTreeMap::from([
            (PARTITION, "aws".to_string()),
            (JUMP_ACCOUNT_ID, p.jump_account_id.clone()),
            (MFA_MAX_AGE_SECONDS, p.mfa_max_age_seconds.to_string()),
            (MAX_SESSION_DURATION, p.max_session_seconds.to_string()),
        ])
    }

    /// `doc` with the placeholders of `kind` filled in.
    pub fn resolved(&self, kind: AccountKind, doc: &Value) -> Value {
        policy::substitute(doc, &self.substitutions(kind))
    }
}

fn trust_with_mfa() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "JumpAccountWithMfa",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:${{{PARTITION}}}:iam::${{{JUMP_ACCOUNT_ID}}}:root")},
            "Action": "sts:AssumeRole",
            // Bool, not BoolIfExists: long-term keys carry no MFA key at all, and an
            // IfExists test would let them through.
            "Condition": {
                "Bool": {"aws:MultiFactorAuthPresent": "true"},
                "NumericLessThan": {"aws:MultiFactorAuthAge": format!("${{{MFA_MAX_AGE_SECONDS}}}")}
            }
        }]
    })
}

fn trust_runner(principal: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "UnattendedRunner",
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": "sts:AssumeRole"
        }]
    })
}

/// IAM's limit on the size of a role's inline policies together (characters, whitespace aside).
pub const ROLE_INLINE_POLICIES_LIMIT: usize = 10_240;

fn roles(b: &BootstrapSettings) -> Result<Vec<RoleSpec>, BootstrapError> {
    let mut roles = b
        .role_kinds
        .iter()
        .map(|(name, kind)| RoleSpec {
            name: name.clone(),
            path: b.path.clone(),
            trust: Trust::JumpWithMfa,
            trust_policy: trust_with_mfa(),
            managed_policies: kind.managed_policies.clone(),
            inline_policies: BTreeMap::new(),
            max_session_seconds: None,
        })
        .collect::<Vec<_>>();
    if let Some(r) = &b.runner {
        roles.push(RoleSpec {
            name: r.role.clone(),
            path: b.path.clone(),
            trust: Trust::Runner {
                principal: r.principal.clone(),
            },
            trust_policy: trust_runner(&r.principal),
            managed_policies: r.managed_policies.clone(),
            inline_policies: runner_policies(r)?,
            max_session_seconds: Some(r.max_session_hours * 3600),
        });
    }
    Ok(roles)
}

/// The runner's inline policies, one per job; the sweep's carries the Cloud Control handlers of
/// `cloud_control_types` (checked against the sweep's type table), and all of them together must
/// fit IAM's limit for a role.
fn runner_policies(r: &RunnerSettings) -> Result<BTreeMap<String, Value>, BootstrapError> {
    let cc_types: Vec<&str> = match &r.cloud_control_types {
        Some(types) => {
            if !r.jobs.contains(&RunnerJob::Sweep) {
                return Err(BootstrapError::CloudControlTypesWithoutSweep);
            }
            types.iter().map(String::as_str).collect()
        }
        None => jobs::DEFAULT_CLOUD_CONTROL_TYPES.to_vec(),
    };
    let policies = r
        .jobs
        .iter()
        .map(|&job| {
            jobs::policy_with(job, &cc_types).map(|p| (jobs::policy_name(job).to_string(), p))
        })
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    let size: usize = policies
        .values()
        .map(|p| p.to_string().chars().filter(|c| !c.is_whitespace()).count())
        .sum();
    if size > ROLE_INLINE_POLICIES_LIMIT {
        return Err(BootstrapError::RunnerPoliciesTooLarge {
            size,
            limit: ROLE_INLINE_POLICIES_LIMIT,
            types: cc_types.len(),
        });
    }
    Ok(policies)
}

/// One group per role kind, allowed `sts:AssumeRole` on exactly that role in every account
/// (never `*`), and only with MFA (the member role checks it too; this keeps a group policy
/// copied elsewhere from becoming an MFA-free path).
fn groups(b: &BootstrapSettings, accounts: &BTreeMap<String, (String, bool)>) -> Vec<GroupSpec> {
    b.role_kinds
        .iter()
        .map(|(role, kind)| {
            let arns = accounts
                .values()
                .map(|(id, _)| format!("arn:${{{PARTITION}}}:iam::{id}:role{}{role}", b.path))
                .collect::<Vec<_>>();
            GroupSpec {
                name: kind.group_name(role),
                path: b.path.clone(),
                role: role.clone(),
                policy_name: format!("kirikae-assume-{role}"),
                policy: json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": "SwitchRoleWithMfa",
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Resource": arns,
                        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
                    }]
                }),
            }
        })
        .collect()
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    CloudFormation,
    Terraform,
}

/// A file of the output, relative to the output folder.
#[derive(Debug, Clone)]
pub struct OutputFile {
    pub path: PathBuf,
    pub text: String,
}

/// The files of `format`.
pub fn render(structure: &Structure, format: Format) -> Vec<OutputFile> {
    match format {
        Format::CloudFormation => cloudformation::render(structure),
        Format::Terraform => terraform::render(structure),
    }
}

/// Writes `files` under `dir` (made if missing); an existing file is replaced.
pub fn write(dir: &Path, files: &[OutputFile]) -> Result<Vec<PathBuf>, BootstrapError> {
    let mut written = Vec::new();
    for f in files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| BootstrapError::Write {
                path: parent.to_path_buf(),
                error,
            })?;
        }
        std::fs::write(&path, &f.text).map_err(|error| BootstrapError::Write {
            path: path.clone(),
            error,
        })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(runner: &str) -> Config {
        let text = format!(
            "[aws]\nregion = \"ap-northeast-1\"\n[accounts.prod]\nid = \"111111111111\"\n\
             role = \"arn:aws:iam::111111111111:role/kirikae/ops\"\n[bootstrap]\n\
             jump_account = \"000000000000\"\n[bootstrap.role_kinds.ops]\n\
             managed_policies = [\"arn:aws:iam::aws:policy/PowerUserAccess\"]\n\
             [bootstrap.runner]\nprincipal = \"arn:aws:iam::000000000000:role/ci-nightly\"\n{runner}"
        );
        Config::from_str(&text, Path::new("/srv/kirikae.toml")).unwrap()
    }

    fn sweep_actions(s: &Structure) -> Vec<String> {
        let runner = s
            .roles
            .iter()
            .find(|r| r.name == "kirikae-unattended")
            .unwrap();
        runner.inline_policies["kirikae-sweep"]["Statement"][0]["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn the_runner_sweep_policy_carries_the_named_cloud_control_types_handlers() {
        let s = Structure::from_config(&config(
            "jobs = [\"sweep\"]\ncloud_control_types = [\"AWS::Athena::WorkGroup\"]\n",
        ))
        .unwrap();
        let actions = sweep_actions(&s);
        assert!(
            actions.iter().any(|a| a == "athena:DeleteWorkGroup"),
            "{actions:?}"
        );
        assert!(
            !actions.iter().any(|a| a == "events:DeleteRule"),
            "{actions:?}"
        );
        // Unset: the defaults.
        let s = Structure::from_config(&config("jobs = [\"sweep\"]\n")).unwrap();
        assert!(sweep_actions(&s).iter().any(|a| a == "events:DeleteRule"));
    }

    #[test]
    fn unknown_types_too_many_types_and_types_without_the_sweep_are_refused() {
        let e = Structure::from_config(&config(
            "jobs = [\"sweep\"]\ncloud_control_types = [\"AWS::Athena::Workgroup\", \"AWS::Nope::X\"]\n",
        ))
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("bootstrap.runner.cloud_control_types")
                && e.contains("AWS::Athena::Workgroup (did you mean AWS::Athena::WorkGroup?)")
                && e.contains("AWS::Nope::X"),
            "{e}"
        );
        let e = Structure::from_config(&config(
            "jobs = [\"audit\"]\ncloud_control_types = [\"AWS::Athena::WorkGroup\"]\n",
        ))
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("add \"sweep\" to bootstrap.runner.jobs"), "{e}");
        // Every type of the table: far over what a role's policies may hold.
        let all: Vec<String> = jobs::cloud_control_handler_table()
            .keys()
            .map(|t| format!("{t:?}"))
            .collect();
        let e = Structure::from_config(&config(&format!(
            "jobs = [\"sweep\"]\ncloud_control_types = [{}]\n",
            all.join(", ")
        )))
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("over IAM's limit of 10240") && e.contains("name fewer"),
            "{e}"
        );
    }
}
