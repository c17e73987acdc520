//! `run` and `resume`: the steps, each idempotent (it looks at what exists before creating it,
//! under names derived from the run id), journaled before and after, cleaned up on failure.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use kirikae_aws::Estate;
use kirikae_config::{RefreshSettings, TlsMode};
use kirikae_mask::db::{Conn, DbUrl, Tls, TlsMode as EngineTlsMode, PROGRESS_TABLE};
use kirikae_mask::run::MaskKey;
use kirikae_mask::Dialect;

use crate::cloud::{Cloud, NewCluster};
use crate::journal::{Created, Journal, RunState};
use crate::lock::{Holder, Marker, RunLock};
use crate::preflight::{CopyPath, CLONE_OF_TAG, REFRESH_TAG, RUN_TAG, SECRET_TAG};
use crate::step::RefreshStep;
use crate::tunnel::Tunnel;
use crate::{Refresh, RefreshError, Reporter, Wait};

/// The debug-build hook of the crash tests: SIGKILL this process right after the named step
/// is journaled as done.
pub const CRASH_ENV: &str = "KIRIKAE_REFRESH_CRASH_AFTER";
/// The debug-build hook of the one-run-at-a-time tests: stay alive (10 minutes at most) right
/// after the named step is journaled as done, holding the run, until killed.
pub const PAUSE_ENV: &str = "KIRIKAE_REFRESH_PAUSE_AFTER";

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Leave what a failed run created, for inspection (and `resume`).
    pub keep_on_failure: bool,
    /// `--confirm <alias>`: needed when the target account is protected.
    pub confirm: Option<String>,
    /// Replace the marker of another process on the source cluster even when its holder may be
    /// alive (`--take-over-lock`: the person knows it is gone).
    pub take_over_lock: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    pub run_id: String,
    pub name: String,
    pub copy_path: String,
    pub reason: String,
    pub steps: Vec<StepTime>,
    pub seconds: f64,
    /// HTTP requests to AWS per `Service:Operation` (retries included), this process.
    pub calls: BTreeMap<String, u64>,
    pub calls_total: u64,
    pub serving: String,
    pub retired: Vec<String>,
    pub deleted: Vec<String>,
    pub journal: PathBuf,
    pub verify_report: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepTime {
    pub step: RefreshStep,
    pub seconds: f64,
}

/// Names of everything a run makes: derived from the run id, so a rerun finds them.
struct Names {
    new_cluster: String,
    writer: String,
    retired: String,
    snapshot: String,
    snapshot_cmk: String,
    ram_share: String,
    secret: String,
    /// `mask_in = "source"`: the temporary cluster, its writer and secret, the masked snapshot.
    temp_cluster: String,
    temp_writer: String,
    temp_secret: String,
    snapshot_masked: String,
}

impl Names {
    fn of(name: &str, target: &str, run_id: &str) -> Names {
        Names {
            new_cluster: format!("{target}-{run_id}"),
            writer: format!("{target}-{run_id}-1"),
            retired: format!("{target}-retired-{run_id}"),
            snapshot: format!("kirikae-{name}-{run_id}"),
            snapshot_cmk: format!("kirikae-{name}-{run_id}-cmk"),
            ram_share: format!("kirikae-{name}-{run_id}"),
            secret: format!("kirikae/refresh/{name}/{run_id}"),
            temp_cluster: format!("kirikae-{name}-{run_id}-mask"),
            temp_writer: format!("kirikae-{name}-{run_id}-mask-1"),
            temp_secret: format!("kirikae/refresh/{name}/{run_id}/mask"),
            snapshot_masked: format!("kirikae-{name}-{run_id}-masked"),
        }
    }
}

/// An I/O error of `journal`, naming it.
pub(crate) fn journal_error(journal: &Journal) -> impl Fn(std::io::Error) -> RefreshError + '_ {
    |error| RefreshError::Journal {
        path: journal.path.clone(),
        error,
    }
}

/// Journals `event`, then reads the run's state back from the journal.
fn append_and_replay(
    journal: &Journal,
    event: &str,
    fields: Value,
) -> Result<RunState, RefreshError> {
    journal
        .append(event, fields)
        .map_err(journal_error(journal))?;
    journal.replay().map_err(journal_error(journal))
}

fn new_run_id() -> String {
    let t: String = kirikae_aws::format_utc(std::time::SystemTime::now())
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let rand = kirikae_mask::prf::Prf::random().key_hex()[..4].to_string();
    // 20261125-040012-3f2a: sorts by time, fits an RDS identifier after the target's name
    format!("{}-{}-{rand}", &t[..8.min(t.len())], &t[8.min(t.len())..])
}

/// What [`Ctx::wait`] still waits for of a thing that is to become available, by its status:
/// `None` once it is.
fn not_available(status: Option<String>) -> Option<String> {
    match status {
        Some(s) if s == "available" => None,
        Some(s) => Some(s),
        None => Some("not visible yet".into()),
    }
}

struct Ctx<'a> {
    r: &'a Refresh,
    journal: Journal,
    st: RunState,
    names: Names,
    reporter: Arc<dyn Reporter>,
    started: Instant,
}

impl Ctx<'_> {
    fn log(&self, event: &str, fields: Value) -> Result<(), RefreshError> {
        self.journal
            .append(event, fields)
            .map_err(journal_error(&self.journal))
    }

    fn say(&self, text: &str) {
        let e = self.started.elapsed().as_secs_f64();
        self.reporter.line(&format!("[{e:7.1}s] {text}"));
    }

    /// Journals the intent before the call: a crash between the two must not leak it.
    fn created(&mut self, kind: &str, cloud: &Cloud, id: &str) -> Result<(), RefreshError> {
        let c = Created {
            kind: kind.into(),
            account: cloud.account.clone(),
            id: id.into(),
        };
        if !self.st.created.contains(&c) {
            self.log("created", serde_json::to_value(&c).unwrap_or_default())?;
            self.st.created.push(c);
        }
        Ok(())
    }

    fn removed(&mut self, c: &Created) -> Result<(), RefreshError> {
        if !self.st.removed.contains(c) {
            self.log("removed", serde_json::to_value(c).unwrap_or_default())?;
            self.st.removed.push(c.clone());
        }
        Ok(())
    }

    fn budget(&self, copy: bool) -> (Duration, &'static str) {
        // The config bounds the minutes; saturating still, so no value can panic mid-run.
        let b = &self.r.settings.budget;
        let minutes = |m: u64| Duration::from_secs(m.saturating_mul(60));
        if copy {
            (minutes(b.copy_minutes), "copy_minutes")
        } else {
            (minutes(b.step_minutes), "step_minutes")
        }
    }

    /// Polls `probe` until it says done, with backoff (1 s doubling to 30 s), within the
    /// step's budget, saying how long it has waited.
    async fn wait<F, Fut>(
        &self,
        step: RefreshStep,
        what: &str,
        copy: bool,
        mut probe: F,
    ) -> Result<(), RefreshError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<String>, RefreshError>>,
    {
        let (budget, key) = self.budget(copy);
        let start = Instant::now();
        let mut delay = Duration::from_secs(1);
        let mut last_said = Instant::now();
        let step_name = step.to_string();
        let report = |state: Option<&str>| {
            self.reporter.wait(&Wait {
                step: &step_name,
                what,
                state,
                waited: start.elapsed(),
                budget,
            })
        };
        loop {
            let probed = probe().await;
            match probed {
                Err(e) => {
                    report(None);
                    return Err(e);
                }
                Ok(None) => {
                    report(None);
                    return Ok(());
                }
                Ok(Some(state)) => {
                    let waited = start.elapsed();
                    report((waited < budget).then_some(state.as_str()));
                    if waited >= budget {
                        return Err(RefreshError::Timeout {
                            step,
                            what: format!("{what} ({state})"),
                            waited_s: waited.as_secs_f64(),
                            budget_s: budget.as_secs(),
                            budget_key: key,
                        });
                    }
                    if last_said.elapsed() >= Duration::from_secs(10) || waited < delay {
                        self.say(&format!(
                            "{step}: waiting for {what}: {state}, {:.0} s of {} s",
                            waited.as_secs_f64(),
                            budget.as_secs()
                        ));
                        last_said = Instant::now();
                    }
                    tokio::time::sleep(delay.min(budget.saturating_sub(waited))).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    async fn wait_cluster(
        &self,
        step: RefreshStep,
        cloud: &Cloud,
        id: &str,
        copy: bool,
    ) -> Result<(), RefreshError> {
        self.wait(step, &format!("cluster {id}"), copy, || async {
            Ok(not_available(cloud.cluster(id).await?.map(|c| c.status)))
        })
        .await
    }

    async fn wait_snapshot(
        &self,
        step: RefreshStep,
        cloud: &Cloud,
        id: &str,
    ) -> Result<(), RefreshError> {
        self.wait(step, &format!("snapshot {id}"), true, || async {
            Ok(not_available(cloud.snapshot(id).await?.map(|s| s.status)))
        })
        .await
    }

    async fn wait_instance(
        &self,
        step: RefreshStep,
        cloud: &Cloud,
        id: &str,
        gone: bool,
    ) -> Result<(), RefreshError> {
        self.wait(step, &format!("instance {id}"), false, || async {
            let status = cloud.instance_status(id).await?;
            // being deleted: waited for until it is gone, whatever its status
            Ok(if gone { status } else { not_available(status) })
        })
        .await
    }

    fn cloud(&self, account: &str) -> &Cloud {
        if account == self.r.source.account {
            &self.r.source
        } else {
            &self.r.target
        }
    }
}

impl Refresh {
    /// A new run: preflight, copy, fix-ups, mask, verify, switch-over, retire, clean up.
    pub async fn run(
        &self,
        opts: &RunOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Result<RunOutcome, RefreshError> {
        self.check_confirm(opts.confirm.as_deref())?;
        let run_id = new_run_id();
        // One process per refresh: a live run refuses this one, naming itself.
        let holder = Holder::this_process(&run_id);
        let lock = RunLock::acquire(&self.state_dir, &self.name, &holder)?;
        // No process drives the runs found now: an interrupted one is resumed, not doubled.
        for st in crate::list(&self.state_dir) {
            if st.name == self.name && !st.finished && st.failed.is_none() {
                return Err(RefreshError::Refused(format!(
                    "run {} of refresh {} was interrupted and no process drives it: continue it \
                     with `kirikae refresh resume {}` (a second run would copy production again \
                     beside it)",
                    st.run_id, self.name, st.run_id
                )));
            }
        }
        let begin = || {
            let journal =
                Journal::create(&self.state_dir, &self.name, &run_id).map_err(|error| {
                    RefreshError::Journal {
                        path: Journal::dir(&self.state_dir, &self.name),
                        error,
                    }
                })?;
            let st = append_and_replay(
                &journal,
                "started",
                json!({"name": self.name, "run_id": run_id, "keep_on_failure": opts.keep_on_failure,
                       "strategy": self.settings.strategy}),
            )?;
            Ok((journal, st))
        };
        self.drive_locked(lock, &holder, opts, reporter, begin)
            .await
    }

    /// Drives a run holding `lock`, with the marker on the source cluster set for its length:
    /// claimed before `begin` journals the start (a refusal leaves no run behind), removed at
    /// the end whatever the outcome.
    async fn drive_locked(
        &self,
        lock: RunLock,
        holder: &Holder,
        opts: &RunOptions,
        reporter: Arc<dyn Reporter>,
        begin: impl FnOnce() -> Result<(Journal, RunState), RefreshError>,
    ) -> Result<RunOutcome, RefreshError> {
        let say = |text: &str| reporter.line(text);
        let source = &self.settings.source.cluster;
        let marker = Marker::claim(
            &self.source,
            source,
            &self.name,
            holder,
            opts.take_over_lock,
            &say,
        )
        .await?;
        let result = match begin() {
            Ok((journal, st)) => self.drive(journal, st, reporter.clone()).await,
            Err(e) => Err(e),
        };
        if let Some(m) = marker {
            if let Err(e) = m.release(&self.source, source).await {
                reporter.line(&format!(
                    "could not remove the marker {} from {source}: {e}; the next run on this host \
                     takes it over",
                    Marker::tag_key(&self.name)
                ));
            }
        }
        drop(lock);
        result
    }

    async fn drive(
        &self,
        journal: Journal,
        st: RunState,
        reporter: Arc<dyn Reporter>,
    ) -> Result<RunOutcome, RefreshError> {
        let names = Names::of(&self.name, &self.settings.target.cluster, &st.run_id);
        let mut ctx = Ctx {
            r: self,
            journal,
            st,
            names,
            reporter,
            started: Instant::now(),
        };
        ctx.say(&format!(
            "refresh {} run {} ({})",
            self.name,
            ctx.st.run_id,
            ctx.journal.path.display()
        ));
        match execute(&mut ctx).await {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                let step = ctx.st.current.map(|s| s.name()).unwrap_or("-");
                let _ = ctx.log("failed", json!({"step": step, "error": e.with_causes()}));
                ctx.st.failed = Some(e.with_causes());
                if e.keeps_run() {
                    ctx.say(&format!(
                        "failed in {step} because of the tunnel: the run is kept ({} resource(s)); `kirikae refresh resume {}` continues it",
                        ctx.st.left_over().len(),
                        ctx.st.run_id
                    ));
                } else if ctx.st.keep_on_failure {
                    ctx.say(&format!(
                        "failed in {step}; --keep-on-failure: left {} resource(s) for inspection; `kirikae refresh resume {}` retries",
                        ctx.st.left_over().len(),
                        ctx.st.run_id
                    ));
                } else {
                    ctx.say(&format!(
                        "failed in {step}: cleaning up what this run created"
                    ));
                    if let Err(c) = clean_up_failed(&mut ctx).await {
                        ctx.say(&format!("clean-up incomplete: {c}; `kirikae refresh status {}` lists what is left", ctx.st.run_id));
                    } else {
                        let _ = ctx.log("cleaned_up", json!({}));
                    }
                }
                Err(e)
            }
        }
    }
}

/// Continues a run after a crash (or a failure kept with `--keep-on-failure`).
pub async fn resume(
    estate: Arc<Estate>,
    run_id: &str,
    opts: &RunOptions,
    reporter: Arc<dyn Reporter>,
) -> Result<RunOutcome, RefreshError> {
    let state_dir = kirikae_aws::state::state_dir(estate.config().state_dir.as_deref());
    let journal = Journal::find(&state_dir, run_id)
        .ok_or_else(|| RefreshError::UnknownRun(run_id.into(), state_dir.clone()))?;
    let name = journal.replay().map_err(journal_error(&journal))?.name;
    // Refused while a process drives this refresh (this run or another of the same refresh).
    let holder = Holder::this_process(run_id);
    let lock = RunLock::acquire(&state_dir, &name, &holder)?;
    // Read again under the lock: the process that held it may have moved the run on.
    let st = journal.replay().map_err(journal_error(&journal))?;
    if st.finished {
        return Err(RefreshError::Refused(format!(
            "run {run_id} already finished: nothing to resume"
        )));
    }
    if st.cleaned_up {
        return Err(RefreshError::Refused(format!(
            "run {run_id} failed and what it created was removed: start a new one with `kirikae refresh run {}`",
            st.name
        )));
    }
    let refresh = Refresh::open(estate, &st.name).await?;
    refresh.check_confirm(opts.confirm.as_deref())?;
    let keep_on_failure = opts.keep_on_failure || st.keep_on_failure;
    let begin = || {
        let st = append_and_replay(
            &journal,
            "resumed",
            json!({"keep_on_failure": keep_on_failure}),
        )?;
        Ok((journal, st))
    };
    refresh
        .drive_locked(lock, &holder, opts, reporter, begin)
        .await
}

fn crash_hook(step: RefreshStep) {
    if cfg!(debug_assertions) && std::env::var(PAUSE_ENV).ok().as_deref() == Some(step.name()) {
        std::thread::sleep(Duration::from_secs(600));
    }
    if cfg!(debug_assertions) && std::env::var(CRASH_ENV).ok().as_deref() == Some(step.name()) {
        let _ = std::process::Command::new("kill")
            .arg("-KILL")
            .arg(std::process::id().to_string())
            .status();
        std::thread::sleep(Duration::from_secs(10));
    }
}

async fn step(ctx: &mut Ctx<'_>, step: RefreshStep) -> Result<(), RefreshError> {
    use RefreshStep::*;
    if ctx.st.is_done(step) {
        return Ok(());
    }
    ctx.log("step_started", json!({"step": step.name()}))?;
    ctx.st.current = Some(step);
    ctx.say(&format!("{step}: {}", step.describe()));
    let t = Instant::now();
    let detail = match step {
        Preflight => preflight(ctx).await?,
        ShareCluster => share_cluster(ctx).await?,
        CloneCluster => clone_cluster(ctx).await?,
        CreateSnapshot => create_snapshot(ctx).await?,
        ReencryptSnapshot => reencrypt_snapshot(ctx).await?,
        RestoreInSource => restore_in_source(ctx).await?,
        SnapshotMasked => snapshot_masked(ctx).await?,
        ShareSnapshot => share_snapshot(ctx).await?,
        RestoreCluster => restore_cluster(ctx).await?,
        CreateWriter => create_writer(ctx).await?,
        ResetPassword => reset_password(ctx).await?,
        Mask => mask(ctx).await?,
        Verify => verify(ctx).await?,
        SwitchOver => switch_over(ctx).await?,
        RetireOld => retire_old(ctx).await?,
        CleanUp => clean_up(ctx).await?,
    };
    let secs = t.elapsed().as_secs_f64();
    ctx.log(
        "step_done",
        json!({"step": step.name(), "seconds": secs, "detail": detail}),
    )?;
    ctx.st.done.push((step, secs));
    if !detail.is_null() {
        ctx.st.details.insert(step.name().into(), detail);
    }
    ctx.st.current = None;
    ctx.say(&format!("{step}: done in {secs:.2} s"));
    crash_hook(step);
    Ok(())
}

async fn execute(ctx: &mut Ctx<'_>) -> Result<RunOutcome, RefreshError> {
    use RefreshStep::*;
    step(ctx, Preflight).await?;
    'path: loop {
        let path = match ctx.st.copy_path.as_deref() {
            Some("clone") => CopyPath::Clone,
            _ => CopyPath::Snapshot,
        };
        let reencrypt = ctx
            .st
            .details
            .get("preflight")
            .and_then(|d| d["reencrypt"].as_bool())
            == Some(true);
        for s in ctx.r.steps_for(path, reencrypt).into_iter().skip(1) {
            match step(ctx, s).await {
                Err(RefreshError::CloneLimit(msg))
                    if ctx.r.settings.strategy == kirikae_config::RefreshStrategy::Auto =>
                {
                    ctx.say(&format!(
                        "clone refused ({msg}): falling back to the snapshot path"
                    ));
                    let reason = format!(
                        "the clone was refused: {msg}; snapshot, share and restore instead"
                    );
                    ctx.log(
                        "decided",
                        json!({"copy_path": "snapshot", "reason": reason}),
                    )?;
                    ctx.st.copy_path = Some("snapshot".into());
                    ctx.st.copy_reason = Some(reason);
                    remove_kind(ctx, "ram_share").await?;
                    continue 'path;
                }
                other => other?,
            }
        }
        break;
    }

    let calls = ctx.r.counter.snapshot();
    let seconds: f64 = ctx.st.done.iter().map(|(_, s)| s).sum();
    ctx.log("finished", json!({"seconds": seconds, "calls": calls}))?;
    ctx.say(&format!(
        "finished: {} serves the new data",
        ctx.r.settings.target.cluster
    ));
    let list = |k: &str, f: &str| -> Vec<String> {
        ctx.st
            .details
            .get(k)
            .and_then(|d| d[f].as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(RunOutcome {
        run_id: ctx.st.run_id.clone(),
        name: ctx.r.name.clone(),
        copy_path: ctx.st.copy_path.clone().unwrap_or_default(),
        reason: ctx.st.copy_reason.clone().unwrap_or_default(),
        steps: ctx
            .st
            .done
            .iter()
            .map(|(s, t)| StepTime {
                step: *s,
                seconds: *t,
            })
            .collect(),
        seconds,
        calls_total: calls.values().sum(),
        calls,
        serving: ctx.r.settings.target.cluster.clone(),
        retired: list("switch_over", "retired"),
        deleted: list("retire_old", "deleted"),
        journal: ctx.journal.path.clone(),
        verify_report: ctx
            .st
            .details
            .get("verify")
            .and_then(|d| d["report"].as_str())
            .map(PathBuf::from),
    })
}

// --- the steps ---------------------------------------------------------------------------------

async fn preflight(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let plan = ctx.r.plan().await?;
    if !plan.ok {
        return Err(RefreshError::Preflight(
            plan.failed_checks().into_iter().cloned().collect(),
        ));
    }
    let path = plan.copy_path.unwrap_or(CopyPath::Snapshot);
    ctx.log(
        "decided",
        json!({"copy_path": path.name(), "reason": plan.reason}),
    )?;
    ctx.st.copy_path = Some(path.name().into());
    ctx.st.copy_reason = Some(plan.reason.clone());
    ctx.say(&format!("copy path: {} ({})", path.name(), plan.reason));
    let src = plan.source.as_ref();
    Ok(json!({
        "reencrypt": plan.reencrypt,
        "source_arn": src.map(|s| s.arn.clone()),
        "engine": src.map(|s| s.engine.clone()),
    }))
}

fn pre(ctx: &Ctx<'_>, key: &str) -> String {
    ctx.st
        .details
        .get("preflight")
        .and_then(|d| d[key].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn share_cluster(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let name = ctx.names.ram_share.clone();
    let arn = match ctx.r.source.resource_share(&name).await? {
        Some(arn) => arn,
        None => {
            ctx.created("ram_share", &ctx.r.source.clone(), &name)?;
            ctx.r
                .source
                .create_resource_share(&name, &pre(ctx, "source_arn"), &ctx.r.target.account_id)
                .await?
        }
    };
    let invitation = share_reaches_target(ctx, &arn).await?;
    let reached = if invitation.is_some() {
        SHARE_BY_INVITATION
    } else {
        SHARE_AT_ONCE
    };
    Ok(json!({"share": arn, "reached": reached, "invitation": invitation}))
}

/// How a share reached the target account (the `reached` detail of the share step; preflight
/// reads it back from earlier runs).
pub(crate) const SHARE_AT_ONCE: &str = "at once";
pub(crate) const SHARE_BY_INVITATION: &str = "invitation accepted";

/// Waits until the target account sees the shared source cluster. Inside an organization that
/// enabled sharing with RAM that is at once; any other target receives an invitation, which is
/// accepted here as the target account (its ARN is returned). A rejected or expired invitation
/// cannot be accepted: the run stops (its clean-up deletes the share; a new run shares again).
async fn share_reaches_target(
    ctx: &Ctx<'_>,
    share_arn: &str,
) -> Result<Option<String>, RefreshError> {
    let t = &ctx.r.target;
    let source_arn = pre(ctx, "source_arn");
    let accepted = std::sync::Mutex::new(None::<String>);
    let what = format!("the RAM share {share_arn} to reach {}", t.account);
    ctx.wait(RefreshStep::ShareCluster, &what, false, || async {
        let invitations = t.invitations(Some(share_arn)).await?;
        for i in &invitations {
            match i.status.as_str() {
                "PENDING" => {
                    let status = t.accept_invitation(&i.arn).await?;
                    ctx.say(&format!(
                        "share_cluster: {} accepted the RAM invitation {} from {} ({status})",
                        t.account, i.arn, i.sender
                    ));
                    *accepted.lock().unwrap_or_else(|p| p.into_inner()) = Some(i.arn.clone());
                }
                "ACCEPTED" => {
                    accepted
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert_with(|| i.arn.clone());
                }
                other => {
                    return Err(RefreshError::Refused(format!(
                        "the RAM invitation {} of the share {share_arn} to {} is {other}: it can no longer be \
                         accepted; run the refresh again (a new run shares the cluster again and kirikae accepts \
                         the new invitation as {})",
                        i.arn, t.account, t.account
                    )))
                }
            }
        }
        if t.sees_shared_cluster(&source_arn).await? {
            return Ok(None);
        }
        Ok(Some(if invitations.is_empty() {
            "no invitation yet, and the cluster is not visible".to_string()
        } else {
            "invitation accepted, the cluster is not visible yet".to_string()
        }))
    })
    .await?;
    let accepted = accepted.into_inner().unwrap_or_else(|p| p.into_inner());
    if accepted.is_none() {
        ctx.say(&format!(
            "share_cluster: the share reached {} at once (one organization, sharing with RAM enabled)",
            t.account
        ));
    }
    Ok(accepted)
}

fn new_cluster(ctx: &Ctx<'_>, serving_tags: &BTreeMap<String, String>, clone: bool) -> NewCluster {
    let t = &ctx.r.settings.target;
    // The serving cluster's own tags carry over (cost allocation, owners); kirikae's are new.
    let mut tags: BTreeMap<String, String> = serving_tags
        .iter()
        .filter(|(k, _)| !k.starts_with("kirikae:") && !k.starts_with("aws:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    tags.insert(REFRESH_TAG.into(), ctx.r.name.clone());
    tags.insert(RUN_TAG.into(), ctx.st.run_id.clone());
    if clone {
        tags.insert(CLONE_OF_TAG.into(), pre(ctx, "source_arn"));
    }
    NewCluster {
        id: ctx.names.new_cluster.clone(),
        engine: pre(ctx, "engine"),
        subnet_group: t.subnet_group.clone(),
        security_groups: t.security_groups.clone(),
        kms_key: t.kms_key.clone(),
        parameter_group: t.parameter_group.clone(),
        tags,
    }
}

async fn serving_tags(ctx: &Ctx<'_>) -> Result<BTreeMap<String, String>, RefreshError> {
    Ok(ctx
        .r
        .target
        .cluster(&ctx.r.settings.target.cluster)
        .await?
        .map(|c| c.tags)
        .unwrap_or_default())
}

async fn clone_cluster(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let id = ctx.names.new_cluster.clone();
    if ctx.r.target.cluster(&id).await?.is_none() {
        let spec = new_cluster(ctx, &serving_tags(ctx).await?, true);
        ctx.created("cluster", &ctx.r.target.clone(), &id)?;
        if let Err(e) = ctx
            .r
            .target
            .clone_cluster(&pre(ctx, "source_arn"), &spec)
            .await
        {
            if e.is("InvalidDBClusterStateFault") && e.message.contains("clone") {
                // Nothing was created: the cluster is not ours to delete later.
                let c = Created {
                    kind: "cluster".into(),
                    account: ctx.r.target.account.clone(),
                    id: id.clone(),
                };
                ctx.removed(&c)?;
                return Err(RefreshError::CloneLimit(format!(
                    "Aurora allows only one cross-account clone of a cluster per account, and {} already holds one of {}: {}{}",
                    ctx.r.target.account,
                    ctx.r.settings.source.cluster,
                    e.message,
                    if ctx.r.settings.strategy == kirikae_config::RefreshStrategy::Clone {
                        format!(" (set refresh.{}.strategy = \"auto\" to fall back to a snapshot)", ctx.r.name)
                    } else {
                        String::new()
                    }
                )));
            }
            return Err(e.into());
        }
    }
    ctx.wait_cluster(RefreshStep::CloneCluster, &ctx.r.target, &id, true)
        .await?;
    Ok(json!({"cluster": id}))
}

/// The tags of what a run makes: the refresh and the run.
fn run_tags(ctx: &Ctx<'_>) -> BTreeMap<String, String> {
    BTreeMap::from([
        (REFRESH_TAG.to_string(), ctx.r.name.clone()),
        (RUN_TAG.to_string(), ctx.st.run_id.clone()),
    ])
}

/// A snapshot `id` of the source account's `cluster` (unless a rerun finds it), available.
async fn snapshot_in_source(
    ctx: &mut Ctx<'_>,
    step: RefreshStep,
    cluster: &str,
    id: &str,
) -> Result<(), RefreshError> {
    let src = ctx.r.source.clone();
    if src.snapshot(id).await?.is_none() {
        ctx.created("snapshot", &src, id)?;
        src.create_snapshot(cluster, id, &run_tags(ctx)).await?;
    }
    ctx.wait_snapshot(step, &src, id).await
}

async fn create_snapshot(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let id = ctx.names.snapshot.clone();
    let cluster = ctx.r.settings.source.cluster.clone();
    snapshot_in_source(ctx, RefreshStep::CreateSnapshot, &cluster, &id).await?;
    Ok(json!({"snapshot": id}))
}

async fn reencrypt_snapshot(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let id = ctx.names.snapshot_cmk.clone();
    let key = ctx.r.settings.source.kms_key.clone().unwrap_or_default();
    // mask_in = "source": the masked copy is what gets shared, so it is what is re-encrypted.
    let base = if mask_in_source(ctx) {
        ctx.names.snapshot_masked.clone()
    } else {
        ctx.names.snapshot.clone()
    };
    if ctx.r.source.snapshot(&id).await?.is_none() {
        ctx.created("snapshot", &ctx.r.source.clone(), &id)?;
        ctx.r
            .source
            .copy_snapshot(&base, &id, &key, &run_tags(ctx))
            .await?;
    }
    ctx.wait_snapshot(RefreshStep::ReencryptSnapshot, &ctx.r.source, &id)
        .await?;
    Ok(json!({"snapshot": id, "from": base, "kms_key": key}))
}

fn shared_snapshot_id(ctx: &Ctx<'_>) -> String {
    if ctx.st.is_done(RefreshStep::ReencryptSnapshot) {
        ctx.names.snapshot_cmk.clone()
    } else if mask_in_source(ctx) {
        ctx.names.snapshot_masked.clone()
    } else {
        ctx.names.snapshot.clone()
    }
}

async fn share_snapshot(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let id = shared_snapshot_id(ctx);
    let Some(s) = ctx.r.source.snapshot(&id).await? else {
        return Err(RefreshError::Refused(format!(
            "the snapshot {id} disappeared from {}",
            ctx.r.source.account
        )));
    };
    if !s.shared_with.contains(&ctx.r.target.account_id) {
        ctx.created("snapshot_share", &ctx.r.source.clone(), &id)?;
        ctx.r
            .source
            .share_snapshot(&id, &ctx.r.target.account_id, true)
            .await?;
    }
    Ok(json!({"snapshot": id, "arn": s.arn}))
}

async fn restore_cluster(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let id = ctx.names.new_cluster.clone();
    let arn = ctx
        .st
        .details
        .get("share_snapshot")
        .and_then(|d| d["arn"].as_str())
        .unwrap_or_default()
        .to_string();
    if ctx.r.target.cluster(&id).await?.is_none() {
        let spec = new_cluster(ctx, &serving_tags(ctx).await?, false);
        ctx.created("cluster", &ctx.r.target.clone(), &id)?;
        ctx.r.target.restore_from_snapshot(&arn, &spec).await?;
    }
    ctx.wait_cluster(RefreshStep::RestoreCluster, &ctx.r.target, &id, true)
        .await?;
    Ok(json!({"cluster": id, "from": arn}))
}

async fn create_writer(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let id = ctx.names.writer.clone();
    if ctx.r.target.instance_status(&id).await?.is_none() {
        ctx.created("instance", &ctx.r.target.clone(), &id)?;
        let tags = run_tags(ctx);
        ctx.r
            .target
            .create_instance(
                &id,
                &ctx.names.new_cluster,
                &pre(ctx, "engine"),
                &ctx.r.settings.target.instance_class,
                &tags,
            )
            .await?;
    }
    ctx.wait_instance(RefreshStep::CreateWriter, &ctx.r.target, &id, false)
        .await?;
    Ok(json!({"instance": id}))
}

async fn reset_password(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let (target, id, secret) = (
        ctx.r.target.clone(),
        ctx.names.new_cluster.clone(),
        ctx.names.secret.clone(),
    );
    let arn = new_password(ctx, &target, &id, &secret, RefreshStep::ResetPassword).await?;
    Ok(json!({"secret": arn}))
}

/// A new random master password for `cluster_id`, kept in `secret_name` of the same account
/// (reused when a rerun finds it), named by the cluster's tag `kirikae:secret`.
async fn new_password(
    ctx: &mut Ctx<'_>,
    cloud: &Cloud,
    cluster_id: &str,
    secret_name: &str,
    step: RefreshStep,
) -> Result<String, RefreshError> {
    let cluster = cloud
        .cluster(cluster_id)
        .await?
        .ok_or_else(|| RefreshError::Refused(format!("the cluster {cluster_id} is gone")))?;
    let (arn, password) = match cloud.secret(secret_name).await? {
        Some((arn, value)) => {
            let v: Value = serde_json::from_str(&value).unwrap_or_default();
            (arn, v["password"].as_str().unwrap_or_default().to_string())
        }
        None => {
            // 32 hex characters: within Aurora's 8-41 and nothing a URL or shell mangles.
            let password = kirikae_mask::prf::Prf::random().key_hex()[..32].to_string();
            let value = json!({
                "username": cluster.master_user, "password": password, "engine": cluster.engine,
                "host": cluster.endpoint, "port": cluster.port, "dbname": cluster.database,
                "dbClusterIdentifier": cluster_id,
            });
            ctx.created("secret", cloud, secret_name)?;
            let arn = cloud
                .create_secret(
                    secret_name,
                    &value.to_string(),
                    &format!(
                        "master password of a cluster made by kirikae refresh run {}",
                        ctx.st.run_id
                    ),
                )
                .await?;
            (arn, password)
        }
    };
    cloud.set_password(&cluster.id, &password).await?;
    cloud
        .add_tags(
            &cluster.arn,
            &BTreeMap::from([(SECRET_TAG.to_string(), arn.clone())]),
        )
        .await?;
    ctx.wait_cluster(step, cloud, &cluster.id, false).await?;
    Ok(arn)
}

async fn restore_in_source(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let src = ctx.r.source.clone();
    let (id, writer) = (
        ctx.names.temp_cluster.clone(),
        ctx.names.temp_writer.clone(),
    );
    let snap = src.snapshot(&ctx.names.snapshot).await?.ok_or_else(|| {
        RefreshError::Refused(format!("the snapshot {} is gone", ctx.names.snapshot))
    })?;
    if src.cluster(&id).await?.is_none() {
        let spec = NewCluster {
            id: id.clone(),
            engine: pre(ctx, "engine"),
            subnet_group: ctx
                .r
                .settings
                .source
                .subnet_group
                .clone()
                .unwrap_or_else(|| "default".into()),
            security_groups: ctx.r.settings.source.security_groups.clone(),
            kms_key: None,
            parameter_group: None,
            tags: run_tags(ctx),
        };
        ctx.created("cluster", &src, &id)?;
        src.restore_from_snapshot(&snap.arn, &spec).await?;
    }
    ctx.wait_cluster(RefreshStep::RestoreInSource, &src, &id, true)
        .await?;
    if src.instance_status(&writer).await?.is_none() {
        ctx.created("instance", &src, &writer)?;
        src.create_instance(
            &writer,
            &id,
            &pre(ctx, "engine"),
            &ctx.r.settings.target.instance_class,
            &BTreeMap::from([(RUN_TAG.to_string(), ctx.st.run_id.clone())]),
        )
        .await?;
    }
    ctx.wait_instance(RefreshStep::RestoreInSource, &src, &writer, false)
        .await?;
    let secret = ctx.names.temp_secret.clone();
    let arn = new_password(ctx, &src, &id, &secret, RefreshStep::RestoreInSource).await?;
    Ok(json!({"cluster": id, "secret": arn}))
}

async fn snapshot_masked(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let id = ctx.names.snapshot_masked.clone();
    let cluster = ctx.names.temp_cluster.clone();
    snapshot_in_source(ctx, RefreshStep::SnapshotMasked, &cluster, &id).await?;
    Ok(json!({"snapshot": id}))
}

fn mask_in_source(ctx: &Ctx<'_>) -> bool {
    ctx.r.settings.mask_in == kirikae_config::MaskIn::Source
}

/// Where the copy is masked: the temporary cluster in the source account, or the new one.
fn mask_site(ctx: &Ctx<'_>) -> (Cloud, String) {
    if mask_in_source(ctx) {
        (ctx.r.source.clone(), ctx.names.temp_cluster.clone())
    } else {
        (ctx.r.target.clone(), ctx.names.new_cluster.clone())
    }
}

/// The new cluster's database (the target account), reached for the switch-over check.
async fn db_url(ctx: &Ctx<'_>, cluster_id: &str) -> Result<Reached, RefreshError> {
    db_url_in(ctx, &ctx.r.target, cluster_id, None).await
}

/// The target account's cluster `cluster_id`, reached at `host` (the switched DNS name's value)
/// with that cluster's port and credentials.
async fn db_url_via(
    ctx: &Ctx<'_>,
    cluster_id: &str,
    host: Option<&str>,
) -> Result<Reached, RefreshError> {
    db_url_in(ctx, &ctx.r.target, cluster_id, host).await
}

/// Where one cluster's database is and how to log in: the password comes from the secret the
/// cluster's tag `kirikae:secret` names. Never displayed (it holds the password).
struct DbAddress {
    dialect: Dialect,
    user: String,
    password: String,
    /// The cluster's endpoint name (or the name `host` given to [`db_url_in`]): what TLS
    /// verifies, and what a tunnel is started for.
    host: String,
    port: u16,
    database: String,
}

/// A cluster's database as the masking engine reaches it: the URL, and the tunnel it goes
/// through when `[refresh.<name>] tunnel` is set, which ends when this is dropped.
struct Reached {
    url: DbUrl,
    tunnel: Option<Tunnel>,
    run_id: String,
}

impl Reached {
    /// Runs `work` on this database; with a tunnel, the tunnel ending fails it at once,
    /// naming the tunnel (see [`Tunnel::guard`]).
    async fn guard<T>(
        &self,
        during: &str,
        work: impl std::future::Future<Output = Result<T, RefreshError>>,
    ) -> Result<T, RefreshError> {
        match &self.tunnel {
            None => work.await,
            Some(t) => t
                .guard(during, work)
                .await
                .map_err(|error| RefreshError::Tunnel {
                    run_id: self.run_id.clone(),
                    error: Box::new(error),
                })?,
        }
    }
}

/// The cluster `cluster_id` of `cloud`'s account, reached: its endpoint (or `host`: connect
/// there instead, with the cluster's port and credentials), through a new tunnel when one is
/// configured.
async fn db_url_in(
    ctx: &Ctx<'_>,
    cloud: &Cloud,
    cluster_id: &str,
    host: Option<&str>,
) -> Result<Reached, RefreshError> {
    let c = cloud
        .cluster(cluster_id)
        .await?
        .ok_or_else(|| RefreshError::Refused(format!("the cluster {cluster_id} is gone")))?;
    let secret = c
        .tags
        .get(SECRET_TAG)
        .cloned()
        .unwrap_or_else(|| ctx.names.secret.clone());
    let password = match cloud.secret(&secret).await? {
        Some((_, v)) => serde_json::from_str::<Value>(&v).unwrap_or_default()["password"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        None => {
            return Err(RefreshError::Refused(format!(
                "the secret {secret} of {cluster_id} is gone"
            )))
        }
    };
    let dialect = if c.engine.contains("postgres") {
        Dialect::Postgres
    } else {
        Dialect::MySql
    };
    let default_port = match dialect {
        Dialect::Postgres => 5432,
        Dialect::MySql => 3306,
    };
    let db = DbAddress {
        dialect,
        user: c.master_user.clone().unwrap_or_default(),
        password,
        host: host
            .map(str::to_string)
            .or(c.endpoint.clone())
            .unwrap_or_default(),
        port: c
            .port
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(default_port),
        database: c.database.clone().unwrap_or_default(),
    };
    if db.host.is_empty() {
        return Err(RefreshError::Refused(format!(
            "the cluster {cluster_id} has no endpoint yet"
        )));
    }
    let s = &ctx.r.settings;
    let tunnel = match &s.tunnel {
        None => None,
        Some(template) => {
            ctx.say(&format!(
                "tunnel to {}:{} for {cluster_id}",
                db.host, db.port
            ));
            let wait = Duration::from_secs(s.tunnel_wait_seconds);
            Some(
                Tunnel::start(template, &db.host, db.port, wait)
                    .await
                    .map_err(|error| RefreshError::Tunnel {
                        run_id: ctx.st.run_id.clone(),
                        error: Box::new(error),
                    })?,
            )
        }
    };
    Ok(Reached {
        url: connect_url(&db, &ctx.r.settings, tunnel.as_ref())?,
        tunnel,
        run_id: ctx.st.run_id.clone(),
    })
}

/// The masking engine's URL of `db`: through `tunnel` when there is one. The URL names the
/// cluster's endpoint either way, so TLS verifies the endpoint's real name while, through a
/// tunnel, the bytes go to the tunnel's local port.
fn connect_url(
    db: &DbAddress,
    settings: &RefreshSettings,
    tunnel: Option<&Tunnel>,
) -> Result<DbUrl, RefreshError> {
    let url = url_at(db, settings)?;
    Ok(match tunnel {
        None => url,
        Some(t) => url.via("127.0.0.1", t.local_port),
    })
}

/// The refresh's `tls` setting as the masking engine's TLS options (PostgreSQL `sslmode` /
/// `sslrootcert`, MySQL `ssl-mode` / `ssl-ca`). The refresh never asks for `prefer`: a copy of
/// production's data is not sent in the clear because a server did not offer TLS.
pub(crate) fn engine_tls(tls: TlsMode, ca_bundle: Option<&std::path::Path>) -> Tls {
    let mode = match tls {
        TlsMode::VerifyFull => EngineTlsMode::VerifyFull,
        TlsMode::VerifyCa => EngineTlsMode::VerifyCa,
        TlsMode::Require => EngineTlsMode::Require,
        TlsMode::Disable => EngineTlsMode::Disable,
    };
    Tls {
        mode,
        ca_file: if tls.verifies() {
            ca_bundle.map(std::path::Path::to_path_buf)
        } else {
            None
        },
    }
}

/// Percent-encodes what a URL's userinfo or path may not hold as it is.
fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `db`'s URL at its endpoint, with the password set beside the URL (never inside its text)
/// and the `tls` of `settings`.
fn url_at(db: &DbAddress, settings: &RefreshSettings) -> Result<DbUrl, RefreshError> {
    let scheme = match db.dialect {
        Dialect::Postgres => "postgres",
        Dialect::MySql => "mysql",
    };
    let url = format!(
        "{scheme}://{}@{}:{}/{}",
        url_escape(&db.user),
        db.host,
        db.port,
        url_escape(&db.database)
    );
    DbUrl::parse(&url)
        .and_then(|u| {
            u.with_password(&db.password)
                .with_tls(engine_tls(settings.tls, settings.ca_bundle.as_deref()))
        })
        .map_err(|e| RefreshError::Mask(e.to_string()))
}

fn mask_state_dir(ctx: &Ctx<'_>) -> PathBuf {
    Journal::dir(&ctx.r.state_dir, &ctx.r.name).join(format!("{}.mask", ctx.st.run_id))
}

fn mask_key() -> Result<Option<MaskKey>, RefreshError> {
    MaskKey::from_env_or_file(None).map_err(RefreshError::Mask)
}

async fn mask(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let (cloud, site) = mask_site(ctx);
    let rules = kirikae_mask::Rules::load(&ctx.r.settings.masking)
        .map_err(|e| RefreshError::Mask(e.to_string()))?;
    let dir = mask_state_dir(ctx);
    let state =
        kirikae_mask::state::StateDir::open(&dir).map_err(|e| RefreshError::Mask(e.to_string()))?;
    if state.read_run().ok().flatten().is_some_and(|i| i.finished) {
        return Ok(json!({"state_dir": dir, "already": true}));
    }
    let db = db_url_in(ctx, &cloud, &site, None).await?;
    let url = &db.url;
    let during = format!("mask of {site}");
    let resume = db
        .guard(&during, async {
            let mut conn = Conn::connect(url)
                .await
                .map_err(|e| RefreshError::Mask(e.to_string()))?;
            conn.table_exists(PROGRESS_TABLE)
                .await
                .map_err(|e| RefreshError::Mask(e.to_string()))
        })
        .await?;
    let opts = kirikae_mask::run::RunOptions {
        resume,
        ..Default::default()
    };
    struct Relay(Arc<dyn Reporter>, Instant);
    impl kirikae_mask::run::Reporter for Relay {
        fn event(&self, e: &kirikae_mask::run::Event) {
            use kirikae_mask::run::Event;
            let text = match e {
                Event::TableDone {
                    table,
                    rows,
                    seconds,
                    ..
                } => format!("mask: {table}: {rows} rows in {seconds:.2} s"),
                Event::Finished {
                    tables,
                    rows,
                    seconds,
                } => format!("mask: {tables} tables, {rows} rows in {seconds:.2} s"),
                _ => return,
            };
            self.0
                .line(&format!("[{:7.1}s] {text}", self.1.elapsed().as_secs_f64()));
        }
    }
    let key = mask_key()?;
    let rules_path = ctx.r.settings.masking.clone();
    let relay = Arc::new(Relay(ctx.reporter.clone(), ctx.started));
    let report = db
        .guard(&during, async {
            match kirikae_mask::run::run(url, &rules, key, &dir, &opts, relay).await {
                Ok(report) => Ok(report),
                Err(kirikae_mask::run::RunError::Check(problems)) => Err(RefreshError::MaskRules {
                    rules: rules_path.clone(),
                    problems: rule_suggestions(url, &problems).await,
                }),
                Err(e) => Err(RefreshError::Mask(e.to_string())),
            }
        })
        .await?;
    Ok(
        json!({"state_dir": dir, "tables": report.tables.len(), "rows": report.rows, "key": report.key.to_string()}),
    )
}

/// The rules' problems, each with the rule `init` would propose from the copy's schema and a
/// sample of its rows: the copy is removed after a failure and kirikae holds no production
/// password, so this is the only time they can be named. Without a connection, the problems
/// alone.
async fn rule_suggestions(
    url: &DbUrl,
    problems: &[kirikae_mask::check::Problem],
) -> Vec<kirikae_mask::init::Suggestion> {
    let suggested = async {
        let mut conn = Conn::connect(url).await?;
        kirikae_mask::init::suggest(&mut conn, problems, 200).await
    };
    match suggested.await {
        Ok(s) => s,
        Err(_) => problems
            .iter()
            .map(|p| kirikae_mask::init::Suggestion {
                problem: p.clone(),
                sql_type: None,
                rule: None,
                why: None,
            })
            .collect(),
    }
}

async fn verify(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let (cloud, site) = mask_site(ctx);
    let rules = kirikae_mask::Rules::load(&ctx.r.settings.masking)
        .map_err(|e| RefreshError::Mask(e.to_string()))?;
    let dir = mask_state_dir(ctx);
    let key = mask_key()?;
    let db = db_url_in(ctx, &cloud, &site, None).await?;
    let report = db
        .guard(&format!("verify of {site}"), async {
            kirikae_mask::verify::verify(&db.url, &rules, key, &dir, None, 20_000)
                .await
                .map_err(|e| RefreshError::Mask(e.to_string()))
        })
        .await?;
    if !report.ok {
        for f in &report.findings {
            ctx.say(&format!(
                "verify: {} {}{}: {}",
                f.id,
                f.table,
                f.column
                    .as_deref()
                    .map(|c| format!(".{c}"))
                    .unwrap_or_default(),
                f.message
            ));
        }
        return Err(RefreshError::Verify {
            count: report.findings.len(),
            report: report.report_file,
        });
    }
    Ok(json!({"report": report.report_file, "tables": report.tables.len()}))
}

/// Asks the database through the serving name: the cluster now called `<name>` must be this
/// run's, and answer a query with its new password.
async fn answers(ctx: &Ctx<'_>) -> Result<(), RefreshError> {
    let name = &ctx.r.settings.target.cluster;
    let c = ctx
        .r
        .target
        .cluster(name)
        .await?
        .ok_or_else(|| RefreshError::Switch(format!("no cluster answers to {name}")))?;
    if c.tags.get(RUN_TAG) != Some(&ctx.st.run_id) {
        return Err(RefreshError::Switch(format!(
            "{name} is not this run's cluster"
        )));
    }
    let db = db_url(ctx, name).await?;
    select_1(&db, &format!("the switch-over check through {name}")).await
}

/// Connects to `db` and runs `SELECT 1`.
async fn select_1(db: &Reached, during: &str) -> Result<(), RefreshError> {
    db.guard(during, async {
        let fail = |e: kirikae_mask::db::DbError| RefreshError::Switch(e.to_string());
        let mut conn = Conn::connect(&db.url).await.map_err(fail)?;
        conn.value("SELECT 1").await.map_err(fail)?;
        Ok(())
    })
    .await
}

/// Tries `check` up to 5 times, waiting longer after each failure: `None` once it succeeds,
/// else the last failure.
async fn last_failure<F, Fut>(mut check: F) -> Option<RefreshError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), RefreshError>>,
{
    let mut last = None;
    for attempt in 0..5u32 {
        match check().await {
            Ok(()) => return None,
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt + 1))).await;
            }
        }
    }
    last
}

/// The error of a switch-over check that failed with `last` after the switch was undone: a
/// tunnel that failed is named as such (the run is kept: the masked copy need not be made
/// again once the tunnel works); anything else is the switch-over's failure, `what` and the
/// state the switch was undone to.
fn switch_failed(last: RefreshError, what: String) -> RefreshError {
    if last.keeps_run() {
        last
    } else {
        RefreshError::Switch(what)
    }
}

async fn switch_over(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let detail = match ctx.r.settings.switch.clone() {
        kirikae_config::SwitchMethod::Rename => switch_rename(ctx).await?,
        kirikae_config::SwitchMethod::Cname { zone, record } => {
            switch_cname(ctx, &zone, &record).await?
        }
    };
    // From here the new cluster serves: a later failure must not delete it.
    let keep: Vec<Created> = ctx
        .st
        .created
        .iter()
        .filter(|c| {
            c.account == ctx.r.target.account
                && [&ctx.names.new_cluster, &ctx.names.writer, &ctx.names.secret].contains(&&c.id)
        })
        .cloned()
        .collect();
    for c in keep {
        ctx.removed(&c)?;
    }
    Ok(detail)
}

/// The tag naming the DNS record a cluster serves (cname switch-over).
const SERVES_TAG: &str = "kirikae:serves";

async fn switch_cname(ctx: &mut Ctx<'_>, zone: &str, record: &str) -> Result<Value, RefreshError> {
    let t = ctx.r.target.clone();
    let (new_id, retired) = (ctx.names.new_cluster.clone(), ctx.names.retired.clone());
    let clusters = t.clusters().await?;
    let new = clusters
        .iter()
        .find(|c| c.id == new_id)
        .cloned()
        .ok_or_else(|| RefreshError::Refused(format!("the new cluster {new_id} is gone")))?;
    let endpoint = new.endpoint.clone().unwrap_or_default();
    // The serving cluster: the one tagged as serving the record, else the configured name.
    let old = clusters
        .iter()
        .find(|c| c.id != new_id && c.tags.get(SERVES_TAG).map(String::as_str) == Some(record))
        .or_else(|| {
            clusters
                .iter()
                .find(|c| c.id != new_id && c.id == ctx.r.settings.target.cluster)
        })
        .cloned();
    let previous = t.cname(zone, record).await?;
    let flip = Instant::now();
    if previous.as_deref() != Some(endpoint.as_str()) {
        ctx.say(&format!(
            "switch_over: {record} -> {endpoint} (was {})",
            previous.as_deref().unwrap_or("none")
        ));
        t.upsert_cname(zone, record, &endpoint).await?;
    }
    let flip_ms = flip.elapsed().as_millis() as u64;
    // The check through the name: the record's value, with the new cluster's credentials.
    let last = last_failure(|| async {
        let host = t
            .cname(zone, record)
            .await?
            .ok_or_else(|| RefreshError::Switch(format!("no record {record}")))?;
        if host != endpoint {
            return Err(RefreshError::Switch(format!(
                "{record} points to {host}, not {endpoint}"
            )));
        }
        let db = db_url_via(ctx, &new_id, Some(&host)).await?;
        select_1(&db, &format!("the switch-over check through {record}")).await
    })
    .await;
    if let Some(last) = last {
        ctx.say(&format!(
            "switch_over: the new cluster does not answer through {record} ({last}): rolling back, {record} -> {}",
            previous.as_deref().unwrap_or("(deleted: there was no record before)")
        ));
        match &previous {
            Some(p) => t.upsert_cname(zone, record, p).await?,
            // there was no record: do not leave one naming a cluster the clean-up deletes
            None => t.delete_cname(zone, record, &endpoint).await?,
        }
        let what = format!(
            "the new cluster did not answer through {record}: {last}; {}",
            previous
                .as_deref()
                .map(|p| format!("the record points back to {p}"))
                .unwrap_or_else(|| "the record, which did not exist before, is deleted".into())
        );
        return Err(switch_failed(last, what));
    }
    t.add_tags(
        &new.arn,
        &BTreeMap::from([(SERVES_TAG.to_string(), record.to_string())]),
    )
    .await?;
    let mut retired_list = Vec::new();
    if let Some(old) = old {
        if old.id != retired {
            ctx.say(&format!(
                "switch_over: {} -> {retired} (no longer behind {record})",
                old.id
            ));
            t.rename_cluster(&old.id, &retired).await?;
            ctx.wait_cluster(RefreshStep::SwitchOver, &t, &retired, false)
                .await?;
        }
        if let Some(o) = t.cluster(&retired).await? {
            t.remove_tags(&o.arn, &[SERVES_TAG]).await?;
        }
        retired_list.push(retired);
    }
    Ok(json!({"flip_ms": flip_ms, "record": record, "endpoint": endpoint, "retired": retired_list}))
}

async fn switch_rename(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let t = ctx.r.target.clone();
    let name = ctx.r.settings.target.cluster.clone();
    let (new_id, retired) = (ctx.names.new_cluster.clone(), ctx.names.retired.clone());
    let serving = t.cluster(&name).await?;
    let ours = serving
        .as_ref()
        .is_some_and(|c| c.tags.get(RUN_TAG) == Some(&ctx.st.run_id));
    let flip = Instant::now();
    let mut retired_list = Vec::new();
    if !ours {
        if serving.is_some() {
            ctx.say(&format!("switch_over: {name} -> {retired}"));
            t.rename_cluster(&name, &retired).await?;
            ctx.wait_cluster(RefreshStep::SwitchOver, &t, &retired, false)
                .await?;
        }
        ctx.say(&format!("switch_over: {new_id} -> {name}"));
        if let Err(e) = t.rename_cluster(&new_id, &name).await {
            if t.cluster(&retired).await?.is_some() && t.cluster(&name).await?.is_none() {
                t.rename_cluster(&retired, &name).await?;
            }
            return Err(RefreshError::Switch(format!("renaming {new_id} to {name} failed ({e}); {name} was given back to the previous cluster")));
        }
        ctx.wait_cluster(RefreshStep::SwitchOver, &t, &name, false)
            .await?;
    }
    let flip_ms = flip.elapsed().as_millis() as u64;
    if t.cluster(&retired).await?.is_some() {
        retired_list.push(retired.clone());
    }
    // The check through the switched name, a few tries (DNS and sessions settle on AWS).
    let last = last_failure(|| answers(ctx)).await;
    if let Some(last) = last {
        ctx.say(&format!(
            "switch_over: the new cluster does not answer through {name} ({last}): rolling back"
        ));
        t.rename_cluster(&name, &new_id).await?;
        ctx.wait_cluster(RefreshStep::SwitchOver, &t, &new_id, false)
            .await?;
        if !retired_list.is_empty() {
            t.rename_cluster(&retired, &name).await?;
            ctx.wait_cluster(RefreshStep::SwitchOver, &t, &name, false)
                .await?;
        }
        let what = format!("the new cluster did not answer through {name}: {last}; rolled back, {name} serves the previous cluster");
        return Err(switch_failed(last, what));
    }
    Ok(json!({"flip_ms": flip_ms, "retired": retired_list}))
}

async fn delete_cluster_fully(ctx: &Ctx<'_>, cloud: &Cloud, id: &str) -> Result<(), RefreshError> {
    let Some(c) = cloud.cluster(id).await? else {
        return Ok(());
    };
    if c.deletion_protection {
        cloud.set_deletion_protection(id, false).await?;
    }
    for m in &c.members {
        cloud.delete_instance(m).await?;
    }
    for m in &c.members {
        ctx.wait_instance(RefreshStep::RetireOld, cloud, m, true)
            .await?;
    }
    cloud.delete_cluster(id).await?;
    ctx.wait(
        RefreshStep::RetireOld,
        &format!("deletion of {id}"),
        false,
        || async { Ok(cloud.cluster(id).await?.map(|c| c.status)) },
    )
    .await?;
    if let Some(secret) = c.tags.get(SECRET_TAG) {
        if secret.contains(":secret:kirikae/refresh/") {
            cloud.delete_secret(secret).await?;
        }
    }
    Ok(())
}

async fn retire_old(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let t = ctx.r.target.clone();
    let prefix = format!("{}-retired-", ctx.r.settings.target.cluster);
    let mut retired: Vec<String> = t
        .clusters()
        .await?
        .into_iter()
        .map(|c| c.id)
        .filter(|id| id.starts_with(&prefix))
        .collect();
    retired.sort();
    let keep = ctx.r.settings.keep_retired as usize;
    let delete: Vec<String> = retired[..retired.len().saturating_sub(keep)].to_vec();
    for id in &delete {
        ctx.say(&format!("retire_old: deleting {id}"));
        delete_cluster_fully(ctx, &t, id).await?;
    }
    Ok(json!({"deleted": delete, "kept": retired[retired.len().saturating_sub(keep)..]}))
}

/// The kinds of what a run creates, in the order they are removed.
const CLEAN_UP_ORDER: [&str; 6] = [
    "instance",
    "cluster",
    "secret",
    "snapshot_share",
    "snapshot",
    "ram_share",
];

/// Removes every created resource of `kind` still there.
async fn remove_kind(ctx: &mut Ctx<'_>, kind: &str) -> Result<(), RefreshError> {
    let items: Vec<Created> = ctx
        .st
        .left_over()
        .into_iter()
        .filter(|c| c.kind == kind)
        .collect();
    for c in items.iter().rev() {
        let cloud = ctx.cloud(&c.account).clone();
        match kind {
            "ram_share" => {
                if let Some(arn) = cloud.resource_share(&c.id).await? {
                    cloud.delete_resource_share(&arn).await?;
                }
            }
            "snapshot_share" if cloud.snapshot(&c.id).await?.is_some() => {
                cloud
                    .share_snapshot(&c.id, &ctx.r.target.account_id, false)
                    .await?;
            }
            "snapshot" => cloud.delete_snapshot(&c.id).await?,
            "instance" => {
                cloud.delete_instance(&c.id).await?;
                ctx.wait_instance(RefreshStep::CleanUp, &cloud, &c.id, true)
                    .await?;
            }
            "cluster" => delete_cluster_fully(ctx, &cloud, &c.id).await?,
            "secret" => cloud.delete_secret(&c.id).await?,
            _ => {}
        }
        ctx.removed(c)?;
    }
    Ok(())
}

async fn clean_up(ctx: &mut Ctx<'_>) -> Result<Value, RefreshError> {
    let before = ctx.st.left_over();
    // The temporary cluster of mask_in = "source" (the new cluster, its writer and secret
    // were taken off the list at the switch-over), then the snapshots and shares.
    for kind in CLEAN_UP_ORDER {
        remove_kind(ctx, kind).await?;
    }
    Ok(
        json!({"removed": before.iter().map(|c| format!("{} {} ({})", c.kind, c.id, c.account)).collect::<Vec<_>>()}),
    )
}

/// After a failure: everything the run created and still has, newest first. The serving
/// cluster was never touched before the switch-over, so nothing of it needs undoing.
async fn clean_up_failed(ctx: &mut Ctx<'_>) -> Result<(), RefreshError> {
    for kind in CLEAN_UP_ORDER {
        remove_kind(ctx, kind).await?;
    }
    Ok(())
}
