//! What a run tells as it goes ([`Event`], to a [`Reporter`]: the CLI renders it, the journal
//! records it) and what it gives at the end ([`RunReport`]).

use std::path::PathBuf;

use serde::Serialize;

use crate::key::KeySource;
use crate::plan::Path;

/// What a run reports as it goes (the CLI renders it; the journal records it).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Started {
        database: String,
        key: KeySource,
        resumed: bool,
        state_dir: PathBuf,
    },
    Planned {
        table: String,
        path: Path,
        masked: Vec<String>,
        streamed: Vec<String>,
        rows_estimate: u64,
    },
    Fingerprinted {
        table: String,
        rows: u64,
        columns: Vec<String>,
    },
    Progress(Progress),
    /// The copy is in; the secondary indexes it went without are being built on it.
    BuildingIndexes {
        table: String,
        indexes: Vec<String>,
    },
    IndexesBuilt {
        table: String,
        indexes: Vec<String>,
        seconds: f64,
    },
    Swapped {
        table: String,
    },
    /// A table masked in place was rewritten into new files (no old row version left).
    Rewritten {
        table: String,
        seconds: f64,
    },
    TableDone {
        table: String,
        path: Path,
        rows: u64,
        seconds: f64,
    },
    Finished {
        tables: usize,
        rows: u64,
        seconds: f64,
    },
    /// Resuming: statements of the interrupted run still running on the server (the server
    /// finishes a statement whose client died); the run waits for them before going on.
    WaitingForInterrupted {
        statements: Vec<String>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub table: String,
    pub rows: u64,
    pub table_total: u64,
    pub rows_per_s: f64,
    pub table_eta_s: Option<f64>,
    pub overall_rows: u64,
    pub overall_total: u64,
    pub overall_eta_s: Option<f64>,
}

pub trait Reporter: Send + Sync {
    fn event(&self, event: &Event);
}

/// A reporter that shows nothing.
pub struct Quiet;
impl Reporter for Quiet {
    fn event(&self, _: &Event) {}
}

#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub table: String,
    pub path: Path,
    pub rows: u64,
    pub seconds: f64,
    pub rows_per_s: f64,
    /// Already done by the interrupted run being resumed.
    pub skipped: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub database: String,
    pub key: KeySource,
    pub reproducible: bool,
    pub state_dir: PathBuf,
    pub tables: Vec<TableReport>,
    pub rows: u64,
    pub seconds: f64,
}
