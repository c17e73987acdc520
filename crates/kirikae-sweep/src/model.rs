//! What a scan finds and what a plan holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One resource as a type's lister saw it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Found {
    /// The registry's type name, e.g. `ec2:vpc`.
    #[serde(rename = "type")]
    pub kind: String,
    pub region: String,
    /// What the type's own API calls it (`vpc-0abc`, a bucket name, a queue URL).
    pub id: String,
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Seconds since the Unix epoch, when AWS says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Key properties (size, VPC, engine, ...), shown in review and part of the fingerprint.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// ARNs of what this resource uses: it must be deleted before them.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// State selectors this resource satisfies (`unattached`, `stopped`, `empty`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Properties shown but left out of the fingerprint: attachments that the plan's own
    /// deletions change (an address associated with an instance of the plan). A user outside
    /// the plan is still caught, by the check for users outside the plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volatile: Vec<String>,
}

impl Found {
    pub fn new(kind: &str, region: &str, id: impl Into<String>, arn: impl Into<String>) -> Found {
        Found {
            kind: kind.to_string(),
            region: region.to_string(),
            id: id.into(),
            arn: arn.into(),
            name: None,
            tags: BTreeMap::new(),
            created: None,
            state: None,
            properties: BTreeMap::new(),
            depends_on: Vec::new(),
            flags: Vec::new(),
            volatile: Vec::new(),
        }
    }

    /// A property left out of the fingerprint (see [`Found::volatile`]).
    pub fn volatile_prop(mut self, key: &str, value: impl ToString) -> Found {
        if !self.volatile.iter().any(|k| k == key) {
            self.volatile.push(key.to_string());
        }
        self.prop(key, value)
    }

    pub fn prop(mut self, key: &str, value: impl ToString) -> Found {
        self.properties.insert(key.to_string(), value.to_string());
        self
    }

    pub fn flag(mut self, flag: &str, on: bool) -> Found {
        if on && !self.flags.iter().any(|f| f == flag) {
            self.flags.push(flag.to_string());
        }
        self
    }

    pub fn tags_from(mut self, tags: impl IntoIterator<Item = (String, String)>) -> Found {
        self.tags.extend(tags);
        if self.name.is_none() {
            self.name = self.tags.get("Name").cloned();
        }
        self
    }

    /// A stable hash of what was seen, leaving out the sweep's own tag (which `mark` adds) and
    /// the flags (derived from other resources).
    pub fn fingerprint(&self, sweep_tag: &str) -> String {
        let mut parts: Vec<String> = vec![
            self.kind.clone(),
            self.id.clone(),
            self.arn.clone(),
            self.state.clone().unwrap_or_default(),
            self.created.map(|c| c.to_string()).unwrap_or_default(),
        ];
        for (k, v) in &self.tags {
            if k != sweep_tag {
                parts.push(format!("tag:{k}={v}"));
            }
        }
        for (k, v) in &self.properties {
            if !self.volatile.contains(k) {
                parts.push(format!("prop:{k}={v}"));
            }
        }
        let mut deps = self.depends_on.clone();
        deps.sort();
        parts.extend(deps.into_iter().map(|d| format!("dep:{d}")));
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        kirikae_aws::state::stable_hash(&refs)
    }

    /// A one-line description for review and the audit log.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.kind, self.id);
        if let Some(n) = &self.name {
            if n != &self.id {
                s.push_str(&format!(" ({n})"));
            }
        }
        if let Some(st) = &self.state {
            s.push_str(&format!(", {st}"));
        }
        for (k, v) in &self.properties {
            s.push_str(&format!(", {k}={v}"));
        }
        s
    }
}

/// How `mark` tagged an item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "by", content = "detail")]
pub enum MarkStatus {
    NotYet,
    TaggingApi,
    TypeApi,
    /// This resource cannot carry the tag; it stays in the plan without it.
    CannotTag(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanItem {
    #[serde(flatten)]
    pub found: Found,
    pub description: String,
    pub fingerprint: String,
    pub mark: MarkStatus,
    /// The keyed digest of this item as scanned and marked (see [`crate::integrity`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// A resource found by tag whose type kirikae does not know: listed, never deleted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnknownResource {
    pub arn: String,
    pub resource_type: String,
    pub tags: BTreeMap<String, String>,
    /// With `scan --cloud-control`: why it was not made a plan item (no mapping to a Cloud
    /// Control type, or Cloud Control could not read it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanAccount {
    /// The name in kirikae.toml.
    pub name: String,
    pub id: String,
    #[serde(default)]
    pub alias: Option<String>,
    #[serde(default)]
    pub protected: bool,
}

pub const PLAN_FORMAT: &str = "kirikae-sweep-plan/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub format: String,
    pub id: String,
    pub created: String,
    pub account: PlanAccount,
    pub regions: Vec<String>,
    /// The tag key `mark` puts on every item (value: the plan id).
    pub tag_key: String,
    /// The selectors the scan ran with, as given.
    pub selectors: Vec<String>,
    pub items: Vec<PlanItem>,
    #[serde(default)]
    pub unknown: Vec<UnknownResource>,
    /// The Resource Group `mark` created, by ARN.
    #[serde(default)]
    pub group: Option<String>,
    /// The keyed digest `scan` and `mark` seal the plan with (see [`crate::integrity`]); none in
    /// plans of older kirikae versions, which `mark` and `apply` refuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<crate::integrity::PlanDigest>,
}

impl Plan {
    pub fn load(path: &std::path::Path) -> Result<Plan, crate::SweepError> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::SweepError::Plan {
            path: path.display().to_string(),
            why: format!("cannot read it: {e} (give the path `kirikae sweep scan` printed)"),
        })?;
        let plan: Plan = serde_json::from_str(&text).map_err(|e| crate::SweepError::Plan {
            path: path.display().to_string(),
            why: format!("not a sweep plan: {e}"),
        })?;
        if plan.format != PLAN_FORMAT {
            return Err(crate::SweepError::Plan {
                path: path.display().to_string(),
                why: format!(
                    "format {:?}, this kirikae reads {PLAN_FORMAT:?}",
                    plan.format
                ),
            });
        }
        Ok(plan)
    }

    pub fn save(&self, path: &std::path::Path) -> Result<(), crate::SweepError> {
        let mut text = serde_json::to_vec_pretty(self).map_err(|e| crate::error::io("plan", e))?;
        text.push(b'\n');
        kirikae_aws::state::write_private(path, &text)
            .map_err(|e| crate::error::io(path.display().to_string(), e))
    }

    /// The tag value every item carries once marked.
    pub fn tag_value(&self) -> &str {
        &self.id
    }
}
