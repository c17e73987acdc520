//! Progress of long steps on stderr (stdout carries the result, JSON with `--output json`).
//!
//! On a terminal: `indicatif` bars, redrawn in place. Anywhere else (CI logs, pipes, tests): no
//! bars and no control characters, but plain lines with the same information, at most one per
//! [`PLAIN_INTERVAL`] per bar (the first at once, so a short step still shows one). Colours only
//! on a terminal and never with `NO_COLOR` set.
//!
//! Log lines (`-v`, see `main::init_logging`) go through [`LogWriter`], which hides the bars while
//! it writes, so a log line never lands in the middle of a bar.

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a plain (non-terminal) progress line is written per bar.
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(10);

/// Whether stderr is a terminal (bars) or not (plain lines).
pub fn terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Colours on stderr: only on a terminal, and never when `NO_COLOR` is set to anything
/// (<https://no-color.org>).
pub fn colour() -> bool {
    terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The one set of bars of the process (hidden when stderr is not a terminal).
fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(|| {
        if terminal() {
            MultiProgress::with_draw_target(ProgressDrawTarget::stderr())
        } else {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        }
    })
}

/// Writes a line to stderr with the bars out of the way (they are redrawn after it).
pub fn eprint_line(line: &str) {
    bars().suspend(|| {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
        let _ = err.flush();
    });
}

/// The log's writer: stderr, bars suspended while a line is written.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        bars().suspend(|| std::io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> LogWriter {
        LogWriter
    }
}

/// One long step's progress: a bar on a terminal, plain lines elsewhere.
pub struct Bar {
    bar: Option<ProgressBar>,
    last_plain: Mutex<Option<Instant>>,
}

impl Bar {
    /// A bar of `total` units (rows, seconds, items), labelled by its message; `template` is
    /// indicatif's (`{msg}`, `{bar}`, `{pos}`, `{len}`, `{per_sec}`, `{eta}`, `{elapsed}`).
    pub fn new(total: u64, template: &str) -> Bar {
        let bar = terminal().then(|| {
            let style = ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars(if colour() {
                    "█▉▊▋▌▍▎▏ "
                } else {
                    "=> "
                });
            let bar = bars().add(ProgressBar::new(total).with_style(style));
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Bar {
            bar,
            last_plain: Mutex::new(None),
        }
    }

    /// Moves the bar to `position` of `total`, with `message`; off a terminal, writes `plain`
    /// (built only when due) at most once per [`PLAIN_INTERVAL`].
    pub fn update(&self, position: u64, total: u64, message: &str, plain: impl FnOnce() -> String) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(position.min(total));
                bar.set_message(message.to_string());
            }
            None => {
                let Ok(mut last) = self.last_plain.lock() else {
                    return;
                };
                if last.is_none_or(|t| t.elapsed() >= PLAIN_INTERVAL) {
                    *last = Some(Instant::now());
                    eprint_line(&plain());
                }
            }
        }
    }

    /// Removes the bar; off a terminal, writes `plain` first: the final state, which the
    /// rate-limited plain lines would otherwise skip.
    pub fn finish_with(&self, plain: impl FnOnce() -> String) {
        if self.bar.is_none() {
            eprint_line(&plain());
        }
        self.finish();
    }

    /// Removes the bar (what it achieved is said by the caller's own line).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            bars().remove(bar);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `1h02m`, `3m05s`, `42s`.
pub fn duration(s: f64) -> String {
    let s = s.max(0.0) as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
