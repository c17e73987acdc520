//! `kirikae.toml`: finding it, reading it, and refusing it with errors that say what to fix.
//!
//! Every other kirikae crate takes a [`Config`] that this crate has already validated: account ids
//! are 12 digits, every account a refresh names exists, paths are resolved against the directory
//! of the config file (so a config works from any working directory).
//!
//! ```
//! let text = r#"
//! [aws]
//! region = "ap-northeast-1"
//! [jump]
//! profile = "jump"
//! [accounts.prod]
//! id = "111111111111"
//! role = "ops"
//! protected = true
//! "#;
//! let config = kirikae_config::Config::from_str(text, "/etc/kirikae/kirikae.toml".as_ref()).unwrap();
//! assert_eq!(config.accounts["prod"].id.as_str(), "111111111111");
//! assert!(config.accounts["prod"].protected);
//! ```

mod error;
mod model;
mod validate;

use std::path::{Path, PathBuf};

pub use error::{ConfigError, Problem};
pub use model::*;
pub use validate::{
    check_tunnel_template, line_of_key, tunnel_placeholders, MAX_MFA_AGE_SECONDS,
    MAX_ROLE_SESSION_HOURS, MAX_TUNNEL_WAIT_SECONDS, RDS_CA_BUNDLE_URL, TUNNEL_PLACEHOLDERS,
};

/// The environment variable that names the config file when `--config` is not given.
pub const CONFIG_ENV: &str = "KIRIKAE_CONFIG";
/// The file looked for in the working directory when neither `--config` nor the variable is set.
pub const DEFAULT_FILE: &str = "kirikae.toml";

/// Where the config path came from, so a "not found" error can say which setting to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    Flag,
    Env,
    WorkingDir,
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigSource::Flag => write!(f, "given with --config"),
            ConfigSource::Env => write!(f, "named by {CONFIG_ENV}"),
            ConfigSource::WorkingDir => write!(f, "looked for in the working directory"),
        }
    }
}

/// Picks the config path: `--config`, else `$KIRIKAE_CONFIG`, else `./kirikae.toml`.
pub fn locate(flag: Option<&Path>, env: Option<&std::ffi::OsStr>) -> (PathBuf, ConfigSource) {
    if let Some(p) = flag {
        return (p.to_path_buf(), ConfigSource::Flag);
    }
    if let Some(p) = env.filter(|p| !p.is_empty()) {
        return (PathBuf::from(p), ConfigSource::Env);
    }
    (PathBuf::from(DEFAULT_FILE), ConfigSource::WorkingDir)
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path, source: ConfigSource) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::NotFound {
                    path: path.to_path_buf(),
                    source_kind: source,
                })
            }
            Err(e) => {
                return Err(ConfigError::Unreadable {
                    path: path.to_path_buf(),
                    error: e,
                })
            }
        };
        // Relative paths inside the file are relative to the file, wherever kirikae runs from.
        let abs = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .map(|d| d.join(path))
                .unwrap_or_else(|_| path.to_path_buf())
        };
        Config::from_str(&text, &abs)
    }

    /// Parses and validates `text` as if read from `path` (used for messages and relative paths).
    pub fn from_str(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = validate::parse(text, path)?;
        validate::validate(raw, text, path)
    }
}
