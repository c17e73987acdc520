//! Test databases: each test creates its own uniquely named database on the real local MariaDB
//! (127.0.0.1:3306, root) or PostgreSQL (127.0.0.1:5432, postgres) and drops it when done.

#![allow(dead_code)]

use kirikae_mask::db::{Conn, DbUrl};
use kirikae_mask::transform::Dialect;

pub struct TestDb {
    pub dialect: Dialect,
    pub name: String,
    pub url: String,
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn admin(dialect: Dialect, sql: &str) {
    let out = match dialect {
        Dialect::MySql => std::process::Command::new("mariadb")
            .args(["-h127.0.0.1", "-P3306", "-uroot", "-e", sql])
            .output(),
        Dialect::Postgres => std::process::Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-qc",
                sql,
            ])
            .output(),
    }
    .expect("the mariadb / psql client runs");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TestDb {
    pub fn new(dialect: Dialect, tag: &str) -> TestDb {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("kirikae_t_{tag}_{}_{n}_{nanos}", std::process::id());
        let url = match dialect {
            Dialect::MySql => {
                admin(
                    dialect,
                    &format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
                );
                format!("mysql://root@127.0.0.1:3306/{name}")
            }
            Dialect::Postgres => {
                admin(
                    dialect,
                    &format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"),
                );
                format!("postgres://postgres@127.0.0.1:5432/{name}")
            }
        };
        TestDb { dialect, name, url }
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
        admin(self.dialect, &sql);
    }
}
