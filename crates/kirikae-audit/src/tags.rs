//! Tags: every resource carries the keys `[audit] required_tags` names, with the values its
//! account expects (`[accounts.<name>] tags`), spelt as configured.
//!
//! Resources are found by listing each service, with the tags its own Describe call returns
//! (ELBv2: `DescribeTags`, 20 at a time): the Resource Groups Tagging API never returns a resource
//! that was never tagged, which is exactly what this part looks for.

use std::collections::BTreeMap;

use aws_types::SdkConfig;

use crate::error::AuditError;
use crate::finding::{Finding, Place};
use crate::pages::all;

/// What an account's resources must carry.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// `[audit] required_tags`.
    pub required: Vec<String>,
    /// `[accounts.<name>] tags`: key -> the value every resource of the account has.
    pub values: BTreeMap<String, String>,
}

impl Expected {
    fn is_empty(&self) -> bool {
        self.required.is_empty() && self.values.is_empty()
    }

    /// The keys checked: the required ones, then those with an expected value.
    fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.required.iter().map(String::as_str).collect();
        for k in self.values.keys() {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        keys
    }
}

/// A listed resource: its ARN, a name for people, its tags.
#[derive(Debug, Clone)]
pub struct Tagged {
    pub arn: String,
    pub name: String,
    pub tags: BTreeMap<String, String>,
}

/// The spelling-independent form of a key: lower case, letters and digits only, with the usual
/// long forms folded (`Environment` -> `env`), so `Env`, `env` and `Environment` meet.
pub fn canonical_key(key: &str) -> String {
    let plain: String = key
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    match plain.as_str() {
        "environment" | "envname" | "environmentname" => "env".to_string(),
        "owners" | "ownedby" => "owner".to_string(),
        _ => plain,
    }
}

/// The findings on one resource (pure: the checks' logic, tested without AWS).
pub fn judge(resource: &Tagged, expected: &Expected, place: &Place) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut missing = Vec::new();
    for key in expected.keys() {
        let want = expected.values.get(key);
        if let Some(value) = resource.tags.get(key) {
            if let Some(want) = want.filter(|w| *w != value) {
                findings.push(place.finding(
                    "TAG-002",
                    resource.arn.clone(),
                    format!(
                        "{}: {key} = {value:?}, but account {} expects {want:?}",
                        resource.name, place.account
                    ),
                    format!(
                        "set {key} = {want:?} on {}, or move it to the account it belongs to",
                        resource.name
                    ),
                ));
            }
            continue;
        }
        let wanted = canonical_key(key);
        let variant = resource
            .tags
            .iter()
            .find(|(k, _)| canonical_key(k) == wanted);
        match variant {
            Some((spelt, value)) => findings.push(place.finding(
                "TAG-003",
                resource.arn.clone(),
                format!(
                    "{}: {spelt} = {value:?} where the key is {key}",
                    resource.name
                ),
                format!(
                    "tag {} with {key} = {:?} and remove {spelt}",
                    resource.name,
                    want.map_or(value.as_str(), String::as_str)
                ),
            )),
            None => missing.push(key),
        }
    }
    if !missing.is_empty() {
        let fix: Vec<String> = missing
            .iter()
            .map(|k| match expected.values.get(*k) {
                Some(v) => format!("{k} = {v:?}"),
                None => format!("{k} = <value>"),
            })
            .collect();
        findings.push(place.finding(
            "TAG-001",
            resource.arn.clone(),
            format!("{}: no {}", resource.name, missing.join(", no ")),
            format!("tag {} with {}", resource.name, fix.join(", ")),
        ));
    }
    findings
}

/// Lists the resources of one account and region and judges each.
pub async fn check(
    sdk: &SdkConfig,
    place: &Place,
    expected: &Expected,
) -> Result<Vec<Finding>, AuditError> {
    if expected.is_empty() {
        return Ok(Vec::new());
    }
    let resources = list(sdk, place).await?;
    Ok(resources
        .iter()
        .flat_map(|r| judge(r, expected, place))
        .collect())
}

/// `(key, value)` pairs of any service's tag type, as a map.
fn tag_map<'a>(
    tags: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> BTreeMap<String, String> {
    tags.into_iter()
        .filter_map(|(k, v)| Some((k?.to_string(), v.unwrap_or_default().to_string())))
        .collect()
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tag_map(tags.iter().map(|t| (t.key(), t.value())))
}

fn rds_tags(tags: &[aws_sdk_rds::types::Tag]) -> BTreeMap<String, String> {
    tag_map(tags.iter().map(|t| (t.key(), t.value())))
}

/// Every taggable resource kirikae lists, with its tags. Defaults AWS makes (the default VPC
/// and its subnets) are left out: nobody tags them and they cost nothing.
pub async fn list(sdk: &SdkConfig, place: &Place) -> Result<Vec<Tagged>, AuditError> {
    use aws_sdk_ec2::types::{InstanceStateName, NatGatewayState};

    let mut out = Vec::new();
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let ec2_arn = |kind: &str, id: &str| place.arn("ec2", &format!("{kind}/{id}"));
    let tagged = |arn: String, id: &str, tags: BTreeMap<String, String>| Tagged {
        arn,
        name: id.to_string(),
        tags,
    };

    let instances = all(
        "ec2:DescribeInstances",
        ec2.describe_instances().into_paginator().send(),
        |p| {
            p.reservations
                .unwrap_or_default()
                .into_iter()
                .flat_map(|r| r.instances.unwrap_or_default())
        },
    )
    .await?;
    for i in &instances {
        let gone = matches!(
            i.state().and_then(|s| s.name()),
            Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
        );
        if let Some(id) = i.instance_id().filter(|_| !gone) {
            out.push(tagged(ec2_arn("instance", id), id, ec2_tags(i.tags())));
        }
    }

    let volumes = all(
        "ec2:DescribeVolumes",
        ec2.describe_volumes().into_paginator().send(),
        |p| p.volumes.unwrap_or_default(),
    )
    .await?;
    for v in &volumes {
        if let Some(id) = v.volume_id() {
            out.push(tagged(ec2_arn("volume", id), id, ec2_tags(v.tags())));
        }
    }

    let vpcs = all(
        "ec2:DescribeVpcs",
        ec2.describe_vpcs().into_paginator().send(),
        |p| p.vpcs.unwrap_or_default(),
    )
    .await?;
    for v in &vpcs {
        if let Some(id) = v.vpc_id().filter(|_| v.is_default() != Some(true)) {
            out.push(tagged(ec2_arn("vpc", id), id, ec2_tags(v.tags())));
        }
    }

    let subnets = all(
        "ec2:DescribeSubnets",
        ec2.describe_subnets().into_paginator().send(),
        |p| p.subnets.unwrap_or_default(),
    )
    .await?;
    for s in &subnets {
        if let Some(id) = s.subnet_id().filter(|_| s.default_for_az() != Some(true)) {
            let arn = s
                .subnet_arn()
                .map_or_else(|| ec2_arn("subnet", id), str::to_string);
            out.push(tagged(arn, id, ec2_tags(s.tags())));
        }
    }

    let nats = all(
        "ec2:DescribeNatGateways",
        ec2.describe_nat_gateways().into_paginator().send(),
        |p| p.nat_gateways.unwrap_or_default(),
    )
    .await?;
    for n in &nats {
        let gone = matches!(
            n.state(),
            Some(NatGatewayState::Deleted | NatGatewayState::Deleting)
        );
        if let Some(id) = n.nat_gateway_id().filter(|_| !gone) {
            out.push(tagged(ec2_arn("natgateway", id), id, ec2_tags(n.tags())));
        }
    }

    let rds = aws_sdk_rds::Client::new(sdk);
    let clusters = all(
        "rds:DescribeDBClusters",
        rds.describe_db_clusters().into_paginator().send(),
        |p| p.db_clusters.unwrap_or_default(),
    )
    .await?;
    for c in &clusters {
        if let Some(id) = c.db_cluster_identifier() {
            let arn = c.db_cluster_arn().map_or_else(
                || place.arn("rds", &format!("cluster:{id}")),
                str::to_string,
            );
            out.push(tagged(arn, id, rds_tags(c.tag_list())));
        }
    }
    let instances = all(
        "rds:DescribeDBInstances",
        rds.describe_db_instances().into_paginator().send(),
        |p| p.db_instances.unwrap_or_default(),
    )
    .await?;
    for i in &instances {
        if let Some(id) = i.db_instance_identifier() {
            let arn = i
                .db_instance_arn()
                .map_or_else(|| place.arn("rds", &format!("db:{id}")), str::to_string);
            out.push(tagged(arn, id, rds_tags(i.tag_list())));
        }
    }

    let asg = aws_sdk_autoscaling::Client::new(sdk);
    let groups = all(
        "autoscaling:DescribeAutoScalingGroups",
        asg.describe_auto_scaling_groups().into_paginator().send(),
        |p| p.auto_scaling_groups.unwrap_or_default(),
    )
    .await?;
    for g in &groups {
        if let Some(name) = g.auto_scaling_group_name() {
            let tags = tag_map(g.tags().iter().map(|t| (t.key(), t.value())));
            let arn = g.auto_scaling_group_arn().unwrap_or(name).to_string();
            out.push(tagged(arn, name, tags));
        }
    }

    let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let lbs: Vec<(String, String)> = all(
        "elasticloadbalancing:DescribeLoadBalancers",
        elb.describe_load_balancers().into_paginator().send(),
        |p| p.load_balancers.unwrap_or_default(),
    )
    .await?
    .into_iter()
    .filter_map(|l| {
        Some((
            l.load_balancer_arn?,
            l.load_balancer_name.unwrap_or_default(),
        ))
    })
    .collect();
    // DescribeTags takes at most 20 ARNs.
    for chunk in lbs.chunks(20) {
        let described = elb
            .describe_tags()
            .set_resource_arns(Some(chunk.iter().map(|(a, _)| a.clone()).collect()))
            .send()
            .await
            .map_err(AuditError::aws("elasticloadbalancing:DescribeTags"))?;
        for (arn, name) in chunk {
            let tags = described
                .tag_descriptions()
                .iter()
                .find(|d| d.resource_arn() == Some(arn.as_str()))
                .map(|d| tag_map(d.tags().iter().map(|t| (t.key(), t.value()))))
                .unwrap_or_default();
            out.push(tagged(arn.clone(), name, tags));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;

    fn place(protected: bool) -> Place {
        Place {
            account: "prod".into(),
            account_id: "111111111111".into(),
            protected,
            region: "ap-northeast-1".into(),
        }
    }

    fn resource(tags: &[(&str, &str)]) -> Tagged {
        Tagged {
            arn: "arn:aws:ec2:ap-northeast-1:111111111111:instance/i-1".into(),
            name: "i-1".into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn expected() -> Expected {
        Expected {
            required: vec!["env".into(), "owner".into()],
            values: [("env".to_string(), "prod".to_string())].into(),
        }
    }

    #[test]
    fn a_resource_with_every_key_and_value_is_fine() {
        let r = resource(&[("env", "prod"), ("owner", "shop"), ("Name", "web")]);
        assert!(judge(&r, &expected(), &place(true)).is_empty());
    }

    #[test]
    fn missing_contradicting_and_variant_keys_are_each_their_own_check() {
        let f = judge(&resource(&[]), &expected(), &place(true));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].check, "TAG-001");
        assert_eq!(f[0].evidence, "i-1: no env, no owner");
        assert_eq!(f[0].fix, "tag i-1 with env = \"prod\", owner = <value>");

        let f = judge(
            &resource(&[("env", "dev"), ("owner", "x")]),
            &expected(),
            &place(true),
        );
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].check, f[0].severity), ("TAG-002", Severity::High));
        let f = judge(
            &resource(&[("env", "dev"), ("owner", "x")]),
            &expected(),
            &place(false),
        );
        assert_eq!(f[0].severity, Severity::Medium);

        let f = judge(
            &resource(&[("Environment", "prod"), ("owner", "x")]),
            &expected(),
            &place(true),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].check, "TAG-003");
        assert!(f[0]
            .evidence
            .contains("Environment = \"prod\" where the key is env"));
    }

    #[test]
    fn key_spellings_meet() {
        for k in ["Env", "env", "ENV", "Environment", "environment"] {
            assert_eq!(canonical_key(k), "env", "{k}");
        }
        assert_ne!(canonical_key("owner"), canonical_key("env"));
    }
}
