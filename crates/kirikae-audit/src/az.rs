//! Availability Zone risks: what stops working when one AZ fails although the others are up.
//!
//! Every AZ is read from the resource itself (a subnet's, an instance's, a node's), never from a
//! list the parent keeps: an Aurora cluster's `AvailabilityZones` names the AZs it *may* use (the
//! emulator always answers `a, b, c`), not where its instances are; the story's `shop-prod`, a
//! writer alone, is such a finding.

use std::collections::{BTreeMap, BTreeSet};

use aws_types::SdkConfig;

use crate::error::AuditError;
use crate::finding::{Finding, Place};
use crate::pages::all;

/// The AZ names of an account in a region with their ids: the same name is a different physical
/// AZ in another account (ids are the same everywhere), which matters when a service in one
/// account talks to another's.
pub type Zones = Vec<(String, String)>;

/// Every AZ check in one account and region, and the account's AZ name to id mapping there.
pub async fn check(sdk: &SdkConfig, place: &Place) -> Result<(Vec<Finding>, Zones), AuditError> {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let zones = zones(&ec2).await?;
    let subnets = subnet_zones(&ec2).await?;
    let mut findings = nat_routes(&ec2, place, &subnets).await?;
    findings.extend(auto_scaling_groups(sdk, place, &subnets).await?);
    findings.extend(load_balancers(sdk, place).await?);
    findings.extend(crate::lb_targets::check(sdk, place).await?);
    findings.extend(databases(sdk, place).await?);
    findings.extend(caches(sdk, place).await?);
    Ok((findings, zones))
}

async fn zones(ec2: &aws_sdk_ec2::Client) -> Result<Zones, AuditError> {
    let out = ec2
        .describe_availability_zones()
        .send()
        .await
        .map_err(AuditError::aws("ec2:DescribeAvailabilityZones"))?;
    let mut zones: Zones = out
        .availability_zones()
        .iter()
        .filter_map(|z| Some((z.zone_name()?.to_string(), z.zone_id()?.to_string())))
        .collect();
    zones.sort();
    Ok(zones)
}

/// A subnet: its AZ, VPC and ARN.
struct Subnet {
    az: String,
    vpc: String,
    arn: String,
}

async fn subnet_zones(ec2: &aws_sdk_ec2::Client) -> Result<BTreeMap<String, Subnet>, AuditError> {
    let subnets = all(
        "ec2:DescribeSubnets",
        ec2.describe_subnets().into_paginator().send(),
        |p| p.subnets.unwrap_or_default(),
    )
    .await?;
    Ok(subnets
        .iter()
        .filter_map(|s| {
            Some((
                s.subnet_id()?.to_string(),
                Subnet {
                    az: s.availability_zone()?.to_string(),
                    vpc: s.vpc_id().unwrap_or_default().to_string(),
                    arn: s.subnet_arn().unwrap_or_default().to_string(),
                },
            ))
        })
        .collect())
}

/// AZ-001: a subnet whose default route (`0.0.0.0/0`) goes to a NAT gateway in another AZ. A
/// subnet without an explicit route table association uses its VPC's main route table.
async fn nat_routes(
    ec2: &aws_sdk_ec2::Client,
    place: &Place,
    subnets: &BTreeMap<String, Subnet>,
) -> Result<Vec<Finding>, AuditError> {
    // Phase 1: the NAT gateways that route (pending or available), each with its AZ.
    let nats = all(
        "ec2:DescribeNatGateways",
        ec2.describe_nat_gateways().into_paginator().send(),
        |p| p.nat_gateways.unwrap_or_default(),
    )
    .await?;
    let mut nat_az: BTreeMap<String, String> = BTreeMap::new();
    let mut nats_per_vpc: BTreeMap<String, usize> = BTreeMap::new();
    for n in &nats {
        let live = matches!(
            n.state(),
            Some(aws_sdk_ec2::types::NatGatewayState::Available)
                | Some(aws_sdk_ec2::types::NatGatewayState::Pending)
        );
        // A regional NAT gateway spans the VPC's AZs: not bound to one.
        let regional = matches!(
            n.availability_mode(),
            Some(aws_sdk_ec2::types::AvailabilityMode::Regional)
        );
        let (Some(id), Some(subnet)) = (n.nat_gateway_id(), n.subnet_id()) else {
            continue;
        };
        if !live || regional {
            continue;
        }
        if let Some(s) = subnets.get(subnet) {
            nat_az.insert(id.to_string(), s.az.clone());
            *nats_per_vpc.entry(s.vpc.clone()).or_default() += 1;
        }
    }
    if nat_az.is_empty() {
        return Ok(Vec::new());
    }

    // Phase 2: which NAT each subnet's default route goes to.
    let route_tables = all(
        "ec2:DescribeRouteTables",
        ec2.describe_route_tables().into_paginator().send(),
        |p| p.route_tables.unwrap_or_default(),
    )
    .await?;
    let mut explicit: BTreeMap<String, String> = BTreeMap::new(); // subnet -> NAT
    let mut associated: BTreeSet<String> = BTreeSet::new();
    let mut main_nat: BTreeMap<String, String> = BTreeMap::new(); // VPC -> NAT of its main table
    for rt in &route_tables {
        let nat = rt
            .routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
            .and_then(|r| r.nat_gateway_id())
            .map(str::to_string);
        for a in rt.associations() {
            if let Some(subnet) = a.subnet_id() {
                associated.insert(subnet.to_string());
                if let Some(nat) = &nat {
                    explicit.insert(subnet.to_string(), nat.clone());
                }
            }
            if a.main() == Some(true) {
                if let (Some(nat), Some(vpc)) = (&nat, rt.vpc_id()) {
                    main_nat.insert(vpc.to_string(), nat.clone());
                }
            }
        }
    }

    // Phase 3: compare each routed subnet's AZ with its NAT's.
    let mut findings = Vec::new();
    for (id, subnet) in subnets {
        let nat = match explicit.get(id) {
            Some(n) => n,
            None if !associated.contains(id) => match main_nat.get(&subnet.vpc) {
                Some(n) => n,
                None => continue,
            },
            None => continue,
        };
        let Some(az) = nat_az.get(nat) else { continue };
        if *az == subnet.az {
            continue;
        }
        let only = nats_per_vpc.get(&subnet.vpc).copied().unwrap_or(0) == 1;
        let arn = if subnet.arn.is_empty() {
            place.arn("ec2", &format!("subnet/{id}"))
        } else {
            subnet.arn.clone()
        };
        findings.push(place.finding(
            "AZ-001",
            arn,
            format!(
                "{id} in {} sends 0.0.0.0/0 to {nat} in {az}{}",
                subnet.az,
                if only {
                    format!(" (the only NAT gateway of {})", subnet.vpc)
                } else {
                    String::new()
                }
            ),
            format!(
                "create a NAT gateway in {} (or a regional NAT gateway) and route {id}'s \
                 0.0.0.0/0 to it",
                subnet.az
            ),
        ));
    }
    Ok(findings)
}

/// AZ-002: an Auto Scaling group whose subnets (or AZs, outside a VPC) are all in one AZ.
async fn auto_scaling_groups(
    sdk: &SdkConfig,
    place: &Place,
    subnets: &BTreeMap<String, Subnet>,
) -> Result<Vec<Finding>, AuditError> {
    let client = aws_sdk_autoscaling::Client::new(sdk);
    let groups = all(
        "autoscaling:DescribeAutoScalingGroups",
        client
            .describe_auto_scaling_groups()
            .into_paginator()
            .send(),
        |p| p.auto_scaling_groups.unwrap_or_default(),
    )
    .await?;
    let mut findings = Vec::new();
    for g in &groups {
        let name = g.auto_scaling_group_name().unwrap_or_default();
        let zones: BTreeSet<String> = match g.vpc_zone_identifier().filter(|v| !v.is_empty()) {
            Some(ids) => ids
                .split(',')
                .filter_map(|s| subnets.get(s.trim()).map(|s| s.az.clone()))
                .collect(),
            None => g.availability_zones().iter().cloned().collect(),
        };
        if zones.len() >= 2 {
            continue;
        }
        let arn = g
            .auto_scaling_group_arn()
            .map(str::to_string)
            .unwrap_or_else(|| {
                place.arn(
                    "autoscaling",
                    &format!("autoScalingGroup:*:autoScalingGroupName/{name}"),
                )
            });
        findings.push(place.finding(
            "AZ-002",
            arn,
            format!("{name} launches only in {}", join(&zones)),
            format!("add a subnet in a second AZ to {name}'s VPCZoneIdentifier"),
        ));
    }
    Ok(findings)
}

/// AZ-003: a load balancer enabled in one AZ.
async fn load_balancers(sdk: &SdkConfig, place: &Place) -> Result<Vec<Finding>, AuditError> {
    let client = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let lbs = all(
        "elasticloadbalancing:DescribeLoadBalancers",
        client.describe_load_balancers().into_paginator().send(),
        |p| p.load_balancers.unwrap_or_default(),
    )
    .await?;
    let mut findings = Vec::new();
    for lb in &lbs {
        let zones: BTreeSet<String> = lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.zone_name().map(str::to_string))
            .collect();
        if zones.len() >= 2 {
            continue;
        }
        let name = lb.load_balancer_name().unwrap_or_default();
        findings.push(place.finding(
            "AZ-003",
            lb.load_balancer_arn().unwrap_or_default().to_string(),
            format!("{name} is enabled only in {}", join(&zones)),
            format!("enable {name} in a subnet of a second AZ (SetSubnets)"),
        ));
    }
    Ok(findings)
}

/// AZ-004 (Aurora clusters) and AZ-005 (DB instances outside a cluster), from each instance's
/// own AZ.
async fn databases(sdk: &SdkConfig, place: &Place) -> Result<Vec<Finding>, AuditError> {
    let rds = aws_sdk_rds::Client::new(sdk);
    let instances = all(
        "rds:DescribeDBInstances",
        rds.describe_db_instances().into_paginator().send(),
        |p| p.db_instances.unwrap_or_default(),
    )
    .await?;
    let az_of: BTreeMap<&str, &str> = instances
        .iter()
        .filter_map(|i| Some((i.db_instance_identifier()?, i.availability_zone()?)))
        .collect();
    let mut findings = Vec::new();

    let clusters = all(
        "rds:DescribeDBClusters",
        rds.describe_db_clusters().into_paginator().send(),
        |p| p.db_clusters.unwrap_or_default(),
    )
    .await?;
    for c in &clusters {
        if !c.engine().is_some_and(|e| e.starts_with("aurora")) {
            continue;
        }
        let id = c.db_cluster_identifier().unwrap_or_default();
        let members: Vec<&str> = c
            .db_cluster_members()
            .iter()
            .filter_map(|m| m.db_instance_identifier())
            .collect();
        let zones: BTreeSet<&str> = members
            .iter()
            .filter_map(|m| az_of.get(m).copied())
            .collect();
        let evidence = match (members.len(), zones.len()) {
            (0, _) => format!("{id} has no DB instance"),
            (1, _) => format!(
                "{id} has one DB instance ({} in {})",
                members[0],
                zones.first().copied().unwrap_or("an unknown AZ")
            ),
            (n, 1) => format!(
                "all {n} DB instances of {id} are in {}",
                zones.first().copied().unwrap_or_default()
            ),
            _ => continue,
        };
        let arn = c
            .db_cluster_arn()
            .map(str::to_string)
            .unwrap_or_else(|| place.arn("rds", &format!("cluster:{id}")));
        findings.push(place.finding(
            "AZ-004",
            arn,
            evidence,
            format!("add a reader to {id} in another AZ (it becomes the failover target)"),
        ));
    }

    for i in &instances {
        if i.db_cluster_identifier().is_some() || i.multi_az() == Some(true) {
            continue;
        }
        let id = i.db_instance_identifier().unwrap_or_default();
        let arn = i
            .db_instance_arn()
            .map(str::to_string)
            .unwrap_or_else(|| place.arn("rds", &format!("db:{id}")));
        findings.push(place.finding(
            "AZ-005",
            arn,
            format!(
                "{id} is single-AZ in {}",
                i.availability_zone().unwrap_or("an unknown AZ")
            ),
            format!("modify {id} with --multi-az (a standby in another AZ)"),
        ));
    }
    Ok(findings)
}

/// AZ-006: a replication group (or a cluster outside one) whose nodes are all in one AZ.
async fn caches(sdk: &SdkConfig, place: &Place) -> Result<Vec<Finding>, AuditError> {
    let client = aws_sdk_elasticache::Client::new(sdk);
    let clusters = all(
        "elasticache:DescribeCacheClusters",
        client
            .describe_cache_clusters()
            .show_cache_node_info(true)
            .into_paginator()
            .send(),
        |p| p.cache_clusters.unwrap_or_default(),
    )
    .await?;
    // Group -> (ARN, AZs of its nodes, nodes).
    let mut groups: BTreeMap<String, (String, BTreeSet<String>, usize)> = BTreeMap::new();
    for c in &clusters {
        let id = c.cache_cluster_id().unwrap_or_default();
        let (key, arn) = match c.replication_group_id() {
            Some(g) => (
                g.to_string(),
                place.arn("elasticache", &format!("replicationgroup:{g}")),
            ),
            None => (
                id.to_string(),
                c.arn()
                    .map(str::to_string)
                    .unwrap_or_else(|| place.arn("elasticache", &format!("cluster:{id}"))),
            ),
        };
        let entry = groups.entry(key).or_insert((arn, BTreeSet::new(), 0));
        let node_zones: Vec<String> = c
            .cache_nodes()
            .iter()
            .filter_map(|n| n.customer_availability_zone().map(str::to_string))
            .collect();
        if node_zones.is_empty() {
            entry
                .1
                .extend(c.preferred_availability_zone().map(str::to_string));
            entry.2 += c.num_cache_nodes().unwrap_or(1).max(1) as usize;
        } else {
            entry.2 += node_zones.len();
            entry.1.extend(node_zones);
        }
    }
    let mut findings = Vec::new();
    for (id, (arn, zones, nodes)) in groups {
        // Two nodes or more whose AZs are not reported cannot be judged: no finding on a guess.
        if zones.len() >= 2 || (nodes >= 2 && zones.is_empty()) {
            continue;
        }
        let nodes_text = if nodes == 1 {
            "its one node is".to_string()
        } else {
            format!("all {nodes} nodes are")
        };
        findings.push(place.finding(
            "AZ-006",
            arn,
            format!("{id}: {nodes_text} in {}", join(&zones)),
            format!("add a replica of {id} in another AZ (Multi-AZ with automatic failover)"),
        ));
    }
    Ok(findings)
}

fn join(zones: &BTreeSet<String>) -> String {
    if zones.is_empty() {
        "an unknown AZ".to_string()
    } else {
        zones.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}
