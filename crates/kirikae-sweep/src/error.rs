//! Errors of the sweep, each saying what to do about it.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::request_id::RequestId;

#[derive(Debug, Clone, thiserror::Error)]
pub enum SweepError {
    /// An AWS call failed (after the SDK's own retries).
    #[error("{operation}: {code}: {message}")]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
        request_id: Option<String>,
    },
    #[error(transparent)]
    Account(#[from] kirikae_aws::AwsError),
    #[error("the plan {path}: {why}")]
    Plan { path: String, why: String },
    #[error("{0}")]
    BadInput(String),
    #[error("{what}: {why}")]
    Io { what: String, why: String },
    /// Something kirikae will not do (a deletion AWS would refuse, an account that is not the
    /// plan's).
    #[error("refused: {0}")]
    Refused(String),
    /// The plan does not agree with kirikae.toml or with the live account: nothing was deleted.
    #[error("refused: {0}")]
    Mismatch(String),
    /// The plan file was edited after `scan` wrote it (its keyed digest does not match).
    #[error(
        "{path} was changed after scan: {why}. Nothing was deleted: run `kirikae sweep scan` \
         again, then review and mark the new plan"
    )]
    PlanChanged { path: String, why: String },
    /// A protected account and no `--confirm <alias>`, or another alias.
    #[error("{0}")]
    NeedsConfirm(String),
}

/// What kind of failure an error is, decided where it is made; the binary maps it to an exit
/// code once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is wrong (arguments, the plan file): nothing ran.
    BadInput,
    /// A protected account without its alias as `--confirm`: nothing ran.
    NeedsConfirm,
    /// A guard refused: the plan does not match kirikae.toml or the live account, or was
    /// changed after scan. Nothing was deleted.
    Refused,
    /// The work failed (an AWS call, a file).
    Failed,
}

impl SweepError {
    pub fn aws<E, R>(operation: &'static str, err: SdkError<E, R>) -> SweepError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let (code, message) = match &err {
            SdkError::ServiceError(_) => (
                err.code().unwrap_or("Unknown").to_string(),
                err.message().unwrap_or_default().to_string(),
            ),
            SdkError::TimeoutError(_) => ("Timeout".into(), "no answer in time".into()),
            SdkError::DispatchFailure(e) => (
                "Unreachable".into(),
                format!("AWS could not be reached: {e:?}"),
            ),
            other => ("Unknown".into(), format!("{other:?}")),
        };
        let request_id = err.meta().request_id().map(str::to_string);
        SweepError::Aws {
            operation,
            code,
            message,
            request_id,
        }
    }

    /// See [`ErrorKind`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            SweepError::BadInput(_) | SweepError::Plan { .. } => ErrorKind::BadInput,
            SweepError::NeedsConfirm(_) => ErrorKind::NeedsConfirm,
            SweepError::Refused(_) | SweepError::Mismatch(_) | SweepError::PlanChanged { .. } => {
                ErrorKind::Refused
            }
            SweepError::Aws { .. } | SweepError::Account(_) | SweepError::Io { .. } => {
                ErrorKind::Failed
            }
        }
    }

    /// The AWS error code, if this was an AWS error.
    pub fn code(&self) -> Option<&str> {
        match self {
            SweepError::Aws { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            SweepError::Aws { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// AWS asked us to slow down.
    pub fn is_throttle(&self) -> bool {
        matches!(
            self.code(),
            Some(
                "Throttling"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "TooManyRequestsException"
                    | "SlowDown"
                    | "RequestThrottled"
                    | "RequestThrottledException"
                    | "ProvisionedThroughputExceededException"
            )
        )
    }

    /// The resource does not exist (any service's spelling of it).
    pub fn is_not_found(&self) -> bool {
        self.code().is_some_and(|c| {
            c.contains("NotFound")
                || c.starts_with("NoSuch")
                || c.contains("NonExistent")
                || c == "ResourceNotFoundException"
        })
    }
}

pub(crate) fn io(what: impl Into<String>, e: impl std::fmt::Display) -> SweepError {
    SweepError::Io {
        what: what.into(),
        why: e.to_string(),
    }
}
