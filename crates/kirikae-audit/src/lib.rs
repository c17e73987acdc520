//! `kirikae audit`: read-only checks over every account of kirikae.toml and their regions, each
//! answer a [`Finding`] with a stable check id, the resource's ARN, the evidence, why it matters
//! and the fix. A finding's severity depends on the account: as listed in a `protected` account,
//! one step lower elsewhere (a single-AZ database in dev is a plan, in production a risk).
//!
//! Parts so far: [`az`] (Availability Zone risks), [`tags`] (required and expected tags) and
//! [`runtimes`] (end-of-support versions, judged by the [`lifecycle`] table) and [`quotas`]
//! (Service Quotas per account side by side).
//! [`run`] fans the parts out over accounts × regions with bounded concurrency.

pub mod az;
mod error;
mod finding;
mod lb_targets;
pub mod lifecycle;
mod pages;
pub mod quotas;
mod run;
pub mod runtimes;
pub mod tags;

pub use error::AuditError;
pub use finding::Place;
pub use finding::{Check, Finding, Part, Severity, CHECKS};
pub use run::{run, AuditOptions, AuditReport, PlaceError, Scope, ScopeError, ZoneMap};
