//! kirikae sweep: find leftover AWS resources, mark them (a tag and a tag-based Resource Group),
//! review them, and delete exactly the reviewed set in dependency order.
//!
//! - [`resources`]: the registry, one file per resource type (list, describe, dependencies,
//!   delete, confirm deletion).
//! - [`cloudcontrol`]: with `scan --cloud-control`, tagged resources of types kirikae does not
//!   know become plan items read and deleted through AWS Cloud Control, by the generated type
//!   table [`cc_types`] (ARN shape -> CloudFormation type and identifier), each read back first;
//!   [`cc_deps`]: their dependency edges and held-back parents.
//! - [`scan()`]: selectors -> a [`Plan`] (JSON file).
//! - [`mark()`]: tag every item with `<tag key>=<plan id>` and create the Resource Group.
//! - [`integrity`]: the keyed digest `scan` seals a plan with, so a plan changed by hand is
//!   refused.
//! - [`guard`]: what `apply` trusts about a plan's account (kirikae.toml and the live account,
//!   never the plan file).
//! - [`show`]: the plan for review as a table, JSON, CSV or the review page ([`review_page`]:
//!   filters, sorting, deletion order, what is held back and why, console links through the
//!   account's switch-role link; one HTML file that loads nothing).
//! - [`apply()`]: re-check every item, then delete in dependency order, in parallel, with an
//!   append-only audit log that an interrupted run resumes from.
//!
//! ```no_run
//! # async fn example(sdk: aws_types::SdkConfig) -> Result<(), kirikae_sweep::SweepError> {
//! use kirikae_sweep::{Cx, Selectors};
//! // One context per region, in the account the credentials of `sdk` reach.
//! let cxs = Cx::connect(&sdk, &["ap-northeast-1".to_string()], 8).await?;
//! let selectors = Selectors::parse(&["owner=old-monolith".into()], &[], &[], None, &[])?;
//! let found = kirikae_sweep::scan::find(&cxs, &selectors, "kirikae:sweep").await?;
//! println!("{} candidates", found.items.len());
//! # Ok(()) }
//! ```

#[macro_use]
pub mod resources;

pub mod apply;
pub mod cc_deps;
/// The Cloud Control type table, a crate of its own (data only) so that `accounts bootstrap`
/// can read its handlers' IAM actions without the sweep and its AWS SDK crates.
pub use kirikae_cc_types as cc_types;
pub mod cloudcontrol;
pub mod console_link;
mod cx;
mod error;
pub mod guard;
pub mod integrity;
pub mod mark;
mod model;
pub mod review_page;
pub mod scan;
pub mod show;

pub use apply::{apply, ApplyOptions, ApplyProgress, ApplyReport, ApplyTally};
pub use cx::{Cx, DEFAULT_CONCURRENCY};
pub use error::{ErrorKind, SweepError};
pub use guard::CheckedPlan;
pub use integrity::{Integrity, PlanKey};
pub use mark::{mark, MarkReport};
pub use model::{Found, MarkStatus, Plan, PlanAccount, PlanItem, UnknownResource, PLAN_FORMAT};
pub use resources::{registry, DeleteOptions, ResourceType};
pub use review_page::ReviewOptions;
pub use scan::{ScanOptions, Selectors};
