//! `kirikae audit az | tags | all`: resolve the accounts and regions, call kirikae-audit,
//! render the findings as a table, JSON or CSV, and exit 1 at or above `--fail-on`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::anyhow;
use kirikae_audit::{AuditOptions, AuditReport, Check, CostOptions, Month, Part, Scope, Severity};
use kirikae_aws::{Estate, EstateOptions};

use super::load_config;
use crate::cli::{AuditArgs, AuditCommand, FailOn, OutputFormat, Shared};
use crate::render::{self, Table};
use crate::{Failure, Outcome};

pub async fn run(shared: &Shared, command: AuditCommand) -> Outcome {
    let all = vec![Part::Az, Part::Tags, Part::Cost];
    let (parts, args, page) = match command {
        AuditCommand::Az(a) => (vec![Part::Az], a, None),
        AuditCommand::Tags(a) => (vec![Part::Tags], a, None),
        AuditCommand::Cost(a) => (vec![Part::Cost], a, None),
        AuditCommand::All(a) => (all, a, None),
        AuditCommand::Report(r) => (all, r.audit, Some(r.out)),
    };
    if shared.output == OutputFormat::Html {
        return Err(Failure::BadInput(anyhow!(
            "--output html is not available for `kirikae audit` yet: use table, json or csv"
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
            cost: cost_options(&config, &args),
        },
        progress.clone(),
    )
    .await;
    progress.finish();
    if let Some(page) = &page {
        super::audit_report::write(page, &report, &scope_for_page)?;
    }
    let fail_on = severity(args.fail_on);
    let over = report
        .findings
        .iter()
        .filter(|f| f.severity.at_least(fail_on))
        .count();
    match shared.output {
        OutputFormat::Json => json(&report, fail_on, over)?,
        OutputFormat::Csv => {
            csv(&report)?;
            if let Some(usage) = &report.cost_explorer {
                eprintln!("kirikae: {usage}");
            }
        }
        _ => human(&report, &parts, &args, fail_on, over)?,
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

fn json(report: &AuditReport, fail_on: Severity, over: usize) -> anyhow::Result<()> {
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
