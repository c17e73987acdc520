//! `kirikae audit`: read-only checks over every account of kirikae.toml and their regions, each
//! answer a [`Finding`] with a stable check id, the resource's ARN, the evidence, why it matters
//! and the fix. A finding's severity depends on the account: as listed in a `protected` account,
//! one step lower elsewhere (a single-AZ database in dev is a plan, in production a risk).
//!
//! Parts so far: [`az`] (Availability Zone risks), [`tags`] (required and expected tags) and
//! [`runtimes`] (end-of-support versions, judged by the [`lifecycle`] table), [`quotas`]
//! (Service Quotas per account side by side) and [`cost`] (Cost Explorer by month, account,
//! service and tag; cached, every request counted).
//! [`run`] fans the parts out over accounts × regions with bounded concurrency.

pub mod az;
mod cache;
mod ce;
pub mod cost;
mod cost_tags;
mod error;
mod finding;
mod lb_targets;
pub mod lifecycle;
mod month;
mod pages;
mod progress;
pub mod quotas;
pub mod report;
mod run;
pub mod runtimes;
pub mod tags;

pub use ce::CeUsage;
pub use cost::{AccountCost, CostOptions, CostReport, Series};
pub use error::AuditError;
pub use finding::Place;
pub use finding::{Check, Finding, Part, Severity, CHECKS};
pub use month::Month;
pub use progress::{Progress, Silent};
pub use run::{
    run, run_with_progress, AuditOptions, AuditReport, PlaceError, Scope, ScopeError, ZoneMap,
};
