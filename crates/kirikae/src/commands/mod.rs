//! One module per command group; each loads what it needs, calls the library, renders.

mod accounts;
mod audit;
mod config;
mod drift;
mod mask;
mod refresh;
mod sweep;

use anyhow::anyhow;
use kirikae_config::Config;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::{Failure, Outcome};

pub async fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Config(c) => config::run(&cli.global, c),
        Command::Accounts(c) => accounts::run(&cli.global, c).await,
        Command::Refresh(c) => refresh::run(&cli.global, c).await,
        Command::Mask(c) => mask::run(&cli.global, c).await,
        Command::Sweep(c) => sweep::run(&cli.global, c).await,
        Command::Audit(c) => audit::run(&cli.global, c).await,
    }
}

/// Loads the config named by the global options; a bad config is bad input (exit 2).
pub fn load_config(global: &GlobalArgs) -> Result<Config, Failure> {
    let env = std::env::var_os(kirikae_config::CONFIG_ENV);
    let (path, source) = kirikae_config::locate(global.config.as_deref(), env.as_deref());
    Config::load(&path, source).map_err(|e| Failure::BadInput(anyhow!(e)))
}
