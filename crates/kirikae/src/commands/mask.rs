//! `kirikae mask init | check | run | verify`: parses, calls kirikae-mask, renders. Progress of
//! `run` goes to stderr: bars on a terminal, plain periodic lines otherwise ([`crate::progress`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use kirikae_mask::check::Problem;
use kirikae_mask::db::{Conn, DbError, DbUrl};
use kirikae_mask::plan::PathChoice;
use kirikae_mask::run::{Event, MaskKey, Reporter, RunError, RunOptions};
use kirikae_mask::verify::VerifyError;
use kirikae_mask::Rules;

use crate::cli::{MaskCommand, MaskDb, MaskRules, OutputFormat, Shared};
use crate::progress::{self, duration, eprint_line, Bar};
use crate::render::{self, Table};
use crate::{Failure, Outcome};

pub async fn run(shared: &Shared, command: MaskCommand) -> Outcome {
    match command {
        MaskCommand::Init {
            db,
            out,
            force,
            sample_rows,
            update: None,
        } => init(shared, &db, out, force, sample_rows).await,
        MaskCommand::Init {
            db,
            sample_rows,
            update: Some(rules),
            ..
        } => init_update(shared, &db, &rules, sample_rows).await,
        MaskCommand::Check { db, rules } => check(shared, &db, &rules).await,
        MaskCommand::Run {
            db,
            rules,
            key_file,
            resume,
            chunk_rows,
            jobs,
            parallel,
            path,
        } => {
            let opts = RunOptions {
                chunk_rows,
                resume,
                jobs: jobs.into(),
                parallel: parallel.into(),
                path: match path {
                    crate::cli::MaskPath::Auto => PathChoice::Auto,
                    crate::cli::MaskPath::Sql => PathChoice::Sql,
                    crate::cli::MaskPath::Rust => PathChoice::Rust,
                    crate::cli::MaskPath::Update => PathChoice::Update,
                },
            };
            mask_run(shared, &db, &rules, key_file.as_deref(), opts).await
        }
        MaskCommand::Verify {
            db,
            rules,
            key_file,
            report,
        } => verify(shared, &db, &rules, key_file.as_deref(), report.as_deref()).await,
    }
}

/// The environment variable that may hold the database password.
pub const PASSWORD_ENV: &str = "KIRIKAE_DB_PASSWORD";

/// The URL with its password: `--password-file` (its first line), else a password in the URL,
/// else `$KIRIKAE_DB_PASSWORD` (what is given on the command line beats the environment, as a
/// password in a libpq or MySQL connection string beats PGPASSWORD / MYSQL_PWD).
fn parse_url(db: &MaskDb) -> Result<DbUrl, Failure> {
    let url = DbUrl::parse(&db.url).map_err(|e| Failure::BadInput(anyhow!(e)))?;
    if let Some(file) = &db.password_file {
        return Ok(url.with_password(&read_password_file(file)?));
    }
    if url.has_password() {
        return Ok(url);
    }
    match std::env::var(PASSWORD_ENV) {
        Ok(p) if !p.is_empty() => Ok(url.with_password(&p)),
        _ => Ok(url),
    }
}

/// The first line of the file, without its line end.
fn read_password_file(file: &Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Failure::BadInput(anyhow!(
            "cannot read the password file {} (--password-file): {e}",
            file.display()
        ))
    })?;
    let first = text.lines().next().unwrap_or_default();
    if first.is_empty() {
        return Err(Failure::BadInput(anyhow!(
            "the password file {} (--password-file) is empty: its first line is the password",
            file.display()
        )));
    }
    Ok(first.to_string())
}

fn load_rules(path: &Path) -> Result<Rules, Failure> {
    Rules::load(path).map_err(|e| Failure::BadInput(anyhow!(e)))
}

fn db_failure(e: DbError) -> Failure {
    if e.is_bad_input() {
        Failure::BadInput(anyhow!(e))
    } else {
        Failure::Failed(anyhow!(e))
    }
}

fn state_dir(rules: &MaskRules, url: &DbUrl) -> PathBuf {
    rules
        .state_dir
        .clone()
        .unwrap_or_else(|| kirikae_mask::state::default_dir(&rules.rules, &url.slug()))
}

fn key(key_file: Option<&Path>) -> Result<Option<MaskKey>, Failure> {
    MaskKey::from_env_or_file(key_file).map_err(|e| Failure::BadInput(anyhow!(e)))
}

fn print_problems(problems: &[Problem], rules: &Path) {
    for (table, ps) in kirikae_mask::check::by_table(problems) {
        println!("{}", render::red(&format!("table {table}:")));
        for p in ps {
            let at = p
                .line
                .map(|l| format!(" ({}:{l})", rules.display()))
                .unwrap_or_default();
            let col = p
                .column
                .as_deref()
                .map(|c| format!("{c}: "))
                .unwrap_or_default();
            println!("  {col}{}{at} [{}]", p.message, p.id);
        }
    }
}

/// `init --update`: suggested rules for the columns and tables the file lacks, written in place
/// (through a temporary file beside it, renamed over it).
async fn init_update(shared: &Shared, db: &MaskDb, rules: &Path, sample_rows: usize) -> Outcome {
    let url = parse_url(db)?;
    let existing = std::fs::read_to_string(rules).map_err(|e| {
        Failure::BadInput(anyhow!(
            "cannot read the rules file {}: {e}",
            rules.display()
        ))
    })?;
    let mut conn = Conn::connect(&url).await.map_err(db_failure)?;
    let update = kirikae_mask::init::update(&mut conn, &existing, &url.to_string(), sample_rows)
        .await
        .map_err(|e| match e {
            kirikae_mask::init::UpdateError::Db(e) => db_failure(e),
            e => Failure::BadInput(anyhow!("{}: {e}", rules.display())),
        })?;
    if update.text != existing {
        let tmp = rules.with_extension("toml.update-tmp");
        std::fs::write(&tmp, &update.text)
            .and_then(|_| std::fs::rename(&tmp, rules))
            .map_err(|e| Failure::Failed(anyhow!("cannot write {}: {e}", rules.display())))?;
    }
    if shared.output == OutputFormat::Json {
        render::print_json(&serde_json::json!({
            "file": rules, "columns": update.columns, "tables": update.tables,
        }))?;
    } else if update.columns.is_empty() && update.tables.is_empty() {
        println!(
            "{}: every table and column has a rule; nothing added",
            rules.display()
        );
    } else {
        println!(
            "updated {}: {} column(s) added{}{}, marked `# review`; decide them, then run \
             `kirikae mask check --url '{url}' --rules {}`",
            rules.display(),
            update.columns.len(),
            if update.columns.is_empty() {
                String::new()
            } else {
                format!(" ({})", update.columns.join(", "))
            },
            if update.tables.is_empty() {
                String::new()
            } else {
                format!(", table(s) added: {}", update.tables.join(", "))
            },
            rules.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn init(
    shared: &Shared,
    db: &MaskDb,
    out: Option<PathBuf>,
    force: bool,
    sample_rows: usize,
) -> Outcome {
    let url = parse_url(db)?;
    if let Some(o) = &out {
        if o.exists() && !force {
            return Err(Failure::BadInput(anyhow!(
                "{} exists: pass --force to overwrite it, or another --out",
                o.display()
            )));
        }
    }
    let mut conn = Conn::connect(&url).await.map_err(db_failure)?;
    let text = kirikae_mask::init::init(&mut conn, &url.to_string(), sample_rows)
        .await
        .map_err(db_failure)?;
    let columns = text
        .lines()
        .filter(|l| l.contains(" = ") && l.contains("  # "))
        .count();
    let review = text.lines().filter(|l| l.contains("# review")).count();
    match &out {
        Some(o) => {
            std::fs::write(o, &text)
                .map_err(|e| Failure::Failed(anyhow!("cannot write {}: {e}", o.display())))?;
            if shared.output == OutputFormat::Json {
                render::print_json(&serde_json::json!({
                    "file": o, "columns": columns, "review": review,
                }))?;
            } else {
                println!(
                    "wrote {}: {columns} columns, {review} to review (marked `# review`); then run \
                     `kirikae mask check --url '{url}' --rules {}`",
                    o.display(),
                    o.display()
                );
            }
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn check(shared: &Shared, db: &MaskDb, rules_path: &Path) -> Outcome {
    let url = parse_url(db)?;
    let rules = load_rules(rules_path)?;
    let mut conn = Conn::connect(&url).await.map_err(db_failure)?;
    let live = conn.introspect().await.map_err(db_failure)?;
    let problems = kirikae_mask::check::check(&rules, &live.schema);
    let columns: usize = live.schema.tables.iter().map(|t| t.columns.len()).sum();
    if shared.output == OutputFormat::Json {
        render::print_json(&serde_json::json!({
            "ok": problems.is_empty(),
            "database": url.to_string(),
            "tables": live.schema.tables.len(),
            "columns": columns,
            "problems": problems,
        }))?;
    } else if problems.is_empty() {
        println!(
            "{}",
            render::green(&format!(
                "{}: every one of {} tables and {columns} columns has a rule that fits",
                rules_path.display(),
                live.schema.tables.len()
            ))
        );
    } else {
        print_problems(&problems, rules_path);
        println!(
            "{}",
            render::red(&format!(
                "{} problem{} in {} against {url}",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                rules_path.display()
            ))
        );
    }
    Ok(ExitCode::from(if problems.is_empty() { 0 } else { 1 }))
}

/// Renders run events on stderr: a bar per table being masked and one for the whole run on a
/// terminal (rows, rate, ETA), plain lines otherwise (see [`crate::progress`]).
struct Progress {
    state: Mutex<ProgressState>,
}

#[derive(Default)]
struct ProgressState {
    overall: Option<Bar>,
    tables: BTreeMap<String, Bar>,
}

const TABLE_BAR: &str = "  {msg:24!} [{bar:30}] {pos}/{len} rows, {per_sec}, ETA {eta}";
const OVERALL_BAR: &str = "all tables               [{bar:30}] {pos}/{len} rows, ETA {eta}";

impl Reporter for Progress {
    fn event(&self, event: &Event) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        match event {
            Event::Started { key, resumed, .. } => {
                if matches!(key, kirikae_mask::run::KeySource::Random) {
                    eprint_line(
                        "kirikae mask: no key given ($KIRIKAE_MASK_KEY or --key-file): using a \
                         random key; results will not be reproducible",
                    );
                }
                if *resumed {
                    eprint_line("kirikae mask: resuming the interrupted run");
                }
            }
            Event::Planned {
                table,
                path,
                streamed,
                ..
            } => {
                let rust = if streamed.is_empty() {
                    String::new()
                } else {
                    format!(" (in Rust: {})", streamed.join(", "))
                };
                eprint_line(&format!("  {table}: {path}{rust}"));
            }
            Event::Progress(p) => {
                let plain = || {
                    format!(
                        "{}: {}/{} rows, {:.0} rows/s, ETA {} | all: {}/{} rows, ETA {}",
                        p.table,
                        p.rows,
                        p.table_total,
                        p.rows_per_s,
                        p.table_eta_s.map(duration).unwrap_or("-".into()),
                        p.overall_rows,
                        p.overall_total,
                        p.overall_eta_s.map(duration).unwrap_or("-".into()),
                    )
                };
                st.tables
                    .entry(p.table.clone())
                    .or_insert_with(|| Bar::new(p.table_total, TABLE_BAR))
                    .update(p.rows, p.table_total, &p.table, plain);
                if progress::terminal() {
                    st.overall
                        .get_or_insert_with(|| Bar::new(p.overall_total, OVERALL_BAR))
                        .update(p.overall_rows, p.overall_total, "", String::new);
                }
            }
            Event::BuildingIndexes { table, indexes } => {
                eprint_line(&format!(
                    "  {table}: copied; building index{} {}",
                    if indexes.len() == 1 { "" } else { "es" },
                    indexes.join(", ")
                ));
            }
            Event::WaitingForInterrupted { statements } => {
                eprint_line(&format!(
                    "kirikae mask: waiting for the interrupted run's statements still running on \
                     the server: {}",
                    statements.join("; ")
                ));
            }
            Event::IndexesBuilt { table, seconds, .. } => {
                eprint_line(&format!(
                    "  {table}: indexes built in {}",
                    duration(*seconds)
                ));
            }
            Event::Rewritten { table, seconds } => {
                eprint_line(&format!(
                    "  {table}: masked in place; rewritten into new files (no old row version \
                     left) in {}",
                    duration(*seconds)
                ));
            }
            Event::TableDone {
                table,
                rows,
                seconds,
                ..
            } => {
                if let Some(bar) = st.tables.remove(table) {
                    bar.finish();
                }
                eprint_line(&format!(
                    "  {table}: done, {rows} rows in {}",
                    duration(*seconds)
                ));
            }
            Event::Finished { .. } => {
                if let Some(bar) = st.overall.take() {
                    bar.finish();
                }
            }
            _ => {}
        }
    }
}

async fn mask_run(
    shared: &Shared,
    db: &MaskDb,
    rules: &MaskRules,
    key_file: Option<&Path>,
    opts: RunOptions,
) -> Outcome {
    let url = parse_url(db)?;
    let parsed = load_rules(&rules.rules)?;
    let key = key(key_file)?;
    let dir = state_dir(rules, &url);
    let reporter = Arc::new(Progress {
        state: Mutex::new(ProgressState::default()),
    });
    let report = match kirikae_mask::run::run(&url, &parsed, key, &dir, &opts, reporter).await {
        Ok(r) => r,
        Err(RunError::Check(problems)) => {
            if shared.output == OutputFormat::Json {
                render::print_json(&serde_json::json!({"ok": false, "problems": problems}))?;
            } else {
                print_problems(&problems, &rules.rules);
            }
            return Err(Failure::Failed(anyhow!(
                "nothing was masked: {} problem{} in the rules (fail closed); fix them and run \
                 `kirikae mask check` until it passes",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            )));
        }
        // Refused before anything changed: nothing ran (exit 2).
        Err(RunError::Refused(m) | RunError::Busy(m)) => {
            return Err(Failure::BadInput(anyhow!(
                "{m}\nnothing ran: the database was not changed"
            )))
        }
        Err(RunError::Db(e)) if e.is_bad_input() => return Err(Failure::BadInput(anyhow!(e))),
        // Stopped after the run changed the database: the message says to resume (exit 1).
        Err(e @ RunError::Interrupted(_)) => return Err(Failure::Failed(anyhow!(e))),
        Err(e) => {
            return Err(Failure::Failed(anyhow!(
                "{e}\nnothing was masked (the run stopped before it changed the database)"
            )))
        }
    };
    if shared.output == OutputFormat::Json {
        render::print_json(&report)?;
    } else {
        let mut t = Table::new(&["TABLE", "PATH", "ROWS", "SECONDS", "ROWS/S"]);
        for r in &report.tables {
            t.row(vec![
                r.table.clone(),
                if r.skipped {
                    "done before (resumed)".into()
                } else {
                    r.path.to_string()
                },
                r.rows.to_string(),
                format!("{:.1}", r.seconds),
                format!("{:.0}", r.rows_per_s),
            ]);
        }
        print!("{}", t.render());
        println!(
            "{}",
            render::green(&format!(
                "masked {} rows in {} tables in {:.1} s; key: {}; state: {}",
                report.rows,
                report.tables.len(),
                report.seconds,
                report.key,
                report.state_dir.display()
            ))
        );
        println!(
            "next: kirikae mask verify --url '{}' --rules {}",
            report.database,
            rules.rules.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify(
    shared: &Shared,
    db: &MaskDb,
    rules: &MaskRules,
    key_file: Option<&Path>,
    report_file: Option<&Path>,
) -> Outcome {
    let url = parse_url(db)?;
    let parsed = load_rules(&rules.rules)?;
    let key = key(key_file)?;
    let dir = state_dir(rules, &url);
    let report = kirikae_mask::verify::verify(&url, &parsed, key, &dir, report_file, 20_000)
        .await
        .map_err(|e| match e {
            VerifyError::Refused(m) => Failure::BadInput(anyhow!(m)),
            VerifyError::Db(e) if e.is_bad_input() => Failure::BadInput(anyhow!(e)),
            e => Failure::Failed(anyhow!(e)),
        })?;
    if shared.output == OutputFormat::Json {
        render::print_json(&report)?;
    } else {
        let mut t = Table::new(&[
            "TABLE",
            "ROWS BEFORE",
            "ROWS NOW",
            "MASKED CHECKED",
            "KEPT SCANNED",
        ]);
        for c in &report.tables {
            t.row(vec![
                c.table.clone(),
                c.rows_before.map(|r| r.to_string()).unwrap_or("-".into()),
                c.rows_after.to_string(),
                c.masked_columns_checked.len().to_string(),
                c.kept_columns_scanned.len().to_string(),
            ]);
        }
        print!("{}", t.render());
        for f in &report.findings {
            let col = f
                .column
                .as_deref()
                .map(|c| format!(".{c}"))
                .unwrap_or_default();
            let keys = if f.sample_keys.is_empty() {
                String::new()
            } else {
                format!(
                    " (keys: {})",
                    f.sample_keys
                        .iter()
                        .map(|k| k.join("/"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            println!(
                "{} {}{col}: {}{keys}",
                render::red(f.id),
                f.table,
                f.message
            );
        }
        let summary = if report.ok {
            render::green("verify: no findings")
        } else {
            render::red(&format!("verify: {} findings", report.findings.len()))
        };
        println!("{summary}; report: {}", report.report_file.display());
    }
    Ok(ExitCode::from(if report.ok { 0 } else { 1 }))
}
