//! One module per command group; each loads what it needs, calls the library, renders.

mod accounts;
mod audit;
mod audit_cost;
mod audit_progress;
mod audit_report;
mod config;
mod drift;
mod generate;
mod mask;
mod refresh;
mod sweep;

use anyhow::anyhow;
use kirikae_config::Config;

use crate::cli::{Command, Invocation, Shared};
use crate::{Failure, Outcome};

/// Runs the command with the shared options it declared (`cli::takes`); the others are at their
/// defaults.
pub async fn run(invocation: Invocation) -> Outcome {
    let shared = &invocation.shared;
    match invocation.command {
        Command::Config(c) => config::run(shared, c),
        Command::Accounts(c) => accounts::run(shared, c).await,
        Command::Refresh(c) => refresh::run(shared, c).await,
        Command::Mask(c) => mask::run(shared, c).await,
        Command::Sweep(c) => sweep::run(shared, c).await,
        Command::Audit(c) => audit::run(shared, c).await,
        Command::Completions { shell } => generate::completions(shell),
        Command::Man { out } => generate::man_pages(&out),
    }
}

/// Loads the config named by `--config` (before or after the subcommand), else
/// `$KIRIKAE_CONFIG`, else ./kirikae.toml; a bad config is bad input (exit 2).
pub fn load_config(shared: &Shared) -> Result<Config, Failure> {
    let env = std::env::var_os(kirikae_config::CONFIG_ENV);
    let (path, source) = kirikae_config::locate(shared.config.as_deref(), env.as_deref());
    Config::load(&path, source).map_err(|e| Failure::BadInput(anyhow!(e)))
}
