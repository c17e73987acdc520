//! The command line.
//!
//! Each subcommand takes only the options that apply to it. The options several commands share
//! (`--config`, `--output`, `--mfa-code`) are defined once, here, and a subcommand names the ones
//! it takes with `#[command(args = takes(...))]` (see [`SharedOption`]); its `--help`, its
//! completions and its man page then list exactly those. `--config`, `--output` and `--mfa-code`
//! may also come before the subcommand (`kirikae --config f.toml accounts check`): [`parse`]
//! checks them against the subcommand as if they came after it, so a shared option a command
//! does not take is clap's error (exit 2) wherever it is written.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::error::ErrorKind;
use clap::{
    Arg, ArgMatches, Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum,
};

const EXAMPLES: &str = "\
Examples:
  kirikae config check
  kirikae accounts check --config examples/story/kirikae.toml
  kirikae accounts profiles --file ~/.aws/config
  kirikae accounts console prod
  kirikae accounts exec dev -- aws s3 ls
  kirikae mask check --url mysql://root@127.0.0.1/shop --rules shop.toml
  kirikae refresh plan staging
  kirikae completions bash > ~/.local/share/bash-completion/completions/kirikae

The config is --config <file>, else $KIRIKAE_CONFIG, else ./kirikae.toml.
--config, --output and --mfa-code go before or after the subcommand, for the commands that take
them (each command's --help lists its options).
Exit codes: 0 ok; 1 the work failed or found problems; 2 bad arguments or config, or a missing or
wrong --confirm (nothing ran); 141 standard output was closed early (`| head`), no message.
With --output json, an error is one JSON object on standard output:
  {\"error\": {\"kind\": \"bad_input\" | \"not_confirmed\" | \"failed\", \"exit_code\": 2, \"message\": \"...\"}}";

#[derive(Debug, Parser)]
#[command(
    name = "kirikae",
    version,
    about = "Run a multi-account AWS estate from a jump account: switch role, refresh staging \
             from production with masked data, sweep leftovers, audit.",
    after_help = EXAMPLES,
    args = before_subcommand()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log on stderr: -v every AWS request (service, operation, account, region, duration,
    /// attempts, throttles), -vv also every database statement's kind and duration.
    /// RUST_LOG, when set, decides instead
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// An option that several commands share, defined once. A subcommand declares the ones it takes:
///
/// ```ignore
/// /// Compare every account with the config
/// #[command(args = takes(USES_AWS))]
/// Drift { ... },
/// ```
///
/// and reads their values from [`Shared`] (`commands::run` passes it to every command). The
/// usual sets are [`READS_CONFIG`], [`USES_AWS`] and [`OUTPUT_ONLY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedOption {
    /// `--config FILE`: the command reads kirikae.toml.
    Config,
    /// `--output table|json`: the command prints a result a script may want as JSON.
    Output,
    /// `--output table|json|csv|html`: `sweep show`, the plan for review.
    ReviewOutput,
    /// `--output table|json|csv`: `audit`, one row per finding.
    FindingsOutput,
    /// `--mfa-code CODE`: the command obtains credentials through the jump account.
    MfaCode,
}

/// Reads kirikae.toml and prints a table or JSON (no AWS credentials).
pub const READS_CONFIG: &[SharedOption] = &[SharedOption::Config, SharedOption::Output];
/// Reads kirikae.toml, obtains credentials through the jump account, prints a table or JSON.
pub const USES_AWS: &[SharedOption] = &[
    SharedOption::Config,
    SharedOption::Output,
    SharedOption::MfaCode,
];
/// `audit`: reads kirikae.toml, obtains credentials, prints a table, JSON or CSV.
pub const AUDITS: &[SharedOption] = &[
    SharedOption::Config,
    SharedOption::FindingsOutput,
    SharedOption::MfaCode,
];
/// Prints a table or JSON and reads nothing else shared (the `mask` commands: their database is
/// `--url`, not kirikae.toml).
pub const OUTPUT_ONLY: &[SharedOption] = &[SharedOption::Output];

/// Argument ids of the shared options: the same in every command and before the subcommand.
const CONFIG: &str = "config";
const OUTPUT: &str = "output";
const MFA_CODE: &str = "mfa_code";

const CONFIG_HELP: &str = "The config file [default: $KIRIKAE_CONFIG, else ./kirikae.toml]";
const MFA_CODE_HELP: &str =
    "The current code of the jump account's MFA device (else [jump] mfa_command, else a prompt)";

/// The arguments of the shared options a command takes, for `#[command(args = ...)]`.
pub fn takes(options: &[SharedOption]) -> Vec<Arg> {
    options
        .iter()
        .map(|o| match o {
            SharedOption::Config => config_arg().help(CONFIG_HELP),
            SharedOption::Output => output_arg(&[OutputFormat::Human, OutputFormat::Json])
                .help("Tables and sentences for people, or JSON for scripts [default: table]"),
            SharedOption::ReviewOutput => output_arg(OutputFormat::value_variants())
                .help("How to render the plan [default: table]"),
            SharedOption::FindingsOutput => {
                output_arg(&[OutputFormat::Human, OutputFormat::Json, OutputFormat::Csv])
                    .help("Tables for people, JSON or CSV (one row per finding) [default: table]")
            }
            SharedOption::MfaCode => mfa_code_arg().help(MFA_CODE_HELP),
        })
        .collect()
}

fn config_arg() -> Arg {
    Arg::new(CONFIG)
        .long("config")
        .value_name("FILE")
        .value_parser(clap::value_parser!(PathBuf))
}

/// `--output` offering exactly `formats` (their names and help in `--help` and completions).
fn output_arg(formats: &[OutputFormat]) -> Arg {
    let parser = PossibleValuesParser::new(formats.iter().filter_map(ValueEnum::to_possible_value))
        .try_map(|name| OutputFormat::from_str(&name, false));
    Arg::new(OUTPUT)
        .long("output")
        .value_name("FORMAT")
        .value_parser(parser)
}

fn mfa_code_arg() -> Arg {
    Arg::new(MFA_CODE).long("mfa-code").value_name("CODE")
}

/// The shared options as written before the subcommand: every format is accepted here, and
/// [`parse`] then holds them to what the subcommand takes.
fn before_subcommand() -> Vec<Arg> {
    vec![
        config_arg().help(format!(
            "{CONFIG_HELP}; for the commands that read it, also after the subcommand"
        )),
        output_arg(OutputFormat::value_variants()).help(
            "table or json (csv: `sweep show` and `audit`; html: `sweep show`); for the commands \
             that print a result, also after the subcommand",
        ),
        mfa_code_arg().help(format!(
            "{MFA_CODE_HELP}; for the commands that reach AWS, also after the subcommand"
        )),
    ]
}

/// How to print a result. Each command offers the formats it can render (see [`SharedOption`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// Tables and sentences for people
    #[default]
    #[value(name = "table", alias = "human")]
    Human,
    /// One JSON document for scripts
    Json,
    /// One row per resource or finding
    Csv,
    /// One self-contained page for review
    Html,
}

/// The values of the shared options for the command that runs: given after the subcommand, else
/// before it, else their defaults. A command reads only those it declared.
#[derive(Debug, Clone, Default)]
pub struct Shared {
    pub config: Option<PathBuf>,
    pub output: OutputFormat,
    pub mfa_code: Option<String>,
}

/// The command to run with its shared options.
#[derive(Debug)]
pub struct Invocation {
    pub command: Command,
    pub shared: Shared,
    /// `-v` given this many times (before or after the subcommand).
    pub verbose: u8,
}

/// Parses the command line (`args` starts with the program name). Errors are clap's: printed
/// with `Error::exit` they exit 2 (or 0 for `--help` and `--version`).
pub fn parse<I, T>(args: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut cli = Cli::command();
    let matches = cli.try_get_matches_from_mut(args)?;
    let Cli {
        command, verbose, ..
    } = Cli::from_arg_matches(&matches)?;
    // The subcommand that runs, and what was written after it.
    let mut leaf = &mut cli;
    let mut leaf_matches = &matches;
    while let Some((name, sub)) = leaf_matches.subcommand() {
        leaf = leaf
            .find_subcommand_mut(name)
            .expect("clap matched this subcommand");
        leaf_matches = sub;
    }
    let shared = Shared {
        config: pick(&matches, leaf, leaf_matches, CONFIG)?,
        output: pick(&matches, leaf, leaf_matches, OUTPUT)?.unwrap_or_default(),
        mfa_code: pick(&matches, leaf, leaf_matches, MFA_CODE)?,
    };
    Ok(Invocation {
        command,
        shared,
        verbose,
    })
}

/// One shared option's value: after the subcommand if given there, else the value given before
/// it, parsed by the subcommand's own definition of the option (so `kirikae --output html
/// accounts check` is refused as `accounts check --output html` is). An option the subcommand
/// does not take is refused, naming it.
fn pick<T: Clone + Send + Sync + 'static>(
    top: &ArgMatches,
    leaf: &mut clap::Command,
    leaf_matches: &ArgMatches,
    id: &str,
) -> Result<Option<T>, clap::Error> {
    // Err: the subcommand does not define it (then nothing was given after it either).
    if let Ok(Some(v)) = leaf_matches.try_get_one::<T>(id) {
        return Ok(Some(v.clone()));
    }
    let Some(raw) = top.get_raw(id) else {
        return Ok(None);
    };
    let raw: Vec<OsString> = raw.map(OsString::from).collect();
    let bin = leaf
        .get_bin_name()
        .unwrap_or_else(|| leaf.get_name())
        .to_string();
    let Some(arg) = leaf.get_arguments().find(|a| a.get_id() == id).cloned() else {
        let long = before_subcommand()
            .into_iter()
            .find(|a| a.get_id() == id)
            .and_then(|a| a.get_long().map(str::to_string))
            .unwrap_or_else(|| id.to_string());
        return Err(leaf.error(
            ErrorKind::UnknownArgument,
            format!("unexpected argument '--{long}' found: `{bin}` does not take it (see `{bin} --help`)"),
        ));
    };
    let long = format!("--{}", arg.get_long().unwrap_or(id));
    let matches = clap::Command::new("kirikae")
        .bin_name(bin)
        .no_binary_name(true)
        .disable_version_flag(true)
        .arg(arg)
        .try_get_matches_from(std::iter::once(OsString::from(long)).chain(raw))?;
    Ok(matches.get_one::<T>(id).cloned())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Reach every account through the jump account: check, profiles, console links, exec
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Rebuild staging from production with secret data masked: plan, run, resume, status, list
    #[command(subcommand)]
    Refresh(RefreshCommand),
    /// Mask personal data in a MySQL/MariaDB or PostgreSQL database: init, check, run, verify
    #[command(subcommand)]
    Mask(MaskCommand),
    /// Find, mark, review and delete leftover resources: scan, mark, show, apply
    #[command(subcommand)]
    Sweep(SweepCommand),
    /// Findings per account and region: Availability Zone risks, tags, cost (runtimes and
    /// quotas come later)
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check kirikae.toml
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell's completion script for kirikae
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell
        shell: CompletionShell,
    },
    /// Write a man page for kirikae and one for each of its subcommands
    #[command(
        after_help = "Example:\n  kirikae man --out ~/.local/share/man/man1 && man kirikae-sweep-apply\n\n\
        Files: kirikae.1, kirikae-<command>.1, kirikae-<command>-<subcommand>.1."
    )]
    Man {
        /// The directory to write them into (made if missing)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

const COMPLETIONS_HELP: &str = "\
Examples:
  kirikae completions bash > ~/.local/share/bash-completion/completions/kirikae
  kirikae completions zsh > \"${fpath[1]}/_kirikae\"
  kirikae completions fish > ~/.config/fish/completions/kirikae.fish

Completes subcommands, options and their values (--output formats, --path, shells).";

/// The shells `kirikae completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

const AUDIT_HELP: &str = "\
Examples:
  kirikae audit az
  kirikae audit tags --account prod --region ap-northeast-1 --region us-east-1
  kirikae audit all --output csv > findings.csv
  kirikae audit all --fail-on medium --output json
  kirikae audit cost --months 3
  kirikae audit report --out audit-page

Every account of kirikae.toml (or --account) in its region (or each --region), in parallel.
A finding's severity is as listed in a protected account and one step lower in the others.
--output table | json | csv. Exit 0: no finding at or above --fail-on; 1: one or more (or an
account or region could not be audited); 2: bad arguments or config.";

/// `kirikae audit <part>`: the parts, each with the same options.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Availability Zone risks: NAT routes across AZs, Aurora, RDS, Auto Scaling, load
    /// balancers and ElastiCache in one AZ; each account's AZ name to id mapping
    #[command(after_help = AUDIT_HELP, args = takes(AUDITS))]
    Az(AuditArgs),
    /// Resources missing [audit] required_tags, values contradicting [accounts.<name>] tags,
    /// keys spelt another way (Env / env / Environment)
    #[command(after_help = AUDIT_HELP, args = takes(AUDITS))]
    Tags(AuditArgs),
    /// Lambda runtimes, RDS/Aurora and ElastiCache engine versions past or near their end of
    /// support (with the Extended Support charge), EC2 instances on an old AMI or an ended OS
    #[command(after_help = AUDIT_RUNTIMES_HELP, args = takes(AUDITS))]
    Runtimes(RuntimesArgs),
    /// Service Quotas of every account side by side (applied and default), usage at 80 % and
    /// 100 %, quotas lower than in another account, headroom for kirikae's refresh
    #[command(after_help = AUDIT_HELP, args = takes(AUDITS))]
    Quotas(AuditArgs),
    /// Cost Explorer by month, account and service over --months closed months and the month
    /// to date, by [audit] cost_tag with the untagged share; jumps and Extended Support billed.
    /// Asked from [audit] cost_account (the payer) or every account for itself; closed months
    /// are cached in the state directory and every billed request is counted
    #[command(after_help = AUDIT_HELP, args = takes(AUDITS))]
    Cost(AuditArgs),
    /// Every part (runtimes judged as --as-of and --lifecycle say)
    #[command(after_help = AUDIT_HELP, args = takes(AUDITS))]
    All(RuntimesArgs),
    /// Every part as one self-contained HTML page (no network): the accounts side by side,
    /// their findings by part, a cost chart per account; the findings are printed as for `all`.
    /// With --as-of, the runtimes part of the page is the same whenever it is made
    #[command(after_help = AUDIT_HELP, args = takes(AUDITS))]
    Report(AuditReportArgs),
}

/// `kirikae audit report`.
#[derive(Debug, Args, Clone)]
pub struct AuditReportArgs {
    /// The page to write (HTML; replaced if it exists)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub runtimes: RuntimesArgs,
}

/// The options of every `audit` part.
#[derive(Debug, Args, Clone)]
pub struct AuditArgs {
    /// Only this account (name, alias or id; repeatable) [default: every account]
    #[arg(long = "account", value_name = "ACCOUNT")]
    pub accounts: Vec<String>,
    /// Audit these regions (repeatable) [default: the account's region, else [aws] region]
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Exit 1 when a finding is at or above this severity
    #[arg(long, value_enum, default_value_t = FailOn::High)]
    pub fail_on: FailOn,
    /// Account × region pairs audited at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// cost: closed months before the current one (Cost Explorer keeps 13 months in all)
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(1..=12))]
    pub months: u8,
}

const AUDIT_RUNTIMES_HELP: &str = "\
Examples:
  kirikae audit runtimes
  kirikae audit runtimes --as-of 2026-09-01 --output json
  kirikae audit runtimes --lifecycle lifecycle.json

Versions are judged against the lifecycle table built into kirikae (endoflife.date's data and a
reviewed overlay, with a source per row; `kirikae audit runtimes --output json` shows its date),
or --lifecycle FILE (written by scripts/lifecycle/generate); RDS's own
DescribeDBMajorEngineVersions wins where it answers. A table more than 90 days older than the
day judged says so. Exit 0: no finding at or above --fail-on; 1: one or more (or an account or
region could not be audited); 2: bad arguments, config or table.";

/// `audit runtimes`, `all` and `report`: the options of every part, and the table and day the
/// runtimes part judges by.
#[derive(Debug, Args, Clone)]
pub struct RuntimesArgs {
    #[command(flatten)]
    pub audit: AuditArgs,
    /// Judge as on this day (YYYY-MM-DD), for a reproducible report [default: today, UTC]
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Use this lifecycle table instead of the one built in (the JSON scripts/lifecycle/generate
    /// writes)
    #[arg(long, value_name = "FILE")]
    pub lifecycle: Option<std::path::PathBuf>,
}

/// `audit --fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

/// Where the database is, for every `mask` command.
#[derive(Debug, Args, Clone)]
pub struct MaskDb {
    /// mysql://user@host:3306/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=ca.pem or
    /// postgres://user@host:5432/db?sslmode=verify-full&sslrootcert=ca.pem. TLS modes:
    /// ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY (MySQL, MariaDB),
    /// sslmode=disable|prefer|require|verify-ca|verify-full (PostgreSQL); default: prefer. Give
    /// the password with --password-file or $KIRIKAE_DB_PASSWORD rather than in the URL (a URL
    /// password still works, but shows in the process list and shell history)
    #[arg(
        long,
        env = "KIRIKAE_MASK_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub url: String,
    /// A file whose first line is the database password [default: $KIRIKAE_DB_PASSWORD]. Order:
    /// --password-file, else a password in the URL, else $KIRIKAE_DB_PASSWORD
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// The rules file and the state of runs.
#[derive(Debug, Args, Clone)]
pub struct MaskRules {
    /// The masking rules (TOML; `kirikae mask init` writes a starter file)
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,
    /// Journal, fingerprints and reports [default: .kirikae-mask/<database>/ next to the rules]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

const MASK_RUN_HELP: &str = "\
Examples:
  KIRIKAE_MASK_KEY=$(cat ~/.kirikae/mask.key) \\
    kirikae mask run --url mysql://root@127.0.0.1/shop --rules shop.toml
  kirikae mask run --url postgres://postgres@127.0.0.1/shop --rules shop.toml --resume

The key: --key-file, else $KIRIKAE_MASK_KEY, never the rules file. Without one, a random key is
used and results are not reproducible (the same value masks differently in another run).
Each table: rules checked first (fail closed), fingerprints of the originals taken for verify,
rows copied masked into a new table by key ranges (each chunk commits with its progress), then
swapped in keeping indexes, foreign keys, triggers, grants and auto-increment values.
After a crash or a lost connection, --resume continues where the database says it stopped.
One run per database at a time: a second `run` or `run --resume` is refused (exit 2), naming the
run that holds the database's lock.";

#[derive(Debug, Subcommand)]
pub enum MaskCommand {
    /// Write a starter rules file: every column classified from its name, type and values
    #[command(
        after_help = "Examples:\n  kirikae mask init --url mysql://root@127.0.0.1/shop --out shop.toml\n  \
        kirikae mask init --url postgres://postgres@127.0.0.1/shop > shop.toml\n  \
        kirikae mask init --url mysql://root@127.0.0.1/shop --update shop.toml\n\n\
        Columns nothing was detected in are \"keep\" with a `# review` marker. The file passes \
        `kirikae mask check`."
    )]
    #[command(args = takes(OUTPUT_ONLY))]
    Init {
        #[command(flatten)]
        db: MaskDb,
        /// Write here instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Overwrite --out if it exists
        #[arg(long)]
        force: bool,
        /// Rows sampled per table to classify columns by their values
        #[arg(long, default_value_t = 200)]
        sample_rows: usize,
        /// Add a suggested rule (marked `# review`) for each column and table this existing
        /// rules file lacks, in place; its other lines are left as they are
        #[arg(long, value_name = "RULES", conflicts_with_all = ["out", "force"])]
        update: Option<PathBuf>,
    },
    /// Compare the rules with the live schema and list every problem (exit 1 if any)
    #[command(
        after_help = "Example:\n  kirikae mask check --url mysql://root@127.0.0.1/shop --rules shop.toml\n\n\
        Problems: a table or column without a rule, a rule for something that does not exist, a \
        transform that does not fit the column type, a rule that would break a unique index or a \
        foreign key, a table without a primary key and without `key` in the rules."
    )]
    #[command(args = takes(OUTPUT_ONLY))]
    Check {
        #[command(flatten)]
        db: MaskDb,
        /// The masking rules
        #[arg(long, value_name = "FILE")]
        rules: PathBuf,
    },
    /// Mask the database in place (checks the rules first; resumable)
    #[command(after_help = MASK_RUN_HELP)]
    #[command(args = takes(OUTPUT_ONLY))]
    Run {
        #[command(flatten)]
        db: MaskDb,
        #[command(flatten)]
        rules: MaskRules,
        /// A file holding the secret key [default: $KIRIKAE_MASK_KEY]
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
        /// Continue an interrupted run (same rules and key)
        #[arg(long)]
        resume: bool,
        /// Rows per chunk; each chunk commits on its own
        #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
        chunk_rows: u64,
        /// Tables masked at once (one connection each)
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=32))]
        jobs: u16,
        /// Connections per table: the server-side paths (rebuild, update) cut the table's key
        /// range into this many slices, each copied on its own connection; the load path on
        /// MySQL/MariaDB loads this many chunks at once, each on its own connection, committed
        /// in key order
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=32))]
        parallel: u16,
        /// Which path masks the tables: auto (the fastest for each table), sql (server-side
        /// rebuild where every rule has a SQL form), rust (mask in Rust and bulk-load), update
        /// (key-chunked UPDATEs in place where the table allows it)
        #[arg(long, value_enum, default_value_t = MaskPath::Auto)]
        path: MaskPath,
    },
    /// Prove the result of the last run and write a JSON report (exit 1 on any finding)
    #[command(
        after_help = "Example:\n  KIRIKAE_MASK_KEY=$(cat ~/.kirikae/mask.key) \\\n    kirikae mask verify --url mysql://root@127.0.0.1/shop --rules shop.toml\n\n\
        Checks: no original value of a masked column survives (keyed fingerprints taken by `run`), \
        row counts unchanged, unique indexes and foreign keys hold, kept text/JSON columns hold no \
        emails, phone or card numbers, tables masked in place were rewritten (no old row version \
        left in their files). Needs the run's masking key (--key-file or \
        $KIRIKAE_MASK_KEY; a run without a key saved its random one in the state directory)."
    )]
    #[command(args = takes(OUTPUT_ONLY))]
    Verify {
        #[command(flatten)]
        db: MaskDb,
        #[command(flatten)]
        rules: MaskRules,
        /// The run's masking key (required: the fingerprints of the originals are keyed with a
        /// key derived from it) [default: $KIRIKAE_MASK_KEY, else the random key a run without
        /// one saved]
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
        /// Where to write the JSON report [default: in the state directory]
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
}

const REFRESH_RUN_HELP: &str = "\
Examples:
  KIRIKAE_MASK_KEY=$(cat ~/.kirikae/mask.key) kirikae refresh run staging
  kirikae refresh run staging --keep-on-failure --output json

Steps: preflight; clone (when the target account's clone slot is free) or snapshot (re-encrypted
with refresh.<name>.source.kms_key when the source uses the default aws/rds key), share, restore
with the target settings; writer instance; new master password in Secrets Manager; mask; verify;
switch-over (rename, checked, rolled back if the new cluster does not answer); retire old
clusters beyond keep_retired; delete temporary snapshots and shares.
The serving cluster is not touched before the switch-over. On failure, what the run created is
removed unless --keep-on-failure. After a crash: `kirikae refresh resume <run id>`.
One process drives a refresh at a time: a second `run` or `resume` of the same refresh is refused,
naming the run, host, pid and start of the one that drives it (docs/refresh.md, \"One run at a
time\").";

#[derive(Debug, Subcommand)]
pub enum RefreshCommand {
    /// Run every preflight check, change nothing; show the copy path (and why), steps, estimate
    #[command(
        after_help = "Example:\n  kirikae refresh plan staging\n\nExits 1 when a check fails, with the fix."
    )]
    #[command(args = takes(USES_AWS))]
    Plan {
        /// The refresh: a [refresh.<name>] of the config
        name: String,
    },
    /// Refresh: copy production, mask, verify, switch over, retire the old cluster
    #[command(after_help = REFRESH_RUN_HELP)]
    #[command(args = takes(USES_AWS))]
    Run {
        /// The refresh: a [refresh.<name>] of the config
        name: String,
        /// Leave what a failed run created, for inspection and `resume`
        #[arg(long)]
        keep_on_failure: bool,
        /// The alias of a protected target account: the refresh replaces its cluster
        #[arg(long, value_name = "ALIAS")]
        confirm: Option<String>,
        /// Replace the run marker (tag kirikae:refresh-lock:<name> on the source cluster) of a
        /// process on another machine that you know is gone
        #[arg(long)]
        take_over_lock: bool,
    },
    /// Continue a run after a crash, or retry one kept with --keep-on-failure
    #[command(after_help = "Example:\n  kirikae refresh resume 20261125-040012-3f2a")]
    #[command(args = takes(USES_AWS))]
    Resume {
        /// The run id (`kirikae refresh list` shows them)
        run_id: String,
        /// Leave what it created if it fails again
        #[arg(long)]
        keep_on_failure: bool,
        /// The alias of a protected target account: the refresh replaces its cluster
        #[arg(long, value_name = "ALIAS")]
        confirm: Option<String>,
        /// Replace the run marker (tag kirikae:refresh-lock:<name> on the source cluster) of a
        /// process on another machine that you know is gone
        #[arg(long)]
        take_over_lock: bool,
    },
    /// Where a run is: steps done with their times, what it created and what is left
    #[command(after_help = "Example:\n  kirikae refresh status 20261125-040012-3f2a")]
    #[command(args = takes(READS_CONFIG))]
    Status {
        /// The run id (`kirikae refresh list` shows them)
        run_id: String,
    },
    /// Every run recorded in the state directory
    #[command(after_help = "Example:\n  kirikae refresh list --output json")]
    #[command(args = takes(READS_CONFIG))]
    List,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the config file and say what is wrong, with the key and line
    #[command(
        after_help = "Example:\n  kirikae config check --config examples/story/kirikae.toml"
    )]
    #[command(args = takes(READS_CONFIG))]
    Check,
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Switch role into every account (in parallel) and report who we are there
    #[command(after_help = "Example:\n  kirikae accounts check --output json\n\n\
        Exits 1 when any account cannot be reached, with the reason.")]
    #[command(args = takes(USES_AWS))]
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
    #[command(args = takes(READS_CONFIG))]
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
    #[command(args = takes(READS_CONFIG))]
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
    #[command(args = takes(USES_AWS))]
    Exec {
        /// Account name, alias or id
        account: String,
        /// The command and its arguments (after --)
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Write the switch-role structure of [bootstrap] as CloudFormation or Terraform
    #[command(
        after_help = "Example:\n  kirikae accounts bootstrap --format cloudformation --out iam/\n\n\
        Writes one template (or Terraform module) per account kind: jump, member, \
        member-protected; deploy them with your own tools (docs/accounts.md)."
    )]
    #[command(args = takes(READS_CONFIG))]
    Bootstrap(BootstrapArgs),
    /// Compare live IAM in every account (read only) with what bootstrap writes
    #[command(after_help = "Example:\n  kirikae accounts drift --output json\n\n\
        Reads the roles of [bootstrap] in every account (in parallel) and the jump account's \
        groups with iam:Get*/List* only; exits 1 when anything differs, with the fix.")]
    #[command(args = takes(USES_AWS))]
    Drift(DriftArgs),
}

/// `accounts drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// How many accounts at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

/// `accounts bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// The kind of code to write
    #[arg(long, value_enum)]
    pub format: BootstrapFormat,
    /// The folder to write into (made if missing; files of the same names are replaced)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BootstrapFormat {
    /// JSON templates, ready for StackSets
    Cloudformation,
    /// Modules using the aws_iam_*_exclusive resources
    Terraform,
}

/// `mask run --path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MaskPath {
    Auto,
    Sql,
    Rust,
    Update,
}

const SWEEP_SCAN_HELP: &str = "\
Examples:
  kirikae sweep scan --account prod --tag owner=old-monolith
  kirikae sweep scan --account prod --type ec2:volume --state unattached --older-than 90d
  kirikae sweep scan --account prod --name 'old-*' --type ec2 --type s3 --out old.json

Selectors narrow each other: every --tag must match; with several --state values one is enough.
Types: ec2:instance ec2:volume ec2:snapshot ec2:image ec2:launch-template ec2:elastic-ip
ec2:network-interface ec2:security-group ec2:key-pair ec2:nat-gateway ec2:internet-gateway
ec2:route-table ec2:subnet ec2:vpc elbv2:load-balancer elbv2:target-group s3:bucket
logs:log-group dynamodb:table sqs:queue sns:topic iam:role rds:db-instance rds:cluster
rds:cluster-snapshot rds:db-snapshot rds:subnet-group rds:parameter-group
rds:cluster-parameter-group secretsmanager:secret kms:key lambda:function cloudwatch:alarm
ecr:repository autoscaling:group elasticache:cluster (or a service: ec2, s3, rds, ...).
Resources of other types found by --tag are listed in the plan and never deleted, unless
--cloud-control reads them (then they are plan items deleted through AWS Cloud Control; IAM and
network types after the rest): an ARN shape of kirikae's generated type table, read back and found to be the
tagged resource, not managed by a CloudFormation stack; data-bearing types only when named with
--cloud-control-data.
The plan is written to --out, else <state dir>/sweep/<plan id>.json.";

const SWEEP_APPLY_HELP: &str = "\
Examples:
  kirikae sweep apply sweep-20261125-041200-ab12            # dry run: what would go, in order
  kirikae sweep apply plan.json --yes --confirm shop-prod    # a protected account

The plan must be as scan wrote it (its keyed digest is checked: a plan edited by hand is
refused), and the account's protection and alias come from kirikae.toml and IAM, never from the
plan. Each item is checked again first (exists, unchanged, still tagged by `mark`, same
account); a changed item is skipped and reported. Deletion follows the dependency graph. Every
action is appended to <plan>.audit.jsonl; run apply again after an interruption to resume.
Exit 0: everything in the plan is gone; 1: something was skipped or failed (see the report);
2: refused before anything was deleted (bad input, a changed plan, a disagreement with
kirikae.toml or the live account, a missing or wrong --confirm).";

/// `--concurrency` of the sweep: each service's limiter holds this many permits (an unbounded
/// number made the semaphore panic).
fn concurrency_range() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256)
}

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Find candidates in one account and write a plan file (JSON)
    #[command(after_help = SWEEP_SCAN_HELP)]
    #[command(args = takes(USES_AWS))]
    Scan {
        /// The account (name in kirikae.toml, alias or id)
        #[arg(long)]
        account: String,
        /// Regions to scan [default: the account's region, else [aws] region]
        #[arg(long = "region", value_name = "REGION")]
        regions: Vec<String>,
        /// KEY=VALUE or KEY: a tag every candidate carries (repeatable)
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
        /// Only these types or services (repeatable)
        #[arg(long = "type", value_name = "TYPE")]
        types: Vec<String>,
        /// A glob (`*`, `?`) over the name or id (repeatable; one must match)
        #[arg(long = "name", value_name = "PATTERN")]
        names: Vec<String>,
        /// Created longer ago than this: 90d, 12h, 2w, 30m (at most 36500d)
        #[arg(long, value_name = "AGE")]
        older_than: Option<String>,
        /// unattached | stopped | orphan | unused | empty (repeatable; one must match)
        #[arg(long = "state", value_name = "STATE")]
        states: Vec<String>,
        /// Where to write the plan
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// AWS calls at once per service (1 to 256)
        #[arg(long, default_value_t = 8, value_parser = concurrency_range())]
        concurrency: usize,
        /// Read tagged resources of types kirikae has no file for with AWS Cloud Control and
        /// plan those its type table maps and that read back as the tagged resource; apply
        /// deletes them through Cloud Control
        #[arg(long)]
        cloud_control: bool,
        /// With --cloud-control: also plan this data-bearing type (e.g. AWS::DynamoDB::Table),
        /// which Cloud Control deletes without a final snapshot (repeatable)
        #[arg(long = "cloud-control-data", value_name = "TYPE")]
        cloud_control_data: Vec<String>,
    },
    /// Tag every item with <[sweep] tag>=<plan id> and create a Resource Group named after the plan
    #[command(after_help = "Example:\n  kirikae sweep mark sweep-20261125-041200-ab12")]
    #[command(args = takes(USES_AWS))]
    Mark {
        /// The plan file, or a plan id in the state directory
        plan: String,
    },
    /// The plan for review: --output table | json | csv | html
    #[command(
        after_help = "Examples:\n  kirikae sweep show sweep-20261125-041200-ab12\n  \
        kirikae sweep show plan.json --output html --out review.html"
    )]
    #[command(args = takes(&[SharedOption::Config, SharedOption::ReviewOutput]))]
    Show {
        /// The plan file, or a plan id in the state directory
        plan: String,
        /// Write the rendering here instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Delete exactly the plan's items (a dry run unless --yes)
    #[command(after_help = SWEEP_APPLY_HELP)]
    #[command(args = takes(USES_AWS))]
    Apply {
        /// The plan file, or a plan id in the state directory
        plan: String,
        /// Really delete
        #[arg(long)]
        yes: bool,
        /// The account's alias, required in a protected account (checked against IAM)
        #[arg(long, value_name = "ALIAS")]
        confirm: Option<String>,
        /// Turn deletion/termination protection off where it is on (logged per item)
        #[arg(long)]
        disable_protection: bool,
        /// Databases (RDS DB instances outside a cluster, Aurora clusters): no final snapshot
        #[arg(long)]
        skip_final_snapshot: bool,
        /// Secrets Manager secrets and KMS keys: days they stay restorable (7 to 30)
        #[arg(long, value_name = "DAYS", default_value_t = 7,
              value_parser = clap::value_parser!(i32).range(7..=30))]
        recovery_window: i32,
        /// Secrets Manager secrets: delete at once, without a recovery window
        #[arg(long)]
        force_delete_secrets: bool,
        /// AWS calls at once per service (1 to 256)
        #[arg(long, default_value_t = 8, value_parser = concurrency_range())]
        concurrency: usize,
        /// Seconds to wait for an asynchronous deletion (instances, NAT gateways) to finish
        #[arg(long, default_value_t = 900)]
        confirm_timeout: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn shared_options_before_the_subcommand_are_the_subcommands_own() {
        let p = parse([
            "kirikae",
            "--config",
            "a.toml",
            "--output",
            "json",
            "--mfa-code",
            "123456",
            "accounts",
            "check",
        ])
        .unwrap();
        assert_eq!(p.shared.config, Some(PathBuf::from("a.toml")));
        assert_eq!(p.shared.output, OutputFormat::Json);
        assert_eq!(p.shared.mfa_code.as_deref(), Some("123456"));
        assert!(matches!(
            p.command,
            Command::Accounts(AccountsCommand::Check { concurrency: 8 })
        ));

        // After the subcommand wins; nothing given is the default; `human` is `table`.
        let p = parse([
            "kirikae", "--config", "a.toml", "config", "check", "--config", "b.toml",
        ])
        .unwrap();
        assert_eq!(p.shared.config, Some(PathBuf::from("b.toml")));
        assert_eq!(p.shared.output, OutputFormat::Human);
        let p = parse(["kirikae", "--output", "human", "refresh", "list"]).unwrap();
        assert_eq!(p.shared.output, OutputFormat::Human);
        let p = parse(["kirikae", "--output", "html", "sweep", "show", "p.json"]).unwrap();
        assert_eq!(p.shared.output, OutputFormat::Html);
    }

    #[test]
    fn a_shared_option_the_subcommand_does_not_take_is_a_parse_error() {
        let mask = [
            "mask",
            "check",
            "--url",
            "mysql://h/db",
            "--rules",
            "r.toml",
        ];
        for (before, kind) in [
            (["--config", "a.toml"], ErrorKind::UnknownArgument),
            (["--mfa-code", "123456"], ErrorKind::UnknownArgument),
            (["--output", "csv"], ErrorKind::InvalidValue),
        ] {
            let args = ["kirikae"].iter().chain(&before).chain(&mask);
            let e = parse(args).expect_err(before[0]);
            assert_eq!(e.kind(), kind, "{before:?}: {e}");
            assert!(e.to_string().contains(before[0]), "{before:?}: {e}");
        }
    }

    #[test]
    fn sweep_concurrency_is_bounded_instead_of_panicking_later() {
        // 18446744073709551615 made a service's semaphore panic before.
        for n in ["0", "257", "18446744073709551615", "18446744073709551616"] {
            let r =
                Cli::try_parse_from(["kirikae", "sweep", "apply", "p.json", "--concurrency", n]);
            let e = r.expect_err(n).to_string();
            assert!(
                e.contains(&format!("invalid value '{n}' for '--concurrency")),
                "{n}: {e}"
            );
        }
        let r = Cli::try_parse_from(["kirikae", "sweep", "scan", "--account", "a"]);
        assert!(r.is_ok());
    }

    #[test]
    fn the_scan_help_names_every_type() {
        let words: Vec<&str> = SWEEP_SCAN_HELP.split_whitespace().collect();
        for t in kirikae_sweep::registry() {
            assert!(words.contains(&t.name()), "{} missing", t.name());
        }
    }
}
