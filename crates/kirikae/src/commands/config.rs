//! `kirikae config check`

use std::process::ExitCode;

use crate::cli::{ConfigCommand, OutputFormat, Shared};
use crate::render;
use crate::Outcome;

pub fn run(shared: &Shared, command: ConfigCommand) -> Outcome {
    match command {
        ConfigCommand::Check => check(shared),
    }
}

fn check(shared: &Shared) -> Outcome {
    let env = std::env::var_os(kirikae_config::CONFIG_ENV);
    let (path, source) = kirikae_config::locate(shared.config.as_deref(), env.as_deref());
    let result = kirikae_config::Config::load(&path, source);
    if shared.output == OutputFormat::Json {
        let value = match &result {
            Ok(c) => serde_json::json!({
                "file": c.path, "valid": true, "problems": [],
                "accounts": c.accounts.keys().collect::<Vec<_>>(),
                "refresh": c.refresh.keys().collect::<Vec<_>>(),
            }),
            Err(e) => serde_json::json!({
                "file": path, "valid": false,
                "error": e.to_string(),
                "problems": e.problems().iter().map(|p| serde_json::json!({
                    "key": p.key, "line": p.line, "message": p.message,
                })).collect::<Vec<_>>(),
            }),
        };
        render::print_json(&value)?;
        return Ok(ExitCode::from(if result.is_ok() { 0 } else { 2 }));
    }
    match result {
        Ok(c) => {
            let protected: Vec<&str> = c
                .accounts
                .iter()
                .filter(|(_, a)| a.protected)
                .map(|(n, _)| n.as_str())
                .collect();
            outln!("{}: {}", c.path.display(), render::green("valid"))?;
            outln!(
                "  accounts: {} ({} protected{})",
                c.accounts.len(),
                protected.len(),
                if protected.is_empty() {
                    String::new()
                } else {
                    format!(": {}", protected.join(", "))
                }
            )?;
            outln!("  refresh pipelines: {}", c.refresh.len())?;
            match &c.aws.endpoint_url {
                Some(url) => outln!("  AWS endpoint: {url} (not AWS itself)")?,
                None => outln!("  AWS endpoint: AWS ({})", c.aws.region)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(crate::Failure::BadInput(e.into())),
    }
}
