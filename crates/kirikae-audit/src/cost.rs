//! `kirikae audit cost`: Cost Explorer by month × account × service over N closed months and
//! the month to date, split by one tag (`[audit] cost_tag`, default `env`) with the untagged
//! share, and the findings a team acts on: COST-001 an untagged share above
//! `untagged_max_percent`, COST-002 a month-over-month jump of one service, COST-003 Extended
//! Support already billed. The numbers come from [`crate::ce`] (the payer or each account,
//! counted and cached).

use std::collections::BTreeMap;
use std::sync::Arc;

use kirikae_aws::Estate;
use kirikae_config::Config;
use serde::Serialize;

use crate::cache::Monthly;
use crate::ce::{CeUsage, Grouping, Member, Requests, Source};
use crate::error::AuditError;
use crate::finding::{Finding, Part, Place};
use crate::month::Month;
use crate::progress::Progress;

/// Services whose usage types carry Extended Support charges (RDS and Aurora, EKS,
/// ElastiCache, OpenSearch).
pub const EXTENDED_SUPPORT_SERVICES: &[&str] = &[
    "Amazon Relational Database Service",
    "Amazon Elastic Kubernetes Service",
    "Amazon ElastiCache",
    "Amazon OpenSearch Service",
];

/// What `kirikae audit cost` reads and judges by.
#[derive(Debug, Clone)]
pub struct CostOptions {
    /// Closed months before the current one.
    pub months: usize,
    /// The current month (the last of the window, month to date).
    pub current: Month,
    pub tag: String,
    pub untagged_max_percent: f64,
    pub jump_min_usd: f64,
    pub jump_min_percent: f64,
}

/// One line of a table of amounts by month.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Series {
    /// A service, a tag value (`""`: untagged) or a usage type.
    pub name: String,
    /// USD per month of [`CostReport::months`].
    pub amounts: Vec<f64>,
}

impl Series {
    pub fn total(&self) -> f64 {
        self.amounts.iter().sum()
    }
}

/// One account's cost.
#[derive(Debug, Clone, Serialize)]
pub struct AccountCost {
    pub account: String,
    pub account_id: String,
    /// Who answered (`jump`, the payer's name, or the account itself).
    pub answered_by: String,
    /// By service, most expensive over the window first.
    pub services: Vec<Series>,
    /// By value of the cost tag; the untagged part has the name `""`.
    pub tag_values: Vec<Series>,
    /// Usage types containing `ExtendedSupport` that were billed.
    pub extended_support: Vec<Series>,
    pub totals: Vec<f64>,
}

impl AccountCost {
    /// The untagged share of `month_index`'s cost, in percent (None without cost).
    pub fn untagged_percent(&self, i: usize) -> Option<f64> {
        let total = self.totals.get(i).copied().unwrap_or(0.0);
        if total <= 0.0 {
            return None;
        }
        let untagged = self
            .tag_values
            .iter()
            .find(|s| s.name.is_empty())
            .map_or(0.0, |s| s.amounts[i]);
        Some(untagged / total * 100.0)
    }
}

/// The cost part of a run.
#[derive(Debug, Clone, Serialize)]
pub struct CostReport {
    /// Oldest first; the last is the current month (estimated: month to date).
    pub months: Vec<Month>,
    /// Per month: whether Cost Explorer still called it estimated.
    pub estimated: Vec<bool>,
    pub tag: String,
    pub accounts: Vec<AccountCost>,
}

/// Reads the three queries from `source` and builds its members' costs and findings.
pub async fn check(
    source: &Source,
    options: &CostOptions,
) -> Result<(Vec<AccountCost>, Vec<bool>, Vec<Finding>), AuditError> {
    let months = options.current.window(options.months + 1);
    let (services, estimated) = source.monthly(&Grouping::Service, &months).await?;
    let (tags, _) = source
        .monthly(&Grouping::Tag(options.tag.clone()), &months)
        .await?;
    let (usage, _) = source
        .monthly(&Grouping::UsageType(EXTENDED_SUPPORT_SERVICES), &months)
        .await?;
    let estimated: Vec<bool> = months.iter().map(|m| estimated.contains(m)).collect();
    let mut costs = Vec::new();
    let mut findings = Vec::new();
    for member in &source.members {
        let id = member.account_id.as_str();
        let tag_prefix = format!("{}$", options.tag);
        let cost = AccountCost {
            account: member.account.clone(),
            account_id: id.to_string(),
            answered_by: source.place.account.clone(),
            services: series(&services, &months, id, |k| Some(k.to_string())),
            tag_values: series(&tags, &months, id, |k| {
                Some(k.strip_prefix(&tag_prefix).unwrap_or(k).to_string())
            }),
            extended_support: series(&usage, &months, id, |k| {
                k.to_ascii_lowercase()
                    .contains("extendedsupport")
                    .then(|| k.to_string())
            }),
            totals: months
                .iter()
                .map(|m| {
                    services.get(m).map_or(0.0, |gs| {
                        gs.iter()
                            .filter(|g| g.keys.first().map(String::as_str) == Some(id))
                            .map(|g| g.amount)
                            .sum()
                    })
                })
                .collect(),
        };
        let place = Place {
            account: member.account.clone(),
            account_id: id.to_string(),
            protected: member.protected,
            region: "global".to_string(),
        };
        findings.extend(judge(&place, &cost, &months, options));
        costs.push(cost);
    }
    Ok((costs, estimated, findings))
}

/// What the Cost Explorer parts of a run produced (`cost`, and `tags`' TAG-004).
pub struct CostOutcome {
    pub findings: Vec<Finding>,
    pub errors: Vec<(Place, AuditError)>,
    /// Present when the `cost` part ran.
    pub report: Option<CostReport>,
    pub usage: CeUsage,
}

/// The progress units [`run`] will report: one per account answering Cost Explorer (the payer,
/// or each account of `places`), none when no Cost Explorer part runs.
pub fn units(config: &Config, places: &[Place], parts: &[Part]) -> usize {
    let want_cost = parts.contains(&Part::Cost);
    let want_tags = parts.contains(&Part::Tags) && !config.audit.required_tags.is_empty();
    if !want_cost && !want_tags {
        return 0;
    }
    if config.audit.cost_account.is_some() {
        return 1;
    }
    let mut accounts: Vec<&str> = places.iter().map(|p| p.account.as_str()).collect();
    accounts.sort();
    accounts.dedup();
    accounts.len()
}

/// Runs the Cost Explorer parts of `parts` for the accounts of `places`: `cost`, and TAG-004
/// with `tags` when `[audit] required_tags` is set. None when neither applies.
pub async fn run(
    estate: &Estate,
    config: &Config,
    places: &[Place],
    parts: &[Part],
    options: &CostOptions,
    progress: &dyn Progress,
) -> Option<CostOutcome> {
    let want_cost = parts.contains(&Part::Cost);
    let want_tags = parts.contains(&Part::Tags) && !config.audit.required_tags.is_empty();
    if !want_cost && !want_tags {
        return None;
    }
    let mut members: Vec<Member> = Vec::new();
    for p in places {
        if !members.iter().any(|m| m.account == p.account) {
            members.push(Member {
                account: p.account.clone(),
                account_id: p.account_id.clone(),
                protected: p.protected,
            });
        }
    }
    let requests = Arc::new(Requests::default());
    let mut outcome = CostOutcome {
        findings: Vec::new(),
        errors: Vec::new(),
        report: want_cost.then(|| CostReport {
            months: options.current.window(options.months + 1),
            estimated: Vec::new(),
            tag: options.tag.clone(),
            accounts: Vec::new(),
        }),
        usage: requests.usage(),
    };
    let sources = crate::ce::sources(estate, config, members, requests.clone()).await;
    for source in sources {
        let source = match source {
            Ok(s) => s,
            Err(e) => {
                progress.finished(&e.0, Part::Cost, false);
                outcome.errors.push(e);
                continue;
            }
        };
        progress.started(&source.place, Part::Cost);
        let failed_before = outcome.errors.len();
        if let Some(report) = outcome.report.as_mut() {
            match check(&source, options).await {
                Ok((costs, estimated, findings)) => {
                    report.accounts.extend(costs);
                    if report.estimated.is_empty() {
                        report.estimated = estimated;
                    }
                    outcome.findings.extend(findings);
                }
                Err(e) => outcome.errors.push((source.place.clone(), e)),
            }
        }
        if want_tags {
            match crate::cost_tags::check(&source, &config.audit.required_tags).await {
                Ok(findings) => outcome.findings.extend(findings),
                Err(e) => outcome.errors.push((source.place.clone(), e)),
            }
        }
        progress.finished(
            &source.place,
            Part::Cost,
            outcome.errors.len() == failed_before,
        );
    }
    if let Some(report) = outcome.report.as_mut() {
        if report.estimated.is_empty() {
            let current = options.current;
            report.estimated = report.months.iter().map(|m| *m == current).collect();
        }
        report.accounts.sort_by(|a, b| a.account.cmp(&b.account));
    }
    outcome.usage = requests.usage();
    Some(outcome)
}

/// The amounts of one account by second key and month, most expensive first; `name` maps a
/// key to the series' name (None drops it).
fn series(
    monthly: &Monthly,
    months: &[Month],
    account_id: &str,
    name: impl Fn(&str) -> Option<String>,
) -> Vec<Series> {
    let mut by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (i, m) in months.iter().enumerate() {
        for g in monthly.get(m).into_iter().flatten() {
            if g.keys.first().map(String::as_str) != Some(account_id) {
                continue;
            }
            let Some(n) = g.keys.get(1).and_then(|k| name(k)) else {
                continue;
            };
            by.entry(n).or_insert_with(|| vec![0.0; months.len()])[i] += g.amount;
        }
    }
    let mut out: Vec<Series> = by
        .into_iter()
        .map(|(name, amounts)| Series { name, amounts })
        .filter(|s| s.amounts.iter().any(|a| *a != 0.0))
        .collect();
    out.sort_by(|a, b| b.total().total_cmp(&a.total()).then(a.name.cmp(&b.name)));
    out
}

fn usd(a: f64) -> String {
    format!("USD {a:.2}")
}

/// The findings of one account's cost. Shares and jumps are judged on closed months only (the
/// month to date is a part of a month).
fn judge(place: &Place, cost: &AccountCost, months: &[Month], o: &CostOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    let n = months.len();
    let last = n.checked_sub(2); // the last closed month
    if let Some(i) = last {
        if let Some(share) = cost.untagged_percent(i) {
            if share > o.untagged_max_percent {
                let untagged = cost.totals[i] * share / 100.0;
                out.push(place.finding(
                    "COST-001",
                    format!("tag:{}", o.tag),
                    format!(
                        "{} of {} ({share:.0} %) in {} has no `{}` tag (limit {:.0} %)",
                        usd(untagged),
                        usd(cost.totals[i]),
                        months[i],
                        o.tag,
                        o.untagged_max_percent
                    ),
                    format!(
                        "Tag what runs in {} with `{}` (kirikae audit tags lists the resources), \
                         then activate the key as a cost-allocation tag in the payer account",
                        place.account, o.tag
                    ),
                ));
            }
        }
    }
    if let Some(i) = last.filter(|i| *i >= 1) {
        for s in &cost.services {
            let (before, after) = (s.amounts[i - 1], s.amounts[i]);
            let rise = after - before;
            let percent = if before > 0.0 {
                rise / before * 100.0
            } else {
                f64::INFINITY
            };
            if rise >= o.jump_min_usd && percent >= o.jump_min_percent {
                let pct = if percent.is_finite() {
                    format!("+{percent:.0} %")
                } else {
                    "new".to_string()
                };
                out.push(place.finding(
                    "COST-002",
                    s.name.clone(),
                    format!(
                        "{} in {} → {} in {} ({pct}; thresholds {} and {:.0} %)",
                        usd(before),
                        months[i - 1],
                        usd(after),
                        months[i],
                        usd(o.jump_min_usd),
                        o.jump_min_percent
                    ),
                    format!(
                        "Find what started in {} in {} (Cost Explorer: {}, daily, by usage type \
                         and resource): stop it, or tag and keep it",
                        months[i], place.account, s.name
                    ),
                ));
            }
        }
    }
    for s in &cost.extended_support {
        let billed: Vec<String> = s
            .amounts
            .iter()
            .zip(months)
            .filter(|(a, _)| **a > 0.0)
            .map(|(a, m)| {
                let so_far = if *m == o.current { " so far" } else { "" };
                format!("{}{so_far} in {m}", usd(*a))
            })
            .collect();
        if billed.is_empty() {
            continue;
        }
        out.push(
            place.finding(
                "COST-003",
                s.name.clone(),
                format!(
                    "Extended Support billed: {} ({} over the window)",
                    billed.join(", "),
                    usd(s.total())
                ),
                "Upgrade the engine or cluster behind this usage type to a version in standard \
             support (kirikae audit runtimes lists them): the surcharge stops with the upgrade"
                    .to_string(),
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Group;

    fn g(id: &str, key: &str, amount: f64) -> Group {
        Group {
            keys: vec![id.into(), key.into()],
            amount,
        }
    }

    #[test]
    fn jumps_shares_and_extended_support_judged_on_closed_months() {
        let months = "2026-12".parse::<Month>().unwrap().window(3);
        let mut services = Monthly::new();
        services.insert(
            months[0],
            vec![g("1", "EC2", 150.0), g("1", "S3", 40.0), g("2", "EC2", 9.0)],
        );
        services.insert(months[1], vec![g("1", "EC2", 530.0), g("1", "S3", 45.0)]);
        services.insert(months[2], vec![g("1", "EC2", 100.0)]);
        let mut tags = Monthly::new();
        tags.insert(
            months[1],
            vec![g("1", "env$dev", 160.0), g("1", "env$", 415.0)],
        );
        let mut usage = Monthly::new();
        usage.insert(
            months[2],
            vec![
                g("1", "APN1-ExtendedSupport:Yr1-Yr2:MySQL5.7", 58.4),
                g("1", "APN1-BoxUsage", 3.0),
            ],
        );
        let id = "1";
        let cost = AccountCost {
            account: "dev".into(),
            account_id: id.into(),
            answered_by: "jump".into(),
            services: series(&services, &months, id, |k| Some(k.into())),
            tag_values: series(&tags, &months, id, |k| {
                Some(k.strip_prefix("env$").unwrap().into())
            }),
            extended_support: series(&usage, &months, id, |k| {
                k.contains("ExtendedSupport").then(|| k.into())
            }),
            totals: vec![190.0, 575.0, 100.0],
        };
        assert_eq!(cost.services[0].name, "EC2");
        let o = CostOptions {
            months: 2,
            current: months[2],
            tag: "env".into(),
            untagged_max_percent: 10.0,
            jump_min_usd: 100.0,
            jump_min_percent: 50.0,
        };
        let place = Place {
            account: "dev".into(),
            account_id: id.into(),
            protected: false,
            region: "global".into(),
        };
        let found = judge(&place, &cost, &months, &o);
        let ids: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.check, f.resource.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("COST-001", "tag:env"),
                ("COST-002", "EC2"),
                ("COST-003", "APN1-ExtendedSupport:Yr1-Yr2:MySQL5.7")
            ],
            "S3's +5 USD is no jump, the current month's EC2 drop is not judged"
        );
        assert!(
            found[2].evidence.contains("USD 58.40 so far in 2026-12"),
            "{}",
            found[2].evidence
        );
        // Critical as listed, one step lower in an account that is not protected.
        assert_eq!(found[2].severity, crate::Severity::High);
    }
}
