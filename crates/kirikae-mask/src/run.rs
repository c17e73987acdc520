//! `mask run`: masks a database in place, table by table, each by the path the planner chose
//! ([`crate::plan`]), resumable after a crash or a lost connection.
//!
//! Exactly once: the original table is never written. Rows are copied, masked, into a new
//! table by key ranges; each chunk commits on its own *together with* its progress row in
//! `_kirikae_progress` (same transaction), so after a crash the database itself says which
//! chunks are in: `--resume` continues after the last committed key and no row is copied (so
//! masked) twice. The swap is the one step that is not idempotent: on PostgreSQL it is one
//! transaction that also marks the table done; on MySQL the progress row records the swap's
//! plan (foreign keys and triggers to move) and the state `swapping` before `RENAME TABLE`, and
//! finishing looks at what exists before acting ([`crate::db::mysql::finish_swap`]).
//!
//! Before a table is masked, keyed fingerprints of its masked columns' originals are written
//! to the state directory ([`crate::state`]) for `verify`.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use crate::check::Problem;
use crate::db::{self, Conn, DbError, DbUrl, Live, PROGRESS_TABLE};
use crate::plan::{self, Path, PathChoice, TablePlan, SRC, TMP_ALIAS};
use crate::prf::Prf;
use crate::rules::Rules;
use crate::state::{self, RunInfo, StateDir, StateError};
use crate::transform::{Dialect, RowView};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the rules do not fit the database ({} problem{}); run `kirikae mask check` for the list", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Check(Vec<Problem>),
    #[error("{0}")]
    Refused(String),
    /// Another run holds the database's lock ([`crate::lock`]).
    #[error("{0}")]
    Busy(String),
}

/// Where the masking key came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum KeySource {
    Env,
    File(PathBuf),
    /// No key given: random for this run (saved in the state directory for `--resume` only).
    Random,
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env => f.write_str("$KIRIKAE_MASK_KEY"),
            KeySource::File(p) => write!(f, "{}", p.display()),
            KeySource::Random => f.write_str("a random key (results are not reproducible)"),
        }
    }
}

/// The environment variable holding the masking key.
pub const KEY_ENV: &str = "KIRIKAE_MASK_KEY";

/// The secret key: from the environment or a file, never from the rules file.
#[derive(Clone)]
pub struct MaskKey {
    secret: Vec<u8>,
    pub source: KeySource,
}

impl std::fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MaskKey(<secret> from {})", self.source)
    }
}

impl MaskKey {
    pub fn new(secret: &[u8], source: KeySource) -> MaskKey {
        MaskKey {
            secret: secret.to_vec(),
            source,
        }
    }

    /// `--key-file`, else `$KIRIKAE_MASK_KEY`, else none (a random key at run time).
    pub fn from_env_or_file(key_file: Option<&std::path::Path>) -> Result<Option<MaskKey>, String> {
        if let Some(p) = key_file {
            let bytes = std::fs::read(p)
                .map_err(|e| format!("cannot read the key file {}: {e}", p.display()))?;
            let trimmed = String::from_utf8_lossy(&bytes).trim().to_string();
            if trimmed.is_empty() {
                return Err(format!("the key file {} is empty", p.display()));
            }
            return Ok(Some(MaskKey::new(
                trimmed.as_bytes(),
                KeySource::File(p.to_path_buf()),
            )));
        }
        match std::env::var(KEY_ENV) {
            Ok(v) if !v.trim().is_empty() => {
                Ok(Some(MaskKey::new(v.trim().as_bytes(), KeySource::Env)))
            }
            _ => Ok(None),
        }
    }

    pub fn prf(&self) -> Prf {
        Prf::from_secret(&self.secret)
    }

    /// The value `run.json` keeps to recognise this key (a resume or a verify with another key
    /// is refused): derived from the key and the run's salt, it does not give the key away.
    pub fn check_value(&self, salt: &str) -> String {
        state::kdf(&self.secret, "kirikae-mask key check v2", salt)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The fingerprinter of the run with this salt (its key is derived, never stored).
    pub fn fingerprinter(&self, salt: &str) -> state::Fingerprinter {
        state::Fingerprinter::derive(&self.secret, salt)
    }
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Rows per chunk (each chunk commits on its own).
    pub chunk_rows: u64,
    /// Continue an interrupted run.
    pub resume: bool,
    /// Tables masked at once (one connection each).
    pub jobs: usize,
    /// Which path the planner prefers.
    pub path: PathChoice,
    /// Connections per table on the server-side paths (rebuild, update): the key range is cut
    /// into this many slices.
    pub parallel: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            chunk_rows: 20_000,
            resume: false,
            jobs: 2,
            path: PathChoice::Auto,
            parallel: 2,
        }
    }
}

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

/// Shared by the workers of one run.
pub(crate) struct Shared {
    pub(crate) url: DbUrl,
    pub(crate) state: StateDir,
    pub(crate) info: Mutex<RunInfo>,
    reporter: Arc<dyn Reporter>,
    started: Instant,
    overall_done: Mutex<(u64, u64)>,
    pub(crate) opts: RunOptions,
    pub(crate) prf: Prf,
    pub(crate) fp_prf: state::Fingerprinter,
    rules: Rules,
    /// Set when the connection holding the run's lock failed.
    lock_lost: Arc<std::sync::atomic::AtomicBool>,
    /// Swaps run one at a time: a swap alters the tables that reference the swapped one, which
    /// may be swapping themselves.
    swap_lock: tokio::sync::Mutex<()>,
}

impl Shared {
    /// Stops the run when its lock is gone (another run could take the database).
    fn check_lock(&self) -> Result<(), RunError> {
        if self.lock_lost.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(RunError::Refused(
                "the connection holding this run's lock on the database failed, so another run \
                 could start: stopped; what was committed stays committed, `kirikae mask run \
                 --resume` continues"
                    .into(),
            ));
        }
        Ok(())
    }

    fn emit(&self, e: Event) {
        self.reporter.event(&e);
        // Progress lines are many: the journal keeps them too (they are the record of rates).
        if let Ok(v) = serde_json::to_value(&e) {
            let mut v = v;
            if let Some(o) = v.as_object_mut() {
                o.insert("at".into(), json!(state::now()));
            }
            let _ = self.state.journal(&v);
        }
    }

    fn save_info(&self) -> Result<(), StateError> {
        let info = self.info.lock().map(|i| i.clone()).unwrap_or_default();
        self.state.write_run(&info)
    }
}

/// The check and the plans, without touching any row (`run` does this first).
pub async fn prepare(
    conn: &mut Conn,
    rules: &Rules,
    prf: &Prf,
    choice: PathChoice,
) -> Result<(Live, Vec<TablePlan>), RunError> {
    let mut live = conn.introspect().await?;
    let problems = crate::check::check(rules, &live.schema);
    if !problems.is_empty() {
        return Err(RunError::Check(problems));
    }
    for t in conn.tables_with_update_triggers().await? {
        live.extras.entry(t).or_default().update_triggers = true;
    }
    let mut plans: Vec<TablePlan> = live
        .schema
        .tables
        .iter()
        .filter_map(|t| {
            let tr = rules.table(&t.name)?;
            Some(plan::plan_table(
                conn.dialect(),
                prf,
                tr,
                t,
                &live.extras(&t.name),
                choice,
            ))
        })
        .collect();
    if choice == PathChoice::Auto {
        for p in plans.iter_mut() {
            sparse_to_update(conn, p).await?;
        }
    }
    Ok((live, plans))
}

/// Auto: a table where few rows have anything to mask is masked in place, which also needs no
/// second copy of the table and no swap. Measured (bench/mask/paths, bench/mask/RESULTS.md):
/// chunked UPDATEs of a column that is in no index beat the copy paths on MariaDB even when
/// every row changes (InnoDB updates in place, the copy rebuilds every index), while on
/// PostgreSQL every updated row is a new row version with new index entries, and the load path
/// is faster from about 1 row in 10 changing. The thresholds: half the rows on MySQL/MariaDB,
/// 1 in 20 on PostgreSQL.
async fn sparse_to_update(conn: &mut Conn, p: &mut TablePlan) -> Result<(), RunError> {
    let Some(filter) = p.update.as_ref().and_then(|u| u.filter.clone()) else {
        return Ok(());
    };
    if matches!(p.path, Path::Keep | Path::Update) {
        return Ok(());
    }
    let d = conn.dialect();
    let r = conn
        .rows(&format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN {filter} THEN 1 ELSE 0 END), 0) FROM {} AS {SRC}",
            d.ident(&p.table)
        ))
        .await?;
    let n = |i: usize| -> u64 {
        r.first()
            .and_then(|r| r.get(i).cloned().flatten())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (rows, changing) = (n(0), n(1));
    let share = match d {
        Dialect::MySql => 2,
        Dialect::Postgres => 20,
    };
    if rows > 0 && changing * share <= rows {
        p.path = Path::Update;
    }
    Ok(())
}

fn random_secret() -> String {
    Prf::random().key_hex().to_string()
}

/// Masks the database. `key` is `None` for a random key.
pub async fn run(
    url: &DbUrl,
    rules: &Rules,
    key: Option<MaskKey>,
    state_dir: &std::path::Path,
    opts: &RunOptions,
    reporter: Arc<dyn Reporter>,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let state = StateDir::open(state_dir)?;
    // One run per database: taken before anything is looked at, held to the end.
    let lock = match crate::lock::RunLock::acquire(url).await? {
        Ok(l) => l,
        Err(busy) => return Err(RunError::Busy(busy.message)),
    };
    let mut conn = Conn::connect(url).await?;
    let d = conn.dialect();
    let progress_exists = conn.table_exists(PROGRESS_TABLE).await?;
    if progress_exists && !opts.resume {
        return Err(RunError::Refused(format!(
            "a previous masking run on {url} did not finish (table {PROGRESS_TABLE} exists): \
             run `kirikae mask run --resume` with the same rules and key to finish it"
        )));
    }
    let previous = state.read_run()?;
    if opts.resume && !progress_exists {
        return Err(RunError::Refused(format!(
            "nothing to resume on {url}: no interrupted run (no table {PROGRESS_TABLE})"
        )));
    }
    // The key.
    let key = match key {
        Some(k) => k,
        None if opts.resume => {
            let p = state.random_key_file();
            let secret = std::fs::read_to_string(&p).map_err(|_| {
                RunError::Refused(format!(
                    "the interrupted run used a key that was not given now: set ${KEY_ENV} or \
                     --key-file as for that run (no random key saved in {})",
                    p.display()
                ))
            })?;
            MaskKey::new(secret.trim().as_bytes(), KeySource::Random)
        }
        None => MaskKey::new(random_secret().as_bytes(), KeySource::Random),
    };
    let prf = key.prf();
    let info = if opts.resume {
        let Some(info) = previous else {
            return Err(RunError::Refused(format!(
                "cannot resume: the state directory {} has no run.json (pass the --state-dir of \
                 the interrupted run)",
                state.path.display()
            )));
        };
        if info.fingerprint_scheme != state::FINGERPRINT_SCHEME {
            return Err(RunError::Refused(
                "cannot resume a run started by an older kirikae (its fingerprints were taken \
                 another way): finish it with that version"
                    .into(),
            ));
        }
        if info.key_check != key.check_value(&info.salt) {
            return Err(RunError::Refused(
                "cannot resume with another key than the interrupted run's: the tables already \
                 masked would not match the rest"
                    .into(),
            ));
        }
        info
    } else {
        state.reset()?;
        if key.source == KeySource::Random {
            state.save_random_key(&String::from_utf8_lossy(&key.secret))?;
        }
        let salt = random_secret();
        RunInfo {
            key_check: key.check_value(&salt),
            salt,
            fingerprint_scheme: state::FINGERPRINT_SCHEME.to_string(),
            key_source: key.source.to_string(),
            database: url.to_string(),
            started: state::now(),
            ..RunInfo::default()
        }
    };
    state.write_run(&info)?;
    if opts.resume {
        wait_for_interrupted(&mut conn, reporter.as_ref()).await?;
    }
    let (_live, plans) = prepare(&mut conn, rules, &prf, opts.path).await?;
    if !progress_exists {
        let ddl = match d {
            Dialect::MySql => format!(
                "CREATE TABLE {} (tbl VARCHAR(190) NOT NULL PRIMARY KEY, state VARCHAR(16) NOT NULL, \
                 last_key TEXT NULL, rows_done BIGINT NOT NULL DEFAULT 0, plan LONGTEXT NULL) \
                 ENGINE = InnoDB DEFAULT CHARSET = utf8mb4",
                d.ident(PROGRESS_TABLE)
            ),
            Dialect::Postgres => format!(
                "CREATE TABLE {} (tbl text PRIMARY KEY, state text NOT NULL, last_key text, \
                 rows_done bigint NOT NULL DEFAULT 0, plan text)",
                d.ident(PROGRESS_TABLE)
            ),
        };
        conn.exec(&ddl).await?;
    }
    lock.record(&mut conn).await?;
    db::hold("locked").await;
    let fp_prf = key.fingerprinter(&info.salt);
    let shared = Arc::new(Shared {
        url: url.clone(),
        state,
        info: Mutex::new(info),
        reporter,
        started,
        overall_done: Mutex::new((
            0,
            plans
                .iter()
                .filter(|p| p.path != Path::Keep)
                .map(|p| p.rows_estimate)
                .sum(),
        )),
        opts: opts.clone(),
        prf,
        fp_prf,
        rules: rules.clone(),
        swap_lock: tokio::sync::Mutex::new(()),
        lock_lost: lock.lost_flag(),
    });
    shared.emit(Event::Started {
        database: url.to_string(),
        key: key.source.clone(),
        resumed: opts.resume,
        state_dir: shared.state.path.clone(),
    });
    for p in &plans {
        shared.emit(Event::Planned {
            table: p.table.clone(),
            path: p.path,
            masked: p.masked.clone(),
            streamed: p.streamed.clone(),
            rows_estimate: p.rows_estimate,
        });
    }
    let queue = Arc::new(Mutex::new(plans.into_iter().collect::<VecDeque<_>>()));
    let reports = Arc::new(Mutex::new(Vec::new()));
    let jobs = opts.jobs.max(1);
    let mut workers = tokio::task::JoinSet::new();
    let mut first = Some(conn);
    for _ in 0..jobs {
        let conn = match first.take() {
            Some(c) => c,
            None => Conn::connect(url).await?,
        };
        let (queue, reports, shared) = (queue.clone(), reports.clone(), shared.clone());
        workers.spawn(async move {
            let mut conn = conn;
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                let Some(plan) = next else { break };
                shared.check_lock()?;
                let r = mask_table(&mut conn, &plan, &shared).await?;
                if let Ok(mut v) = reports.lock() {
                    v.push(r);
                }
            }
            Ok::<(), RunError>(())
        });
    }
    let mut first_error = None;
    while let Some(r) = workers.join_next().await {
        let r = r.unwrap_or_else(|e| Err(RunError::Refused(format!("a worker failed: {e}"))));
        if let Err(e) = r {
            // Stop the others at their next table; their committed chunks stay committed.
            if let Ok(mut q) = queue.lock() {
                q.clear();
            }
            first_error.get_or_insert(e);
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    shared.check_lock()?;
    let mut conn = Conn::connect(url).await?;
    conn.exec(&format!("DROP TABLE {}", d.ident(PROGRESS_TABLE)))
        .await?;
    if let Ok(mut i) = shared.info.lock() {
        i.finished = true;
    }
    shared.save_info()?;
    lock.release().await;
    let mut tables = reports.lock().map(|r| r.clone()).unwrap_or_default();
    tables.sort_by(|a, b| a.table.cmp(&b.table));
    let rows = tables.iter().map(|t| t.rows).sum();
    let seconds = started.elapsed().as_secs_f64();
    shared.emit(Event::Finished {
        tables: tables.len(),
        rows,
        seconds,
    });
    Ok(RunReport {
        database: url.to_string(),
        reproducible: key.source != KeySource::Random,
        key: key.source,
        state_dir: shared.state.path.clone(),
        tables,
        rows,
        seconds,
    })
}

/// Before a resumed run touches anything: waits until no statement of the interrupted run is
/// still running on the server. A statement whose client died runs on to its end (the server
/// notices only when it answers): an index build killed mid-way went on building the index,
/// and the resumed run, seeing it still missing, built it a second time and failed on the
/// name ("masked values collide") when the first build committed.
async fn wait_for_interrupted(conn: &mut Conn, reporter: &dyn Reporter) -> Result<(), RunError> {
    let mut told = false;
    let t0 = Instant::now();
    loop {
        let statements = db::statements_on_work_tables(conn).await?;
        if statements.is_empty() {
            return Ok(());
        }
        if !told {
            reporter.event(&Event::WaitingForInterrupted {
                statements: statements.clone(),
            });
            told = true;
        }
        if t0.elapsed() > std::time::Duration::from_secs(6 * 3600) {
            return Err(RunError::Refused(format!(
                "statements of the interrupted run are still running on the server after 6 \
                 hours: {}; stop them (KILL / pg_terminate_backend), then resume",
                statements.join("; ")
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The progress row of a table.
struct ProgressRow {
    state: String,
    last_key: Option<Vec<String>>,
    rows: u64,
    plan: Option<String>,
}

async fn progress_row(conn: &mut Conn, table: &str) -> Result<Option<ProgressRow>, RunError> {
    let d = conn.dialect();
    let rows = conn
        .rows(&format!(
            "SELECT state, last_key, rows_done, plan FROM {} WHERE tbl = {}",
            d.ident(PROGRESS_TABLE),
            d.string_literal(table)
        ))
        .await?;
    Ok(rows.into_iter().next().map(|r| ProgressRow {
        state: r[0].clone().unwrap_or_default(),
        last_key: r[1]
            .as_deref()
            .and_then(|k| serde_json::from_str::<Vec<String>>(k).ok()),
        rows: r[2].as_deref().and_then(|n| n.parse().ok()).unwrap_or(0),
        plan: r[3].clone(),
    }))
}

pub(crate) fn set_progress(
    d: Dialect,
    table: &str,
    state: &str,
    last_key: Option<&[String]>,
    add_rows: u64,
) -> String {
    let key = match last_key {
        Some(k) => d.string_literal(&serde_json::to_string(k).unwrap_or_default()),
        None => "last_key".into(),
    };
    format!(
        "UPDATE {} SET state = {}, last_key = {key}, rows_done = rows_done + {add_rows} WHERE tbl = {}",
        d.ident(PROGRESS_TABLE),
        d.string_literal(state),
        d.string_literal(table)
    )
}

async fn mask_table(
    conn: &mut Conn,
    plan: &TablePlan,
    shared: &Arc<Shared>,
) -> Result<TableReport, RunError> {
    let d = conn.dialect();
    let t0 = Instant::now();
    let table = &plan.table;
    let new = db::work_table("n", table);
    let old = db::work_table("o", table);
    let row = progress_row(conn, table).await?;
    if let Some(r) = &row {
        if r.state == "done" {
            return Ok(TableReport {
                table: table.clone(),
                path: plan.path,
                rows: r.rows,
                seconds: 0.0,
                rows_per_s: 0.0,
                skipped: true,
            });
        }
    }
    if plan.path == Path::Keep {
        conn.exec(&format!(
            "INSERT INTO {} (tbl, state) VALUES ({}, 'done')",
            d.ident(PROGRESS_TABLE),
            d.string_literal(table)
        ))
        .await?;
        let report = TableReport {
            table: table.clone(),
            path: plan.path,
            rows: 0,
            seconds: 0.0,
            rows_per_s: 0.0,
            skipped: false,
        };
        shared.emit(Event::TableDone {
            table: table.clone(),
            path: plan.path,
            rows: 0,
            seconds: 0.0,
        });
        return Ok(report);
    }
    let row = match row {
        Some(r) => r,
        None => {
            if plan.path == Path::Load {
                // Fingerprints are taken in the copy's own pass.
                start_fingerprints(conn, plan, shared).await?;
            } else if plan.path == Path::Update {
                // In place: every original is fingerprinted before the first chunk changes.
                fingerprint_table(conn, plan, shared).await?;
            }
            if plan.path != Path::Update {
                conn.exec(&format!("DROP TABLE IF EXISTS {}", d.ident(&new)))
                    .await?;
                match d {
                    Dialect::MySql => db::mysql::create_new(conn, table, &new).await?,
                    Dialect::Postgres => db::postgres::create_new(conn, table, &new).await?,
                }
                // Built after the copy (build_indexes): a crash before the progress row below
                // starts the table again from a new empty table.
                db::defer_indexes(conn, &new).await?;
            }
            conn.exec(&format!(
                "INSERT INTO {} (tbl, state) VALUES ({}, 'copying')",
                d.ident(PROGRESS_TABLE),
                d.string_literal(table)
            ))
            .await?;
            ProgressRow {
                state: "copying".into(),
                last_key: None,
                rows: 0,
                plan: None,
            }
        }
    };
    // Rebuild and stream: the originals' fingerprints are read on a connection of their own
    // while this one copies (the original table does not change before the swap, which waits
    // for them). A run interrupted before they were sealed takes them again from the start.
    let fingerprints = if !matches!(plan.path, Path::Load | Path::Update)
        && (row.state == "copying" || row.state == "copied")
        && !shared.fingerprinted(table)
    {
        shared.remove_fingerprints(table)?;
        let (s, p) = (shared.clone(), plan.clone());
        Some(AbortOnDrop(tokio::spawn(async move {
            let mut c = Conn::connect(&s.url).await?;
            fingerprint_table(&mut c, &p, &s).await
        })))
    } else {
        None
    };
    let mut rows = row.rows;
    if row.state == "copying" {
        rows = if plan.path == Path::Load {
            crate::load::copy(conn, plan, &new, row.last_key, row.rows, shared).await?
        } else if matches!(plan.path, Path::Rebuild | Path::Update) {
            crate::slices::copy(conn, plan, &new, row.last_key, row.rows, shared).await?
        } else {
            copy_chunks(conn, plan, &new, row.last_key, row.rows, shared).await?
        };
    }
    if plan.path == Path::Load && !shared.fingerprinted(table) {
        // A resumed run whose copy had sealed them already skips this; one interrupted between
        // sealing and recording seals the sealed files again, harmlessly.
        seal_fingerprints(plan, shared)?;
    }
    if plan.path != Path::Update {
        build_indexes(conn, table, &new, shared).await?;
    }
    if let Some(mut f) = fingerprints {
        (&mut f.0).await.unwrap_or_else(|e| {
            Err(RunError::Refused(format!(
                "taking the fingerprints of {table} failed: {e}"
            )))
        })?;
    }
    // The swap (none for UPDATEs in place: each chunk's commit was the table's).
    let _swapping = shared.swap_lock.lock().await;
    match d {
        _ if plan.path == Path::Update => {
            conn.exec(&set_progress(d, table, "done", None, 0)).await?;
        }
        Dialect::Postgres => {
            db::postgres::swap(conn, table, &new, &set_progress(d, table, "done", None, 0)).await?;
        }
        Dialect::MySql => {
            let swap_plan = match row.plan.as_deref().filter(|_| row.state == "swapping") {
                Some(p) => serde_json::from_str(p).map_err(|e| {
                    RunError::Refused(format!(
                        "the recorded swap plan of {table} is unreadable: {e}"
                    ))
                })?,
                None => {
                    let p = db::mysql::swap_plan(conn, table).await?;
                    conn.exec(&format!(
                        "UPDATE {} SET state = 'swapping', plan = {} WHERE tbl = {}",
                        d.ident(PROGRESS_TABLE),
                        d.string_literal(&serde_json::to_string(&p).unwrap_or_default()),
                        d.string_literal(table)
                    ))
                    .await?;
                    p
                }
            };
            if conn.table_exists(&new).await? {
                db::mysql::swap(conn, table, &new, &old, &swap_plan).await?;
                db::fault("mysql_after_rename")?;
            }
            db::mysql::finish_swap(conn, table, &old, &swap_plan).await?;
            conn.exec(&set_progress(d, table, "done", None, 0)).await?;
        }
    }
    shared.emit(Event::Swapped {
        table: table.clone(),
    });
    let seconds = t0.elapsed().as_secs_f64();
    shared.emit(Event::TableDone {
        table: table.clone(),
        path: plan.path,
        rows,
        seconds,
    });
    Ok(TableReport {
        table: table.clone(),
        path: plan.path,
        rows,
        seconds,
        rows_per_s: if seconds > 0.0 {
            rows as f64 / seconds
        } else {
            0.0
        },
        skipped: false,
    })
}

/// Builds on the rebuilt table the secondary indexes its copy went without (each in one sorted
/// pass), and gathers its statistics, before the swap. Looks before it acts: a resumed run
/// builds only what is missing, and nothing once the swap has renamed the new table.
async fn build_indexes(
    conn: &mut Conn,
    table: &str,
    new: &str,
    shared: &Shared,
) -> Result<(), RunError> {
    if !conn.table_exists(new).await? {
        return Ok(());
    }
    let (indexes, statements) = db::missing_indexes(conn, table, new).await?;
    if !indexes.is_empty() {
        build_missing(conn, table, indexes, &statements, shared).await?;
    }
    // The swapped-in table would start without the original's statistics (on PostgreSQL none
    // at all until autovacuum gets to it), and the application's queries would be planned
    // without them.
    let d = conn.dialect();
    let analyze = match d {
        Dialect::MySql => "ANALYZE TABLE",
        Dialect::Postgres => "ANALYZE",
    };
    conn.exec(&format!("{analyze} {}", d.ident(new))).await?;
    Ok(())
}

async fn build_missing(
    conn: &mut Conn,
    table: &str,
    indexes: Vec<String>,
    statements: &[String],
    shared: &Shared,
) -> Result<(), RunError> {
    let t0 = Instant::now();
    shared.emit(Event::BuildingIndexes {
        table: table.to_string(),
        indexes: indexes.clone(),
    });
    db::fault("before_indexes")?;
    for sql in statements {
        conn.exec(sql).await.map_err(|e| {
            // Only a duplicate value (MySQL 1062, PostgreSQL 23505 / "could not create unique
            // index") means the masked values collide; any other failure is said as it is.
            let text = e.to_string();
            let collide = text.contains("1062")
                || text.contains("Duplicate entry")
                || text.contains("could not create unique index")
                || text.contains("duplicate key value");
            let why = if collide {
                "masked values collide in a unique index: check that column's rule"
            } else {
                "the server refused the statement"
            };
            RunError::Refused(format!(
                "building the indexes {} of {table} on its masked copy failed ({why}); nothing \
                 was swapped, `mask run --resume` builds what is missing: {e}",
                indexes.join(", ")
            ))
        })?;
    }
    shared.emit(Event::IndexesBuilt {
        table: table.to_string(),
        indexes,
        seconds: t0.elapsed().as_secs_f64(),
    });
    Ok(())
}

/// A task that is stopped when its handle is dropped (a failed copy stops its fingerprints).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn key_texts(d: Dialect, prefix: &str, key: &[String]) -> Vec<String> {
    key.iter()
        .map(|k| d.as_text(&format!("{prefix}{}", d.ident(k))))
        .collect()
}

/// Copies the table into `new` chunk by chunk from after `last` (each chunk one transaction,
/// with its progress row); returns the rows copied in all.
async fn copy_chunks(
    conn: &mut Conn,
    plan: &TablePlan,
    new: &str,
    mut last: Option<Vec<String>>,
    mut rows: u64,
    shared: &Shared,
) -> Result<u64, RunError> {
    let d = conn.dialect();
    let n = shared.opts.chunk_rows.max(1);
    let table = &plan.table;
    let src = format!("{} AS {SRC}", d.ident(table));
    let pre = format!("{SRC}.");
    let total = shared.rows_before(table).unwrap_or(plan.rows_estimate);
    let insert_cols: Vec<String> = plan.insert_columns.iter().map(|c| d.ident(c)).collect();
    let overriding = if d == Dialect::Postgres {
        " OVERRIDING SYSTEM VALUE"
    } else {
        ""
    };
    let insert_head = format!(
        "INSERT INTO {} ({}){overriding} SELECT {}",
        d.ident(new),
        insert_cols.join(", "),
        plan.select_exprs.join(", ")
    );
    let tmp = format!("kirikae_tmp_{}", &db::md5_hex(table)[..10]);
    if plan.path == Path::Stream {
        create_tmp(conn, plan, &tmp).await?;
    }
    let t0 = Instant::now();
    let start_rows = rows;
    loop {
        let after = last
            .as_ref()
            .map(|l| plan::key_after(d, &pre, &plan.key, l));
        let (added, next_last, finished) = match plan.path {
            Path::Stream => {
                let (added, next) = stream_chunk(
                    conn,
                    plan,
                    &src,
                    &pre,
                    after.as_deref(),
                    n,
                    &tmp,
                    &insert_head,
                    shared,
                )
                .await?;
                let finished = next.is_none();
                (added, next.or(last.clone()), finished)
            }
            Path::Keep | Path::Load | Path::Rebuild | Path::Update => (0, None, true),
        };
        rows += added;
        last = next_last;
        report_progress(shared, table, rows, total, start_rows, t0, added);
        if finished {
            break;
        }
    }
    if plan.path == Path::Stream {
        let drop = match d {
            Dialect::MySql => format!("DROP TEMPORARY TABLE IF EXISTS {}", d.ident(&tmp)),
            Dialect::Postgres => format!("DROP TABLE IF EXISTS pg_temp.{}", d.ident(&tmp)),
        };
        conn.exec(&drop).await?;
    }
    Ok(rows)
}

/// One transaction on `$conn`: `BEGIN`, the body (steps that fail with a `DbError`, evaluating
/// to the transaction's value), `COMMIT`; gives `Result<_, RunError>`. The server may choose
/// it as a deadlock's victim (MySQL 1213, PostgreSQL 40P01: parallel slices insert into the same
/// new table, and every table's chunks update the same progress table): it rolled the whole
/// transaction back, so the transaction runs again, up to 8 times with backoff. Any other
/// error rolls back and is returned. The body must be safe to run again (it is, by the rollback).
macro_rules! transaction {
    ($conn:expr, $body:expr) => {{
        let mut attempt = 0u32;
        loop {
            let r: Result<_, $crate::db::DbError> = async {
                $conn.exec("BEGIN").await?;
                let value = $body;
                $conn.exec("COMMIT").await?;
                Ok(value)
            }
            .await;
            match r {
                Err(e) if e.is_deadlock() && attempt < 8 => {
                    let _ = $conn.exec("ROLLBACK").await;
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                }
                r => break $crate::run::rollback_on_error($conn, r).await,
            }
        }
    }};
}
pub(crate) use transaction;

pub(crate) async fn rollback_on_error<T>(
    conn: &mut Conn,
    r: Result<T, DbError>,
) -> Result<T, RunError> {
    match r {
        Ok(v) => Ok(v),
        Err(e) => {
            let _ = conn.exec("ROLLBACK").await;
            Err(e.into())
        }
    }
}

pub(crate) fn report_progress(
    shared: &Shared,
    table: &str,
    rows: u64,
    total: u64,
    start_rows: u64,
    t0: Instant,
    added: u64,
) {
    let elapsed = t0.elapsed().as_secs_f64().max(1e-6);
    let rate = (rows - start_rows) as f64 / elapsed;
    let total = total.max(rows);
    let (overall_rows, overall_total) = match shared.overall_done.lock() {
        Ok(mut o) => {
            o.0 += added;
            o.1 = o.1.max(o.0);
            *o
        }
        Err(_) => (0, 0),
    };
    let overall_elapsed = shared.started.elapsed().as_secs_f64().max(1e-6);
    let overall_rate = overall_rows as f64 / overall_elapsed;
    let eta = |left: u64, rate: f64| (rate > 0.0).then(|| left as f64 / rate);
    shared.emit(Event::Progress(Progress {
        table: table.to_string(),
        rows,
        table_total: total,
        rows_per_s: rate,
        table_eta_s: eta(total - rows, rate),
        overall_rows,
        overall_total,
        overall_eta_s: eta(overall_total - overall_rows, overall_rate),
    }));
}

async fn create_tmp(conn: &mut Conn, plan: &TablePlan, tmp: &str) -> Result<(), RunError> {
    let d = conn.dialect();
    let mut cols: Vec<String> = plan
        .key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{} AS {}", d.ident(k), d.ident(&plan::tmp_key(i))))
        .collect();
    cols.extend(
        plan.streamed
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{} AS {}", d.ident(c), d.ident(&plan::tmp_column(i)))),
    );
    let keys: Vec<String> = (0..plan.key.len())
        .map(|i| d.ident(&plan::tmp_key(i)))
        .collect();
    let sql = match d {
        Dialect::MySql => format!(
            "DROP TEMPORARY TABLE IF EXISTS {t}; CREATE TEMPORARY TABLE {t} ENGINE = InnoDB \
             SELECT {} FROM {} LIMIT 0",
            cols.join(", "),
            d.ident(&plan.table),
            t = d.ident(tmp)
        ),
        Dialect::Postgres => format!(
            "DROP TABLE IF EXISTS pg_temp.{t}; CREATE TEMP TABLE {t} AS SELECT {} FROM {} WITH NO DATA",
            cols.join(", "),
            d.ident(&plan.table),
            t = d.ident(tmp)
        ),
    };
    for stmt in sql.split("; ") {
        conn.exec(stmt).await?;
    }
    // Masked columns may be NOT NULL in the table but are written only by our loader.
    let index = match d {
        Dialect::MySql => format!(
            "ALTER TABLE {} ADD PRIMARY KEY ({})",
            d.ident(tmp),
            keys.join(", ")
        ),
        Dialect::Postgres => format!("CREATE INDEX ON {} ({})", d.ident(tmp), keys.join(", ")),
    };
    conn.exec(&index).await?;
    Ok(())
}

/// One chunk of the streaming path; returns the rows copied and the chunk's last key (`None`
/// when this was the last chunk).
#[allow(clippy::too_many_arguments)]
async fn stream_chunk(
    conn: &mut Conn,
    plan: &TablePlan,
    src: &str,
    pre: &str,
    after: Option<&str>,
    n: u64,
    tmp: &str,
    insert_head: &str,
    shared: &Shared,
) -> Result<(u64, Option<Vec<String>>), RunError> {
    let d = conn.dialect();
    let nk = plan.key.len();
    let mut select = key_texts(d, pre, &plan.key);
    select.extend(
        plan.stream_reads
            .iter()
            .map(|c| format!("{pre}{}", d.ident(c))),
    );
    let rows = conn
        .rows(&format!(
            "SELECT {} FROM {src}{} ORDER BY {} LIMIT {n}",
            select.join(", "),
            after.map(|a| format!(" WHERE {a}")).unwrap_or_default(),
            plan::key_order(d, pre, &plan.key)
        ))
        .await?;
    let Some(last_row) = rows.last() else {
        conn.exec(&set_progress(d, &plan.table, "copied", None, 0))
            .await?;
        return Ok((0, None));
    };
    let last: Vec<String> = last_row[..nk]
        .iter()
        .map(|v| v.clone().unwrap_or_default())
        .collect();
    let more = rows.len() as u64 == n;
    // Mask in Rust, in dependency order.
    let rules = &shared.rules_for(&plan.table);
    let columns = plan.stream_reads.clone();
    let mut data = Vec::with_capacity(rows.len() * 64);
    for r in &rows {
        let original: Vec<Option<&str>> = r[nk..].iter().map(|v| v.as_deref()).collect();
        let mut masked: Vec<Option<Option<String>>> = vec![None; columns.len()];
        for (i, c) in plan.streamed.iter().enumerate() {
            let Some(t) = rules.get(c) else { continue };
            let value = {
                let view = RowView {
                    columns: &columns,
                    original: &original,
                    masked: &masked,
                };
                t.apply(original[i], &view, &shared.prf)
            };
            masked[i] = Some(value);
        }
        let mut fields: Vec<Option<&str>> = r[..nk].iter().map(|v| v.as_deref()).collect();
        for m in masked.iter().take(plan.streamed.len()) {
            fields.push(m.as_ref().and_then(|v| v.as_deref()));
        }
        db::encode_text_row(&mut data, &fields);
    }
    let mut tmp_cols: Vec<String> = (0..nk).map(plan::tmp_key).collect();
    tmp_cols.extend((0..plan.streamed.len()).map(plan::tmp_column));
    let on: Vec<String> = plan
        .key
        .iter()
        .enumerate()
        .map(|(i, k)| {
            format!(
                "{pre}{} = {TMP_ALIAS}.{}",
                d.ident(k),
                d.ident(&plan::tmp_key(i))
            )
        })
        .collect();
    let data = bytes::Bytes::from(data);
    let added = transaction!(conn, {
        conn.exec(&format!("DELETE FROM {}", d.ident(tmp))).await?;
        conn.load(tmp, &tmp_cols, data.clone()).await?;
        let added = conn
            .exec_count(&format!(
                "{insert_head} FROM {src} JOIN {} AS {TMP_ALIAS} ON {}",
                d.ident(tmp),
                on.join(" AND ")
            ))
            .await?;
        let state = if more { "copying" } else { "copied" };
        conn.exec(&set_progress(d, &plan.table, state, Some(&last), added))
            .await?;
        added
    })?;
    Ok((added, more.then_some(last)))
}

impl Shared {
    /// The transforms of a table's columns.
    pub(crate) fn rules_for(
        &self,
        table: &str,
    ) -> BTreeMap<String, Arc<dyn crate::transform::Transform>> {
        self.rules
            .table(table)
            .map(|t| {
                t.columns
                    .iter()
                    .map(|(c, r)| (c.clone(), r.transform.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The table's row count before masking, once recorded.
    pub(crate) fn rows_before(&self, table: &str) -> Option<u64> {
        self.info
            .lock()
            .ok()
            .and_then(|i| i.rows_before.get(table).copied())
    }

    /// Whether the table's fingerprints are sealed and recorded.
    fn fingerprinted(&self, table: &str) -> bool {
        self.info
            .lock()
            .map(|i| i.fingerprinted.contains_key(table))
            .unwrap_or(false)
    }

    /// No fingerprint files left of the table from an attempt that did not finish them.
    fn remove_fingerprints(&self, table: &str) -> Result<(), StateError> {
        let dir = self.state.fingerprint_dir(table);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| StateError {
                path: dir.clone(),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }
}

/// Before a `load` copy starts afresh: the row count, the key, and no fingerprint files left
/// from an attempt that never got its progress row.
async fn start_fingerprints(
    conn: &mut Conn,
    plan: &TablePlan,
    shared: &Shared,
) -> Result<(), RunError> {
    shared.remove_fingerprints(&plan.table)?;
    record_count(conn, plan, shared).await
}

/// The table's row count before masking, and its key, recorded for `verify`.
async fn record_count(conn: &mut Conn, plan: &TablePlan, shared: &Shared) -> Result<(), RunError> {
    let count = conn.row_count(&plan.table).await?;
    if let Ok(mut i) = shared.info.lock() {
        i.rows_before.insert(plan.table.clone(), count);
        i.keys.insert(plan.table.clone(), plan.key.clone());
    }
    shared.save_info()?;
    Ok(())
}

/// Once every original is fingerprinted (by `fingerprint_table`, or by a `load` copy's own
/// pass): the fingerprint files of the masked columns sorted (a column with no file, as in a
/// table with no rows, gets an empty one), and the table recorded as fingerprinted.
fn seal_fingerprints(plan: &TablePlan, shared: &Shared) -> Result<(), RunError> {
    let table = &plan.table;
    for c in &plan.masked {
        for what in ["rows", "values"] {
            let f = shared.state.fingerprint_file(table, c, what);
            if !f.exists() {
                state::append_fingerprints(&f, &[])?;
            }
            state::seal(&f)?;
        }
    }
    let rows = {
        let mut i = shared.info.lock().map_err(|_| {
            RunError::Refused("the run's state was poisoned by a failed worker".into())
        })?;
        i.fingerprinted.insert(table.clone(), plan.masked.clone());
        i.rows_before.get(table).copied().unwrap_or(0)
    };
    shared.save_info()?;
    shared.emit(Event::Fingerprinted {
        table: table.clone(),
        rows,
        columns: plan.masked.clone(),
    });
    Ok(())
}

/// Fingerprints of the originals of the table's masked columns, by key range, into the state
/// directory; and the table's row count.
async fn fingerprint_table(
    conn: &mut Conn,
    plan: &TablePlan,
    shared: &Shared,
) -> Result<(), RunError> {
    let table = &plan.table;
    crate::verify::fingerprint_columns(
        conn,
        table,
        &plan.key,
        &plan.masked,
        &shared.fp_prf,
        |c, what, fps| {
            state::append_fingerprints(&shared.state.fingerprint_file(table, c, what), fps)
        },
        shared.opts.chunk_rows,
    )
    .await?;
    record_count(conn, plan, shared).await?;
    seal_fingerprints(plan, shared)
}
