//! `kirikae accounts check | profiles | console | exec`

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use kirikae_aws::profiles::{self, Profile};
use kirikae_aws::{format_utc, Estate, EstateOptions};
use kirikae_config::Config;

use super::load_config;
use crate::cli::{AccountsCommand, BootstrapArgs, BootstrapFormat, OutputFormat, Shared};
use crate::render::{self, Table};
use crate::{Failure, Outcome};

pub async fn run(shared: &Shared, command: AccountsCommand) -> Outcome {
    let config = Arc::new(load_config(shared)?);
    match command {
        AccountsCommand::Check { concurrency } => check(shared, config, concurrency.into()).await,
        AccountsCommand::Profiles {
            file,
            prefix,
            dry_run,
        } => write_profiles(shared, &config, file, &prefix, dry_run),
        AccountsCommand::Console { account } => console(shared, &config, &account),
        AccountsCommand::Exec { account, command } => exec(shared, config, &account, command).await,
        AccountsCommand::Bootstrap(args) => bootstrap(shared, &config, args),
        AccountsCommand::Drift(args) => super::drift::run(shared, config, args).await,
    }
}

async fn estate(shared: &Shared, config: Arc<Config>) -> Result<Arc<Estate>, Failure> {
    let options = EstateOptions {
        mfa_code: shared.mfa_code.clone(),
    };
    Ok(Arc::new(Estate::connect(config, options).await?))
}

fn known_accounts(config: &Config) -> String {
    config
        .accounts
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

async fn check(shared: &Shared, config: Arc<Config>, concurrency: usize) -> Outcome {
    if config.accounts.is_empty() {
        return Err(Failure::BadInput(anyhow!(
            "{} has no [accounts.<name>] sections: nothing to check",
            config.path.display()
        )));
    }
    let estate = estate(shared, config).await?;
    let checks = estate.check_all(concurrency).await;
    let failed = checks.iter().filter(|c| c.error.is_some()).count();
    if shared.output == OutputFormat::Json {
        render::print_json(&serde_json::json!({
            "ok": failed == 0,
            "accounts": checks,
        }))?;
    } else {
        let mut table = Table::new(&["ACCOUNT", "ID", "ALIAS", "ASSUMED ROLE", "EXPIRES", "ERROR"]);
        for c in &checks {
            let alias = match (&c.alias, c.protected) {
                (Some(a), true) => format!("{a} (protected)"),
                (Some(a), false) => a.clone(),
                (None, true) => "(protected)".into(),
                (None, false) => String::new(),
            };
            table.row(vec![
                c.name.clone(),
                c.account_id.clone(),
                alias,
                c.assumed_arn.clone().unwrap_or_default(),
                c.expires.map(format_utc).unwrap_or_default(),
                // The short reason here, the whole message under the table.
                c.error_kind
                    .map(|k| render::red(&k.to_string()))
                    .or_else(|| c.error.as_ref().map(|_| render::red("error")))
                    .unwrap_or_default(),
            ]);
        }
        out!("{}", table.render())?;
        for c in checks.iter().filter(|c| c.error.is_some()) {
            outln!(
                "{}: {}",
                render::red(&format!("{} failed", c.name)),
                c.error.as_deref().unwrap_or_default()
            )?;
        }
        let ok = checks.len() - failed;
        let summary = format!("{ok} of {} accounts reachable", checks.len());
        outln!(
            "{}",
            if failed == 0 {
                render::green(&summary)
            } else {
                render::red(&summary)
            }
        )?;
    }
    Ok(ExitCode::from(if failed == 0 { 0 } else { 1 }))
}

fn default_aws_config_file() -> Result<PathBuf, Failure> {
    if let Some(p) = std::env::var_os("AWS_CONFIG_FILE").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME").ok_or_else(|| {
        Failure::BadInput(anyhow!(
            "HOME is not set: pass --file <path of the AWS config file>"
        ))
    })?;
    Ok(PathBuf::from(home).join(".aws").join("config"))
}

/// The profiles kirikae writes: one per account, switching role from the jump profile.
pub fn profiles_for(config: &Config, prefix: &str) -> Result<Vec<Profile>, Failure> {
    let source = config.jump.profile.clone().ok_or_else(|| {
        Failure::BadInput(anyhow!(
            "{}: [jump] profile is not set; switch-role profiles need it as their source_profile",
            config.path.display()
        ))
    })?;
    Ok(config
        .accounts
        .iter()
        .map(|(name, a)| {
            let mut keys = vec![
                ("role_arn".to_string(), a.role_arn()),
                ("source_profile".to_string(), source.clone()),
            ];
            if let Some(serial) = &config.jump.mfa_serial {
                keys.push(("mfa_serial".into(), serial.clone()));
            }
            if let Some(n) = &config.jump.session_name {
                keys.push(("role_session_name".into(), n.clone()));
            }
            let region = a
                .region
                .clone()
                .unwrap_or_else(|| config.aws.region.clone());
            keys.push(("region".into(), region));
            if let Some(url) = &config.aws.endpoint_url {
                keys.push(("endpoint_url".into(), url.clone()));
            }
            Profile {
                name: format!("{prefix}{name}"),
                keys,
            }
        })
        .collect())
}

fn write_profiles(
    shared: &Shared,
    config: &Config,
    file: Option<PathBuf>,
    prefix: &str,
    dry_run: bool,
) -> Outcome {
    if !prefix
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Failure::BadInput(anyhow!(
            "--prefix {prefix:?}: use letters, digits, '-' and '_' only"
        )));
    }
    let file = match file {
        Some(f) => f,
        None => default_aws_config_file()?,
    };
    let wanted = profiles_for(config, prefix)?;
    let outcome = if dry_run {
        let old = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(anyhow!(e)
                    .context(format!("reading {}", file.display()))
                    .into())
            }
        };
        let (_, added, updated, unchanged) = profiles::merge(&old, &wanted);
        profiles::ProfilesOutcome {
            file: file.clone(),
            added,
            updated,
            unchanged,
            backup: None,
        }
    } else {
        let stamp = format_utc(std::time::SystemTime::now()).replace([':', '-'], "");
        profiles::write(&file, &wanted, &stamp)
            .with_context(|| format!("writing {}", file.display()))?
    };
    if shared.output == OutputFormat::Json {
        render::print_json(&serde_json::json!({ "dry_run": dry_run, "outcome": outcome }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if dry_run { "would be " } else { "" };
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    outln!("{}:", file.display())?;
    outln!("  {verb}added:     {}", list(&outcome.added))?;
    outln!("  {verb}updated:   {}", list(&outcome.updated))?;
    outln!("  unchanged: {}", list(&outcome.unchanged))?;
    if let Some(b) = &outcome.backup {
        outln!("  backup of the previous file: {}", b.display())?;
    }
    if let (Some(creds), Some(profile)) = (&config.jump.credentials_file, &config.jump.profile) {
        outln!(
            "note: the source profile `{profile}` is in {}; the AWS CLI finds it with \
             AWS_SHARED_CREDENTIALS_FILE={}",
            creds.display(),
            creds.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn console(shared: &Shared, config: &Config, account: &str) -> Outcome {
    let (name, settings) = config.account(account).ok_or_else(|| {
        Failure::BadInput(anyhow!(
            "no account {account:?} in {} (known: {})",
            config.path.display(),
            known_accounts(config)
        ))
    })?;
    let display = settings.alias.clone().unwrap_or_else(|| name.to_string());
    let url = kirikae_aws::console::switch_role_url(settings, &display);
    if shared.output == OutputFormat::Json {
        render::print_json(&serde_json::json!({
            "account": name, "account_id": settings.id, "role": settings.role_name(), "url": url,
        }))?;
    } else {
        eprintln!(
            "switch role into {name} ({}, {}) as {}; open this while signed in to the jump account:",
            display,
            settings.id,
            settings.role_name()
        );
        outln!("{url}")?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn exec(
    shared: &Shared,
    config: Arc<Config>,
    account: &str,
    command: Vec<String>,
) -> Outcome {
    let (name, settings) = config
        .account(account)
        .map(|(n, a)| (n.to_string(), a.clone()))
        .ok_or_else(|| {
            Failure::BadInput(anyhow!(
                "no account {account:?} in {} (known: {})",
                config.path.display(),
                known_accounts(&config)
            ))
        })?;
    let region = settings
        .region
        .clone()
        .unwrap_or_else(|| config.aws.region.clone());
    let endpoint = config.aws.endpoint_url.clone();
    let estate = estate(shared, config).await?;
    let creds = estate.role(&name).await?.credentials().await?;
    let (program, args) = command
        .split_first()
        .ok_or_else(|| Failure::BadInput(anyhow!("no command given after --")))?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args)
        // A profile in the environment would win over these keys in most tools.
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_PROFILE")
        .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
        .env("AWS_REGION", &region)
        .env("AWS_DEFAULT_REGION", &region)
        .env("KIRIKAE_ACCOUNT", &name)
        .env("KIRIKAE_ACCOUNT_ID", settings.id.as_str());
    match creds.session_token() {
        Some(t) => cmd.env("AWS_SESSION_TOKEN", t),
        None => cmd.env_remove("AWS_SESSION_TOKEN"),
    };
    if let Some(exp) = creds.expiry() {
        cmd.env("AWS_CREDENTIAL_EXPIRATION", format_utc(exp));
    }
    if let Some(url) = endpoint {
        cmd.env("AWS_ENDPOINT_URL", url);
    }
    let status = match cmd.status() {
        Ok(s) => s,
        Err(e) => {
            // A shell's codes: 127 not found, 126 not runnable.
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            let message = format!("cannot run {program:?}: {e}");
            if shared.output == OutputFormat::Json {
                render::print_json_error("failed", code, &message);
            } else {
                eprintln!("kirikae: error: {message}");
            }
            return Ok(ExitCode::from(code));
        }
    };
    use std::os::unix::process::ExitStatusExt;
    let code = match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    };
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

/// `accounts bootstrap`: writes the code; reads nothing but the config, calls no AWS.
fn bootstrap(shared: &Shared, config: &Config, args: BootstrapArgs) -> Outcome {
    use kirikae_bootstrap::{Format, Structure};
    let structure = Structure::from_config(config).map_err(|e| match e {
        e if e.is_bad_input() => Failure::BadInput(anyhow!(e)),
        e => Failure::Failed(anyhow!(e)),
    })?;
    let format = match args.format {
        BootstrapFormat::Cloudformation => Format::CloudFormation,
        BootstrapFormat::Terraform => Format::Terraform,
    };
    let files = kirikae_bootstrap::render(&structure, format);
    let written = kirikae_bootstrap::write(&args.out, &files)?;
    if shared.output == OutputFormat::Json {
        render::print_json(&serde_json::json!({
            "files": written,
            "accounts": structure.accounts.iter().map(|(name, (id, protected))| serde_json::json!({
                "name": name,
                "id": id,
                "kind": if *protected { "member-protected" } else { "member" },
            })).collect::<Vec<_>>(),
            "jump_account": structure.jump_account_id,
        }))?;
    } else {
        for path in &written {
            outln!("wrote {}", path.display())?;
        }
        let mut table = Table::new(&["ACCOUNT", "ID", "TEMPLATE"]);
        table.row(vec![
            "(jump)".into(),
            structure.jump_account_id.clone(),
            "jump".into(),
        ]);
        for (name, (id, protected)) in &structure.accounts {
            let kind = if *protected {
                "member-protected"
            } else {
                "member"
            };
            table.row(vec![name.clone(), id.clone(), kind.into()]);
        }
        out!("{}", table.render())?;
    }
    Ok(ExitCode::SUCCESS)
}
