//! Errors of the AWS plumbing, each saying what to do about it.

use std::fmt;

/// What kind of STS failure this was, so callers can explain it (and tests can assert it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StsErrorKind {
    /// AccessDenied: no such role, a trust policy that does not allow the caller, or a role that
    /// requires MFA (AWS does not say which).
    AccessDenied,
    /// The MFA code was refused.
    MfaFailed,
    /// The credentials are unknown to AWS or expired.
    BadCredentials,
    /// Throttled after the SDK's retries.
    Throttled,
    /// AWS could not be reached.
    Unreachable,
    Other,
}

impl fmt::Display for StsErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StsErrorKind::AccessDenied => "access denied",
            StsErrorKind::MfaFailed => "MFA code refused",
            StsErrorKind::BadCredentials => "credentials refused",
            StsErrorKind::Throttled => "throttled",
            StsErrorKind::Unreachable => "AWS unreachable",
            StsErrorKind::Other => "error",
        })
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AwsError {
    #[error("no jump-account credentials: {0}")]
    NoJumpCredentials(String),
    #[error(
        "an MFA code is needed for {serial}: {why}; pass --mfa-code <code>, or set [jump] \
         mfa_command to a command that prints the code"
    )]
    MfaCodeNeeded { serial: String, why: String },
    #[error("the MFA command `{command}` failed: {why}")]
    MfaCommand { command: String, why: String },
    #[error("{operation}: {kind}: {message}{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Sts {
        operation: &'static str,
        kind: StsErrorKind,
        message: String,
        hint: Option<String>,
    },
    #[error("the session cache {path}: {why}")]
    Cache { path: String, why: String },
    #[error("no account {name:?} in the config (known: {known})")]
    UnknownAccount { name: String, known: String },
    /// `[jump] unattended = true` and no source of the default chain had credentials.
    #[error(
        "no credentials for this unattended run ([jump] unattended = true); the default chain \
         looked at:{}\ngive the job one of them (docs/config.md, \"Unattended runs\")",
        looked.iter().map(|l| format!("\n  - {l}")).collect::<String>()
    )]
    NoUnattendedCredentials {
        looked: Vec<crate::unattended::Looked>,
    },
    /// A source of the default chain is configured (its variables are set) but failed.
    #[error("unattended credentials from {source_name}: {why}")]
    UnattendedSource {
        source_name: &'static str,
        why: String,
    },
}

impl AwsError {
    pub fn sts_kind(&self) -> Option<StsErrorKind> {
        match self {
            AwsError::Sts { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}
