//! The masking key: where it comes from (`--key-file`, `$KIRIKAE_MASK_KEY`, or random for one
//! run), and what is derived from it (the transforms' [`Prf`], the key check a run records, the
//! fingerprinter). Shared by `run` and `verify`; never written anywhere.

use std::path::PathBuf;

use serde::Serialize;

use crate::prf::Prf;
use crate::state::{self, Fingerprinter};

/// Where the masking key came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum KeySource {
    Env,
    File(PathBuf),
    /// No key given: random for this run (saved in the state directory for `--resume` only).
    Random,
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env => f.write_str("$KIRIKAE_MASK_KEY"),
            KeySource::File(p) => write!(f, "{}", p.display()),
            KeySource::Random => f.write_str("a random key (results are not reproducible)"),
        }
    }
}

/// The environment variable holding the masking key.
pub const KEY_ENV: &str = "KIRIKAE_MASK_KEY";

/// The secret key: from the environment or a file, never from the rules file.
#[derive(Clone)]
pub struct MaskKey {
    secret: Vec<u8>,
    pub source: KeySource,
}

impl std::fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MaskKey(<secret> from {})", self.source)
    }
}

impl MaskKey {
    pub fn new(secret: &[u8], source: KeySource) -> MaskKey {
        MaskKey {
            secret: secret.to_vec(),
            source,
        }
    }

    /// A new random key (a run without one).
    pub fn random() -> MaskKey {
        MaskKey::new(random_secret().as_bytes(), KeySource::Random)
    }

    /// `--key-file`, else `$KIRIKAE_MASK_KEY`, else none (a random key at run time).
    pub fn from_env_or_file(key_file: Option<&std::path::Path>) -> Result<Option<MaskKey>, String> {
        if let Some(p) = key_file {
            let bytes = std::fs::read(p)
                .map_err(|e| format!("cannot read the key file {}: {e}", p.display()))?;
            let trimmed = String::from_utf8_lossy(&bytes).trim().to_string();
            if trimmed.is_empty() {
                return Err(format!("the key file {} is empty", p.display()));
            }
            return Ok(Some(MaskKey::new(
                trimmed.as_bytes(),
                KeySource::File(p.to_path_buf()),
            )));
        }
        match std::env::var(KEY_ENV) {
            Ok(v) if !v.trim().is_empty() => {
                Ok(Some(MaskKey::new(v.trim().as_bytes(), KeySource::Env)))
            }
            _ => Ok(None),
        }
    }

    /// The random key a run without a key saved, as text (for the state directory).
    pub(crate) fn secret_text(&self) -> String {
        String::from_utf8_lossy(&self.secret).into_owned()
    }

    pub fn prf(&self) -> Prf {
        Prf::from_secret(&self.secret)
    }

    /// The value `run.json` keeps to recognise this key (a resume or a verify with another key
    /// is refused): derived from the key and the run's salt, it does not give the key away.
    pub fn check_value(&self, salt: &str) -> String {
        state::kdf(&self.secret, "kirikae-mask key check v2", salt)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The fingerprinter of the run with this salt (its key is derived, never stored).
    pub fn fingerprinter(&self, salt: &str) -> Fingerprinter {
        Fingerprinter::derive(&self.secret, salt)
    }
}

/// A random secret (a run's salt, or its key when none is given).
pub(crate) fn random_secret() -> String {
    Prf::random().key_hex().to_string()
}
