//! Where a transform's randomness comes from (Greenmask's "where the bytes come from", separate
//! from "how bytes become a value"): a keyed digest of (domain, original value), computable in
//! Rust and in SQL on MySQL/MariaDB and PostgreSQL with built-in functions only.
//!
//! digest = md5(key_hex || 0x1F || domain || 0x1F || value), as 32 lowercase hex digits.
//! draw(i), i in 0..4 = the 32-bit unsigned integer of hex digits [8i, 8i+8).
//!
//! MD5 is used because both engines have it built in and it is fast; what protects the originals
//! is the secret key (an attacker without it cannot test guesses), not collision resistance.
//! Unique outputs use the whole 128-bit digest, so collisions are out of practical reach, and
//! `mask verify` checks uniqueness anyway.

use md5::{Digest, Md5};

use crate::transform::Dialect;

/// The domain separator byte between key, domain and value.
pub const SEP: char = '\u{1f}';

#[derive(Clone)]
pub struct Prf {
    key_hex: String,
    /// MD5 with the key and its separator already fed in: every digest starts from this state
    /// (the 64-byte key is exactly one MD5 block, so this saves a block per digest).
    keyed: Md5,
}

impl std::fmt::Debug for Prf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prf(<secret>)")
    }
}

/// One digest of (domain, value): 128 bits as hex, with helpers to draw numbers from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest128([u8; 16]);

impl Prf {
    /// A key from secret bytes (an environment variable's or a key file's content).
    pub fn from_secret(secret: &[u8]) -> Prf {
        // Normalise any secret to 32 bytes of key material, shown as hex so SQL can embed it.
        let mut h = Md5::new();
        h.update(b"kirikae-mask-key-v1");
        h.update(secret);
        let a = h.finalize();
        let mut h = Md5::new();
        h.update(a);
        h.update(secret);
        let b = h.finalize();
        let mut key_hex = String::with_capacity(64);
        for byte in a.iter().chain(b.iter()) {
            key_hex.push_str(&format!("{byte:02x}"));
        }
        let mut keyed = Md5::new();
        keyed.update(key_hex.as_bytes());
        keyed.update([SEP as u8]);
        Prf { key_hex, keyed }
    }

    /// A random key for this run (no key given): masking is then not reproducible across runs.
    pub fn random() -> Prf {
        let mut seed = Vec::new();
        seed.extend_from_slice(&std::process::id().to_le_bytes());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        seed.extend_from_slice(&now.to_le_bytes());
        if let Ok(bytes) = std::fs::read("/proc/sys/kernel/random/uuid") {
            seed.extend_from_slice(&bytes);
        }
        Prf::from_secret(&seed)
    }

    /// The key as embedded in SQL (64 hex digits). Never log it.
    pub fn key_hex(&self) -> &str {
        &self.key_hex
    }

    pub fn digest(&self, domain: &str, value: &str) -> Digest128 {
        let mut h = self.keyed.clone();
        h.update(domain.as_bytes());
        h.update([SEP as u8]);
        h.update(value.as_bytes());
        Digest128(h.finalize().into())
    }

    /// The SQL expression of the digest's hex string for a text expression `value_sql`.
    pub fn sql_digest_hex(&self, dialect: Dialect, domain: &str, value_sql: &str) -> String {
        let prefix = format!("{}{SEP}{}{SEP}", self.key_hex, domain);
        let lit = dialect.string_literal(&prefix);
        match dialect {
            Dialect::MySql => format!("MD5(CONCAT({lit}, {value_sql}))"),
            Dialect::Postgres => format!("md5({lit} || ({value_sql}))"),
        }
    }
}

impl Digest128 {
    pub fn bytes(&self) -> &[u8; 16] {
        &self.0
    }

    pub fn hex(&self) -> String {
        // By table, not `format!` per byte (that was most of the `email` transform's time).
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(32);
        for b in self.0 {
            s.push(DIGITS[usize::from(b >> 4)] as char);
            s.push(DIGITS[usize::from(b & 0xf)] as char);
        }
        s
    }

    /// The i-th 32-bit draw (i in 0..4), big-endian: hex digits [8i, 8i+8).
    pub fn draw(&self, i: usize) -> u32 {
        let i = i % 4;
        u32::from_be_bytes([
            self.0[4 * i],
            self.0[4 * i + 1],
            self.0[4 * i + 2],
            self.0[4 * i + 3],
        ])
    }

    /// A draw reduced to 0..n.
    pub fn pick(&self, i: usize, n: u32) -> u32 {
        self.draw(i) % n.max(1)
    }
}

/// The SQL expression of draw(i) of a digest hex expression, as an unsigned integer.
pub fn sql_draw(dialect: Dialect, hex_sql: &str, i: usize) -> String {
    let start = 8 * (i % 4) + 1;
    match dialect {
        Dialect::MySql => {
            format!("CAST(CONV(SUBSTRING({hex_sql}, {start}, 8), 16, 10) AS UNSIGNED)")
        }
        Dialect::Postgres => {
            format!("(('x' || substr({hex_sql}, {start}, 8))::bit(32)::bigint & 4294967295)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_digest_other_key_other_digest() {
        let a = Prf::from_secret(b"k1");
        let b = Prf::from_secret(b"k2");
        assert_eq!(a.digest("email", "x"), a.digest("email", "x"));
        assert_ne!(a.digest("email", "x"), b.digest("email", "x"));
        assert_ne!(a.digest("email", "x"), a.digest("phone", "x"));
        assert_eq!(a.key_hex().len(), 64);
    }

    #[test]
    fn draws_are_the_hex_digits_in_order() {
        let d = Prf::from_secret(b"k").digest("d", "v");
        let hex = d.hex();
        for i in 0..4 {
            assert_eq!(
                d.draw(i),
                u32::from_str_radix(&hex[8 * i..8 * i + 8], 16).unwrap()
            );
        }
    }
}
