//! The journal of one run: JSON lines appended (and synced) as the run goes, under
//! `<state dir>/refresh/<name>/<run id>.jsonl`. Replaying it gives where the run is, what it
//! decided and what it created; that is all `resume`, `status` and the clean-up need.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::step::RefreshStep;

/// Something a run created, to be removed if the run fails (and by the clean-up step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// `cluster`, `instance`, `snapshot`, `snapshot_share`, `ram_share`, `secret`
    pub kind: String,
    /// The config's account name.
    pub account: String,
    pub id: String,
}

#[derive(Debug, Clone)]
pub struct Journal {
    pub path: PathBuf,
}

/// Where a run is, from its journal.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunState {
    pub run_id: String,
    pub name: String,
    pub started_at: String,
    pub keep_on_failure: bool,
    /// `clone` or `snapshot`, once decided, and why.
    pub copy_path: Option<String>,
    pub copy_reason: Option<String>,
    /// Finished steps with their wall time in seconds, in order.
    pub done: Vec<(RefreshStep, f64)>,
    pub details: BTreeMap<String, Value>,
    pub current: Option<RefreshStep>,
    pub created: Vec<Created>,
    pub removed: Vec<Created>,
    pub failed: Option<String>,
    pub cleaned_up: bool,
    pub finished: bool,
    pub calls: BTreeMap<String, u64>,
}

impl RunState {
    pub fn is_done(&self, step: RefreshStep) -> bool {
        self.done.iter().any(|(s, _)| *s == step)
    }
    /// What the run created and has not removed.
    pub fn left_over(&self) -> Vec<Created> {
        self.created
            .iter()
            .filter(|c| !self.removed.contains(c))
            .cloned()
            .collect()
    }
    pub fn status(&self) -> &'static str {
        if self.finished {
            "finished"
        } else if self.failed.is_some() && self.cleaned_up {
            "failed (cleaned up)"
        } else if self.failed.is_some() {
            "failed (resumable)"
        } else {
            "interrupted (resumable)"
        }
    }
}

impl Journal {
    pub fn dir(state_dir: &Path, name: &str) -> PathBuf {
        state_dir.join("refresh").join(name)
    }

    pub fn create(state_dir: &Path, name: &str, run_id: &str) -> std::io::Result<Journal> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = Journal::dir(state_dir, name);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        Ok(Journal {
            path: dir.join(format!("{run_id}.jsonl")),
        })
    }

    /// The journal of a run id, whichever refresh it belongs to.
    pub fn find(state_dir: &Path, run_id: &str) -> Option<Journal> {
        // A run id is letters, digits and hyphens: anything else is not one (nor a path).
        if run_id.is_empty()
            || !run_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return None;
        }
        let root = state_dir.join("refresh");
        for entry in std::fs::read_dir(root).ok()?.flatten() {
            let p = entry.path().join(format!("{run_id}.jsonl"));
            if p.is_file() {
                return Some(Journal { path: p });
            }
        }
        None
    }

    /// Every journal, oldest first (run ids sort by time).
    pub fn all(state_dir: &Path) -> Vec<Journal> {
        let mut out = Vec::new();
        let root = state_dir.join("refresh");
        for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(entry.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let p = f.path();
                if p.extension().is_some_and(|e| e == "jsonl") {
                    out.push(Journal { path: p });
                }
            }
        }
        out.sort_by_key(Journal::run_id);
        out
    }

    pub fn run_id(&self) -> String {
        self.path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string()
    }

    /// Appends one event (with the time) and syncs it: a crash right after a step must find it.
    pub fn append(&self, event: &str, mut fields: Value) -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        if !fields.is_object() {
            fields = json!({});
        }
        let obj = fields.as_object_mut().expect("an object");
        obj.insert("event".into(), json!(event));
        obj.insert(
            "at".into(),
            json!(kirikae_aws::format_utc(std::time::SystemTime::now())),
        );
        let mut line = serde_json::to_vec(&fields)?;
        line.push(b'\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        f.write_all(&line)?;
        f.sync_data()
    }

    pub fn replay(&self) -> std::io::Result<RunState> {
        let text = std::fs::read_to_string(&self.path)?;
        let mut st = RunState {
            run_id: self.run_id(),
            ..RunState::default()
        };
        // A crash can leave a half-written last line: it is ignored (the step reruns).
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
            let step = || s("step").and_then(|n| RefreshStep::from_name(&n));
            match s("event").as_deref() {
                Some("started") => {
                    st.name = s("name").unwrap_or_default();
                    st.started_at = s("at").unwrap_or_default();
                    st.keep_on_failure = v["keep_on_failure"].as_bool().unwrap_or(false);
                }
                Some("resumed") => {
                    st.failed = None;
                    if let Some(k) = v["keep_on_failure"].as_bool() {
                        st.keep_on_failure = k;
                    }
                }
                Some("decided") => {
                    st.copy_path = s("copy_path");
                    st.copy_reason = s("reason");
                }
                Some("step_started") => st.current = step(),
                Some("step_done") => {
                    if let Some(step) = step() {
                        st.done.push((step, v["seconds"].as_f64().unwrap_or(0.0)));
                        if !v["detail"].is_null() {
                            st.details.insert(step.name().into(), v["detail"].clone());
                        }
                    }
                    st.current = None;
                }
                Some("created") => {
                    if let Ok(c) = serde_json::from_value::<Created>(v.clone()) {
                        if !st.created.contains(&c) {
                            st.created.push(c);
                        }
                    }
                }
                Some("removed") => {
                    if let Ok(c) = serde_json::from_value::<Created>(v.clone()) {
                        if !st.removed.contains(&c) {
                            st.removed.push(c);
                        }
                    }
                }
                Some("failed") => st.failed = s("error"),
                Some("cleaned_up") => st.cleaned_up = true,
                Some("finished") => {
                    st.finished = true;
                    if let Ok(c) = serde_json::from_value(v["calls"].clone()) {
                        st.calls = c;
                    }
                }
                _ => {}
            }
        }
        Ok(st)
    }
}
