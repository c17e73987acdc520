//! Cost Explorer, asked through one narrow door: who answers (the payer, or each account for
//! itself), every request counted (AWS bills each page), closed months from the cache.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition,
    GroupDefinitionType,
};
use aws_types::SdkConfig;
use kirikae_aws::Estate;
use kirikae_config::Config;
use serde::Serialize;

use crate::cache::{CostCache, Group, Monthly};
use crate::error::AuditError;
use crate::finding::Place;
use crate::month::Month;

/// What AWS charges per Cost Explorer request (each page is one), in USD.
pub const USD_PER_REQUEST: f64 = 0.01;
/// The metric every query reads: what was billed, before credits and discounts are spread.
const METRIC: &str = "UnblendedCost";
/// Cost Explorer's endpoint is in us-east-1 whatever the estate's region.
const CE_REGION: &str = "us-east-1";

/// The Cost Explorer requests of one run.
#[derive(Debug, Default)]
pub struct Requests {
    get_cost_and_usage: AtomicU32,
    list_cost_allocation_tags: AtomicU32,
    months_from_cache: AtomicU32,
}

/// The Cost Explorer requests one run made, and what the cache saved.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CeUsage {
    /// Every billed request (each page of an answer is one).
    pub requests: u32,
    pub get_cost_and_usage: u32,
    pub list_cost_allocation_tags: u32,
    /// Closed months read from the cache instead of asked (per query and payer).
    pub months_from_cache: u32,
    /// What the requests cost, at USD 0.01 each.
    pub usd: f64,
}

impl Requests {
    pub fn usage(&self) -> CeUsage {
        let g = self.get_cost_and_usage.load(Ordering::Relaxed);
        let l = self.list_cost_allocation_tags.load(Ordering::Relaxed);
        CeUsage {
            requests: g + l,
            get_cost_and_usage: g,
            list_cost_allocation_tags: l,
            months_from_cache: self.months_from_cache.load(Ordering::Relaxed),
            usd: f64::from(g + l) * USD_PER_REQUEST,
        }
    }
}

impl std::fmt::Display for CeUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Cost Explorer requests: {} ({:.2} USD)",
            self.requests, self.usd
        )?;
        if self.months_from_cache > 0 {
            write!(
                f,
                "; {} closed months from the cache",
                self.months_from_cache
            )?;
        }
        Ok(())
    }
}

/// An account whose cost a source answers for.
#[derive(Debug, Clone)]
pub struct Member {
    pub account: String,
    pub account_id: String,
    pub protected: bool,
}

/// Who answers Cost Explorer, for which accounts.
pub struct Source {
    /// The answering account (`jump`, or an account's name), its findings' place.
    pub place: Place,
    pub members: Vec<Member>,
    client: aws_sdk_costexplorer::Client,
    requests: Arc<Requests>,
    cache: CostCache,
}

/// The second grouping of a query (the first is always the linked account).
#[derive(Debug, Clone)]
pub enum Grouping {
    Service,
    Tag(String),
    /// Usage types of these services only.
    UsageType(&'static [&'static str]),
}

impl Grouping {
    /// The query's identity in the cache.
    fn key(&self) -> String {
        let second = match self {
            Grouping::Service => "SERVICE".to_string(),
            Grouping::Tag(k) => format!("TAG {k}"),
            Grouping::UsageType(services) => format!("USAGE_TYPE of {}", services.join("|")),
        };
        format!("v1 MONTHLY {METRIC} LINKED_ACCOUNT, {second}")
    }
}

/// The sources of a run: `[audit] cost_account` (the jump account or a named account answering
/// for all of `members`), else every member for itself.
pub async fn sources(
    estate: &Estate,
    config: &Config,
    members: Vec<Member>,
    requests: Arc<Requests>,
) -> Vec<Result<Source, (Place, AuditError)>> {
    let cache = CostCache::new(&kirikae_aws::state::state_dir(config.state_dir.as_deref()));
    let source = |place: Place, members: Vec<Member>, sdk: SdkConfig| Source {
        place,
        members,
        client: aws_sdk_costexplorer::Client::from_conf(
            aws_sdk_costexplorer::config::Builder::from(&sdk)
                .region(aws_types::region::Region::new(CE_REGION))
                .build(),
        ),
        requests: requests.clone(),
        cache: cache.clone(),
    };
    let global = |account: &str, account_id: &str, protected: bool| Place {
        account: account.to_string(),
        account_id: account_id.to_string(),
        protected,
        region: "global".to_string(),
    };
    match config.audit.cost_account.as_deref() {
        Some("jump") => {
            let place = global("jump", "", true);
            vec![match estate.jump_sdk_config().await {
                Ok((id, sdk)) => Ok(source(global("jump", &id, true), members, sdk)),
                Err(e) => Err((place, AuditError::Session(e))),
            }]
        }
        Some(name) => {
            let Some((name, settings)) = config.account(name) else {
                return Vec::new(); // the config's validation names the unknown account
            };
            // The payer's own findings (its tags) are as listed: it decides for every account.
            let place = global(name, settings.id.as_str(), true);
            vec![match estate.sdk_config(name).await {
                Ok(sdk) => Ok(source(place, members, sdk)),
                Err(e) => Err((place, AuditError::Session(e))),
            }]
        }
        None => {
            let mut out = Vec::new();
            for m in members {
                let place = global(&m.account, &m.account_id, m.protected);
                out.push(match estate.sdk_config(&m.account).await {
                    Ok(sdk) => Ok(source(place, vec![m], sdk)),
                    Err(e) => Err((place, AuditError::Session(e))),
                });
            }
            out
        }
    }
}

impl Source {
    /// The answer of `grouping` for `months`, by month, and the months Cost Explorer still
    /// called estimated: closed months from the cache, the rest asked in as few requests as the
    /// gaps allow (one per run of missing months, plus pages).
    pub async fn monthly(
        &self,
        grouping: &Grouping,
        months: &[Month],
    ) -> Result<(Monthly, BTreeSet<Month>), AuditError> {
        let key = grouping.key();
        let cached = self.cache.load(&self.place.account_id, &key);
        let mut out = Monthly::new();
        let mut runs: Vec<Vec<Month>> = Vec::new();
        let mut gap = false;
        for m in months {
            if let Some(groups) = cached.get(m) {
                out.insert(*m, groups.clone());
                self.requests
                    .months_from_cache
                    .fetch_add(1, Ordering::Relaxed);
                gap = false;
            } else {
                if !gap {
                    runs.push(Vec::new());
                }
                if let Some(run) = runs.last_mut() {
                    run.push(*m);
                }
                gap = true;
            }
        }
        let mut closed = Monthly::new();
        let mut estimated_months = BTreeSet::new();
        for run in runs {
            let (Some(first), Some(last)) = (run.first(), run.last()) else {
                continue;
            };
            for (month, estimated, groups) in self.ask(grouping, *first, last.next()).await? {
                if estimated {
                    estimated_months.insert(month);
                } else {
                    closed.insert(month, groups.clone());
                }
                out.entry(month).or_default().extend(groups);
            }
        }
        if !closed.is_empty() {
            // A cache that cannot be written costs requests next time, never a wrong answer.
            if let Err(e) = self.cache.store(&self.place.account_id, &key, &closed) {
                tracing::warn!("the Cost Explorer cache could not be written: {e}");
            }
        }
        Ok((out, estimated_months))
    }

    /// One GetCostAndUsage over [start, end), every page: (month, estimated, groups).
    async fn ask(
        &self,
        grouping: &Grouping,
        start: Month,
        end: Month,
    ) -> Result<Vec<(Month, bool, Vec<Group>)>, AuditError> {
        let period = DateInterval::builder()
            .start(start.first_day())
            .end(end.first_day())
            .build()
            .map_err(AuditError::aws("GetCostAndUsage"))?;
        let by = |kind: GroupDefinitionType, key: &str| {
            GroupDefinition::builder().r#type(kind).key(key).build()
        };
        let mut request = self
            .client
            .get_cost_and_usage()
            .time_period(period)
            .granularity(Granularity::Monthly)
            .metrics(METRIC)
            .group_by(by(GroupDefinitionType::Dimension, "LINKED_ACCOUNT"));
        request = match grouping {
            Grouping::Service => request.group_by(by(GroupDefinitionType::Dimension, "SERVICE")),
            Grouping::Tag(k) => request.group_by(by(GroupDefinitionType::Tag, k)),
            Grouping::UsageType(services) => request
                .group_by(by(GroupDefinitionType::Dimension, "USAGE_TYPE"))
                .filter(
                    Expression::builder()
                        .dimensions(
                            DimensionValues::builder()
                                .key(Dimension::Service)
                                .set_values(Some(services.iter().map(|s| s.to_string()).collect()))
                                .build(),
                        )
                        .build(),
                ),
        };
        let mut out: Vec<(Month, bool, Vec<Group>)> = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.requests
                .get_cost_and_usage
                .fetch_add(1, Ordering::Relaxed);
            let page = request
                .clone()
                .set_next_page_token(token.take())
                .send()
                .await
                .map_err(AuditError::aws("GetCostAndUsage"))?;
            for r in page.results_by_time() {
                let Some(month) = r
                    .time_period()
                    .and_then(|p| p.start().parse::<Month>().ok())
                else {
                    continue;
                };
                let groups = r.groups().iter().map(|g| Group {
                    keys: g.keys().to_vec(),
                    amount: g
                        .metrics()
                        .and_then(|m| m.get(METRIC))
                        .and_then(|v| v.amount())
                        .and_then(|a| a.parse().ok())
                        .unwrap_or(0.0),
                });
                match out.iter_mut().find(|(m, _, _)| *m == month) {
                    Some(entry) => entry.2.extend(groups),
                    None => out.push((month, r.estimated(), groups.collect())),
                }
            }
            match page.next_page_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Cost-allocation tags by key: whether each is active (every page counted).
    pub async fn cost_allocation_tags(
        &self,
        keys: &[String],
    ) -> Result<Vec<(String, bool)>, AuditError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.requests
                .list_cost_allocation_tags
                .fetch_add(1, Ordering::Relaxed);
            let page = self
                .client
                .list_cost_allocation_tags()
                .set_tag_keys(Some(keys.to_vec()))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(AuditError::aws("ListCostAllocationTags"))?;
            for t in page.cost_allocation_tags() {
                out.push((
                    t.tag_key().to_string(),
                    t.status().as_str().eq_ignore_ascii_case("Active"),
                ));
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }
}
