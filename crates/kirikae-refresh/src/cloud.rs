//! The AWS calls of a refresh, one narrow method per thing the pipeline needs, for one account.
//! Everything the pipeline knows about AWS goes through [`Cloud`]: the SDK's types stop here.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_config::retry::RetryConfig;
use aws_sdk_rds::error::ProvideErrorMetadata;
use aws_sdk_rds::operation::modify_db_cluster::builders::ModifyDBClusterFluentBuilder;
use aws_sdk_rds::types::Tag;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::result::{CreateUnhandledError, SdkError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_types::SdkConfig;

/// Counts every HTTP request (attempt, so retries count) per `Service:Operation`.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<Mutex<BTreeMap<String, u64>>>);

impl CallCounter {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "kirikae-refresh-call-counter"
    }
    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            if let Ok(mut map) = self.0.lock() {
                *map.entry(format!("{}:{}", m.service(), m.name()))
                    .or_default() += 1;
            }
        }
        Ok(())
    }
}

/// An AWS error reduced to what the pipeline decides on and shows.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} in account {account}: {code}: {message}")]
pub struct CallError {
    pub operation: &'static str,
    pub account: String,
    pub code: String,
    pub message: String,
}

impl CallError {
    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }
    pub fn not_found(&self) -> bool {
        self.code.ends_with("NotFound")
            || self.code.ends_with("NotFoundFault")
            || self.code == "ResourceNotFoundException"
            || self.code == "NotFoundException"
            || self.code == "UnknownResourceException"
    }
}

pub type CallResult<T> = Result<T, CallError>;

/// Where AWS saying "not found" is an answer, not an error.
trait Found<T> {
    /// `None` where the thing is not there ([`CallError::not_found`]).
    fn found(self) -> CallResult<Option<T>>;
    /// Likewise, and where `gone` also says the error means "not there".
    fn found_or(self, gone: impl Fn(&CallError) -> bool) -> CallResult<Option<T>>;
    /// A delete: what is not there is deleted already.
    fn gone_is_fine(self) -> CallResult<()>;
}

impl<T> Found<T> for CallResult<T> {
    fn found(self) -> CallResult<Option<T>> {
        self.found_or(|_| false)
    }
    fn found_or(self, gone: impl Fn(&CallError) -> bool) -> CallResult<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.not_found() || gone(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }
    fn gone_is_fine(self) -> CallResult<()> {
        self.found().map(|_| ())
    }
}

#[derive(Debug, Clone)]
pub struct ClusterInfo {
    pub id: String,
    pub arn: String,
    pub status: String,
    pub engine: String,
    pub encrypted: bool,
    pub kms_key: Option<String>,
    pub endpoint: Option<String>,
    pub port: Option<i32>,
    pub database: Option<String>,
    pub master_user: Option<String>,
    pub deletion_protection: bool,
    pub cross_account_clone: bool,
    pub members: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct SnapshotInfo {
    pub id: String,
    pub arn: String,
    pub status: String,
    pub encrypted: bool,
    pub kms_key: Option<String>,
    pub shared_with: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub arn: String,
    /// `AWS` for AWS-managed keys such as `aws/rds`.
    pub aws_managed: bool,
    pub enabled: bool,
}

/// A VPC security group as DescribeSecurityGroups shows it.
#[derive(Debug, Clone)]
pub struct SecurityGroupInfo {
    pub id: String,
    pub name: String,
    pub vpc_id: Option<String>,
}

/// A DB subnet group as DescribeDBSubnetGroups shows it.
#[derive(Debug, Clone)]
pub struct SubnetGroupInfo {
    pub name: String,
    pub vpc_id: Option<String>,
}

/// A RAM resource share invitation as the receiving account sees it.
#[derive(Debug, Clone)]
pub struct InvitationInfo {
    pub arn: String,
    pub share_arn: String,
    pub sender: String,
    /// `PENDING`, `ACCEPTED`, `REJECTED` or `EXPIRED`.
    pub status: String,
}

/// What a restored or cloned cluster is created with (nothing is taken from the source's
/// network settings).
#[derive(Debug, Clone)]
pub struct NewCluster {
    pub id: String,
    pub engine: String,
    pub subnet_group: String,
    pub security_groups: Vec<String>,
    pub kms_key: Option<String>,
    pub parameter_group: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// `request` with the settings of the [`NewCluster`] `c`: the same on both restores (whose
/// requests are of different types).
macro_rules! new_cluster {
    ($request:expr, $c:expr) => {
        $request
            .db_cluster_identifier(&$c.id)
            .db_subnet_group_name(&$c.subnet_group)
            .set_vpc_security_group_ids(
                // an empty list is sent as an empty parameter, which is not "none given"
                Some($c.security_groups.clone()).filter(|g| !g.is_empty()),
            )
            .set_kms_key_id($c.kms_key.clone())
            .set_db_cluster_parameter_group_name($c.parameter_group.clone())
            .deletion_protection(true)
            .set_tags(Some(tags(&$c.tags)))
    };
}

/// The clients of one account.
#[derive(Clone)]
pub struct Cloud {
    pub account: String,
    pub account_id: String,
    rds: aws_sdk_rds::Client,
    ec2: aws_sdk_ec2::Client,
    kms: aws_sdk_kms::Client,
    sm: aws_sdk_secretsmanager::Client,
    ram: aws_sdk_ram::Client,
    route53: aws_sdk_route53::Client,
}

fn err<E: ProvideErrorMetadata>(operation: &'static str, account: &str, e: E) -> CallError {
    CallError {
        operation,
        account: account.to_string(),
        code: e.code().unwrap_or("Unknown").to_string(),
        message: e
            .message()
            .map(str::to_string)
            .unwrap_or_else(|| "no message".into()),
    }
}

fn tags(map: &BTreeMap<String, String>) -> Vec<Tag> {
    map.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

impl Cloud {
    pub fn new(account: &str, account_id: &str, sdk: &SdkConfig, counter: &CallCounter) -> Cloud {
        // Throttling is normal when many refreshes and consoles share an account: retry more
        // than the SDK's default 3 attempts, with its exponential backoff.
        let retry = RetryConfig::standard().with_max_attempts(8);
        // Every service's client: the account's config, that retry, the call counter, the request
        // log (`-v`).
        macro_rules! client {
            ($service:ident) => {
                $service::Client::from_conf(
                    $service::config::Builder::from(sdk)
                        .retry_config(retry.clone())
                        .interceptor(counter.clone())
                        .interceptor(kirikae_aws::request_log::RequestLog::new(account_id))
                        .build(),
                )
            };
        }
        Cloud {
            account: account.to_string(),
            account_id: account_id.to_string(),
            rds: client!(aws_sdk_rds),
            ec2: client!(aws_sdk_ec2),
            kms: client!(aws_sdk_kms),
            sm: client!(aws_sdk_secretsmanager),
            ram: client!(aws_sdk_ram),
            route53: client!(aws_sdk_route53),
        }
    }

    /// The answer of a sent request, its error reduced to a [`CallError`] of `op`.
    fn call<T, E, R>(&self, op: &'static str, sent: Result<T, SdkError<E, R>>) -> CallResult<T>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + CreateUnhandledError + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        sent.map_err(|e| err(op, &self.account, e.into_service_error()))
    }

    // --- clusters -------------------------------------------------------------------------

    pub async fn cluster(&self, id: &str) -> CallResult<Option<ClusterInfo>> {
        let sent = self
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await;
        Ok(self
            .call("DescribeDBClusters", sent)
            .found()?
            .and_then(|o| o.db_clusters().first().map(cluster_info)))
    }

    pub async fn clusters(&self) -> CallResult<Vec<ClusterInfo>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let sent = self
                .rds
                .describe_db_clusters()
                .set_marker(marker.clone())
                .send()
                .await;
            let o = self.call("DescribeDBClusters", sent)?;
            out.extend(o.db_clusters().iter().map(cluster_info));
            match o.marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => return Ok(out),
            }
        }
    }

    pub async fn create_snapshot(
        &self,
        cluster: &str,
        snapshot: &str,
        t: &BTreeMap<String, String>,
    ) -> CallResult<()> {
        let sent = self
            .rds
            .create_db_cluster_snapshot()
            .db_cluster_identifier(cluster)
            .db_cluster_snapshot_identifier(snapshot)
            .set_tags(Some(tags(t)))
            .send()
            .await;
        self.call("CreateDBClusterSnapshot", sent)?;
        Ok(())
    }

    pub async fn snapshot(&self, id: &str) -> CallResult<Option<SnapshotInfo>> {
        let sent = self
            .rds
            .describe_db_cluster_snapshots()
            .db_cluster_snapshot_identifier(id)
            .send()
            .await;
        let Some(o) = self.call("DescribeDBClusterSnapshots", sent).found()? else {
            return Ok(None);
        };
        let Some(s) = o.db_cluster_snapshots().first() else {
            return Ok(None);
        };
        let shared_with = match self
            .rds
            .describe_db_cluster_snapshot_attributes()
            .db_cluster_snapshot_identifier(id)
            .send()
            .await
        {
            Ok(a) => a
                .db_cluster_snapshot_attributes_result()
                .map(|r| {
                    r.db_cluster_snapshot_attributes()
                        .iter()
                        .filter(|a| a.attribute_name() == Some("restore"))
                        .flat_map(|a| a.attribute_values().iter().cloned())
                        .collect()
                })
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        Ok(Some(SnapshotInfo {
            id: s
                .db_cluster_snapshot_identifier()
                .unwrap_or_default()
                .into(),
            arn: s.db_cluster_snapshot_arn().unwrap_or_default().into(),
            status: s.status().unwrap_or_default().into(),
            encrypted: s.storage_encrypted().unwrap_or(false),
            kms_key: s.kms_key_id().map(str::to_string),
            shared_with,
        }))
    }

    pub async fn copy_snapshot(
        &self,
        from: &str,
        to: &str,
        kms_key: &str,
        t: &BTreeMap<String, String>,
    ) -> CallResult<()> {
        let sent = self
            .rds
            .copy_db_cluster_snapshot()
            .source_db_cluster_snapshot_identifier(from)
            .target_db_cluster_snapshot_identifier(to)
            .kms_key_id(kms_key)
            .set_tags(Some(tags(t)))
            .send()
            .await;
        self.call("CopyDBClusterSnapshot", sent)?;
        Ok(())
    }

    /// Adds or removes `account_id` from who may restore the snapshot.
    pub async fn share_snapshot(&self, id: &str, account_id: &str, share: bool) -> CallResult<()> {
        let mut r = self
            .rds
            .modify_db_cluster_snapshot_attribute()
            .db_cluster_snapshot_identifier(id)
            .attribute_name("restore");
        r = if share {
            r.values_to_add(account_id)
        } else {
            r.values_to_remove(account_id)
        };
        self.call("ModifyDBClusterSnapshotAttribute", r.send().await)?;
        Ok(())
    }

    pub async fn delete_snapshot(&self, id: &str) -> CallResult<()> {
        let sent = self
            .rds
            .delete_db_cluster_snapshot()
            .db_cluster_snapshot_identifier(id)
            .send()
            .await;
        self.call("DeleteDBClusterSnapshot", sent).gone_is_fine()
    }

    pub async fn restore_from_snapshot(
        &self,
        snapshot_arn: &str,
        c: &NewCluster,
    ) -> CallResult<()> {
        let r = self
            .rds
            .restore_db_cluster_from_snapshot()
            .snapshot_identifier(snapshot_arn)
            .engine(&c.engine);
        let sent = new_cluster!(r, c).send().await;
        self.call("RestoreDBClusterFromSnapshot", sent)?;
        Ok(())
    }

    /// A copy-on-write clone of a cluster (of another account: by ARN, shared through RAM).
    pub async fn clone_cluster(&self, source_arn: &str, c: &NewCluster) -> CallResult<()> {
        let r = self
            .rds
            .restore_db_cluster_to_point_in_time()
            .source_db_cluster_identifier(source_arn)
            .restore_type("copy-on-write")
            .use_latest_restorable_time(true);
        let sent = new_cluster!(r, c).send().await;
        self.call("RestoreDBClusterToPointInTime", sent)?;
        Ok(())
    }

    pub async fn instance_status(&self, id: &str) -> CallResult<Option<String>> {
        let sent = self
            .rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await;
        Ok(self
            .call("DescribeDBInstances", sent)
            .found()?
            .and_then(|o| {
                o.db_instances()
                    .first()
                    .map(|i| i.db_instance_status().unwrap_or_default().to_string())
            }))
    }

    pub async fn create_instance(
        &self,
        id: &str,
        cluster: &str,
        engine: &str,
        class: &str,
        t: &BTreeMap<String, String>,
    ) -> CallResult<()> {
        let sent = self
            .rds
            .create_db_instance()
            .db_instance_identifier(id)
            .db_cluster_identifier(cluster)
            .engine(engine)
            .db_instance_class(class)
            .set_tags(Some(tags(t)))
            .send()
            .await;
        self.call("CreateDBInstance", sent)?;
        Ok(())
    }

    pub async fn delete_instance(&self, id: &str) -> CallResult<()> {
        let sent = self
            .rds
            .delete_db_instance()
            .db_instance_identifier(id)
            .skip_final_snapshot(true)
            .send()
            .await;
        self.call("DeleteDBInstance", sent).gone_is_fine()
    }

    /// ModifyDBCluster of `id`, applied now, with what `set` adds to the request.
    async fn modify_cluster(
        &self,
        id: &str,
        set: impl FnOnce(ModifyDBClusterFluentBuilder) -> ModifyDBClusterFluentBuilder,
    ) -> CallResult<()> {
        let r = self
            .rds
            .modify_db_cluster()
            .db_cluster_identifier(id)
            .apply_immediately(true);
        self.call("ModifyDBCluster", set(r).send().await)?;
        Ok(())
    }

    pub async fn rename_cluster(&self, id: &str, new_id: &str) -> CallResult<()> {
        self.modify_cluster(id, |r| r.new_db_cluster_identifier(new_id))
            .await
    }

    pub async fn set_password(&self, id: &str, password: &str) -> CallResult<()> {
        self.modify_cluster(id, |r| r.master_user_password(password))
            .await
    }

    pub async fn set_deletion_protection(&self, id: &str, on: bool) -> CallResult<()> {
        self.modify_cluster(id, |r| r.deletion_protection(on)).await
    }

    pub async fn add_tags(&self, arn: &str, t: &BTreeMap<String, String>) -> CallResult<()> {
        let sent = self
            .rds
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(tags(t)))
            .send()
            .await;
        self.call("AddTagsToResource", sent)?;
        Ok(())
    }

    pub async fn delete_cluster(&self, id: &str) -> CallResult<()> {
        let sent = self
            .rds
            .delete_db_cluster()
            .db_cluster_identifier(id)
            .skip_final_snapshot(true)
            .send()
            .await;
        self.call("DeleteDBCluster", sent).gone_is_fine()
    }

    pub async fn subnet_group(&self, name: &str) -> CallResult<Option<SubnetGroupInfo>> {
        let sent = self
            .rds
            .describe_db_subnet_groups()
            .db_subnet_group_name(name)
            .send()
            .await;
        Ok(self
            .call("DescribeDBSubnetGroups", sent)
            .found()?
            .and_then(|o| {
                o.db_subnet_groups().first().map(|g| SubnetGroupInfo {
                    name: g.db_subnet_group_name().unwrap_or(name).to_string(),
                    vpc_id: g.vpc_id().filter(|v| !v.is_empty()).map(str::to_string),
                })
            }))
    }

    // --- EC2 ------------------------------------------------------------------------------

    /// The security group with this id (`sg-...`), if the account has it.
    pub async fn security_group(&self, id: &str) -> CallResult<Option<SecurityGroupInfo>> {
        let sent = self
            .ec2
            .describe_security_groups()
            .group_ids(id)
            .send()
            .await;
        Ok(self
            .call("DescribeSecurityGroups", sent)
            // InvalidGroup.NotFound; a malformed id cannot exist either
            .found_or(|e| e.code.starts_with("InvalidGroup"))?
            .and_then(|o| o.security_groups().first().map(security_group_info)))
    }

    /// The security groups called `name` (group names are unique per VPC, not per account),
    /// in `vpc` when given.
    pub async fn security_groups_named(
        &self,
        name: &str,
        vpc: Option<&str>,
    ) -> CallResult<Vec<SecurityGroupInfo>> {
        use aws_sdk_ec2::types::Filter;
        let mut r = self
            .ec2
            .describe_security_groups()
            .filters(Filter::builder().name("group-name").values(name).build());
        if let Some(v) = vpc {
            r = r.filters(Filter::builder().name("vpc-id").values(v).build());
        }
        let o = self.call("DescribeSecurityGroups", r.send().await)?;
        Ok(o.security_groups()
            .iter()
            .map(security_group_info)
            .collect())
    }

    pub async fn parameter_group_exists(&self, name: &str) -> CallResult<bool> {
        let sent = self
            .rds
            .describe_db_cluster_parameter_groups()
            .db_cluster_parameter_group_name(name)
            .send()
            .await;
        Ok(self
            .call("DescribeDBClusterParameterGroups", sent)
            .found()?
            .is_some_and(|o| !o.db_cluster_parameter_groups().is_empty()))
    }

    // --- KMS ------------------------------------------------------------------------------

    pub async fn key(&self, id: &str) -> CallResult<Option<KeyInfo>> {
        let sent = self.kms.describe_key().key_id(id).send().await;
        Ok(self.call("DescribeKey", sent).found()?.and_then(|o| {
            o.key_metadata().map(|m| KeyInfo {
                arn: m.arn().unwrap_or_default().to_string(),
                aws_managed: m.key_manager().map(|k| k.as_str()) == Some("AWS"),
                enabled: m.enabled(),
            })
        }))
    }

    pub async fn key_policy(&self, key_arn: &str) -> CallResult<Option<String>> {
        let sent = self
            .kms
            .get_key_policy()
            .key_id(key_arn)
            .policy_name("default")
            .send()
            .await;
        let o = self.call("GetKeyPolicy", sent)?;
        Ok(o.policy().map(str::to_string))
    }

    // --- Secrets Manager ------------------------------------------------------------------

    /// The secret's value, if the secret exists.
    pub async fn secret(&self, name: &str) -> CallResult<Option<(String, String)>> {
        let sent = self.sm.get_secret_value().secret_id(name).send().await;
        Ok(self.call("GetSecretValue", sent).found()?.map(|o| {
            (
                o.arn().unwrap_or_default().to_string(),
                o.secret_string().unwrap_or_default().to_string(),
            )
        }))
    }

    pub async fn create_secret(
        &self,
        name: &str,
        value: &str,
        description: &str,
    ) -> CallResult<String> {
        let sent = self
            .sm
            .create_secret()
            .name(name)
            .description(description)
            .secret_string(value)
            .send()
            .await;
        let o = self.call("CreateSecret", sent)?;
        Ok(o.arn().unwrap_or_default().to_string())
    }

    pub async fn delete_secret(&self, name: &str) -> CallResult<()> {
        let sent = self
            .sm
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await;
        self.call("DeleteSecret", sent).gone_is_fine()
    }

    pub async fn remove_tags(&self, arn: &str, keys: &[&str]) -> CallResult<()> {
        let sent = self
            .rds
            .remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(keys.iter().map(|k| k.to_string()).collect()))
            .send()
            .await;
        self.call("RemoveTagsFromResource", sent)?;
        Ok(())
    }

    // --- Route 53 -------------------------------------------------------------------------

    pub async fn hosted_zone(&self, zone: &str) -> CallResult<Option<String>> {
        let sent = self.route53.get_hosted_zone().id(zone).send().await;
        Ok(self
            .call("GetHostedZone", sent)
            .found_or(|e| e.is("NoSuchHostedZone"))?
            .and_then(|o| o.hosted_zone().map(|z| z.name().to_string())))
    }

    /// The value of the CNAME record `name` in `zone`, if there is one.
    pub async fn cname(&self, zone: &str, name: &str) -> CallResult<Option<String>> {
        let sent = self
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .start_record_name(name)
            .start_record_type(aws_sdk_route53::types::RrType::Cname)
            .max_items(1)
            .send()
            .await;
        let o = self.call("ListResourceRecordSets", sent)?;
        let want = name.trim_end_matches('.');
        Ok(o.resource_record_sets()
            .iter()
            .find(|r| {
                r.name().trim_end_matches('.') == want
                    && r.r#type() == &aws_sdk_route53::types::RrType::Cname
            })
            .and_then(|r| r.resource_records().first().map(|v| v.value().to_string())))
    }

    /// Points the CNAME record `name` at `value` (created if missing); TTL 60 s.
    pub async fn upsert_cname(&self, zone: &str, name: &str, value: &str) -> CallResult<()> {
        self.change_cname(zone, name, value, true).await
    }

    /// Deletes the CNAME record `name` -> `value` (TTL 60 s, as [`Cloud::upsert_cname`] made it).
    pub async fn delete_cname(&self, zone: &str, name: &str, value: &str) -> CallResult<()> {
        self.change_cname(zone, name, value, false).await
    }

    async fn change_cname(
        &self,
        zone: &str,
        name: &str,
        value: &str,
        upsert: bool,
    ) -> CallResult<()> {
        use aws_sdk_route53::types::{
            Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
        };
        let bad = |what: &str| CallError {
            operation: "ChangeResourceRecordSets",
            account: self.account.clone(),
            code: "InvalidInput".into(),
            message: what.to_string(),
        };
        let record = ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::Cname)
            .ttl(60)
            .resource_records(
                ResourceRecord::builder()
                    .value(value)
                    .build()
                    .map_err(|e| bad(&e.to_string()))?,
            )
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        let change = Change::builder()
            .action(if upsert {
                ChangeAction::Upsert
            } else {
                ChangeAction::Delete
            })
            .resource_record_set(record)
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        let sent = self
            .route53
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(
                ChangeBatch::builder()
                    .changes(change)
                    .build()
                    .map_err(|e| bad(&e.to_string()))?,
            )
            .send()
            .await;
        self.call("ChangeResourceRecordSets", sent)?;
        Ok(())
    }

    // --- RAM ------------------------------------------------------------------------------

    /// The ARN of this account's active resource share called `name`.
    pub async fn resource_share(&self, name: &str) -> CallResult<Option<String>> {
        let sent = self
            .ram
            .get_resource_shares()
            .resource_owner(aws_sdk_ram::types::ResourceOwner::SelfValue)
            .name(name)
            .send()
            .await;
        let o = self.call("GetResourceShares", sent)?;
        Ok(o.resource_shares()
            .iter()
            .find(|s| {
                s.name() == Some(name)
                    && !matches!(
                        s.status(),
                        Some(aws_sdk_ram::types::ResourceShareStatus::Deleted)
                            | Some(aws_sdk_ram::types::ResourceShareStatus::Deleting)
                    )
            })
            .and_then(|s| s.resource_share_arn().map(str::to_string)))
    }

    pub async fn create_resource_share(
        &self,
        name: &str,
        resource_arn: &str,
        principal: &str,
    ) -> CallResult<String> {
        let sent = self
            .ram
            .create_resource_share()
            .name(name)
            .resource_arns(resource_arn)
            .principals(principal)
            .allow_external_principals(true)
            .send()
            .await;
        let o = self.call("CreateResourceShare", sent)?;
        Ok(o.resource_share()
            .and_then(|s| s.resource_share_arn())
            .unwrap_or_default()
            .to_string())
    }

    /// The RAM invitations this account has received: of the share `share_arn` only, or all.
    /// A share reaches an account outside the owner's organization (or any account, when the
    /// organization has not enabled sharing with RAM) as an invitation it must accept.
    pub async fn invitations(&self, share_arn: Option<&str>) -> CallResult<Vec<InvitationInfo>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let sent = self
                .ram
                .get_resource_share_invitations()
                .set_resource_share_arns(share_arn.map(|a| vec![a.to_string()]))
                .set_next_token(token.clone())
                .send()
                .await;
            let o = self.call("GetResourceShareInvitations", sent)?;
            out.extend(
                o.resource_share_invitations()
                    .iter()
                    .map(|i| InvitationInfo {
                        arn: i.resource_share_invitation_arn().unwrap_or_default().into(),
                        share_arn: i.resource_share_arn().unwrap_or_default().into(),
                        sender: i.sender_account_id().unwrap_or_default().into(),
                        status: i.status().map(|s| s.as_str()).unwrap_or_default().into(),
                    }),
            );
            match o.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(out),
            }
        }
    }

    /// Accepts a RAM invitation this account received; returns its status afterwards.
    pub async fn accept_invitation(&self, arn: &str) -> CallResult<String> {
        let sent = self
            .ram
            .accept_resource_share_invitation()
            .resource_share_invitation_arn(arn)
            .send()
            .await;
        let o = self.call("AcceptResourceShareInvitation", sent)?;
        Ok(o.resource_share_invitation()
            .and_then(|i| i.status())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default())
    }

    /// Whether this account sees the cluster `arn` of another account (shared with it through
    /// RAM, the share applied or its invitation accepted).
    pub async fn sees_shared_cluster(&self, arn: &str) -> CallResult<bool> {
        let sent = self
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(arn)
            .include_shared(true)
            .send()
            .await;
        Ok(self
            .call("DescribeDBClusters", sent)
            .found()?
            .is_some_and(|o| !o.db_clusters().is_empty()))
    }

    pub async fn delete_resource_share(&self, arn: &str) -> CallResult<()> {
        let sent = self
            .ram
            .delete_resource_share()
            .resource_share_arn(arn)
            .send()
            .await;
        self.call("DeleteResourceShare", sent).gone_is_fine()
    }
}

fn security_group_info(g: &aws_sdk_ec2::types::SecurityGroup) -> SecurityGroupInfo {
    SecurityGroupInfo {
        id: g.group_id().unwrap_or_default().to_string(),
        name: g.group_name().unwrap_or_default().to_string(),
        vpc_id: g.vpc_id().filter(|v| !v.is_empty()).map(str::to_string),
    }
}

fn cluster_info(c: &aws_sdk_rds::types::DbCluster) -> ClusterInfo {
    ClusterInfo {
        id: c.db_cluster_identifier().unwrap_or_default().into(),
        arn: c.db_cluster_arn().unwrap_or_default().into(),
        status: c.status().unwrap_or_default().into(),
        engine: c.engine().unwrap_or_default().into(),
        encrypted: c.storage_encrypted().unwrap_or(false),
        kms_key: c.kms_key_id().map(str::to_string),
        endpoint: c.endpoint().map(str::to_string),
        port: c.port(),
        database: c.database_name().map(str::to_string),
        master_user: c.master_username().map(str::to_string),
        deletion_protection: c.deletion_protection().unwrap_or(false),
        cross_account_clone: c.cross_account_clone().unwrap_or(false),
        members: c
            .db_cluster_members()
            .iter()
            .filter_map(|m| m.db_instance_identifier().map(str::to_string))
            .collect(),
        tags: c
            .tag_list()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_string(),
                    t.value().unwrap_or_default().to_string(),
                ))
            })
            .collect(),
    }
}
