//! The fan-out: every chosen account × region is one task, at most `concurrency` at a time; a
//! place that fails is reported with its error and the others go on.

use std::sync::Arc;

use kirikae_aws::Estate;
use kirikae_config::Config;
use serde::Serialize;

use crate::error::AuditError;
use crate::finding::{Finding, Part, Place};
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
}

/// Audits every place of `scope`, at most `options.concurrency` at a time.
pub async fn run(estate: Arc<Estate>, scope: Scope, options: AuditOptions) -> AuditReport {
    let config = Arc::new(estate.config().clone());
    let parts = Arc::new(options.parts);
    let runtimes = Arc::new(options.runtimes);
    let results = kirikae_aws::fanout::bounded(scope.places, options.concurrency, move |place| {
        let estate = estate.clone();
        let config = config.clone();
        let parts = parts.clone();
        let runtimes = runtimes.clone();
        async move {
            let result = audit_place(&estate, &config, &parts, &runtimes, &place).await;
            (place, result)
        }
    })
    .await;
    let mut report = AuditReport {
        findings: Vec::new(),
        zones: Vec::new(),
        errors: Vec::new(),
        quotas: Vec::new(),
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

async fn audit_place(
    estate: &Estate,
    config: &Config,
    parts: &[Part],
    runtimes: &crate::runtimes::Settings,
    place: &Place,
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
        let (f, z) = crate::az::check(&sdk, place).await?;
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
        findings.extend(crate::tags::check(&sdk, place, &expected).await?);
    }
    if parts.contains(&Part::Runtimes) {
        findings.extend(crate::runtimes::check(&sdk, place, runtimes).await?);
    }
    let mut quotas = None;
    if parts.contains(&Part::Quotas) {
        let needs = crate::quotas::needs(config, &place.account);
        let (f, q) = crate::quotas::check(&sdk, place, &needs).await?;
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
