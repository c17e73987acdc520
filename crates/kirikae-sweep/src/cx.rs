//! The narrow interface every AWS call of the sweep goes through: one account, one region, the
//! SDK clients built once, and a per-service limiter that bounds concurrency and backs off when
//! AWS throttles (on top of the SDK's own adaptive retry).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_types::SdkConfig;
use kirikae_aws::request_log::RequestLog;

use crate::SweepError;

/// At most this many calls at once to one service, unless the caller says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 8;
const MAX_THROTTLE_RETRIES: u32 = 8;
const MAX_DELAY_MS: u64 = 5_000;

/// Concurrency and pacing for one service: a throttled call doubles the pause before every call
/// to that service (from 50 ms up to 5 s), each success halves it again.
pub struct Limiter {
    permits: tokio::sync::Semaphore,
    delay_ms: AtomicU64,
    throttled: AtomicU64,
}

impl Limiter {
    pub fn new(concurrency: usize) -> Limiter {
        Limiter {
            permits: tokio::sync::Semaphore::new(concurrency.max(1)),
            delay_ms: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }

    fn slow_down(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
        let d = self.delay_ms.load(Ordering::Relaxed);
        self.delay_ms
            .store((d * 2).clamp(50, MAX_DELAY_MS), Ordering::Relaxed);
    }

    fn speed_up(&self) {
        let d = self.delay_ms.load(Ordering::Relaxed);
        if d > 0 {
            self.delay_ms
                .store(if d < 50 { 0 } else { d / 2 }, Ordering::Relaxed);
        }
    }
}

/// A service's client from the context's config, with the request log (`-v`) naming the account.
macro_rules! client {
    ($cx:ident, $service:ident) => {
        $service::Client::from_conf(
            $service::config::Builder::from(&$cx.sdk)
                .interceptor(RequestLog::new(&$cx.account_id))
                .build(),
        )
    };
}

pub struct Cx {
    pub account_id: String,
    pub region: String,
    /// The role the credentials act as (from STS), which a sweep must never delete.
    pub caller_role: Option<String>,
    /// The first region of a run lists the global resources (IAM).
    global: bool,
    sdk: SdkConfig,
    concurrency: usize,
    limiters: Mutex<HashMap<&'static str, Arc<Limiter>>>,
    calls: AtomicU64,
    ec2: OnceLock<aws_sdk_ec2::Client>,
    s3: OnceLock<aws_sdk_s3::Client>,
    elbv2: OnceLock<aws_sdk_elasticloadbalancingv2::Client>,
    tagging: OnceLock<aws_sdk_resourcegroupstagging::Client>,
    groups: OnceLock<aws_sdk_resourcegroups::Client>,
    iam: OnceLock<aws_sdk_iam::Client>,
    sqs: OnceLock<aws_sdk_sqs::Client>,
    sns: OnceLock<aws_sdk_sns::Client>,
    logs: OnceLock<aws_sdk_cloudwatchlogs::Client>,
    dynamodb: OnceLock<aws_sdk_dynamodb::Client>,
    rds: OnceLock<aws_sdk_rds::Client>,
    secrets: OnceLock<aws_sdk_secretsmanager::Client>,
    kms: OnceLock<aws_sdk_kms::Client>,
    lambda: OnceLock<aws_sdk_lambda::Client>,
    cloudwatch: OnceLock<aws_sdk_cloudwatch::Client>,
    ecr: OnceLock<aws_sdk_ecr::Client>,
    autoscaling: OnceLock<aws_sdk_autoscaling::Client>,
    elasticache: OnceLock<aws_sdk_elasticache::Client>,
    cloudcontrol: OnceLock<aws_sdk_cloudcontrol::Client>,
}

impl Cx {
    /// `sdk` acts in `account_id` (see `kirikae_aws::Estate::sdk_config`); calls go to `region`.
    pub fn new(sdk: &SdkConfig, account_id: &str, region: &str, concurrency: usize) -> Cx {
        let sdk = sdk
            .to_builder()
            .region(aws_types::region::Region::new(region.to_string()))
            .build();
        Cx {
            account_id: account_id.to_string(),
            region: region.to_string(),
            caller_role: None,
            global: true,
            sdk,
            concurrency: concurrency.max(1),
            limiters: Mutex::new(HashMap::new()),
            calls: AtomicU64::new(0),
            ec2: OnceLock::new(),
            s3: OnceLock::new(),
            elbv2: OnceLock::new(),
            tagging: OnceLock::new(),
            groups: OnceLock::new(),
            iam: OnceLock::new(),
            sqs: OnceLock::new(),
            sns: OnceLock::new(),
            logs: OnceLock::new(),
            dynamodb: OnceLock::new(),
            rds: OnceLock::new(),
            secrets: OnceLock::new(),
            kms: OnceLock::new(),
            lambda: OnceLock::new(),
            cloudwatch: OnceLock::new(),
            ecr: OnceLock::new(),
            autoscaling: OnceLock::new(),
            elasticache: OnceLock::new(),
            cloudcontrol: OnceLock::new(),
        }
    }

    /// One context per region, acting in the account the credentials really reach (asked of
    /// STS once, so a plan is never applied to another account by mistake).
    pub async fn connect(
        sdk: &SdkConfig,
        regions: &[String],
        concurrency: usize,
    ) -> Result<Vec<Arc<Cx>>, SweepError> {
        // The account is what this call finds out: the log names it "unresolved".
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(sdk)
                .interceptor(RequestLog::new("unresolved"))
                .build(),
        );
        let who = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| SweepError::aws("GetCallerIdentity", e))?;
        let account = who.account().unwrap_or_default().to_string();
        // arn:aws:sts::111111111111:assumed-role/ops/hanako -> ops
        let caller_role = who
            .arn()
            .and_then(|a| a.split_once(":assumed-role/"))
            .and_then(|(_, rest)| rest.split('/').next())
            .map(str::to_string);
        // One limiter for Cloud Control as a whole: its quotas are per account, and every
        // region's items poll and delete through it (a throttle slows all of them down).
        let cloudcontrol = Arc::new(Limiter::new(concurrency));
        Ok(regions
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut cx = Cx::new(sdk, &account, r, concurrency);
                cx.share_limiter("cloudcontrol", cloudcontrol.clone());
                cx.caller_role = caller_role.clone();
                cx.global = i == 0;
                if i == 0 {
                    cx.calls.fetch_add(1, Ordering::Relaxed); // GetCallerIdentity
                }
                Arc::new(cx)
            })
            .collect())
    }

    /// Makes `service`'s calls of this context go through `limiter` (shared with other
    /// contexts: see [`Cx::connect`]).
    pub fn share_limiter(&mut self, service: &'static str, limiter: Arc<Limiter>) {
        self.limiters
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .insert(service, limiter);
    }

    /// Whether this context lists global resources (IAM): only the first region of a run does.
    pub fn lists_global_resources(&self) -> bool {
        self.global
    }

    /// How many AWS calls this context made (throttled retries of ours included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// How many times a service throttled us (after the SDK's retries).
    pub fn throttled(&self) -> u64 {
        let limiters = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        limiters
            .values()
            .map(|l| l.throttled.load(Ordering::Relaxed))
            .sum()
    }

    fn limiter(&self, service: &'static str) -> Arc<Limiter> {
        let mut limiters = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        limiters
            .entry(service)
            .or_insert_with(|| Arc::new(Limiter::new(self.concurrency)))
            .clone()
    }

    /// Runs one AWS call under `service`'s limiter, retrying it while AWS throttles.
    pub async fn call<T, F, Fut>(&self, service: &'static str, f: F) -> Result<T, SweepError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SweepError>>,
    {
        let limiter = self.limiter(service);
        let mut attempt = 0;
        loop {
            let permit = limiter.permits.acquire().await;
            let delay = limiter.delay_ms.load(Ordering::Relaxed);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            self.calls.fetch_add(1, Ordering::Relaxed);
            let result = f().await;
            drop(permit);
            match result {
                Err(e) if e.is_throttle() && attempt < MAX_THROTTLE_RETRIES => {
                    attempt += 1;
                    limiter.slow_down();
                }
                other => {
                    if other.is_ok() {
                        limiter.speed_up();
                    }
                    return other;
                }
            }
        }
    }

    pub fn ec2(&self) -> &aws_sdk_ec2::Client {
        self.ec2.get_or_init(|| client!(self, aws_sdk_ec2))
    }
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3.get_or_init(|| {
            // A local endpoint has no per-bucket host names: path-style addressing.
            let path_style = self.sdk.endpoint_url().is_some();
            let conf = aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(path_style)
                .interceptor(RequestLog::new(&self.account_id))
                .build();
            aws_sdk_s3::Client::from_conf(conf)
        })
    }
    pub fn elbv2(&self) -> &aws_sdk_elasticloadbalancingv2::Client {
        self.elbv2
            .get_or_init(|| client!(self, aws_sdk_elasticloadbalancingv2))
    }
    pub fn tagging(&self) -> &aws_sdk_resourcegroupstagging::Client {
        self.tagging
            .get_or_init(|| client!(self, aws_sdk_resourcegroupstagging))
    }
    pub fn groups(&self) -> &aws_sdk_resourcegroups::Client {
        self.groups
            .get_or_init(|| client!(self, aws_sdk_resourcegroups))
    }
    pub fn iam(&self) -> &aws_sdk_iam::Client {
        self.iam.get_or_init(|| client!(self, aws_sdk_iam))
    }
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs.get_or_init(|| client!(self, aws_sdk_sqs))
    }
    pub fn sns(&self) -> &aws_sdk_sns::Client {
        self.sns.get_or_init(|| client!(self, aws_sdk_sns))
    }
    pub fn logs(&self) -> &aws_sdk_cloudwatchlogs::Client {
        self.logs
            .get_or_init(|| client!(self, aws_sdk_cloudwatchlogs))
    }
    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        self.dynamodb
            .get_or_init(|| client!(self, aws_sdk_dynamodb))
    }

    pub fn rds(&self) -> &aws_sdk_rds::Client {
        self.rds.get_or_init(|| client!(self, aws_sdk_rds))
    }

    pub fn secrets(&self) -> &aws_sdk_secretsmanager::Client {
        self.secrets
            .get_or_init(|| client!(self, aws_sdk_secretsmanager))
    }
    pub fn kms(&self) -> &aws_sdk_kms::Client {
        self.kms.get_or_init(|| client!(self, aws_sdk_kms))
    }
    pub fn lambda(&self) -> &aws_sdk_lambda::Client {
        self.lambda.get_or_init(|| client!(self, aws_sdk_lambda))
    }
    pub fn cloudwatch(&self) -> &aws_sdk_cloudwatch::Client {
        self.cloudwatch
            .get_or_init(|| client!(self, aws_sdk_cloudwatch))
    }
    pub fn ecr(&self) -> &aws_sdk_ecr::Client {
        self.ecr.get_or_init(|| client!(self, aws_sdk_ecr))
    }
    pub fn autoscaling(&self) -> &aws_sdk_autoscaling::Client {
        self.autoscaling
            .get_or_init(|| client!(self, aws_sdk_autoscaling))
    }
    pub fn elasticache(&self) -> &aws_sdk_elasticache::Client {
        self.elasticache
            .get_or_init(|| client!(self, aws_sdk_elasticache))
    }
    pub fn cloudcontrol(&self) -> &aws_sdk_cloudcontrol::Client {
        self.cloudcontrol
            .get_or_init(|| client!(self, aws_sdk_cloudcontrol))
    }

    /// `arn:aws:<service>:<region>:<account>:<resource>`
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account_id
        )
    }
}
