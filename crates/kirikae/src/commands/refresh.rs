//! `kirikae refresh plan | run | resume | status | list`: parse, call kirikae-refresh, render.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use kirikae_aws::{Estate, EstateOptions};
use kirikae_refresh::notify::Notify;
use kirikae_refresh::{Refresh, RefreshError, RunOptions, RunOutcome, RunState};

use super::load_config;
use crate::cli::{OutputFormat, RefreshCommand, Shared};
use crate::progress::{self, eprint_line, Bar};
use crate::render::{self, Table};
use crate::{Failure, Outcome};

/// Progress on stderr (stdout is the result, human or JSON): the run's lines, and on a terminal a
/// bar per wait (what it waits for, its state, elapsed against the budget). Off a terminal the
/// run's own lines (every 10 s of a wait) are the progress.
#[derive(Default)]
struct Stderr {
    waits: Mutex<BTreeMap<String, Bar>>,
}

const WAIT_BAR: &str = "{spinner} {msg} [{bar:20}] {elapsed} of {len}s budget";

impl kirikae_refresh::Reporter for Stderr {
    fn line(&self, text: &str) {
        eprint_line(text);
    }

    fn wait(&self, wait: &kirikae_refresh::Wait<'_>) {
        if !progress::terminal() {
            return;
        }
        let Ok(mut waits) = self.waits.lock() else {
            return;
        };
        let key = format!("{}: {}", wait.step, wait.what);
        match wait.state {
            Some(state) => {
                let budget = wait.budget.as_secs();
                waits
                    .entry(key.clone())
                    .or_insert_with(|| Bar::new(budget, WAIT_BAR))
                    .update(
                        wait.waited.as_secs(),
                        budget,
                        &format!("{key}: {state}"),
                        String::new,
                    );
            }
            None => {
                if let Some(bar) = waits.remove(&key) {
                    bar.finish();
                }
            }
        }
    }
}

fn failure(e: RefreshError) -> Failure {
    if e.is_not_confirmed() {
        Failure::NotConfirmed(anyhow!(e))
    } else if e.is_bad_input() {
        Failure::BadInput(anyhow!(e))
    } else {
        Failure::Failed(anyhow!(e))
    }
}

pub async fn run(shared: &Shared, command: RefreshCommand) -> Outcome {
    let config = Arc::new(load_config(shared)?);
    let state_dir = kirikae_aws::state::state_dir(config.state_dir.as_deref());
    // Bad input first, before any credentials are asked for.
    if let RefreshCommand::Plan { name } | RefreshCommand::Run { name, .. } = &command {
        if !config.refresh.contains_key(name) {
            let known: Vec<&str> = config.refresh.keys().map(String::as_str).collect();
            return Err(Failure::BadInput(anyhow!(
                "there is no [refresh.{name}] in {} (known: {}); add one (see docs/refresh.md)",
                config.path.display(),
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    // So is a missing or wrong --confirm (the config says which alias it must be).
    match &command {
        RefreshCommand::Run { name, confirm, .. } => {
            kirikae_refresh::check_confirm(&config, name, confirm.as_deref()).map_err(failure)?
        }
        RefreshCommand::Resume {
            run_id, confirm, ..
        } => {
            let st = kirikae_refresh::status(&state_dir, run_id).map_err(failure)?;
            kirikae_refresh::check_confirm(&config, &st.name, confirm.as_deref())
                .map_err(failure)?
        }
        _ => {}
    }
    match command {
        RefreshCommand::Status { run_id } => {
            let st = kirikae_refresh::status(&state_dir, &run_id).map_err(failure)?;
            status(shared, &st)
        }
        RefreshCommand::List => list(shared, &kirikae_refresh::list(&state_dir)),
        RefreshCommand::Plan { name } => {
            let estate = estate(shared, config).await?;
            let refresh = Refresh::open(estate, &name).await.map_err(failure)?;
            let plan = refresh.plan().await.map_err(failure)?;
            if shared.output == OutputFormat::Json {
                render::print_json(&plan)?;
            } else {
                outln!(
                    "refresh {}: {} -> {} in {} ({})",
                    plan.name,
                    plan.source
                        .as_ref()
                        .map(|s| format!("{} in {} ({})", s.cluster, s.account, s.account_id))
                        .unwrap_or_else(|| "?".into()),
                    plan.target_cluster,
                    plan.target_account,
                    plan.target_account_id
                )?;
                outln!("\nchecks:")?;
                for c in &plan.checks {
                    let mark = if c.ok {
                        render::green("ok  ")
                    } else {
                        render::red("FAIL")
                    };
                    outln!("  {mark} {}: {}", c.name, c.detail)?;
                    if let Some(fix) = &c.fix {
                        outln!("       fix: {fix}")?;
                    }
                }
                if let Some(p) = plan.copy_path {
                    outln!("\ncopy path: {}\n  why: {}", p.name(), plan.reason)?;
                    outln!("\nsteps:")?;
                    for (i, s) in plan.steps.iter().enumerate() {
                        outln!("  {:2}. {:<19} {}", i + 1, s.step.name(), s.what)?;
                    }
                    outln!(
                        "\nestimate: {} ({})",
                        human_secs(plan.estimate_seconds),
                        plan.estimate_basis
                    )?;
                }
                outln!(
                    "\n{}",
                    if plan.ok {
                        "ready: nothing was changed".to_string()
                    } else {
                        format!(
                            "{} check(s) failed: nothing was changed",
                            plan.failed_checks().len()
                        )
                    }
                )?;
            }
            Ok(if plan.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        RefreshCommand::Run {
            name,
            keep_on_failure,
            confirm,
            take_over_lock,
        } => {
            let notify = Notify::for_run(&config, &state_dir, &name);
            let result = async {
                let estate = Arc::new(Estate::connect(config, estate_options(shared)).await?);
                let refresh = Refresh::open(estate, &name).await?;
                let options = RunOptions {
                    keep_on_failure,
                    confirm,
                    take_over_lock,
                };
                refresh.run(&options, Arc::new(Stderr::default())).await
            }
            .await;
            if let Some(n) = notify {
                n.end(&result, &Stderr::default()).await;
            }
            done(shared, &result.map_err(failure)?)
        }
        RefreshCommand::Resume {
            run_id,
            keep_on_failure,
            confirm,
            take_over_lock,
        } => {
            let notify = Notify::for_resume(&config, &state_dir, &run_id);
            let result = async {
                let estate = Arc::new(Estate::connect(config, estate_options(shared)).await?);
                let options = RunOptions {
                    keep_on_failure,
                    confirm,
                    take_over_lock,
                };
                kirikae_refresh::resume(estate, &run_id, &options, Arc::new(Stderr::default()))
                    .await
            }
            .await;
            if let Some(n) = notify {
                n.end(&result, &Stderr::default()).await;
            }
            done(shared, &result.map_err(failure)?)
        }
    }
}

async fn estate(
    shared: &Shared,
    config: Arc<kirikae_config::Config>,
) -> Result<Arc<Estate>, Failure> {
    Ok(Arc::new(
        Estate::connect(config, estate_options(shared)).await?,
    ))
}

fn estate_options(shared: &Shared) -> EstateOptions {
    EstateOptions {
        mfa_code: shared.mfa_code.clone(),
    }
}

fn human_secs(s: f64) -> String {
    if s >= 90.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{s:.1} s")
    }
}

fn done(shared: &Shared, o: &RunOutcome) -> Outcome {
    if shared.output == OutputFormat::Json {
        render::print_json(o)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "refresh {} run {}: {} serves the masked copy",
        o.name,
        o.run_id,
        o.serving
    )?;
    outln!("copy path: {} ({})", o.copy_path, o.reason)?;
    let mut t = Table::new(&["step", "seconds"]);
    for s in &o.steps {
        t.row(vec![s.step.name().to_string(), format!("{:.2}", s.seconds)]);
    }
    t.row(vec!["total".into(), format!("{:.2}", o.seconds)]);
    out!("{}", t.render())?;
    if !o.retired.is_empty() {
        outln!("retired: {}", o.retired.join(", "))?;
    }
    if !o.deleted.is_empty() {
        outln!("deleted: {}", o.deleted.join(", "))?;
    }
    let calls: Vec<String> = o.calls.iter().map(|(k, v)| format!("{k} {v}")).collect();
    outln!("AWS requests: {} ({})", o.calls_total, calls.join(", "))?;
    if let Some(r) = &o.verify_report {
        outln!("verify report: {}", r.display())?;
    }
    outln!("journal: {}", o.journal.display())?;
    Ok(ExitCode::SUCCESS)
}

fn status(shared: &Shared, st: &RunState) -> Outcome {
    if shared.output == OutputFormat::Json {
        let mut v = serde_json::to_value(st)?;
        v["status"] = serde_json::json!(st.status());
        v["left_over"] = serde_json::to_value(st.left_over())?;
        render::print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("run {} of refresh {}: {}", st.run_id, st.name, st.status())?;
    outln!("started: {}", st.started_at)?;
    if let Some(p) = &st.copy_path {
        outln!(
            "copy path: {p} ({})",
            st.copy_reason.as_deref().unwrap_or("")
        )?;
    }
    for (s, secs) in &st.done {
        outln!("  done  {:<19} {secs:.2} s", s.name())?;
    }
    if let Some(c) = st.current {
        outln!("  at    {} (interrupted here)", c.name())?;
    }
    if let Some(e) = &st.failed {
        outln!("error: {e}")?;
    }
    let left = st.left_over();
    if !left.is_empty() {
        outln!("created by this run and still there:")?;
        for c in left {
            outln!("  {} {} in {}", c.kind, c.id, c.account)?;
        }
    }
    if !st.finished && !st.cleaned_up {
        outln!("continue: kirikae refresh resume {}", st.run_id)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list(shared: &Shared, runs: &[RunState]) -> Outcome {
    if shared.output == OutputFormat::Json {
        let v: Vec<serde_json::Value> = runs
            .iter()
            .map(|r| {
                serde_json::json!({"run_id": r.run_id, "name": r.name, "started": r.started_at,
                "status": r.status(), "copy_path": r.copy_path,
                "seconds": r.done.iter().map(|(_, s)| s).sum::<f64>()})
            })
            .collect();
        render::print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        outln!("no refresh runs recorded yet")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&["run", "refresh", "started", "copy", "status"]);
    for r in runs {
        t.row(vec![
            r.run_id.clone(),
            r.name.clone(),
            r.started_at.clone(),
            r.copy_path.clone().unwrap_or_else(|| "-".into()),
            r.status().to_string(),
        ]);
    }
    out!("{}", t.render())?;
    Ok(ExitCode::SUCCESS)
}
