//! Why an account and region could not be audited.

/// A failure while auditing one account in one region; the other accounts and regions go on.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The switch-role session into the account failed.
    #[error("cannot reach the account")]
    Session(#[source] kirikae_aws::AwsError),
    /// An AWS call failed (after the SDK's own retries).
    #[error("{operation} failed")]
    Aws {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl AuditError {
    pub(crate) fn aws<E>(operation: &'static str) -> impl FnOnce(E) -> AuditError
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        move |e| AuditError::Aws {
            operation,
            source: Box::new(e),
        }
    }
}
