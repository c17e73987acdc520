//! Output: aligned tables for people (colour only on a terminal), JSON for scripts.

use std::io::IsTerminal;

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

/// A table for people: columns as wide as their widest cell by display width (Japanese
/// aliases, kana and combining marks line up; colour sequences take no width), two spaces between
/// columns, a rule under the header, no trailing blanks. Laid out by `comfy-table`.
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
        use comfy_table::{presets::NOTHING, ContentArrangement};
        let n = self.header.len();
        let cells = |row: &Vec<String>| row.iter().take(n).cloned().collect::<Vec<_>>();
        let layout = |rows: &mut dyn Iterator<Item = Vec<String>>| {
            let mut t = comfy_table::Table::new();
            t.load_preset(NOTHING)
                .set_content_arrangement(ContentArrangement::Disabled)
                .set_header(self.header.clone());
            for row in rows {
                t.add_row(row);
            }
            t
        };
        // The rule under the header is a row of dashes as wide as each column's widest cell.
        let widths = layout(&mut self.rows.iter().map(cells)).column_max_content_widths();
        let rule = widths.iter().map(|w| "-".repeat(usize::from(*w))).collect();
        let mut table = layout(&mut std::iter::once(rule).chain(self.rows.iter().map(cells)));
        for (i, column) in table.column_iter_mut().enumerate() {
            column.set_padding((0, if i + 1 < n { 2 } else { 0 }));
        }
        let mut out = String::new();
        for line in table.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
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
        assert_eq!(lines[1], "-----------  -----");
        assert_eq!(lines[3], "development  x");
    }

    #[test]
    fn colours_half_width_kana_and_combining_marks_take_their_display_width() {
        let mut t = Table::new(&["STATE", "ALIAS", "NOTE"]);
        t.row(vec![
            "\x1b[32mok\x1b[0m".into(),
            "開発ｶﾅ".into(),
            "a".into(),
        ]);
        t.row(vec![
            "\x1b[31mmissing\x1b[0m".into(),
            "e\u{301}".into(),
            "b".into(),
        ]);
        let out = t.render();
        let plain: Vec<String> = out
            .lines()
            .map(|l| {
                l.replace("\x1b[32m", "")
                    .replace("\x1b[31m", "")
                    .replace("\x1b[0m", "")
            })
            .collect();
        assert_eq!(plain[0], "STATE    ALIAS   NOTE");
        assert_eq!(plain[1], "-------  ------  ----");
        assert_eq!(plain[2], "ok       開発ｶﾅ  a");
        assert_eq!(plain[3], "missing  e\u{301}       b");
    }
}
