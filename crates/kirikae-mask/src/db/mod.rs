//! The one narrow interface to the database: a connection to MySQL/MariaDB or PostgreSQL from a
//! URL, text queries, bulk loading, and the live schema (introspection). Every other module
//! talks to the server through [`Conn`], so tests point it at the real local databases.
//!
//! Values travel as text (MySQL's text protocol, PostgreSQL's simple query protocol and COPY
//! text format): that text is what the transforms' Rust forms see, and it is the same canonical
//! text the SQL forms are written against (`Dialect::as_text`). The one exception is the load
//! path's writes on PostgreSQL, in the binary COPY format where the column types allow
//! ([`pg_binary`]): the server's text parsing was a large part of its time.
//!
//! Connections use TLS as the URL's `sslmode=` / `ssl-mode=` says ([`tls`]); the password comes
//! from the URL or [`DbUrl::with_password`] and never appears in what a [`DbUrl`] or an error
//! shows.

pub mod mysql;
pub mod pg_binary;
pub mod postgres;
pub mod progress;
pub mod tls;
pub mod work;

use std::collections::BTreeMap;
use std::time::Instant;

use crate::schema::{Schema, Table};
use crate::transform::Dialect;
pub use tls::{Tls, TlsMode, TlsProblem};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    BadUrl(String),
    #[error("cannot connect to {target}: {message}")]
    Connect { target: String, message: String },
    /// TLS could not be set up as the URL asks, or the server wants TLS the URL turned off.
    #[error("cannot connect to {target}: {problem}")]
    Tls {
        target: String,
        problem: Box<TlsProblem>,
    },
    /// The URL's CA file (`sslrootcert=` / `ssl-ca=`) cannot be read.
    #[error("cannot read the CA file {} given by {param}=", path.display())]
    CaFileUnreadable {
        path: std::path::PathBuf,
        param: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The URL's CA file holds no usable CA certificate.
    #[error("cannot use the CA file {} given by {param}=: {why}", path.display())]
    CaFileInvalid {
        path: std::path::PathBuf,
        param: &'static str,
        why: String,
    },
    #[error("{target}: {message}\n  in: {sql}")]
    Sql {
        target: String,
        sql: String,
        message: String,
    },
    #[error("{0}")]
    Other(String),
}

pub type DbResult<T> = Result<T, DbError>;

impl DbError {
    /// The URL or a file it names is wrong (nothing was attempted): the user's input to fix.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            DbError::BadUrl(_) | DbError::CaFileUnreadable { .. } | DbError::CaFileInvalid { .. }
        )
    }

    /// The server chose this transaction as a deadlock's victim and rolled it back (MySQL 1213,
    /// PostgreSQL 40P01): running it again is safe and is what the server asks for.
    pub fn is_deadlock(&self) -> bool {
        match self {
            DbError::Sql { message, .. } => {
                let m = message.to_ascii_lowercase();
                m.contains("error 1213") || m.contains("deadlock")
            }
            _ => false,
        }
    }
}

/// A database URL: `mysql://user@host:port/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=ca.pem` or
/// `postgres://user@host:port/db?sslmode=verify-full&sslrootcert=ca.pem` (see [`tls`] for the
/// modes). A password may sit in the URL (`user:password@`), but [`DbUrl::with_password`] keeps
/// it off command lines. Neither `Debug` nor `Display` shows the password, and the drivers get
/// it from here, never through a URL they might echo in an error.
#[derive(Clone)]
pub struct DbUrl {
    pub dialect: Dialect,
    /// The database server's name (or address) as the URL gives it: what TLS verifies.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    pub tls: Tls,
    password: Option<String>,
    /// Where the connection really goes when it differs from host:port (a tunnel's local end,
    /// [`DbUrl::via`]).
    via: Option<(String, u16)>,
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DbUrl({self})")
    }
}

impl std::fmt::Display for DbUrl {
    /// The URL without its password, with its TLS mode (and CA file), then ` via host:port` when
    /// the connection goes elsewhere: `mysql://app@db:3306/shop?ssl-mode=PREFERRED`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = match self.dialect {
            Dialect::MySql => "mysql",
            Dialect::Postgres => "postgres",
        };
        write!(
            f,
            "{scheme}://{}@{}:{}/{}?{}={}",
            self.user,
            self.host,
            self.port,
            self.database,
            tls::mode_param(self.dialect),
            self.tls.mode.name(self.dialect)
        )?;
        if let Some(ca) = &self.tls.ca_file {
            write!(
                f,
                "&{}={}",
                tls::ca_param(self.dialect),
                percent_encode_value(&ca.display().to_string())
            )?;
        }
        if let Some((host, port)) = &self.via {
            write!(f, " via {host}:{port}")?;
        }
        Ok(())
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-escape in {s:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s:?} is not UTF-8 once decoded"))
}

/// A query value as it can be pasted back into a URL (`%`, `&`, `#`, spaces escaped).
fn percent_encode_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' | '&' | '#' | ' ' | '+' | '?' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The query parameters a URL may carry, per engine, for error messages.
fn accepted_params(dialect: Dialect) -> String {
    format!(
        "{}={} and {}=<CA file>",
        tls::mode_param(dialect),
        TlsMode::names(dialect),
        tls::ca_param(dialect)
    )
}

/// A parameter name reduced to what tells its meaning (`ssl_mode`, `sslMode`, `ssl-mode` are
/// one), to recognise the other engine's spelling and near misses.
fn param_stem(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The URL's query (`a=b&c=d`) read into its TLS settings; anything else is refused with the
/// parameters the engine accepts.
fn parse_query(dialect: Dialect, query: &str) -> Result<Tls, String> {
    let (mode_param, ca_param) = (tls::mode_param(dialect), tls::ca_param(dialect));
    let mut mode = None;
    let mut ca_file = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name)?;
        let value = percent_decode(value)?;
        let stem = param_stem(&name);
        if name == mode_param {
            if mode.is_some() {
                return Err(format!("{mode_param}= given twice"));
            }
            mode = Some(TlsMode::parse(dialect, &value).ok_or_else(|| {
                format!(
                    "unknown {mode_param}={value:?}: accepted are {}",
                    TlsMode::names(dialect)
                )
            })?);
        } else if name == ca_param {
            if ca_file.is_some() {
                return Err(format!("{ca_param}= given twice"));
            }
            if value.is_empty() {
                return Err(format!("{ca_param}= names no file"));
            }
            ca_file = Some(std::path::PathBuf::from(value));
        } else if stem == "sslmode" {
            return Err(format!(
                "{name}= is not this engine's spelling: {} URLs take {mode_param}={}",
                dialect_name(dialect),
                TlsMode::names(dialect)
            ));
        } else if matches!(stem.as_str(), "sslrootcert" | "sslca" | "sslcafile") {
            return Err(format!(
                "{name}= is not this engine's spelling: {} URLs take {ca_param}=<CA file>",
                dialect_name(dialect)
            ));
        } else {
            return Err(format!(
                "unknown parameter {name:?}: accepted are {}",
                accepted_params(dialect)
            ));
        }
    }
    let tls = Tls {
        mode: mode.unwrap_or_default(),
        ca_file,
    };
    tls.check(dialect)?;
    Ok(tls)
}

fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::MySql => "mysql:// (MySQL, MariaDB)",
        Dialect::Postgres => "postgres:// (PostgreSQL)",
    }
}

impl DbUrl {
    pub fn parse(raw: &str) -> DbResult<DbUrl> {
        let bad = |why: &str| {
            DbError::BadUrl(format!(
                "bad database URL ({why}): expected mysql://user@host:port/database \
                 or postgres://user@host:port/database"
            ))
        };
        let (scheme, rest) = raw.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let dialect = match scheme {
            "mysql" | "mariadb" => Dialect::MySql,
            "postgres" | "postgresql" => Dialect::Postgres,
            other => return Err(bad(&format!("unknown scheme {other:?}"))),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        // Only the part after the user information is shown in errors: it may hold a password.
        let (userinfo, after_user) = match rest.split_once('/') {
            Some((authority, _)) => match authority.rsplit_once('@') {
                Some((u, _)) => (Some(u), &rest[u.len() + 1..]),
                None => (None, rest),
            },
            None => match rest.rsplit_once('@') {
                Some((u, h)) => (Some(u), h),
                None => (None, rest),
            },
        };
        let (hostport, path) = after_user
            .split_once('/')
            .ok_or_else(|| bad("no database"))?;
        let database = percent_decode(path).map_err(|e| bad(&e))?;
        if database.is_empty() || database.contains('/') {
            return Err(bad("no database"));
        }
        let (user, password) = match userinfo {
            Some(u) => {
                let (user, password) = match u.split_once(':') {
                    Some((user, password)) => (user, Some(password)),
                    None => (u, None),
                };
                let user = percent_decode(user)
                    .map_err(|_| bad("the user name has a bad percent-escape"))?;
                let password = match password {
                    Some(p) => Some(
                        percent_decode(p)
                            .map_err(|_| bad("the password has a bad percent-escape"))?,
                    ),
                    None => None,
                };
                (user, password.filter(|p| !p.is_empty()))
            }
            None => (String::new(), None),
        };
        let user = if user.is_empty() {
            match dialect {
                Dialect::MySql => "root".to_string(),
                Dialect::Postgres => "postgres".to_string(),
            }
        } else {
            user
        };
        let default_port = match dialect {
            Dialect::MySql => 3306,
            Dialect::Postgres => 5432,
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || p.is_empty() => (
                h.to_string(),
                p.parse::<u16>().map_err(|_| {
                    // (shown only when it is digits: a URL missing its host has the password
                    // where the port should be)
                    if p.chars().all(|c| c.is_ascii_digit()) {
                        bad(&format!("bad port {p}"))
                    } else {
                        bad("the port is not a number")
                    }
                })?,
            ),
            _ => (hostport.to_string(), default_port),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let tls = parse_query(dialect, query)
            .map_err(|e| DbError::BadUrl(format!("bad database URL: {e}")))?;
        Ok(DbUrl {
            dialect,
            host,
            port,
            user,
            database,
            tls,
            password,
            via: None,
        })
    }

    /// The same database with this password (it replaces one the URL held).
    pub fn with_password(mut self, password: &str) -> DbUrl {
        self.password = Some(password.to_string());
        self
    }

    /// Whether the URL carries a password.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The same database with these TLS settings.
    pub fn with_tls(mut self, tls: Tls) -> DbResult<DbUrl> {
        tls.check(self.dialect).map_err(DbError::BadUrl)?;
        self.tls = tls;
        Ok(self)
    }

    /// A copy that connects to `host:port` (a tunnel's local end) while TLS still verifies the
    /// URL's own host name: PostgreSQL connects to that address with the URL's host as the
    /// server name; MySQL connects there with the URL's host as the TLS host name.
    pub fn via(&self, host: &str, port: u16) -> DbUrl {
        let mut copy = self.clone();
        copy.via = Some((host.to_string(), port));
        copy
    }

    /// Where the connection goes: host:port, or the address given to [`DbUrl::via`].
    pub fn connects_to(&self) -> (&str, u16) {
        match &self.via {
            Some((host, port)) => (host, *port),
            None => (&self.host, self.port),
        }
    }

    fn connects_to_key(&self) -> (String, u16) {
        let (host, port) = self.connects_to();
        (host.to_string(), port)
    }

    /// A name for this database usable in a file name (the state directory): the database's
    /// own host and port, whichever way the connection goes.
    pub fn slug(&self) -> String {
        let s = format!(
            "{}-{}-{}-{}",
            match self.dialect {
                Dialect::MySql => "mysql",
                Dialect::Postgres => "postgres",
            },
            self.host,
            self.port,
            self.database
        );
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// The password: only for the drivers.
    fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// `message` with the password replaced, for errors that quote what a driver said.
    fn redact(&self, message: String) -> String {
        match self.password() {
            Some(p) if p.len() >= 3 && message.contains(p) => message.replace(p, "<password>"),
            _ => message,
        }
    }
}

/// What the engine knows about a table beyond [`schema::Table`](crate::schema::Table): what a
/// rebuild must carry over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableExtras {
    /// Generated (computed) columns: never written, the server recomputes them.
    pub generated: Vec<String>,
    /// The table has triggers that fire on UPDATE (so masking in place would fire them).
    pub update_triggers: bool,
}

/// The live schema and the extras per table.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub schema: Schema,
    pub extras: BTreeMap<String, TableExtras>,
}

impl Live {
    pub fn extras(&self, table: &str) -> TableExtras {
        self.extras.get(table).cloned().unwrap_or_default()
    }

    /// The introspected tables, one a row of `tables` (name, estimated rows), each completed by
    /// `fill` (its columns, keys and extras, from the other catalog queries).
    pub(crate) fn assemble(
        tables: &Rows,
        mut fill: impl FnMut(&str, &mut Table, &mut TableExtras),
    ) -> Live {
        let mut live = Live::default();
        for t in tables {
            let name = t[0].clone().unwrap_or_default();
            let mut table = Table::new(
                name.clone(),
                t[1].as_deref().and_then(|r| r.parse().ok()).unwrap_or(0),
            );
            let mut extras = TableExtras::default();
            fill(&name, &mut table, &mut extras);
            live.extras.insert(name, extras);
            live.schema.tables.push(table);
        }
        live
    }
}

/// The prefix of kirikae's work tables (the table being rebuilt, the original until it is
/// dropped, the progress table). `check` and `init` ignore them.
pub const WORK_PREFIX: &str = "_kirikae_";

/// The name of a work table for `table` (`kind` is `n` for new, `o` for old), within the
/// engines' identifier limits (63 bytes on PostgreSQL, 64 on MySQL).
pub fn work_table(kind: &str, table: &str) -> String {
    let name = format!("{WORK_PREFIX}{kind}_{table}");
    if name.len() <= 60 {
        return name;
    }
    let d = md5_hex(table);
    let mut cut = 40;
    while !table.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{WORK_PREFIX}{kind}_{}_{}", &table[..cut], &d[..8])
}

/// The table where each chunk's commit records its progress, in the same transaction.
pub const PROGRESS_TABLE: &str = "_kirikae_progress";

pub(crate) fn md5_hex(s: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub type Rows = Vec<Vec<Option<String>>>;

/// Rows of text packed into one buffer: a few bytes of overhead per value instead of a `String`
/// each, which keeps a chunk of a wide table small while it waits in the load pipeline.
#[derive(Debug, Default)]
pub struct FlatRows {
    text: String,
    /// (start, end) of each value in `text`, row after row; `None` is NULL.
    cells: Vec<Option<(u32, u32)>>,
    width: usize,
}

impl FlatRows {
    pub fn len(&self) -> usize {
        self.cells.len().checked_div(self.width).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// (text bytes, values): the hint for the next similar read.
    pub fn size(&self) -> (usize, usize) {
        (self.text.len(), self.cells.len())
    }

    /// Row `i`'s values.
    pub fn row(&self, i: usize) -> impl Iterator<Item = Option<&str>> + '_ {
        self.cells[i * self.width..(i + 1) * self.width]
            .iter()
            .map(|c| c.map(|(a, b)| &self.text[a as usize..b as usize]))
    }

    fn push(&mut self, value: Option<&str>) -> Result<(), String> {
        self.cells.push(match value {
            None => None,
            Some(v) => {
                let start = self.text.len();
                self.text.push_str(v);
                let (a, b) = (u32::try_from(start), u32::try_from(self.text.len()));
                match (a, b) {
                    (Ok(a), Ok(b)) => Some((a, b)),
                    _ => {
                        return Err(
                            "a chunk holds more than 4 GB of text: lower --chunk-rows".into()
                        )
                    }
                }
            }
        });
        Ok(())
    }
}

/// Test hook (debug builds only): `KIRIKAE_MASK_FAULT=<point>` makes the run fail at that
/// point as if the process had died there, so tests can prove that `--resume` finishes the job.
pub(crate) fn fault(point: &str) -> DbResult<()> {
    if cfg!(debug_assertions) {
        let fault = std::env::var("KIRIKAE_MASK_FAULT");
        if fault.as_deref() == Ok(point) {
            return Err(DbError::Other(format!("injected fault at {point}")));
        }
        // `panic:<point>`: the task dies there (a worker that died).
        if fault.as_deref().ok().and_then(|f| f.strip_prefix("panic:")) == Some(point) {
            panic!("injected panic at {point}");
        }
    }
    Ok(())
}

/// Test hook (debug builds only): `KIRIKAE_MASK_HOLD=<point>` makes the run wait there for 10
/// minutes, alive and holding what it holds, so tests can start a second run against it.
pub(crate) async fn hold(point: &str) {
    if cfg!(debug_assertions) && std::env::var("KIRIKAE_MASK_HOLD").as_deref() == Ok(point) {
        tokio::time::sleep(std::time::Duration::from_secs(600)).await;
    }
}

/// Statements of other sessions running on kirikae's work tables in this database (session id
/// and the statement's start), such as those of a run that died while they ran.
pub(crate) async fn statements_on_work_tables(conn: &mut Conn) -> DbResult<Vec<String>> {
    let sql = match conn.dialect() {
        Dialect::MySql => {
            "SELECT CONCAT('session ', ID, ': ', LEFT(INFO, 80)) FROM information_schema.PROCESSLIST \
             WHERE ID <> CONNECTION_ID() AND DB = DATABASE() AND COMMAND NOT IN ('Sleep', 'Daemon') \
             AND INFO LIKE '%\\_kirikae\\_%' ORDER BY ID"
        }
        Dialect::Postgres => {
            "SELECT 'session ' || pid || ': ' || left(query, 80) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND state NOT IN ('idle', 'idle in transaction', 'idle in transaction (aborted)') \
             AND query LIKE '%\\_kirikae\\_%' ORDER BY pid"
        }
    };
    Ok(conn
        .rows(sql)
        .await?
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect())
}

/// A statement as it may be shown in an error: the masking key the SQL forms embed (64 hex
/// digits, [`crate::prf::Prf::key_hex`]) replaced by `<key>`, so that no error message, log or
/// report gives it away.
pub(crate) fn redact_keys(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 64 {
            out.push_str("<key>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in sql.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// One connection to the database.
pub enum Conn {
    My {
        conn: mysql_async::Conn,
        target: String,
    },
    Pg {
        client: tokio_postgres::Client,
        task: tokio::task::JoinHandle<()>,
        target: String,
    },
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Conn::Pg { task, .. } = self {
            task.abort();
        }
    }
}

impl Conn {
    /// Connects as the URL says (TLS mode, CA file, password, `via`) and sets the session up:
    /// UTF-8 text both ways, strict writes (MySQL), no JIT (PostgreSQL).
    pub async fn connect(url: &DbUrl) -> DbResult<Conn> {
        let target = url.to_string();
        let err = |message: String| DbError::Connect {
            target: target.clone(),
            message: url.redact(message),
        };
        match url.dialect {
            Dialect::MySql => {
                let mut conn = mysql::connect(url).await?;
                use mysql_async::prelude::Queryable;
                // utf8mb4 both ways, and no silent truncation of what we write.
                conn.query_drop(
                    "SET NAMES utf8mb4, SESSION sql_mode = CONCAT_WS(',', @@SESSION.sql_mode, 'STRICT_ALL_TABLES')",
                )
                .await
                .map_err(|e| err(e.to_string()))?;
                Ok(Conn::My { conn, target })
            }
            Dialect::Postgres => {
                let (client, task) = postgres::connect(url).await?;
                // JIT compiles the large masking expressions again for every chunk and costs
                // more than it saves (bench/mask/sql-forms.md: all columns of 300k rows, 7.0 s
                // with JIT, 4.5 s without). Servers without the setting (before 11) are fine.
                client
                    .batch_execute(
                        "SET client_encoding = 'UTF8'; SET DateStyle = 'ISO, YMD'; \
                         DO $$ BEGIN PERFORM set_config('jit', 'off', false); \
                         EXCEPTION WHEN undefined_object THEN NULL; END $$",
                    )
                    .await
                    .map_err(|e| err(pg_message(&e)))?;
                Ok(Conn::Pg {
                    client,
                    task,
                    target,
                })
            }
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::My { .. } => Dialect::MySql,
            Conn::Pg { .. } => Dialect::Postgres,
        }
    }

    pub fn target(&self) -> &str {
        match self {
            Conn::My { target, .. } | Conn::Pg { target, .. } => target,
        }
    }

    fn sql_error(&self, sql: &str, message: String) -> DbError {
        let mut sql = redact_keys(sql);
        if sql.len() > 400 {
            let mut cut = 400;
            while !sql.is_char_boundary(cut) {
                cut -= 1;
            }
            sql.truncate(cut);
            sql.push_str(" ...");
        }
        DbError::Sql {
            target: self.target().to_string(),
            sql,
            message,
        }
    }

    /// Runs statements that return no rows (PostgreSQL: several separated by `;`).
    pub async fn exec(&mut self, sql: &str) -> DbResult<()> {
        let started = Instant::now();
        let r = match self {
            Conn::My { conn, .. } => {
                use mysql_async::prelude::Queryable;
                conn.query_drop(sql).await.map_err(|e| e.to_string())
            }
            Conn::Pg { client, .. } => client.batch_execute(sql).await.map_err(|e| pg_message(&e)),
        };
        log_statement(sql, started, r.is_ok());
        r.map_err(|m| self.sql_error(sql, m))
    }

    /// Runs a statement and returns how many rows it changed.
    pub async fn exec_count(&mut self, sql: &str) -> DbResult<u64> {
        let started = Instant::now();
        let r = match self {
            Conn::My { conn, .. } => {
                use mysql_async::prelude::Queryable;
                match conn.query_drop(sql).await {
                    Ok(()) => Ok(conn.affected_rows()),
                    Err(e) => Err(e.to_string()),
                }
            }
            Conn::Pg { client, .. } => match client.simple_query(sql).await {
                Ok(msgs) => Ok(msgs
                    .iter()
                    .map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::CommandComplete(n) => *n,
                        _ => 0,
                    })
                    .sum()),
                Err(e) => Err(pg_message(&e)),
            },
        };
        log_statement(sql, started, r.is_ok());
        r.map_err(|m| self.sql_error(sql, m))
    }

    /// Every row of a query, every value as text (`None` is NULL).
    pub async fn rows(&mut self, sql: &str) -> DbResult<Rows> {
        let started = Instant::now();
        let r: Result<Rows, String> = match self {
            Conn::My { conn, .. } => {
                use mysql_async::prelude::Queryable;
                match conn.query::<mysql_async::Row, _>(sql).await {
                    Ok(rows) => rows
                        .into_iter()
                        .map(|r| {
                            (0..r.len())
                                .map(|i| match r.as_ref(i) {
                                    Some(mysql_async::Value::NULL) | None => Ok(None),
                                    Some(mysql_async::Value::Bytes(b)) => {
                                        String::from_utf8(b.clone()).map(Some).map_err(|_| {
                                            "a value is not UTF-8 text (binary column?)".to_string()
                                        })
                                    }
                                    Some(v) => Ok(Some(v.as_sql(true))),
                                })
                                .collect()
                        })
                        .collect(),
                    Err(e) => Err(e.to_string()),
                }
            }
            Conn::Pg { client, .. } => match client.simple_query(sql).await {
                Ok(msgs) => Ok(msgs
                    .into_iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => {
                            Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                        }
                        _ => None,
                    })
                    .collect()),
                Err(e) => Err(pg_message(&e)),
            },
        };
        log_statement(sql, started, r.is_ok());
        r.map_err(|m| self.sql_error(sql, m))
    }

    /// Every row of a query packed into one buffer (see [`FlatRows`]), streamed from the server
    /// rather than collected first.
    /// `hint` is the size of a similar earlier result ([`FlatRows::size`]): the buffers are
    /// allocated once at about that size instead of growing by doubling (which leaves the
    /// allocator fragmented over a long run).
    pub async fn flat_rows(&mut self, sql: &str, hint: (usize, usize)) -> DbResult<FlatRows> {
        let started = Instant::now();
        let mut out = FlatRows {
            text: String::with_capacity(hint.0 + hint.0 / 8),
            cells: Vec::with_capacity(hint.1 + hint.1 / 8),
            width: 0,
        };
        let r: Result<(), String> = match self {
            Conn::My { conn, .. } => {
                use mysql_async::prelude::Queryable;
                async {
                    let mut result = conn.query_iter(sql).await.map_err(|e| e.to_string())?;
                    let mut bad = None;
                    result
                        .for_each(|row| {
                            if bad.is_some() {
                                return;
                            }
                            out.width = row.len();
                            for i in 0..row.len() {
                                let r = match row.as_ref(i) {
                                    Some(mysql_async::Value::NULL) | None => out.push(None),
                                    Some(mysql_async::Value::Bytes(b)) => {
                                        match std::str::from_utf8(b) {
                                            Ok(t) => out.push(Some(t)),
                                            Err(_) => Err("a value is not UTF-8 text (binary \
                                                           column?)"
                                                .to_string()),
                                        }
                                    }
                                    Some(v) => out.push(Some(&v.as_sql(true))),
                                };
                                if let Err(e) = r {
                                    bad = Some(e);
                                    return;
                                }
                            }
                        })
                        .await
                        .map_err(|e| e.to_string())?;
                    match bad {
                        Some(e) => Err(e),
                        None => Ok(()),
                    }
                }
                .await
            }
            Conn::Pg { client, .. } => {
                use futures_util::TryStreamExt;
                async {
                    // Row by row as they arrive, not collected into messages first.
                    let stream = client
                        .simple_query_raw(sql)
                        .await
                        .map_err(|e| pg_message(&e))?;
                    futures_util::pin_mut!(stream);
                    while let Some(m) = stream.try_next().await.map_err(|e| pg_message(&e))? {
                        if let tokio_postgres::SimpleQueryMessage::Row(row) = m {
                            out.width = row.len();
                            for i in 0..row.len() {
                                out.push(row.get(i))?;
                            }
                        }
                    }
                    Ok(())
                }
                .await
            }
        };
        log_statement(sql, started, r.is_ok());
        r.map_err(|m| self.sql_error(sql, m))?;
        Ok(out)
    }

    /// The first column of the first row.
    pub async fn value(&mut self, sql: &str) -> DbResult<Option<String>> {
        Ok(self
            .rows(sql)
            .await?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .flatten())
    }

    /// The number the query returns (0 when it returns no number).
    pub async fn count(&mut self, sql: &str) -> DbResult<u64> {
        Ok(self
            .value(sql)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// The table's number of rows.
    pub async fn row_count(&mut self, table: &str) -> DbResult<u64> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.dialect().ident(table));
        self.count(&sql).await
    }

    /// Bulk-loads rows into `table`'s `columns`: MySQL `LOAD DATA LOCAL INFILE`, PostgreSQL
    /// `COPY ... FROM STDIN`, in the format `data` says ([`LoadData`]).
    /// `data` is shared, not copied: a transaction run again loads the same bytes.
    pub async fn load(
        &mut self,
        table: &str,
        columns: &[String],
        data: &LoadData,
    ) -> DbResult<u64> {
        let d = self.dialect();
        let cols: Vec<String> = columns.iter().map(|c| d.ident(c)).collect();
        let started = Instant::now();
        match self {
            Conn::My { conn, .. } => {
                use futures_util::StreamExt;
                use mysql_async::prelude::Queryable;
                let data = match data {
                    LoadData::Text(data) => data.clone(),
                    LoadData::PgBinary(_) => {
                        return Err(DbError::Other(
                            "PostgreSQL's binary COPY format cannot be loaded into MySQL".into(),
                        ))
                    }
                };
                conn.set_infile_handler(async move {
                    Ok(futures_util::stream::iter([Ok(data)]).boxed())
                });
                let sql = format!(
                    "LOAD DATA LOCAL INFILE 'kirikae' INTO TABLE {} CHARACTER SET utf8mb4 \
                     FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
                    d.ident(table),
                    cols.join(", ")
                );
                let sent = conn.query_drop(&sql).await;
                log_statement(&sql, started, sent.is_ok());
                let loaded = match sent {
                    Ok(()) => conn.affected_rows(),
                    Err(e) => return Err(self.sql_error(&sql, e.to_string())),
                };
                // LOCAL loads turn data errors into warnings (a truncated value, a skipped
                // duplicate): any warning fails the load, which the caller rolls back.
                if conn.get_warnings() > 0 {
                    let shown: Vec<(String, u32, String)> = conn
                        .query("SHOW WARNINGS LIMIT 3")
                        .await
                        .unwrap_or_default();
                    let list: Vec<String> = shown
                        .into_iter()
                        .map(|(level, code, message)| format!("{level} {code}: {message}"))
                        .collect();
                    return Err(self.sql_error(
                        &sql,
                        format!("the load raised warnings: {}", list.join("; ")),
                    ));
                }
                Ok(loaded)
            }
            Conn::Pg { client, .. } => {
                use futures_util::SinkExt;
                let (data, format) = match data {
                    LoadData::Text(data) => (data.clone(), ""),
                    LoadData::PgBinary(data) => (data.clone(), " (FORMAT binary)"),
                };
                let sql = format!(
                    "COPY {} ({}) FROM STDIN{format}",
                    d.ident(table),
                    cols.join(", ")
                );
                let r: Result<u64, tokio_postgres::Error> = async {
                    let sink = client.copy_in::<_, bytes::Bytes>(&sql).await?;
                    futures_util::pin_mut!(sink);
                    sink.send(data).await?;
                    sink.as_mut().finish().await
                }
                .await;
                log_statement(&sql, started, r.is_ok());
                r.map_err(|e| self.sql_error(&sql, pg_message(&e)))
            }
        }
    }

    /// The live schema of the connection's database (MySQL) or current schema (PostgreSQL),
    /// kirikae's own work tables left out.
    pub async fn introspect(&mut self) -> DbResult<Live> {
        let mut live = match self.dialect() {
            Dialect::MySql => mysql::introspect(self).await?,
            Dialect::Postgres => postgres::introspect(self).await?,
        };
        live.schema
            .tables
            .retain(|t| !t.name.starts_with(WORK_PREFIX));
        live.schema.tables.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(live)
    }

    /// Whether a table exists (work tables included).
    /// The tables of the current database/schema with triggers that fire on UPDATE.
    pub async fn tables_with_update_triggers(&mut self) -> Result<Vec<String>, DbError> {
        let sql = match self.dialect() {
            Dialect::MySql => "SELECT DISTINCT EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS \
                 WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND EVENT_MANIPULATION = 'UPDATE'",
            // tgtype bit 4: TRIGGER_TYPE_UPDATE.
            Dialect::Postgres => "SELECT DISTINCT c.relname FROM pg_trigger t \
                 JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE NOT t.tgisinternal AND (t.tgtype & 16) <> 0 AND n.nspname = current_schema()",
        };
        Ok(self
            .rows(sql)
            .await?
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect())
    }

    pub async fn table_exists(&mut self, table: &str) -> DbResult<bool> {
        let d = self.dialect();
        let sql = match d {
            Dialect::MySql => format!(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
                 AND TABLE_NAME = {}",
                d.string_literal(table)
            ),
            Dialect::Postgres => format!(
                "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relname = {} AND c.relkind IN ('r', 'p')",
                d.string_literal(table)
            ),
        };
        Ok(self.value(&sql).await?.as_deref() != Some("0"))
    }
}

/// Drops the secondary indexes of a rebuild's empty new table, to be built once its rows are in
/// (see [`mysql::defer_indexes`] and [`postgres::defer_indexes`]). Returns how many.
pub(crate) async fn defer_indexes(conn: &mut Conn, new: &str) -> DbResult<usize> {
    match conn.dialect() {
        Dialect::MySql => mysql::defer_indexes(conn, new).await,
        Dialect::Postgres => postgres::defer_indexes(conn, new).await,
    }
}

/// The secondary indexes of `table` that `new` lacks: their names, and the statements that
/// build them on `new`. Run again after a crash, it names only those still missing.
pub(crate) async fn missing_indexes(
    conn: &mut Conn,
    table: &str,
    new: &str,
) -> DbResult<(Vec<String>, Vec<String>)> {
    match conn.dialect() {
        Dialect::MySql => mysql::missing_indexes(conn, table, new).await,
        Dialect::Postgres => postgres::missing_indexes(conn, table, new).await,
    }
}

pub(crate) fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                s.push_str(&format!(" ({d})"));
            }
            s
        }
        // The driver's own text names only the kind ("error performing TLS handshake"): the
        // causes say what happened.
        None => {
            let mut s = e.to_string();
            let mut next = std::error::Error::source(e);
            while let Some(cause) = next {
                s.push_str(&format!(": {cause}"));
                next = cause.source();
            }
            s
        }
    }
}

/// Rows encoded for [`Conn::load`].
#[derive(Debug, Clone)]
pub enum LoadData {
    /// The text format both engines share ([`encode_text_fields`]).
    Text(bytes::Bytes),
    /// PostgreSQL's binary COPY format ([`pg_binary`]).
    PgBinary(bytes::Bytes),
}

/// How a table's rows are encoded for [`Conn::load`]: PostgreSQL's binary format when every
/// column's type has a codec ([`pg_binary::Codec`]), else text.
#[derive(Debug, Clone)]
pub enum LoadFormat {
    Text,
    PgBinary(Vec<pg_binary::Codec>),
}

impl LoadFormat {
    /// The format in which `columns` of `table` are loaded.
    pub async fn of(conn: &mut Conn, table: &str, columns: &[String]) -> DbResult<LoadFormat> {
        Ok(match conn.dialect() {
            Dialect::MySql => LoadFormat::Text,
            Dialect::Postgres => match pg_binary::codecs(conn, table, columns).await? {
                Some(codecs) => LoadFormat::PgBinary(codecs),
                None => LoadFormat::Text,
            },
        })
    }
}

/// Appends one row in the bulk-load text format (MySQL LOAD DATA defaults = PostgreSQL COPY
/// text): fields separated by tabs, `\N` for NULL, backslash, tab, newline and carriage return
/// escaped.
pub fn encode_text_row(out: &mut Vec<u8>, values: &[Option<&str>]) {
    encode_text_fields(out, values.iter().copied())
}

/// [`encode_text_row`] from an iterator of the row's values.
pub fn encode_text_fields<'a>(
    out: &mut Vec<u8>,
    values: impl IntoIterator<Item = Option<&'a str>>,
) {
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match v {
            None => out.extend_from_slice(b"\\N"),
            // Most values need no escape: copied whole.
            Some(s)
                if !s
                    .bytes()
                    .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) =>
            {
                out.extend_from_slice(s.as_bytes())
            }
            Some(s) => {
                for b in s.bytes() {
                    match b {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        b => out.push(b),
                    }
                }
            }
        }
    }
    out.push(b'\n');
}

/// The table's key for chunking: the rules' `key`, else the primary key.
pub fn key_of(table: &Table, rule_key: Option<&Vec<String>>) -> Vec<String> {
    match rule_key {
        Some(k) => k.clone(),
        None => table.primary_key.clone(),
    }
}

/// The tracing target of the statement lines (`-vv`, or `RUST_LOG=kirikae::db=trace`).
pub const STATEMENT_TARGET: &str = "kirikae::db";

/// One trace line per statement: its kind and table and how long it took, never its text (which
/// holds literal values: masked data, dictionary words, keys' checks).
fn log_statement(sql: &str, started: Instant, ok: bool) {
    if tracing::enabled!(target: STATEMENT_TARGET, tracing::Level::TRACE) {
        let (kind, table) = statement_summary(sql);
        tracing::trace!(
            target: STATEMENT_TARGET,
            kind = %kind,
            table = %table.as_deref().unwrap_or("-"),
            duration_ms = %format_args!("{:.1}", started.elapsed().as_secs_f64() * 1000.0),
            ok,
            "statement"
        );
    }
}

/// `("UPDATE", Some("customers"))` for `UPDATE `customers` SET ...`: the leading keywords
/// (two for `LOAD DATA`, `CREATE TABLE` and the like) and the identifier after the first of
/// FROM / INTO / UPDATE / TABLE / VIEW / TRIGGER. Only keywords and identifiers are read: a quoted
/// string ('...') is never taken as a table, so no value reaches the log.
pub fn statement_summary(sql: &str) -> (String, Option<String>) {
    let upper = |w: &str| w.trim_end_matches(';').to_ascii_uppercase();
    // `IF [NOT] EXISTS` stands between the keyword and the table: left out.
    let words: Vec<&str> = sql
        .split_whitespace()
        .take(64)
        .filter(|w| !matches!(upper(w).as_str(), "IF" | "NOT" | "EXISTS"))
        .collect();
    let first = words.first().map(|w| upper(w)).unwrap_or_default();
    let two_word = matches!(
        first.as_str(),
        "CREATE" | "ALTER" | "DROP" | "LOAD" | "RENAME" | "TRUNCATE" | "LOCK" | "START" | "SHOW"
    );
    let kind = match (two_word, words.get(1)) {
        (true, Some(w)) if w.chars().all(|c| c.is_ascii_alphabetic()) => {
            format!("{first} {}", upper(w))
        }
        _ => first,
    };
    let table = words.windows(2).find_map(|w| {
        matches!(
            upper(w[0]).as_str(),
            "FROM" | "INTO" | "UPDATE" | "TABLE" | "VIEW" | "TRIGGER" | "COPY"
        )
        .then(|| identifier(w[1]))
        .flatten()
    });
    (kind, table)
}

/// A quoted (`` ` `` or `"`) or bare identifier at the start of `word`, possibly schema-qualified;
/// `None` for anything else (a string literal, a parenthesis, a keyword like `IF`).
fn identifier(word: &str) -> Option<String> {
    let w = word.trim_end_matches([';', ',', '(']);
    if w.is_empty() || w.starts_with('\'') || w.starts_with('(') {
        return None;
    }
    if matches!(
        w.to_ascii_uppercase().as_str(),
        "ONLY" | "LOCAL" | "SELECT" | "TABLE"
    ) {
        return None;
    }
    w.chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '`' | '"' | '.' | '$'))
        .then(|| w.replace(['`', '"'], ""))
}

#[cfg(test)]
mod tests {

    /// The statement log's summary: kind and table, never a literal value.
    #[test]
    fn statement_summary_names_kind_and_table_but_no_value() {
        let cases = [
            (
                "UPDATE `kaiin` SET mail = 'hanako@example.jp' WHERE id = 1",
                "UPDATE",
                Some("kaiin"),
            ),
            (
                "SELECT id, mail FROM \"public\".\"kaiin\" WHERE id > 5",
                "SELECT",
                Some("public.kaiin"),
            ),
            (
                "DROP TABLE IF EXISTS `_kirikae_n_kaiin`",
                "DROP TABLE",
                Some("_kirikae_n_kaiin"),
            ),
            (
                "LOAD DATA LOCAL INFILE 'kirikae' INTO TABLE `kaiin` CHARACTER SET utf8mb4",
                "LOAD DATA",
                Some("kaiin"),
            ),
            ("COPY \"kaiin\" (\"id\") FROM STDIN", "COPY", Some("kaiin")),
            ("INSERT INTO t VALUES ('secret', 2)", "INSERT", Some("t")),
            ("SELECT 'hanako@example.jp'", "SELECT", None),
            ("SET SESSION sql_log_bin = 0", "SET", None),
        ];
        for (sql, kind, table) in cases {
            let (k, t) = statement_summary(sql);
            assert_eq!(k, kind, "{sql}");
            assert_eq!(t.as_deref(), table, "{sql}");
            for value in ["hanako", "secret"] {
                assert!(!k.contains(value) && !t.clone().unwrap_or_default().contains(value));
            }
        }
    }
    use super::*;

    #[test]
    fn urls_parse_and_hide_the_password() {
        let u = DbUrl::parse("mysql://app:s%40cret@db.internal:3307/shop").unwrap();
        assert_eq!(u.dialect, Dialect::MySql);
        assert_eq!(
            (u.host.as_str(), u.port, u.user.as_str()),
            ("db.internal", 3307, "app")
        );
        assert_eq!(u.database, "shop");
        assert_eq!(
            u.to_string(),
            "mysql://app@db.internal:3307/shop?ssl-mode=PREFERRED"
        );
        assert!(!format!("{u:?}").contains("cret"));
        assert!(u.has_password());
        let p = DbUrl::parse("postgres://127.0.0.1/app").unwrap();
        assert_eq!((p.port, p.user.as_str()), (5432, "postgres"));
        for bad in [
            "shop",
            "oracle://x/y",
            "mysql://host",
            "mysql://host/",
            "mysql://h:x/d",
        ] {
            assert!(DbUrl::parse(bad).is_err(), "{bad}");
        }
    }

    fn bad_url(raw: &str) -> String {
        match DbUrl::parse(raw) {
            Err(DbError::BadUrl(m)) => m,
            other => panic!("{raw}: {other:?}"),
        }
    }

    #[test]
    fn tls_parameters_in_each_engines_words() {
        let p = DbUrl::parse(
            "postgres://app@db:5432/shop?sslmode=verify-full&sslrootcert=/etc/ca%20x.pem",
        )
        .unwrap();
        assert_eq!(p.tls.mode, TlsMode::VerifyFull);
        assert_eq!(
            p.tls.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/ca x.pem"))
        );
        assert_eq!(
            p.to_string(),
            "postgres://app@db:5432/shop?sslmode=verify-full&sslrootcert=/etc/ca%20x.pem"
        );
        let m = DbUrl::parse("mysql://app@db/shop?ssl-mode=verify_identity&ssl-ca=ca.pem").unwrap();
        assert_eq!(m.tls.mode, TlsMode::VerifyFull);
        assert_eq!(
            m.to_string(),
            "mysql://app@db:3306/shop?ssl-mode=VERIFY_IDENTITY&ssl-ca=ca.pem"
        );
        // Defaults: prefer, as libpq and the MySQL client.
        assert_eq!(
            DbUrl::parse("postgres://db/shop").unwrap().tls.mode,
            TlsMode::Prefer
        );
        assert_eq!(
            DbUrl::parse("mysql://db/shop?ssl-mode=DISABLED")
                .unwrap()
                .tls
                .mode,
            TlsMode::Disable
        );
        // The other engine's spelling names the right one.
        let e = bad_url("mysql://db/shop?sslmode=require");
        assert!(
            e.contains("ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY"),
            "{e}"
        );
        let e = bad_url("postgres://db/shop?ssl-mode=REQUIRED");
        assert!(
            e.contains("take sslmode=disable|prefer|require|verify-ca|verify-full"),
            "{e}"
        );
        let e = bad_url("postgres://db/shop?sslca=ca.pem");
        assert!(e.contains("sslrootcert=<CA file>"), "{e}");
        // Unknown parameters and values list what is accepted.
        let e = bad_url("postgres://db/shop?sslmode=verify-identity");
        assert!(
            e.contains("unknown sslmode=\"verify-identity\"") && e.contains("verify-full"),
            "{e}"
        );
        let e = bad_url("mysql://db/shop?pool_min=1");
        assert!(
            e.contains("unknown parameter \"pool_min\"") && e.contains("ssl-ca=<CA file>"),
            "{e}"
        );
        // Verification needs the CA; a plain connection has none to use.
        let e = bad_url("mysql://db/shop?ssl-mode=VERIFY_CA");
        assert!(
            e.contains("add ssl-ca=<file>") && e.contains("global-bundle.pem"),
            "{e}"
        );
        let e = bad_url("postgres://db/shop?sslmode=disable&sslrootcert=ca.pem");
        assert!(e.contains("drop sslrootcert="), "{e}");
        let e = bad_url("postgres://db/shop?sslmode=require&sslmode=disable");
        assert!(e.contains("given twice"), "{e}");
    }

    #[test]
    fn no_url_error_shows_the_password() {
        for raw in [
            "mysql://app:hunter22/shop",
            "mysql://app:hunter22@/shop",
            "mysql://app:hun%zzter22@db/shop",
            "postgres://app:hunter22@db:x/shop",
            "postgres://app:hunter22@db/shop?sslmode=bogus",
            "postgres://app:hunter22@db",
        ] {
            let e = bad_url(raw);
            assert!(!e.contains("hunter") && !e.contains("zzter"), "{raw}: {e}");
        }
    }

    #[test]
    fn passwords_come_from_the_url_or_beside_it_and_via_keeps_the_name() {
        let u = DbUrl::parse(
            "postgres://app@db.example:5433/shop?sslmode=verify-full&sslrootcert=ca.pem",
        )
        .unwrap();
        assert!(!u.has_password());
        let u = u.with_password("pw from a file");
        assert_eq!(u.password(), Some("pw from a file"));
        assert!(!format!("{u} {u:?}").contains("pw from"));
        let t = u.via("127.0.0.1", 40123);
        assert_eq!(t.connects_to(), ("127.0.0.1", 40123));
        assert_eq!((t.host.as_str(), t.port), ("db.example", 5433));
        assert_eq!(t.slug(), u.slug());
        assert_eq!(
            t.to_string(),
            "postgres://app@db.example:5433/shop?sslmode=verify-full&sslrootcert=ca.pem via 127.0.0.1:40123"
        );
        assert_eq!(u.connects_to(), ("db.example", 5433));
        assert_eq!(
            t.redact("FATAL: password pw from a file wrong".into()),
            "FATAL: password <password> wrong"
        );
    }

    #[test]
    fn work_tables_fit_the_identifier_limit() {
        assert_eq!(work_table("n", "users"), "_kirikae_n_users");
    }

    #[test]
    fn errors_never_show_the_masking_key() {
        let key = crate::prf::Prf::from_secret(b"secret")
            .key_hex()
            .to_string();
        let sql = format!("SELECT substr(md5('{key}hash' || x), 1, 32), 'cafe' FROM t");
        let shown = redact_keys(&sql);
        assert!(!shown.contains(&key[..16]), "{shown}");
        assert_eq!(
            shown,
            "SELECT substr(md5('<key>hash' || x), 1, 32), 'cafe' FROM t"
        );
        let long = "t".repeat(64);
        assert!(work_table("o", &long).len() <= 63);
        assert_ne!(work_table("o", &long), work_table("n", &long));
    }

    #[test]
    fn text_rows_escape_what_the_loaders_unescape() {
        let mut out = Vec::new();
        encode_text_row(&mut out, &[Some("a\tb\\c\nd"), None, Some("")]);
        assert_eq!(out, b"a\\tb\\\\c\\nd\t\\N\t\n");
    }
}
