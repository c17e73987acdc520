//! AZ-007: a target group whose healthy targets are unevenly spread over its load balancer's
//! AZs. A load balancer sends each AZ its share of the traffic (cross-zone off: exactly; on: it
//! still fails over by AZ), so the AZ with the fewest healthy targets runs hottest and is the
//! first to fall over when another AZ fails.
//!
//! A target's AZ is its own: `Target.AvailabilityZone` where ELB reports one (IP targets), else
//! the instance's placement (instance targets, for which ELB leaves it empty).

use std::collections::BTreeMap;

use aws_types::SdkConfig;

use crate::error::AuditError;
use crate::finding::{Finding, Place};
use crate::pages::all;

use aws_sdk_elasticloadbalancingv2::types::TargetGroup;

/// A healthy target: its id and the AZ ELB reports for it (IP targets only).
type Target = (String, Option<String>);

/// Healthy targets per AZ of the load balancer; `None` when spread well enough. Uneven is an
/// enabled AZ without a healthy target while another has some, or (Trusted Advisor's rule) a
/// difference of more than one target and more than 20 % of the largest count.
pub fn uneven(per_az: &BTreeMap<String, usize>) -> bool {
    let (Some(max), Some(min)) = (per_az.values().max(), per_az.values().min()) else {
        return false;
    };
    if per_az.len() < 2 || *max == 0 {
        return false;
    }
    let gap = max - min;
    *min == 0 || (gap > 1 && gap * 5 > *max)
}

pub async fn check(sdk: &SdkConfig, place: &Place) -> Result<Vec<Finding>, AuditError> {
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    // Phase 1: each load balancer's enabled AZs.
    let lbs = all(
        "elasticloadbalancing:DescribeLoadBalancers",
        elb.describe_load_balancers().into_paginator().send(),
        |p| p.load_balancers.unwrap_or_default(),
    )
    .await?;
    let lb_zones: BTreeMap<String, (String, Vec<String>)> = lbs
        .into_iter()
        .filter_map(|lb| {
            let zones = lb
                .availability_zones()
                .iter()
                .filter_map(|z| z.zone_name().map(str::to_string))
                .collect();
            Some((
                lb.load_balancer_arn?,
                (lb.load_balancer_name.unwrap_or_default(), zones),
            ))
        })
        .collect();
    if lb_zones.is_empty() {
        return Ok(Vec::new());
    }
    let groups = all(
        "elasticloadbalancing:DescribeTargetGroups",
        elb.describe_target_groups().into_paginator().send(),
        |p| p.target_groups.unwrap_or_default(),
    )
    .await?;

    // Phase 2: each attached group's healthy targets.
    let mut healthy: Vec<(&TargetGroup, Vec<Target>)> = Vec::new();
    for g in groups.iter().filter(|g| !g.load_balancer_arns().is_empty()) {
        let Some(arn) = g.target_group_arn() else {
            continue;
        };
        let out = elb
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(AuditError::aws("elasticloadbalancing:DescribeTargetHealth"))?;
        use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum;
        let targets = out
            .target_health_descriptions()
            .iter()
            .filter(|d| {
                d.target_health().and_then(|h| h.state()) == Some(&TargetHealthStateEnum::Healthy)
            })
            .filter_map(|d| {
                let t = d.target()?;
                Some((
                    t.id()?.to_string(),
                    t.availability_zone().map(str::to_string),
                ))
            })
            .collect();
        healthy.push((g, targets));
    }

    // Phase 3: instance targets' AZs, then the count per enabled AZ.
    let instance_ids: Vec<String> = healthy
        .iter()
        .flat_map(|(_, t)| t.iter())
        .filter(|(id, az)| az.is_none() && id.starts_with("i-"))
        .map(|(id, _)| id.clone())
        .collect();
    let mut instance_az: BTreeMap<String, String> = BTreeMap::new();
    if !instance_ids.is_empty() {
        let ec2 = aws_sdk_ec2::Client::new(sdk);
        let instances = all(
            "ec2:DescribeInstances",
            ec2.describe_instances()
                .set_instance_ids(Some(instance_ids))
                .into_paginator()
                .send(),
            |p| {
                p.reservations
                    .unwrap_or_default()
                    .into_iter()
                    .flat_map(|r| r.instances.unwrap_or_default())
            },
        )
        .await?;
        for i in instances {
            if let (Some(id), Some(az)) = (
                i.instance_id.clone(),
                i.placement().and_then(|p| p.availability_zone()),
            ) {
                instance_az.insert(id, az.to_string());
            }
        }
    }
    let mut findings = Vec::new();
    for (g, targets) in &healthy {
        let group = g.target_group_name().unwrap_or_default();
        for lb_arn in g.load_balancer_arns() {
            let Some((lb, zones)) = lb_zones.get(lb_arn) else {
                continue;
            };
            let mut per_az: BTreeMap<String, usize> =
                zones.iter().map(|z| (z.clone(), 0)).collect();
            for (id, az) in targets {
                let az = az.clone().or_else(|| instance_az.get(id).cloned());
                if let Some(n) = az.and_then(|az| per_az.get_mut(&az)) {
                    *n += 1;
                }
            }
            if !uneven(&per_az) {
                continue;
            }
            let counts: Vec<String> = per_az.iter().map(|(z, n)| format!("{z}: {n}")).collect();
            let fewest = per_az
                .iter()
                .min_by_key(|(_, n)| **n)
                .map(|(z, _)| z.clone())
                .unwrap_or_default();
            findings.push(place.finding(
                "AZ-007",
                g.target_group_arn().unwrap_or_default().to_string(),
                format!("{group} behind {lb}: healthy targets {}", counts.join(", ")),
                format!(
                    "register healthy targets of {group} in {fewest} (or let an Auto Scaling group \
                     across the AZs keep them even)"
                ),
            ));
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(counts: &[(&str, usize)]) -> BTreeMap<String, usize> {
        counts.iter().map(|(z, n)| (z.to_string(), *n)).collect()
    }

    #[test]
    fn uneven_is_an_empty_az_or_trusted_advisors_gap() {
        assert!(uneven(&spread(&[("a", 2), ("c", 0)])));
        assert!(uneven(&spread(&[("a", 1), ("c", 0)])));
        assert!(uneven(&spread(&[("a", 5), ("c", 2)])));
        assert!(!uneven(&spread(&[("a", 2), ("c", 2)])));
        assert!(!uneven(&spread(&[("a", 3), ("c", 2)])));
        // A gap of 2 out of 20 is 10 %: even enough.
        assert!(!uneven(&spread(&[("a", 20), ("c", 18)])));
        assert!(!uneven(&spread(&[("a", 0), ("c", 0)])));
        assert!(!uneven(&spread(&[("a", 3)])));
    }
}
