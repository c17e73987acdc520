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

/// How old an MFA sign-in a switch role accepts (its trust policy's `aws:MultiFactorAuthAge`
/// bound), known from `[bootstrap]`: a cached MFA session older than this is not offered to the
/// role (AWS would answer only "not authorized"); a new code is asked for instead.
#[derive(Debug, Clone)]
pub struct MfaAgeBound {
    pub max_age: Duration,
    /// The account whose role sets the bound, as the config names it.
    pub account: String,
    /// The setting the bound comes from, for messages.
    pub setting: &'static str,
}

/// An MFA session and when its code was given (`aws:MultiFactorAuthAge` counts from then).
#[derive(Clone)]
struct MfaSession {
    credentials: Credentials,
    signed_in: SystemTime,
}

impl MfaSession {
    fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.signed_in).unwrap_or_default()
    }

    /// Whether the session can still be used, for a role with `bound` (if any); the margin
    /// leaves room for the AssumeRole call itself.
    fn serves(&self, bound: Option<&MfaAgeBound>, now: SystemTime) -> bool {
        still_fresh(&self.credentials, now)
            && bound.is_none_or(|b| self.age(now) + MFA_AGE_MARGIN < b.max_age)
    }
}

/// A session is offered to an age-bound role only while it is at least this much younger than
/// the bound.
const MFA_AGE_MARGIN: Duration = Duration::from_secs(60);

/// An AccessDenied from a role with no known bound mentions the MFA sign-in's age from here on.
const MFA_AGE_HINT: Duration = Duration::from_secs(15 * 60);

/// The jump account's credentials, through one MFA `GetSessionToken` when configured.
pub struct JumpCredentials {
    base: SharedCredentialsProvider,
    mfa: Option<MfaSettings>,
    sts: Arc<dyn StsApi>,
    clock: SharedTimeSource,
    cached: Mutex<Option<MfaSession>>,
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
    /// When the MFA code was given; files of older kirikae versions lack it, and it is then
    /// taken as the expiry less the configured session length.
    #[serde(default)]
    signed_in_unix: Option<u64>,
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
        self.credentials_for(None).await
    }

    /// How long ago the MFA code behind the current session was given, if there is a session.
    pub async fn mfa_age(&self) -> Option<Duration> {
        let now = self.clock.now();
        self.cached.lock().await.as_ref().map(|s| s.age(now))
    }

    /// The credentials a switch role with an MFA age bound starts from: a session signed in
    /// longer ago than the bound allows is replaced by a new one (a new code is asked for).
    pub async fn credentials_for(
        &self,
        bound: Option<&MfaAgeBound>,
    ) -> Result<Credentials, AwsError> {
        let Some(mfa) = &self.mfa else {
            return self.base_credentials().await;
        };
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        if let Some(s) = cached.as_ref().filter(|s| s.serves(bound, now)) {
            return Ok(s.credentials.clone());
        }
        let base = self.base_credentials().await?;
        let on_disk = self.read_cache(mfa, &base, now);
        if let Some(s) = on_disk.as_ref().filter(|s| s.serves(bound, now)) {
            *cached = Some(s.clone());
            return Ok(s.credentials.clone());
        }
        // A session that is still valid but too old for this role: say why a code is asked for.
        let too_old = [cached.as_ref(), on_disk.as_ref()]
            .into_iter()
            .flatten()
            .filter(|s| still_fresh(&s.credentials, now))
            .map(|s| s.age(now))
            .min();
        let reason = bound.zip(too_old).map(|(b, age)| {
            format!(
                "{} accepts an MFA sign-in at most {} old ({}) and the current one is {} old",
                b.account,
                human_duration(b.max_age),
                b.setting,
                human_duration(age)
            )
        });
        let session = self.sign_in(mfa, base, reason).await?;
        *cached = Some(session.clone());
        Ok(session.credentials)
    }

    /// A new MFA session: a code from the configured source, then `GetSessionToken`, cached.
    async fn sign_in(
        &self,
        mfa: &MfaSettings,
        base: Credentials,
        reason: Option<String>,
    ) -> Result<MfaSession, AwsError> {
        let codes = mfa.codes.clone();
        let serial = mfa.serial.clone();
        let asked_because = reason.clone();
        let code =
            tokio::task::spawn_blocking(move || codes.code(&serial, asked_because.as_deref()))
                .await
                .map_err(|e| AwsError::MfaCodeNeeded {
                    serial: mfa.serial.clone(),
                    why: e.to_string(),
                })?
                .map_err(|e| with_reason(e, reason.as_deref()))?;
        let signed_in = self.clock.now();
        let credentials = self
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
        let session = MfaSession {
            credentials,
            signed_in,
        };
        self.write_cache(mfa, &base, &session)?;
        Ok(session)
    }

    fn read_cache(
        &self,
        mfa: &MfaSettings,
        base: &Credentials,
        now: SystemTime,
    ) -> Option<MfaSession> {
        let path = mfa.cache_file.as_ref()?;
        let text = std::fs::read_to_string(path).ok()?;
        let s: CachedSession = serde_json::from_str(&text).ok()?;
        if s.mfa_serial != mfa.serial || s.base_access_key_id != base.access_key_id() {
            return None;
        }
        let expires = UNIX_EPOCH + Duration::from_secs(s.expires_unix);
        let signed_in = match s.signed_in_unix {
            Some(t) => UNIX_EPOCH + Duration::from_secs(t),
            None => expires.checked_sub(mfa.duration).unwrap_or(UNIX_EPOCH),
        };
        let credentials = Credentials::new(
            s.access_key_id,
            s.secret_access_key,
            s.session_token,
            Some(expires),
            "kirikae-mfa-cache",
        );
        still_fresh(&credentials, now).then_some(MfaSession {
            credentials,
            signed_in,
        })
    }

    fn write_cache(
        &self,
        mfa: &MfaSettings,
        base: &Credentials,
        session: &MfaSession,
    ) -> Result<(), AwsError> {
        let signed_in_unix = session
            .signed_in
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let session = &session.credentials;
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
            signed_in_unix: Some(signed_in_unix),
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

/// The reason a new code was asked for, added to the error of not getting one.
fn with_reason(e: AwsError, reason: Option<&str>) -> AwsError {
    let Some(reason) = reason else { return e };
    match e {
        AwsError::MfaCodeNeeded { serial, why } => AwsError::MfaCodeNeeded {
            serial,
            why: format!("{reason}; {why}"),
        },
        AwsError::MfaCommand { command, why } => AwsError::MfaCommand {
            command,
            why: format!("{why} (a new code was needed: {reason})"),
        },
        other => other,
    }
}

/// `2 h 5 min`, `45 min`, `30 s`: for ages and bounds in messages.
pub(crate) fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60) {
        (0, 0) => format!("{s} s"),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
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
    /// The role's MFA age bound, when the config knows it (`[bootstrap]`).
    mfa_bound: Option<MfaAgeBound>,
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
            mfa_bound: None,
            sts,
            clock,
            cached: Mutex::new(None),
        }
    }

    /// Sets the role's MFA age bound (see [`MfaAgeBound`]).
    pub fn with_mfa_bound(mut self, bound: Option<MfaAgeBound>) -> Self {
        self.mfa_bound = bound;
        self
    }

    pub fn role_arn(&self) -> &str {
        &self.request.role_arn
    }

    pub async fn credentials(&self) -> Result<Credentials, AwsError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| still_fresh(c, self.clock.now())) {
            return Ok(c.clone());
        }
        let base = self.source.credentials_for(self.mfa_bound.as_ref()).await?;
        let result = self.sts.assume_role(base, self.request.clone()).await;
        let creds = match result {
            Ok(c) => c,
            Err(e) => return Err(self.explain(e, self.source.mfa_age().await)),
        };
        *cached = Some(creds.clone());
        Ok(creds)
    }

    /// AWS says only "not authorized" for a missing role, a trust policy that does not name the
    /// caller, and a role that wants MFA; say which of these to look at.
    fn explain(&self, e: AwsError, mfa_age: Option<Duration>) -> AwsError {
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
                } else if let Some(age) = mfa_age.filter(|a| *a >= MFA_AGE_HINT) {
                    // Without [bootstrap] kirikae does not know the role's bound; a common one
                    // is an hour for production.
                    hint.push_str(&format!(
                        "; the MFA sign-in behind this session is {} old: if the role's trust \
                         policy bounds aws:MultiFactorAuthAge, set the bound in [bootstrap] \
                         (mfa_max_age_seconds, protected_mfa_max_age_seconds) so kirikae asks for \
                         a new code in time",
                        human_duration(age)
                    ));
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
