//! Calendar months (UTC), the unit Cost Explorer bills and kirikae caches by.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A calendar month, ordered by time; shown and stored as `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// The month `time` falls in, in UTC.
    pub fn of(time: SystemTime) -> Month {
        let days = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() / 86_400) as i64;
        let (year, month) = year_month_from_days(days);
        Month { year, month }
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                month: self.month + 1,
                ..self
            }
        }
    }

    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                month: self.month - 1,
                ..self
            }
        }
    }

    /// `YYYY-MM-01`, the first day (Cost Explorer's periods start on it and end, exclusive, on
    /// the next month's).
    pub fn first_day(self) -> String {
        format!("{self}-01")
    }

    /// `count` months ending with `self`, oldest first.
    pub fn window(self, count: usize) -> Vec<Month> {
        let mut out = vec![self];
        while out.len() < count {
            let earlier = out[out.len() - 1].previous();
            out.push(earlier);
        }
        out.reverse();
        out
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl From<Month> for String {
    fn from(m: Month) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for Month {
    type Error = String;
    fn try_from(s: String) -> Result<Month, String> {
        s.parse()
    }
}

impl std::str::FromStr for Month {
    type Err = String;
    /// `YYYY-MM`, or a date `YYYY-MM-DD` (its month).
    fn from_str(s: &str) -> Result<Month, String> {
        let bad = || format!("{s:?} is not a month YYYY-MM");
        let mut parts = s.split('-');
        let year: i32 = parts.next().and_then(|y| y.parse().ok()).ok_or_else(bad)?;
        let month: u32 = parts.next().and_then(|m| m.parse().ok()).ok_or_else(bad)?;
        if !(1..=12).contains(&month) || !(1970..=9999).contains(&year) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }
}

/// (year, month) of a day counted from 1970-01-01 (Howard Hinnant's civil-from-days).
fn year_month_from_days(z: i64) -> (i32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn months_of_instants_and_windows_across_a_year() {
        // 2026-12-06T17:00:00Z
        let t = UNIX_EPOCH + Duration::from_secs(1_796_576_400);
        assert_eq!(Month::of(t).to_string(), "2026-12");
        assert_eq!(Month::of(UNIX_EPOCH).to_string(), "1970-01");
        let w: Vec<String> = "2027-02"
            .parse::<Month>()
            .unwrap()
            .window(4)
            .iter()
            .map(Month::to_string)
            .collect();
        assert_eq!(w, ["2026-11", "2026-12", "2027-01", "2027-02"]);
        assert_eq!(
            "2026-12-06".parse::<Month>().unwrap().next().first_day(),
            "2027-01-01"
        );
        assert!("2026-13".parse::<Month>().is_err());
    }
}
