//! A fresh clone stands on its own: no tracked file (code, test, script, example, doc) reads or
//! points at a path outside the repository. Every file `git ls-files` lists is scanned for
//!
//! - a `../` that climbs above the repository's root from the file's own folder (the most a
//!   relative path in it can climb: `../../examples` from `crates/kirikae/tests` stays inside);
//! - Python's `parents[N]` climbing above the root from the file;
//! - the root's parent by name: `REPO.parent`, `$top/..`, `<repo>/..`, `repo_root().parent()`;
//! - the folder that used to sit beside the checkout, and absolute paths of one machine (its
//!   work, home and root folders: [`ROOT_PARENT`], [`MACHINE_PATHS`]).
//!
//! The patterns are written in pieces (`concat!`): this file forbids those paths and must not
//! name them itself, to this scan or any other.

use std::path::{Path, PathBuf};
use std::process::Command;

/// This file names every pattern it looks for.
const SELF: &str = "crates/kirikae/tests/repository_paths.rs";

/// Named ways to reach the root's parent.
const ROOT_PARENT: &[&str] = &[
    "REPO.parent",
    "<repo>/..",
    "$top/..",
    "${top}/..",
    "$root/..",
    "${root}/..",
    "repo_root().parent()",
    "repo_root().join(\"..\")",
    concat!("..", "/shared"),
];

/// Absolute paths of one machine (only where a path starts: after a quote, a space, `=`...).
const MACHINE_PATHS: &[&str] = &[
    concat!("/", "work/"),
    concat!("/", "home/"),
    concat!("/", "Users/"),
    concat!("/", "root/"),
    concat!("C:", "\\Users\\"),
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A character after which a path may start.
fn starts_path_after(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c.is_whitespace() || "\"'`(=[{,:<>|;".contains(c),
    }
}

/// How many folders the relative path starting at byte `i` of `line` climbs (`../../x` is 2),
/// or 0 when no relative path starts there.
fn climb_at(line: &str, i: usize) -> usize {
    let before = line[..i].chars().next_back();
    if before.is_some_and(|c| c.is_alphanumeric() || "._-~$".contains(c)) {
        return 0;
    }
    let bytes = line.as_bytes();
    let (mut j, mut n) = (i, 0);
    while bytes[j..].starts_with(b"..") {
        match bytes.get(j + 2) {
            Some(b'/') => {
                n += 1;
                j += 3;
            }
            Some(b'.') => return 0, // an ellipsis
            Some(c) if c.is_ascii_alphanumeric() || *c == b'_' => return 0,
            _ => return n + 1,
        }
    }
    n
}

/// Every problem in one file's text: (line number, what, the line).
fn problems(path: &str, text: &str) -> Vec<(usize, String, String)> {
    let depth = Path::new(path).components().count() - 1;
    let mut found = Vec::new();
    for (no, line) in text.lines().enumerate() {
        let mut report = |what: String| found.push((no + 1, what, line.trim().to_string()));
        for needle in ROOT_PARENT {
            if line.contains(needle) {
                report(format!("`{needle}` leaves the repository"));
            }
        }
        for needle in MACHINE_PATHS {
            for (i, _) in line.match_indices(needle) {
                if starts_path_after(line[..i].chars().next_back()) {
                    report(format!("`{needle}` is an absolute path of one machine"));
                }
            }
        }
        for (i, _) in line.match_indices("..") {
            let n = climb_at(line, i);
            if n > depth {
                report(format!(
                    "a relative path climbs {n} folders from a file {depth} deep"
                ));
            }
        }
        for (i, _) in line.match_indices("parents[") {
            let digits: String = line[i + 8..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if digits.parse::<usize>().is_ok_and(|n| n > depth) {
                report(format!(
                    "parents[{digits}] climbs above the root from a file {depth} deep"
                ));
            }
        }
    }
    found
}

#[test]
fn no_tracked_file_reads_a_path_outside_the_repository() {
    let root = repo_root();
    if !root.join(".git").exists() {
        eprintln!(
            "skipped: {} is not a git checkout (no list of tracked files)",
            root.display()
        );
        return;
    }
    let out = Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["ls-files", "-z"])
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git ls-files: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .split('\0')
        .filter(|f| !f.is_empty() && *f != SELF)
        .map(str::to_string)
        .collect();
    assert!(files.len() > 100, "{} tracked files", files.len());
    let mut report = Vec::new();
    for file in &files {
        // Binary files and files deleted in the work tree have no text to check.
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            continue;
        };
        for (line, what, text) in problems(file, &text) {
            report.push(format!("{file}:{line}: {what}: {text}"));
        }
    }
    assert!(
        report.is_empty(),
        "tracked files that reach outside the repository (a fresh clone has nothing there):\n{}",
        report.join("\n")
    );
}

#[test]
fn the_scan_tells_paths_inside_from_paths_outside() {
    // inside: as deep as the file's folder, or an ellipsis, or a name with dots
    assert!(problems("crates/kirikae/tests/x.rs", "join(\"../../examples\")").is_empty());
    assert!(problems("bench/mask/run", "root=$(cd \"$here/../..\" && pwd)").is_empty());
    assert!(problems("docs/x.md", "[a](../bench/RESULTS.md) and so on...").is_empty());
    assert!(problems("README.md", "see x..y and `a/b`").is_empty());
    assert!(problems("e/k/seed.py", "REPO = Path(__file__).parents[2]").is_empty());
    assert!(problems("README.md", concat!("https://example.com/", "work/x")).is_empty());
    // outside
    for (file, line) in [
        ("README.md", concat!("`..", "/shared/seed/SUMMARY.md`")),
        ("README.md", "cat ../notes.md"),
        ("crates/kirikae/tests/x.rs", "join(\"../../../../data\")"),
        ("bench/run", "cd \"$here/../../..\""),
        ("e/k/seed.py", "REPO.parent / \"shared\""),
        ("e/k/seed.py", "Path(__file__).parents[3]"),
        (
            "crates/x/tests/t.rs",
            concat!("Path::new(\"/", "work/shared/datasets\")"),
        ),
        ("scripts/x", "cp \"$top/../data\" ."),
        ("docs/x.md", concat!("open /", "home/me/file")),
    ] {
        assert!(
            !problems(file, line).is_empty(),
            "{file}: {line} not reported"
        );
    }
}
