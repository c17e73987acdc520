//! `kirikae mask` over TLS on the project's pair of servers that refuse plain connections
//! (`scripts/db start --require-tls`): every masking path and `verify` with full verification,
//! the database password from `$KIRIKAE_DB_PASSWORD` or `--password-file` (and which wins), and
//! no password or masking key in anything a run prints or writes, failing runs included.

#[path = "../../kirikae-mask/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{admin_on, tls_servers, Server, TestDb};
use kirikae_mask::transform::Dialect;

const BOTH: [Dialect; 2] = [Dialect::MySql, Dialect::Postgres];

fn kirikae() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kirikae"));
    c.env_remove("KIRIKAE_CONFIG")
        .env_remove("KIRIKAE_MASK_KEY")
        .env_remove("KIRIKAE_MASK_URL")
        .env_remove("KIRIKAE_DB_PASSWORD")
        .env_remove("RUST_LOG");
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs the command (failing the test if it hangs: [`common::output_within`]), asserts its exit
/// code, and returns its stdout and stderr.
fn exits(c: &mut Command, code: i32) -> (String, String) {
    let o = common::output_within(c, common::COMMAND_LIMIT);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(code), "{out}\n{err}");
    (out, err)
}

/// The URL of `db` with full verification against the checkout's CA.
fn verified_url(db: &TestDb) -> String {
    let ca = tls_servers().ca.display().to_string();
    match db.dialect {
        Dialect::MySql => db.url_with(&format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}")),
        Dialect::Postgres => db.url_with(&format!("sslmode=verify-full&sslrootcert={ca}")),
    }
}

const ROWS: u32 = 3000;

/// `big` (as in mask_cli): a unique email, a name, a card number on every third row.
async fn big_db(d: Dialect, tag: &str, path: &str) -> TestDb {
    let db = TestDb::on(tls_servers().server(d).clone(), d, tag);
    let sql = match d {
        Dialect::MySql => format!(
            "CREATE TABLE big (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, name VARCHAR(50), card VARCHAR(25), UNIQUE KEY (email));
INSERT INTO big SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('name ', seq MOD 977), CASE WHEN seq MOD 3 = 0 THEN '4111 1111 1111 1111' END FROM seq_1_to_{ROWS};"
        ),
        Dialect::Postgres => format!(
            "CREATE TABLE big (id int PRIMARY KEY, email varchar(100) NOT NULL UNIQUE, name varchar(50), card varchar(25));
INSERT INTO big SELECT s, 'user' || s || '@example.com', 'name ' || (s % 977), CASE WHEN s % 3 = 0 THEN '4111 1111 1111 1111' END FROM generate_series(1, {ROWS}) s;"
        ),
    };
    db.exec(&sql).await;
    if path == "update" {
        // Masking in place needs the masked columns out of unique indexes.
        db.exec(db.pick(
            "ALTER TABLE big DROP INDEX email;",
            "ALTER TABLE big DROP CONSTRAINT big_email_key;",
        ))
        .await;
    }
    db
}

/// Each path as mask_cli forces it: (--path, card rule, the planner's word for it).
const PATHS: [(&str, &str, &str); 4] = [
    ("sql", "\"null\"", "rebuild (server-side SQL)"),
    ("sql", "{ transform = \"card\" }", "stream (Rust transforms"),
    ("auto", "{ transform = \"card\" }", "load (Rust transforms"),
    ("update", "\"null\"", "update (server-side SQL"),
];

async fn every_path_and_verify_over_verified_tls(d: Dialect) {
    for (path, card, planned) in PATHS {
        let db = big_db(d, "tlspath", path).await;
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules.toml");
        std::fs::write(
            &rules,
            format!(
                "[tables.big.columns]\nid = \"keep\"\nemail = {{ transform = \"hash\", length = 32 }}\nname = {{ transform = \"hash\", length = 10 }}\ncard = {card}\n"
            ),
        )
        .unwrap();
        let url = verified_url(&db);
        let state = dir.path().join("state");
        let mask = |args: &[&str]| {
            let mut c = kirikae();
            c.arg("mask")
                .args(args)
                .args(["--url", &url, "--rules"])
                .arg(&rules)
                .arg("--state-dir")
                .arg(&state)
                .env("KIRIKAE_MASK_KEY", "tls path key");
            c
        };
        let (out, err) = exits(
            &mut mask(&["run", "--path", path, "--chunk-rows", "500"]),
            0,
        );
        assert!(err.contains(&format!("big: {planned}")), "{path}: {err}");
        // The report names the database with its TLS mode.
        let mode = match d {
            Dialect::MySql => "ssl-mode=VERIFY_IDENTITY",
            Dialect::Postgres => "sslmode=verify-full",
        };
        assert!(out.contains(mode), "{out}");
        let masked = db
            .rows("SELECT COUNT(*) FROM big WHERE email LIKE 'user%@example.com'")
            .await;
        assert_eq!(masked[0][0].as_deref(), Some("0"), "{path}");
        let (out, _) = exits(&mut mask(&["verify", "--output", "json"]), 0);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["ok"], true, "{path}: {out}");
    }
}

#[tokio::test]
async fn every_masking_path_and_verify_pass_over_verified_tls_on_mariadb() {
    every_path_and_verify_over_verified_tls(Dialect::MySql).await;
}

#[tokio::test]
async fn every_masking_path_and_verify_pass_over_verified_tls_on_postgresql() {
    every_path_and_verify_over_verified_tls(Dialect::Postgres).await;
}

/// A login with a password on the TLS pair, owning the test database (PostgreSQL) or granted
/// everything on it (MySQL). Dropping it drops the database first, then the login.
struct Login {
    server: Server,
    dialect: Dialect,
    user: String,
    database: String,
}

impl Login {
    fn create(db: &TestDb, password: &str) -> Login {
        let user = format!("pw_{}", db.name);
        let d = db.dialect;
        match d {
            Dialect::MySql => admin_on(
                &db.server,
                d,
                &format!(
                    "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'; \
                     GRANT ALL ON `{}`.* TO '{user}'@'%'",
                    db.name
                ),
            ),
            Dialect::Postgres => {
                admin_on(
                    &db.server,
                    d,
                    &format!("CREATE ROLE {user} LOGIN PASSWORD '{password}'"),
                );
                admin_on(
                    &db.server,
                    d,
                    &format!("ALTER DATABASE \"{}\" OWNER TO {user}", db.name),
                );
            }
        }
        Login {
            server: db.server.clone(),
            dialect: d,
            user,
            database: db.name.clone(),
        }
    }
}

impl Drop for Login {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return; // (a failed assertion is the news; the login's name is unique)
        }
        let sql = match self.dialect {
            Dialect::MySql => format!("DROP USER IF EXISTS '{}'@'%'", self.user),
            Dialect::Postgres => {
                format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.database)
            }
        };
        admin_on(&self.server, self.dialect, &sql);
        if self.dialect == Dialect::Postgres {
            admin_on(
                &self.server,
                self.dialect,
                &format!("DROP ROLE IF EXISTS {}", self.user),
            );
        }
    }
}

const PASSWORD: &str = "Pw-7Zq9@x/Kirikae#tls";
const MASK_KEY: &str = "mask-key-Q8v3Lk2Zr5-secret";

/// Every file under `dir`, with its text.
fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push((
                p.clone(),
                String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into(),
            ));
        }
    }
    out
}

async fn no_secret_anywhere(d: Dialect) {
    let pair = tls_servers();
    // Tables owned by the login: created by it.
    let db = TestDb::on(pair.server(d).clone(), d, "tlssecret");
    let login = Login::create(&db, PASSWORD);
    let work = tempfile::tempdir().unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let password_file = secrets.path().join("db.password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let wrong_file = secrets.path().join("wrong.password");
    std::fs::write(&wrong_file, format!("{PASSWORD}-not\n")).unwrap();

    let s = pair.server(d);
    let ca = pair.ca.display().to_string();
    let (scheme, q) = match d {
        Dialect::MySql => ("mysql", format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}")),
        Dialect::Postgres => ("postgres", format!("sslmode=verify-full&sslrootcert={ca}")),
    };
    let url_at = |port: u16| {
        format!(
            "{scheme}://{}@{}:{port}/{}?{q}",
            login.user, s.host, db.name
        )
    };
    let url = url_at(s.port);
    // The schema, created as the login (so that it owns what it masks).
    {
        let conn_url = kirikae_mask::db::DbUrl::parse(&url)
            .unwrap()
            .with_password(PASSWORD);
        let mut conn = kirikae_mask::db::Conn::connect(&conn_url).await.unwrap();
        conn.exec(
            "CREATE TABLE kokyaku (id INT PRIMARY KEY, mail VARCHAR(120) NOT NULL, biko TEXT)",
        )
        .await
        .unwrap();
        conn.exec(
            "INSERT INTO kokyaku VALUES (1, 'hanako@example.co.jp', 'tel 03-1234-5678'), \
             (2, 'ichiro@example.ne.jp', NULL)",
        )
        .await
        .unwrap();
    }
    let rules = work.path().join("rules.toml");
    let state = work.path().join("state");
    let mut outputs: Vec<(String, String, String)> = Vec::new();
    let mut run = |what: &str, args: &[&str], url: &str, how: &dyn Fn(&mut Command), code: i32| {
        let mut c = kirikae();
        c.arg("mask").args(args).args(["--url", url]);
        if args[0] != "init" {
            c.arg("--rules").arg(&rules);
        }
        if args[0] == "run" || args[0] == "verify" {
            c.arg("--state-dir").arg(&state);
        }
        c.env("KIRIKAE_MASK_KEY", MASK_KEY);
        how(&mut c);
        let (out, err) = exits(&mut c, code);
        outputs.push((what.to_string(), out.clone(), err.clone()));
        (out, err)
    };
    let env_pw = |c: &mut Command| {
        c.env("KIRIKAE_DB_PASSWORD", PASSWORD);
    };
    let file_pw = |c: &mut Command| {
        c.arg("--password-file").arg(&password_file);
    };
    let rules_s = rules.display().to_string();
    run("init", &["init", "--out", &rules_s], &url, &env_pw, 0);
    run("check", &["check"], &url, &file_pw, 0);
    run(
        "check json",
        &["check", "--output", "json"],
        &url,
        &env_pw,
        0,
    );
    // -vv: every statement's kind and duration on stderr, and still no secret or original value.
    let (_, err) = run("run", &["run", "-vv"], &url, &env_pw, 0);
    let statements: Vec<&str> = err.lines().filter(|l| l.contains("statement")).collect();
    let load = match d {
        Dialect::MySql => "kind=LOAD DATA",
        Dialect::Postgres => "kind=COPY",
    };
    for kind in ["kind=SELECT", "kind=CREATE TABLE", load] {
        assert!(
            statements
                .iter()
                .any(|l| l.contains(kind) && l.contains("duration_ms=")),
            "no {kind} statement with its duration in:\n{err}"
        );
    }
    assert!(
        statements.iter().any(|l| l.contains("table=kokyaku")),
        "{err}"
    );
    run("verify", &["verify", "-vv"], &url, &file_pw, 0);
    run(
        "verify json",
        &["verify", "--output", "json"],
        &url,
        &env_pw,
        0,
    );
    // Failing runs: a wrong password (from either place), a host that does not answer.
    let (_, err) = run(
        "wrong password",
        &["run", "--resume", "-vv"],
        &url,
        &|c: &mut Command| {
            c.env("KIRIKAE_DB_PASSWORD", format!("{PASSWORD}-not"));
        },
        1,
    );
    let refused = match d {
        Dialect::MySql => "Access denied",
        Dialect::Postgres => "password authentication failed",
    };
    assert!(err.contains(refused), "{err}");
    let (out, _) = run(
        "wrong password json",
        &["check", "--output", "json"],
        &url,
        &|c: &mut Command| {
            c.arg("--password-file").arg(&wrong_file);
        },
        1,
    );
    assert!(out.contains(refused), "{out}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_, err) = run("unreachable", &["verify"], &url_at(closed), &env_pw, 1);
    assert!(err.contains("cannot connect to"), "{err}");
    // A password in the URL (percent-encoded) works too, and is shown nowhere either.
    let encoded: String = PASSWORD
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let with_password = url.replacen(
        &format!("//{}@", login.user),
        &format!("//{}:{encoded}@", login.user),
        1,
    );
    run(
        "url password",
        &["check", "-vv"],
        &with_password,
        &|_: &mut Command| {},
        0,
    );
    let wrong_in_url = url.replacen(
        &format!("//{}@", login.user),
        &format!("//{}:{encoded}-not@", login.user),
        1,
    );
    run(
        "wrong url password",
        &["check"],
        &wrong_in_url,
        &|_: &mut Command| {},
        1,
    );

    let derived = kirikae_mask::prf::Prf::from_secret(MASK_KEY.as_bytes())
        .key_hex()
        .to_string();
    // The masked columns' original values: what a log of statements must never carry.
    let originals = [
        "hanako@example.co.jp",
        "ichiro@example.ne.jp",
        "03-1234-5678",
    ];
    for secret in [PASSWORD, encoded.as_str(), MASK_KEY, derived.as_str()]
        .into_iter()
        .chain(originals)
    {
        for (what, out, err) in &outputs {
            assert!(
                !out.contains(secret) && !err.contains(secret),
                "{what} shows a secret:\n{out}\n{err}"
            );
        }
        for (file, text) in files(work.path()) {
            assert!(!text.contains(secret), "{} holds a secret", file.display());
        }
    }
    // The run really wrote its state and report (what was searched is not empty).
    let written = files(work.path());
    assert!(
        written.iter().any(|(p, _)| p.starts_with(&state)) && written.len() >= 3,
        "{written:?}"
    );
    drop(login);
    drop(db);
}

#[tokio::test]
async fn no_password_or_mask_key_in_output_or_files_on_mariadb() {
    no_secret_anywhere(Dialect::MySql).await;
}

#[tokio::test]
async fn no_password_or_mask_key_in_output_or_files_on_postgresql() {
    no_secret_anywhere(Dialect::Postgres).await;
}

#[tokio::test]
async fn the_password_file_beats_the_url_which_beats_the_environment() {
    let pair = tls_servers();
    for d in BOTH {
        let db = TestDb::on(pair.server(d).clone(), d, "tlsorder");
        let login = Login::create(&db, PASSWORD);
        let s = pair.server(d);
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules.toml");
        std::fs::write(&rules, "").unwrap();
        let (scheme, q) = match d {
            Dialect::MySql => ("mysql", "ssl-mode=REQUIRED"),
            Dialect::Postgres => ("postgres", "sslmode=require"),
        };
        let url = |password: Option<&str>| {
            let auth = match password {
                Some(p) => format!("{}:{p}", login.user),
                None => login.user.clone(),
            };
            format!("{scheme}://{auth}@{}:{}/{}?{q}", s.host, s.port, db.name)
        };
        let right = dir.path().join("right");
        std::fs::write(&right, format!("{PASSWORD}\nsecond line ignored\n")).unwrap();
        let wrong = dir.path().join("wrong");
        std::fs::write(&wrong, "nope\n").unwrap();
        let check = |url: String, file: Option<&Path>, env: Option<&str>| {
            let mut c = kirikae();
            c.args(["mask", "check", "--url", &url, "--rules"])
                .arg(&rules);
            if let Some(f) = file {
                c.arg("--password-file").arg(f);
            }
            if let Some(e) = env {
                c.env("KIRIKAE_DB_PASSWORD", e);
            }
            c.output().unwrap()
        };
        // (an empty rules file against an empty database: check passes once connected)
        let ok = |o: Output| assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
        let denied = |o: Output| {
            let (out, err) = text(&o);
            assert_eq!(o.status.code(), Some(1), "{out}{err}");
            assert!(!err.contains(PASSWORD) && !out.contains(PASSWORD));
        };
        let encoded = PASSWORD
            .replace('@', "%40")
            .replace('/', "%2F")
            .replace('#', "%23");
        ok(check(url(None), Some(&right), Some("nope")));
        ok(check(url(Some("nope")), Some(&right), None));
        denied(check(url(None), Some(&wrong), Some(PASSWORD)));
        ok(check(url(Some(&encoded)), None, Some("nope")));
        denied(check(url(Some("nope")), None, Some(PASSWORD)));
        ok(check(url(None), None, Some(PASSWORD)));
        // An unreadable or empty password file is bad input, named.
        let missing = dir.path().join("missing");
        let o = check(url(None), Some(&missing), None);
        assert_eq!(o.status.code(), Some(2));
        assert!(text(&o).1.contains(&format!(
            "cannot read the password file {}",
            missing.display()
        )));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let o = check(url(None), Some(&empty), None);
        assert_eq!(o.status.code(), Some(2));
        assert!(text(&o).1.contains("is empty"), "{:?}", text(&o));
        drop(login);
        drop(db);
    }
}

#[test]
fn the_help_tells_how_to_give_tls_settings_and_the_password() {
    let o = kirikae()
        .args(["mask", "check", "--help"])
        .output()
        .unwrap();
    let out = text(&o).0;
    for expected in [
        "ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY",
        "sslmode=disable|prefer|require|verify-ca|verify-full",
        "--password-file",
        "KIRIKAE_DB_PASSWORD",
    ] {
        assert!(out.contains(expected), "{expected} missing from:\n{out}");
    }
    assert!(!out.contains("no TLS yet"), "{out}");
}
