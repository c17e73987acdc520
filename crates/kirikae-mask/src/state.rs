//! The state directory of masking runs on one database: the journal, the fingerprints of the
//! originals (for `verify`) and, for a run without a key, the random key (so that `--resume`
//! can finish it).
//!
//! Where: `--state-dir`, else `.kirikae-mask/<engine>-<host>-<port>-<database>/` next to the
//! rules file. Layout:
//! - `journal.jsonl`: one JSON object per line (run started, table planned, fingerprints taken,
//!   chunk committed with rows and rate, table swapped, run finished). It is the record people
//!   and `verify` read; what has been *committed* is decided by the database itself (the
//!   progress table, updated in each chunk's transaction), so a crash between a commit and its
//!   journal line loses nothing and repeats nothing.
//! - `run.json`: the run's identity: the fingerprint key (random, local), a check value of the
//!   masking key (so a resume with another key is refused), the tables' row counts.
//! - `random.key`: only for a run without a key (file mode 0600). Delete the directory when done.
//! - `fingerprints/<table>/<column>.rows` and `.values`: sorted 64-bit keyed digests of
//!   (row key, original value) and of the original value.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::prf::Prf;

#[derive(Debug, thiserror::Error)]
#[error("state directory {}: {message}", path.display())]
pub struct StateError {
    pub path: PathBuf,
    pub message: String,
}

pub type StateResult<T> = Result<T, StateError>;

fn err(path: &Path, e: impl std::fmt::Display) -> StateError {
    StateError {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The default state directory for a database, next to the rules file.
pub fn default_dir(rules_file: &Path, db_slug: &str) -> PathBuf {
    rules_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(".kirikae-mask")
        .join(db_slug)
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RunInfo {
    /// Hex of the fingerprint key (random per run, never in the database).
    pub fingerprint_key: String,
    /// A digest of the masking key: equal keys, equal checks.
    pub key_check: String,
    pub key_source: String,
    pub database: String,
    pub started: u64,
    /// Rows per table when its fingerprints were taken (before masking).
    #[serde(default)]
    pub rows_before: BTreeMap<String, u64>,
    /// Tables whose fingerprints are complete, with the masked columns fingerprinted.
    #[serde(default)]
    pub fingerprinted: BTreeMap<String, Vec<String>>,
    /// Key columns per table (row fingerprints are keyed by them).
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub finished: bool,
    /// [`FINGERPRINT_SCHEME`] of the run that took the fingerprints (empty: an older kirikae).
    #[serde(default)]
    pub fingerprint_scheme: String,
}

pub struct StateDir {
    pub path: PathBuf,
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl StateDir {
    pub fn open(path: &Path) -> StateResult<StateDir> {
        std::fs::create_dir_all(path).map_err(|e| err(path, e))?;
        Ok(StateDir {
            path: path.to_path_buf(),
        })
    }

    fn run_file(&self) -> PathBuf {
        self.path.join("run.json")
    }

    pub fn journal_file(&self) -> PathBuf {
        self.path.join("journal.jsonl")
    }

    pub fn read_run(&self) -> StateResult<Option<RunInfo>> {
        let p = self.run_file();
        match std::fs::read_to_string(&p) {
            Ok(t) => serde_json::from_str(&t).map(Some).map_err(|e| err(&p, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err(&p, e)),
        }
    }

    pub fn write_run(&self, info: &RunInfo) -> StateResult<()> {
        let p = self.run_file();
        let tmp = self.path.join("run.json.tmp");
        let text = serde_json::to_string_pretty(info).map_err(|e| err(&p, e))?;
        std::fs::write(&tmp, text).map_err(|e| err(&tmp, e))?;
        std::fs::rename(&tmp, &p).map_err(|e| err(&p, e))
    }

    /// Starts a new run: the old journal and fingerprints go.
    pub fn reset(&self) -> StateResult<()> {
        for f in ["run.json", "journal.jsonl", "random.key"] {
            let p = self.path.join(f);
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| err(&p, e))?;
            }
        }
        let fp = self.path.join("fingerprints");
        if fp.exists() {
            std::fs::remove_dir_all(&fp).map_err(|e| err(&fp, e))?;
        }
        Ok(())
    }

    /// Appends one event to the journal.
    pub fn journal(&self, event: &serde_json::Value) -> StateResult<()> {
        let p = self.journal_file();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .map_err(|e| err(&p, e))?;
        let mut line = serde_json::to_string(event).map_err(|e| err(&p, e))?;
        line.push('\n');
        f.write_all(line.as_bytes()).map_err(|e| err(&p, e))
    }

    pub fn random_key_file(&self) -> PathBuf {
        self.path.join("random.key")
    }

    /// Saves a random key (owner-only) so that a resumed run uses it.
    pub fn save_random_key(&self, secret: &str) -> StateResult<()> {
        let p = self.random_key_file();
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&p).map_err(|e| err(&p, e))?;
        f.write_all(secret.as_bytes()).map_err(|e| err(&p, e))
    }

    pub fn fingerprint_dir(&self, table: &str) -> PathBuf {
        self.path.join("fingerprints").join(safe_name(table))
    }

    pub fn fingerprint_file(&self, table: &str, column: &str, what: &str) -> PathBuf {
        self.fingerprint_dir(table)
            .join(format!("{}.{what}", safe_name(column)))
    }
}

/// A file-name-safe form of a table or column name (distinct names stay distinct).
fn safe_name(s: &str) -> String {
    let plain: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if plain == s {
        plain
    } else {
        format!("{plain}-{}", &crate::db::md5_hex(s)[..8])
    }
}

/// The fingerprint scheme a run records, so that `verify` never compares fingerprints taken
/// one way with fingerprints taken another.
pub const FINGERPRINT_SCHEME: &str = "siphash24-v1";

/// Keyed 64-bit fingerprints: SipHash-2-4 (a PRF made for short inputs, several times cheaper
/// than MD5 here) keyed from the run's random fingerprint secret. Computed in Rust on both sides
/// (`run` on the originals, `verify` on the result), never in SQL.
#[derive(Clone)]
pub struct Fingerprinter {
    k0: u64,
    k1: u64,
}

impl Fingerprinter {
    pub fn new(secret: &Prf) -> Fingerprinter {
        let b = *secret.digest("fingerprint key", "").bytes();
        let half = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(x)
        };
        Fingerprinter {
            k0: half(0),
            k1: half(8),
        }
    }

    /// The fingerprint of `parts` joined by the separator.
    pub fn of(&self, parts: &[&str]) -> u64 {
        use std::hash::Hasher;
        let mut h = siphasher::sip::SipHasher24::new_with_keys(self.k0, self.k1);
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                h.write(&[crate::prf::SEP as u8]);
            }
            h.write(p.as_bytes());
        }
        h.finish()
    }
}

/// Appends fingerprints to a file (unsorted; [`seal`] sorts it).
pub fn append_fingerprints(path: &Path, values: &[u64]) -> StateResult<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| err(path, e))?;
    let mut buf = Vec::with_capacity(values.len() * 8);
    for v in values {
        buf.extend_from_slice(&v.to_le_bytes());
    }
    f.write_all(&buf).map_err(|e| err(path, e))
}

/// Sorts and de-duplicates a fingerprint file in place.
pub fn seal(path: &Path) -> StateResult<()> {
    let mut v = read_fingerprints(path)?;
    v.sort_unstable();
    v.dedup();
    let mut buf = Vec::with_capacity(v.len() * 8);
    for x in &v {
        buf.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(path, buf).map_err(|e| err(path, e))
}

pub fn read_fingerprints(path: &Path) -> StateResult<Vec<u64>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(err(path, e)),
    };
    Ok(bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect())
}
