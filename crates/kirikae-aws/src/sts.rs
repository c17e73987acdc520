//! The one narrow interface to STS. The real one is the Rust AWS SDK; tests use a fake that
//! counts calls, so refresh logic is checked without a network.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_types::SdkConfig;

use crate::request_log::{CallAccount, RequestLog};

use crate::error::{AwsError, StsErrorKind};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTokenRequest {
    pub mfa_serial: String,
    pub mfa_code: String,
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleRequest {
    pub role_arn: String,
    pub session_name: String,
    pub duration: Duration,
}

/// `AssumeRoleWithWebIdentity`: the OIDC token of a CI job or a Kubernetes service account for
/// the runner's role. The token is a credential: `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebIdentityRequest {
    pub role_arn: String,
    pub session_name: String,
    pub token: String,
    pub duration: Duration,
}

impl Debug for WebIdentityRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebIdentityRequest")
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .field("token", &"<redacted>")
            .field("duration", &self.duration)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
}

pub trait StsApi: Send + Sync + Debug {
    fn get_session_token(
        &self,
        base: Credentials,
        request: SessionTokenRequest,
    ) -> BoxFuture<'_, Result<Credentials, AwsError>>;
    fn assume_role(
        &self,
        base: Credentials,
        request: AssumeRoleRequest,
    ) -> BoxFuture<'_, Result<Credentials, AwsError>>;
    fn caller_identity(
        &self,
        creds: Credentials,
    ) -> BoxFuture<'_, Result<CallerIdentity, AwsError>>;
    /// Signed by nothing but the token (the call carries no AWS credentials).
    fn assume_role_with_web_identity(
        &self,
        request: WebIdentityRequest,
    ) -> BoxFuture<'_, Result<Credentials, AwsError>>;
}

/// STS through the Rust AWS SDK, with the estate's region, endpoint and retry settings.
#[derive(Debug, Clone)]
pub struct SdkSts {
    base: SdkConfig,
}

impl SdkSts {
    pub fn new(base: SdkConfig) -> Self {
        SdkSts { base }
    }

    /// A client signing with `creds`; its requests are logged in the account those credentials
    /// act in ([`CallAccount`], set on a role's credentials), else in the jump account.
    fn client(&self, creds: Credentials) -> aws_sdk_sts::Client {
        let account = creds
            .get_property::<CallAccount>()
            .map_or_else(|| "jump".to_string(), |a| a.0.clone());
        let conf = aws_sdk_sts::config::Builder::from(&self.base)
            .credentials_provider(creds)
            .interceptor(RequestLog::new(account))
            .build();
        aws_sdk_sts::Client::from_conf(conf)
    }

    /// A client with no credentials: `AssumeRoleWithWebIdentity` is not signed (the token is the
    /// only proof sent), and it goes to the estate's endpoint (the emulator's with `[aws]
    /// endpoint_url`).
    fn unsigned_client(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&self.base)
                .interceptor(RequestLog::new("jump"))
                .build(),
        )
    }
}

fn to_credentials(
    c: Option<&aws_sdk_sts::types::Credentials>,
    operation: &'static str,
) -> Result<Credentials, AwsError> {
    let c = c.ok_or_else(|| AwsError::Sts {
        operation,
        kind: StsErrorKind::Other,
        message: "the answer held no credentials".into(),
        hint: None,
    })?;
    let expiry = SystemTime::try_from(*c.expiration()).map_err(|e| AwsError::Sts {
        operation,
        kind: StsErrorKind::Other,
        message: format!("bad expiration in the answer: {e}"),
        hint: None,
    })?;
    Ok(Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        Some(expiry),
        "kirikae",
    ))
}

pub(crate) fn classify<E, R>(operation: &'static str, err: SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug,
{
    let (kind, message) = match &err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let code = e.code().unwrap_or("");
            let message = e.message().unwrap_or("").to_string();
            let kind = if message.contains("MultiFactorAuthentication") {
                StsErrorKind::MfaFailed
            } else {
                match code {
                    "AccessDenied" | "AccessDeniedException" => StsErrorKind::AccessDenied,
                    "InvalidClientTokenId"
                    | "ExpiredToken"
                    | "SignatureDoesNotMatch"
                    | "UnrecognizedClientException"
                    | "InvalidIdentityToken"
                    | "ExpiredTokenException"
                    | "IDPRejectedClaim" => StsErrorKind::BadCredentials,
                    "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
                        StsErrorKind::Throttled
                    }
                    _ => StsErrorKind::Other,
                }
            };
            let message = if code.is_empty() {
                message
            } else {
                format!("{code}: {message}")
            };
            (kind, message)
        }
        SdkError::DispatchFailure(d) => (
            StsErrorKind::Unreachable,
            format!("{:?}", d).chars().take(300).collect(),
        ),
        SdkError::TimeoutError(_) => (StsErrorKind::Unreachable, "timed out".into()),
        other => (StsErrorKind::Other, other.to_string()),
    };
    AwsError::Sts {
        operation,
        kind,
        message,
        hint: None,
    }
}

impl StsApi for SdkSts {
    fn get_session_token(
        &self,
        base: Credentials,
        request: SessionTokenRequest,
    ) -> BoxFuture<'_, Result<Credentials, AwsError>> {
        Box::pin(async move {
            let out = self
                .client(base)
                .get_session_token()
                .serial_number(request.mfa_serial)
                .token_code(request.mfa_code)
                .duration_seconds(request.duration.as_secs() as i32)
                .send()
                .await
                .map_err(|e| classify("GetSessionToken", e))?;
            to_credentials(out.credentials(), "GetSessionToken")
        })
    }

    fn assume_role(
        &self,
        base: Credentials,
        request: AssumeRoleRequest,
    ) -> BoxFuture<'_, Result<Credentials, AwsError>> {
        Box::pin(async move {
            // arn:aws:iam::222222222222:role/ops -> the account the new credentials act in
            let account = request.role_arn.split(':').nth(4).map(str::to_string);
            let out = self
                .client(base)
                .assume_role()
                .role_arn(request.role_arn)
                .role_session_name(request.session_name)
                .duration_seconds(request.duration.as_secs() as i32)
                .send()
                .await
                .map_err(|e| classify("AssumeRole", e))?;
            let mut creds = to_credentials(out.credentials(), "AssumeRole")?;
            if let Some(account) = account.filter(|a| !a.is_empty()) {
                creds.set_property(CallAccount(account));
            }
            Ok(creds)
        })
    }

    fn caller_identity(
        &self,
        creds: Credentials,
    ) -> BoxFuture<'_, Result<CallerIdentity, AwsError>> {
        Box::pin(async move {
            let out = self
                .client(creds)
                .get_caller_identity()
                .send()
                .await
                .map_err(|e| classify("GetCallerIdentity", e))?;
            Ok(CallerIdentity {
                account: out.account().unwrap_or_default().to_string(),
                arn: out.arn().unwrap_or_default().to_string(),
            })
        })
    }

    fn assume_role_with_web_identity(
        &self,
        request: WebIdentityRequest,
    ) -> BoxFuture<'_, Result<Credentials, AwsError>> {
        Box::pin(async move {
            let role_arn = request.role_arn.clone();
            let out = self
                .unsigned_client()
                .assume_role_with_web_identity()
                .role_arn(request.role_arn)
                .role_session_name(request.session_name)
                .web_identity_token(request.token)
                .duration_seconds(request.duration.as_secs() as i32)
                .send()
                .await
                .map_err(|e| match classify("AssumeRoleWithWebIdentity", e) {
                    AwsError::Sts {
                        operation,
                        kind: kind @ (StsErrorKind::AccessDenied | StsErrorKind::BadCredentials),
                        message,
                        hint: None,
                    } => AwsError::Sts {
                        operation,
                        kind,
                        message,
                        hint: Some(format!(
                            "check that the role {role_arn} (AWS_ROLE_ARN) trusts the token's \
                             issuer as a federated principal for sts:AssumeRoleWithWebIdentity, that \
                             its conditions (aud, sub) match the token, and that the token has not \
                             expired"
                        )),
                    },
                    other => other,
                })?;
            to_credentials(out.credentials(), "AssumeRoleWithWebIdentity")
        })
    }
}
