//! The Cost Explorer cache. AWS bills every Cost Explorer request (USD 0.01, each page one
//! request), and a closed month's cost no longer changes: every month Cost Explorer answered as
//! final (`Estimated: false`) is kept on disk and never asked again; the current month, and a
//! closed month AWS still marks estimated, are asked every time.
//!
//! One file per payer (or account) and query, in kirikae's state directory:
//! `<state>/audit/cost-explorer/<account id>/<hash of the query>.json`. The query's text is in
//! the file and in its hash, so a changed query never reads another's months. A file that cannot
//! be read is ignored (the months are asked again): the cache can cost requests, never give a
//! wrong answer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::month::Month;

/// One group of a month's answer: its keys (account id, then service, tag or usage type) and
/// its amount in USD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub keys: Vec<String>,
    pub amount: f64,
}

/// The answer of one query, by month.
pub type Monthly = BTreeMap<Month, Vec<Group>>;

#[derive(Debug, Serialize, Deserialize)]
struct CacheFile {
    query: String,
    months: Monthly,
}

/// Closed months on disk, per payer and query.
#[derive(Debug, Clone)]
pub struct CostCache {
    dir: PathBuf,
}

impl CostCache {
    pub fn new(state_dir: &Path) -> CostCache {
        CostCache {
            dir: state_dir.join("audit").join("cost-explorer"),
        }
    }

    fn path(&self, account_id: &str, query: &str) -> PathBuf {
        self.dir.join(account_id).join(format!(
            "{}.json",
            kirikae_aws::state::stable_hash(&[query])
        ))
    }

    /// The closed months kept for `query` as asked from `account_id`.
    pub fn load(&self, account_id: &str, query: &str) -> Monthly {
        let Ok(bytes) = std::fs::read(self.path(account_id, query)) else {
            return Monthly::new();
        };
        match serde_json::from_slice::<CacheFile>(&bytes) {
            Ok(f) if f.query == query => f.months,
            _ => Monthly::new(),
        }
    }

    /// Keeps `months` (closed ones only) for `query`, with those kept before.
    pub fn store(&self, account_id: &str, query: &str, months: &Monthly) -> std::io::Result<()> {
        let mut all = self.load(account_id, query);
        all.extend(months.iter().map(|(m, g)| (*m, g.clone())));
        let file = CacheFile {
            query: query.to_string(),
            months: all,
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
        kirikae_aws::state::write_private(&self.path(account_id, query), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_months_come_back_for_the_same_query_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CostCache::new(dir.path());
        let m: Month = "2026-10".parse().unwrap();
        let mut months = Monthly::new();
        months.insert(
            m,
            vec![Group {
                keys: vec!["111111111111".into(), "Amazon EC2".into()],
                amount: 12.5,
            }],
        );
        cache.store("100000000000", "by service", &months).unwrap();
        assert_eq!(cache.load("100000000000", "by service"), months);
        assert!(cache.load("100000000000", "by tag env").is_empty());
        assert!(cache.load("111111111111", "by service").is_empty());
        // A damaged file is asked again, not an error.
        let path = cache.path("100000000000", "by service");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(cache.load("100000000000", "by service").is_empty());
    }
}
