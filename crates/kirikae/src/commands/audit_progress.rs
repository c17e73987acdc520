//! The audit fan-out's progress on stderr: parts × accounts × regions done, failed, running and
//! pending, as a bar on a terminal and plain periodic lines elsewhere (crate::progress).

use std::collections::BTreeSet;
use std::sync::Mutex;

use kirikae_audit::{Part, Place, Progress};

use crate::progress::Bar;

#[derive(Default)]
struct Counts {
    planned: usize,
    done: usize,
    failed: usize,
    running: BTreeSet<String>,
}

pub struct AuditProgress {
    bar: Bar,
    counts: Mutex<Counts>,
}

impl AuditProgress {
    pub fn new() -> AuditProgress {
        AuditProgress {
            bar: Bar::new(0, "audit {bar:30} {pos}/{len} {msg}"),
            counts: Mutex::new(Counts::default()),
        }
    }

    fn show(&self, c: &Counts) {
        if c.planned == 0 {
            return;
        }
        let finished = c.done + c.failed;
        let pending = c.planned.saturating_sub(finished + c.running.len());
        let running: Vec<&str> = c.running.iter().map(String::as_str).take(3).collect();
        let message = format!(
            "{} failed, {} running{}",
            c.failed,
            c.running.len(),
            if running.is_empty() {
                String::new()
            } else {
                format!(" ({})", running.join(", "))
            }
        );
        self.bar
            .update(finished as u64, c.planned as u64, &message, || {
                plain(c, pending, &running)
            });
    }

    /// Removes the bar; off a terminal, the last counts as one more line.
    pub fn finish(&self) {
        self.bar.finish();
        if !crate::progress::terminal() {
            if let Ok(c) = self.counts.lock() {
                if c.planned > 0 {
                    crate::progress::eprint_line(&plain(&c, 0, &[]));
                }
            }
        }
    }
}

fn plain(c: &Counts, pending: usize, running: &[&str]) -> String {
    format!(
        "audit: {} of {} done, {} failed, {} running, {} pending{}",
        c.done,
        c.planned,
        c.failed,
        c.running.len(),
        pending,
        if running.is_empty() {
            String::new()
        } else {
            format!(" (running: {})", running.join(", "))
        }
    )
}

fn unit(place: &Place, part: Part) -> String {
    let part = serde_json::to_value(part)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    format!("{} {} {part}", place.account, place.region)
}

impl Progress for AuditProgress {
    fn planned(&self, n: usize) {
        if let Ok(mut c) = self.counts.lock() {
            c.planned += n;
            self.show(&c);
        }
    }

    fn started(&self, place: &Place, part: Part) {
        if let Ok(mut c) = self.counts.lock() {
            c.running.insert(unit(place, part));
            self.show(&c);
        }
    }

    fn finished(&self, place: &Place, part: Part, ok: bool) {
        if let Ok(mut c) = self.counts.lock() {
            c.running.remove(&unit(place, part));
            if ok {
                c.done += 1;
            } else {
                c.failed += 1;
            }
            self.show(&c);
        }
    }
}
