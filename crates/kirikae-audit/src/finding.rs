//! The finding model: what every check reports, and the catalogue of checks with their stable
//! ids (scripts and suppressions key on them: an id never changes meaning).

use serde::Serialize;

/// How urgent a finding is, most urgent first (the order `--fail-on` compares by).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    /// `critical`, `high`, `medium`, `low` or `info`.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.name() == s)
    }

    /// The severity of a check in an account: as listed in a `protected` account, one step
    /// lower in any other (never below `info`).
    pub fn in_account(self, protected: bool) -> Severity {
        if protected {
            return self;
        }
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            Severity::Low | Severity::Info => Severity::Info,
        }
    }

    /// Whether a finding of this severity reaches `threshold` (`--fail-on`).
    pub fn at_least(self, threshold: Severity) -> bool {
        self <= threshold
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The parts of `kirikae audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Az,
    Tags,
    Runtimes,
    Quotas,
    Cost,
}

/// One kind of finding: its stable id, the part it belongs to, its severity in a protected
/// account, and why it matters (the same for every resource it is found on).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub part: Part,
    pub title: &'static str,
    pub severity: Severity,
    pub why: &'static str,
}

/// Every check, by id.
pub const CHECKS: &[Check] = &[
    Check {
        id: "AZ-001",
        part: Part::Az,
        title: "private subnet routed to a NAT gateway in another AZ",
        severity: Severity::High,
        why: "when the NAT gateway's AZ fails, this subnet loses its way out although its own AZ \
              is up, and every byte crosses AZs (billed both ways)",
    },
    Check {
        id: "AZ-002",
        part: Part::Az,
        title: "Auto Scaling group in one AZ",
        severity: Severity::High,
        why: "the group cannot replace its instances in another AZ when its only AZ fails",
    },
    Check {
        id: "AZ-003",
        part: Part::Az,
        title: "load balancer in one AZ",
        severity: Severity::High,
        why: "a load balancer serves only from the AZs it is enabled in: one AZ down, the service \
              is down",
    },
    Check {
        id: "AZ-004",
        part: Part::Az,
        title: "Aurora cluster without an instance in a second AZ",
        severity: Severity::High,
        why:
            "with every instance in one AZ (or a single writer), an AZ failure or a writer \
              failure means recreating an instance: minutes of downtime instead of a ~30 s failover",
    },
    Check {
        id: "AZ-005",
        part: Part::Az,
        title: "single-AZ RDS DB instance",
        severity: Severity::High,
        why: "without a Multi-AZ standby, an AZ failure or host replacement is an outage and a \
              restore from backup",
    },
    Check {
        id: "AZ-006",
        part: Part::Az,
        title: "ElastiCache without a replica in another AZ",
        severity: Severity::Medium,
        why: "the cache's data and endpoint are in one AZ: when it fails, every client misses at \
              once and the database takes the whole load",
    },
    Check {
        id: "AZ-007",
        part: Part::Az,
        title: "load balancer targets uneven across its AZs",
        severity: Severity::Medium,
        why: "each AZ of a load balancer takes its share of the traffic: the AZ with the fewest \
              healthy targets runs hottest, and when another AZ fails it gets the load with the \
              least capacity",
    },
    Check {
        id: "TAG-001",
        part: Part::Tags,
        title: "required tag missing",
        severity: Severity::Medium,
        why: "cost and ownership cannot be attributed to a resource without its required tags, \
              and the Tagging API never lists a resource that was never tagged",
    },
    Check {
        id: "TAG-002",
        part: Part::Tags,
        title: "tag value contradicts the account",
        severity: Severity::High,
        why: "a resource tagged for another environment is counted in that environment's cost \
              and may be swept, patched or alerted on as if it were there",
    },
    Check {
        id: "TAG-003",
        part: Part::Tags,
        title: "tag key spelt another way",
        severity: Severity::Medium,
        why: "cost allocation groups by exact key: `Env`, `env` and `Environment` are three \
              columns, and the required key looks missing",
    },
    Check {
        id: "RT-001",
        part: Part::Runtimes,
        title: "Lambda function on a deprecated runtime",
        severity: Severity::High,
        why: "a deprecated runtime gets no security patches, and from its block-update date a \
              hot-fix deploy of the function fails",
    },
    Check {
        id: "RT-002",
        part: Part::Runtimes,
        title: "Lambda function on a runtime whose updates are blocked",
        severity: Severity::Critical,
        why: "the function can no longer be updated on its runtime: the next fix needs a runtime \
              upgrade first, under pressure",
    },
    Check {
        id: "RT-003",
        part: Part::Runtimes,
        title: "engine version in Extended Support",
        severity: Severity::High,
        why: "past the end of standard support AWS enrols the database or cache in Extended \
              Support and bills every vCPU-hour on top of the instance price, more from year 3",
    },
    Check {
        id: "RT-004",
        part: Part::Runtimes,
        title: "engine version past the end of Extended Support",
        severity: Severity::Critical,
        why: "AWS upgrades the major version itself in a maintenance window: an untested upgrade \
              of a production database",
    },
    Check {
        id: "RT-005",
        part: Part::Runtimes,
        title: "support ends within 180 days",
        severity: Severity::Medium,
        why: "an upgrade needs testing and a window; planned now it is routine, after the date it \
              is billed (Extended Support) or blocked (Lambda)",
    },
    Check {
        id: "RT-006",
        part: Part::Runtimes,
        title: "EC2 instance on an OS past its end of support",
        severity: Severity::High,
        why: "an OS past its end of support gets no security updates",
    },
    Check {
        id: "RT-007",
        part: Part::Runtimes,
        title: "EC2 instance on an old AMI",
        severity: Severity::Low,
        why: "an old AMI misses every patch since it was built; replacing the instance brings \
              back old packages and drift",
    },
    Check {
        id: "RT-008",
        part: Part::Runtimes,
        title: "version not in the lifecycle table",
        severity: Severity::Info,
        why: "its end of support cannot be judged: the table is older than the version or does \
              not know it",
    },
    Check {
        id: "RT-009",
        part: Part::Runtimes,
        title: "EKS cluster in Extended Support",
        severity: Severity::High,
        why: "past the end of standard support AWS keeps the cluster's Kubernetes version in \
              Extended Support and bills every cluster-hour at six times the standard price",
    },
    Check {
        id: "RT-010",
        part: Part::Runtimes,
        title: "EKS cluster past the end of its support",
        severity: Severity::Critical,
        why: "AWS upgrades the control plane to the next Kubernetes version itself: APIs removed \
              in that version break the workloads that still use them",
    },
    Check {
        id: "QUOTA-001",
        part: Part::Quotas,
        title: "Service Quota used up",
        severity: Severity::Critical,
        why: "the next create of what the quota counts fails: a deploy, a scale-out or a refresh \
              stops at the worst time",
    },
    Check {
        id: "QUOTA-002",
        part: Part::Quotas,
        title: "Service Quota at 80 % or more",
        severity: Severity::High,
        why: "an increase takes from minutes to days to be approved: requested now, it is there \
              before the quota is hit",
    },
    Check {
        id: "QUOTA-003",
        part: Part::Quotas,
        title: "Service Quota lower than in another account",
        severity: Severity::Low,
        why: "quotas are per account: a workload moved or copied from the other account hits a \
              limit there that it never met before",
    },
    Check {
        id: "QUOTA-004",
        part: Part::Quotas,
        title: "no headroom for kirikae's refresh",
        severity: Severity::High,
        why: "a refresh creates a snapshot, a cluster and an instance in its accounts: at the \
              quota it fails part-way and leaves its copies behind to resume or sweep",
    },
    Check {
        id: "TAG-004",
        part: Part::Tags,
        title: "required tag not active for cost allocation",
        severity: Severity::Medium,
        why: "Cost Explorer and the bill group only by active cost-allocation tags: a key every \
              resource carries still splits nothing until the payer activates it, and activation \
              reaches back only as far as a backfill",
    },
    Check {
        id: "COST-001",
        part: Part::Cost,
        title: "untagged share of the cost above the limit",
        severity: Severity::Medium,
        why: "cost without the environment tag cannot be attributed: the split into accounts \
              and environments was made to see it",
    },
    Check {
        id: "COST-002",
        part: Part::Cost,
        title: "month-over-month jump of one service",
        severity: Severity::Medium,
        why: "a jump is usually something started and forgotten (an experiment, a leftover of a \
              migration): found a month later it has cost a month",
    },
    Check {
        id: "COST-003",
        part: Part::Cost,
        title: "Extended Support already billed",
        severity: Severity::Critical,
        why: "Extended Support is a surcharge for running a version past its end of standard \
              support: money spent on nothing new, every hour, until the upgrade",
    },
];

impl Check {
    /// The check with this id; ids are constants of this crate.
    pub fn get(id: &str) -> &'static Check {
        CHECKS
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("unknown check id {id}"))
    }
}

/// One finding on one resource.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// The stable check id, e.g. `AZ-001`.
    pub check: &'static str,
    pub title: &'static str,
    /// The account's name in kirikae.toml.
    pub account: String,
    pub account_id: String,
    pub region: String,
    /// The resource's ARN.
    pub resource: String,
    /// The check's severity in this account.
    pub severity: Severity,
    /// What was seen, with the values that make it a finding.
    pub evidence: String,
    pub why: &'static str,
    /// What to do, for this resource.
    pub fix: String,
}

/// Where a check runs: one account in one region.
#[derive(Debug, Clone)]
pub struct Place {
    pub account: String,
    pub account_id: String,
    pub protected: bool,
    pub region: String,
}

impl Place {
    /// A finding of check `id` here, its severity set by the account.
    pub fn finding(
        &self,
        id: &'static str,
        resource: String,
        evidence: String,
        fix: String,
    ) -> Finding {
        let check = Check::get(id);
        Finding {
            check: check.id,
            title: check.title,
            account: self.account.clone(),
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            resource,
            severity: check.severity.in_account(self.protected),
            evidence,
            why: check.why,
            fix,
        }
    }

    /// `arn:aws:<service>:<region>:<account>:<resource>`
    pub fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.region, self.account_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_accounts_are_one_step_lower_with_an_info_floor() {
        assert_eq!(Severity::High.in_account(true), Severity::High);
        assert_eq!(Severity::High.in_account(false), Severity::Medium);
        assert_eq!(Severity::Critical.in_account(false), Severity::High);
        assert_eq!(Severity::Info.in_account(false), Severity::Info);
        assert!(Severity::Critical.at_least(Severity::High));
        assert!(Severity::High.at_least(Severity::High));
        assert!(!Severity::Medium.at_least(Severity::High));
    }

    #[test]
    fn check_ids_are_unique() {
        let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CHECKS.len());
    }
}
