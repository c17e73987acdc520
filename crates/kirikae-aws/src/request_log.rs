//! One log line per AWS request (`-v`): which service and operation, in which account and region,
//! how long it took, how many attempts it needed and how many of them AWS throttled. Attached to
//! every SDK client kirikae builds (STS here, the refresh's `Cloud`, the sweep's `Cx`), so "which
//! calls did kirikae make, where, and why was one slow" has an answer without a proxy.
//!
//! Only the operation's metadata is read: never the request or response body or headers
//! (credentials, signatures, secret values stay out of the log).

use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryReason,
};
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::retry::ErrorKind;
use aws_types::region::Region;

/// The tracing target of the request lines (`RUST_LOG=kirikae::aws=debug` shows only them).
pub const TARGET: &str = "kirikae::aws";

/// The account a set of credentials acts in, kept on [`aws_credential_types::Credentials`] as a
/// property (not as the SDK's `account_id`, which would change DynamoDB's endpoint choice), so an
/// STS client built from those credentials logs the right account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallAccount(pub String);

/// The interceptor: one per client, naming the account that client acts in.
#[derive(Debug, Clone)]
pub struct RequestLog {
    account: String,
}

impl RequestLog {
    /// `account`: the 12-digit id (or, for the jump account's own calls, `jump`).
    pub fn new(account: impl Into<String>) -> RequestLog {
        RequestLog {
            account: account.into(),
        }
    }
}

/// What one operation accumulated over its attempts (in the operation's own config bag).
#[derive(Debug, Clone)]
struct Started {
    at: Instant,
    throttles: u32,
}

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

impl Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "kirikae-request-log"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started {
            at: Instant::now(),
            throttles: 0,
        });
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The SDK's own classifiers decide whether this attempt was throttled (HTTP 429, or a
        // `Throttling`/`RequestLimitExceeded` code): the same judgement its retry makes.
        let throttled = runtime_components.retry_classifiers().any(|c| {
            matches!(
                c.classify_retry(context.inner()),
                RetryAction::RetryIndicated(RetryReason::RetryableError {
                    kind: ErrorKind::ThrottlingError,
                    ..
                })
            )
        });
        if throttled {
            if let Some(mut s) = cfg.load::<Started>().cloned() {
                s.throttles += 1;
                cfg.interceptor_state().store_put(s);
            }
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map_or(("?", "?"), |m| (m.service(), m.name()));
        let region = cfg.load::<Region>().map_or("?", |r| r.as_ref());
        let attempts = cfg.load::<RequestAttempts>().map_or(0, |a| a.attempts());
        let (duration_ms, throttles) = cfg
            .load::<Started>()
            .map_or((0, 0), |s| (s.at.elapsed().as_millis() as u64, s.throttles));
        let outcome = match context.output_or_error() {
            Some(Ok(_)) => "ok".to_string(),
            Some(Err(_)) => match context.response() {
                Some(r) => format!("error (HTTP {})", r.status().as_u16()),
                None => "error (no response)".to_string(),
            },
            None => "not sent".to_string(),
        };
        tracing::debug!(
            target: TARGET,
            service = %service,
            operation = %operation,
            account = %self.account,
            region = %region,
            duration_ms,
            attempts,
            throttles,
            outcome = %outcome,
            "aws request"
        );
        Ok(())
    }
}
