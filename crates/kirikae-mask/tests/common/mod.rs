//! Test databases: each test creates its own uniquely named database on the project's private
//! MariaDB or PostgreSQL (`scripts/db`, see [`server`]) and drops it when done. Test binaries run
//! in parallel share the two servers, never a database.

#![allow(dead_code)]

use kirikae_mask::db::{Conn, DbUrl};
use kirikae_mask::transform::Dialect;

pub struct TestDb {
    pub dialect: Dialect,
    pub name: String,
    pub url: String,
    /// The server the database lives on.
    pub server: Server,
}

/// Where one of the project's private database servers listens.
#[derive(Debug, Clone)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The server refuses plain connections: its command-line client must use TLS (this CA).
    pub tls_ca: Option<std::path::PathBuf>,
}

impl Server {
    /// `mysql://root@host:port/{db}` or `postgres://postgres@host:port/{db}`.
    pub fn url(&self, dialect: Dialect, db: &str) -> String {
        let scheme = match dialect {
            Dialect::MySql => "mysql",
            Dialect::Postgres => "postgres",
        };
        format!("{scheme}://{}@{}:{}/{db}", self.user, self.host, self.port)
    }

    /// The connection arguments of the engine's command-line client (`mariadb` / `psql`).
    pub fn cli_args(&self, dialect: Dialect) -> Vec<String> {
        let port = self.port.to_string();
        let args = match dialect {
            Dialect::MySql => ["-h", self.host.as_str(), "-P", &port, "-u", &self.user],
            Dialect::Postgres => ["-h", self.host.as_str(), "-p", &port, "-U", &self.user],
        };
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        if let (Dialect::MySql, Some(ca)) = (dialect, &self.tls_ca) {
            args.push(format!("--ssl-ca={}", ca.display()));
        }
        args
    }
}

/// The project's pair of servers that refuse plain connections and want a password from every
/// PostgreSQL role but the admin (`scripts/db start --require-tls` in `$KIRIKAE_TLS_DB_DIR`,
/// default `.kirikae-local/db-tls/`), started on first use (a start of a running pair only
/// prints where it is), and the CA that signed their certificate.
pub struct TlsServers {
    pub my: Server,
    pub pg: Server,
    pub ca: std::path::PathBuf,
}

pub fn tls_servers() -> &'static TlsServers {
    static PAIR: std::sync::OnceLock<Result<TlsServers, String>> = std::sync::OnceLock::new();
    let pair = PAIR.get_or_init(|| {
        // (canonical: scripts/db recognises its running servers by their data directory's path)
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .map_err(|e| format!("the checkout's root: {e}"))?;
        let dir = std::env::var_os("KIRIKAE_TLS_DB_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| root.join(".kirikae-local/db-tls"));
        let out = std::process::Command::new(root.join("scripts/db"))
            .args(["start", "--require-tls"])
            .env("KIRIKAE_DB_DIR", &dir)
            .output()
            .map_err(|e| format!("scripts/db does not run: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "KIRIKAE_DB_DIR={} scripts/db start --require-tls failed: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let file = dir.join("env");
        let find = |var| lookup_server(var, None, &file);
        let ca = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| {
                l.strip_prefix("KIRIKAE_TEST_CA=")
                    .map(std::path::PathBuf::from)
            })
            .ok_or("scripts/db start printed no KIRIKAE_TEST_CA=")?;
        let mut my = find("KIRIKAE_TEST_MYSQL")?;
        let mut pg = find("KIRIKAE_TEST_PG")?;
        my.tls_ca = Some(ca.clone());
        pg.tls_ca = Some(ca.clone());
        Ok(TlsServers { my, pg, ca })
    });
    match pair {
        Ok(p) => p,
        Err(why) => panic!("{why}"),
    }
}

impl TlsServers {
    pub fn server(&self, dialect: Dialect) -> &Server {
        match dialect {
            Dialect::MySql => &self.my,
            Dialect::Postgres => &self.pg,
        }
    }
}

/// The private server of an engine, as `scripts/db` announced it: `KIRIKAE_TEST_MYSQL` /
/// `KIRIKAE_TEST_PG` (`scheme://user@host:port`; `scripts/test` exports them), else the env
/// file `scripts/db start` writes in the checkout (`$KIRIKAE_DB_DIR/env`, default
/// `.kirikae-local/db/env`), so a plain `cargo test` works once the servers run.
pub fn server(dialect: Dialect) -> Server {
    static SERVERS: std::sync::OnceLock<Result<(Server, Server), String>> =
        std::sync::OnceLock::new();
    let servers = SERVERS.get_or_init(|| {
        Ok((
            find_server("KIRIKAE_TEST_MYSQL")?,
            find_server("KIRIKAE_TEST_PG")?,
        ))
    });
    match (servers, dialect) {
        (Ok((my, _)), Dialect::MySql) => my.clone(),
        (Ok((_, pg)), Dialect::Postgres) => pg.clone(),
        (Err(why), _) => panic!("{why}"),
    }
}

fn find_server(var: &str) -> Result<Server, String> {
    let file = match std::env::var_os("KIRIKAE_DB_DIR") {
        Some(dir) => std::path::PathBuf::from(dir).join("env"),
        None => {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.kirikae-local/db/env")
        }
    };
    lookup_server(var, std::env::var(var).ok(), &file)
}

/// `var`'s server: `from_env` when given, else its line in `file` (scripts/db's env file).
pub fn lookup_server(
    var: &str,
    from_env: Option<String>,
    file: &std::path::Path,
) -> Result<Server, String> {
    if let Some(url) = from_env {
        return parse_server(&url).map_err(|why| format!("{var}={url:?}: {why}"));
    }
    let text = std::fs::read_to_string(file).map_err(|e| {
        format!(
            "{var} is not set and {} cannot be read ({e}): the tests need the project's private \
             database servers: run scripts/db start",
            file.display()
        )
    })?;
    let url = text
        .lines()
        .find_map(|l| l.strip_prefix(var)?.strip_prefix('='))
        .ok_or_else(|| format!("{} has no {var}=: run scripts/db start", file.display()))?;
    parse_server(url.trim()).map_err(|why| format!("{}: {var}={url:?}: {why}", file.display()))
}

/// `scheme://user@host:port`.
fn parse_server(url: &str) -> Result<Server, String> {
    let (_, rest) = url
        .split_once("://")
        .ok_or("expected scheme://user@host:port")?;
    let (user, addr) = rest
        .split_once('@')
        .ok_or("expected scheme://user@host:port")?;
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or("expected scheme://user@host:port")?;
    let port = port
        .trim_end_matches('/')
        .parse()
        .map_err(|_| "the port is not a number")?;
    Ok(Server {
        host: host.to_string(),
        port,
        user: user.to_string(),
        tls_ca: None,
    })
}

/// Runs the engine's command-line client as the server's admin user with `sql`; panics with the
/// client's error (and what to run when the server does not answer).
pub fn admin(dialect: Dialect, sql: &str) {
    admin_on(&server(dialect), dialect, sql)
}

/// [`admin`] on another server (the TLS pair, [`tls_servers`]).
pub fn admin_on(server: &Server, dialect: Dialect, sql: &str) {
    let out = admin_client(server, dialect, sql)
        .output()
        .expect("the mariadb / psql client runs");
    assert!(
        out.status.success(),
        "{sql}: {}(server {}:{}; is it running? scripts/db status)",
        String::from_utf8_lossy(&out.stderr),
        server.host,
        server.port
    );
}

/// The engine's command-line client (`mariadb` / `psql`) running `sql` on the server as its
/// admin user (PostgreSQL: in database `postgres`, stopping at the first error).
fn admin_client(server: &Server, dialect: Dialect, sql: &str) -> std::process::Command {
    let (client, run): (&str, &[&str]) = match dialect {
        Dialect::MySql => ("mariadb", &["-e"]),
        Dialect::Postgres => ("psql", &["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc"]),
    };
    let mut c = std::process::Command::new(client);
    c.args(server.cli_args(dialect)).args(run).arg(sql);
    c
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl TestDb {
    pub fn new(dialect: Dialect, tag: &str) -> TestDb {
        TestDb::on(server(dialect), dialect, tag)
    }

    /// A database on another server (the TLS pair, [`tls_servers`]).
    pub fn on(server: Server, dialect: Dialect, tag: &str) -> TestDb {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("kirikae_t_{tag}_{}_{n}_{nanos}", std::process::id());
        match dialect {
            Dialect::MySql => admin_on(
                &server,
                dialect,
                &format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
            ),
            Dialect::Postgres => admin_on(
                &server,
                dialect,
                &format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"),
            ),
        }
        let url = server.url(dialect, &name);
        TestDb {
            dialect,
            name,
            url,
            server,
        }
    }

    /// The URL with a query (`ssl-mode=...&ssl-ca=...`).
    pub fn url_with(&self, query: &str) -> String {
        format!("{}?{query}", self.url)
    }

    pub fn db_url(&self) -> DbUrl {
        DbUrl::parse(&self.url).expect("test URL")
    }

    pub async fn conn(&self) -> Conn {
        Conn::connect(&self.db_url()).await.expect("connect")
    }

    /// Runs statements separated by `;` (one per line end).
    pub async fn exec(&self, sql: &str) {
        let mut c = self.conn().await;
        for stmt in split(sql) {
            c.exec(&stmt).await.unwrap_or_else(|e| panic!("{e}"));
        }
    }

    pub async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        self.conn()
            .await
            .rows(sql)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Picks the engine's variant of a statement.
    pub fn pick<'a>(&self, my: &'a str, pg: &'a str) -> &'a str {
        match self.dialect {
            Dialect::MySql => my,
            Dialect::Postgres => pg,
        }
    }
}

/// Splits a script at `;` ending a line (trigger bodies keep their inner `;`).
pub fn split(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in sql.lines() {
        if line.trim_end().ends_with(";;") {
            cur.push_str(line.trim_end().trim_end_matches(";;"));
            out.push(std::mem::take(&mut cur));
        } else if line.trim_end().ends_with(';')
            && !line.trim_start().starts_with("--")
            && !cur.contains("BEGIN")
        {
            cur.push_str(line.trim_end().trim_end_matches(';'));
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = match self.dialect {
            Dialect::MySql => format!("DROP DATABASE IF EXISTS `{}`", self.name),
            Dialect::Postgres => format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        };
        admin_on(&self.server, self.dialect, &sql);
    }
}

/// How long a test waits for one `kirikae` command before it calls the command hung: far above
/// the slowest command of the tests on a slow machine (a few minutes), far below CI's budget.
pub const COMMAND_LIMIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// `command.output()`, but a command still running after `limit` is killed and the test fails
/// naming it, with what it printed so far: a hang fails its own test instead of stalling the
/// whole run until CI's time is up.
pub fn output_within(
    command: &mut std::process::Command,
    limit: std::time::Duration,
) -> std::process::Output {
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
    wait_within(child, limit, &format!("{command:?}"))
}

/// `child.wait_with_output()` with [`output_within`]'s limit (its stdout and stderr piped, or
/// empty in the output).
pub fn wait_within(
    mut child: std::process::Child,
    limit: std::time::Duration,
    what: &str,
) -> std::process::Output {
    use std::io::Read;
    // Read both pipes on threads of their own, so a chatty command never blocks on a full pipe.
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let (out, err) = (drain(child.stdout.take()), drain(child.stderr.take()));
    let t0 = std::time::Instant::now();
    let mut diagnosis = String::new();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the command's status") {
            break Some(status);
        }
        if t0.elapsed() > limit {
            diagnosis = hang_diagnosis(child.id());
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    match status {
        Some(status) => std::process::Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{what} was still running after {} s and was killed; it printed:\n{}\n{}\n{diagnosis}",
            limit.as_secs(),
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

/// What a hung command and the servers were doing, for the test's failure: the process's
/// threads (gdb, where the machine has it), the statements on both private servers and the free
/// disk space (a server whose disk is full may wait for space rather than fail).
fn hang_diagnosis(pid: u32) -> String {
    let output = |c: &mut std::process::Command| -> String {
        match c.stdin(std::process::Stdio::null()).output() {
            Ok(o) => format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => format!("({:?} does not run: {e})\n", c.get_program()),
        }
    };
    let run = |program: &str, args: &[&str]| -> String {
        output(std::process::Command::new(program).args(args))
    };
    let pid = pid.to_string();
    let mut text = String::from("== its threads (gdb)\n");
    let threads = run(
        "gdb",
        &["-p", &pid, "-batch", "-ex", "thread apply all bt 16"],
    );
    // gdb's own chatter left out: the frames are what tell.
    text.extend(
        threads
            .lines()
            .filter(|l| l.starts_with('#') || l.starts_with("Thread "))
            .map(|l| format!("{l}\n")),
    );
    for (dialect, sql) in [
        (
            Dialect::MySql,
            "SELECT ID, DB, COMMAND, TIME, STATE, LEFT(INFO, 160) FROM information_schema.PROCESSLIST",
        ),
        (
            Dialect::Postgres,
            "SELECT pid, datname, state, wait_event_type, wait_event, now() - query_start, left(query, 160) \
             FROM pg_stat_activity WHERE backend_type = 'client backend'",
        ),
    ] {
        let Ok(server) = find_server(match dialect {
            Dialect::MySql => "KIRIKAE_TEST_MYSQL",
            Dialect::Postgres => "KIRIKAE_TEST_PG",
        }) else {
            continue;
        };
        text += &format!("== statements on {}:{}\n", server.host, server.port);
        text += &output(&mut admin_client(&server, dialect, sql));
    }
    text += "== free disk space\n";
    text += &run("df", &["-h", env!("CARGO_MANIFEST_DIR"), "/tmp"]);
    text
}
