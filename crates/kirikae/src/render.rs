//! Output: aligned tables for people (colour only on a terminal), JSON for scripts.

use std::io::IsTerminal;

use unicode_width::UnicodeWidthStr;

/// `println!` that returns the error instead of panicking: a closed stdout (`| head -1`) is an
/// `io::Error` of kind `BrokenPipe`, which `main` turns into a quiet exit.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
    }};
}

/// `print!` that returns the error instead of panicking (see [`outln!`]).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*)
    }};
}

pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    outln!("{text}")?;
    Ok(())
}

/// One JSON object on stdout for a failed command: `{"error": {"kind", "exit_code", "message"}}`
/// (`message` is the whole chain of causes, as the text output shows it).
pub fn print_json_error(kind: &str, exit_code: u8, message: &str) {
    use std::io::Write as _;
    let value = serde_json::json!({
        "error": {"kind": kind, "exit_code": exit_code, "message": message}
    });
    let mut out = std::io::stdout().lock();
    // The reader may have gone: then there is no one to tell.
    let _ = serde_json::to_writer_pretty(&mut out, &value);
    let _ = writeln!(out);
}

/// Whether stdout is a terminal (then colours are used).
pub fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

pub fn red(s: &str) -> String {
    if colour() {
        format!("\x1b[31m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

pub fn green(s: &str) -> String {
    if colour() {
        format!("\x1b[32m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// A table whose columns are as wide as their widest cell (by display width, so Japanese
/// aliases line up).
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let n = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.width()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(visible_width(c));
            }
        }
        let mut out = String::new();
        for (r, row) in std::iter::once(&self.header).chain(&self.rows).enumerate() {
            let mut line = String::new();
            for (i, c) in row.iter().enumerate().take(n) {
                line.push_str(c);
                if i + 1 < n {
                    let pad = widths[i] - visible_width(c) + 2;
                    line.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
            if r == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                out.push_str(&rule.join("  "));
                out.push('\n');
            }
        }
        out
    }
}

/// Display width without ANSI colour sequences.
fn visible_width(s: &str) -> usize {
    let mut plain = String::with_capacity(s.len());
    let mut in_escape = false;
    for ch in s.chars() {
        match (in_escape, ch) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, c) => plain.push(c),
        }
    }
    plain.width()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_with_wide_characters() {
        let mut t = Table::new(&["NAME", "ALIAS"]);
        t.row(vec!["prod".into(), "本番".into()]);
        t.row(vec!["development".into(), "x".into()]);
        let out = t.render();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "NAME         ALIAS");
        assert_eq!(lines[2], "prod         本番");
        assert_eq!(lines[3], "development  x");
    }
}
