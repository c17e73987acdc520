//! A plan's keyed digest: `scan` seals the plan, `mark` checks and re-seals it, `apply` refuses
//! a plan whose digest does not match, so an item added or changed in the JSON by hand (or a
//! merge of two plans, or an edited account or protection flag) is never acted on.
//!
//! The key is a random 32-byte key per installation, `<state dir>/sweep/plan-digest.key`
//! (0600 in a 0700 folder), made by the first `scan`. There is no user secret for sweep to
//! derive one from, and the plan sits next to what a person edits, so the key sits where
//! kirikae's other private state does. Threat model: this catches hand edits, accidental merges
//! and a plan copied from another installation; it does not stop someone who can read the state
//! directory (they can re-seal anything) or run kirikae as the same user.
//!
//! Each item carries its own digest (HMAC-SHA256 over the plan id and the item as scanned and
//! marked: type, id, ARN, tags, properties, dependencies, fingerprint, mark status), so a refusal
//! names the item. The plan's digest covers its settings (id, format, creation time, account with
//! `protected`, regions, tag key, selectors, the unknown list, the Resource Group) and the list
//! of item digests in order, so an item removed or copied is caught too.

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Plan, PlanItem, SweepError};

/// The key file, in the state directory's `sweep` folder.
pub const KEY_FILE: &str = "plan-digest.key";
pub const ALGORITHM: &str = "hmac-sha256";

/// The installation's plan key. Never printed (Debug shows its id only).
pub struct PlanKey {
    key: [u8; 32],
    id: String,
    path: PathBuf,
}

impl std::fmt::Debug for PlanKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PlanKey({} at {})", self.id, self.path.display())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

impl PlanKey {
    /// Where the key of the state directory `state_dir` is.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("sweep").join(KEY_FILE)
    }

    /// The key, if this installation has made one.
    pub fn load(state_dir: &Path) -> Result<Option<PlanKey>, SweepError> {
        let path = PlanKey::path(state_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(crate::error::io(path.display().to_string(), e)),
        };
        let bytes = unhex(text.trim())
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                SweepError::BadInput(format!(
                    "{} is not a plan key (64 hex digits): it was changed by hand; remove it and \
                 scan again (plans sealed with it can then no longer be applied)",
                    path.display()
                ))
            })?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Ok(Some(PlanKey::new(key, path)))
    }

    /// The key, made on first use: 32 random bytes from the operating system, written 0600
    /// without ever replacing a key another process made at the same moment.
    pub fn load_or_create(state_dir: &Path) -> Result<PlanKey, SweepError> {
        if let Some(k) = PlanKey::load(state_dir)? {
            return Ok(k);
        }
        let path = PlanKey::path(state_dir);
        let io = |e: std::io::Error| crate::error::io(path.display().to_string(), e);
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| {
            crate::error::io(
                "random bytes for the plan key",
                format!("the operating system gave none: {e}"),
            )
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        // Written to a private temporary file, then linked into place: the link fails if a key
        // is there already, so two first scans at once end with one key, not one each.
        let tmp = dir.join(format!(".{KEY_FILE}.{}", std::process::id()));
        let written = (|| {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(format!("{}\n", hex(&key)).as_bytes())?;
            f.sync_all()?;
            std::fs::hard_link(&tmp, &path)
        })();
        let _ = std::fs::remove_file(&tmp);
        match written {
            Ok(()) => Ok(PlanKey::new(key, path)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => PlanKey::load(state_dir)?
                .ok_or_else(|| io(std::io::Error::other("the key vanished as it was made"))),
            Err(e) => Err(io(e)),
        }
    }

    fn new(key: [u8; 32], path: PathBuf) -> PlanKey {
        let mut h = Sha256::new();
        h.update(b"kirikae-sweep-plan-key-id\0");
        h.update(key);
        let id = hex(&h.finalize()[..6]);
        PlanKey { key, id, path }
    }

    /// A short public name of the key (a hash of it), written into each plan it seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn file(&self) -> &Path {
        &self.path
    }

    fn mac(&self, domain: &str, parts: &[&[u8]]) -> Hmac<Sha256> {
        // The key is 32 bytes: HMAC accepts any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(domain.as_bytes());
        for p in parts {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        mac
    }

    fn sign(&self, domain: &str, parts: &[&[u8]]) -> String {
        hex(&self.mac(domain, parts).finalize().into_bytes())
    }

    /// Compares in constant time.
    fn verify(&self, domain: &str, parts: &[&[u8]], digest: &str) -> bool {
        match unhex(digest) {
            Some(d) => self.mac(domain, parts).verify_slice(&d).is_ok(),
            None => false,
        }
    }
}

/// The plan's own digest (the items carry theirs).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlanDigest {
    /// `hmac-sha256`.
    pub algorithm: String,
    /// Which installation's key sealed the plan (see [`PlanKey::id`]).
    pub key_id: String,
    /// Over the plan's id, format, creation time, account, regions, tag key, selectors, unknown
    /// list and Resource Group.
    pub settings: String,
    /// Over the items' digests, in order.
    pub items: String,
}

/// What a plan's digest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integrity {
    /// As `scan` (and `mark`) wrote it.
    Intact,
    /// No digest: written by a kirikae from before digests.
    Unsealed,
    /// This installation has no plan key (another state directory made the plan).
    NoKey { key_file: PathBuf },
    /// Sealed with another installation's key.
    OtherKey { key_id: String },
    /// Changed after it was written: what changed, one entry per finding.
    Changed(Vec<String>),
}

impl Integrity {
    /// One line for review (`show`).
    pub fn describe(&self) -> String {
        match self {
            Integrity::Intact => "intact (as scan and mark wrote it)".into(),
            Integrity::Unsealed => {
                "no digest (written by an older kirikae): apply refuses it; scan again".into()
            }
            Integrity::NoKey { key_file } => format!(
                "cannot be checked here: no plan key {} (the plan was made with another state \
                 directory); apply refuses it",
                key_file.display()
            ),
            Integrity::OtherKey { key_id } => format!(
                "sealed by another installation (key {key_id}): apply refuses it here; scan again"
            ),
            Integrity::Changed(what) => format!(
                "CHANGED after scan ({}): apply refuses it; scan again",
                summary(what)
            ),
        }
    }
}

fn summary(what: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = what
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if what.len() > SHOWN {
        s.push_str(&format!("; and {} more", what.len() - SHOWN));
    }
    s
}

const ITEM_DOMAIN: &str = "kirikae-sweep plan item/1";
const SETTINGS_DOMAIN: &str = "kirikae-sweep plan settings/1";
const ITEMS_DOMAIN: &str = "kirikae-sweep plan items/1";

/// What the plan digest's `settings` covers, as JSON in this field order.
#[derive(Serialize)]
struct Settings<'a> {
    format: &'a str,
    id: &'a str,
    created: &'a str,
    account: &'a crate::PlanAccount,
    regions: &'a [String],
    tag_key: &'a str,
    selectors: &'a [String],
    unknown: &'a [crate::UnknownResource],
    group: &'a Option<String>,
}

fn settings_bytes(plan: &Plan) -> Vec<u8> {
    serde_json::to_vec(&Settings {
        format: &plan.format,
        id: &plan.id,
        created: &plan.created,
        account: &plan.account,
        regions: &plan.regions,
        tag_key: &plan.tag_key,
        selectors: &plan.selectors,
        unknown: &plan.unknown,
        group: &plan.group,
    })
    .unwrap_or_default()
}

/// The item as JSON without its digest.
fn item_bytes(item: &PlanItem) -> Vec<u8> {
    let mut bare = item.clone();
    bare.digest = None;
    serde_json::to_vec(&bare).unwrap_or_default()
}

fn items_parts(plan: &Plan) -> Vec<&[u8]> {
    plan.items
        .iter()
        .map(|i| i.digest.as_deref().unwrap_or("").as_bytes())
        .collect()
}

impl Plan {
    /// Seals the plan with `key`: a digest on every item and one on the plan.
    pub fn seal(&mut self, key: &PlanKey) {
        let id = self.id.clone();
        for item in &mut self.items {
            item.digest = None;
            item.digest = Some(key.sign(ITEM_DOMAIN, &[id.as_bytes(), &item_bytes(item)]));
        }
        self.digest = Some(PlanDigest {
            algorithm: ALGORITHM.to_string(),
            key_id: key.id().to_string(),
            settings: key.sign(SETTINGS_DOMAIN, &[&settings_bytes(self)]),
            items: key.sign(ITEMS_DOMAIN, &items_parts(self)),
        });
    }

    /// Whether the plan is as it was sealed, checked with this installation's key (`None`: it
    /// has none; `key_file` is where it would be).
    pub fn integrity(&self, key: Option<&PlanKey>, key_file: &Path) -> Integrity {
        let Some(digest) = &self.digest else {
            return Integrity::Unsealed;
        };
        let Some(key) = key else {
            return Integrity::NoKey {
                key_file: key_file.to_path_buf(),
            };
        };
        if digest.key_id != key.id() || digest.algorithm != ALGORITHM {
            return Integrity::OtherKey {
                key_id: digest.key_id.clone(),
            };
        }
        let mut changed = Vec::new();
        if !key.verify(SETTINGS_DOMAIN, &[&settings_bytes(self)], &digest.settings) {
            changed.push(
                "its account, protection, regions, tag key, selectors, unknown list or Resource \
                 Group differ from what scan wrote"
                    .to_string(),
            );
        }
        let mut items_ok = true;
        for item in &self.items {
            let what = format!("item {} {}", item.found.kind, item.found.id);
            match &item.digest {
                None => {
                    items_ok = false;
                    changed.push(format!("{what} has no digest: it was added by hand"));
                }
                Some(d) => {
                    let parts: [&[u8]; 2] = [self.id.as_bytes(), &item_bytes(item)];
                    if !key.verify(ITEM_DOMAIN, &parts, d) {
                        items_ok = false;
                        changed.push(format!(
                            "{what} differs from what scan wrote (changed, or added by hand)"
                        ));
                    }
                }
            }
        }
        if items_ok && !key.verify(ITEMS_DOMAIN, &items_parts(self), &digest.items) {
            changed.push("items were removed, copied or reordered".to_string());
        }
        if changed.is_empty() {
            Integrity::Intact
        } else {
            Integrity::Changed(changed)
        }
    }

    /// Refuses a plan that is not intact (see [`Plan::integrity`]); `path` names it in the error.
    pub fn check_integrity(
        &self,
        path: &str,
        key: Option<&PlanKey>,
        key_file: &Path,
    ) -> Result<(), SweepError> {
        match self.integrity(key, key_file) {
            Integrity::Intact => Ok(()),
            Integrity::Changed(what) => Err(SweepError::PlanChanged {
                path: path.to_string(),
                why: summary(&what),
            }),
            Integrity::Unsealed => Err(SweepError::Plan {
                path: path.to_string(),
                why: "it has no digest (an older kirikae wrote it), so kirikae cannot tell \
                      whether it was changed after scan: run `kirikae sweep scan` again, then \
                      review and mark the new plan"
                    .into(),
            }),
            Integrity::NoKey { key_file } => Err(SweepError::Plan {
                path: path.to_string(),
                why: format!(
                    "it is sealed with a plan key this installation does not have ({} is \
                     missing: the plan was made with another state directory): run \
                     `kirikae sweep scan` here, or use the state directory that made it",
                    key_file.display()
                ),
            }),
            Integrity::OtherKey { key_id } => Err(SweepError::Plan {
                path: path.to_string(),
                why: format!(
                    "it is sealed with another installation's plan key ({key_id}, this one is \
                     {}): run `kirikae sweep scan` here, or use the state directory that made it",
                    key.map(PlanKey::id).unwrap_or("-")
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Found, MarkStatus, PlanAccount, PLAN_FORMAT};

    fn plan() -> Plan {
        let item = |id: &str| {
            let found = Found::new("ec2:volume", "ap-northeast-1", id, format!("arn:v/{id}"));
            PlanItem {
                description: found.describe(),
                fingerprint: found.fingerprint("kirikae:sweep"),
                found,
                mark: MarkStatus::NotYet,
                digest: None,
            }
        };
        Plan {
            format: PLAN_FORMAT.to_string(),
            id: "sweep-1".into(),
            created: "2026-12-06T00:00:00Z".into(),
            account: PlanAccount {
                name: "prod".into(),
                id: "111111111111".into(),
                alias: Some("shop-prod".into()),
                protected: true,
            },
            regions: vec!["ap-northeast-1".into()],
            tag_key: "kirikae:sweep".into(),
            selectors: vec!["--tag owner=old".into()],
            items: vec![item("vol-1"), item("vol-2")],
            unknown: vec![],
            group: None,
            digest: None,
        }
    }

    fn key(dir: &Path) -> PlanKey {
        PlanKey::load_or_create(dir).unwrap()
    }

    fn changed(p: &Plan, k: &PlanKey) -> Vec<String> {
        match p.integrity(Some(k), k.file()) {
            Integrity::Changed(w) => w,
            other => panic!("expected Changed, got {other:?}"),
        }
    }

    #[test]
    fn a_sealed_plan_is_intact_after_a_round_trip_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let k = key(dir.path());
        let mut p = plan();
        p.seal(&k);
        let file = dir.path().join("plan.json");
        p.save(&file).unwrap();
        let back = Plan::load(&file).unwrap();
        assert_eq!(back.integrity(Some(&k), k.file()), Integrity::Intact);
        // The same key is read back, not made again.
        assert_eq!(key(dir.path()).id(), k.id());
    }

    #[test]
    fn the_key_file_is_private_and_holds_no_plan_data() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let k = key(dir.path());
        let mode = std::fs::metadata(k.file()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let folder = std::fs::metadata(k.file().parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(folder & 0o777, 0o700);
        assert!(!format!("{k:?}").contains(&hex(&k.key)));
    }

    #[test]
    fn edits_by_hand_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let k = key(dir.path());
        let mut sealed = plan();
        sealed.seal(&k);

        let mut p = sealed.clone();
        p.account.protected = false;
        assert!(changed(&p, &k)[0].contains("protection"));

        let mut p = sealed.clone();
        p.items[1].found.tags.insert("x".into(), "y".into());
        let w = changed(&p, &k);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("item ec2:volume vol-2 differs"), "{w:?}");

        let mut p = sealed.clone();
        p.items[0].mark = MarkStatus::CannotTag("by hand".into());
        assert!(changed(&p, &k)[0].contains("vol-1"));

        let mut p = sealed.clone();
        let mut extra = p.items[0].clone();
        extra.found.id = "vol-9".into();
        extra.digest = None;
        p.items.push(extra);
        let w = changed(&p, &k);
        assert_eq!(
            w,
            ["item ec2:volume vol-9 has no digest: it was added by hand"]
        );

        // A copy of a sealed item with its digest, or one taken away: the list is sealed too.
        let mut p = sealed.clone();
        p.items.push(p.items[0].clone());
        assert!(changed(&p, &k)[0].contains("removed, copied"));
        let mut p = sealed.clone();
        p.items.pop();
        assert!(changed(&p, &k)[0].contains("removed, copied"));

        // An item of another plan sealed with the same key is not accepted either.
        let mut other = plan();
        other.id = "sweep-2".into();
        other.seal(&k);
        let mut p = sealed.clone();
        p.items[1] = other.items[1].clone();
        assert!(changed(&p, &k).iter().any(|w| w.contains("vol-2 differs")));
    }

    #[test]
    fn unsealed_and_foreign_plans_are_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let k = key(dir.path());
        let p = plan();
        assert_eq!(p.integrity(Some(&k), k.file()), Integrity::Unsealed);
        let e = p.check_integrity("p.json", Some(&k), k.file()).unwrap_err();
        assert!(e.to_string().contains("scan` again"), "{e}");

        let other_dir = tempfile::tempdir().unwrap();
        let mut p = plan();
        p.seal(&key(other_dir.path()));
        assert!(matches!(
            p.integrity(Some(&k), k.file()),
            Integrity::OtherKey { .. }
        ));
        assert!(matches!(
            p.integrity(None, k.file()),
            Integrity::NoKey { .. }
        ));
        let e = p.check_integrity("p.json", None, k.file()).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::BadInput);

        let mut p = plan();
        p.seal(&k);
        p.items[0].fingerprint = "0".into();
        let e = p.check_integrity("p.json", Some(&k), k.file()).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Refused);
        assert!(
            e.to_string()
                .starts_with("p.json was changed after scan: item ec2:volume vol-1"),
            "{e}"
        );
    }

    #[test]
    fn a_key_changed_by_hand_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let k = key(dir.path());
        std::fs::write(k.file(), "not hex\n").unwrap();
        assert!(PlanKey::load(dir.path()).is_err());
        assert!(PlanKey::load_or_create(dir.path()).is_err());
    }
}
