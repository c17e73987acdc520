//! The shape of `kirikae.toml`. Unknown keys are errors everywhere (`deny_unknown_fields`): a
//! misspelt key silently ignored is how a protected account loses its protection.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// A validated config. Paths in it are absolute (resolved against the config file's directory).
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The file this was read from.
    pub path: PathBuf,
    pub aws: AwsSettings,
    pub jump: JumpSettings,
    /// Where sessions, journals and plans are kept; `None` means the per-user default.
    pub state_dir: Option<PathBuf>,
    pub accounts: BTreeMap<String, AccountSettings>,
    pub refresh: BTreeMap<String, RefreshSettings>,
    pub sweep: SweepSettings,
    /// `[notify]`: where the summary of every refresh run is posted; `None` posts nothing.
    pub notify: Option<NotifySettings>,
    pub audit: AuditSettings,
    /// `[bootstrap]`: the switch-role structure `kirikae accounts bootstrap` emits and
    /// `kirikae accounts drift` checks; `None` when the file has no such section.
    pub bootstrap: Option<BootstrapSettings>,
}

impl Config {
    /// The account called `name` in `[accounts.<name>]`, or, failing that, the one whose alias or
    /// id is `name`, so people can use whichever they remember.
    pub fn account(&self, name: &str) -> Option<(&str, &AccountSettings)> {
        if let Some((k, v)) = self.accounts.get_key_value(name) {
            return Some((k.as_str(), v));
        }
        self.accounts
            .iter()
            .find(|(_, a)| a.alias.as_deref() == Some(name) || a.id.as_str() == name)
            .map(|(k, v)| (k.as_str(), v))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub aws: AwsSettings,
    #[serde(default)]
    pub jump: JumpSettings,
    #[serde(default)]
    pub state: StateSettings,
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountSettings>,
    #[serde(default)]
    pub refresh: BTreeMap<String, RefreshSettings>,
    #[serde(default)]
    pub sweep: SweepSettings,
    #[serde(default)]
    pub notify: Option<NotifySettings>,
    #[serde(default)]
    pub audit: AuditSettings,
    pub bootstrap: Option<BootstrapSettings>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSettings {
    /// The region of the estate, e.g. `ap-northeast-1`.
    pub region: String,
    /// Another endpoint for every AWS call (the local emulator). Never set for real AWS.
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

/// Where people sign in: the credentials every switch role starts from.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JumpSettings {
    /// A profile of the AWS shared config/credentials files (static keys, SSO or
    /// `credential_process`); without it, the standard environment variables.
    #[serde(default)]
    pub profile: Option<String>,
    /// Another AWS shared credentials file (relative to kirikae.toml).
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// Another AWS shared config file (relative to kirikae.toml).
    #[serde(default)]
    pub config_file: Option<PathBuf>,
    /// The MFA device of the person; when set, one `GetSessionToken` with a code is made and
    /// cached, and every switch role starts from that session.
    #[serde(default)]
    pub mfa_serial: Option<String>,
    /// A command (run with `sh -c` in the config file's directory) that prints the current MFA
    /// code, like a `credential_process` for codes.
    #[serde(default)]
    pub mfa_command: Option<String>,
    /// How long the cached MFA session lives, in hours (AWS allows 1 to 36; default 12).
    #[serde(default = "default_mfa_session_hours")]
    pub mfa_session_hours: u32,
    /// The role session name (shown in CloudTrail); default: the jump user's name.
    #[serde(default)]
    pub session_name: Option<String>,
    /// A run without a person (a CI job, an ECS task, a cron on an instance): the jump
    /// credentials come from the SDK's default chain (environment, web identity token file,
    /// container credentials, the shared profile with SSO, the instance profile), and every
    /// account is entered with a plain AssumeRole. Nothing is ever asked for on a terminal, so
    /// the MFA keys and `profile` contradict it (the validation says which to remove).
    #[serde(default)]
    pub unattended: bool,
    /// `unattended = true` with a web identity token: how long the runner role's session is
    /// asked for, in hours (1 to 12; default 1). A token that is not rotated (a CI job's, written
    /// once) cannot renew the session, so a run longer than an hour needs this, and the runner
    /// role's MaxSessionDuration must allow it.
    #[serde(default = "default_web_identity_session_hours")]
    pub web_identity_session_hours: u32,
}

fn default_web_identity_session_hours() -> u32 {
    1
}

/// A config without `[jump]` gets the same values as an empty `[jump]` (the derived `Default`
/// would put 0 hours where serde puts the documented defaults).
impl Default for JumpSettings {
    fn default() -> Self {
        JumpSettings {
            profile: None,
            credentials_file: None,
            config_file: None,
            mfa_serial: None,
            mfa_command: None,
            mfa_session_hours: default_mfa_session_hours(),
            session_name: None,
            unattended: false,
            web_identity_session_hours: default_web_identity_session_hours(),
        }
    }
}

fn default_mfa_session_hours() -> u32 {
    12
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateSettings {
    #[serde(default)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    pub id: AccountId,
    /// The role name to assume in that account (or a full role ARN).
    pub role: String,
    #[serde(default)]
    pub alias: Option<String>,
    /// Destructive commands against a protected account need `--confirm <alias>`.
    #[serde(default)]
    pub protected: bool,
    /// Overrides `[aws] region` for this account.
    #[serde(default)]
    pub region: Option<String>,
    /// Tag values every resource of this account is expected to carry, e.g. `{ env = "prod" }`:
    /// `kirikae audit tags` reports a resource whose value contradicts them (a key missing
    /// altogether is reported when it is one of `[audit] required_tags`).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl AccountSettings {
    /// The ARN of the role to assume.
    pub fn role_arn(&self) -> String {
        if self.role.starts_with("arn:") {
            self.role.clone()
        } else {
            format!("arn:aws:iam::{}:role/{}", self.id, self.role)
        }
    }

    /// The role's name (the part after `role/`, without a path).
    pub fn role_name(&self) -> &str {
        self.role.rsplit('/').next().unwrap_or(&self.role)
    }

    /// The alias if there is one, else the account id.
    pub fn display_name(&self) -> &str {
        self.alias.as_deref().unwrap_or(self.id.as_str())
    }
}

/// A 12-digit AWS account id. Must be a string in the file: as an integer it would lose
/// leading zeros.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    pub fn parse(s: &str) -> Result<AccountId, String> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(s.to_string()))
        } else {
            Err(format!(
                "expected a 12-digit AWS account id such as \"111111111111\", found {s:?}"
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = AccountId;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a 12-digit AWS account id in quotes, such as \"111111111111\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<AccountId, E> {
                AccountId::parse(s).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<AccountId, E> {
                Err(E::custom(format!(
                    "expected a 12-digit AWS account id as a string: write \"{n:012}\" in quotes \
                     (an integer loses leading zeros)"
                )))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<AccountId, E> {
                self.visit_i64(n as i64)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshSettings {
    pub source: ClusterRef,
    pub target: RefreshTarget,
    #[serde(default)]
    pub strategy: RefreshStrategy,
    #[serde(default)]
    pub switch: SwitchMethod,
    /// The masking rules file (relative to kirikae.toml).
    pub masking: PathBuf,
    /// The command that reaches a cluster in private subnets, started by kirikae for each
    /// cluster it connects to (the clusters a run makes are new, so no fixed address reaches
    /// them): `{host}` and `{port}` are the cluster's endpoint, `{local_port}` the loopback port
    /// it must listen on, e.g. `ssh -N -L {local_port}:{host}:{port} bastion`. Without it,
    /// kirikae connects to the endpoint directly (a runner inside the VPC).
    #[serde(default)]
    pub tunnel: Option<String>,
    /// How long the tunnel command gets to accept connections on its local port (1 to 600).
    #[serde(default = "default_tunnel_wait_seconds")]
    pub tunnel_wait_seconds: u64,
    /// TLS to the clusters the refresh connects to (default `verify-full`).
    #[serde(default)]
    pub tls: TlsMode,
    /// The CA certificates (PEM) the clusters' certificates are checked against, relative to
    /// kirikae.toml: for RDS, the global bundle of
    /// <https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem>. Needed by the
    /// `verify-*` modes.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// The removed `[refresh.<name>.connect]` (`via = "host:port"`): kept only so validation
    /// can say what replaced it (`tunnel`) instead of "unknown key".
    #[serde(default, rename = "connect", skip_serializing)]
    pub(crate) removed_connect: Option<toml::Value>,
    /// How many retired staging clusters (`<target>-retired-<run id>`) to keep; older ones are
    /// deleted after a switch-over. Default 0: the previous cluster is deleted at once.
    #[serde(default)]
    pub keep_retired: u32,
    /// Time budgets of the waits, in minutes.
    #[serde(default)]
    pub budget: RefreshBudget,
    /// Where the copy is masked: `target` (default) or `source` (a temporary cluster in the
    /// source account, so only masked data is ever shared).
    #[serde(default)]
    pub mask_in: MaskIn,
}

fn default_tunnel_wait_seconds() -> u64 {
    60
}

/// How the refresh's database connections use TLS: one setting, mapped to each engine's own
/// URL parameters (PostgreSQL `sslmode`, MySQL `ssl-mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// TLS, the certificate chains to `ca_bundle` and names the cluster's endpoint.
    #[default]
    VerifyFull,
    /// TLS, the certificate chains to `ca_bundle` (any name).
    VerifyCa,
    /// TLS without checking the certificate (encrypted, not authenticated).
    Require,
    /// Plain TCP.
    Disable,
}

impl TlsMode {
    /// The value as written in kirikae.toml.
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::VerifyFull => "verify-full",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::Require => "require",
            TlsMode::Disable => "disable",
        }
    }

    /// The modes that check the server's certificate against `ca_bundle`.
    pub fn verifies(self) -> bool {
        matches!(self, TlsMode::VerifyFull | TlsMode::VerifyCa)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MaskIn {
    #[default]
    Target,
    Source,
}

/// How long a refresh waits for AWS before giving up on a step (a real restore of a large
/// cluster takes hours; a writer instance tens of minutes).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBudget {
    /// Snapshot, copy, restore or clone until available.
    #[serde(default = "default_copy_minutes")]
    pub copy_minutes: u64,
    /// Every other wait (writer instance, renames, deletions).
    #[serde(default = "default_step_minutes")]
    pub step_minutes: u64,
}

impl Default for RefreshBudget {
    fn default() -> Self {
        RefreshBudget {
            copy_minutes: default_copy_minutes(),
            step_minutes: default_step_minutes(),
        }
    }
}

fn default_copy_minutes() -> u64 {
    240
}
fn default_step_minutes() -> u64 {
    60
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterRef {
    pub account: String,
    pub cluster: String,
    /// A customer-managed KMS key in the source account (id, alias or ARN) that snapshots
    /// encrypted with the default `aws/rds` key are re-encrypted with before being shared; its
    /// key policy must let the target account use it.
    #[serde(default)]
    pub kms_key: Option<String>,
    /// `mask_in = "source"`: the DB subnet group and security groups of the temporary cluster
    /// masked in the source account (default: the account's `default` subnet group).
    #[serde(default)]
    pub subnet_group: Option<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshTarget {
    pub account: String,
    pub cluster: String,
    pub subnet_group: String,
    #[serde(default)]
    pub security_groups: Vec<String>,
    pub instance_class: String,
    #[serde(default)]
    pub kms_key: Option<String>,
    #[serde(default)]
    pub parameter_group: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefreshStrategy {
    #[default]
    Auto,
    Snapshot,
    Clone,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "method", rename_all = "lowercase", deny_unknown_fields)]
pub enum SwitchMethod {
    #[default]
    Rename,
    Cname {
        zone: String,
        record: String,
    },
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSettings {
    /// The tag key that marks a deletion candidate.
    #[serde(default = "default_sweep_tag")]
    pub tag: String,
}

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings {
            tag: default_sweep_tag(),
        }
    }
}

/// `[audit]`: what `kirikae audit` expects of every account.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Tag keys every resource must carry (e.g. `["env", "owner"]`): without them a resource's
    /// cost cannot be attributed. The expected values per account are `[accounts.<name>] tags`.
    #[serde(default)]
    pub required_tags: Vec<String>,
    /// Who answers Cost Explorer: `"jump"` (the jump account is the organization's payer), the
    /// name of an `[accounts.<name>]` entry (the payer reached by switch role), or, when unset,
    /// every account for itself (a member account sees only its own costs). A payer answers for
    /// every account in one request per query, so it costs fewer billed requests.
    #[serde(default)]
    pub cost_account: Option<String>,
    /// The tag `kirikae audit cost` splits cost by, with the untagged share (default `env`).
    #[serde(default = "default_cost_tag")]
    pub cost_tag: String,
    /// The untagged share of an account's cost, in percent, above which it is a finding
    /// (default 10).
    #[serde(default = "default_untagged_max_percent")]
    pub untagged_max_percent: f64,
    /// A month-over-month rise of one service is a finding when it is at least this many USD
    /// (default 100) and at least `jump_min_percent` percent (default 50).
    #[serde(default = "default_jump_min_usd")]
    pub jump_min_usd: f64,
    #[serde(default = "default_jump_min_percent")]
    pub jump_min_percent: f64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            required_tags: Vec::new(),
            cost_account: None,
            cost_tag: default_cost_tag(),
            untagged_max_percent: default_untagged_max_percent(),
            jump_min_usd: default_jump_min_usd(),
            jump_min_percent: default_jump_min_percent(),
        }
    }
}

fn default_cost_tag() -> String {
    "env".to_string()
}

fn default_untagged_max_percent() -> f64 {
    10.0
}

fn default_jump_min_usd() -> f64 {
    100.0
}

fn default_jump_min_percent() -> f64 {
    50.0
}

fn default_sweep_tag() -> String {
    "kirikae:sweep".to_string()
}

/// `[notify]`: after every `kirikae refresh run` and `resume`, success or failure, a JSON summary
/// is posted to a webhook (a Slack incoming webhook shows its `text`). The URL is a secret (whoever
/// has it can post to the channel): it is read from the environment or a file, never written in
/// the config, and never printed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    /// The environment variable holding the webhook URL, e.g. `KIRIKAE_NOTIFY_URL`.
    #[serde(default)]
    pub url_env: Option<String>,
    /// A file holding the webhook URL (relative to kirikae.toml), e.g. a mounted secret.
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    /// Only so that `url = "..."` is refused with a message saying where the URL goes instead;
    /// the value itself is not kept.
    #[serde(default, rename = "url", skip_serializing)]
    pub(crate) inline_url: Option<serde::de::IgnoredAny>,
    /// Attempts per run (the first included), 1 to 10; default 3.
    #[serde(default = "default_notify_attempts")]
    pub attempts: u32,
    /// The wait before the first retry, in seconds, doubled for each further one (1, 2, 4, ...),
    /// 0 to 60; default 1.
    #[serde(default = "default_notify_backoff")]
    pub backoff_seconds: u64,
    /// The time limit of one attempt, in seconds, 1 to 60; default 10.
    #[serde(default = "default_notify_timeout")]
    pub timeout_seconds: u64,
}

fn default_notify_attempts() -> u32 {
    3
}
fn default_notify_backoff() -> u64 {
    1
}
fn default_notify_timeout() -> u64 {
    10
}

/// `[bootstrap]`: the structure people switch roles through. In every account of `[accounts]`, one
/// role per entry of `role_kinds`, trusting only the jump account and only with MFA; in the jump
/// account, one group per kind allowed to assume exactly those roles. Its keys are the few numbers
/// a security review asks about (how old may the MFA sign-in be, how long may a session last),
/// each with a stricter value for `protected` accounts.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapSettings {
    /// The account people sign in to (the only principal the switch roles trust).
    pub jump_account: AccountId,
    /// The IAM path of every role and group bootstrap makes; it marks them as kirikae's (with the
    /// `managed-by = kirikae` tag) and is part of their ARNs.
    #[serde(default = "default_bootstrap_path")]
    pub path: String,
    /// The oldest MFA sign-in (seconds) a switch role of an ordinary account accepts
    /// (`aws:MultiFactorAuthAge`); default 43200, the 12 hours of `[jump] mfa_session_hours`.
    #[serde(default = "default_mfa_max_age")]
    pub mfa_max_age_seconds: u32,
    /// The same for `protected = true` accounts; default 3600.
    #[serde(default = "default_protected_mfa_max_age")]
    pub protected_mfa_max_age_seconds: u32,
    /// The switch roles' `MaxSessionDuration` in hours, 1 to 12; default 1 (a role assumed from
    /// an MFA session is chained, and AWS caps a chained session at one hour anyway).
    #[serde(default = "default_session_hours")]
    pub max_session_hours: u32,
    /// The same for `protected = true` accounts, at most `max_session_hours`; default 1.
    #[serde(default = "default_session_hours")]
    pub protected_max_session_hours: u32,
    /// The switch-role kinds by role name, e.g. `[bootstrap.role_kinds.ops]`: every account
    /// gets each of them.
    pub role_kinds: BTreeMap<String, RoleKindSettings>,
    /// `[bootstrap.runner]`: the role an unattended run (`[jump] unattended = true`) assumes.
    #[serde(default)]
    pub runner: Option<RunnerSettings>,
}

/// One switch-role kind (`[bootstrap.role_kinds.<role name>]`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoleKindSettings {
    /// The managed policies (ARNs) attached to the role, e.g.
    /// `"arn:aws:iam::aws:policy/ReadOnlyAccess"`.
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// The jump account's group whose members may assume this role; default `kirikae-<role>`.
    #[serde(default)]
    pub group: Option<String>,
}

impl RoleKindSettings {
    /// The jump-account group of the role kind `role`.
    pub fn group_name(&self, role: &str) -> String {
        self.group
            .clone()
            .unwrap_or_else(|| format!("kirikae-{role}"))
    }
}

/// `[bootstrap.runner]`: one role per account for runs without a person. It trusts exactly one
/// principal (a CI job's role, an ECS task role) and no MFA, which nobody could give.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunnerSettings {
    /// The IAM role ARN the runner's credentials are (in any account), e.g.
    /// `"arn:aws:iam::000000000000:role/ci-nightly"`.
    pub principal: String,
    /// The role name in each account; default `kirikae-unattended`.
    #[serde(default = "default_runner_role")]
    pub role: String,
    #[serde(default)]
    pub managed_policies: Vec<String>,
    /// The kirikae jobs the runner does: each adds its least-privilege inline policy, e.g.
    /// `["refresh-source", "refresh-target", "sweep", "audit", "checks"]`.
    #[serde(default)]
    pub jobs: Vec<RunnerJob>,
    /// `MaxSessionDuration` in hours, 1 to 12; default 1.
    #[serde(default = "default_session_hours")]
    pub max_session_hours: u32,
    /// The CloudFormation types the team sweeps through Cloud Control (`sweep --cloud-control`),
    /// e.g. `["AWS::Events::Rule", "AWS::SSM::Parameter"]`: the sweep job's policy carries their
    /// handlers' IAM actions (list, read, delete, from the sweep's type table). Default: the
    /// EventBridge bus and rule, the SSM parameter and the Step Functions state machine.
    #[serde(default)]
    pub cloud_control_types: Option<Vec<String>>,
}

/// A kirikae job whose IAM policy bootstrap can generate (from the actions the code calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunnerJob {
    /// A refresh's calls in its source account.
    RefreshSource,
    /// A refresh's calls in its target account.
    RefreshTarget,
    /// `kirikae sweep`'s calls in an account it scans and deletes in.
    Sweep,
    /// `kirikae audit`'s calls (read only).
    Audit,
    /// The read-only checks: `accounts check` and `accounts drift` (IAM Get/List, STS).
    Checks,
}

fn default_bootstrap_path() -> String {
    "/kirikae/".to_string()
}
fn default_mfa_max_age() -> u32 {
    43_200
}
fn default_protected_mfa_max_age() -> u32 {
    3_600
}
fn default_session_hours() -> u32 {
    1
}
fn default_runner_role() -> String {
    "kirikae-unattended".to_string()
}
