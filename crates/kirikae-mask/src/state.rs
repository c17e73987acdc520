//! The state directory of masking runs on one database: the journal, the fingerprints of the
//! originals (for `verify`) and, for a run without a key, the random key (so that `--resume`
//! can finish it).
//!
//! Where: `--state-dir`, else `.kirikae-mask/<engine>-<host>-<port>-<database>/` next to the
//! rules file. Folders are created (and, when they exist, set) owner-only 0700 and every file
//! 0600, whatever the umask. Layout:
//! - `journal.jsonl`: one JSON object per line (run started, table planned, fingerprints taken,
//!   chunk committed with rows and rate, table swapped, run finished). It is the record people
//!   and `verify` read; what has been *committed* is decided by the database itself (the
//!   progress table, updated in each chunk's transaction), so a crash between a commit and its
//!   journal line loses nothing and repeats nothing.
//! - `run.json`: the run's identity: a random salt, a check value of the masking key (so a
//!   resume or a verify with another key is refused), the tables' row counts. No key.
//! - `random.key`: only for a run without a key. Delete the directory when done.
//! - `fingerprints/<table>/<column>.rows` and `.values`: sorted 64-bit keyed digests of
//!   (row key, original value) and of the original value, under a key derived from the masking
//!   key and the salt ([`Fingerprinter::derive`]) that is never stored: without the masking key
//!   nobody can test a guess of an original against them.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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

/// Creates a folder (and its missing parents) owner-only, and makes an existing one owner-only.
pub fn private_dir(path: &Path) -> StateResult<()> {
    let mut missing = Vec::new();
    let mut p = Some(path);
    while let Some(dir) = p {
        if dir.as_os_str().is_empty() || dir.exists() {
            break;
        }
        missing.push(dir.to_path_buf());
        p = dir.parent();
    }
    std::fs::create_dir_all(path).map_err(|e| err(path, e))?;
    missing.push(path.to_path_buf());
    for dir in missing {
        set_mode(&dir, 0o700)?;
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> StateResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            err(
                path,
                format!("cannot make it owner-only ({mode:o}): {e}; fix its owner or mode"),
            )
        })?;
    }
    Ok(())
}

/// Makes every folder under `dir` 0700 and every file 0600 (a state directory written by an
/// older kirikae, which left them to the umask).
fn tighten(dir: &Path) -> StateResult<()> {
    for e in std::fs::read_dir(dir).map_err(|e| err(dir, e))? {
        let e = e.map_err(|e| err(dir, e))?;
        let p = e.path();
        let t = e.file_type().map_err(|e| err(&p, e))?;
        if t.is_dir() {
            set_mode(&p, 0o700)?;
            tighten(&p)?;
        } else if t.is_file() {
            set_mode(&p, 0o600)?;
        }
    }
    Ok(())
}

/// Opens a file of the state directory, created 0600 and kept 0600 whatever the umask.
pub fn open_private(path: &Path, opts: &mut std::fs::OpenOptions) -> StateResult<std::fs::File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let f = opts.open(path).map_err(|e| err(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| err(path, e))?;
    }
    Ok(f)
}

/// Writes a whole file of the state directory (0600).
pub fn write_private(path: &Path, bytes: &[u8]) -> StateResult<()> {
    let mut f = open_private(
        path,
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true),
    )?;
    f.write_all(bytes).map_err(|e| err(path, e))
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RunInfo {
    /// Random per run (hex), mixed into the keys derived from the masking key. Not secret.
    #[serde(default)]
    pub salt: String,
    /// A check value derived from the masking key and the salt: equal keys, equal checks.
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
    /// Tables masked in place (UPDATEs): their files held old row versions with the originals.
    #[serde(default)]
    pub in_place: std::collections::BTreeSet<String>,
    /// Of those, the tables rewritten since into new files (no old row version left).
    #[serde(default)]
    pub rewritten: std::collections::BTreeSet<String>,
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
    /// Opens (creates) the state directory, owner-only: the folder 0700 and everything in it
    /// 0700 / 0600, also when an older kirikae left it readable by others.
    pub fn open(path: &Path) -> StateResult<StateDir> {
        private_dir(path)?;
        tighten(path)?;
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

    /// Replaces `run.json` whole: written to a temporary file of its own (two writers at once
    /// never share one), flushed to disk, then renamed over it, so a crash leaves the old file
    /// or the new one. Writers that must not overtake each other serialise themselves
    /// (`Shared::save_info` holds the run's info while it writes).
    pub fn write_run(&self, info: &RunInfo) -> StateResult<()> {
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let p = self.run_file();
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self
            .path
            .join(format!("run.json.{}.{n}.tmp", std::process::id()));
        let text = serde_json::to_string_pretty(info).map_err(|e| err(&p, e))?;
        let written = open_private(
            &tmp,
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true),
        )
        .and_then(|mut f| {
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| err(&tmp, e))
        })
        .and_then(|()| std::fs::rename(&tmp, &p).map_err(|e| err(&p, e)));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
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
        let mut f = open_private(&p, std::fs::OpenOptions::new().create(true).append(true))?;
        let mut line = serde_json::to_string(event).map_err(|e| err(&p, e))?;
        line.push('\n');
        f.write_all(line.as_bytes()).map_err(|e| err(&p, e))
    }

    pub fn random_key_file(&self) -> PathBuf {
        self.path.join("random.key")
    }

    /// Saves a random key (owner-only) so that a resumed run uses it.
    pub fn save_random_key(&self, secret: &str) -> StateResult<()> {
        write_private(&self.random_key_file(), secret.as_bytes())
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
/// one way with fingerprints taken another. `siphash24-v1` (before issue 12) keyed them with a
/// random key stored in `run.json`, next to them.
pub const FINGERPRINT_SCHEME: &str = "hmac-sha256-kdf+siphash24-v2";

/// Keyed 64-bit fingerprints: SipHash-2-4 (a PRF made for short inputs, several times cheaper
/// than MD5 here) under a 128-bit key derived from the masking key. Computed in Rust on both
/// sides (`run` on the originals, `verify` on the result), never in SQL.
#[derive(Clone)]
pub struct Fingerprinter {
    k0: u64,
    k1: u64,
}

impl Fingerprinter {
    /// The fingerprinter of a run: its key is HMAC-SHA256(masking secret, "kirikae-mask
    /// fingerprint key v2" || 0x00 || salt), cut to 128 bits; it is never written anywhere.
    pub fn derive(secret: &[u8], salt: &str) -> Fingerprinter {
        let b = kdf(secret, "kirikae-mask fingerprint key v2", salt);
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

/// A key for one purpose (`label`) derived from the masking secret: HMAC-SHA256 with the
/// secret as key over `label || 0x00 || context`. Distinct labels give independent keys, and
/// none of them tells anything about the secret or the others.
pub fn kdf(secret: &[u8], label: &str, context: &str) -> [u8; 32] {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret)
        .expect("HMAC takes a key of any length");
    mac.update(label.as_bytes());
    mac.update(&[0]);
    mac.update(context.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// Appends fingerprints to a file (unsorted; [`seal`] sorts it).
pub fn append_fingerprints(path: &Path, values: &[u64]) -> StateResult<()> {
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    let mut f = open_private(path, std::fs::OpenOptions::new().create(true).append(true))?;
    let mut buf = Vec::with_capacity(values.len() * 8);
    for v in values {
        buf.extend_from_slice(&v.to_le_bytes());
    }
    f.write_all(&buf).map_err(|e| err(path, e))
}

/// Fingerprints sorted in memory at once when sealing: about 4M (32 MB). A longer file is first
/// split by the top bits of its values into bucket files beside it, each about half that many,
/// which are then sorted one at a time; the buckets hold consecutive ranges, so the sealed file
/// is their concatenation. Fingerprints are keyed hashes, spread evenly over the 64 bits, so
/// the buckets come out even and sealing a column of any size stays within that memory.
const SEAL_RUN: usize = 4 << 20;

/// Sorts and de-duplicates a fingerprint file in place (the sealed file replaces it at once).
pub fn seal(path: &Path) -> StateResult<()> {
    seal_in_buckets(path, SEAL_RUN)
}

/// Reads `r` to its end a block at a time, giving each block's whole values (8 bytes each,
/// little-endian) to `each` (a torn last value is ignored).
fn for_each_block(
    r: &mut impl std::io::Read,
    path: &Path,
    mut each: impl FnMut(&[u8]) -> StateResult<()>,
) -> StateResult<()> {
    let mut buf = vec![0u8; 512 << 10];
    let mut fill = 0;
    loop {
        let n = match r.read(&mut buf[fill..]) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(err(path, e)),
        };
        fill += n;
        let whole = fill / 8 * 8;
        each(&buf[..whole])?;
        buf.copy_within(whole..fill, 0);
        fill -= whole;
    }
}

/// Appends the fingerprints read from `r` to `out`.
fn read_values(r: &mut impl std::io::Read, out: &mut Vec<u64>, path: &Path) -> StateResult<()> {
    for_each_block(r, path, |b| {
        out.extend(b.chunks_exact(8).map(le_u64));
        Ok(())
    })
}

fn le_u64(c: &[u8]) -> u64 {
    u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
}

/// Writes fingerprints to `w`, a block at a time.
fn write_values(w: &mut impl Write, values: &[u64], path: &Path) -> StateResult<()> {
    let mut buf = Vec::with_capacity(512 << 10);
    for block in values.chunks(64 << 10) {
        buf.clear();
        for v in block {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        w.write_all(&buf).map_err(|e| err(path, e))?;
    }
    Ok(())
}

fn seal_in_buckets(path: &Path, bucket_len: usize) -> StateResult<()> {
    use std::io::{BufWriter, Seek};
    let mut input = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return write_private(path, &[]),
        Err(e) => return Err(err(path, e)),
    };
    let len = input.metadata().map_err(|e| err(path, e))?.len() as usize / 8;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sealed = path.with_file_name(format!("{name}.sealed"));
    let mut out = open_private(
        &sealed,
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true),
    )?;
    let mut values: Vec<u64> = Vec::new();
    if len <= bucket_len {
        values.reserve_exact(len);
        read_values(&mut input, &mut values, path)?;
        values.sort_unstable();
        values.dedup();
        write_values(&mut out, &values, &sealed)?;
    } else {
        // 1. Split by the values' top bits into 2^bits buckets of about half `bucket_len` each.
        let bits = (len * 2)
            .div_ceil(bucket_len.max(1))
            .next_power_of_two()
            .trailing_zeros()
            .clamp(1, 20);
        let count = 1usize << bits;
        let bucket_path = |i: usize| path.with_file_name(format!("{name}.bucket{i}"));
        // Write buffers of 16 MB in all (256 KB each at most).
        let buffer = ((16usize << 20) / count).clamp(8 << 10, 256 << 10);
        let mut buckets = Vec::with_capacity(count);
        for i in 0..count {
            let f = open_private(
                &bucket_path(i),
                std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(true)
                    .read(true)
                    .write(true),
            )?;
            buckets.push(BufWriter::with_capacity(buffer, f));
        }
        let split = for_each_block(&mut input, path, |block| {
            for c in block.chunks_exact(8) {
                let i = (le_u64(c) >> (64 - bits)) as usize;
                buckets[i]
                    .write_all(c)
                    .map_err(|e| err(&bucket_path(i), e))?;
            }
            Ok(())
        });
        // 2. Each bucket sorted in turn and appended to the sealed file.
        let sorted = split.and_then(|()| {
            for (i, b) in buckets.into_iter().enumerate() {
                let p = bucket_path(i);
                let mut f = b.into_inner().map_err(|e| err(&p, e.error()))?;
                f.rewind().map_err(|e| err(&p, e))?;
                values.clear();
                read_values(&mut f, &mut values, &p)?;
                drop(f);
                let _ = std::fs::remove_file(&p);
                values.sort_unstable();
                values.dedup();
                write_values(&mut out, &values, &sealed)?;
            }
            Ok(())
        });
        if let Err(e) = sorted {
            for i in 0..count {
                let _ = std::fs::remove_file(bucket_path(i));
            }
            let _ = std::fs::remove_file(&sealed);
            return Err(e);
        }
    }
    out.sync_all().map_err(|e| err(&sealed, e))?;
    drop(out);
    std::fs::rename(&sealed, path).map_err(|e| err(path, e))
}

/// A sealed fingerprint file held whole in memory up to this many values (32 MB); above it,
/// looked up on disk.
const SET_IN_MEMORY: u64 = 4 << 20;
/// Values per block of a set looked up on disk (4 KB, one read per lookup).
const SET_BLOCK: u64 = 512;

/// A sealed (sorted) fingerprint file, for membership tests by `verify`: in memory when small;
/// otherwise on disk behind a sparse index (the first value of each block of 512, 16 KB per
/// million values), each lookup one 4 KB read of the block that may hold the value, so
/// verifying a column of any size stays within a few megabytes per million values. Most
/// lookups are of values that are not there (a masked value is no original): a filter of 4 to
/// 8 bits per value answers about 93% of them without a read (see [`Filter`]).
pub struct FingerprintSet {
    path: PathBuf,
    inner: SetInner,
}

enum SetInner {
    Memory(Sorted),
    Disk {
        file: std::fs::File,
        firsts: Vec<u64>,
        len: u64,
        /// Every value of the file passes it.
        seen: Filter,
    },
}

impl FingerprintSet {
    pub fn open(path: &Path) -> StateResult<FingerprintSet> {
        FingerprintSet::open_with(path, SET_IN_MEMORY)
    }

    fn open_with(path: &Path, in_memory: u64) -> StateResult<FingerprintSet> {
        let len = match std::fs::metadata(path) {
            Ok(m) => m.len() / 8,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(err(path, e)),
        };
        let inner = if len <= in_memory {
            SetInner::Memory(Sorted::new(read_fingerprints(path)?))
        } else {
            let file = std::fs::File::open(path).map_err(|e| err(path, e))?;
            let mut firsts = Vec::with_capacity(len.div_ceil(SET_BLOCK) as usize);
            let mut seen = Filter::new(len);
            let mut i = 0u64;
            for_each_block(&mut &file, path, |block| {
                for c in block.chunks_exact(8) {
                    let v = le_u64(c);
                    if i.is_multiple_of(SET_BLOCK) {
                        firsts.push(v);
                    }
                    seen.insert(v);
                    i += 1;
                }
                Ok(())
            })?;
            SetInner::Disk {
                file,
                firsts,
                len,
                seen,
            }
        };
        Ok(FingerprintSet {
            path: path.to_path_buf(),
            inner,
        })
    }

    /// Asks the processor for the memory a lookup of `v` reads first (the filter's word on
    /// disk sets, the run table's entry in memory), so that lookups a few values apart overlap
    /// their cache misses. Changes nothing the program sees.
    pub fn prefetch(&self, v: u64) {
        let at: *const u8 = match &self.inner {
            SetInner::Memory(s) => s
                .starts
                .as_ptr()
                .wrapping_add(top_bits(v, s.shift) as usize)
                .cast(),
            SetInner::Disk { seen, .. } => seen.words.as_ptr().wrapping_add(seen.place(v).0).cast(),
        };
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is a hint: it reads nothing into the program and faults on no
        // address (and `at` is within an allocation anyway).
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(at.cast())
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = at;
    }

    pub fn contains(&self, v: u64) -> StateResult<bool> {
        match &self.inner {
            SetInner::Memory(sorted) => Ok(sorted.contains(v)),
            SetInner::Disk {
                file,
                firsts,
                len,
                seen,
            } => {
                use std::os::unix::fs::FileExt;
                if !seen.may_hold(v) {
                    return Ok(false);
                }
                // The last block that starts at or below v.
                let block = match firsts.partition_point(|f| *f <= v) {
                    0 => return Ok(false),
                    n => (n - 1) as u64,
                };
                let start = block * SET_BLOCK;
                let n = SET_BLOCK.min(len - start) as usize;
                let mut buf = [0u8; (SET_BLOCK * 8) as usize];
                file.read_exact_at(&mut buf[..n * 8], start * 8)
                    .map_err(|e| err(&self.path, e))?;
                let at = |i: usize| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&buf[i * 8..i * 8 + 8]);
                    u64::from_le_bytes(b)
                };
                let (mut lo, mut hi) = (0, n);
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    match at(mid).cmp(&v) {
                        std::cmp::Ordering::Equal => return Ok(true),
                        std::cmp::Ordering::Less => lo = mid + 1,
                        std::cmp::Ordering::Greater => hi = mid,
                    }
                }
                Ok(false)
            }
        }
    }
}

/// The shift that takes a fingerprint to its top bits, as many as index `slots` (a power of
/// two) places: 64 for one slot.
fn top_bits_shift(slots: u64) -> u32 {
    64 - slots.trailing_zeros()
}

/// A fingerprint's top bits, by [`top_bits_shift`] (0 when the shift is 64: one slot).
fn top_bits(v: u64, shift: u32) -> u64 {
    v.checked_shr(shift).unwrap_or(0)
}

/// What a set on disk holds, told without a read, with false positives: a blocked Bloom
/// filter of 4 to 8 bits per value, two bits per value within one 64-bit word (one cache line
/// read per lookup). At 6.7 bits per value about 7% of absent values pass it; the bitmap of
/// 2 to 4 bits per value it replaced let 26% through to a disk read, which at 10M rows was
/// most of `verify`'s time.
struct Filter {
    words: Vec<u64>,
    shift: u32,
}

impl Filter {
    fn new(values: u64) -> Filter {
        let words = (values / 16).next_power_of_two();
        Filter {
            words: vec![0; words as usize],
            shift: top_bits_shift(words),
        }
    }

    /// The word (by the top bits) and the two bits in it (by the low twelve bits): fingerprints
    /// are uniform, so these are independent.
    fn place(&self, v: u64) -> (usize, u64) {
        let word = top_bits(v, self.shift) as usize;
        (word, (1 << (v & 63)) | (1 << ((v >> 6) & 63)))
    }

    fn insert(&mut self, v: u64) {
        let (w, bits) = self.place(v);
        self.words[w] |= bits;
    }

    fn may_hold(&self, v: u64) -> bool {
        let (w, bits) = self.place(v);
        self.words[w] & bits == bits
    }
}

/// A set held in memory: its sorted values, and where each run of values with the same top bits
/// starts (about 4 values a run: fingerprints are uniform). A lookup reads one entry of that
/// table and one short run, where a binary search over a million values made about 20 scattered
/// reads, most of them cache misses: `verify` spent most of its time there.
struct Sorted {
    values: Vec<u64>,
    /// `values[starts[b]..starts[b + 1]]` are the values whose top bits are `b`.
    starts: Vec<u32>,
    shift: u32,
}

impl Sorted {
    fn new(values: Vec<u64>) -> Sorted {
        // In-memory sets hold at most SET_IN_MEMORY values, so u32 positions suffice.
        let runs = (values.len() as u64 / 4).next_power_of_two();
        let shift = top_bits_shift(runs);
        let mut starts = Vec::with_capacity(runs as usize + 1);
        let mut i = 0;
        for b in 0..runs {
            while i < values.len() && top_bits(values[i], shift) < b {
                i += 1;
            }
            starts.push(i as u32);
        }
        starts.push(values.len() as u32);
        Sorted {
            values,
            starts,
            shift,
        }
    }

    fn contains(&self, v: u64) -> bool {
        let b = top_bits(v, self.shift) as usize;
        let (lo, hi) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        self.values[lo..hi].binary_search(&v).is_ok()
    }
}

pub fn read_fingerprints(path: &Path) -> StateResult<Vec<u64>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(err(path, e)),
    };
    Ok(bytes.chunks_exact(8).map(le_u64).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(values: &[u64], run_len: usize) -> Vec<u64> {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("email.values");
        append_fingerprints(&f, values).unwrap();
        seal_in_buckets(&f, run_len).unwrap();
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            left,
            ["email.values"],
            "no bucket or sealed file is left behind"
        );
        read_fingerprints(&f).unwrap()
    }

    #[test]
    fn sealing_in_buckets_sorts_and_dedups_like_sorting_at_once() {
        // A deterministic scramble with repeats, within and across buckets.
        let values: Vec<u64> = (0..10_000u64)
            .map(|i| (i * 7_919 % 3_001).wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        let mut want = values.clone();
        want.sort_unstable();
        want.dedup();
        assert_eq!(want.len(), 3_001);
        for run_len in [700, 1_000, 3_001, 10_000, SEAL_RUN] {
            assert_eq!(sealed(&values, run_len), want, "buckets of {run_len}");
        }
        assert_eq!(
            sealed(&[5, 3, 5, 1, 3, 9, 1], 1),
            [1, 3, 5, 9],
            "buckets of one (all values in the first: their top bits are 0)"
        );
    }

    #[test]
    fn run_json_written_from_several_threads_at_once_is_whole_and_leaves_no_temporary_file() {
        // Before: every writer used run.json.tmp, and one writer's rename took another's file
        // (the load path failed with "run.json: No such file or directory").
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let state = &state;
                s.spawn(move || {
                    for i in 0..40u64 {
                        let mut info = RunInfo::default();
                        info.rows_before.insert(format!("t{t}"), i);
                        state.write_run(&info).unwrap();
                    }
                });
            }
        });
        let info = state.read_run().unwrap().expect("run.json is there");
        assert_eq!(info.rows_before.len(), 1);
        assert_eq!(info.rows_before.values().next(), Some(&39));
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn sealing_an_empty_or_missing_file_leaves_an_empty_one() {
        assert!(sealed(&[], 4).is_empty());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.rows");
        seal(&f).unwrap();
        assert!(read_fingerprints(&f).unwrap().is_empty());
        assert!(f.exists());
    }

    #[test]
    fn a_set_on_disk_answers_like_one_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("values");
        // Sorted and distinct, as sealed: multiples of 3, so every other number is absent.
        for count in [0u64, 1, 511, 512, 513, 2000] {
            let values: Vec<u64> = (1..=count).map(|i| i * 3).collect();
            std::fs::write(&f, []).unwrap();
            append_fingerprints(&f, &values).unwrap();
            let disk = FingerprintSet::open_with(&f, 0).unwrap();
            assert!(matches!(disk.inner, SetInner::Disk { .. }) || count == 0);
            let memory = FingerprintSet::open(&f).unwrap();
            for probe in 0..=(count * 3 + 4) {
                let want = probe % 3 == 0 && probe >= 3 && probe <= count * 3;
                assert_eq!(disk.contains(probe).unwrap(), want, "{count}: {probe}");
                assert_eq!(memory.contains(probe).unwrap(), want, "{count}: {probe}");
            }
            assert!(!disk.contains(u64::MAX).unwrap());
        }
        let missing = FingerprintSet::open(&dir.path().join("none")).unwrap();
        assert!(!missing.contains(0).unwrap());
    }

    #[test]
    fn a_set_in_memory_finds_values_spread_over_the_whole_range() {
        // Fingerprints are uniform over the u64 range; the in-memory set indexes their top bits.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("values");
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut values: Vec<u64> = (0..10_000)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                x
            })
            .collect();
        values.extend([0, 1, u64::MAX - 1, u64::MAX]);
        values.sort_unstable();
        values.dedup();
        append_fingerprints(&f, &values).unwrap();
        let set = FingerprintSet::open(&f).unwrap();
        assert!(matches!(set.inner, SetInner::Memory(_)));
        for v in &values {
            assert!(set.contains(*v).unwrap(), "{v}");
            for probe in [v.wrapping_add(2), v.wrapping_sub(2), v ^ (1 << 40)] {
                let want = values.binary_search(&probe).is_ok();
                assert_eq!(set.contains(probe).unwrap(), want, "{probe}");
            }
        }
    }

    #[test]
    fn an_older_state_directory_is_made_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("a").join("b");
        let fp = state.join("fingerprints").join("people");
        std::fs::create_dir_all(&fp).unwrap();
        for d in [&state, &state.join("fingerprints"), &fp] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        for f in [state.join("run.json"), fp.join("birth.values")] {
            std::fs::write(&f, "x").unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        }
        let s = StateDir::open(&state).unwrap();
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&state.join("fingerprints")), 0o700);
        assert_eq!(mode(&fp), 0o700);
        assert_eq!(mode(&state.join("run.json")), 0o600);
        assert_eq!(mode(&fp.join("birth.values")), 0o600);
        // New ones: created owner-only, parents it created too.
        let fresh = dir.path().join("new").join("state");
        let s2 = StateDir::open(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        assert_eq!(mode(&dir.path().join("new")), 0o700);
        s2.journal(&serde_json::json!({"event": "x"})).unwrap();
        assert_eq!(mode(&s2.journal_file()), 0o600);
        let f = s.fingerprint_file("t", "c", "rows");
        append_fingerprints(&f, &[1]).unwrap();
        seal(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(mode(f.parent().unwrap()), 0o700);
    }

    #[test]
    fn fingerprint_keys_depend_on_the_secret_and_the_salt() {
        let a = Fingerprinter::derive(b"secret", "salt1");
        let b = Fingerprinter::derive(b"secret", "salt1");
        let c = Fingerprinter::derive(b"secret", "salt2");
        let d = Fingerprinter::derive(b"other", "salt1");
        assert_eq!(a.of(&["1985-07-23"]), b.of(&["1985-07-23"]));
        assert_ne!(a.of(&["1985-07-23"]), c.of(&["1985-07-23"]));
        assert_ne!(a.of(&["1985-07-23"]), d.of(&["1985-07-23"]));
    }

    #[test]
    fn a_torn_last_value_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.rows");
        append_fingerprints(&f, &[3, 1, 2]).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&f)
            .unwrap()
            .write_all(&[9, 9, 9])
            .unwrap();
        seal_in_buckets(&f, 2).unwrap();
        assert_eq!(read_fingerprints(&f).unwrap(), [1, 2, 3]);
    }
}
