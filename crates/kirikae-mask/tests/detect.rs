//! Detection measured on a labelled set (tests/data/detect_labelled.tsv, written by
//! tests/data/detect_labelled.py): precision and recall of `detect::kind_of_value` per kind,
//! with floors. The numbers are recorded in bench/mask/DETECT.md; print them with
//! `cargo test --workspace --locked --test detect -- --nocapture`.

use std::collections::BTreeMap;

use kirikae_mask::detect::{kind_of_value, Kind};

struct Score {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Score {
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
}

#[test]
fn precision_and_recall_per_kind_on_the_labelled_set() {
    let set = include_str!("data/detect_labelled.tsv");
    let mut scores: BTreeMap<Kind, Score> = Kind::ALL
        .into_iter()
        .map(|k| {
            (
                k,
                Score {
                    tp: 0,
                    fp: 0,
                    fn_: 0,
                },
            )
        })
        .collect();
    let mut misses = Vec::new();
    let mut negatives = 0;
    for line in set.lines() {
        let (label, value) = line.split_once('\t').expect("kind<TAB>value");
        let label = if label == "none" {
            negatives += 1;
            None
        } else {
            Some(Kind::parse(label).unwrap_or_else(|| panic!("unknown kind {label}")))
        };
        let got = kind_of_value(value);
        if got != label {
            misses.push(format!("{label:?} {value:?} -> {got:?}"));
        }
        for (k, s) in scores.iter_mut() {
            match (label == Some(*k), got == Some(*k)) {
                (true, true) => s.tp += 1,
                (false, true) => s.fp += 1,
                (true, false) => s.fn_ += 1,
                _ => {}
            }
        }
    }
    println!("{negatives} hard negatives; misclassified:");
    for m in &misses {
        println!("  {m}");
    }
    println!("| kind | values | precision | recall |\n|---|---:|---:|---:|");
    for (k, s) in &scores {
        println!(
            "| {} | {} | {:.3} | {:.3} |",
            k.as_str(),
            s.tp + s.fn_,
            s.precision(),
            s.recall()
        );
    }
    // Floors: a change to a detector that loses precision or recall fails here.
    for (k, s) in &scores {
        let (p, r) = match k {
            Kind::PersonName => (0.95, 0.80),
            Kind::Address => (0.95, 0.85),
            _ => (0.97, 0.95),
        };
        assert!(s.tp + s.fn_ >= 30, "{k:?}: too few labelled values");
        assert!(
            s.precision() >= p && s.recall() >= r,
            "{}: precision {:.3} (floor {p}), recall {:.3} (floor {r}); misclassified: {misses:#?}",
            k.as_str(),
            s.precision(),
            s.recall()
        );
    }
}
