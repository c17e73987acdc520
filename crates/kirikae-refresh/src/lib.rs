//! kirikae's staging refresh: rebuild the staging Aurora cluster of one account from the
//! production cluster of another, masked, without staging downtime, and without tripping
//! Aurora's one-cross-account-clone-per-account limit.
//!
//! A run is a journal-backed pipeline ([`step::RefreshStep`]): every step is idempotent and names
//! what it creates after the run id, so [`resume`] continues after a crash at any point. The
//! serving staging cluster is not touched before the switch-over; on failure everything the run
//! created is removed (unless `keep_on_failure`).
//!
//! ```no_run
//! # async fn example(estate: std::sync::Arc<kirikae_aws::Estate>) -> Result<(), kirikae_refresh::RefreshError> {
//! let refresh = kirikae_refresh::Refresh::open(estate, "staging").await?;
//! let plan = refresh.plan().await?;
//! println!("{:?}: {}", plan.copy_path, plan.reason);
//! let outcome = refresh
//!     .run(&kirikae_refresh::RunOptions::default(), std::sync::Arc::new(kirikae_refresh::Silent))
//!     .await?;
//! println!("{} finished in {:.1} s", outcome.run_id, outcome.seconds);
//! # Ok(()) }
//! ```

pub mod cloud;
pub mod journal;
pub mod lock;
pub mod notify;
pub mod preflight;
mod run;
pub mod step;
pub mod tunnel;

use std::path::PathBuf;
use std::sync::Arc;

use kirikae_aws::Estate;
use kirikae_config::RefreshSettings;

pub use cloud::{CallCounter, CallError, Cloud};
pub use journal::{Created, Journal, RunState};
pub use preflight::{Check, CopyPath, Plan};
pub use run::{resume, RunOptions, RunOutcome};
pub use step::RefreshStep;

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("there is no [refresh.{name}] in the config (known: {known})")]
    UnknownRefresh { name: String, known: String },
    #[error(
        "no refresh run {0} in the state directory {1} (`kirikae refresh list` shows the runs)"
    )]
    UnknownRun(String, PathBuf),
    #[error(transparent)]
    Credentials(#[from] kirikae_aws::AwsError),
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("preflight failed, nothing was created:\n{}", .0.iter().map(|c| format!("  - {}: {}\n    fix: {}", c.name, c.detail, c.fix.as_deref().unwrap_or("-"))).collect::<Vec<_>>().join("\n"))]
    Preflight(Vec<Check>),
    #[error("{0}")]
    CloneLimit(String),
    #[error("{0}")]
    NeedsConfirm(String),
    #[error("{step}: waited {waited_s:.0} s for {what}, over the budget of {budget_s} s (raise refresh.<name>.budget.{budget_key}, then `kirikae refresh resume <run id>`)")]
    Timeout {
        step: RefreshStep,
        what: String,
        waited_s: f64,
        budget_s: u64,
        budget_key: &'static str,
    },
    #[error("masking: {0}")]
    Mask(String),
    /// The masking rules do not fit the copy of production (a column added in production...):
    /// nothing was masked. Every problem is named with the rule `kirikae mask init` proposes,
    /// since the copy is removed and cannot be checked afterwards.
    #[error(
        "masking: the rules {} do not fit the database ({} problem{}; nothing was masked):\n{}\n\
         add a rule for each to {} (`kirikae mask init --update {} --url <a database with this \
         schema>` adds the suggested ones, marked `# review`), then start a new run",
        .rules.display(),
        .problems.len(),
        if .problems.len() == 1 { "" } else { "s" },
        .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"),
        .rules.display(),
        .rules.display()
    )]
    MaskRules {
        rules: PathBuf,
        problems: Vec<kirikae_mask::init::Suggestion>,
    },
    #[error("verify found {count} problem(s); the new cluster does not replace staging (report: {report})")]
    Verify { count: usize, report: PathBuf },
    #[error("switch-over: {0}")]
    Switch(String),
    #[error("{0}")]
    Refused(String),
    #[error(
        "refresh {name} is driven by another process: {}; wait for it to end \
         (`kirikae refresh status <run id>` shows where it is); do not start or resume a run beside \
         it: both would work on the same clusters (lock: {})",
        .holder.as_ref().map_or_else(|| "which has not yet written who it is".to_string(), |h| h.describe()),
        .lock.display()
    )]
    Busy {
        name: String,
        /// Boxed: the error is returned by every step, and a holder is rare and large.
        holder: Option<Box<lock::Holder>>,
        lock: std::path::PathBuf,
    },
    #[error(
        "refresh {name} is driven from elsewhere: {holder} (the tag {marker}); wait for it to end; \
         if that process is gone, rerun with --take-over-lock"
    )]
    BusyElsewhere {
        name: String,
        holder: String,
        marker: String,
    },
    /// A tunnel command that did not come up, or ended while it was used. The run is kept
    /// (not cleaned up): what it made so far is sound, only the way to it failed.
    #[error(
        "the run {run_id} is kept as it is (once the tunnel works, \
         `kirikae refresh resume {run_id}` starts a new one and continues)"
    )]
    Tunnel {
        run_id: String,
        #[source]
        error: Box<tunnel::TunnelError>,
    },
    #[error("the journal {path}: {error}")]
    Journal {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl RefreshError {
    /// The error with its causes (`error: cause: cause`), as the journal records it and the
    /// CLI prints it.
    pub fn with_causes(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        text
    }

    /// Input the user must fix before anything can run (exit 2 in the CLI).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            RefreshError::UnknownRefresh { .. } | RefreshError::UnknownRun(..)
        )
    }

    /// A failure after which the run is kept for `resume` even without `--keep-on-failure`:
    /// the way to the database failed (a tunnel), not the work, which a resume continues.
    pub fn keeps_run(&self) -> bool {
        matches!(self, RefreshError::Tunnel { .. })
    }

    /// A protected target without the right `--confirm <alias>`: nothing ran.
    pub fn is_not_confirmed(&self) -> bool {
        matches!(self, RefreshError::NeedsConfirm(..))
    }
}

/// What a run reports as it goes (the CLI prints it on stderr).
pub trait Reporter: Send + Sync {
    fn line(&self, text: &str);
    /// A wait after each poll (a live view, e.g. a progress bar; the lines said every 10 s
    /// come through [`Reporter::line`] as well). Nothing by default.
    fn wait(&self, wait: &Wait<'_>) {
        let _ = wait;
    }
}

/// One poll of a wait: what the step waits for, for how long so far, within which budget.
#[derive(Debug, Clone, Copy)]
pub struct Wait<'a> {
    /// The step, as the journal names it (`copy`, `restore`...).
    pub step: &'a str,
    /// What it waits for (`cluster staging-2026-12-06 available`).
    pub what: &'a str,
    /// Its state at this poll; `None` once the wait is over (done or timed out).
    pub state: Option<&'a str>,
    pub waited: std::time::Duration,
    pub budget: std::time::Duration,
}

/// A reporter that shows nothing.
pub struct Silent;
impl Reporter for Silent {
    fn line(&self, _: &str) {}
}

/// One `[refresh.<name>]` with the clients of its two accounts.
pub struct Refresh {
    pub name: String,
    pub settings: RefreshSettings,
    pub source: Cloud,
    pub target: Cloud,
    pub counter: CallCounter,
    pub state_dir: PathBuf,
    /// The target account is `protected`: `run` needs `--confirm <this>`.
    pub target_confirm: Option<String>,
}

/// The alias `--confirm` must name for refresh `settings`: its target account's, when that
/// account is protected.
fn target_confirm(config: &kirikae_config::Config, settings: &RefreshSettings) -> Option<String> {
    config
        .account(&settings.target.account)
        .filter(|(_, a)| a.protected)
        .map(|(name, a)| a.alias.clone().unwrap_or_else(|| name.to_string()))
}

/// A protected target account needs `--confirm <alias>`: the refresh replaces its cluster.
/// Read from the config alone, so it is checked before any credentials are asked for.
pub fn check_confirm(
    config: &kirikae_config::Config,
    name: &str,
    confirm: Option<&str>,
) -> Result<(), RefreshError> {
    let Some(settings) = config.refresh.get(name) else {
        return Ok(()); // `Refresh::open` names the unknown refresh
    };
    require_confirm(
        target_confirm(config, settings).as_deref(),
        settings,
        confirm,
    )
}

fn require_confirm(
    alias: Option<&str>,
    settings: &RefreshSettings,
    confirm: Option<&str>,
) -> Result<(), RefreshError> {
    match alias {
        Some(alias) if confirm != Some(alias) => Err(RefreshError::NeedsConfirm(format!(
            "the target account {} is protected and this refresh replaces its cluster {}: \
             pass --confirm {alias} if that is what you mean{}",
            settings.target.account,
            settings.target.cluster,
            match confirm {
                Some(c) => format!(" (--confirm {c} is not its alias)"),
                None => String::new(),
            }
        ))),
        _ => Ok(()),
    }
}

impl Refresh {
    /// A protected target account needs `--confirm <alias>`: the refresh replaces its cluster.
    pub fn check_confirm(&self, confirm: Option<&str>) -> Result<(), RefreshError> {
        require_confirm(self.target_confirm.as_deref(), &self.settings, confirm)
    }

    pub async fn open(estate: Arc<Estate>, name: &str) -> Result<Refresh, RefreshError> {
        let config = estate.config();
        let Some(settings) = config.refresh.get(name).cloned() else {
            let known: Vec<&str> = config.refresh.keys().map(String::as_str).collect();
            return Err(RefreshError::UnknownRefresh {
                name: name.to_string(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        };
        let counter = CallCounter::default();
        let cloud = |account: &str| {
            let estate = estate.clone();
            let counter = counter.clone();
            let account = account.to_string();
            async move {
                let id = estate
                    .config()
                    .account(&account)
                    .map(|(_, a)| a.id.to_string())
                    .unwrap_or_default();
                let sdk = estate.sdk_config(&account).await?;
                Ok::<_, RefreshError>(Cloud::new(&account, &id, &sdk, &counter))
            }
        };
        let target_confirm = target_confirm(config, &settings);
        let source = cloud(&settings.source.account).await?;
        let target = cloud(&settings.target.account).await?;
        Ok(Refresh {
            name: name.to_string(),
            state_dir: kirikae_aws::state::state_dir(config.state_dir.as_deref()),
            settings,
            source,
            target,
            counter,
            target_confirm,
        })
    }
}

/// Every run recorded in the state directory, oldest first.
pub fn list(state_dir: &std::path::Path) -> Vec<RunState> {
    Journal::all(state_dir)
        .into_iter()
        .filter_map(|j| j.replay().ok())
        .collect()
}

/// Where one run is.
pub fn status(state_dir: &std::path::Path, run_id: &str) -> Result<RunState, RefreshError> {
    let j = Journal::find(state_dir, run_id)
        .ok_or_else(|| RefreshError::UnknownRun(run_id.into(), state_dir.to_path_buf()))?;
    j.replay().map_err(run::journal_error(&j))
}
