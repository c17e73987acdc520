//! Where an MFA code comes from: `--mfa-code`, a command (like `credential_process`), or a prompt
//! on the terminal. Never from a file of kirikae's: a code is asked for only when a new MFA session
//! is needed.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::Command;

use crate::error::AwsError;

#[derive(Debug, Clone)]
pub enum MfaCodeSource {
    /// Given on the command line.
    Fixed(String),
    /// A command run with `sh -c` in `dir`; the first line of its stdout is the code.
    Command { command: String, dir: PathBuf },
    /// Asked for on the terminal (`/dev/tty`), so it works while stdout is piped.
    Prompt,
}

impl MfaCodeSource {
    /// A code for `serial`; `reason` says why a new one is needed when a session exists (the
    /// prompt shows it).
    pub fn code(&self, serial: &str, reason: Option<&str>) -> Result<String, AwsError> {
        let code = match self {
            MfaCodeSource::Fixed(c) => c.trim().to_string(),
            MfaCodeSource::Command { command, dir } => run_command(command, dir)?,
            MfaCodeSource::Prompt => prompt(serial, reason)?,
        };
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AwsError::MfaCodeNeeded {
                serial: serial.to_string(),
                why: format!("{code:?} is not a 6-digit code"),
            });
        }
        Ok(code)
    }
}

fn run_command(command: &str, dir: &PathBuf) -> Result<String, AwsError> {
    let fail = |why: String| AwsError::MfaCommand {
        command: command.to_string(),
        why,
    };
    let out = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| fail(format!("could not start it: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(fail(format!("{}: {}", out.status, err.trim())));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok(stdout.lines().next().unwrap_or("").trim().to_string())
}

fn prompt(serial: &str, reason: Option<&str>) -> Result<String, AwsError> {
    let needed = |why: &str| AwsError::MfaCodeNeeded {
        serial: serial.to_string(),
        why: why.to_string(),
    };
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| needed("there is no terminal to ask on"))?;
    let mut writer = tty
        .try_clone()
        .map_err(|_| needed("the terminal cannot be used"))?;
    if let Some(reason) = reason {
        writeln!(writer, "A new MFA sign-in is needed: {reason}.")
            .map_err(|_| needed("the terminal cannot be used"))?;
    }
    write!(writer, "MFA code for {serial}: ").map_err(|_| needed("the terminal cannot be used"))?;
    writer.flush().ok();
    let mut line = String::new();
    std::io::BufReader::new(tty)
        .read_line(&mut line)
        .map_err(|_| needed("nothing was read from the terminal"))?;
    Ok(line.trim().to_string())
}
