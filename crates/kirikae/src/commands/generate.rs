//! `kirikae completions <shell>` and `kirikae man --out <dir>`: generated from the same clap
//! definitions that parse the command line, so they always offer what the commands take.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::anyhow;
use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionShell};
use crate::{Failure, Outcome};

/// Prints the shell's completion script on stdout.
pub fn completions(shell: CompletionShell) -> Outcome {
    let shell = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kirikae", &mut script);
    // A closed stdout is an io::Error that main turns into a quiet exit.
    std::io::stdout().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes kirikae.1 and one page per subcommand (kirikae-sweep-apply.1, ...) into `dir`, making
/// it if needed, and lists what it wrote.
pub fn man_pages(dir: &Path) -> Outcome {
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::BadInput(anyhow!(
            "cannot make the directory {} (--out): {e}",
            dir.display()
        ))
    })?;
    // Built, the subcommands carry their full names (kirikae-sweep-apply), which name the pages.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_pages(cmd, dir, &mut written).map_err(|e| {
        Failure::Failed(anyhow!(
            "cannot write a man page into {}: {e}",
            dir.display()
        ))
    })?;
    outln!(
        "wrote {} man pages into {}: {}",
        written.len(),
        dir.display(),
        written
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The page of `cmd` and, first, those of its visible subcommands.
fn write_pages(cmd: clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir, written)?;
    }
    // Every page says which kirikae it documents (a subcommand has no version of its own).
    let man = clap_mangen::Man::new(cmd).source(concat!("kirikae ", env!("CARGO_PKG_VERSION")));
    written.push(man.generate_to(dir)?);
    Ok(())
}
