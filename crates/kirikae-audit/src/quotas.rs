//! Service Quotas: each account's applied and default values side by side, usage at or above
//! 80 % and 100 %, quotas that differ between accounts, and headroom for kirikae's own refresh.
//!
//! `ListServiceQuotas` answers only the quotas changed in the account (applied values), so it is
//! merged with `ListAWSDefaultServiceQuotas`: applied wins. Usage comes from CloudWatch
//! `AWS/Usage` where the quota names a usage metric (the maximum over the last 24 hours, the
//! statistic the quota recommends), else it is counted from the inventory for the quotas kirikae
//! knows how to count; quotas are matched by name (AWS's codes are opaque).

use std::collections::{BTreeMap, BTreeSet};

use aws_types::SdkConfig;
use serde::Serialize;

use crate::error::AuditError;
use crate::finding::{Finding, Place};
use crate::pages::all;

/// The services whose quotas are read.
pub const SERVICES: &[&str] = &["rds", "lambda", "ec2", "vpc"];

/// Usage at or above this share of a quota is reported (`QUOTA-002`).
pub const WARN_AT: f64 = 0.8;

/// One quota in one account and region.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Quota {
    pub service: String,
    pub code: String,
    pub name: String,
    /// AWS's default (`None` when only an applied value was listed).
    pub default: Option<f64>,
    /// The value changed for this account, if any.
    pub applied: Option<f64>,
    pub usage: Option<f64>,
    /// `AWS/Usage` or `counted`.
    pub usage_from: Option<String>,
    pub arn: String,
}

impl Quota {
    /// The value in force: applied, else the default.
    pub fn value(&self) -> Option<f64> {
        self.applied.or(self.default)
    }

    /// Usage as a share of the value.
    pub fn utilization(&self) -> Option<f64> {
        match (self.usage, self.value()) {
            (Some(u), Some(v)) if v > 0.0 => Some(u / v),
            _ => None,
        }
    }
}

/// The quotas of one account and region.
#[derive(Debug, Clone, Serialize)]
pub struct PlaceQuotas {
    pub account: String,
    pub region: String,
    pub quotas: Vec<Quota>,
}

/// One more of a quota that a refresh needs in this account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// The quota's name, e.g. `DB clusters`.
    pub quota: &'static str,
    /// `[refresh.<name>]`.
    pub refresh: String,
    /// Why: "its copy of the source cluster".
    pub for_what: &'static str,
}

/// What every refresh of kirikae.toml needs in an account: in its target account one more DB
/// cluster, DB instance and manual cluster snapshot (the copy it restores from); in its source
/// account one more manual cluster snapshot.
pub fn needs(config: &kirikae_config::Config, account: &str) -> Vec<Need> {
    let mut out = Vec::new();
    let is = |given: &str| config.account(given).map(|(name, _)| name) == Some(account);
    for (name, r) in &config.refresh {
        if is(&r.target.account) {
            for (quota, for_what) in [
                ("DB clusters", "the new cluster it restores"),
                ("DB instances", "the new cluster's instance"),
                (
                    "Manual DB cluster snapshots",
                    "the snapshot it restores from",
                ),
            ] {
                out.push(Need {
                    quota,
                    refresh: name.clone(),
                    for_what,
                });
            }
        }
        if is(&r.source.account) {
            out.push(Need {
                quota: "Manual DB cluster snapshots",
                refresh: name.clone(),
                for_what: "the snapshot of the source cluster",
            });
        }
    }
    out
}

/// Every quota check in one account and region, and the merged quotas for the side-by-side view.
pub async fn check(
    sdk: &SdkConfig,
    place: &Place,
    needs: &[Need],
) -> Result<(Vec<Finding>, Vec<Quota>), AuditError> {
    let mut quotas = merged(sdk, place).await?;
    usage(sdk, &mut quotas).await?;
    let mut findings = Vec::new();
    for q in &quotas {
        findings.extend(judge(place, q));
    }
    for need in needs {
        findings.extend(headroom(place, &quotas, need));
    }
    Ok((findings, quotas))
}

/// Phase 1: defaults merged with applied values, per service.
async fn merged(sdk: &SdkConfig, place: &Place) -> Result<Vec<Quota>, AuditError> {
    let client = aws_sdk_servicequotas::Client::new(sdk);
    let mut out = Vec::new();
    for service in SERVICES {
        let defaults = match all(
            "servicequotas:ListAWSDefaultServiceQuotas",
            client
                .list_aws_default_service_quotas()
                .service_code(*service)
                .into_paginator()
                .send(),
            |p| p.quotas.unwrap_or_default(),
        )
        .await
        {
            Ok(d) => d,
            // A service Service Quotas does not know in this region has nothing to judge.
            Err(AuditError::Aws { source, .. }) if no_such_resource(source.as_ref()) => continue,
            Err(e) => return Err(e),
        };
        let applied = all(
            "servicequotas:ListServiceQuotas",
            client
                .list_service_quotas()
                .service_code(*service)
                .into_paginator()
                .send(),
            |p| p.quotas.unwrap_or_default(),
        )
        .await?;
        let mut by_code: BTreeMap<String, Quota> = BTreeMap::new();
        for (q, is_applied) in defaults
            .iter()
            .map(|q| (q, false))
            .chain(applied.iter().map(|q| (q, true)))
        {
            let Some(code) = q.quota_code() else { continue };
            let entry = by_code.entry(code.to_string()).or_insert_with(|| Quota {
                service: service.to_string(),
                code: code.to_string(),
                name: q.quota_name().unwrap_or(code).to_string(),
                default: None,
                applied: None,
                usage: None,
                usage_from: None,
                arn: place.arn("servicequotas", &format!("{service}/{code}")),
            });
            if is_applied {
                entry.applied = q.value();
            } else {
                entry.default = q.value();
            }
            if let Some(m) = q.usage_metric() {
                entry.usage_from = metric_key(m);
            }
        }
        out.extend(by_code.into_values());
    }
    Ok(out)
}

fn no_such_resource(e: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    use aws_sdk_servicequotas::error::SdkError;
    use aws_sdk_servicequotas::operation::list_aws_default_service_quotas::ListAWSDefaultServiceQuotasError;
    e.downcast_ref::<SdkError<ListAWSDefaultServiceQuotasError>>()
        .and_then(|e| e.as_service_error())
        .is_some_and(|e| e.is_no_such_resource_exception())
}

/// A usage metric as `namespace|name|statistic|k=v,k=v` until it is read (phase 2).
fn metric_key(m: &aws_sdk_servicequotas::types::MetricInfo) -> Option<String> {
    let mut dims: Vec<String> = m
        .metric_dimensions()
        .map(|d| d.iter().map(|(k, v)| format!("{k}={v}")).collect())
        .unwrap_or_default();
    dims.sort();
    Some(format!(
        "{}|{}|{}|{}",
        m.metric_namespace()?,
        m.metric_name()?,
        m.metric_statistic_recommendation().unwrap_or("Maximum"),
        dims.join(",")
    ))
}

/// Phase 2: usage from `AWS/Usage`, else counted.
async fn usage(sdk: &SdkConfig, quotas: &mut [Quota]) -> Result<(), AuditError> {
    let cw = aws_sdk_cloudwatch::Client::new(sdk);
    let now = std::time::SystemTime::now();
    let day_ago = now - std::time::Duration::from_secs(86_400);
    // EndTime is exclusive and may be cut to the whole second: a minute ahead keeps the newest
    // point (stamped this very second) in the window; there is nothing later to include.
    let end = now + std::time::Duration::from_secs(60);
    let mut counts = Counts::new(sdk);
    for q in quotas.iter_mut() {
        if let Some(key) = q.usage_from.take() {
            if let Some(v) = metric(&cw, &key, day_ago, end).await? {
                q.usage = Some(v);
                q.usage_from = Some("AWS/Usage".to_string());
                continue;
            }
        }
        if let Some(n) = counts.of(&q.service, &q.name).await? {
            q.usage = Some(n as f64);
            q.usage_from = Some("counted".to_string());
        }
    }
    Ok(())
}

async fn metric(
    cw: &aws_sdk_cloudwatch::Client,
    key: &str,
    from: std::time::SystemTime,
    to: std::time::SystemTime,
) -> Result<Option<f64>, AuditError> {
    use aws_sdk_cloudwatch::types::{Dimension, Statistic};

    let parts: Vec<&str> = key.splitn(4, '|').collect();
    let [namespace, name, stat, dims] = parts[..] else {
        return Ok(None);
    };
    let statistic = Statistic::from(stat);
    let mut req = cw
        .get_metric_statistics()
        .namespace(namespace)
        .metric_name(name)
        .start_time(from.into())
        .end_time(to.into())
        .period(3600)
        .statistics(statistic.clone());
    for kv in dims.split(',').filter(|s| !s.is_empty()) {
        if let Some((k, v)) = kv.split_once('=') {
            req = req.dimensions(Dimension::builder().name(k).value(v).build());
        }
    }
    let out = req
        .send()
        .await
        .map_err(AuditError::aws("cloudwatch:GetMetricStatistics"))?;
    let value = |d: &aws_sdk_cloudwatch::types::Datapoint| match statistic {
        Statistic::Average => d.average(),
        Statistic::Sum => d.sum(),
        Statistic::Minimum => d.minimum(),
        Statistic::SampleCount => d.sample_count(),
        _ => d.maximum(),
    };
    Ok(out
        .datapoints()
        .iter()
        .filter_map(value)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v)))))
}

/// Counting from the inventory, each listing at most once.
struct Counts<'a> {
    sdk: &'a SdkConfig,
    done: BTreeMap<(&'static str, &'static str), usize>,
}

impl<'a> Counts<'a> {
    fn new(sdk: &'a SdkConfig) -> Counts<'a> {
        Counts {
            sdk,
            done: BTreeMap::new(),
        }
    }

    /// How many of what the quota limits exist, for the quotas kirikae counts.
    async fn of(&mut self, service: &str, quota: &str) -> Result<Option<usize>, AuditError> {
        let key: (&'static str, &'static str) = match (service, quota) {
            ("rds", "DB clusters") => ("rds", "DB clusters"),
            ("rds", "DB instances") => ("rds", "DB instances"),
            ("rds", "Manual DB cluster snapshots") => ("rds", "Manual DB cluster snapshots"),
            ("ec2", "EC2-VPC Elastic IPs") => ("ec2", "EC2-VPC Elastic IPs"),
            ("vpc", "VPCs per Region") => ("vpc", "VPCs per Region"),
            _ => return Ok(None),
        };
        if let Some(n) = self.done.get(&key) {
            return Ok(Some(*n));
        }
        let rds = aws_sdk_rds::Client::new(self.sdk);
        let ec2 = aws_sdk_ec2::Client::new(self.sdk);
        let n = match key.1 {
            "DB clusters" => all(
                "rds:DescribeDBClusters",
                rds.describe_db_clusters().into_paginator().send(),
                |p| p.db_clusters.unwrap_or_default(),
            )
            .await?
            .len(),
            "DB instances" => all(
                "rds:DescribeDBInstances",
                rds.describe_db_instances().into_paginator().send(),
                |p| p.db_instances.unwrap_or_default(),
            )
            .await?
            .len(),
            "Manual DB cluster snapshots" => all(
                "rds:DescribeDBClusterSnapshots",
                rds.describe_db_cluster_snapshots()
                    .snapshot_type("manual")
                    .into_paginator()
                    .send(),
                |p| p.db_cluster_snapshots.unwrap_or_default(),
            )
            .await?
            .len(),
            "EC2-VPC Elastic IPs" => ec2
                .describe_addresses()
                .send()
                .await
                .map_err(AuditError::aws("ec2:DescribeAddresses"))?
                .addresses()
                .len(),
            _ => all(
                "ec2:DescribeVpcs",
                ec2.describe_vpcs().into_paginator().send(),
                |p| p.vpcs.unwrap_or_default(),
            )
            .await?
            .len(),
        };
        self.done.insert(key, n);
        Ok(Some(n))
    }
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// `12/40 (default 40)` or `12/80 (applied; default 40)`.
fn shown(q: &Quota) -> String {
    let value = q.value().map_or("?".to_string(), number);
    let usage = q.usage.map_or("?".to_string(), number);
    match (q.applied, q.default) {
        (Some(_), Some(d)) => format!("{usage}/{value} (applied; default {})", number(d)),
        (Some(_), None) => format!("{usage}/{value} (applied)"),
        _ => format!("{usage}/{value} (default)"),
    }
}

fn increase(place: &Place, q: &Quota, wanted: f64) -> String {
    format!(
        "aws service-quotas request-service-quota-increase --service-code {} --quota-code {} \
         --desired-value {} --region {} (in account {})",
        q.service,
        q.code,
        number(wanted),
        place.region,
        place.account
    )
}

/// QUOTA-001 (at or above 100 %) and QUOTA-002 (at or above 80 %) for one quota (pure).
pub fn judge(place: &Place, q: &Quota) -> Option<Finding> {
    let share = q.utilization()?;
    let id = if share >= 1.0 {
        "QUOTA-001"
    } else if share >= WARN_AT {
        "QUOTA-002"
    } else {
        return None;
    };
    let value = q.value()?;
    Some(place.finding(
        id,
        q.arn.clone(),
        format!(
            "{} ({}): {} = {:.0} % (usage {})",
            q.name,
            q.service,
            shown(q),
            share * 100.0,
            q.usage_from.as_deref().unwrap_or("?")
        ),
        format!(
            "free some, or request an increase: {}",
            increase(place, q, (value * 2.0).max(value + 1.0))
        ),
    ))
}

/// QUOTA-004: no room for one more of what a refresh creates.
fn headroom(place: &Place, quotas: &[Quota], need: &Need) -> Option<Finding> {
    let q = quotas
        .iter()
        .find(|q| q.service == "rds" && q.name == need.quota)?;
    let (usage, value) = (q.usage?, q.value()?);
    if usage + 1.0 <= value {
        return None;
    }
    Some(place.finding(
        "QUOTA-004",
        q.arn.clone(),
        format!(
            "refresh {} needs one more {} in {} ({}): {}",
            need.refresh,
            need.quota,
            place.account,
            need.for_what,
            shown(q)
        ),
        format!(
            "free one before the next refresh, or request an increase: {}",
            increase(place, q, usage + 1.0)
        ),
    ))
}

/// QUOTA-003: the same quota with a lower value in one account than in another of the same
/// region (a limit one account hits while the other never sees it). One finding per account
/// below the highest value.
pub fn compare(places: &[(Place, Vec<Quota>)]) -> Vec<Finding> {
    // (region, service, code) -> every account's value.
    type Seen<'a> = Vec<(&'a Place, &'a Quota)>;
    let mut by_quota: BTreeMap<(&str, &str, &str), Seen> = BTreeMap::new();
    for (place, quotas) in places {
        for q in quotas {
            by_quota
                .entry((place.region.as_str(), q.service.as_str(), q.code.as_str()))
                .or_default()
                .push((place, q));
        }
    }
    let mut findings = Vec::new();
    for seen in by_quota.values() {
        let accounts: BTreeSet<&str> = seen.iter().map(|(p, _)| p.account.as_str()).collect();
        if accounts.len() < 2 {
            continue;
        }
        let Some((top_place, top)) =
            seen.iter()
                .filter(|(_, q)| q.value().is_some())
                .max_by(|a, b| {
                    a.1.value()
                        .partial_cmp(&b.1.value())
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
        else {
            continue;
        };
        let top_value = top.value().unwrap_or_default();
        for (place, q) in seen {
            let Some(v) = q.value().filter(|v| *v < top_value) else {
                continue;
            };
            findings.push(place.finding(
                "QUOTA-003",
                q.arn.clone(),
                format!(
                    "{} ({}): {} in {} while {} has {}{}",
                    q.name,
                    q.service,
                    number(v),
                    place.account,
                    top_place.account,
                    number(top_value),
                    if top.applied.is_some() {
                        " (applied)"
                    } else {
                        ""
                    }
                ),
                format!(
                    "if {} will run what {} runs, request the same value: {}",
                    place.account,
                    top_place.account,
                    increase(place, q, top_value)
                ),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;

    fn place(account: &str, protected: bool) -> Place {
        Place {
            account: account.into(),
            account_id: if protected {
                "111111111111"
            } else {
                "222222222222"
            }
            .into(),
            protected,
            region: "ap-northeast-1".into(),
        }
    }

    fn quota(default: f64, applied: Option<f64>, usage: Option<f64>) -> Quota {
        Quota {
            service: "rds".into(),
            code: "L-952B80B8".into(),
            name: "DB clusters".into(),
            default: Some(default),
            applied,
            usage,
            usage_from: Some("counted".into()),
            arn: "arn:aws:servicequotas:ap-northeast-1:111111111111:rds/L-952B80B8".into(),
        }
    }

    #[test]
    fn usage_thresholds_and_the_applied_value_win() {
        let prod = place("prod", true);
        assert!(judge(&prod, &quota(40.0, None, Some(31.0))).is_none());
        let f = judge(&prod, &quota(40.0, None, Some(32.0))).unwrap();
        assert_eq!((f.check, f.severity), ("QUOTA-002", Severity::High));
        assert!(
            f.evidence.contains("32/40 (default) = 80 %"),
            "{}",
            f.evidence
        );
        let f = judge(&prod, &quota(40.0, Some(2.0), Some(2.0))).unwrap();
        assert_eq!((f.check, f.severity), ("QUOTA-001", Severity::Critical));
        assert!(
            f.evidence.contains("2/2 (applied; default 40)"),
            "{}",
            f.evidence
        );
        assert!(
            f.fix.contains("--quota-code L-952B80B8 --desired-value 4"),
            "{}",
            f.fix
        );
        assert_eq!(
            judge(&place("dev", false), &quota(40.0, Some(2.0), Some(2.0)))
                .unwrap()
                .severity,
            Severity::High
        );
        assert!(judge(&prod, &quota(40.0, None, None)).is_none());
    }

    #[test]
    fn a_lower_value_than_another_account_is_a_finding_for_that_account_only() {
        let prod = place("prod", true);
        let dev = place("dev", false);
        let f = compare(&[
            (prod.clone(), vec![quota(40.0, Some(80.0), None)]),
            (dev.clone(), vec![quota(40.0, None, None)]),
        ]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].check, f[0].account.as_str()), ("QUOTA-003", "dev"));
        assert!(
            f[0].evidence
                .contains("40 in dev while prod has 80 (applied)"),
            "{}",
            f[0].evidence
        );
        let same = compare(&[
            (prod, vec![quota(40.0, None, None)]),
            (dev, vec![quota(40.0, None, None)]),
        ]);
        assert!(same.is_empty());
    }

    #[test]
    fn headroom_is_one_more_than_used() {
        let dev = place("dev", false);
        let need = Need {
            quota: "DB clusters",
            refresh: "shop".into(),
            for_what: "the new cluster it restores",
        };
        assert!(headroom(&dev, &[quota(40.0, Some(3.0), Some(2.0))], &need).is_none());
        let f = headroom(&dev, &[quota(40.0, Some(2.0), Some(2.0))], &need).unwrap();
        assert_eq!(f.check, "QUOTA-004");
        assert!(
            f.evidence
                .starts_with("refresh shop needs one more DB clusters in dev"),
            "{}",
            f.evidence
        );
    }
}
