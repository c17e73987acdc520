//! kirikae's masking engine, usable on its own (no AWS dependency): a rules file says, for every
//! column of every table, how it is masked or that it is kept; the engine checks the rules against
//! the live schema (fail closed), masks in place on MySQL/MariaDB or PostgreSQL by the fastest
//! correct path per table, and verifies the result.
//!
//! Determinism: every transform draws its randomness from [`prf::Prf`], a keyed digest of
//! (transform domain, original value). With the same secret key, the same input gives the same
//! output in every table, every run, in Rust and in SQL, on both engines.
//!
//! ```
//! use kirikae_mask::prf::Prf;
//! use kirikae_mask::rules::Rules;
//!
//! let rules = Rules::from_toml_str(r#"
//! [tables.users]
//! key = ["id"]
//! [tables.users.columns]
//! id = "keep"
//! email = { transform = "hash", length = 12 }
//! "#).unwrap();
//! let prf = Prf::from_secret(b"team secret");
//! let email = rules.table("users").unwrap().column("email").unwrap();
//! let a = email.transform.apply_one(Some("hanako@example.jp"), &prf);
//! assert_eq!(a, email.transform.apply_one(Some("hanako@example.jp"), &prf));
//! assert_eq!(a.unwrap().len(), 12);
//! ```

pub mod calendar;
pub mod check;
pub mod db;
pub mod detect;
pub mod fingerprint;
pub mod init;
pub mod key;
pub mod lock;
pub mod plan;
pub mod prf;
pub mod rules;
pub mod run;
pub mod scan;
pub mod schema;
pub mod state;
pub mod transform;
pub mod transforms;
pub mod verify;

pub use rules::{Rules, RulesError};
pub use transform::{Dialect, Transform};
