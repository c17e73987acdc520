//! The registry of resource types, one file per type. Each type lists (paginated), describes
//! (into [`Found`]), names the resources it uses (its dependencies, per resource), deletes, and
//! says how deletion is confirmed. Optional capabilities (its own tagging API when the Resource
//! Groups Tagging API cannot tag it, asynchronous deletion, deletion protection) are methods with
//! defaults that a type overrides only when it needs them.
//!
//! Adding a type: one file here and one line in [`registry`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use crate::{Cx, Found, SweepError};

/// One AWS call through the context's limiter: `aws_call!(cx, "ec2", "DeleteVpc", builder)`
/// sends `builder` (rebuilt on each retry) and turns its error into a [`SweepError`].
macro_rules! aws_call {
    ($cx:expr, $service:literal, $op:literal, $req:expr) => {
        $cx.call($service, || async {
            $req.send()
                .await
                .map_err(|e| $crate::SweepError::aws($op, e))
        })
        .await
    };
}

mod autoscaling_group;
mod cloudwatch_alarm;
mod dynamodb_table;
mod ec2_eip;
mod ec2_image;
mod ec2_instance;
mod ec2_internet_gateway;
mod ec2_key_pair;
mod ec2_launch_template;
mod ec2_nat_gateway;
mod ec2_network_interface;
mod ec2_route_table;
mod ec2_security_group;
mod ec2_snapshot;
mod ec2_subnet;
mod ec2_volume;
mod ec2_vpc;
mod ecr_repository;
mod elasticache_cluster;
mod elbv2_load_balancer;
mod elbv2_target_group;
mod iam_role;
mod kms_key;
mod lambda_function;
mod logs_log_group;
mod rds_cluster;
mod rds_cluster_parameter_group;
mod rds_cluster_snapshot;
mod rds_db_snapshot;
mod rds_instance;
mod rds_parameter_group;
mod rds_subnet_group;
mod s3_bucket;
mod secretsmanager_secret;
mod sns_topic;
mod sqs_queue;

pub type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T, SweepError>> + Send + 'a>>;

#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// Turn deletion protection off first (each time visibly, in the audit log).
    pub disable_protection: bool,
    /// Databases: no final snapshot.
    pub skip_final_snapshot: bool,
    /// Secrets Manager secrets and KMS keys: the recovery (pending) window in days, 7 to 30;
    /// `None` is the minimum, 7.
    pub recovery_window_days: Option<i32>,
    /// Secrets Manager secrets: delete at once, without a recovery window.
    pub force_delete_secrets: bool,
    /// Cloud Control items: this deletion request's idempotency token, set by apply per plan,
    /// item and attempt (see [`crate::cloudcontrol::client_token`]).
    pub client_token: Option<String>,
}

impl DeleteOptions {
    /// The recovery window for secrets and KMS keys: 7 days unless said otherwise.
    pub fn recovery_days(&self) -> i32 {
        self.recovery_window_days.unwrap_or(7)
    }
}

/// What a deletion did besides the delete call itself.
#[derive(Debug, Clone, Default)]
pub struct Deleted {
    pub request_id: Option<String>,
    pub actions: Vec<String>,
}

pub trait ResourceType: Send + Sync {
    /// `service:kind`, e.g. `ec2:vpc`: the name in plans, `--type` and output.
    fn name(&self) -> &'static str;
    /// The service, for per-service concurrency limits.
    fn service(&self) -> &'static str;
    /// The ARN's service and the start of its resource part (`("ec2", "vpc/")`).
    fn arn_pattern(&self) -> (&'static str, &'static str);

    /// Every resource of this type in the context's account and region. Scan and apply's
    /// re-check both use this, so a fingerprint means the same in both.
    fn list<'a>(&'a self, cx: &'a Cx) -> Fut<'a, Vec<Found>>;

    fn delete<'a>(
        &'a self,
        cx: &'a Cx,
        item: &'a Found,
        opts: &'a DeleteOptions,
    ) -> Fut<'a, Deleted>;

    /// Deletion finishes after the call returns: the item is re-listed until it is gone.
    fn deletion_is_async(&self) -> bool {
        false
    }

    /// A listed resource that is in fact already deleted (a terminated instance).
    fn is_gone(&self, _found: &Found) -> bool {
        false
    }

    /// A listed resource whose deletion is under way (a cache cluster `deleting`): apply waits
    /// for it to go instead of seeing a changed item or sending the deletion again, whether an
    /// earlier run of the plan logged the request or not.
    fn is_deleting(&self, _found: &Found) -> bool {
        false
    }

    /// Tags items with the type's own API, for when the Tagging API cannot. `None`: the type
    /// has none.
    fn tag<'a>(
        &'a self,
        _cx: &'a Cx,
        _items: &'a [Found],
        _key: &'a str,
        _value: &'a str,
    ) -> Option<Fut<'a, ()>> {
        None
    }

    /// Whether this type's ARNs look like `arn`.
    fn owns_arn(&self, arn: &str) -> bool {
        let (service, prefix) = self.arn_pattern();
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        parts.len() == 6 && parts[2] == service && parts[5].starts_with(prefix)
    }
}

/// The tag AWS puts on every instance an Auto Scaling group launches.
pub(crate) const ASG_NAME_TAG: &str = "aws:autoscaling:groupName";

/// Every type kirikae knows, in a stable order.
pub fn registry() -> Vec<&'static dyn ResourceType> {
    vec![
        &ec2_instance::Instance,
        &ec2_volume::Volume,
        &ec2_snapshot::Snapshot,
        &ec2_image::Image,
        &ec2_launch_template::LaunchTemplate,
        &ec2_eip::ElasticIp,
        &ec2_network_interface::NetworkInterface,
        &ec2_security_group::SecurityGroup,
        &ec2_key_pair::KeyPair,
        &ec2_nat_gateway::NatGateway,
        &ec2_internet_gateway::InternetGateway,
        &ec2_route_table::RouteTable,
        &ec2_subnet::Subnet,
        &ec2_vpc::Vpc,
        &elbv2_load_balancer::LoadBalancer,
        &elbv2_target_group::TargetGroup,
        &s3_bucket::Bucket,
        &logs_log_group::LogGroup,
        &dynamodb_table::Table,
        &sqs_queue::Queue,
        &sns_topic::Topic,
        &iam_role::Role,
        &rds_instance::DbInstance,
        &rds_cluster::Cluster,
        &rds_cluster_snapshot::ClusterSnapshot,
        &rds_db_snapshot::DbSnapshot,
        &rds_subnet_group::SubnetGroup,
        &rds_parameter_group::ParameterGroup,
        &rds_cluster_parameter_group::ClusterParameterGroup,
        &secretsmanager_secret::Secret,
        &kms_key::Key,
        &lambda_function::Function,
        &cloudwatch_alarm::Alarm,
        &ecr_repository::Repository,
        &autoscaling_group::Group,
        &elasticache_cluster::CacheCluster,
    ]
}

pub use ec2_security_group::groups_on_interfaces as security_groups_on_interfaces;

pub fn find_type(name: &str) -> Option<&'static dyn ResourceType> {
    registry().into_iter().find(|t| t.name() == name)
}

/// Edges only visible across types, added after every type has been listed (and after the
/// fingerprints were taken, so they do not depend on which other types were listed):
/// - a VPC's internet gateway cannot be detached while the VPC has public addresses mapped, so
///   NAT gateways, instances and load balancers in that VPC go first;
/// - a route table goes after the subnets associated with it;
/// - a target group goes after the load balancers forwarding to it;
/// - an interface or Elastic IP attached to an instance goes after the instance;
/// - `orphan` snapshots: their volume is not among the listed volumes;
/// - an Auto Scaling group uses the instances it manages (tag `aws:autoscaling:groupName`): its
///   deletion terminates them, so they go after it, and one whose group stays is not terminated
///   (the group would replace it); a group naming its launch template only by name uses the
///   listed template of that name.
pub fn link(found: &mut [Found]) {
    let arn_of = |kind: &str, id: &str| -> Option<String> {
        found
            .iter()
            .find(|f| f.kind == kind && f.id == id)
            .map(|f| f.arn.clone())
    };
    let mut extra: Vec<(usize, String)> = Vec::new();
    let by_id: HashMap<(&str, &str), usize> = found
        .iter()
        .enumerate()
        .map(|(i, f)| ((f.kind.as_str(), f.id.as_str()), i))
        .collect();
    let by_arn: HashMap<&str, usize> = found
        .iter()
        .enumerate()
        .map(|(i, f)| (f.arn.as_str(), i))
        .collect();
    let igw_by_vpc: HashMap<&str, &str> = found
        .iter()
        .filter(|f| f.kind == "ec2:internet-gateway")
        .filter_map(|f| Some((f.properties.get("vpc")?.as_str(), f.arn.as_str())))
        .collect();
    let volumes_listed = found.iter().any(|f| f.kind == "ec2:volume");
    let mut orphans = Vec::new();
    for (i, f) in found.iter().enumerate() {
        let prop = |k: &str| {
            f.properties
                .get(k)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        match f.kind.as_str() {
            "ec2:nat-gateway" | "ec2:instance" | "elbv2:load-balancer" => {
                if let Some(igw) = prop("vpc").and_then(|v| igw_by_vpc.get(v)) {
                    extra.push((i, igw.to_string()));
                }
                if let Some(&j) = f
                    .tags
                    .get(ASG_NAME_TAG)
                    .and_then(|g| by_id.get(&("autoscaling:group", g.as_str())))
                {
                    extra.push((j, f.arn.clone()));
                }
            }
            "autoscaling:group" if prop("launch_template").is_none() => {
                if let Some(name) = prop("launch_template_name") {
                    if let Some(t) = found.iter().find(|t| {
                        t.kind == "ec2:launch-template"
                            && t.properties.get("template_name").map(String::as_str) == Some(name)
                    }) {
                        extra.push((i, t.arn.clone()));
                    }
                }
            }
            "ec2:route-table" => {
                for s in prop("subnets")
                    .unwrap_or("")
                    .split(',')
                    .filter(|s| !s.is_empty())
                {
                    if let Some(&j) = by_id.get(&("ec2:subnet", s)) {
                        extra.push((j, f.arn.clone()));
                    }
                }
            }
            "elbv2:target-group" => {
                for lb in prop("load_balancers")
                    .unwrap_or("")
                    .split(',')
                    .filter(|s| !s.is_empty())
                {
                    if let Some(&j) = by_arn.get(lb) {
                        extra.push((j, f.arn.clone()));
                    }
                }
            }
            "ec2:image" => {
                for snap in prop("snapshots")
                    .unwrap_or("")
                    .split(',')
                    .filter(|s| !s.is_empty())
                {
                    if let Some(&j) = by_id.get(&("ec2:snapshot", snap)) {
                        let arn = found[j].arn.clone();
                        extra.push((i, arn));
                    }
                }
            }
            "ec2:network-interface" | "ec2:elastic-ip" => {
                if let Some(&j) = prop("instance").and_then(|i| by_id.get(&("ec2:instance", i))) {
                    extra.push((j, f.arn.clone()));
                }
            }
            "ec2:snapshot" if volumes_listed => {
                if let Some(v) = prop("volume") {
                    if arn_of("ec2:volume", v).is_none() {
                        orphans.push(i);
                    }
                }
            }
            _ => {}
        }
    }
    for (i, dep) in extra {
        if !found[i].depends_on.contains(&dep) {
            found[i].depends_on.push(dep);
        }
    }
    for i in orphans {
        if !found[i].flags.iter().any(|f| f == "orphan") {
            found[i].flags.push("orphan".to_string());
        }
    }
}

// --- helpers shared by all types ----------------------------------------------------------

/// Every item of a paginated listing. `page(token)` makes one call (through `aws_call!`) with
/// the continuation token (`None` for the first page) and returns that page's items and the
/// next token, `None` after the last page.
pub(crate) async fn paginate<T, F, P>(mut page: F) -> Result<Vec<T>, SweepError>
where
    F: FnMut(Option<String>) -> P,
    P: Future<Output = Result<(Vec<T>, Option<String>), SweepError>>,
{
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let (got, next) = page(token).await?;
        items.extend(got);
        token = next;
        if token.is_none() {
            return Ok(items);
        }
    }
}

/// The answer of a call about one resource, `None` when AWS says it is not found (deleted since
/// it was listed, or already gone).
pub(crate) fn unless_gone<T>(answer: Result<T, SweepError>) -> Result<Option<T>, SweepError> {
    match answer {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// A type's own tagging, one call per item in turn: `tag_one(item)` is that call (through
/// `aws_call!`). Stops at the first error.
pub(crate) fn tag_each<'a, T, P>(
    items: &'a [Found],
    tag_one: impl Fn(&'a Found) -> P + Send + 'a,
) -> Option<Fut<'a, ()>>
where
    P: Future<Output = Result<T, SweepError>> + Send + 'a,
{
    Some(Box::pin(async move {
        for f in items {
            tag_one(f).await?;
        }
        Ok(())
    }))
}

/// The error of a type's own tag builder (a missing key or value).
pub(crate) fn bad_tag(e: impl std::fmt::Display) -> SweepError {
    SweepError::BadInput(format!("tag: {e}"))
}

/// Before a deletion: when `item` has deletion protection on (its `deletion_protection`
/// property), refuses unless `--disable-protection`, and otherwise runs `turn_off` (an AWS call
/// that turns it off) and records that in `actions`. Nothing when protection is off.
pub(crate) async fn turn_protection_off<T>(
    item: &Found,
    opts: &DeleteOptions,
    actions: &mut Vec<String>,
    turn_off: impl Future<Output = Result<T, SweepError>>,
) -> Result<(), SweepError> {
    if !is_true(item, "deletion_protection") {
        return Ok(());
    }
    if !opts.disable_protection {
        return Err(SweepError::Refused(format!(
            "{}: deletion protection is on; pass --disable-protection to turn it off",
            item.id
        )));
    }
    turn_off.await?;
    actions.push("deletion protection turned off (--disable-protection)".to_string());
    Ok(())
}

/// What a deletion did about its final snapshot: `<what> <name>`, or none taken because of
/// `--skip-final-snapshot`.
pub(crate) fn final_snapshot_action(what: &str, snapshot: Option<String>) -> String {
    match snapshot {
        Some(s) => format!("{what} {s}"),
        None => "no final snapshot (--skip-final-snapshot)".to_string(),
    }
}

// --- helpers shared by the EC2 types -------------------------------------------------------

pub(crate) fn ec2_arn(cx: &Cx, kind: &str, id: &str) -> String {
    cx.arn("ec2", &format!("{kind}/{id}"))
}

pub(crate) fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> Vec<(String, String)> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

pub(crate) fn secs(t: Option<&aws_smithy_types::DateTime>) -> Option<i64> {
    t.map(|t| t.secs())
}

/// Tags EC2 resources by id with CreateTags (up to 1000 ids a call).
pub(crate) fn ec2_create_tags<'a>(
    cx: &'a Cx,
    items: &'a [Found],
    key: &'a str,
    value: &'a str,
) -> Fut<'a, ()> {
    Box::pin(async move {
        for chunk in items.chunks(1000) {
            let ids: Vec<String> = chunk.iter().map(|f| f.id.clone()).collect();
            let tag = aws_sdk_ec2::types::Tag::builder()
                .key(key)
                .value(value)
                .build();
            aws_call!(
                cx,
                "ec2",
                "CreateTags",
                cx.ec2()
                    .create_tags()
                    .set_resources(Some(ids.clone()))
                    .tags(tag.clone())
            )?;
        }
        Ok(())
    })
}

pub(crate) fn request_id<T: aws_types::request_id::RequestId>(out: &T) -> Option<String> {
    out.request_id().map(str::to_string)
}

// --- helpers shared by the RDS types -------------------------------------------------------

/// `arn:aws:rds:<region>:<account>:<kind>:<name>` (`cluster`, `db`, `subgrp`, `pg`, ...).
pub(crate) fn rds_arn(cx: &Cx, kind: &str, name: &str) -> String {
    cx.arn("rds", &format!("{kind}:{name}"))
}

/// An RDS resource's ARN as AWS gives it, or built from `kind` and `name` where it is missing.
pub(crate) fn rds_arn_or(cx: &Cx, given: Option<&str>, kind: &str, name: &str) -> String {
    given
        .map(str::to_string)
        .unwrap_or_else(|| rds_arn(cx, kind, name))
}

/// A listed RDS resource with its tags, named by its identifier unless a `Name` tag names it.
pub(crate) fn rds_found(
    kind: &str,
    cx: &Cx,
    id: &str,
    arn: String,
    tags: Vec<(String, String)>,
) -> Found {
    let mut f = Found::new(kind, &cx.region, id, arn).tags_from(tags);
    if f.name.is_none() {
        f.name = Some(id.to_string());
    }
    f
}

pub(crate) fn rds_tags(tags: &[aws_sdk_rds::types::Tag]) -> Vec<(String, String)> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// The tags of an RDS resource whose describe call does not return them (subnet and parameter
/// groups): ListTagsForResource, one call each.
pub(crate) async fn rds_list_tags(cx: &Cx, arn: &str) -> Result<Vec<(String, String)>, SweepError> {
    let out = aws_call!(
        cx,
        "rds",
        "ListTagsForResource",
        cx.rds().list_tags_for_resource().resource_name(arn)
    )?;
    Ok(rds_tags(out.tag_list()))
}

/// Tags RDS resources by ARN with AddTagsToResource (one call each).
pub(crate) fn rds_add_tags<'a>(
    cx: &'a Cx,
    items: &'a [Found],
    key: &'a str,
    value: &'a str,
) -> Fut<'a, ()> {
    Box::pin(async move {
        let tag = aws_sdk_rds::types::Tag::builder()
            .key(key)
            .value(value)
            .build();
        for f in items {
            aws_call!(
                cx,
                "rds",
                "AddTagsToResource",
                cx.rds()
                    .add_tags_to_resource()
                    .resource_name(&f.arn)
                    .tags(tag.clone())
            )?;
        }
        Ok(())
    })
}

/// The name of a final snapshot taken on deletion: `<id>-final-<unix time>` (letters, digits
/// and single hyphens, as RDS requires).
pub(crate) fn final_snapshot_name(id: &str) -> String {
    let base: String = id.trim_end_matches('-').replace("--", "-");
    format!("{base}-final-{}", crate::scan::now_secs())
}

pub(crate) fn is_true(item: &Found, prop: &str) -> bool {
    item.properties.get(prop).map(String::as_str) == Some("true")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(arn: &str) -> Vec<&'static str> {
        registry()
            .into_iter()
            .filter(|t| t.owns_arn(arn))
            .map(|t| t.name())
            .collect()
    }

    #[test]
    fn the_new_types_own_their_real_arn_shapes_and_nothing_else() {
        let cases = [
            (
                "arn:aws:lambda:ap-northeast-1:111111111111:function:old-report",
                "lambda:function",
            ),
            (
                "arn:aws:cloudwatch:ap-northeast-1:111111111111:alarm:old-cpu-high",
                "cloudwatch:alarm",
            ),
            (
                "arn:aws:ecr:ap-northeast-1:111111111111:repository/old/web",
                "ecr:repository",
            ),
            (
                "arn:aws:autoscaling:ap-northeast-1:111111111111:autoScalingGroup:\
                 0b5e3c1a-7f2d-4c1e-9a8b-3d6f5e4c2b1a:autoScalingGroupName/old-web",
                "autoscaling:group",
            ),
            (
                "arn:aws:elasticache:ap-northeast-1:111111111111:cluster:old-sessions",
                "elasticache:cluster",
            ),
        ];
        for (arn, kind) in cases {
            assert_eq!(owner(arn), vec![kind], "{arn}");
        }
        for other in [
            "arn:aws:lambda:ap-northeast-1:111111111111:layer:old-deps:3",
            "arn:aws:cloudwatch:ap-northeast-1:111111111111:insight-rule/old",
            "arn:aws:autoscaling:ap-northeast-1:111111111111:launchConfiguration:\
             0b5e3c1a:launchConfigurationName/old",
            "arn:aws:elasticache:ap-northeast-1:111111111111:subnetgroup:old-cache",
            "arn:aws:elasticache:ap-northeast-1:111111111111:replicationgroup:old",
        ] {
            assert!(owner(other).is_empty(), "{other}: {:?}", owner(other));
        }
    }

    fn found(kind: &str, id: &str, arn: &str) -> Found {
        Found::new(kind, "r", id, arn)
    }

    #[test]
    fn an_auto_scaling_group_goes_before_its_instances_and_its_template() {
        let mut group = found("autoscaling:group", "old-web", "arn:asg/old-web")
            .prop("launch_template_name", "old-web-0");
        group.depends_on.push("arn:subnet/s-1".into());
        let mut managed = found("ec2:instance", "i-1", "arn:instance/i-1");
        managed
            .tags
            .insert(ASG_NAME_TAG.to_string(), "old-web".to_string());
        let mut other_group = found("ec2:instance", "i-2", "arn:instance/i-2");
        other_group
            .tags
            .insert(ASG_NAME_TAG.to_string(), "shop-web".to_string());
        let standalone = found("ec2:instance", "i-3", "arn:instance/i-3");
        let template = found("ec2:launch-template", "lt-1", "arn:launch-template/lt-1")
            .prop("template_name", "old-web-0");
        let mut all = vec![group, managed, other_group, standalone, template];
        link(&mut all);
        let mut deps = all[0].depends_on.clone();
        deps.sort();
        assert_eq!(
            deps,
            vec![
                "arn:instance/i-1".to_string(),
                "arn:launch-template/lt-1".to_string(),
                "arn:subnet/s-1".to_string(),
            ]
        );
        assert!(all[1..].iter().all(|f| f.depends_on.is_empty()));
    }

    #[test]
    fn a_group_naming_its_template_by_id_is_not_linked_by_name_again() {
        let mut group = found("autoscaling:group", "g", "arn:asg/g")
            .prop("launch_template", "lt-2")
            .prop("launch_template_name", "old-web-0");
        group.depends_on.push("arn:launch-template/lt-2".into());
        let template = found("ec2:launch-template", "lt-1", "arn:launch-template/lt-1")
            .prop("template_name", "old-web-0");
        let mut all = vec![group, template];
        link(&mut all);
        assert_eq!(
            all[0].depends_on,
            vec!["arn:launch-template/lt-2".to_string()]
        );
    }
}
