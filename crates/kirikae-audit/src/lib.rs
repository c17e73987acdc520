//! `kirikae audit`: read-only checks over every account of kirikae.toml and their regions, each
//! answer a [`Finding`] with a stable check id, the resource's ARN, the evidence, why it matters
//! and the fix. A finding's severity depends on the account: as listed in a `protected` account,
//! one step lower elsewhere (a single-AZ database in dev is a plan, in production a risk).
//!
//! Parts so far: [`az`] (Availability Zone risks) and [`tags`] (required and expected tags).
//! [`run`] fans the parts out over accounts × regions with bounded concurrency.

pub mod az;
mod error;
mod finding;
mod lb_targets;
pub mod lifecycle;
mod pages;
mod run;
pub mod tags;

pub use error::AuditError;
pub use finding::Place;
pub use finding::{Check, Finding, Part, Severity, CHECKS};
pub use run::{run, AuditOptions, AuditReport, PlaceError, Scope, ScopeError, ZoneMap};
