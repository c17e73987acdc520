//! TAG-004: a required tag key (`[audit] required_tags`) that is not an active cost-allocation
//! tag. Cost Explorer groups only by active keys, and activating one is not retroactive beyond a
//! backfill, so a key every resource carries can still leave the bill unsplit.

use crate::ce::Source;
use crate::error::AuditError;
use crate::finding::Finding;

/// The required keys `source` (the payer, or an account for itself) does not have active.
pub async fn check(source: &Source, required: &[String]) -> Result<Vec<Finding>, AuditError> {
    if required.is_empty() {
        return Ok(Vec::new());
    }
    let known = source.cost_allocation_tags(required).await?;
    let mut out = Vec::new();
    for key in required {
        let evidence = match known.iter().find(|(k, _)| k == key) {
            Some((_, true)) => continue,
            Some((_, false)) => format!("`{key}` is a cost-allocation tag, but inactive"),
            None => format!(
                "`{key}` is not among the cost-allocation tags (AWS lists a key once a resource \
                 carried it)"
            ),
        };
        out.push(source.place.finding(
            "TAG-004",
            format!("tag:{key}"),
            evidence,
            format!(
                "Activate `{key}` in the payer account (Billing → Cost allocation tags, or `aws ce \
                 update-cost-allocation-tags-status --cost-allocation-tags-status \
                 TagKey={key},Status=Active`), then ask for a backfill \
                 (StartCostAllocationTagBackfill, up to 12 months back)"
            ),
        ));
    }
    Ok(out)
}
