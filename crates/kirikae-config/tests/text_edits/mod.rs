//! Random edits of a text file, shared by the property tests of the config parser
//! (`fuzz_config.rs`) and of the masking rules parser (kirikae-mask's `fuzz_rules.rs`): bytes
//! deleted, a fragment inserted, a line duplicated or swapped, a value replaced. Each test brings
//! its own fragments (what is hostile to its parser).

use proptest::prelude::*;

#[derive(Debug, Clone)]
pub enum Edit {
    Delete {
        at: usize,
        len: usize,
    },
    Insert {
        at: usize,
        text: String,
    },
    DuplicateLine {
        line: usize,
    },
    SwapLines {
        a: usize,
        b: usize,
    },
    /// Replaces what follows the last `=` of a line: a `key = value` line's value, or the last
    /// parameter of an inline table.
    ReplaceValue {
        line: usize,
        text: String,
    },
}

/// One edit, its inserted and replacing text drawn from `fragment`.
pub fn edit(fragment: BoxedStrategy<String>) -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1..40usize).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), fragment.clone()).prop_map(|(at, text)| Edit::Insert { at, text }),
        any::<usize>().prop_map(|line| Edit::DuplicateLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines { a, b }),
        (any::<usize>(), fragment).prop_map(|(line, text)| Edit::ReplaceValue { line, text }),
    ]
}

/// The nearest char boundary at or before `at % (len + 1)`.
fn boundary(text: &str, at: usize) -> usize {
    let mut i = at % (text.len() + 1);
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub fn apply(text: &mut String, e: &Edit) {
    match e {
        Edit::Delete { at, len } => {
            let a = boundary(text, *at);
            let b = boundary(text, a + len);
            if b > a {
                text.replace_range(a..b, "");
            }
        }
        Edit::Insert { at, text: t } => {
            let a = boundary(text, *at);
            text.insert_str(a, t);
        }
        Edit::DuplicateLine { line }
        | Edit::ReplaceValue { line, .. }
        | Edit::SwapLines { a: line, .. } => {
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            if lines.is_empty() {
                return;
            }
            let i = line % lines.len();
            match e {
                Edit::DuplicateLine { .. } => {
                    let l = lines[i].clone();
                    lines.insert(i, l);
                }
                Edit::SwapLines { b, .. } => {
                    let j = b % lines.len();
                    lines.swap(i, j);
                }
                Edit::ReplaceValue { text: t, .. } => {
                    if let Some(p) = lines[i].rfind('=') {
                        lines[i] = format!("{}= {t}", &lines[i][..p]);
                    }
                }
                Edit::Delete { .. } | Edit::Insert { .. } => {}
            }
            *text = lines.join("\n");
        }
    }
}
