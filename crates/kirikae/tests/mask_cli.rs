//! `kirikae mask` as people run it, on the real local MariaDB and PostgreSQL: check listing every
//! problem, init writing rules that pass check, run refusing bad rules, resume after the process
//! is killed mid-table (no row masked twice: the result equals a clean run with the same key),
//! and the employees sample with its example rules.

#[path = "../../kirikae-mask/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::TestDb;
use kirikae_mask::transform::Dialect;

fn kirikae() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kirikae"));
    c.env_remove("KIRIKAE_CONFIG")
        .env_remove("KIRIKAE_MASK_KEY")
        .env_remove("KIRIKAE_MASK_URL");
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `kirikae mask <args> --url <db> --rules <rules>`.
fn mask(args: &[&str], db: &TestDb, rules: &Path) -> Command {
    let mut c = kirikae();
    c.arg("mask")
        .args(args)
        .args(["--url", &db.url, "--rules"])
        .arg(rules);
    c
}

/// The same with the masking key and `--state-dir <state>` (run, verify).
fn mask_with_state(args: &[&str], db: &TestDb, rules: &Path, key: &str, state: &Path) -> Command {
    let mut c = mask(args, db, rules);
    c.env("KIRIKAE_MASK_KEY", key).arg("--state-dir").arg(state);
    c
}

/// Runs the command, asserts its exit code, and returns its stdout and stderr.
fn exits(c: &mut Command, code: i32) -> (String, String) {
    let o = c.output().unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(code), "{out}\n{err}");
    (out, err)
}

#[tokio::test]
async fn check_lists_every_problem_and_run_refuses() {
    let db = TestDb::new(Dialect::MySql, "check");
    db.exec(
        "CREATE TABLE a (id INT PRIMARY KEY, email VARCHAR(10) NOT NULL, n INT, UNIQUE KEY (email));
CREATE TABLE b (x INT);
CREATE TABLE c (id INT PRIMARY KEY, a_id INT, note TEXT, CONSTRAINT fk_c_a FOREIGN KEY (a_id) REFERENCES a (id));
INSERT INTO a VALUES (1, 'a@b.jp', 5);",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        r#"
[tables.a.columns]
id = { transform = "hash", length = 8, alphabet = "digits" }
email = { transform = "hash", length = 12 }
n = { transform = "email" }
ghost = "keep"

[tables.b]
key = ["x"]
[tables.b.columns]
x = "keep"

[tables.c.columns]
id = "keep"
a_id = "keep"

[tables.nowhere.columns]
id = "keep"
"#,
    );
    let (out, _) = exits(&mut mask(&["check"], &db, &rules), 1);
    for expected in [
        "email: hash of length 12 does not fit column email (varchar(10))",
        "n: email needs",
        "[unknown_column]",
        "[unknown_table]",
        "note: column (text) has no rule",
        "[breaks_unique_index]",
        "[breaks_foreign_key]",
        "[bad_key]",
    ] {
        assert!(out.contains(expected), "{expected} missing from:\n{out}");
    }
    // The same as JSON, each problem with its stable id.
    let o = mask(&["check", "--output", "json"], &db, &rules)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let mut ids: Vec<String> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids,
        [
            "bad_key",
            "breaks_foreign_key",
            "breaks_unique_index",
            "column_without_rule",
            "type_mismatch",
            "unknown_column",
            "unknown_table"
        ]
    );
    // run performs the same check first and touches nothing.
    let (_, err) = exits(
        &mut mask_with_state(&["run"], &db, &rules, "k", &dir.path().join("state")),
        1,
    );
    assert!(err.contains("nothing was masked"), "{err}");
    assert_eq!(
        db.rows("SELECT email FROM a").await,
        vec![vec![Some("a@b.jp".to_string())]]
    );
    // A table without a primary key and without `key`.
    let nokey = write(
        dir.path(),
        "nokey.toml",
        "[tables.b.columns]\nx = \"keep\"\n",
    );
    let o = mask(&["check"], &db, &nokey).output().unwrap();
    assert!(
        text(&o).0.contains("table has no primary key"),
        "{}",
        text(&o).0
    );
}

#[test]
fn bad_arguments_exit_2() {
    let o = kirikae()
        .args([
            "mask",
            "check",
            "--url",
            "oracle://x/y",
            "--rules",
            "r.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("bad database URL"), "{}", text(&o).1);
    let o = kirikae().args(["mask", "run", "--help"]).output().unwrap();
    let out = text(&o).0;
    assert!(
        out.contains("--resume") && out.contains("KIRIKAE_MASK_KEY") && out.contains("Examples:")
    );
}

const PEOPLE_MY: &str = "CREATE TABLE kokyaku (id INT AUTO_INCREMENT PRIMARY KEY, shimei VARCHAR(40), shimei_kana VARCHAR(60), mail VARCHAR(120) NOT NULL UNIQUE, denwa VARCHAR(20), yubin VARCHAR(10), jusho VARCHAR(200), seinengappi DATE, biko TEXT, card_no VARCHAR(25), status VARCHAR(8) NOT NULL, created_at DATETIME NOT NULL);";
const PEOPLE_PG: &str = "CREATE TABLE kokyaku (id serial PRIMARY KEY, shimei varchar(40), shimei_kana varchar(60), mail varchar(120) NOT NULL UNIQUE, denwa varchar(20), yubin varchar(10), jusho varchar(200), seinengappi date, biko text, card_no varchar(25), status varchar(8) NOT NULL, created_at timestamp NOT NULL);";
const PEOPLE_DATA: &str = "
INSERT INTO kokyaku (shimei, shimei_kana, mail, denwa, yubin, jusho, seinengappi, biko, card_no, status, created_at) VALUES ('山田 花子', 'ヤマダ ハナコ', 'hanako@example.co.jp', '090-1234-5678', '105-0011', '東京都港区芝公園4-2-8', '1985-07-23', '連絡は 03-1234-5678 まで', '4111 1111 1111 1111', 'gold', '2020-01-02 03:04:05');
INSERT INTO kokyaku (shimei, shimei_kana, mail, denwa, yubin, jusho, seinengappi, biko, card_no, status, created_at) VALUES ('鈴木 一郎', 'スズキ イチロウ', 'ichiro@example.ne.jp', '03-1234-5678', '530-0001', '大阪府大阪市北区梅田1-1-1', '1990-01-01', NULL, '5555 5555 5555 4444', 'std', '2021-05-06 07:08:09');
INSERT INTO kokyaku (shimei, shimei_kana, mail, denwa, yubin, jusho, seinengappi, biko, card_no, status, created_at) VALUES ('佐藤 次郎', 'サトウ ジロウ', 'jiro@example.jp', '080-9876-5432', '060-0001', '北海道札幌市中央区北1条西2-1', NULL, 'mail: jiro@gmail.com', NULL, 'std', '2022-01-01 00:00:00');
";

async fn init_check_run_verify(d: Dialect) {
    let db = TestDb::new(d, "init");
    db.exec(db.pick(PEOPLE_MY, PEOPLE_PG)).await;
    db.exec(PEOPLE_DATA).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    let init = || {
        let mut c = kirikae();
        c.args(["mask", "init", "--url", &db.url, "--out"])
            .arg(&rules);
        c
    };
    exits(&mut init(), 0);
    let toml = std::fs::read_to_string(&rules).unwrap();
    for expected in [
        r#"shimei = { transform = "person_name", locale = "ja" }"#,
        r#"shimei_kana = { transform = "person_name", locale = "ja", script = "katakana", from = "shimei" }"#,
        r#"mail = { transform = "email" }"#,
        r#"denwa = { transform = "phone" }"#,
        r#"yubin = { transform = "jp_postal_code" }"#,
        r#"jusho = { transform = "jp_address", part = "full" }"#,
        r#"seinengappi = { transform = "date_generalize", keep = "year" }"#,
        r#"biko = { transform = "text_scrub" }"#,
        r#"card_no = { transform = "card" }"#,
        r#"status = "keep"  # review"#,
        r#"id = "keep"  # key column"#,
    ] {
        assert!(toml.contains(expected), "{expected} missing from:\n{toml}");
    }
    // Refuses to overwrite.
    exits(&mut init(), 2);
    exits(&mut mask(&["check"], &db, &rules), 0);
    // Run with the starter rules (streaming path: card and text_scrub are Rust-only).
    let state = dir.path().join("state");
    let key = "init test key";
    let (_, err) = exits(
        &mut mask_with_state(&["run", "--chunk-rows", "2"], &db, &rules, key, &state),
        0,
    );
    assert!(
        err.contains("kokyaku: load (Rust transforms, bulk load into the new table)"),
        "{err}"
    );
    let rows = db
        .rows("SELECT shimei, shimei_kana, mail, biko, card_no, status FROM kokyaku ORDER BY id")
        .await;
    assert_ne!(rows[0][0].as_deref(), Some("山田 花子"));
    assert!(rows[0][1]
        .as_deref()
        .unwrap()
        .chars()
        .all(|c| c == ' ' || ('\u{30a0}'..='\u{30ff}').contains(&c)));
    assert!(rows[0][2].as_deref().unwrap().ends_with("@example.invalid"));
    assert!(!rows[0][3].as_deref().unwrap().contains("03-1234-5678"));
    assert!(rows[0][3].as_deref().unwrap().starts_with("連絡は "));
    assert!(!rows[2][3].as_deref().unwrap().contains("jiro@gmail.com"));
    assert_ne!(rows[0][4].as_deref(), Some("4111 1111 1111 1111"));
    assert_eq!(rows[0][5].as_deref(), Some("gold"));
    let (out, _) = exits(
        &mut mask_with_state(&["verify", "--output", "json"], &db, &rules, key, &state),
        0,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert!(Path::new(v["report_file"].as_str().unwrap()).exists());
}

#[tokio::test]
async fn init_writes_rules_that_check_run_and_verify_accept_on_mariadb() {
    init_check_run_verify(Dialect::MySql).await;
}

#[tokio::test]
async fn init_writes_rules_that_check_run_and_verify_accept_on_postgresql() {
    init_check_run_verify(Dialect::Postgres).await;
}

const BIG_ROWS: u64 = 300_000;

async fn big_table(db: &TestDb) {
    match db.dialect {
        Dialect::MySql => {
            db.exec(&format!(
                "CREATE TABLE big (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, name VARCHAR(50), card VARCHAR(25), UNIQUE KEY (email));
INSERT INTO big SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('name ', seq MOD 977), CASE WHEN seq MOD 3 = 0 THEN '4111 1111 1111 1111' END FROM seq_1_to_{BIG_ROWS};"
            ))
            .await
        }
        Dialect::Postgres => {
            db.exec(&format!(
                "CREATE TABLE big (id int PRIMARY KEY, email varchar(100) NOT NULL UNIQUE, name varchar(50), card varchar(25));
INSERT INTO big SELECT s, 'user' || s || '@example.com', 'name ' || (s % 977), CASE WHEN s % 3 = 0 THEN '4111 1111 1111 1111' END FROM generate_series(1, {BIG_ROWS}) s;"
            ))
            .await
        }
    }
}

/// A database holding `big`, for masking by `path`: masking in place needs the masked columns
/// out of unique indexes.
async fn big_db(d: Dialect, name: &str, path: &str) -> TestDb {
    let db = TestDb::new(d, name);
    big_table(&db).await;
    if path == "update" {
        let mut conn = db.conn().await;
        let sql = db.pick(
            "ALTER TABLE big DROP INDEX email",
            "ALTER TABLE big DROP CONSTRAINT big_email_key",
        );
        conn.exec(sql).await.unwrap();
    }
    db
}

const RESUME_KEY: &str = "resume test key";

fn run_cmd(db: &TestDb, rules: &Path, state: &Path, resume: bool, path: &str) -> Command {
    let args = ["run", "--path", path, "--chunk-rows", "5000"];
    let mut c = mask_with_state(&args, db, rules, RESUME_KEY, state);
    if resume {
        c.arg("--resume");
    }
    c
}

async fn checksum(db: &TestDb) -> Vec<Vec<Option<String>>> {
    let mut conn = db.conn().await;
    if db.dialect == Dialect::MySql {
        // GROUP_CONCAT must hold the whole table.
        conn.exec("SET SESSION group_concat_max_len = 1073741824")
            .await
            .unwrap();
    }
    conn.rows(db.pick(
        "SELECT COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS('|', id, email, name, COALESCE(card, '-')) ORDER BY id SEPARATOR ',')) FROM big",
        "SELECT COUNT(*), md5(string_agg(concat_ws('|', id, email, name, COALESCE(card, '-')), ',' ORDER BY id)) FROM big",
    ))
    .await
    .unwrap()
}

/// The indexes of `big`: name and definition.
async fn indexes_of_big(db: &TestDb) -> Vec<String> {
    db.rows(db.pick(
        "SELECT CONCAT(INDEX_NAME, ' ', NON_UNIQUE, ' ', GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX)) \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'big' \
         GROUP BY INDEX_NAME, NON_UNIQUE ORDER BY 1",
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'big' ORDER BY 1",
    ))
    .await
    .into_iter()
    .filter_map(|r| r.into_iter().next().flatten())
    .collect()
}

/// Kills the run mid-table, resumes it, and compares with a clean run of the same data.
async fn resume_after_kill(d: Dialect, card_rule: &str, path: &str) {
    let rules_text = format!(
        "[tables.big.columns]\nid = \"keep\"\nemail = {{ transform = \"hash\", length = 32 }}\nname = {{ transform = \"hash\", length = 10 }}\ncard = {card_rule}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let rules = write(dir.path(), "rules.toml", &rules_text);
    // The clean run.
    let clean = big_db(d, "clean", path).await;
    exits(
        &mut run_cmd(&clean, &rules, &dir.path().join("clean"), false, path),
        0,
    );
    let expected = checksum(&clean).await;
    let expected_indexes = indexes_of_big(&clean).await;
    drop(clean);

    let db = big_db(d, "resume", path).await;
    let state = dir.path().join("state");
    let mut child = run_cmd(&db, &rules, &state, false, path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some chunks of the table are committed, well before the end.
    let started = Instant::now();
    let mut conn = db.conn().await;
    let mut killed_at = None;
    while started.elapsed() < Duration::from_secs(120) {
        let done = conn
            .value("SELECT rows_done FROM _kirikae_progress WHERE tbl = 'big'")
            .await
            .ok()
            .flatten()
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(n) = done {
            if n >= 10_000 {
                child.kill().unwrap();
                child.wait().unwrap();
                killed_at = Some(n);
                break;
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if killed_at.is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();
    let killed_at = killed_at.expect("the run was killed mid-table");
    assert!(killed_at < BIG_ROWS, "killed at {killed_at}");
    if path == "sql" || path == "update" {
        // The server-side paths cut the table into slices, copied on parallel connections:
        // the kill left each slice somewhere of its own.
        let slices = conn
            .value("SELECT COUNT(*) FROM _kirikae_progress WHERE tbl LIKE '!_kirikae!_slice!_%' ESCAPE '!'")
            .await
            .unwrap();
        if card_rule == "\"null\"" {
            assert_eq!(slices.as_deref(), Some("2"), "{path}");
        }
    }
    // A new run without --resume refuses: the interrupted one must be finished first.
    let (_, err) = exits(&mut run_cmd(&db, &rules, &state, false, path), 2);
    assert!(err.contains("--resume"), "{err}");
    let (out, err) = exits(&mut run_cmd(&db, &rules, &state, true, path), 0);
    assert!(err.contains("resuming"), "{err}");
    if path == "update" {
        assert!(out.contains("key-chunked UPDATEs in place"), "{out}");
    }
    assert_eq!(
        checksum(&db).await,
        expected,
        "resumed result differs from a clean run"
    );
    // The copy went without the unique index on email; the resumed run built it.
    assert_eq!(indexes_of_big(&db).await, expected_indexes);
    if path != "update" {
        assert!(
            expected_indexes.iter().any(|i| i.contains("email")),
            "{expected_indexes:?}"
        );
    }
    exits(
        &mut mask_with_state(&["verify"], &db, &rules, RESUME_KEY, &state),
        0,
    );
    let journal = std::fs::read_to_string(state.join("journal.jsonl")).unwrap();
    assert!(
        journal
            .lines()
            .filter(|l| l.contains("\"event\":\"started\""))
            .count()
            == 2
    );
}

#[tokio::test]
async fn resume_after_kill_on_mariadb_rebuild_path() {
    resume_after_kill(Dialect::MySql, "\"null\"", "sql").await;
}

#[tokio::test]
async fn resume_after_kill_on_postgresql_rebuild_path() {
    resume_after_kill(Dialect::Postgres, "\"null\"", "sql").await;
}

#[tokio::test]
async fn resume_after_kill_on_mariadb_streaming_path() {
    resume_after_kill(Dialect::MySql, "{ transform = \"card\" }", "sql").await;
}

#[tokio::test]
async fn resume_after_kill_on_postgresql_streaming_path() {
    resume_after_kill(Dialect::Postgres, "{ transform = \"card\" }", "sql").await;
}

#[tokio::test]
async fn resume_after_kill_on_mariadb_load_path() {
    resume_after_kill(Dialect::MySql, "{ transform = \"card\" }", "auto").await;
}

#[tokio::test]
async fn resume_after_kill_on_postgresql_load_path() {
    resume_after_kill(Dialect::Postgres, "{ transform = \"card\" }", "auto").await;
}

#[tokio::test]
async fn resume_after_kill_on_mariadb_update_path() {
    resume_after_kill(Dialect::MySql, "\"null\"", "update").await;
}

#[tokio::test]
async fn resume_after_kill_on_postgresql_update_path() {
    resume_after_kill(Dialect::Postgres, "\"null\"", "update").await;
}

/// The employees sample with examples/masking/employees.toml: check passes, run masks it,
/// verify finds nothing, the views over the tables still work.
#[tokio::test]
async fn employees_sample_with_its_example_rules() {
    let db = TestDb::new(Dialect::MySql, "emp");
    let dataset = Path::new("/work/shared/datasets/employees/test_db-subset10k");
    if !dataset.exists() {
        panic!("the employees sample is missing: {}", dataset.display());
    }
    let script = std::fs::read_to_string(dataset.join("employees.sql")).unwrap();
    let script = script
        .replace(
            "DROP DATABASE IF EXISTS employees;",
            &format!("DROP DATABASE IF EXISTS `{}`;", db.name),
        )
        .replace(
            "CREATE DATABASE IF NOT EXISTS employees;",
            &format!("CREATE DATABASE IF NOT EXISTS `{}`;", db.name),
        )
        .replace("USE employees;", &format!("USE `{}`;", db.name));
    let mut load = Command::new("mariadb")
        .args(["-h127.0.0.1", "-uroot"])
        .current_dir(dataset)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    load.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(load.wait().unwrap().success());
    let before = db
        .rows("SELECT emp_no, first_name, last_name, birth_date, hire_date FROM employees ORDER BY emp_no LIMIT 3")
        .await;
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/masking/employees.toml");
    exits(&mut mask(&["check"], &db, &rules), 0);
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = exits(
        &mut mask_with_state(
            &["run", "--output", "json"],
            &db,
            &rules,
            "employees",
            dir.path(),
        ),
        0,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let paths: Vec<(String, String, u64)> = v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap().to_string(),
                t["path"].as_str().unwrap().to_string(),
                t["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        paths.contains(&("employees".into(), "load".into(), 10_000)),
        "{paths:?}"
    );
    assert!(
        paths.contains(&("salaries".into(), "load".into(), 94_917)),
        "{paths:?}"
    );
    assert!(
        paths.contains(&("titles".into(), "keep".into(), 0)),
        "{paths:?}"
    );
    let after = db
        .rows("SELECT emp_no, first_name, last_name, birth_date, hire_date FROM employees ORDER BY emp_no LIMIT 3")
        .await;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a[0], b[0]);
        assert_ne!((&a[1], &a[2]), (&b[1], &b[2]));
        assert_eq!(
            &a[3].as_deref().unwrap()[..4],
            &b[3].as_deref().unwrap()[..4]
        );
        assert!(a[3].as_deref().unwrap().ends_with("-01-01"));
        assert_ne!(a[4], b[4]);
    }
    // The sample's views still read the (new) tables.
    assert_eq!(
        db.rows("SELECT COUNT(*) FROM current_dept_emp").await,
        vec![vec![Some("10000".to_string())]]
    );
    let (out, _) = exits(
        &mut mask_with_state(&["verify"], &db, &rules, "employees", dir.path()),
        0,
    );
    assert!(out.contains("verify: no findings"), "{out}");
}

const SWAP_MY: &str = r#"
CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(200) NOT NULL, parent_id INT NULL, UNIQUE KEY uq_email (email), CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES customers (id)) ENGINE=InnoDB;
CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)) ENGINE=InnoDB;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100)) ENGINE=InnoDB;
CREATE TRIGGER customers_ai AFTER INSERT ON customers FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('new ', NEW.id));
"#;

const SWAP_PG: &str = r#"
CREATE TABLE customers (id serial PRIMARY KEY, email varchar(200) NOT NULL CONSTRAINT uq_email UNIQUE, parent_id int REFERENCES customers (id));
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL CONSTRAINT fk_orders_customer REFERENCES customers (id));
CREATE TABLE audit (id serial PRIMARY KEY, what varchar(100));
CREATE FUNCTION audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit (what) VALUES ('new ' || NEW.id); RETURN NEW; END $$;;
CREATE TRIGGER customers_ai AFTER INSERT ON customers FOR EACH ROW EXECUTE FUNCTION audit_fn();
"#;

/// A crash before the indexes of the copy are built, or inside the swap (after MySQL's RENAME,
/// halfway through moving foreign keys and triggers; before PostgreSQL's COMMIT): `--resume`
/// finishes it, nothing is lost or doubled.
async fn crash_in_swap(d: Dialect, fault: &str) {
    let db = TestDb::new(d, "swapcrash");
    db.exec(db.pick(SWAP_MY, SWAP_PG)).await;
    db.exec(
        "INSERT INTO customers (email) VALUES ('a@example.com');
INSERT INTO customers (email, parent_id) VALUES ('b@example.com', 1);
INSERT INTO orders (customer_id) VALUES (2);
DELETE FROM audit;",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        "[tables.customers.columns]\nid = \"keep\"\nemail = { transform = \"hash\", length = 32 }\nparent_id = \"keep\"\n\
         [tables.orders.columns]\nid = \"keep\"\ncustomer_id = \"keep\"\n\
         [tables.audit.columns]\nid = \"keep\"\nwhat = \"keep\"\n",
    );
    let state = dir.path().join("state");
    let (_, err) = exits(
        run_cmd(&db, &rules, &state, false, "auto").env("KIRIKAE_MASK_FAULT", fault),
        1,
    );
    assert!(err.contains(&format!("injected fault at {fault}")), "{err}");
    exits(&mut run_cmd(&db, &rules, &state, true, "auto"), 0);
    let prf = kirikae_mask::prf::Prf::from_secret(RESUME_KEY.as_bytes());
    let hash =
        kirikae_mask::transforms::build(&toml_value(r#"{ transform = "hash", length = 32 }"#))
            .unwrap();
    let rows = db
        .rows("SELECT id, email, parent_id FROM customers ORDER BY id")
        .await;
    assert_eq!(
        rows,
        vec![
            vec![
                Some("1".into()),
                hash.apply_one(Some("a@example.com"), &prf),
                None
            ],
            vec![
                Some("2".into()),
                hash.apply_one(Some("b@example.com"), &prf),
                Some("1".into())
            ],
        ],
        "masked exactly once"
    );
    let live = db.conn().await.introspect().await.unwrap();
    let fks: Vec<(String, String, String)> = live
        .schema
        .tables
        .iter()
        .flat_map(|t| &t.foreign_keys)
        .map(|f| {
            (
                f.table.clone(),
                f.referenced_table.clone(),
                f.columns.join(","),
            )
        })
        .collect();
    assert_eq!(
        fks,
        [
            (
                "customers".to_string(),
                "customers".to_string(),
                "parent_id".to_string()
            ),
            ("orders".into(), "customers".into(), "customer_id".into())
        ]
    );
    let work = db
        .rows(db.pick(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE '\\_kirikae%'",
            "SELECT relname FROM pg_class WHERE relname LIKE '\\_kirikae%'",
        ))
        .await;
    assert!(work.is_empty(), "{work:?}");
    let mut conn = db.conn().await;
    conn.exec("INSERT INTO customers (email, parent_id) VALUES ('c@example.invalid', 2)")
        .await
        .unwrap();
    assert_eq!(
        conn.rows("SELECT what FROM audit").await.unwrap(),
        vec![vec![Some("new 3".to_string())]],
        "the trigger is on the new table, once"
    );
    assert!(conn
        .exec("INSERT INTO customers (email, parent_id) VALUES ('d@example.invalid', 99)")
        .await
        .is_err());
    // The unique index on email (built after the copy) holds.
    let taken = rows[0][1].clone().unwrap();
    assert!(conn
        .exec(&format!(
            "INSERT INTO customers (email) VALUES ({})",
            d.string_literal(&taken)
        ))
        .await
        .is_err());
}

fn toml_value(rule: &str) -> toml::Value {
    let t: toml::Table = format!("r = {rule}").parse().unwrap();
    t["r"].clone()
}

#[tokio::test]
async fn crash_after_rename_on_mariadb_resumes() {
    crash_in_swap(Dialect::MySql, "mysql_after_rename").await;
}

#[tokio::test]
async fn crash_halfway_through_moving_keys_and_triggers_on_mariadb_resumes() {
    crash_in_swap(Dialect::MySql, "mysql_mid_finish").await;
}

#[tokio::test]
async fn crash_before_building_indexes_on_mariadb_resumes() {
    crash_in_swap(Dialect::MySql, "before_indexes").await;
}

#[tokio::test]
async fn crash_before_building_indexes_on_postgresql_resumes() {
    crash_in_swap(Dialect::Postgres, "before_indexes").await;
}

#[tokio::test]
async fn crash_before_the_swap_commits_on_postgresql_resumes() {
    crash_in_swap(Dialect::Postgres, "postgres_before_commit").await;
}

// ---- The state directory reveals nothing without the masking key ----

const ATTACK_KEY: &str = "the masking key, kept away from the state directory";
/// Dates of birth of the attack's test data: every day from 1940 to 2010 is a candidate.
const BIRTH_FROM: (i32, u32, u32) = (1940, 1, 1);

/// People with dates of birth (1940-2010) and mobile numbers `090-5550-xxxx`: small domains a
/// guesser can enumerate whole.
async fn people_with_small_domains(db: &TestDb) {
    let sql = match db.dialect {
        Dialect::MySql => "CREATE TABLE people (id INT PRIMARY KEY, birth DATE NOT NULL, phone VARCHAR(20) NOT NULL);
INSERT INTO people SELECT seq, DATE_ADD('1940-01-01', INTERVAL (seq * 97) MOD 25500 DAY), CONCAT('090-5550-', LPAD((seq * 7919) MOD 10000, 4, '0')) FROM seq_1_to_300;",
        Dialect::Postgres => "CREATE TABLE people (id int PRIMARY KEY, birth date NOT NULL, phone varchar(20) NOT NULL);
INSERT INTO people SELECT s, DATE '1940-01-01' + (s * 97) % 25500, '090-5550-' || lpad(((s * 7919) % 10000)::text, 4, '0') FROM generate_series(1, 300) s;",
    };
    db.exec(sql).await;
}

/// Every date from 1940-01-01 to 2010-12-31 as `YYYY-MM-DD`.
fn all_dates() -> Vec<String> {
    let mut out = Vec::new();
    let (mut y, mut m, mut d) = BIRTH_FROM;
    while y <= 2010 {
        out.push(format!("{y:04}-{m:02}-{d:02}"));
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        d += 1;
        if d > days {
            d = 1;
            m += 1;
            if m > 12 {
                m = 1;
                y += 1;
            }
        }
    }
    out
}

/// Every fingerprint stored in the state directory (`*.values` and `*.rows` files).
fn stored_fingerprints(state: &Path) -> std::collections::HashSet<u64> {
    let mut out = std::collections::HashSet::new();
    let mut dirs = vec![state.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "values" || x == "rows") {
                let bytes = std::fs::read(&p).unwrap();
                out.extend(
                    bytes
                        .chunks_exact(8)
                        .map(|c| u64::from_le_bytes(c.try_into().unwrap())),
                );
            }
        }
    }
    out
}

/// Every string in a JSON document (the attacker's candidate secrets from `run.json`).
fn json_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| json_strings(x, out)),
        _ => {}
    }
}

/// SipHash-2-4 of a value under (k0, k1): the fingerprint function kirikae uses (std's
/// deprecated `SipHasher` is SipHash-2-4).
fn siphash(k0: u64, k1: u64, value: &str) -> u64 {
    use std::hash::Hasher;
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new_with_keys(k0, k1);
    h.write(value.as_bytes());
    h.finish()
}

/// The guesser's attack with nothing but the state directory's files: every string stored in
/// `run.json` is tried as the fingerprint secret, the way kirikae before issue 12 turned its
/// stored `fingerprint_key` into SipHash keys, and every candidate date of birth and phone
/// number is fingerprinted and looked up among the stored fingerprints. Returns the values
/// recovered. Before issue 12 this recovered every one of the 300 dates and 300 phone numbers
/// of `people_with_small_domains` (measured: 600 recovered, 36,525 + 10,000 guesses, 0.1 s).
fn guess_originals(state: &Path) -> Vec<String> {
    let stored = stored_fingerprints(state);
    assert!(!stored.is_empty(), "the run stored fingerprints");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("run.json")).unwrap()).unwrap();
    let mut candidates = vec![String::new()];
    json_strings(&run, &mut candidates);
    if let Ok(s) = std::fs::read_to_string(state.join("random.key")) {
        candidates.push(s.trim().to_string());
    }
    let phones: Vec<String> = (0..10_000).map(|n| format!("090-5550-{n:04}")).collect();
    let domain: Vec<String> = all_dates().into_iter().chain(phones).collect();
    let mut recovered = std::collections::BTreeSet::new();
    for c in &candidates {
        let b = *kirikae_mask::prf::Prf::from_secret(c.as_bytes())
            .digest("fingerprint key", "")
            .bytes();
        let k0 = u64::from_le_bytes(b[0..8].try_into().unwrap());
        let k1 = u64::from_le_bytes(b[8..16].try_into().unwrap());
        for v in &domain {
            if stored.contains(&siphash(k0, k1, v)) {
                recovered.insert(v.clone());
            }
        }
    }
    recovered.into_iter().collect()
}

async fn state_reveals_nothing(d: Dialect) {
    let db = TestDb::new(d, "guess");
    people_with_small_domains(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        "[tables.people.columns]\nid = \"keep\"\nbirth = { transform = \"date_shift\", max_days = 30 }\nphone = \"phone\"\n",
    );
    let state = dir.path().join("state");
    // Under a umask that lets everyone read and write, the state stays owner-only.
    let mut run = mask_with_state(&["run"], &db, &rules, ATTACK_KEY, &state);
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: umask only sets the child's file-creation mask, before exec.
        unsafe {
            run.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
    }
    exits(&mut run, 0);
    exits(
        &mut mask_with_state(&["verify"], &db, &rules, ATTACK_KEY, &state),
        0,
    );
    let mut modes = Vec::new();
    let mut dirs = vec![state.clone()];
    while let Some(d) = dirs.pop() {
        use std::os::unix::fs::PermissionsExt;
        modes.push((
            d.clone(),
            std::fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700,
        ));
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                modes.push((
                    p.clone(),
                    std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                    0o600,
                ));
            }
        }
    }
    assert!(modes.len() > 5, "{modes:?}");
    for (p, mode, want) in modes {
        assert_eq!(mode, want, "{} is {mode:o}", p.display());
    }
    // Verify without the key refuses, saying what it needs.
    let (_, err) = exits(
        mask(&["verify"], &db, &rules)
            .arg("--state-dir")
            .arg(&state),
        2,
    );
    assert!(
        err.contains("verify needs the masking key the run used"),
        "{err}"
    );
    let recovered = guess_originals(&state);
    assert!(
        recovered.is_empty(),
        "{} originals recovered from the state directory alone, e.g. {:?}",
        recovered.len(),
        &recovered[..recovered.len().min(5)]
    );
}

#[tokio::test]
async fn the_state_of_a_finished_run_reveals_no_original_to_a_guesser_on_mariadb() {
    state_reveals_nothing(Dialect::MySql).await;
}

#[tokio::test]
async fn the_state_of_a_finished_run_reveals_no_original_to_a_guesser_on_postgresql() {
    state_reveals_nothing(Dialect::Postgres).await;
}

// ---- `check` refuses what `run` would do to nothing or fail on ----

async fn check_refuses_values_that_do_not_fit(d: Dialect) {
    let db = TestDb::new(d, "fit");
    db.exec(db.pick(
        "CREATE TABLE t (id INT PRIMARY KEY, born DATE, code VARCHAR(5), amount DECIMAL(5,2), n INT, name VARCHAR(40));
INSERT INTO t VALUES (1, '1980-01-02', 'ab', 12.5, 3, 'Hanako');",
        "CREATE TABLE t (id int PRIMARY KEY, born date, code varchar(5), amount numeric(5,2), n int, name varchar(40));
INSERT INTO t VALUES (1, '1980-01-02', 'ab', 12.5, 3, 'Hanako');",
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        r#"[tables.t.columns]
id = "keep"
born = { transform = "fixed", value = "not a date" }
code = { transform = "fixed", value = "toolong" }
amount = { transform = "fixed", value = 12345.6 }
n = { transform = "fixed", value = "abc" }
name = { transform = "template", template = "{name}" }
"#,
    );
    let (out, _) = exits(&mut mask(&["check"], &db, &rules), 1);
    for expected in [
        "born: fixed value \"not a date\" does not fit column born (date): a date column needs a date",
        "code: fixed value \"toolong\" does not fit column code",
        "7 characters, the column holds at most 5",
        "amount: fixed value \"12345.6\" does not fit column amount",
        "5 digits before the decimal point, the column has room for 3",
        "n: fixed value \"abc\" does not fit column n",
        "name: the template reads {name}, the column it writes",
        "[reads_itself]",
    ] {
        assert!(out.contains(expected), "{expected} missing from:\n{out}");
    }
    // `run` refuses the same, before touching a row.
    let (_, err) = exits(
        &mut mask_with_state(&["run"], &db, &rules, "k", &dir.path().join("state")),
        1,
    );
    assert!(err.contains("nothing was masked: 5 problems"), "{err}");
    assert_eq!(
        db.rows("SELECT name FROM t").await,
        vec![vec![Some("Hanako".to_string())]]
    );
    // Values that fit pass.
    let good = write(
        dir.path(),
        "good.toml",
        r#"[tables.t.columns]
id = "keep"
born = { transform = "fixed", value = 2000-01-01 }
code = { transform = "fixed", value = "abcde" }
amount = { transform = "fixed", value = 999.99 }
n = { transform = "fixed", value = 7 }
name = { transform = "template", template = "user {id}" }
"#,
    );
    exits(&mut mask(&["check"], &db, &good), 0);
    // A rules file of an unknown version is refused when read (exit 2), with the versions known.
    let v2 = write(
        dir.path(),
        "v2.toml",
        &format!("version = 2\n{}", std::fs::read_to_string(&good).unwrap()),
    );
    let (_, err) = exits(&mut mask(&["check"], &db, &v2), 2);
    assert!(
        err.contains("unsupported rules version 2: this kirikae reads version 1"),
        "{err}"
    );
}

#[tokio::test]
async fn check_refuses_fixed_values_that_do_not_fit_and_self_templates_on_mariadb() {
    check_refuses_values_that_do_not_fit(Dialect::MySql).await;
}

#[tokio::test]
async fn check_refuses_fixed_values_that_do_not_fit_and_self_templates_on_postgresql() {
    check_refuses_values_that_do_not_fit(Dialect::Postgres).await;
}

// ---- One masking run per database at a time ----

/// Waits (up to 60 s) until the query returns a value.
async fn wait_for_value(db: &TestDb, sql: &str, child: &mut std::process::Child) -> String {
    let mut conn = db.conn().await;
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(60) {
        if let Ok(Some(v)) = conn.value(sql).await {
            return v;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the first run ended ({status}) before {sql} returned a value");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{sql} returned no value within 60 s");
}

async fn second_run_is_refused(d: Dialect) {
    let db = TestDb::new(d, "twice");
    people_with_small_domains(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        "[tables.people.columns]\nid = \"keep\"\nbirth = { transform = \"date_shift\", max_days = 30 }\nphone = \"phone\"\n",
    );
    let state = dir.path().join("state");
    // The first run holds on, alive, once it has taken the lock and created its progress table.
    let mut first = mask_with_state(&["run"], &db, &rules, ATTACK_KEY, &state)
        .env("KIRIKAE_MASK_HOLD", "locked")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let holder = wait_for_value(
        &db,
        "SELECT plan FROM _kirikae_progress WHERE tbl = '_kirikae_run'",
        &mut first,
    )
    .await;
    assert!(
        holder.contains(&format!("\"pid\":{}", first.id())),
        "{holder}"
    );
    let other_state = dir.path().join("other");
    for (args, state) in [
        (&["run"][..], &state),
        (&["run", "--resume"][..], &state),
        (&["run"][..], &other_state),
    ] {
        let (_, err) = exits(
            &mut mask_with_state(args, &db, &rules, ATTACK_KEY, state),
            2,
        );
        assert!(
            err.contains("another kirikae mask run is masking")
                && err.contains(&format!("pid {} on host", first.id()))
                && err.contains("server connection"),
            "{args:?}: {err}"
        );
    }
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run is alive"
    );
    // Killed, its lock goes with its connection: --resume takes over and finishes.
    first.kill().unwrap();
    first.wait().unwrap();
    let (_, err) = exits(
        &mut mask_with_state(&["run", "--resume"], &db, &rules, ATTACK_KEY, &state),
        0,
    );
    assert!(err.contains("resuming"), "{err}");
    exits(
        &mut mask_with_state(&["verify"], &db, &rules, ATTACK_KEY, &state),
        0,
    );
    // With the lock released at the end, a new run can start.
    let (_, err) = exits(
        &mut mask_with_state(&["run"], &db, &rules, ATTACK_KEY, &other_state),
        0,
    );
    assert!(!err.contains("another"), "{err}");
}

#[tokio::test]
async fn a_second_run_on_the_same_database_is_refused_naming_the_first_on_mariadb() {
    second_run_is_refused(Dialect::MySql).await;
}

#[tokio::test]
async fn a_second_run_on_the_same_database_is_refused_naming_the_first_on_postgresql() {
    second_run_is_refused(Dialect::Postgres).await;
}

// ---- A kill during the index build, then one resume ----

/// The run is killed while the server builds the copy's indexes (of 300,000 rows, so that the
/// build takes a while); the server goes on with the statement of the dead client. The first
/// `--resume` must succeed, with the indexes of the original and no duplicate. Before issue 12
/// it failed on MariaDB with "masked values collide" (its own ALTER met the index the orphaned
/// one had just added: "Duplicate key name"), and on PostgreSQL built the indexes twice.
async fn kill_during_index_build(d: Dialect) {
    let db = TestDb::new(d, "idxkill");
    db.exec(
        PEOPLE_INDEXED[match d {
            Dialect::MySql => 0,
            Dialect::Postgres => 1,
        }],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rules = write(
        dir.path(),
        "rules.toml",
        "[tables.people.columns]\nid = \"keep\"\nemail = { transform = \"hash\", length = 32 }\nname = { transform = \"hash\", length = 32 }\n",
    );
    let state = dir.path().join("state");
    let expected_indexes = people_indexes(&db).await;
    // 1. The copy is in, the indexes not built yet.
    let (_, err) = exits(
        run_cmd(&db, &rules, &state, false, "sql").env("KIRIKAE_MASK_FAULT", "before_indexes"),
        1,
    );
    assert!(err.contains("injected fault at before_indexes"), "{err}");
    // 2. Resumed, and killed as soon as the server builds the indexes.
    let mut resumed = run_cmd(&db, &rules, &state, true, "sql")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let building = db.pick(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE 'ALTER TABLE `\\_kirikae\\_n\\_people` ADD%'",
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND (query LIKE 'CREATE%INDEX ON \"\\_kirikae\\_n\\_people\"%' OR query LIKE 'ALTER TABLE \"\\_kirikae\\_n\\_people\" ADD%')",
    );
    wait_for_value(&db, building, &mut resumed).await;
    resumed.kill().unwrap();
    resumed.wait().unwrap();
    // 3. The next --resume, at once, while the server still builds: it succeeds.
    exits(&mut run_cmd(&db, &rules, &state, true, "sql"), 0);
    assert_eq!(
        people_indexes(&db).await,
        expected_indexes,
        "no index missing or doubled"
    );
    exits(
        &mut mask_with_state(&["verify"], &db, &rules, RESUME_KEY, &state),
        0,
    );
}

/// `people` with a unique index and a plain one, both deferred to after the copy.
const PEOPLE_INDEXED: [&str; 2] = [
    "CREATE TABLE people (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, name VARCHAR(50), UNIQUE KEY people_email (email), KEY people_name (name));
INSERT INTO people SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('name ', seq) FROM seq_1_to_300000;",
    "CREATE TABLE people (id int PRIMARY KEY, email varchar(100) NOT NULL, name varchar(50), CONSTRAINT people_email UNIQUE (email));
CREATE INDEX people_name ON people (name);
INSERT INTO people SELECT s, 'user' || s || '@example.com', 'name ' || s FROM generate_series(1, 300000) s;",
];

async fn people_indexes(db: &TestDb) -> Vec<String> {
    db.rows(db.pick(
        "SELECT CONCAT(INDEX_NAME, ' ', NON_UNIQUE, ' ', GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX)) \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'people' \
         GROUP BY INDEX_NAME, NON_UNIQUE ORDER BY 1",
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'people' ORDER BY 1",
    ))
    .await
    .into_iter()
    .filter_map(|r| r.into_iter().next().flatten())
    .collect()
}

#[tokio::test]
async fn a_kill_during_the_index_build_resumes_the_first_time_on_mariadb() {
    kill_during_index_build(Dialect::MySql).await;
}

#[tokio::test]
async fn a_kill_during_the_index_build_resumes_the_first_time_on_postgresql() {
    kill_during_index_build(Dialect::Postgres).await;
}
