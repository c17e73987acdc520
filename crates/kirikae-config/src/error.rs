//! Config errors: each names the file, the key path, the line and what was expected.

use std::fmt;
use std::path::PathBuf;

use crate::{ConfigSource, CONFIG_ENV};

/// One thing wrong with the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path, e.g. `accounts.prod.id` (empty for the whole file).
    pub key: String,
    /// 1-based line of the key in the file, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.key.is_empty(), self.line) {
            (true, Some(l)) => write!(f, "line {l}: {}", self.message),
            (true, None) => write!(f, "{}", self.message),
            (false, Some(l)) => write!(f, "{} (line {l}): {}", self.key, self.message),
            (false, None) => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}", not_found_message(path, *source_kind))]
    NotFound {
        path: PathBuf,
        source_kind: ConfigSource,
    },
    #[error("cannot read config file {}: {error}", path.display())]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}", invalid_message(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The problems found in the file (empty when the file could not be read at all).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn not_found_message(path: &std::path::Path, source: ConfigSource) -> String {
    match source {
        ConfigSource::WorkingDir => format!(
            "no config file: {} does not exist in the working directory; pass --config <file>, \
             set {CONFIG_ENV}, or create one (see examples/kirikae.toml)",
            path.display()
        ),
        other => format!("config file {} ({other}) does not exist", path.display()),
    }
}

fn invalid_message(path: &std::path::Path, problems: &[Problem]) -> String {
    let mut s = if problems.len() == 1 {
        format!("{}: {}", path.display(), problems[0])
    } else {
        let mut s = format!("{}: {} problems:", path.display(), problems.len());
        for p in problems {
            s.push_str("\n  ");
            s.push_str(&p.to_string());
        }
        s
    };
    s.push_str("\nnothing was run; fix the file and try again (`kirikae config check`)");
    s
}
