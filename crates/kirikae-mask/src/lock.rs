//! One masking run per database at a time: `mask run` (and `--resume`) holds a lock of the
//! database server for its whole run, on a connection of its own.
//!
//! - MySQL/MariaDB: the named lock `GET_LOCK('kirikae-mask/<database>')` (lock names are
//!   server-wide, so the database is in the name).
//! - PostgreSQL: the session advisory lock [`PG_LOCK`] (advisory locks are per database).
//!
//! The server releases the lock when its connection ends, so a run that crashed or was killed
//! leaves no stale lock: `--resume` can take it as soon as the server has seen the connection
//! close. Who holds it is recorded next to the run's progress (a row `_kirikae_run` of
//! `_kirikae_progress`: host, process id, start time and the lock connection's id), so that a
//! refused run can name the other; the server's own view of the lock connection (its id and
//! client address) is given too, in case the row belongs to an earlier run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::db::{md5_hex, Conn, DbResult, DbUrl, PROGRESS_TABLE};
use crate::transform::Dialect;

/// The PostgreSQL advisory lock (two int4 keys): "kirk" and "mask".
pub const PG_LOCK: (i32, i32) = (0x6b69_726b, 0x6d61_736b);

/// The row of the progress table that names the run holding the lock.
pub const HOLDER_ROW: &str = "_kirikae_run";

/// How long a run waits for the lock before refusing: a run killed a moment ago still holds it
/// until the server has seen its connection close (milliseconds, more on a loaded server).
const WAIT: Duration = Duration::from_secs(3);

/// The run holding the lock, as it recorded itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    /// Unix time the run started.
    pub started: u64,
    /// The server's id of the lock connection (MySQL `CONNECTION_ID()`, PostgreSQL backend pid).
    pub connection: u64,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on host {}, started {} ({}s ago)",
            self.pid,
            self.host,
            self.started,
            crate::state::now().saturating_sub(self.started)
        )
    }
}

/// The lock of one run; released when dropped (its connection closes) or by [`RunLock::release`].
pub struct RunLock {
    holder: Holder,
    lost: Arc<AtomicBool>,
    keeper: Option<tokio::task::JoinHandle<Option<Conn>>>,
    stop: Arc<tokio::sync::Notify>,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if let Some(k) = &self.keeper {
            k.abort();
        }
    }
}

/// The MySQL lock name for a database (at most 64 characters).
fn mysql_name(database: &str) -> String {
    let name = format!("kirikae-mask/{database}");
    if name.len() <= 64 {
        name
    } else {
        format!("kirikae-mask/{}", md5_hex(database))
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Why the lock was not taken.
#[derive(Debug)]
pub struct Busy {
    pub message: String,
}

impl RunLock {
    /// Takes the database's lock, waiting a moment for a run that just died; `Err(Busy)` names
    /// the run that holds it.
    pub async fn acquire(url: &DbUrl) -> DbResult<Result<RunLock, Busy>> {
        let mut conn = Conn::connect(url).await?;
        let d = conn.dialect();
        let got = match d {
            Dialect::MySql => {
                let secs = WAIT.as_secs();
                conn.value(&format!(
                    "SELECT GET_LOCK({}, {secs})",
                    d.string_literal(&mysql_name(&url.database))
                ))
                .await?
                .as_deref()
                    == Some("1")
            }
            Dialect::Postgres => {
                let deadline = tokio::time::Instant::now() + WAIT;
                loop {
                    let got = conn
                        .value(&format!(
                            "SELECT pg_try_advisory_lock({}, {})",
                            PG_LOCK.0, PG_LOCK.1
                        ))
                        .await?
                        .as_deref()
                        == Some("t");
                    if got || tokio::time::Instant::now() >= deadline {
                        break got;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        if !got {
            return Ok(Err(Busy {
                message: describe_holder(&mut conn, url).await?,
            }));
        }
        let connection = conn
            .count(match d {
                Dialect::MySql => "SELECT CONNECTION_ID()",
                Dialect::Postgres => "SELECT pg_backend_pid()",
            })
            .await?;
        let holder = Holder {
            host: hostname(),
            pid: std::process::id(),
            started: crate::state::now(),
            connection,
        };
        // The lock connection only waits; it is pinged so that no idle timeout of the server
        // (MySQL `wait_timeout`) closes it, which would release the lock mid-run.
        let lost = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(tokio::sync::Notify::new());
        let keeper = {
            let (lost, stop) = (lost.clone(), stop.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = stop.notified() => return Some(conn),
                        _ = tokio::time::sleep(Duration::from_secs(30)) => {
                            if conn.exec("SELECT 1").await.is_err() {
                                lost.store(true, Ordering::SeqCst);
                                return None;
                            }
                        }
                    }
                }
            })
        };
        Ok(Ok(RunLock {
            holder,
            lost,
            keeper: Some(keeper),
            stop,
        }))
    }

    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// Set when the lock connection fails (the server then released the lock).
    pub fn lost_flag(&self) -> Arc<AtomicBool> {
        self.lost.clone()
    }

    /// Records this run as the holder in the progress table (which must exist).
    pub async fn record(&self, conn: &mut Conn) -> DbResult<()> {
        let d = conn.dialect();
        let json = serde_json::to_string(&self.holder).unwrap_or_default();
        let (t, row, j) = (
            d.ident(PROGRESS_TABLE),
            d.string_literal(HOLDER_ROW),
            d.string_literal(&json),
        );
        conn.exec(&format!("DELETE FROM {t} WHERE tbl = {row}"))
            .await?;
        conn.exec(&format!(
            "INSERT INTO {t} (tbl, state, plan) VALUES ({row}, 'running', {j})"
        ))
        .await
    }

    /// Releases the lock (closing its connection releases it too).
    pub async fn release(mut self) {
        self.stop.notify_one();
        let Some(keeper) = self.keeper.take() else {
            return;
        };
        if let Some(mut conn) = keeper.await.ok().flatten() {
            let d = conn.dialect();
            let sql = match d {
                Dialect::MySql => "SELECT RELEASE_ALL_LOCKS()".to_string(),
                Dialect::Postgres => {
                    format!("SELECT pg_advisory_unlock({}, {})", PG_LOCK.0, PG_LOCK.1)
                }
            };
            let _ = conn.exec(&sql).await;
        }
    }
}

/// Who holds the lock: the run's own record when it is the lock connection's, and the server's
/// view of that connection.
async fn describe_holder(conn: &mut Conn, url: &DbUrl) -> DbResult<String> {
    let d = conn.dialect();
    let (id, client) = match d {
        Dialect::MySql => {
            let id = conn
                .value(&format!(
                    "SELECT IS_USED_LOCK({})",
                    d.string_literal(&mysql_name(&url.database))
                ))
                .await?;
            let client = match id.as_deref().and_then(|i| i.parse::<u64>().ok()) {
                Some(i) => conn
                    .value(&format!(
                        "SELECT HOST FROM information_schema.PROCESSLIST WHERE ID = {i}"
                    ))
                    .await
                    .ok()
                    .flatten(),
                None => None,
            };
            (id, client)
        }
        Dialect::Postgres => {
            let rows = conn
                .rows(&format!(
                    "SELECT l.pid::text, coalesce(host(a.client_addr), 'local socket') || ' since ' || \
                     to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ') FROM pg_locks l \
                     LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' \
                     AND l.granted AND l.classid = {} AND l.objid = {} AND l.objsubid = 2 \
                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                    PG_LOCK.0, PG_LOCK.1
                ))
                .await?;
            let r = rows.into_iter().next();
            (
                r.as_ref().and_then(|r| r[0].clone()),
                r.and_then(|r| r[1].clone()),
            )
        }
    };
    let recorded = if conn.table_exists(PROGRESS_TABLE).await? {
        conn.value(&format!(
            "SELECT plan FROM {} WHERE tbl = {}",
            d.ident(PROGRESS_TABLE),
            d.string_literal(HOLDER_ROW)
        ))
        .await?
        .and_then(|j| serde_json::from_str::<Holder>(&j).ok())
        .filter(|h| id.as_deref() == Some(h.connection.to_string().as_str()))
    } else {
        None
    };
    let mut who = match recorded {
        Some(h) => h.to_string(),
        None => "it has not recorded itself yet".to_string(),
    };
    if let Some(id) = &id {
        who.push_str(&format!("; its lock is held by server connection {id}"));
        if let Some(c) = client {
            who.push_str(&format!(" from {c}"));
        }
    }
    Ok(format!(
        "another kirikae mask run is masking {url} now ({who}): two runs on one database would \
         undo each other's work. Wait for it to finish, or stop it; a run that was stopped or \
         killed releases the lock when the server sees its connection close, then \
         `kirikae mask run --resume` continues it"
    ))
}
