//! The command line. Global options (`--config`, `--output`, `--mfa-code`) are accepted before or
//! after the subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  kirikae config check
  kirikae accounts check --config examples/story/kirikae.toml
  kirikae accounts profiles --file ~/.aws/config
  kirikae accounts console prod
  kirikae accounts exec dev -- aws s3 ls

The config is --config <file>, else $KIRIKAE_CONFIG, else ./kirikae.toml.
Exit codes: 0 ok; 1 the work failed or found problems; 2 bad arguments or config (nothing ran).";

#[derive(Debug, Parser)]
#[command(
    name = "kirikae",
    version,
    about = "Run a multi-account AWS estate from a jump account: switch role, refresh staging \
             from production with masked data, sweep leftovers, audit.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// The config file [default: $KIRIKAE_CONFIG, else ./kirikae.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Human-readable tables, or JSON for scripts
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// The current code of the jump account's MFA device (else [jump] mfa_command, else a prompt)
    #[arg(long, global = true, value_name = "CODE")]
    pub mfa_code: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Reach every account through the jump account: check, profiles, console links, exec
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Rebuild staging from production with secret data masked (not yet available)
    #[command(after_help = "Example:\n  kirikae refresh plan staging")]
    Refresh(Pending),
    /// Mask personal data in a MySQL/MariaDB or PostgreSQL database (not yet available)
    #[command(after_help = "Example:\n  kirikae mask check --url mysql://root@127.0.0.1/shop")]
    Mask(Pending),
    /// Find, mark, review and delete leftover resources (not yet available)
    #[command(after_help = "Example:\n  kirikae sweep scan --account prod")]
    Sweep(Pending),
    /// Untagged resources, cost, Availability Zone risks, end-of-life versions (not yet available)
    #[command(after_help = "Example:\n  kirikae audit tags")]
    Audit(Pending),
    /// Check kirikae.toml
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// Arguments of a command that a later version provides.
#[derive(Debug, Args)]
pub struct Pending {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the config file and say what is wrong, with the key and line
    #[command(
        after_help = "Example:\n  kirikae config check --config examples/story/kirikae.toml"
    )]
    Check,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Switch role into every account (in parallel) and report who we are there
    #[command(after_help = "Example:\n  kirikae accounts check --output json\n\n\
        Exits 1 when any account cannot be reached, with the reason.")]
    Check {
        /// How many accounts at once
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
    },
    /// Write switch-role profiles for every account into an AWS config file
    #[command(
        after_help = "Example:\n  kirikae accounts profiles --file ~/.aws/config --prefix acme-\n\n\
        Only the profiles and keys kirikae writes change; the file is backed up first."
    )]
    Profiles {
        /// The AWS config file [default: $AWS_CONFIG_FILE, else ~/.aws/config]
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
        /// Put this before every profile name (profile names are the account names)
        #[arg(long, default_value = "")]
        prefix: String,
        /// Show what would change, write nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the console's switch-role link for an account
    #[command(after_help = "Example:\n  kirikae accounts console prod")]
    Console {
        /// Account name, alias or id
        account: String,
    },
    /// Run a command with an account's temporary credentials in its environment
    #[command(
        after_help = "Example:\n  kirikae accounts exec dev -- aws sts get-caller-identity\n\n\
        Sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (and \
        AWS_ENDPOINT_URL when configured); exits with the command's exit code."
    )]
    Exec {
        /// Account name, alias or id
        account: String,
        /// The command and its arguments (after --)
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
}
