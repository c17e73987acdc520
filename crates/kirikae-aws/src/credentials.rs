//! Credentials providers for the Rust AWS SDK: the jump account's (optionally one MFA session,
//! cached on disk with mode 0600) and, from it, each account's switch-role session, refreshed
//! before it expires so a run of many hours never asks for a code again while the MFA session
//! lives. `aws-config`'s own `AssumeRoleProvider` cannot take MFA, hence these.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::provider::{self, error::CredentialsError, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_smithy_async::time::SharedTimeSource;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::error::AwsError;
use crate::mfa::MfaCodeSource;
use crate::sts::{AssumeRoleRequest, SessionTokenRequest, StsApi};

/// Credentials are renewed when less than this is left, so no call is made with credentials
/// that expire on the way.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

pub(crate) fn still_fresh(creds: &Credentials, now: SystemTime) -> bool {
    match creds.expiry() {
        Some(exp) => exp
            .duration_since(now)
            .is_ok_and(|left| left > REFRESH_MARGIN),
        None => true,
    }
}

/// The MFA part of the jump session.
#[derive(Debug, Clone)]
pub struct MfaSettings {
    pub serial: String,
    pub codes: MfaCodeSource,
    pub duration: Duration,
    /// Where the session is cached between runs; `None` keeps it in memory only.
    pub cache_file: Option<PathBuf>,
}

/// The jump account's credentials, through one MFA `GetSessionToken` when configured.
pub struct JumpCredentials {
    base: SharedCredentialsProvider,
    mfa: Option<MfaSettings>,
    sts: Arc<dyn StsApi>,
    clock: SharedTimeSource,
    cached: Mutex<Option<Credentials>>,
    /// `[jump] unattended = true`: errors point at the runner role's trust, not at MFA.
    unattended: bool,
}

impl fmt::Debug for JumpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JumpCredentials")
            .field("mfa", &self.mfa.as_ref().map(|m| &m.serial))
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct CachedSession {
    mfa_serial: String,
    /// The long-term key the session was made from: a new key means a new session.
    base_access_key_id: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    expires_unix: u64,
}

impl JumpCredentials {
    pub fn new(
        base: SharedCredentialsProvider,
        mfa: Option<MfaSettings>,
        sts: Arc<dyn StsApi>,
        clock: SharedTimeSource,
    ) -> Self {
        JumpCredentials {
            base,
            mfa,
            sts,
            clock,
            cached: Mutex::new(None),
            unattended: false,
        }
    }

    /// Marks the credentials as those of a run without a person (`[jump] unattended = true`).
    pub fn with_unattended(mut self, unattended: bool) -> Self {
        self.unattended = unattended;
        self
    }

    pub fn is_unattended(&self) -> bool {
        self.unattended
    }

    pub fn mfa_serial(&self) -> Option<&str> {
        self.mfa.as_ref().map(|m| m.serial.as_str())
    }

    async fn base_credentials(&self) -> Result<Credentials, AwsError> {
        self.base.provide_credentials().await.map_err(|e| {
            // kirikae's own providers (the unattended chain) carry a typed error: keep it.
            match std::error::Error::source(&e).and_then(|s| s.downcast_ref::<AwsError>()) {
                Some(typed) => typed.clone(),
                None => AwsError::NoJumpCredentials(describe_credentials_error(&e)),
            }
        })
    }

    /// The credentials every switch role starts from.
    pub async fn credentials(&self) -> Result<Credentials, AwsError> {
        let Some(mfa) = &self.mfa else {
            return self.base_credentials().await;
        };
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        if let Some(c) = cached.as_ref().filter(|c| still_fresh(c, now)) {
            return Ok(c.clone());
        }
        let base = self.base_credentials().await?;
        if let Some(c) = self.read_cache(mfa, &base, now) {
            *cached = Some(c.clone());
            return Ok(c);
        }
        let codes = mfa.codes.clone();
        let serial = mfa.serial.clone();
        let code = tokio::task::spawn_blocking(move || codes.code(&serial))
            .await
            .map_err(|e| AwsError::MfaCodeNeeded {
                serial: mfa.serial.clone(),
                why: e.to_string(),
            })??;
        let session = self
            .sts
            .get_session_token(
                base.clone(),
                SessionTokenRequest {
                    mfa_serial: mfa.serial.clone(),
                    mfa_code: code,
                    duration: mfa.duration,
                },
            )
            .await?;
        self.write_cache(mfa, &base, &session)?;
        *cached = Some(session.clone());
        Ok(session)
    }

    fn read_cache(
        &self,
        mfa: &MfaSettings,
        base: &Credentials,
        now: SystemTime,
    ) -> Option<Credentials> {
        let path = mfa.cache_file.as_ref()?;
        let text = std::fs::read_to_string(path).ok()?;
        let s: CachedSession = serde_json::from_str(&text).ok()?;
        if s.mfa_serial != mfa.serial || s.base_access_key_id != base.access_key_id() {
            return None;
        }
        let creds = Credentials::new(
            s.access_key_id,
            s.secret_access_key,
            s.session_token,
            Some(UNIX_EPOCH + Duration::from_secs(s.expires_unix)),
            "kirikae-mfa-cache",
        );
        still_fresh(&creds, now).then_some(creds)
    }

    fn write_cache(
        &self,
        mfa: &MfaSettings,
        base: &Credentials,
        session: &Credentials,
    ) -> Result<(), AwsError> {
        let Some(path) = &mfa.cache_file else {
            return Ok(());
        };
        let cached = CachedSession {
            mfa_serial: mfa.serial.clone(),
            base_access_key_id: base.access_key_id().to_string(),
            access_key_id: session.access_key_id().to_string(),
            secret_access_key: session.secret_access_key().to_string(),
            session_token: session.session_token().map(str::to_string),
            expires_unix: session
                .expiry()
                .and_then(|e| e.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs()),
        };
        let json = serde_json::to_vec_pretty(&cached).map_err(|e| cache_error(path, e))?;
        crate::state::write_private(path, &json).map_err(|e| cache_error(path, e))
    }
}

fn cache_error(path: &std::path::Path, e: impl fmt::Display) -> AwsError {
    AwsError::Cache {
        path: path.display().to_string(),
        why: e.to_string(),
    }
}

fn describe_credentials_error(e: &CredentialsError) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// Both providers are SDK credentials providers through their `credentials()`; the typed
/// [`AwsError`] is kept as the source of the SDK's error.
macro_rules! provide_through_credentials {
    ($t:ty) => {
        impl ProvideCredentials for $t {
            fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
            where
                Self: 'a,
            {
                provider::future::ProvideCredentials::new(async move {
                    self.credentials()
                        .await
                        .map_err(CredentialsError::provider_error)
                })
            }
        }
    };
}

provide_through_credentials!(JumpCredentials);

/// One account's switch-role session, assumed from the jump session and re-assumed shortly
/// before it expires (role sessions are short; the MFA session behind them is not).
pub struct RoleCredentials {
    source: Arc<JumpCredentials>,
    request: AssumeRoleRequest,
    sts: Arc<dyn StsApi>,
    clock: SharedTimeSource,
    cached: Mutex<Option<Credentials>>,
}

impl fmt::Debug for RoleCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoleCredentials")
            .field("role_arn", &self.request.role_arn)
            .finish_non_exhaustive()
    }
}

impl RoleCredentials {
    pub fn new(
        source: Arc<JumpCredentials>,
        request: AssumeRoleRequest,
        sts: Arc<dyn StsApi>,
        clock: SharedTimeSource,
    ) -> Self {
        RoleCredentials {
            source,
            request,
            sts,
            clock,
            cached: Mutex::new(None),
        }
    }

    pub fn role_arn(&self) -> &str {
        &self.request.role_arn
    }

    pub async fn credentials(&self) -> Result<Credentials, AwsError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| still_fresh(c, self.clock.now())) {
            return Ok(c.clone());
        }
        let base = self.source.credentials().await?;
        let creds = self
            .sts
            .assume_role(base, self.request.clone())
            .await
            .map_err(|e| self.explain(e))?;
        *cached = Some(creds.clone());
        Ok(creds)
    }

    /// AWS says only "not authorized" for a missing role, a trust policy that does not name the
    /// caller, and a role that wants MFA; say which of these to look at.
    fn explain(&self, e: AwsError) -> AwsError {
        match e {
            AwsError::Sts {
                operation,
                kind: kind @ crate::StsErrorKind::AccessDenied,
                message,
                hint: None,
            } => {
                let mut hint = format!(
                    "check that the role {} exists and that its trust policy allows the jump account",
                    self.request.role_arn
                );
                if self.source.is_unattended() {
                    hint = format!(
                        "check that the role {} exists and that its trust policy allows the \
                         runner's role with sts:AssumeRole and no MFA condition (docs/config.md, \
                         \"Unattended runs\")",
                        self.request.role_arn
                    );
                } else if self.source.mfa_serial().is_none() {
                    hint.push_str(
                        "; if it requires MFA, set [jump] mfa_serial so kirikae signs in with MFA",
                    );
                }
                AwsError::Sts {
                    operation,
                    kind,
                    message,
                    hint: Some(hint),
                }
            }
            other => other,
        }
    }
}

provide_through_credentials!(RoleCredentials);
