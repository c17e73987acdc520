//! The estate: the jump session plus one switch-role session per configured account, and the
//! fan-out over accounts with bounded concurrency.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_runtime::env_config::file::{
    EnvConfigFileKind as ProfileFileKind, EnvConfigFiles as ProfileFiles,
};
use aws_smithy_async::time::SharedTimeSource;
use aws_types::region::Region;
use aws_types::SdkConfig;
use kirikae_config::{AccountSettings, Config};
use tokio::sync::{Mutex, OnceCell};

use crate::credentials::{JumpCredentials, MfaAgeBound, MfaSettings, RoleCredentials};
use crate::error::{AwsError, StsErrorKind};
use crate::mfa::MfaCodeSource;
use crate::sts::{AssumeRoleRequest, SdkSts, StsApi};
use crate::unattended::UnattendedChain;

/// Role sessions last an hour: AWS's cap for role chaining, and the default for AssumeRole.
pub const ROLE_SESSION: Duration = Duration::from_secs(3600);

/// What the command line adds to the config.
#[derive(Debug, Clone, Default)]
pub struct EstateOptions {
    /// `--mfa-code`: used instead of `mfa_command` or a prompt.
    pub mfa_code: Option<String>,
}

pub struct Estate {
    config: Arc<Config>,
    sdk: SdkConfig,
    sts: Arc<dyn StsApi>,
    clock: SharedTimeSource,
    jump: Arc<JumpCredentials>,
    session_name: OnceCell<String>,
    roles: Mutex<HashMap<String, Arc<RoleCredentials>>>,
}

/// The outcome of switching into one account.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccountCheck {
    pub name: String,
    pub account_id: String,
    pub alias: Option<String>,
    pub protected: bool,
    pub assumed_arn: Option<String>,
    #[serde(serialize_with = "serialize_time")]
    pub expires: Option<SystemTime>,
    pub error: Option<String>,
    pub error_kind: Option<StsErrorKind>,
}

fn serialize_time<S: serde::Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&crate::format_utc(*t)),
        None => s.serialize_none(),
    }
}

impl Estate {
    /// The estate as configured, talking to AWS (or `[aws] endpoint_url`) through the SDK.
    pub async fn connect(config: Arc<Config>, options: EstateOptions) -> Result<Estate, AwsError> {
        let clock = SharedTimeSource::default();
        let sdk = base_sdk_config(&config, clock.clone()).await;
        let sts: Arc<dyn StsApi> = Arc::new(SdkSts::new(sdk.clone()));
        let base = if config.jump.unattended {
            SharedCredentialsProvider::new(UnattendedChain::new(
                &config,
                sts.clone(),
                clock.clone(),
                crate::unattended::process_env(),
            ))
        } else {
            jump_base_provider(&config)
        };
        Ok(Estate::with_parts(config, options, sdk, sts, base, clock))
    }

    /// The estate with every external effect given (tests pass a fake STS and a manual clock).
    pub fn with_parts(
        config: Arc<Config>,
        options: EstateOptions,
        sdk: SdkConfig,
        sts: Arc<dyn StsApi>,
        base: SharedCredentialsProvider,
        clock: SharedTimeSource,
    ) -> Estate {
        let mfa = config.jump.mfa_serial.as_ref().map(|serial| {
            let codes = match (&options.mfa_code, &config.jump.mfa_command) {
                (Some(code), _) => MfaCodeSource::Fixed(code.clone()),
                (None, Some(command)) => MfaCodeSource::Command {
                    command: command.clone(),
                    dir: config
                        .path
                        .parent()
                        .map(|p| p.to_path_buf())
                        .unwrap_or_else(|| ".".into()),
                },
                (None, None) => MfaCodeSource::Prompt,
            };
            let endpoint = config.aws.endpoint_url.as_deref().unwrap_or("aws");
            let profile = config.jump.profile.as_deref().unwrap_or("env");
            let key = crate::state::stable_hash(&[endpoint, profile, serial]);
            MfaSettings {
                serial: serial.clone(),
                codes,
                duration: Duration::from_secs(u64::from(config.jump.mfa_session_hours) * 3600),
                cache_file: Some(
                    crate::state::state_dir(config.state_dir.as_deref())
                        .join("sessions")
                        .join(format!("mfa-{key}.json")),
                ),
            }
        });
        let jump = Arc::new(
            JumpCredentials::new(base, mfa, sts.clone(), clock.clone())
                .with_unattended(config.jump.unattended),
        );
        Estate {
            config,
            sdk,
            sts,
            clock,
            jump,
            session_name: OnceCell::new(),
            roles: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn jump(&self) -> &Arc<JumpCredentials> {
        &self.jump
    }

    fn account(&self, name: &str) -> Result<(String, AccountSettings), AwsError> {
        self.config
            .account(name)
            .map(|(k, a)| (k.to_string(), a.clone()))
            .ok_or_else(|| AwsError::UnknownAccount {
                name: name.to_string(),
                known: self
                    .config
                    .accounts
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The role session name: `[jump] session_name`, else the jump user's own name, so CloudTrail
    /// in every account shows who it was.
    pub async fn session_name(&self) -> Result<String, AwsError> {
        self.session_name
            .get_or_try_init(|| async {
                if let Some(n) = &self.config.jump.session_name {
                    return Ok(n.clone());
                }
                let creds = self.jump.credentials().await?;
                let who = self.sts.caller_identity(creds).await?;
                Ok(session_name_from_arn(&who.arn))
            })
            .await
            .cloned()
    }

    /// The switch-role credentials provider of one account (by name, alias or id).
    pub async fn role(&self, account: &str) -> Result<Arc<RoleCredentials>, AwsError> {
        let (name, settings) = self.account(account)?;
        if let Some(r) = self.roles.lock().await.get(&name) {
            return Ok(r.clone());
        }
        let session_name = self.session_name().await?;
        let role = Arc::new(
            RoleCredentials::new(
                self.jump.clone(),
                AssumeRoleRequest {
                    role_arn: settings.role_arn(),
                    session_name,
                    duration: ROLE_SESSION,
                },
                self.sts.clone(),
                self.clock.clone(),
            )
            .with_mfa_bound(self.mfa_bound(&name, &settings)),
        );
        Ok(self.roles.lock().await.entry(name).or_insert(role).clone())
    }

    /// The MFA age bound of an account's switch role, as `[bootstrap]` sets it in the roles it
    /// makes (`aws:MultiFactorAuthAge`); none when the config has no `[bootstrap]` (the roles
    /// are someone else's) or the run signs in without MFA.
    fn mfa_bound(&self, name: &str, settings: &AccountSettings) -> Option<MfaAgeBound> {
        let b = self.config.bootstrap.as_ref()?;
        self.jump.mfa_serial()?;
        let (seconds, setting) = if settings.protected {
            (
                b.protected_mfa_max_age_seconds,
                "[bootstrap] protected_mfa_max_age_seconds",
            )
        } else {
            (b.mfa_max_age_seconds, "[bootstrap] mfa_max_age_seconds")
        };
        Some(MfaAgeBound {
            max_age: Duration::from_secs(u64::from(seconds)),
            account: name.to_string(),
            setting,
        })
    }

    /// An SDK config acting as `account`: every client built from it switches role (and renews
    /// the session) by itself.
    pub async fn sdk_config(&self, account: &str) -> Result<SdkConfig, AwsError> {
        let (_, settings) = self.account(account)?;
        let role = self.role(account).await?;
        let mut b = self
            .sdk
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(ArcProvider(role)));
        if let Some(region) = &settings.region {
            b = b.region(Region::new(region.clone()));
        }
        Ok(b.build())
    }

    /// The jump account's own id and an SDK config acting as it, without switching role: for
    /// what the jump account answers itself (Cost Explorer, when it is the organization's payer).
    pub async fn jump_sdk_config(&self) -> Result<(String, SdkConfig), AwsError> {
        let creds = self.jump.credentials().await?;
        let who = self.sts.caller_identity(creds).await?;
        let config = self
            .sdk
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(JumpProvider(
                self.jump.clone(),
            )))
            .build();
        Ok((who.account, config))
    }

    /// Switches into one account and asks STS who we are there.
    pub async fn check_account(&self, name: &str) -> AccountCheck {
        let (name, settings) = match self.account(name) {
            Ok(a) => a,
            Err(e) => {
                return AccountCheck {
                    name: name.to_string(),
                    account_id: String::new(),
                    alias: None,
                    protected: false,
                    assumed_arn: None,
                    expires: None,
                    error: Some(e.to_string()),
                    error_kind: None,
                }
            }
        };
        let mut check = AccountCheck {
            name,
            account_id: settings.id.to_string(),
            alias: settings.alias.clone(),
            protected: settings.protected,
            assumed_arn: None,
            expires: None,
            error: None,
            error_kind: None,
        };
        let result = async {
            let role = self.role(&check.name).await?;
            let creds = role.credentials().await?;
            let who = self.sts.caller_identity(creds.clone()).await?;
            if who.account != settings.id.as_str() {
                return Err(AwsError::Sts {
                    operation: "GetCallerIdentity",
                    kind: StsErrorKind::Other,
                    message: format!(
                        "the role answered from account {}, not the configured {}",
                        who.account, settings.id
                    ),
                    hint: Some("fix the account id or the role in kirikae.toml".into()),
                });
            }
            Ok((who.arn, creds.expiry()))
        }
        .await;
        match result {
            Ok((arn, expiry)) => {
                check.assumed_arn = Some(arn);
                check.expires = expiry;
            }
            Err(e) => {
                check.error_kind = e.sts_kind();
                check.error = Some(e.to_string());
            }
        }
        check
    }

    /// Checks every account, at most `concurrency` at a time, in config order.
    pub async fn check_all(self: &Arc<Self>, concurrency: usize) -> Vec<AccountCheck> {
        let names: Vec<String> = self.config.accounts.keys().cloned().collect();
        // Ask for the MFA code (if any) once, before fanning out.
        if let Err(e) = self.session_name().await {
            return names
                .iter()
                .map(|n| {
                    let a = &self.config.accounts[n];
                    AccountCheck {
                        name: n.clone(),
                        account_id: a.id.to_string(),
                        alias: a.alias.clone(),
                        protected: a.protected,
                        assumed_arn: None,
                        expires: None,
                        error: Some(e.to_string()),
                        error_kind: e.sts_kind(),
                    }
                })
                .collect();
        }
        let this = self.clone();
        crate::fanout::bounded(names, concurrency, move |name| {
            let this = this.clone();
            async move { this.check_account(&name).await }
        })
        .await
    }
}

/// Lets the jump account's own credentials be the SDK's credentials provider.
#[derive(Debug)]
struct JumpProvider(Arc<JumpCredentials>);

impl aws_credential_types::provider::ProvideCredentials for JumpProvider {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        self.0.provide_credentials()
    }
}

/// Lets an `Arc<RoleCredentials>` be the SDK's credentials provider.
#[derive(Debug)]
struct ArcProvider(Arc<RoleCredentials>);

impl aws_credential_types::provider::ProvideCredentials for ArcProvider {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        self.0.provide_credentials()
    }
}

/// `arn:aws:iam::1:user/path/hanako` -> `hanako`; `...:assumed-role/Role/hanako@corp` ->
/// `hanako@corp`; trimmed to AWS's rules for session names.
pub fn session_name_from_arn(arn: &str) -> String {
    let resource = arn.rsplit(':').next().unwrap_or(arn);
    let last = resource.rsplit('/').next().unwrap_or(resource);
    let mut name: String = last
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(*c))
        .take(64)
        .collect();
    if name.len() < 2 {
        name = format!("kirikae-{name}");
    }
    name
}

/// The SDK settings every client shares: region, endpoint, adaptive retry, timeouts.
async fn base_sdk_config(config: &Config, clock: SharedTimeSource) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(config.aws.region.clone()))
        .retry_config(RetryConfig::adaptive().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        )
        .time_source(clock)
        .no_credentials();
    if let Some(url) = &config.aws.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// The jump account's own credentials: a profile of the shared files (static keys, SSO,
/// `credential_process`), or the environment. Never the instance metadata service: kirikae runs
/// on people's machines, and a silent fallback there is a surprise.
fn jump_base_provider(config: &Config) -> SharedCredentialsProvider {
    let Some(profile) = &config.jump.profile else {
        return SharedCredentialsProvider::new(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    };
    let mut files = ProfileFiles::builder()
        .include_default_credentials_file(config.jump.credentials_file.is_none())
        .include_default_config_file(config.jump.config_file.is_none());
    if let Some(f) = &config.jump.credentials_file {
        files = files.with_file(ProfileFileKind::Credentials, f);
    }
    if let Some(f) = &config.jump.config_file {
        files = files.with_file(ProfileFileKind::Config, f);
    }
    let provider_config =
        ProviderConfig::without_region().with_region(Some(Region::new(config.aws.region.clone())));
    SharedCredentialsProvider::new(
        ProfileFileCredentialsProvider::builder()
            .configure(&provider_config)
            .profile_files(files.build())
            .profile_name(profile)
            .build(),
    )
}
