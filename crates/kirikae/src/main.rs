//! The `kirikae` binary: parses arguments, calls the library crates, renders their results.
//! No AWS or database work happens here.

mod cli;
mod commands;
mod render;

use std::process::ExitCode;

use clap::Parser;

/// How a command ended, mapped once to the process exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad input (arguments, config): nothing was run. Exit 2.
    BadInput(anyhow::Error),
    /// The work failed or found problems. Exit 1.
    Failed(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Failed(e.into())
    }
}

pub type Outcome = Result<ExitCode, Failure>;

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

fn main() -> ExitCode {
    tune_allocator();
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kirikae: error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(Failure::BadInput(e)) => {
            eprintln!("kirikae: error: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(e)) => {
            eprintln!("kirikae: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
