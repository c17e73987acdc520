//! The steps of a refresh, in order. Each has a stable name (journal, `status`, the crash hook).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshStep {
    /// Every check of `plan`, again, right before the first change.
    Preflight,
    /// Clone path: a RAM share of the source cluster with the target account.
    ShareCluster,
    /// Clone path: the cross-account copy-on-write clone.
    CloneCluster,
    /// Snapshot path: a manual snapshot of the source cluster.
    CreateSnapshot,
    /// `mask_in = "source"`: a temporary cluster (with writer and new password) in the source
    /// account, restored from the snapshot, to be masked there.
    RestoreInSource,
    /// `mask_in = "source"`: a snapshot of the masked temporary cluster (the only one shared).
    SnapshotMasked,
    /// Snapshot path, default-key source: a copy re-encrypted with a customer-managed key.
    ReencryptSnapshot,
    /// Snapshot path: the target account may restore the snapshot.
    ShareSnapshot,
    /// Snapshot path: restore in the target account with explicit settings.
    RestoreCluster,
    /// The writer instance of the new cluster.
    CreateWriter,
    /// A new random master password, kept in the target account's Secrets Manager.
    ResetPassword,
    Mask,
    Verify,
    /// Rename (or flip) the serving name to the new cluster, checked, rolled back if not.
    SwitchOver,
    /// Delete retired staging clusters beyond `keep_retired`.
    RetireOld,
    /// Unshare and delete the temporary snapshots and shares.
    CleanUp,
}

pub const ALL: [RefreshStep; 16] = [
    RefreshStep::Preflight,
    RefreshStep::ShareCluster,
    RefreshStep::CloneCluster,
    RefreshStep::CreateSnapshot,
    RefreshStep::RestoreInSource,
    RefreshStep::SnapshotMasked,
    RefreshStep::ReencryptSnapshot,
    RefreshStep::ShareSnapshot,
    RefreshStep::RestoreCluster,
    RefreshStep::CreateWriter,
    RefreshStep::ResetPassword,
    RefreshStep::Mask,
    RefreshStep::Verify,
    RefreshStep::SwitchOver,
    RefreshStep::RetireOld,
    RefreshStep::CleanUp,
];

impl RefreshStep {
    pub fn name(self) -> &'static str {
        match self {
            RefreshStep::Preflight => "preflight",
            RefreshStep::ShareCluster => "share_cluster",
            RefreshStep::CloneCluster => "clone_cluster",
            RefreshStep::CreateSnapshot => "create_snapshot",
            RefreshStep::RestoreInSource => "restore_in_source",
            RefreshStep::SnapshotMasked => "snapshot_masked",
            RefreshStep::ReencryptSnapshot => "reencrypt_snapshot",
            RefreshStep::ShareSnapshot => "share_snapshot",
            RefreshStep::RestoreCluster => "restore_cluster",
            RefreshStep::CreateWriter => "create_writer",
            RefreshStep::ResetPassword => "reset_password",
            RefreshStep::Mask => "mask",
            RefreshStep::Verify => "verify",
            RefreshStep::SwitchOver => "switch_over",
            RefreshStep::RetireOld => "retire_old",
            RefreshStep::CleanUp => "clean_up",
        }
    }

    pub fn from_name(name: &str) -> Option<RefreshStep> {
        ALL.into_iter().find(|s| s.name() == name)
    }

    /// What the step does, for `plan`.
    pub fn describe(self) -> &'static str {
        match self {
            RefreshStep::Preflight => "check credentials, source, target settings and rules again",
            RefreshStep::ShareCluster => "share the source cluster with the target account (AWS RAM)",
            RefreshStep::CloneCluster => "clone it (copy-on-write) into the target account",
            RefreshStep::CreateSnapshot => "take a manual snapshot of the source cluster",
            RefreshStep::RestoreInSource => {
                "restore a temporary cluster in the source account (writer, new password) to mask there"
            }
            RefreshStep::SnapshotMasked => "snapshot the masked temporary cluster: only this is shared",
            RefreshStep::ReencryptSnapshot => {
                "copy the snapshot re-encrypted with the customer-managed key"
            }
            RefreshStep::ShareSnapshot => "share the snapshot with the target account",
            RefreshStep::RestoreCluster => {
                "restore it in the target account (subnet group, security groups, parameter group, KMS key, tags, deletion protection)"
            }
            RefreshStep::CreateWriter => "create the writer instance",
            RefreshStep::ResetPassword => {
                "set a new random master password, stored in the target account's Secrets Manager"
            }
            RefreshStep::Mask => "mask the copy with the rules",
            RefreshStep::Verify => "prove no original value survives and no unlisted column holds personal data",
            RefreshStep::SwitchOver => {
                "rename (serving -> <name>-retired-<run>, new -> <name>) or point the CNAME at the new cluster; check through the name, roll back if it does not answer"
            }
            RefreshStep::RetireOld => "delete retired clusters beyond keep_retired",
            RefreshStep::CleanUp => "unshare and delete temporary snapshots and shares",
        }
    }
}

impl std::fmt::Display for RefreshStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
