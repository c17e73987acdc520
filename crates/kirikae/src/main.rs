//! The `kirikae` binary: parses arguments, calls the library crates, renders their results.
//! No AWS or database work happens here.

#[macro_use]
mod render;
mod cli;
mod commands;
mod progress;

use std::io::Write as _;
use std::process::ExitCode;

/// How a command ended, mapped once (in [`Failure::exit_code`]) to the process exit code.
///
/// A command decides the kind where the error is made; nothing else decides exit codes:
/// * [`Failure::BadInput`]: arguments or config are wrong, nothing ran. Exit 2.
/// * [`Failure::NotConfirmed`]: a destructive command in a protected account without the right
///   `--confirm <alias>` (missing or not the alias); nothing ran. Exit 2, in every command.
/// * [`Failure::Failed`]: the work failed or found problems. Exit 1.
#[derive(Debug)]
pub enum Failure {
    BadInput(anyhow::Error),
    NotConfirmed(anyhow::Error),
    Failed(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Failed(e.into())
    }
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::BadInput(_) | Failure::NotConfirmed(_) => 2,
            Failure::Failed(_) => 1,
        }
    }

    /// The kind as `--output json` names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::BadInput(_) => "bad_input",
            Failure::NotConfirmed(_) => "not_confirmed",
            Failure::Failed(_) => "failed",
        }
    }

    fn error(&self) -> &anyhow::Error {
        match self {
            Failure::BadInput(e) | Failure::NotConfirmed(e) | Failure::Failed(e) => e,
        }
    }

    /// Standard output was closed by its reader (`kirikae ... | head -1`): nothing to report.
    fn is_closed_output(&self) -> bool {
        self.error().chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        })
    }
}

pub type Outcome = Result<ExitCode, Failure>;

/// The exit code of a process whose standard output was closed before it finished writing: the
/// code of a process killed by SIGPIPE, as `yes | head -1` reports for `yes`.
pub const CLOSED_OUTPUT_EXIT: u8 = 141;

/// glibc raises its mmap threshold each time a large block is freed, after which the masking
/// pipeline's chunk buffers (megabytes, allocated and freed on several threads) come from the
/// heap and fragment it: peak RSS then grew with the table (124 MB at 1M rows for ~45 MB live).
/// A fixed threshold keeps large buffers in their own mappings, returned when freed.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// `println!` panics when its reader has gone (Rust ignores SIGPIPE, so the write fails with
/// EPIPE instead of ending the process). Output written with `render`'s helpers returns the error
/// instead; this catches the `println!`s that remain: the process ends quietly, as it would by
/// SIGPIPE, without a panic message. Every other panic is reported as before.
fn quiet_on_closed_output() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        // std's message: "failed printing to stdout: Broken pipe (os error 32)"
        let printing = payload.starts_with("failed printing to stdout")
            || payload.starts_with("failed printing to stderr");
        if printing && payload.contains("Broken pipe") {
            std::process::exit(i32::from(CLOSED_OUTPUT_EXIT));
        }
        default(info)
    }));
}

/// Whether the raw arguments ask for JSON (for errors found before they are parsed).
fn json_requested(args: &[std::ffi::OsString]) -> bool {
    args.iter()
        .zip(args.iter().skip(1))
        .any(|(a, b)| a == "--output" && b == "json")
        || args.iter().any(|a| a == "--output=json")
}

fn main() -> ExitCode {
    tune_allocator();
    quiet_on_closed_output();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match cli::parse(&args) {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() && json_requested(&args) => {
            let message = e.to_string();
            let message = message.trim().trim_start_matches("error: ");
            render::print_json_error("bad_input", 2, message);
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    init_logging(cli.verbose);
    let json = cli.shared.output == cli::OutputFormat::Json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = Failure::Failed(anyhow::anyhow!("cannot start the async runtime: {e}"));
            return report(&e, json);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => report(&e, json),
    }
}

/// The log on stderr (stdout carries the result, JSON with `--output json`): `RUST_LOG` when set,
/// else `-v` (every AWS request and kirikae's steps) or `-vv` (also every database statement),
/// else nothing. No colours when `NO_COLOR` is set or stderr is not a terminal.
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::new(spec),
        _ => match verbose {
            0 => return,
            // `kirikae` is a prefix of every kirikae target (crates and `kirikae::aws`/`::db`).
            1 => EnvFilter::new(format!(
                "warn,kirikae=info,{}=debug",
                kirikae_aws::request_log::TARGET
            )),
            _ => EnvFilter::new(format!(
                "warn,kirikae=debug,{}=trace",
                kirikae_mask::db::STATEMENT_TARGET
            )),
        },
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(progress::LogWriter)
        .with_ansi(progress::colour())
        .try_init();
}

/// Renders a failure once: JSON on stdout with `--output json`, else text on stderr.
fn report(e: &Failure, json: bool) -> ExitCode {
    if e.is_closed_output() {
        return ExitCode::from(CLOSED_OUTPUT_EXIT);
    }
    let message = format!("{:#}", e.error());
    if json {
        render::print_json_error(e.kind(), e.exit_code(), &message);
    } else {
        let _ = writeln!(std::io::stderr(), "kirikae: error: {message}");
    }
    ExitCode::from(e.exit_code())
}
