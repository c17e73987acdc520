//! MySQL/MariaDB: introspection from information_schema, and the swap of a rebuilt table.
//!
//! What a rebuild must carry over, and how (each has a test in tests/swap.rs):
//! - columns, indexes, defaults, table options: `CREATE TABLE new LIKE t`;
//! - AUTO_INCREMENT: set on the new table to the original's next value before the swap;
//! - the swap itself: one `RENAME TABLE t TO old, new TO t` (atomic);
//! - foreign keys of t, foreign keys of other tables pointing at t, triggers: RENAME moves them
//!   to `old` (InnoDB follows the rename), so they are recorded before the swap ([`SwapPlan`])
//!   and recreated on `t` after it, under their own names (constraint and trigger names are
//!   unique per database, so each is dropped from `old` first), with foreign_key_checks off
//!   (the keys are unchanged or masked alike on both sides, and `verify` checks them);
//! - grants: MySQL table and column privileges are kept by name, so they apply to the new
//!   table as they did to the old one; nothing to do.

use serde::{Deserialize, Serialize};

use super::tls::{self, TlsMode, Verification};
use super::{Conn, DbError, DbResult, DbUrl, Live};
use crate::schema::{Column, ColumnKind, ForeignKey};
use crate::transform::Dialect;

const D: Dialect = Dialect::MySql;

fn lit(s: &str) -> String {
    D.string_literal(s)
}

fn id(s: &str) -> String {
    D.ident(s)
}

pub(crate) async fn introspect(conn: &mut Conn) -> DbResult<Live> {
    let tables = conn
        .rows(
            "SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
        )
        .await?;
    let columns = conn
        .rows(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE, \
             CHARACTER_MAXIMUM_LENGTH, NUMERIC_SCALE, EXTRA FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION",
        )
        .await?;
    // MariaDB's JSON is longtext with a json_valid() check.
    let json_checks = conn
        .rows(
            "SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = DATABASE() AND CHECK_CLAUSE LIKE 'json_valid(%'",
        )
        .await
        .unwrap_or_default();
    let indexes = conn
        .rows(
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
        )
        .await?;
    let fks = conn
        .rows(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, \
             REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
             WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL \
             AND REFERENCED_TABLE_SCHEMA = DATABASE() \
             ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
        )
        .await?;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    Ok(Live::assemble(&tables, |name, table, extras| {
        for c in columns.iter().filter(|c| c[0].as_deref() == Some(name)) {
            let cname = text(&c[1]);
            let sql_type = text(&c[2]);
            let data_type = text(&c[3]).to_ascii_lowercase();
            let is_json = json_checks.iter().any(|j| {
                j[0].as_deref() == Some(name)
                    && j[1].as_deref().is_some_and(|cl| {
                        cl.contains(&format!("`{cname}`")) || cl.contains(&format!("({cname})"))
                    })
            });
            let kind = if is_json {
                ColumnKind::Json
            } else {
                kind_of(&data_type, &sql_type, c[6].as_deref())
            };
            let extra = text(&c[7]).to_ascii_uppercase();
            if extra.contains("GENERATED") || extra.contains("VIRTUAL") || extra.contains("STORED")
            {
                extras.generated.push(cname.clone());
            }
            let max_chars = if kind.is_text() {
                c[5].as_deref()
                    .and_then(|m| m.parse::<u64>().ok())
                    .map(|m| m.min(u32::MAX as u64) as u32)
            } else {
                None
            };
            table.columns.push(Column {
                name: cname,
                sql_type,
                kind,
                nullable: c[4].as_deref() == Some("YES"),
                max_chars,
            });
        }
        let mut current: Option<(String, bool, Vec<String>)> = None;
        let mut finished = Vec::new();
        for i in indexes.iter().filter(|i| i[0].as_deref() == Some(name)) {
            let iname = text(&i[1]);
            let unique = i[2].as_deref() == Some("0");
            match &mut current {
                Some((n, _, cols)) if *n == iname => cols.push(text(&i[3])),
                _ => {
                    if let Some(c) = current.take() {
                        finished.push(c);
                    }
                    current = Some((iname, unique, vec![text(&i[3])]));
                }
            }
        }
        finished.extend(current);
        for (iname, unique, cols) in finished {
            if iname == "PRIMARY" {
                table.primary_key = cols;
            } else if unique && !table.unique.contains(&cols) {
                table.unique.push(cols);
            }
        }
        let mut fk_current: Option<ForeignKey> = None;
        for f in fks.iter().filter(|f| f[0].as_deref() == Some(name)) {
            let fname = text(&f[1]);
            match &mut fk_current {
                Some(fk) if fk.name == fname => {
                    fk.columns.push(text(&f[2]));
                    fk.referenced_columns.push(text(&f[4]));
                }
                _ => {
                    table.foreign_keys.extend(fk_current.take());
                    fk_current = Some(ForeignKey {
                        name: fname,
                        table: name.to_string(),
                        columns: vec![text(&f[2])],
                        referenced_table: text(&f[3]),
                        referenced_columns: vec![text(&f[4])],
                    });
                }
            }
        }
        table.foreign_keys.extend(fk_current);
    }))
}

fn kind_of(data_type: &str, sql_type: &str, scale: Option<&str>) -> ColumnKind {
    match data_type {
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => ColumnKind::Text,
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "year" => {
            ColumnKind::Integer
        }
        "decimal" | "numeric" => ColumnKind::Decimal {
            scale: scale.and_then(|s| s.parse().ok()).unwrap_or(0),
        },
        "float" | "double" | "real" => ColumnKind::Float,
        "date" => ColumnKind::Date,
        "datetime" | "timestamp" => ColumnKind::DateTime,
        "time" => ColumnKind::Time,
        "json" => ColumnKind::Json,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
            ColumnKind::Binary
        }
        "bit" if sql_type == "bit(1)" => ColumnKind::Boolean,
        "enum" | "set" => ColumnKind::Enum {
            values: enum_values(sql_type),
        },
        _ => ColumnKind::Other,
    }
}

/// The values of `enum('a','b''c')`.
fn enum_values(sql_type: &str) -> Vec<String> {
    let Some(start) = sql_type.find('(') else {
        return Vec::new();
    };
    let body = sql_type[start + 1..].trim_end_matches(')');
    let mut values = Vec::new();
    let mut cur = String::new();
    let mut in_str = false;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match (in_str, c) {
            (false, '\'') => in_str = true,
            (true, '\'') if chars.peek() == Some(&'\'') => {
                chars.next();
                cur.push('\'');
            }
            (true, '\'') => {
                in_str = false;
                values.push(std::mem::take(&mut cur));
            }
            (true, c) => cur.push(c),
            _ => {}
        }
    }
    values
}

/// One foreign key as it must be recreated.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FkDef {
    pub table: String,
    pub name: String,
    pub columns: Vec<String>,
    pub referenced_table: String,
    pub referenced_columns: Vec<String>,
    pub on_update: String,
    pub on_delete: String,
}

impl FkDef {
    fn add_sql(&self, table: &str, referenced: &str) -> String {
        let cols = |c: &[String]| c.iter().map(|c| id(c)).collect::<Vec<_>>().join(", ");
        format!(
            "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON UPDATE {} ON DELETE {}",
            id(table),
            id(&self.name),
            cols(&self.columns),
            id(referenced),
            cols(&self.referenced_columns),
            self.on_update,
            self.on_delete
        )
    }
}

/// One trigger as it must be recreated.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TriggerDef {
    pub name: String,
    pub timing: String,
    pub event: String,
    pub statement: String,
    pub definer: String,
    pub sql_mode: String,
}

/// What the swap of one table moves from the original to the rebuilt table, recorded in the
/// journal before the swap so that finishing it after a crash needs nothing from `old`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SwapPlan {
    /// Foreign keys of the table itself (self-references included).
    pub own_fks: Vec<FkDef>,
    /// Foreign keys of other tables pointing at the table.
    pub incoming_fks: Vec<FkDef>,
    pub triggers: Vec<TriggerDef>,
    pub auto_increment: Option<u64>,
}

async fn fk_defs(conn: &mut Conn, filter: &str) -> DbResult<Vec<FkDef>> {
    let rows = conn
        .rows(&format!(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, \
             k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k \
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
               ON r.CONSTRAINT_SCHEMA = k.TABLE_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
              AND r.TABLE_NAME = k.TABLE_NAME \
             WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL AND {filter} \
             ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION"
        ))
        .await?;
    let mut out: Vec<FkDef> = Vec::new();
    for r in rows {
        let v = |i: usize| r[i].clone().unwrap_or_default();
        match out.last_mut() {
            Some(f) if f.table == v(0) && f.name == v(1) => {
                f.columns.push(v(2));
                f.referenced_columns.push(v(4));
            }
            _ => out.push(FkDef {
                table: v(0),
                name: v(1),
                columns: vec![v(2)],
                referenced_table: v(3),
                referenced_columns: vec![v(4)],
                on_update: v(5),
                on_delete: v(6),
            }),
        }
    }
    Ok(out)
}

/// Records what the swap of `table` must carry over (run before the swap).
pub async fn swap_plan(conn: &mut Conn, table: &str) -> DbResult<SwapPlan> {
    let own_fks = fk_defs(conn, &format!("k.TABLE_NAME = {}", lit(table))).await?;
    let incoming_fks = fk_defs(
        conn,
        &format!(
            "k.REFERENCED_TABLE_NAME = {t} AND k.REFERENCED_TABLE_SCHEMA = DATABASE() \
             AND k.TABLE_NAME <> {t}",
            t = lit(table)
        ),
    )
    .await?;
    let triggers = conn
        .rows(&format!(
            "SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT, DEFINER, SQL_MODE \
             FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
             AND EVENT_OBJECT_TABLE = {} ORDER BY ACTION_ORDER",
            lit(table)
        ))
        .await?
        .into_iter()
        .map(|r| {
            let v = |i: usize| r[i].clone().unwrap_or_default();
            TriggerDef {
                name: v(0),
                timing: v(1),
                event: v(2),
                statement: v(3),
                definer: v(4),
                sql_mode: v(5),
            }
        })
        .collect();
    // MySQL 8 caches information_schema statistics; MariaDB has no such variable.
    let _ = conn
        .exec("SET SESSION information_schema_stats_expiry = 0")
        .await;
    let auto_increment = conn
        .value(&format!(
            "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = {}",
            lit(table)
        ))
        .await?
        .and_then(|v| v.parse().ok());
    Ok(SwapPlan {
        own_fks,
        incoming_fks,
        triggers,
        auto_increment,
    })
}

/// Creates the empty rebuilt table.
pub async fn create_new(conn: &mut Conn, table: &str, new: &str) -> DbResult<()> {
    conn.exec(&format!("CREATE TABLE {} LIKE {}", id(new), id(table)))
        .await
}

/// A secondary index as `SHOW CREATE TABLE` prints it.
#[derive(Debug, Clone, PartialEq)]
struct IndexClause {
    name: String,
    /// The whole clause (`UNIQUE KEY `email` (`email`) COMMENT 'x'`), as `ALTER TABLE ... ADD`
    /// takes it.
    clause: String,
    first_column: String,
}

/// Reads one quoted identifier (`a``b` or "a""b") at the start of `s`: its text and the rest.
fn quoted_ident(s: &str) -> Option<(String, &str)> {
    let q = s.chars().next().filter(|c| *c == '`' || *c == '"')?;
    let mut out = String::new();
    let mut chars = s[1..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == q {
            if chars.peek().map(|(_, n)| *n) == Some(q) {
                chars.next();
                out.push(q);
            } else {
                return Some((out, &s[1 + i + 1..]));
            }
        } else {
            out.push(c);
        }
    }
    None
}

/// The secondary indexes (every index but the primary key) of a `SHOW CREATE TABLE` text.
fn secondary_indexes(create: &str) -> Vec<IndexClause> {
    const KINDS: [&str; 4] = ["KEY ", "UNIQUE KEY ", "FULLTEXT KEY ", "SPATIAL KEY "];
    create
        .lines()
        .filter_map(|line| {
            let clause = line.trim().trim_end_matches(',');
            let rest = KINDS.iter().find_map(|k| clause.strip_prefix(k))?;
            let (name, after) = quoted_ident(rest)?;
            let (first_column, _) = quoted_ident(after.trim_start().strip_prefix('(')?)?;
            Some(IndexClause {
                name,
                clause: clause.to_string(),
                first_column,
            })
        })
        .collect()
}

async fn show_create(conn: &mut Conn, table: &str) -> DbResult<String> {
    let rows = conn
        .rows(&format!("SHOW CREATE TABLE {}", id(table)))
        .await?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().nth(1).flatten())
        .unwrap_or_default())
}

/// Drops the secondary indexes of the empty rebuilt table, to be built after its rows are in
/// ([`missing_indexes`]): loading rows whose masked values are in random order into a unique
/// email index costs a random B-tree insert per row, which at 10M rows and InnoDB's default
/// 128 MB buffer pool is most of the run; a sorted build afterwards is one pass. An index that
/// starts with the AUTO_INCREMENT column stays (InnoDB requires one). Returns how many it drops.
pub async fn defer_indexes(conn: &mut Conn, new: &str) -> DbResult<usize> {
    let auto = conn
        .value(&format!(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = {} AND EXTRA LIKE '%auto_increment%'",
            lit(new)
        ))
        .await?;
    let drops: Vec<String> = secondary_indexes(&show_create(conn, new).await?)
        .into_iter()
        .filter(|i| Some(&i.first_column) != auto.as_ref())
        .map(|i| format!("DROP INDEX {}", id(&i.name)))
        .collect();
    if !drops.is_empty() {
        conn.exec(&format!("ALTER TABLE {} {}", id(new), drops.join(", ")))
            .await?;
    }
    Ok(drops.len())
}

/// The indexes of `table` that the rebuilt `new` lacks (by their whole definition), and the
/// statement that adds them all in one pass over `new`.
pub async fn missing_indexes(
    conn: &mut Conn,
    table: &str,
    new: &str,
) -> DbResult<(Vec<String>, Vec<String>)> {
    let have = secondary_indexes(&show_create(conn, new).await?);
    let missing: Vec<IndexClause> = secondary_indexes(&show_create(conn, table).await?)
        .into_iter()
        .filter(|i| !have.contains(i))
        .collect();
    if missing.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let adds: Vec<String> = missing
        .iter()
        .map(|i| format!("ADD {}", i.clause))
        .collect();
    Ok((
        missing.into_iter().map(|i| i.name).collect(),
        vec![format!("ALTER TABLE {} {}", id(new), adds.join(", "))],
    ))
}

/// The atomic swap: `table` becomes `old`, `new` becomes `table`.
pub async fn swap(
    conn: &mut Conn,
    table: &str,
    new: &str,
    old: &str,
    plan: &SwapPlan,
) -> DbResult<()> {
    if let Some(ai) = plan.auto_increment {
        conn.exec(&format!("ALTER TABLE {} AUTO_INCREMENT = {ai}", id(new)))
            .await?;
    }
    conn.exec(&format!(
        "RENAME TABLE {} TO {}, {} TO {}",
        id(table),
        id(old),
        id(new),
        id(table)
    ))
    .await
}

async fn constraint_on(conn: &mut Conn, table: &str, name: &str) -> DbResult<Option<String>> {
    conn.value(&format!(
        "SELECT REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = {} AND CONSTRAINT_NAME = {}",
        lit(table),
        lit(name)
    ))
    .await
}

/// After the swap: moves foreign keys and triggers from `old` to `table`, re-points the
/// foreign keys of other tables, drops `old`. Every step looks before it acts, so running it
/// again after a crash finishes the job.
pub async fn finish_swap(conn: &mut Conn, table: &str, old: &str, plan: &SwapPlan) -> DbResult<()> {
    conn.exec("SET SESSION foreign_key_checks = 0").await?;
    let r = finish_swap_inner(conn, table, old, plan).await;
    let reset = conn.exec("SET SESSION foreign_key_checks = 1").await;
    r.and(reset)
}

async fn finish_swap_inner(
    conn: &mut Conn,
    table: &str,
    old: &str,
    plan: &SwapPlan,
) -> DbResult<()> {
    let old_exists = conn.table_exists(old).await?;
    for fk in &plan.own_fks {
        if old_exists && constraint_on(conn, old, &fk.name).await?.is_some() {
            conn.exec(&format!(
                "ALTER TABLE {} DROP FOREIGN KEY {}",
                id(old),
                id(&fk.name)
            ))
            .await?;
        }
        if constraint_on(conn, table, &fk.name).await?.is_none() {
            let referenced = if fk.referenced_table == table {
                table
            } else {
                &fk.referenced_table
            };
            conn.exec(&fk.add_sql(table, referenced)).await?;
        }
    }
    for fk in &plan.incoming_fks {
        match constraint_on(conn, &fk.table, &fk.name).await? {
            Some(r) if r == table => continue,
            Some(_) => {
                conn.exec(&format!(
                    "ALTER TABLE {} DROP FOREIGN KEY {}",
                    id(&fk.table),
                    id(&fk.name)
                ))
                .await?;
            }
            None => {}
        }
        conn.exec(&fk.add_sql(&fk.table, table)).await?;
    }
    super::fault("mysql_mid_finish")?;
    for t in &plan.triggers {
        let on = conn
            .value(&format!(
                "SELECT EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS \
                 WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME = {}",
                lit(&t.name)
            ))
            .await?;
        if on.as_deref() == Some(table) {
            continue;
        }
        if on.is_some() {
            conn.exec(&format!("DROP TRIGGER {}", id(&t.name))).await?;
        }
        let definer = match t.definer.rsplit_once('@') {
            Some((u, h)) => format!("DEFINER = {}@{} ", lit(u), lit(h)),
            None => String::new(),
        };
        conn.exec(&format!("SET SESSION sql_mode = {}", lit(&t.sql_mode)))
            .await?;
        let created = conn
            .exec(&format!(
                "CREATE {definer}TRIGGER {} {} {} ON {} FOR EACH ROW {}",
                id(&t.name),
                t.timing,
                t.event,
                id(table),
                t.statement
            ))
            .await;
        conn.exec("SET SESSION sql_mode = CONCAT_WS(',', @@GLOBAL.sql_mode, 'STRICT_ALL_TABLES')")
            .await?;
        created?;
    }
    if old_exists {
        conn.exec(&format!("DROP TABLE {}", id(old))).await?;
    }
    Ok(())
}

/// Opens a connection as the URL's TLS mode says ([`super::tls`]): `PREFERRED` falls back to a
/// plain connection only when the server does not offer TLS.
pub(crate) async fn connect(url: &DbUrl) -> DbResult<mysql_async::Conn> {
    let ca = match (&url.tls.ca_file, url.tls.mode) {
        (Some(path), mode) if mode != TlsMode::Disable => Some(tls::read_ca_file(path, D)?),
        _ => None,
    };
    if url.tls.mode == TlsMode::Disable {
        return open(url, None)
            .await
            .map_err(|e| plain_failure(url, e, true));
    }
    tls::install_provider();
    let ssl = |name: Option<String>| ssl_opts(url, ca.as_deref(), name);
    // Through a tunnel (`via`) the certificate must still be valid for the URL's host; with
    // VERIFY_CA, a name an earlier connection found in the certificate (see below).
    let name = match url.tls.verification() {
        Verification::Chain => chain_names().get(&url.connects_to_key()).cloned(),
        _ => None,
    }
    .or_else(|| url.via.as_ref().map(|_| url.host.clone()));
    match open(url, Some(ssl(name))).await {
        Ok(conn) => Ok(conn),
        Err(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)) => {
            if url.tls.mode == TlsMode::Prefer {
                open(url, None)
                    .await
                    .map_err(|e| plain_failure(url, e, false))
            } else {
                Err(tls_failure(url, tls::TlsProblem::not_offered(&url.tls, D)))
            }
        }
        // VERIFY_CA (or a CA file with PREFERRED / REQUIRED): the chain is good when only the
        // name is wrong (webpki checks the chain first), so connect again verifying a name the
        // certificate carries. (mysql_async's own skip-domain-validation matches an error text
        // that rustls 0.23 no longer writes.)
        Err(e) if url.tls.verification() == Verification::Chain => {
            match tls::presented_names(&e).and_then(|names| names.into_iter().find_map(usable_name))
            {
                Some(name) => {
                    let conn = open(url, Some(ssl(Some(name.clone()))))
                        .await
                        .map_err(|e| tls_or_connect_failure(url, e))?;
                    // The run's other connections verify that name at once.
                    chain_names().insert(url.connects_to_key(), name);
                    Ok(conn)
                }
                None => Err(tls_or_connect_failure(url, e)),
            }
        }
        Err(e) => Err(tls_or_connect_failure(url, e)),
    }
}

/// Per server (where the connection goes), a name its certificate carries, found by the first
/// VERIFY_CA connection: the others verify it without a refused handshake first.
fn chain_names() -> std::sync::MutexGuard<'static, std::collections::HashMap<(String, u16), String>>
{
    static NAMES: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<(String, u16), String>>,
    > = std::sync::OnceLock::new();
    NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A name a certificate presents, as a host name to verify (a wildcard's first label filled).
fn usable_name(presented: String) -> Option<String> {
    match presented.strip_prefix("*.") {
        Some(rest) => Some(format!("kirikae-verify-ca.{rest}")),
        None if !presented.contains('*') && !presented.is_empty() => Some(presented),
        None => None,
    }
}

/// The TLS options for the URL's mode; `name`: the host name the certificate must be valid for
/// when it is not the host connected to.
fn ssl_opts(url: &DbUrl, ca: Option<&[u8]>, name: Option<String>) -> mysql_async::SslOpts {
    let mut ssl = mysql_async::SslOpts::default().with_danger_tls_hostname_override(name);
    if let Some(ca) = ca {
        // Only the URL's CA: the built-in (web) roots do not sign database servers' certificates.
        ssl = ssl
            .with_root_certs(vec![ca.to_vec().into()])
            .with_disable_built_in_roots(true);
    }
    match url.tls.verification() {
        Verification::Nothing => ssl.with_danger_accept_invalid_certs(true),
        Verification::Chain => ssl.with_danger_skip_domain_validation(true),
        Verification::Full => ssl,
    }
}

/// One connection attempt (`ssl`: with TLS), to where the URL connects.
async fn open(
    url: &DbUrl,
    ssl: Option<mysql_async::SslOpts>,
) -> Result<mysql_async::Conn, mysql_async::Error> {
    let (host, port) = url.connects_to();
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(host)
        .tcp_port(port)
        .user(Some(&url.user))
        .pass(url.password())
        .db_name(Some(&url.database))
        .prefer_socket(false)
        .ssl_opts(ssl);
    mysql_async::Conn::new(opts).await
}

fn tls_failure(url: &DbUrl, problem: tls::TlsProblem) -> DbError {
    DbError::Tls {
        target: url.to_string(),
        problem: Box::new(problem),
    }
}

fn tls_or_connect_failure(url: &DbUrl, e: mysql_async::Error) -> DbError {
    match tls::TlsProblem::from_error(&e, &url.tls, D) {
        Some(problem) => tls_failure(url, problem),
        None => DbError::Connect {
            target: url.to_string(),
            message: url.redact(match &e {
                // (its own text says "Input/output error: " twice before the cause)
                mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io.to_string(),
                e => e.to_string(),
            }),
        },
    }
}

/// A plain connection's failure. `chosen`: plain because the URL said so (not because the server
/// offers no TLS). A server that requires TLS answers a plain connection with 1045 "Access
/// denied" (MariaDB) or 3159 (MySQL): then the error names the URL parameter to set.
fn plain_failure(url: &DbUrl, e: mysql_async::Error, chosen: bool) -> DbError {
    match &e {
        mysql_async::Error::Server(s) if chosen && (s.code == 1045 || s.code == 3159) => {
            tls_failure(
                url,
                tls::TlsProblem::plain_refused(url.redact(s.to_string()), &url.tls, D),
            )
        }
        _ => tls_or_connect_failure(url, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secondary_indexes_are_read_from_show_create_table() {
        let create = "CREATE TABLE `n` (\n  `a` int(11) NOT NULL,\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  \
            `e``x` varchar(20) DEFAULT NULL,\n  `note` text DEFAULT NULL,\n  PRIMARY KEY (`a`),\n  \
            UNIQUE KEY `email` (`e``x`) COMMENT 'x',\n  KEY `id` (`id`),\n  KEY `p` (`e``x`(5) DESC),\n  \
            FULLTEXT KEY `ft` (`note`),\n  CONSTRAINT `c` CHECK (`a` > 0)\n) ENGINE=InnoDB";
        let got = secondary_indexes(create);
        let names: Vec<&str> = got.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["email", "id", "p", "ft"]);
        assert_eq!(got[0].clause, "UNIQUE KEY `email` (`e``x`) COMMENT 'x'");
        assert_eq!(got[0].first_column, "e`x");
        assert_eq!(got[1].first_column, "id");
        assert_eq!(got[2].clause, "KEY `p` (`e``x`(5) DESC)");
        assert_eq!(
            quoted_ident("\"a\"\"b\" rest"),
            Some(("a\"b".into(), " rest"))
        );
        assert_eq!(quoted_ident("`open"), None);
    }

    #[test]
    fn enum_values_unquote() {
        assert_eq!(
            enum_values("enum('M','F','it''s')"),
            vec!["M".to_string(), "F".into(), "it's".into()]
        );
    }
}
