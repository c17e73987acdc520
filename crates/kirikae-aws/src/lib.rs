//! kirikae's AWS plumbing: the jump account's credentials (optionally through one cached MFA
//! session; for runs without a person, the SDK's default chain: [`unattended`]), a switch-role
//! session per account renewed before it expires, and fan-out over
//! accounts. Every AWS call goes through the Rust AWS SDK, configured by `kirikae.toml`
//! (`[aws] endpoint_url` points it at the local emulator).
//!
//! ```no_run
//! # async fn example(config: std::sync::Arc<kirikae_config::Config>) -> Result<(), kirikae_aws::AwsError> {
//! let estate = std::sync::Arc::new(
//!     kirikae_aws::Estate::connect(config, kirikae_aws::EstateOptions::default()).await?,
//! );
//! for check in estate.check_all(8).await {
//!     println!("{}: {:?}", check.name, check.assumed_arn);
//! }
//! // Any SDK client built from this config acts in the prod account.
//! let prod = estate.sdk_config("prod").await?;
//! # let _ = prod; Ok(()) }
//! ```

pub mod clock;
pub mod console;
pub mod credentials;
mod error;
mod estate;
pub mod fanout;
pub mod iam_read;
pub mod mfa;
pub mod profiles;
pub mod request_log;
pub mod state;
pub mod sts;
pub mod unattended;

pub use error::{AwsError, StsErrorKind};
pub use estate::{session_name_from_arn, AccountCheck, Estate, EstateOptions, ROLE_SESSION};

/// `2026-11-25T01:23:45Z`
pub fn format_utc(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    aws_smithy_types::DateTime::from_secs(secs as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}
