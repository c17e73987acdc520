//! `kirikae sweep scan | mark | show | apply`: parse, call kirikae-sweep, render.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use kirikae_aws::{Estate, EstateOptions};
use kirikae_config::Config;
use kirikae_sweep::{
    scan, show, ApplyOptions, ApplyProgress, ApplyTally, CheckedPlan, Cx, DeleteOptions, ErrorKind,
    Plan, PlanAccount, PlanKey, ReviewOptions, Selectors, SweepError,
};

use super::load_config;
use crate::cli::{OutputFormat, Shared, SweepCommand};
use crate::progress::Bar;
use crate::render;
use crate::{Failure, Outcome};

pub async fn run(shared: &Shared, command: SweepCommand) -> Outcome {
    let config = Arc::new(load_config(shared)?);
    match command {
        SweepCommand::Scan {
            account,
            regions,
            tags,
            types,
            names,
            older_than,
            states,
            out,
            concurrency,
            cloud_control,
            cloud_control_data,
        } => {
            let selectors = Selectors::parse(&tags, &types, &names, older_than.as_deref(), &states)
                .map_err(bad)?;
            let cloud_control =
                scan::CloudControlScan::new(cloud_control, &cloud_control_data).map_err(bad)?;
            scan_cmd(
                shared,
                config,
                &account,
                regions,
                selectors,
                ScanRun {
                    out,
                    concurrency,
                    cloud_control,
                },
            )
            .await
        }
        SweepCommand::Mark { plan } => mark_cmd(shared, config, &plan).await,
        SweepCommand::Show { plan, out } => show_cmd(shared, &config, &plan, out),
        SweepCommand::Apply {
            plan,
            yes,
            confirm,
            disable_protection,
            skip_final_snapshot,
            recovery_window,
            force_delete_secrets,
            concurrency,
            confirm_timeout,
        } => {
            let (path, plan) = load_plan(&config, &plan)?;
            let opts = ApplyOptions {
                yes,
                delete: DeleteOptions {
                    disable_protection,
                    skip_final_snapshot,
                    recovery_window_days: Some(recovery_window),
                    force_delete_secrets,
                    client_token: None,
                },
                confirm,
                audit_log: audit_path(&path),
                confirm_timeout: Duration::from_secs(confirm_timeout),
                progress: None,
            };
            apply_cmd(shared, config, &path, plan, opts, concurrency).await
        }
    }
}

fn bad(e: SweepError) -> Failure {
    Failure::BadInput(anyhow!(e))
}

/// Bad input, a missing `--confirm` and a guard's refusal all stop before anything is deleted:
/// exit 2, as for bad arguments. A failure of the work itself: exit 1.
fn failed(e: SweepError) -> Failure {
    match e.kind() {
        ErrorKind::NeedsConfirm => Failure::NotConfirmed(anyhow!(e)),
        ErrorKind::BadInput | ErrorKind::Refused => Failure::BadInput(anyhow!(e)),
        ErrorKind::Failed => Failure::Failed(anyhow!(e)),
    }
}

fn state_dir(config: &Config) -> PathBuf {
    kirikae_aws::state::state_dir(config.state_dir.as_deref())
}

fn sweep_dir(config: &Config) -> PathBuf {
    state_dir(config).join("sweep")
}

/// A path to a plan file, or a plan id kept in the state directory.
fn load_plan(config: &Config, given: &str) -> Result<(PathBuf, Plan), Failure> {
    let as_path = PathBuf::from(given);
    let path = if as_path.exists() || given.contains('/') || given.ends_with(".json") {
        as_path
    } else {
        sweep_dir(config).join(format!("{given}.json"))
    };
    let plan = Plan::load(&path).map_err(bad)?;
    Ok((path, plan))
}

/// This installation's plan key, which must exist for a plan to be trusted.
fn plan_key(config: &Config) -> Result<PlanKey, Failure> {
    let dir = state_dir(config);
    PlanKey::load(&dir).map_err(failed)?.ok_or_else(|| {
        Failure::BadInput(anyhow!(
            "no plan key {}: it is made by `kirikae sweep scan`",
            PlanKey::path(&dir).display()
        ))
    })
}

/// `<plan>.audit.jsonl` next to the plan file.
fn audit_path(plan: &Path) -> PathBuf {
    let stem = plan.file_stem().and_then(|s| s.to_str()).unwrap_or("plan");
    plan.with_file_name(format!("{stem}.audit.jsonl"))
}

async fn contexts(
    shared: &Shared,
    config: Arc<Config>,
    account: &str,
    regions: &[String],
    concurrency: usize,
) -> Result<(PlanAccount, Vec<Arc<Cx>>), Failure> {
    let Some((_, settings)) = config.account(account) else {
        let known: Vec<&str> = config.accounts.keys().map(String::as_str).collect();
        return Err(Failure::BadInput(anyhow!(
            "no account {account:?} in {} (known: {})",
            config.path.display(),
            known.join(", ")
        )));
    };
    // By id, so that a second entry with the same id (and another protection) is refused.
    let plan_account =
        kirikae_sweep::guard::configured_account(&config, settings.id.as_str()).map_err(failed)?;
    let name = plan_account.name.clone();
    let regions: Vec<String> = if regions.is_empty() {
        vec![settings
            .region
            .clone()
            .unwrap_or_else(|| config.aws.region.clone())]
    } else {
        regions.to_vec()
    };
    let estate = Estate::connect(
        config.clone(),
        EstateOptions {
            mfa_code: shared.mfa_code.clone(),
        },
    )
    .await?;
    let sdk = estate.sdk_config(&name).await?;
    let cxs = Cx::connect(&sdk, &regions, concurrency)
        .await
        .map_err(failed)?;
    Ok((plan_account, cxs))
}

/// How `scan` runs besides what it selects.
struct ScanRun {
    out: Option<PathBuf>,
    concurrency: usize,
    /// `--cloud-control` (and `--cloud-control-data`): read unknown types through AWS Cloud
    /// Control.
    cloud_control: scan::CloudControlScan,
}

async fn scan_cmd(
    shared: &Shared,
    config: Arc<Config>,
    account: &str,
    regions: Vec<String>,
    selectors: Selectors,
    run: ScanRun,
) -> Outcome {
    let ScanRun {
        out,
        concurrency,
        cloud_control,
    } = run;
    // Made (or read) before any AWS call: a scan whose plan cannot be sealed is not started.
    let key = PlanKey::load_or_create(&state_dir(&config)).map_err(failed)?;
    let (plan_account, cxs) =
        contexts(shared, config.clone(), account, &regions, concurrency).await?;
    if cxs.first().is_some_and(|c| c.account_id != plan_account.id) {
        return Err(Failure::Failed(anyhow!(
            "account {} in kirikae.toml is {}, but its role acts in {}: fix [accounts.{}] id",
            plan_account.name,
            plan_account.id,
            cxs[0].account_id,
            plan_account.name
        )));
    }
    let started = std::time::Instant::now();
    let tag_key = config.sweep.tag.clone();
    let scanned = scan::find_with(&cxs, &selectors, &tag_key, &cloud_control)
        .await
        .map_err(failed)?;
    let mut plan = scan::build_plan(
        scan::ScanOptions {
            account: plan_account,
            regions: cxs.iter().map(|c| c.region.clone()).collect(),
            tag_key,
        },
        &selectors,
        scanned,
    );
    plan.seal(&key);
    let path = out.unwrap_or_else(|| sweep_dir(&config).join(format!("{}.json", plan.id)));
    plan.save(&path).map_err(failed)?;
    let calls: u64 = cxs.iter().map(|c| c.calls()).sum();
    if shared.output == OutputFormat::Json {
        render::print_json(&serde_json::json!({
            "plan": plan.id,
            "path": path,
            "items": plan.items.len(),
            "unknown": plan.unknown.len(),
            "calls": calls,
            "seconds": started.elapsed().as_secs_f64(),
        }))?;
    } else {
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        for i in &plan.items {
            *counts.entry(i.found.kind.as_str()).or_default() += 1;
        }
        println!(
            "Plan {}: {} candidates in {} ({}), {}",
            plan.id,
            plan.items.len(),
            plan.account.alias.as_deref().unwrap_or(&plan.account.name),
            plan.account.id,
            plan.regions.join(", ")
        );
        for (k, n) in counts {
            println!("  {k:<24} {n}");
        }
        if !plan.unknown.is_empty() {
            println!(
                "  and {} tagged resources of types kirikae does not know (listed, never deleted)",
                plan.unknown.len()
            );
        }
        println!("Written to {}", path.display());
        println!("Next: kirikae sweep mark {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

async fn mark_cmd(shared: &Shared, config: Arc<Config>, given: &str) -> Outcome {
    let (path, mut plan) = load_plan(&config, given)?;
    // A plan changed by hand is not marked (and so not re-sealed with the change in it).
    let name = CheckedPlan::new(&plan, &path, &config)
        .map_err(failed)?
        .account()
        .name
        .clone();
    let key = plan_key(&config)?;
    let (_, cxs) = contexts(shared, config, &name, &plan.regions.clone(), 8).await?;
    if cxs.first().is_some_and(|c| c.account_id != plan.account.id) {
        return Err(Failure::Failed(anyhow!(
            "the plan is for account {} but the credentials act in {}",
            plan.account.id,
            cxs[0].account_id
        )));
    }
    let report = kirikae_sweep::mark(&cxs, &mut plan).await.map_err(failed)?;
    plan.seal(&key);
    plan.save(&path).map_err(failed)?;
    if shared.output == OutputFormat::Json {
        render::print_json(&report)?;
    } else {
        println!(
            "Tagged {} items {} ({} through the Tagging API, {} through their own API)",
            report.tagging_api + report.type_api,
            report.tag,
            report.tagging_api,
            report.type_api
        );
        for (arn, why) in &report.cannot_tag {
            println!("  cannot carry a tag (stays in the plan untagged): {arn}: {why}");
        }
        for g in &report.groups {
            println!("Resource Group: {g}");
        }
        println!("Next: kirikae sweep show {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The review page's console links go through the switch-role link `kirikae accounts console`
/// prints, when kirikae.toml names the plan's account exactly once (else plain console links).
fn review_options(config: &Config, plan: &Plan) -> ReviewOptions {
    let mut entries = config
        .accounts
        .iter()
        .filter(|(_, a)| a.id.as_str() == plan.account.id);
    let switch_role = match (entries.next(), entries.next()) {
        (Some((name, settings)), None) => {
            let display = settings.alias.clone().unwrap_or_else(|| name.to_string());
            Some(kirikae_aws::console::switch_role_url(settings, &display))
        }
        _ => None,
    };
    ReviewOptions { switch_role }
}

fn show_cmd(shared: &Shared, config: &Config, given: &str, out: Option<PathBuf>) -> Outcome {
    let (_, plan) = load_plan(config, given)?;
    let now = scan::now_secs();
    let dir = state_dir(config);
    let key = PlanKey::load(&dir).map_err(failed)?;
    let integrity = plan.integrity(key.as_ref(), &PlanKey::path(&dir));
    let text = match shared.output {
        OutputFormat::Human => show::table(&plan, now, &integrity),
        OutputFormat::Json => {
            let mut t = serde_json::to_string_pretty(&plan)?;
            t.push('\n');
            t
        }
        OutputFormat::Csv => show::csv(&plan, now),
        OutputFormat::Html => show::html(&plan, now, &integrity, &review_options(config, &plan)),
    };
    match out {
        Some(path) => {
            std::fs::write(&path, text)
                .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
            eprintln!("Written to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

const APPLY_BAR: &str = "{spinner} deleting [{bar:30}] {pos}/{len} done, {msg} [{elapsed}]";

async fn apply_cmd(
    shared: &Shared,
    config: Arc<Config>,
    path: &Path,
    plan: Plan,
    mut opts: ApplyOptions,
    concurrency: usize,
) -> Outcome {
    // The digest and kirikae.toml first, and a missing --confirm, before credentials are asked
    // for; the live account is checked by apply itself.
    let checked = CheckedPlan::new(&plan, path, &config).map_err(failed)?;
    checked
        .check_confirm(opts.yes, opts.confirm.as_deref())
        .map_err(failed)?;
    let name = checked.account().name.clone();
    let (_, cxs) = contexts(shared, config, &name, &plan.regions, concurrency).await?;
    let started = std::time::Instant::now();
    // Progress of the deletion on stderr: items done / pending / failed.
    // (A dry run deletes nothing: no bar.)
    let bar = opts.yes.then(|| Arc::new(Bar::new(0, APPLY_BAR)));
    let plain = move |t: &ApplyTally| {
        format!(
            "sweep apply: {}/{} done, {} pending, {} failed ({} s)",
            t.done,
            t.total,
            t.pending,
            t.failed,
            started.elapsed().as_secs()
        )
    };
    // The last tally, for the final plain line (the periodic ones are at most one per 10 s).
    let last = Arc::new(std::sync::Mutex::new(None::<ApplyTally>));
    if let Some(bar) = bar.clone() {
        let last = last.clone();
        opts.progress = Some(ApplyProgress(Arc::new(move |t: ApplyTally| {
            let counts = format!("{} pending, {} failed", t.pending, t.failed);
            bar.update(t.done as u64, t.total as u64, &counts, || plain(&t));
            if let Ok(mut last) = last.lock() {
                *last = Some(t);
            }
        })));
    }
    let applied = kirikae_sweep::apply(&cxs, &checked, &opts).await;
    if let Some(bar) = bar {
        match last.lock().ok().and_then(|mut t| t.take()) {
            Some(t) => bar.finish_with(|| plain(&t)),
            None => bar.finish(),
        }
    }
    let report = applied.map_err(failed)?;
    if shared.output == OutputFormat::Json {
        let mut v = serde_json::to_value(&report)?;
        v["seconds"] = serde_json::json!(started.elapsed().as_secs_f64());
        render::print_json(&v)?;
    } else if report.dry_run {
        println!(
            "Dry run of plan {} in {}: nothing deleted.",
            report.plan, report.account
        );
        for (n, wave) in report.waves.iter().enumerate() {
            println!("  level {}: {} items: {}", n + 1, wave.len(), preview(wave));
        }
        print_lists(&report);
        println!(
            "To delete: kirikae sweep apply {} --yes{}",
            report.plan,
            if checked.account().protected {
                format!(" --confirm {}", checked.confirm_hint())
            } else {
                String::new()
            }
        );
    } else {
        print_lists(&report);
        println!(
            "Plan {} in {}: {} deleted, {} already gone, {} skipped, {} failed ({} AWS calls, {:.1}s). Audit log: {}",
            report.plan,
            report.account,
            report.deleted.len(),
            report.already_gone.len(),
            report.skipped.len(),
            report.failed.len(),
            report.calls,
            started.elapsed().as_secs_f64(),
            report.audit_log
        );
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn preview(items: &[String]) -> String {
    let mut s: Vec<String> = items.iter().take(6).cloned().collect();
    if items.len() > 6 {
        s.push(format!("... ({} more)", items.len() - 6));
    }
    s.join(", ")
}

fn print_lists(report: &kirikae_sweep::ApplyReport) {
    for (title, list) in [("Skipped", &report.skipped), ("Failed", &report.failed)] {
        if !list.is_empty() {
            println!("{title} ({}):", list.len());
            for r in list.iter() {
                println!("  {} {}: {}", r.kind, r.id, render::red(&r.reason));
            }
        }
    }
}
