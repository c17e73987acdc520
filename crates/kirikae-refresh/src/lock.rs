//! One process drives a refresh at a time. Two runs of one refresh copy production twice and the
//! later switch-over deletes the other's new cluster; two processes on one run delete what the
//! other is using. Two guards:
//!
//! * [`RunLock`]: an exclusive `flock` on `<state dir>/refresh/<name>/lock`, held for as long as
//!   the process drives the run. The kernel releases it when the process ends, however it ends
//!   (SIGKILL included), so it is never stale. The file names the holder (run id, host, pid,
//!   start) for the refusal.
//! * [`Marker`]: the tag `kirikae:refresh-lock:<name> = <run id>/<host>/<pid>/<start>` on the
//!   source cluster, which a second machine (with its own state directory) sees. Set after the
//!   file lock is taken, removed when the run ends. A marker left by a killed process is taken
//!   over, with a message, when its holder is known to be gone: the same run id (a `resume` of
//!   that run), or the same host and a pid that is not alive, or older than [`MARKER_STALE_AFTER`]
//!   for another host; else only with `--take-over-lock`. AWS tags have no compare-and-swap: the
//!   marker is read back [`MARKER_SETTLE`] after it is written, and a run that finds another's
//!   value then refuses.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::cloud::Cloud;
use crate::RefreshError;

/// The tag key of the marker on the source cluster, followed by the refresh name.
pub const MARKER_TAG_PREFIX: &str = "kirikae:refresh-lock:";

/// A marker of another host older than this is taken to be left by a process that is gone
/// (a run that long would have hit its budgets many times over).
pub const MARKER_STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How long a run waits between writing its marker and reading it back. Two machines racing
/// each read "no marker", then write, each within one API call of its read: after this wait both
/// read the later value, so exactly one goes on.
pub const MARKER_SETTLE: Duration = Duration::from_secs(1);

/// Who drives a run: written into the lock file and the marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub run_id: String,
    pub host: String,
    pub pid: u32,
    /// UTC, `2026-11-25T04:00:12Z`.
    pub since: String,
}

impl Holder {
    /// This process, driving `run_id`.
    pub fn this_process(run_id: &str) -> Holder {
        Holder {
            run_id: run_id.to_string(),
            host: host_name(),
            pid: std::process::id(),
            since: kirikae_aws::format_utc(SystemTime::now()),
        }
    }

    /// `<run id>/<host>/<pid>/<since>`: what the marker tag holds (characters AWS allows in tag
    /// values; the host name is reduced to them).
    pub fn tag_value(&self) -> String {
        format!("{}/{}/{}/{}", self.run_id, self.host, self.pid, self.since)
    }

    pub fn from_tag_value(value: &str) -> Option<Holder> {
        let mut parts = value.splitn(4, '/');
        let run_id = parts.next()?.to_string();
        let host = parts.next()?.to_string();
        let pid = parts.next()?.parse().ok()?;
        let since = parts.next()?.to_string();
        Some(Holder {
            run_id,
            host,
            pid,
            since,
        })
    }

    /// `run <id> on <host>, pid <pid>, since <start>`
    pub fn describe(&self) -> String {
        format!(
            "run {} on {}, pid {}, since {}",
            self.run_id, self.host, self.pid, self.since
        )
    }

    /// How long ago it started; `None` when its start does not parse.
    fn age(&self) -> Option<Duration> {
        let t = aws_smithy_types::DateTime::from_str(
            &self.since,
            aws_smithy_types::date_time::Format::DateTime,
        )
        .ok()?;
        let started = SystemTime::try_from(t).ok()?;
        Some(
            SystemTime::now()
                .duration_since(started)
                .unwrap_or(Duration::ZERO),
        )
    }
}

/// This machine's host name, reduced to letters, digits, `.`, `_` and `-` (at most 63).
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let raw = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    };
    let host: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    if host.is_empty() {
        "unknown-host".into()
    } else {
        host
    }
}

/// Whether a process with this pid exists on this machine.
fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The exclusive lock of one refresh name in this state directory, released when dropped or
/// when the process ends.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

impl RunLock {
    pub fn path(state_dir: &Path, name: &str) -> PathBuf {
        crate::journal::Journal::dir(state_dir, name).join("lock")
    }

    /// Takes the lock of refresh `name` for `holder`, or says who holds it.
    pub fn acquire(state_dir: &Path, name: &str, holder: &Holder) -> Result<RunLock, RefreshError> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let path = RunLock::path(state_dir, name);
        let io = |error| RefreshError::Journal {
            path: path.clone(),
            error,
        };
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a descriptor this function owns.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(io(error));
            }
            return Err(RefreshError::Busy {
                name: name.to_string(),
                holder: read_holder(&mut file).map(Box::new),
                lock: path,
            });
        }
        let mut line = serde_json::to_vec(holder).map_err(|e| io(e.into()))?;
        line.push(b'\n');
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(&line).map_err(io)?;
        file.sync_data().map_err(io)?;
        Ok(RunLock { _file: file, path })
    }
}

/// Who holds the lock `file`. The holder writes itself right after taking the lock: a process
/// refused in between waits up to a second for it.
fn read_holder(file: &mut File) -> Option<Holder> {
    for _ in 0..20 {
        let mut text = String::new();
        if file.rewind().is_ok() && file.read_to_string(&mut text).is_ok() {
            if let Ok(h) = serde_json::from_str(text.trim()) {
                return Some(h);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// The marker of a run on its source cluster (see the module doc).
pub struct Marker {
    arn: String,
    key: String,
    value: String,
}

impl Marker {
    pub fn tag_key(name: &str) -> String {
        format!("{MARKER_TAG_PREFIX}{name}")
    }

    /// Sets the marker of `holder` on the source cluster `cluster` in `cloud`. `None` when the
    /// cluster does not exist (preflight then says so). `say` receives the take-over messages.
    pub async fn claim(
        cloud: &Cloud,
        cluster: &str,
        name: &str,
        holder: &Holder,
        take_over: bool,
        say: &dyn Fn(&str),
    ) -> Result<Option<Marker>, RefreshError> {
        let Some(info) = cloud.cluster(cluster).await? else {
            return Ok(None);
        };
        let key = Marker::tag_key(name);
        let value = holder.tag_value();
        if let Some(found) = info.tags.get(&key).filter(|v| **v != value) {
            let other = Holder::from_tag_value(found);
            match (stale_because(other.as_ref(), holder), take_over) {
                (Some(why), _) => say(&format!(
                    "taking over the marker {key} = {found} on {cluster} in {}: {why}",
                    cloud.account
                )),
                (None, true) => say(&format!(
                    "--take-over-lock: replacing the marker {key} = {found} on {cluster} in {}",
                    cloud.account
                )),
                (None, false) => {
                    return Err(RefreshError::BusyElsewhere {
                        name: name.to_string(),
                        holder: other.map_or_else(|| found.clone(), |h| h.describe()),
                        marker: format!("{key} on {cluster} in {}", cloud.account),
                    })
                }
            }
        }
        let tags = std::iter::once((key.clone(), value.clone())).collect();
        cloud.add_tags(&info.arn, &tags).await?;
        // Another machine may have written at the same moment: the value read back decides.
        tokio::time::sleep(MARKER_SETTLE).await;
        let now = cloud.cluster(cluster).await?;
        if let Some(found) = now.as_ref().and_then(|c| c.tags.get(&key)) {
            if *found != value {
                return Err(RefreshError::BusyElsewhere {
                    name: name.to_string(),
                    holder: Holder::from_tag_value(found)
                        .map_or_else(|| found.clone(), |h| h.describe()),
                    marker: format!("{key} on {cluster} in {}", cloud.account),
                });
            }
        }
        Ok(Some(Marker {
            arn: info.arn,
            key,
            value,
        }))
    }

    /// Removes the marker if it is still this run's.
    pub async fn release(&self, cloud: &Cloud, cluster: &str) -> Result<(), RefreshError> {
        let current = cloud.cluster(cluster).await?;
        if current.and_then(|c| c.tags.get(&self.key).cloned()) == Some(self.value.clone()) {
            cloud.remove_tags(&self.arn, &[self.key.as_str()]).await?;
        }
        Ok(())
    }
}

/// Why the marker of `other` may be taken over by `me`, or `None` while its holder may be alive.
fn stale_because(other: Option<&Holder>, me: &Holder) -> Option<String> {
    let other = other?;
    if other.run_id == me.run_id {
        return Some(format!(
            "it is this run's, left by its previous process (pid {} on {})",
            other.pid, other.host
        ));
    }
    if other.host == me.host {
        return (!pid_alive(other.pid)).then(|| {
            format!(
                "{} ended without removing it (no process {} on this host)",
                other.describe(),
                other.pid
            )
        });
    }
    let age = other.age()?;
    (age > MARKER_STALE_AFTER).then(|| {
        format!(
            "{} is older than {} hours: a run that long is gone",
            other.describe(),
            MARKER_STALE_AFTER.as_secs() / 3600
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(run_id: &str, host: &str, pid: u32, since: &str) -> Holder {
        Holder {
            run_id: run_id.into(),
            host: host.into(),
            pid,
            since: since.into(),
        }
    }

    #[test]
    fn the_tag_value_round_trips() {
        let h = Holder::this_process("20261125-040012-3f2a");
        assert_eq!(Holder::from_tag_value(&h.tag_value()), Some(h.clone()));
        assert!(h.tag_value().len() <= 256);
        assert!(h
            .tag_value()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:".contains(c)));
    }

    #[test]
    fn a_marker_is_stale_only_when_its_holder_is_known_to_be_gone() {
        let me = Holder::this_process("20261206-110000-aaaa");
        let now = kirikae_aws::format_utc(SystemTime::now());
        // the same run, an earlier process: a resume takes it over
        let same_run = holder(&me.run_id, "other-host", 1, &now);
        assert!(stale_because(Some(&same_run), &me).is_some());
        // this host, a live process (this one's parent is alive): refused
        let live = holder(
            "20261206-100000-bbbb",
            &me.host,
            std::os::unix::process::parent_id(),
            &now,
        );
        assert_eq!(stale_because(Some(&live), &me), None);
        // this host, a pid that cannot exist: gone
        let dead = holder("20261206-100000-bbbb", &me.host, i32::MAX as u32, &now);
        assert!(stale_because(Some(&dead), &me)
            .unwrap()
            .contains("ended without removing it"));
        // another host: refused while recent, stale after a day
        let recent = holder("20261206-100000-bbbb", "jump-2", 7, &now);
        assert_eq!(stale_because(Some(&recent), &me), None);
        let old = holder("20261206-100000-bbbb", "jump-2", 7, "2020-01-01T00:00:00Z");
        assert!(stale_because(Some(&old), &me)
            .unwrap()
            .contains("older than 24 hours"));
        // a value kirikae did not write: never taken over without the flag
        assert_eq!(stale_because(None, &me), None);
    }

    #[test]
    fn a_second_lock_of_one_name_is_refused_naming_the_holder_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = Holder::this_process("20261206-110000-aaaa");
        let lock = RunLock::acquire(dir.path(), "staging", &first).unwrap();
        let second = Holder::this_process("20261206-110001-bbbb");
        match RunLock::acquire(dir.path(), "staging", &second) {
            Err(RefreshError::Busy { holder, .. }) => assert_eq!(holder.as_deref(), Some(&first)),
            other => panic!("{other:?}"),
        }
        // another refresh name is independent
        let _other = RunLock::acquire(dir.path(), "qa", &second).unwrap();
        drop(lock);
        RunLock::acquire(dir.path(), "staging", &second).unwrap();
    }
}
