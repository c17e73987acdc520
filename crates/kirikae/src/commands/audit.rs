//! `kirikae audit az | tags | runtimes | quotas | cost | all | report`: resolve the accounts and regions, call kirikae-audit,
//! render the findings as a table, JSON or CSV, and exit 1 at or above `--fail-on`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::anyhow;
use kirikae_audit::lifecycle::{Date, Lifecycle};
use kirikae_audit::{AuditOptions, AuditReport, Check, CostOptions, Month, Part, Scope, Severity};
use kirikae_aws::{Estate, EstateOptions};

use super::load_config;
use crate::cli::{AuditArgs, AuditCommand, FailOn, OutputFormat, RuntimesArgs, Shared};
use crate::render::{self, Table};
use crate::{Failure, Outcome};

pub async fn run(shared: &Shared, command: AuditCommand) -> Outcome {
    let mut runtimes = None;
    let all = vec![
        Part::Az,
        Part::Tags,
        Part::Runtimes,
        Part::Quotas,
        Part::Cost,
    ];
    let (parts, args, page) = match command {
        AuditCommand::Az(a) => (vec![Part::Az], a, None),
        AuditCommand::Tags(a) => (vec![Part::Tags], a, None),
        AuditCommand::Runtimes(r) => {
            runtimes = Some(runtime_settings(&r)?);
            (vec![Part::Runtimes], r.audit, None)
        }
        AuditCommand::Quotas(a) => (vec![Part::Quotas], a, None),
        AuditCommand::Cost(a) => (vec![Part::Cost], a, None),
        AuditCommand::All(r) => {
            runtimes = Some(runtime_settings(&r)?);
            (all, r.audit, None)
        }
        AuditCommand::Report(r) => {
            runtimes = Some(runtime_settings(&r.runtimes)?);
            (all, r.runtimes.audit, Some(r.out))
        }
    };
    let runtimes = runtimes.unwrap_or_default();
    if shared.output == OutputFormat::Html {
        return Err(Failure::BadInput(anyhow!(
            "--output html is not available for `kirikae audit`: use table, json or csv, or \
             `kirikae audit report --out report.html` for the page"
        )));
    }
    let config = Arc::new(load_config(shared)?);
    if parts.contains(&Part::Tags)
        && config.audit.required_tags.is_empty()
        && config.accounts.values().all(|a| a.tags.is_empty())
    {
        return Err(Failure::BadInput(anyhow!(
            "`kirikae audit tags` has nothing to check in {}: add [audit] required_tags = \
             [\"env\", \"owner\"] and/or [accounts.<name>] tags = {{ env = \"prod\" }}",
            config.path.display()
        )));
    }
    let scope = Scope::resolve(&config, &args.accounts, &args.regions)
        .map_err(|e| Failure::BadInput(anyhow!(e)))?;
    let scope_for_page = scope.clone();
    let estate = Arc::new(
        Estate::connect(
            config.clone(),
            EstateOptions {
                mfa_code: shared.mfa_code.clone(),
            },
        )
        .await?,
    );
    let progress = Arc::new(super::audit_progress::AuditProgress::new());
    let report = kirikae_audit::run_with_progress(
        estate,
        scope,
        AuditOptions {
            parts: parts.clone(),
            concurrency: usize::from(args.concurrency),
            runtimes: runtimes.clone(),
            cost: cost_options(&config, &args),
        },
        progress.clone(),
    )
    .await;
    progress.finish();
    let lifecycle = parts
        .contains(&Part::Runtimes)
        .then(|| lifecycle_note(&runtimes));
    if let Some(note) = &lifecycle {
        if let Some(days) = note.stale_days {
            eprintln!(
                "kirikae: warning: the lifecycle table ({}, {}) is {days} days older than {}: \
                 newer end-of-support dates may be missing; write a newer one with \
                 scripts/lifecycle/generate and pass it with --lifecycle FILE",
                note.origin, note.date, note.as_of
            );
        }
    }
    if let Some(page) = &page {
        let judged = lifecycle.as_ref().map(|n| {
            format!(
                "runtimes judged as of {} by the lifecycle table {} of {}",
                n.as_of, n.origin, n.date
            )
        });
        super::audit_report::write(page, &report, &scope_for_page, judged.as_deref())?;
    }
    let fail_on = severity(args.fail_on);
    let over = report
        .findings
        .iter()
        .filter(|f| f.severity.at_least(fail_on))
        .count();
    match shared.output {
        OutputFormat::Json => json(&report, fail_on, over, lifecycle.as_ref())?,
        OutputFormat::Csv => {
            csv(&report)?;
            if let Some(usage) = &report.cost_explorer {
                eprintln!("kirikae: {usage}");
            }
        }
        _ => human(&report, &parts, &args, fail_on, over, lifecycle.as_ref())?,
    }
    for e in &report.errors {
        eprintln!("kirikae: error: {} in {}: {}", e.account, e.region, e.error);
    }
    Ok(if over > 0 || !report.errors.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn cost_options(config: &kirikae_config::Config, args: &AuditArgs) -> CostOptions {
    CostOptions {
        months: usize::from(args.months),
        current: Month::of(std::time::SystemTime::now()),
        tag: config.audit.cost_tag.clone(),
        untagged_max_percent: config.audit.untagged_max_percent,
        jump_min_usd: config.audit.jump_min_usd,
        jump_min_percent: config.audit.jump_min_percent,
    }
}

fn severity(f: FailOn) -> Severity {
    match f {
        FailOn::Critical => Severity::Critical,
        FailOn::High => Severity::High,
        FailOn::Medium => Severity::Medium,
        FailOn::Low => Severity::Low,
        FailOn::Info => Severity::Info,
    }
}

fn counts(report: &AuditReport) -> BTreeMap<Severity, usize> {
    let mut counts = BTreeMap::new();
    for f in &report.findings {
        *counts.entry(f.severity).or_insert(0) += 1;
    }
    counts
}

/// The table and day `runtimes` judged by, for the output.
#[derive(serde::Serialize)]
struct LifecycleNote {
    origin: String,
    date: String,
    as_of: String,
    /// The table's age when it is older than 90 days.
    stale_days: Option<i64>,
}

fn lifecycle_note(settings: &kirikae_audit::runtimes::Settings) -> LifecycleNote {
    LifecycleNote {
        origin: settings.lifecycle.origin.clone(),
        date: settings.lifecycle.date.to_string(),
        as_of: settings.as_of.to_string(),
        stale_days: settings.lifecycle.stale(settings.as_of),
    }
}

/// `--as-of` and `--lifecycle`, checked before anything is audited.
fn runtime_settings(args: &RuntimesArgs) -> Result<kirikae_audit::runtimes::Settings, Failure> {
    let mut settings = kirikae_audit::runtimes::Settings::default();
    if let Some(day) = &args.as_of {
        settings.as_of = Date::parse(day).ok_or_else(|| {
            Failure::BadInput(anyhow!(
                "--as-of {day:?} is not a date: give it as YYYY-MM-DD, e.g. 2026-09-01"
            ))
        })?;
    }
    if let Some(path) = &args.lifecycle {
        settings.lifecycle =
            Arc::new(Lifecycle::read(path).map_err(|e| Failure::BadInput(anyhow!(e)))?);
    }
    Ok(settings)
}

fn json(
    report: &AuditReport,
    fail_on: Severity,
    over: usize,
    lifecycle: Option<&LifecycleNote>,
) -> anyhow::Result<()> {
    let counts: serde_json::Map<String, serde_json::Value> = counts(report)
        .into_iter()
        .map(|(s, n)| (s.name().to_string(), n.into()))
        .collect();
    render::print_json(&serde_json::json!({
        "findings": report.findings,
        "counts": counts,
        "fail_on": fail_on,
        "at_or_above_fail_on": over,
        "zones": report.zones.iter().map(|z| serde_json::json!({
            "account": z.account,
            "region": z.region,
            "zones": z.zones.iter().map(|(name, id)| serde_json::json!({"name": name, "id": id})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "errors": report.errors,
        "lifecycle": lifecycle,
        "quotas": report.quotas,
        "cost": report.cost,
        "cost_explorer": report.cost_explorer,
    }))
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(report: &AuditReport) -> anyhow::Result<()> {
    outln!("check,severity,account,account_id,region,resource,title,evidence,why,fix")?;
    for f in &report.findings {
        let row = [
            f.check,
            f.severity.name(),
            &f.account,
            &f.account_id,
            &f.region,
            &f.resource,
            f.title,
            &f.evidence,
            f.why,
            &f.fix,
        ];
        let row: Vec<String> = row.iter().map(|c| field(c)).collect();
        outln!("{}", row.join(","))?;
    }
    Ok(())
}

fn coloured(s: Severity) -> String {
    if s <= Severity::High {
        render::red(s.name())
    } else {
        s.name().to_string()
    }
}

fn human(
    report: &AuditReport,
    parts: &[Part],
    args: &AuditArgs,
    fail_on: Severity,
    over: usize,
    lifecycle: Option<&LifecycleNote>,
) -> anyhow::Result<()> {
    for part in parts {
        let findings: Vec<_> = report
            .findings
            .iter()
            .filter(|f| Check::get(f.check).part == *part)
            .collect();
        let name = match part {
            Part::Az => "Availability Zones",
            Part::Tags => "Tags",
            Part::Runtimes => "Runtimes",
            Part::Quotas => "Service Quotas",
            Part::Cost => "Cost",
        };
        outln!("{name}: {} findings", findings.len())?;
        if !findings.is_empty() {
            let mut t = Table::new(&[
                "SEVERITY", "CHECK", "ACCOUNT", "REGION", "RESOURCE", "EVIDENCE", "FIX",
            ]);
            for f in &findings {
                t.row(vec![
                    coloured(f.severity),
                    f.check.to_string(),
                    f.account.clone(),
                    f.region.clone(),
                    f.resource.clone(),
                    f.evidence.clone(),
                    f.fix.clone(),
                ]);
            }
            out!("{}", t.render())?;
            let mut seen: Vec<&str> = findings.iter().map(|f| f.check).collect();
            seen.sort();
            seen.dedup();
            for id in seen {
                let c = Check::get(id);
                outln!("  {id} {}: {}", c.title, c.why)?;
            }
        }
        outln!()?;
        if *part == Part::Az {
            zones(report)?;
        }
        if *part == Part::Quotas {
            quotas(report)?;
        }
        if let (Part::Runtimes, Some(note)) = (part, lifecycle) {
            outln!(
                "Judged as of {} by the lifecycle table {} of {}{}",
                note.as_of,
                note.origin,
                note.date,
                note.stale_days.map_or(String::new(), |d| format!(
                    " ({d} days older: see the warning)"
                ))
            )?;
            outln!()?;
        }
        if let (Part::Cost, Some(cost)) = (part, &report.cost) {
            super::audit_cost::tables(cost)?;
        }
    }
    if let Some(usage) = &report.cost_explorer {
        outln!("{usage}")?;
    }
    let counts = counts(report);
    let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let accounts: std::collections::BTreeSet<&str> =
        report.findings.iter().map(|f| f.account.as_str()).collect();
    outln!(
        "{} findings{}{}; {over} at or above --fail-on {fail_on}{}",
        report.findings.len(),
        if summary.is_empty() {
            String::new()
        } else {
            format!(" ({})", summary.join(", "))
        },
        if accounts.is_empty() {
            String::new()
        } else {
            format!(
                " in {}",
                accounts.into_iter().collect::<Vec<_>>().join(", ")
            )
        },
        if args.accounts.is_empty() {
            ""
        } else {
            " (only the accounts given with --account)"
        }
    )?;
    Ok(())
}

/// The AZ name to id mapping of every account side by side, per region: the same name is not
/// the same AZ in two accounts.
fn zones(report: &AuditReport) -> anyhow::Result<()> {
    let mut regions: BTreeMap<&str, Vec<&kirikae_audit::ZoneMap>> = BTreeMap::new();
    for z in &report.zones {
        regions.entry(z.region.as_str()).or_default().push(z);
    }
    for (region, maps) in regions {
        outln!("AZ ids in {region} (an AZ name is another AZ in another account):")?;
        let mut header = vec!["AZ NAME"];
        header.extend(maps.iter().map(|m| m.account.as_str()));
        let mut t = Table::new(&header);
        let mut names: Vec<&str> = maps
            .iter()
            .flat_map(|m| m.zones.iter().map(|(n, _)| n.as_str()))
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            let mut row = vec![name.to_string()];
            for m in &maps {
                row.push(
                    m.zones
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or("-".to_string(), |(_, id)| id.clone()),
                );
            }
            t.row(row);
        }
        out!("{}", t.render())?;
        outln!()?;
    }
    Ok(())
}

/// Service Quotas of every account side by side, per region: the quotas changed in an account
/// or whose usage is known (the other defaults are the same everywhere).
fn quotas(report: &AuditReport) -> anyhow::Result<()> {
    let mut regions: BTreeMap<&str, Vec<&kirikae_audit::quotas::PlaceQuotas>> = BTreeMap::new();
    for q in &report.quotas {
        regions.entry(q.region.as_str()).or_default().push(q);
    }
    for (region, places) in regions {
        outln!("Service Quotas in {region} (usage/value; applied where changed):")?;
        let mut header = vec!["SERVICE", "QUOTA"];
        header.extend(places.iter().map(|p| p.account.as_str()));
        let mut t = Table::new(&header);
        let mut rows: Vec<(&str, &str, &str)> = places
            .iter()
            .flat_map(|p| p.quotas.iter())
            .filter(|q| q.applied.is_some() || q.usage.is_some())
            .map(|q| (q.service.as_str(), q.code.as_str(), q.name.as_str()))
            .collect();
        rows.sort();
        rows.dedup();
        for (service, code, name) in rows {
            let mut row = vec![service.to_string(), name.to_string()];
            for p in &places {
                let cell = p.quotas.iter().find(|q| q.code == code).map_or_else(
                    || "-".to_string(),
                    |q| {
                        let value = q.value().map_or("?".to_string(), |v| format!("{v}"));
                        let usage = q.usage.map_or("?".to_string(), |u| format!("{u}"));
                        let applied = if q.applied.is_some() { " applied" } else { "" };
                        let share = q
                            .utilization()
                            .map_or(String::new(), |s| format!(" {:.0} %", s * 100.0));
                        format!("{usage}/{value}{applied}{share}")
                    },
                );
                row.push(cell);
            }
            t.row(row);
        }
        out!("{}", t.render())?;
        outln!()?;
    }
    Ok(())
}
