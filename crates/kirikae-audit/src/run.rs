//! The fan-out: every chosen account × region is one task, at most `concurrency` at a time; a
//! place that fails is reported with its error and the others go on.

use std::sync::Arc;

use kirikae_aws::Estate;
use kirikae_config::Config;
use serde::Serialize;

use crate::ce::CeUsage;
use crate::cost::{CostOptions, CostReport};
use crate::error::AuditError;
use crate::finding::{Finding, Part, Place};
use crate::progress::{Progress, Silent};
use crate::tags::Expected;

/// Which accounts and regions to audit, resolved from kirikae.toml.
#[derive(Debug, Clone)]
pub struct Scope {
    pub places: Vec<Place>,
}

/// `--account` or `--region` that kirikae.toml does not know.
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("no account {given:?} in kirikae.toml (known: {known})")]
    UnknownAccount { given: String, known: String },
    #[error("no accounts in kirikae.toml: add an [accounts.<name>] section")]
    NoAccounts,
    #[error("{0:?} is not a region name such as \"ap-northeast-1\"")]
    BadRegion(String),
}

impl Scope {
    /// The accounts named by `accounts` (names, aliases or ids; all when empty), each in
    /// `regions` (else its own region, else `[aws] region`).
    pub fn resolve(
        config: &Config,
        accounts: &[String],
        regions: &[String],
    ) -> Result<Scope, ScopeError> {
        if config.accounts.is_empty() {
            return Err(ScopeError::NoAccounts);
        }
        for r in regions {
            let ok = r.split('-').count() >= 3
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(ScopeError::BadRegion(r.clone()));
            }
        }
        let mut names: Vec<&str> = Vec::new();
        if accounts.is_empty() {
            names.extend(config.accounts.keys().map(String::as_str));
        } else {
            for given in accounts {
                let Some((name, _)) = config.account(given) else {
                    let known: Vec<&str> = config.accounts.keys().map(String::as_str).collect();
                    return Err(ScopeError::UnknownAccount {
                        given: given.clone(),
                        known: known.join(", "),
                    });
                };
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let mut places = Vec::new();
        for name in names {
            let settings = &config.accounts[name];
            let own = vec![settings
                .region
                .clone()
                .unwrap_or_else(|| config.aws.region.clone())];
            for region in if regions.is_empty() { &own } else { regions } {
                places.push(Place {
                    account: name.to_string(),
                    account_id: settings.id.as_str().to_string(),
                    protected: settings.protected,
                    region: region.clone(),
                });
            }
        }
        Ok(Scope { places })
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub parts: Vec<Part>,
    /// Account × region pairs audited at once.
    pub concurrency: usize,
    /// The lifecycle table and day the runtimes part judges by.
    pub runtimes: crate::runtimes::Settings,
    /// The `cost` part's window and thresholds.
    pub cost: CostOptions,
}

/// The AZ names of one account in one region with their ids (`az` part).
#[derive(Debug, Clone, Serialize)]
pub struct ZoneMap {
    pub account: String,
    pub region: String,
    /// (name, id), by name.
    pub zones: Vec<(String, String)>,
}

/// A place that could not be audited.
#[derive(Debug, Clone, Serialize)]
pub struct PlaceError {
    pub account: String,
    pub region: String,
    /// The error with its causes.
    pub error: String,
}

/// Everything one `kirikae audit` found.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// By account, region, check id and resource.
    pub findings: Vec<Finding>,
    pub zones: Vec<ZoneMap>,
    pub errors: Vec<PlaceError>,
    /// The merged Service Quotas of every place (`quotas` part), by account and region.
    pub quotas: Vec<crate::quotas::PlaceQuotas>,
    /// The `cost` part's table (None when it did not run).
    pub cost: Option<CostReport>,
    /// The Cost Explorer requests made (None when none was needed).
    pub cost_explorer: Option<CeUsage>,
}

/// Audits every place of `scope`, at most `options.concurrency` at a time.
pub async fn run(estate: Arc<Estate>, scope: Scope, options: AuditOptions) -> AuditReport {
    run_with_progress(estate, scope, options, Arc::new(Silent)).await
}

/// [`run`], telling `progress` every part started and finished in every place.
pub async fn run_with_progress(
    estate: Arc<Estate>,
    scope: Scope,
    options: AuditOptions,
    progress: Arc<dyn Progress>,
) -> AuditReport {
    let config = Arc::new(estate.config().clone());
    let place_parts = options.parts.iter().filter(|p| **p != Part::Cost).count();
    progress.planned(
        scope.places.len() * place_parts
            + crate::cost::units(&config, &scope.places, &options.parts),
    );
    let parts = Arc::new(options.parts);
    let places = scope.places.clone();
    let fanout_estate = estate.clone();
    let fanout_parts = parts.clone();
    let fanout_config = config.clone();
    let fanout_progress = progress.clone();
    let runtimes = Arc::new(options.runtimes);
    let results = kirikae_aws::fanout::bounded(scope.places, options.concurrency, move |place| {
        let estate = fanout_estate.clone();
        let config = fanout_config.clone();
        let parts = fanout_parts.clone();
        let progress = fanout_progress.clone();
        let runtimes = runtimes.clone();
        async move {
            let result = audit_place(&estate, &config, &parts, &runtimes, &place, &*progress).await;
            (place, result)
        }
    })
    .await;
    let mut report = AuditReport {
        findings: Vec::new(),
        zones: Vec::new(),
        errors: Vec::new(),
        quotas: Vec::new(),
        cost: None,
        cost_explorer: None,
    };
    let mut quotas = Vec::new();
    for (place, result) in results {
        match result {
            Ok((findings, zones, place_quotas)) => {
                if let Some(q) = place_quotas {
                    quotas.push((place.clone(), q));
                }
                report.findings.extend(findings);
                if let Some(zones) = zones {
                    report.zones.push(ZoneMap {
                        account: place.account.clone(),
                        region: place.region.clone(),
                        zones,
                    });
                }
            }
            Err(e) => report.errors.push(PlaceError {
                account: place.account.clone(),
                region: place.region.clone(),
                error: chain(&e),
            }),
        }
    }
    // Quotas compared across the accounts audited in the same region.
    report.findings.extend(crate::quotas::compare(&quotas));
    report.quotas = quotas
        .into_iter()
        .map(|(place, quotas)| crate::quotas::PlaceQuotas {
            account: place.account,
            region: place.region,
            quotas,
        })
        .collect();
    report
        .quotas
        .sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
    if let Some(cost) =
        crate::cost::run(&estate, &config, &places, &parts, &options.cost, &*progress).await
    {
        report.findings.extend(cost.findings);
        report
            .errors
            .extend(cost.errors.into_iter().map(|(place, e)| PlaceError {
                account: place.account,
                region: place.region,
                error: chain(&e),
            }));
        report.cost = cost.report;
        report.cost_explorer = Some(cost.usage);
    }
    report.findings.sort_by(|a, b| {
        (&a.account, &a.region, a.check, &a.resource).cmp(&(
            &b.account,
            &b.region,
            b.check,
            &b.resource,
        ))
    });
    report
}

type PlaceResult = Result<
    (
        Vec<Finding>,
        Option<Vec<(String, String)>>,
        Option<Vec<crate::quotas::Quota>>,
    ),
    AuditError,
>;

/// One place's parts, each told to `progress`; after a failure the parts not run are told
/// as failed too.
async fn audit_place(
    estate: &Estate,
    config: &Config,
    parts: &[Part],
    runtimes: &crate::runtimes::Settings,
    place: &Place,
    progress: &dyn Progress,
) -> PlaceResult {
    let mine: Vec<Part> = parts.iter().copied().filter(|p| *p != Part::Cost).collect();
    let told = std::sync::Mutex::new(Vec::new());
    let tell = |part: Part, ok: bool| {
        progress.finished(place, part, ok);
        if let Ok(mut t) = told.lock() {
            t.push(part);
        }
    };
    let result = audit_parts(estate, config, parts, runtimes, place, progress, &tell).await;
    let done = told.lock().map(|t| t.clone()).unwrap_or_default();
    for part in mine.into_iter().filter(|p| !done.contains(p)) {
        progress.finished(place, part, false);
    }
    result
}

async fn audit_parts(
    estate: &Estate,
    config: &Config,
    parts: &[Part],
    runtimes: &crate::runtimes::Settings,
    place: &Place,
    progress: &dyn Progress,
    tell: &(dyn Fn(Part, bool) + Sync),
) -> PlaceResult {
    // Switch role first: an account that cannot be reached says so, rather than as the failure
    // of whichever call came first. The session is cached for the account's other regions.
    estate
        .role(&place.account)
        .await
        .map_err(AuditError::Session)?
        .credentials()
        .await
        .map_err(AuditError::Session)?;
    let sdk = estate
        .sdk_config(&place.account)
        .await
        .map_err(AuditError::Session)?
        .into_builder()
        .region(aws_types::region::Region::new(place.region.clone()))
        .build();
    let mut findings = Vec::new();
    let mut zones = None;
    if parts.contains(&Part::Az) {
        progress.started(place, Part::Az);
        let (f, z) = crate::az::check(&sdk, place).await?;
        tell(Part::Az, true);
        findings.extend(f);
        zones = Some(z);
    }
    if parts.contains(&Part::Tags) {
        let expected = Expected {
            required: config.audit.required_tags.clone(),
            values: config
                .accounts
                .get(&place.account)
                .map(|a| a.tags.clone())
                .unwrap_or_default(),
        };
        progress.started(place, Part::Tags);
        findings.extend(crate::tags::check(&sdk, place, &expected).await?);
        tell(Part::Tags, true);
    }
    if parts.contains(&Part::Runtimes) {
        progress.started(place, Part::Runtimes);
        findings.extend(crate::runtimes::check(&sdk, place, runtimes).await?);
        tell(Part::Runtimes, true);
    }
    let mut quotas = None;
    if parts.contains(&Part::Quotas) {
        progress.started(place, Part::Quotas);
        let needs = crate::quotas::needs(config, &place.account);
        let (f, q) = crate::quotas::check(&sdk, place, &needs).await?;
        tell(Part::Quotas, true);
        findings.extend(f);
        quotas = Some(q);
    }
    Ok((findings, zones, quotas))
}

/// `error: cause: cause`, as the command line prints errors.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        let text = c.to_string();
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = c.source();
    }
    s
}
