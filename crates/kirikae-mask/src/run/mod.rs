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
//!
//! The modules import one way: this one (the run, table by table) uses the copy paths
//! ([`load`], [`stream`], [`slices`] with the statements of [`rebuild`] and [`update`]) and
//! [`fingerprints`]; they use [`shared`] (what the workers share, one transaction, progress),
//! [`error`] and [`report`], which use none of them. Nothing outside `run` imports it but
//! the CLI and the refresh; `verify` uses [`crate::key`], [`crate::fingerprint`] and
//! [`crate::scan`].

mod error;
mod fingerprints;
mod load;
mod rebuild;
mod report;
pub(crate) mod shared;
mod slices;
mod stream;
mod update;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::db::progress::{self, ProgressRow, ProgressState};
use crate::db::{self, Conn, DbUrl, Live, PROGRESS_TABLE};
pub use crate::key::{KeySource, MaskKey, KEY_ENV};
use crate::plan::{self, Path, PathChoice, TablePlan};
use crate::prf::Prf;
use crate::rules::Rules;
use crate::state::{self, RunInfo, StateDir};
use crate::transform::Dialect;
pub use error::RunError;
pub use report::{Event, Progress, Quiet, Reporter, RunReport, TableReport};
pub use shared::RunOptions;
use shared::{AbortOnDrop, Shared};

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
            update::sparse_to_update(conn, p).await?;
        }
    }
    Ok((live, plans))
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
        None => MaskKey::random(),
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
            state.save_random_key(&key.secret_text())?;
        }
        let salt = crate::key::random_secret();
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
        progress::create(&mut conn).await?;
    }
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
    // From here on the database changes: a failure leaves a run for `--resume` to finish.
    mask_tables(conn, lock, shared, plans, key.source)
        .await
        .map_err(RunError::interrupted)
}

/// Masks the planned tables on `jobs` connections, then drops the progress table: the run is
/// finished.
async fn mask_tables(
    conn: Conn,
    lock: crate::lock::RunLock,
    shared: Arc<Shared>,
    plans: Vec<TablePlan>,
    key: KeySource,
) -> Result<RunReport, RunError> {
    let mut conn = conn;
    lock.record(&mut conn).await?;
    db::hold("locked").await;
    let url = &shared.url;
    let queue = Arc::new(Mutex::new(plans.into_iter().collect::<VecDeque<_>>()));
    let reports = Arc::new(Mutex::new(Vec::new()));
    let jobs = shared.opts.jobs.max(1);
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
        let r = r.unwrap_or_else(|e| Err(RunError::Failed(format!("a worker failed: {e}"))));
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
    progress::drop(&mut conn).await?;
    if let Ok(mut i) = shared.info.lock() {
        i.finished = true;
    }
    shared.save_info()?;
    lock.release().await;
    let mut tables = reports.lock().map(|r| r.clone()).unwrap_or_default();
    tables.sort_by(|a, b| a.table.cmp(&b.table));
    let rows = tables.iter().map(|t| t.rows).sum();
    let seconds = shared.started.elapsed().as_secs_f64();
    shared.emit(Event::Finished {
        tables: tables.len(),
        rows,
        seconds,
    });
    Ok(RunReport {
        database: url.to_string(),
        reproducible: key != KeySource::Random,
        key,
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
    let row = progress::row(conn, table).await?;
    if let Some(r) = &row {
        if r.state == ProgressState::Done {
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
        conn.exec(&progress::insert(d, table, ProgressState::Done))
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
                fingerprints::start(conn, plan, shared).await?;
            } else if plan.path == Path::Update {
                // In place: every original is fingerprinted before the first chunk changes.
                fingerprints::take(Conn::connect(&shared.url).await?, plan, shared).await?;
                if let Ok(mut i) = shared.info.lock() {
                    i.in_place.insert(table.clone());
                }
                shared.save_info()?;
            }
            if plan.path != Path::Update {
                db::work::create_new(conn, table, &new).await?;
                // Built after the copy (build_indexes): a crash before the progress row below
                // starts the table again from a new empty table.
                db::defer_indexes(conn, &new).await?;
            }
            conn.exec(&progress::insert(d, table, ProgressState::Copying))
                .await?;
            ProgressRow {
                state: ProgressState::Copying,
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
        && matches!(row.state, ProgressState::Copying | ProgressState::Copied)
        && !shared.fingerprinted(table)
    {
        shared.remove_fingerprints(table)?;
        let (s, p) = (shared.clone(), plan.clone());
        Some(AbortOnDrop(tokio::spawn(async move {
            fingerprints::take(Conn::connect(&s.url).await?, &p, &s).await
        })))
    } else {
        None
    };
    let mut rows = row.rows;
    if row.state == ProgressState::Copying {
        rows = match plan.path {
            Path::Load => load::copy(conn, plan, &new, row.last_key, row.rows, shared).await?,
            Path::Rebuild | Path::Update => {
                slices::copy(conn, plan, &new, row.last_key, row.rows, shared).await?
            }
            Path::Stream | Path::Keep => {
                stream::copy(conn, plan, &new, row.last_key, row.rows, shared).await?
            }
        };
    }
    // Load: the fingerprint files are sealed (sorted, on the client's cores) while the server
    // builds the indexes. A resumed run whose copy had sealed them already skips this; one
    // interrupted between sealing and recording seals the sealed files again, harmlessly.
    let sealing = (plan.path == Path::Load && !shared.fingerprinted(table)).then(|| {
        let (s, p) = (shared.clone(), plan.clone());
        tokio::task::spawn_blocking(move || fingerprints::seal(&p, &s))
    });
    let built = if plan.path == Path::Update {
        // No old row version (so no original) may stay in the table's files.
        update::rewrite(conn, table, shared).await
    } else {
        rebuild::build_indexes(conn, table, &new, shared).await
    };
    if let Some(sealing) = sealing {
        sealing.await.map_err(|e| {
            RunError::Failed(format!(
                "sealing the fingerprint files of {table} failed: {e}"
            ))
        })??;
    }
    built?;
    if let Some(mut f) = fingerprints {
        (&mut f.0).await.unwrap_or_else(|e| {
            Err(RunError::Failed(format!(
                "taking the fingerprints of {table} failed: {e}"
            )))
        })?;
    }
    // The swap (none for UPDATEs in place: each chunk's commit was the table's).
    let _swapping = shared.swap_lock.lock().await;
    match d {
        _ if plan.path == Path::Update => {
            conn.exec(&progress::set(d, table, ProgressState::Done, None, 0))
                .await?;
        }
        Dialect::Postgres => {
            let done = progress::set(d, table, ProgressState::Done, None, 0);
            db::postgres::swap(conn, table, &new, &done).await?;
        }
        Dialect::MySql => {
            let recorded = row.plan.as_deref();
            let swap_plan = match recorded.filter(|_| row.state == ProgressState::Swapping) {
                Some(p) => serde_json::from_str(p).map_err(|e| {
                    RunError::Failed(format!(
                        "the recorded swap plan of {table} is unreadable: {e}"
                    ))
                })?,
                None => {
                    let p = db::mysql::swap_plan(conn, table).await?;
                    let json = serde_json::to_string(&p).unwrap_or_default();
                    conn.exec(&progress::set_swapping(d, table, &json)).await?;
                    p
                }
            };
            if conn.table_exists(&new).await? {
                db::mysql::swap(conn, table, &new, &old, &swap_plan).await?;
                db::fault("mysql_after_rename")?;
            }
            db::mysql::finish_swap(conn, table, &old, &swap_plan).await?;
            conn.exec(&progress::set(d, table, ProgressState::Done, None, 0))
                .await?;
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
