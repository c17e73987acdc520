//! Writes switch-role profiles into an AWS config file (`~/.aws/config`), changing only the
//! profiles kirikae manages and only their keys: every other byte of the file stays as it was.

use std::path::{Path, PathBuf};

/// One profile to write: its name (without the `profile ` prefix) and its keys in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub keys: Vec<(String, String)>,
}

/// What writing the profiles did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProfilesOutcome {
    pub file: PathBuf,
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub backup: Option<PathBuf>,
}

const MARK: &str = "# managed by kirikae: `kirikae accounts profiles` rewrites the keys it wrote";

/// Returns `text` with `profiles` added or updated, and which were added/updated/unchanged.
pub fn merge(text: &str, profiles: &[Profile]) -> (String, Vec<String>, Vec<String>, Vec<String>) {
    let mut lines: Vec<String> = split_keep_newlines(text);
    let (mut added, mut updated, mut unchanged) = (vec![], vec![], vec![]);
    for p in profiles {
        let header = format!("profile {}", p.name);
        match find_section(&lines, &header) {
            Some((start, end)) => {
                let before = lines[start..end].concat();
                let section = update_section(&lines[start..end], &p.keys);
                lines.splice(start..end, section);
                let end2 = find_section(&lines, &header).map_or(end, |(_, e)| e);
                if lines[start..end2].concat() == before {
                    unchanged.push(p.name.clone());
                } else {
                    updated.push(p.name.clone());
                }
            }
            None => {
                if let Some(last) = lines.last_mut() {
                    if !last.ends_with('\n') {
                        last.push('\n');
                    }
                }
                if !lines.is_empty() && lines.last().is_some_and(|l| !l.trim().is_empty()) {
                    lines.push("\n".into());
                }
                lines.push(format!("[{header}]\n"));
                lines.push(format!("{MARK}\n"));
                for (k, v) in &p.keys {
                    lines.push(format!("{k} = {v}\n"));
                }
                added.push(p.name.clone());
            }
        }
    }
    (lines.concat(), added, updated, unchanged)
}

/// Writes the profiles to `file`, backing it up first when it changes.
pub fn write(
    file: &Path,
    profiles: &[Profile],
    now_stamp: &str,
) -> std::io::Result<ProfilesOutcome> {
    let old = match std::fs::read_to_string(file) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let (new, added, updated, unchanged) = merge(old.as_deref().unwrap_or(""), profiles);
    let mut backup = None;
    if old.as_deref() != Some(new.as_str()) {
        if let Some(old) = &old {
            let b = PathBuf::from(format!("{}.kirikae-backup-{now_stamp}", file.display()));
            std::fs::write(&b, old)?;
            backup = Some(b);
        }
        write_keeping_mode(file, new.as_bytes())?;
    }
    Ok(ProfilesOutcome {
        file: file.to_path_buf(),
        added,
        updated,
        unchanged,
        backup,
    })
}

fn write_keeping_mode(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mode = std::fs::metadata(file)
        .map(|m| m.permissions().mode())
        .unwrap_or(0o600);
    let tmp = dir.join(format!(".kirikae-profiles.{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&tmp, file)
}

fn split_keep_newlines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

fn section_name(line: &str) -> Option<String> {
    let t = line.trim();
    let inner = t.strip_prefix('[')?.split(']').next()?;
    // "[profile   x]" and "[profile x]" are the same section to the AWS CLI.
    Some(inner.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The lines [start, end) of the section named `header`, header line included.
fn find_section(lines: &[String], header: &str) -> Option<(usize, usize)> {
    let start = lines
        .iter()
        .position(|l| section_name(l).as_deref() == Some(header))?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| section_name(l).is_some())
        .map_or(lines.len(), |i| start + 1 + i);
    Some((start, end))
}

fn key_of(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if t.starts_with('#') || t.starts_with(';') || line.starts_with([' ', '\t']) {
        return None;
    }
    let (k, _) = t.split_once('=')?;
    Some(k.trim())
}

fn update_section(section: &[String], keys: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(section.len() + keys.len());
    let mut written = vec![false; keys.len()];
    for line in section {
        if let Some(k) = key_of(line) {
            if let Some(i) = keys.iter().position(|(key, _)| key == k) {
                if !written[i] {
                    let (key, value) = &keys[i];
                    let new = format!("{key} = {value}\n");
                    // Keep the line as it is when only spacing differs.
                    let same = line.split_once('=').map(|(_, v)| v.trim()) == Some(value.as_str());
                    out.push(if same { line.clone() } else { new });
                    written[i] = true;
                }
                continue;
            }
        }
        out.push(line.clone());
    }
    // Missing keys go after the section's last non-blank line.
    let insert_at = out
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(out.len(), |i| i + 1);
    if let Some(last) = out.get_mut(insert_at.saturating_sub(1)) {
        if !last.ends_with('\n') {
            last.push('\n');
        }
    }
    let missing: Vec<String> = keys
        .iter()
        .zip(&written)
        .filter(|(_, w)| !**w)
        .map(|((k, v), _)| format!("{k} = {v}\n"))
        .collect();
    out.splice(insert_at..insert_at, missing);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prod() -> Profile {
        Profile {
            name: "prod".into(),
            keys: vec![
                (
                    "role_arn".into(),
                    "arn:aws:iam::111111111111:role/ops".into(),
                ),
                ("source_profile".into(), "jump".into()),
                ("region".into(), "ap-northeast-1".into()),
            ],
        }
    }

    const USER_FILE: &str = "# my settings\n[default]\nregion = us-east-1\noutput = json\n\n[profile other]\nrole_arn = x\n  nested = 1\n";

    #[test]
    fn appends_new_profiles_and_keeps_the_rest_byte_for_byte() {
        let (out, added, updated, _) = merge(USER_FILE, &[prod()]);
        assert!(out.starts_with(USER_FILE), "{out}");
        assert_eq!(added, ["prod"]);
        assert!(updated.is_empty());
        assert!(out.contains("[profile prod]\n"));
        assert!(out.contains("role_arn = arn:aws:iam::111111111111:role/ops\n"));
    }

    #[test]
    fn second_run_changes_nothing() {
        let (once, ..) = merge(USER_FILE, &[prod()]);
        let (twice, added, updated, unchanged) = merge(&once, &[prod()]);
        assert_eq!(once, twice);
        assert!(added.is_empty() && updated.is_empty());
        assert_eq!(unchanged, ["prod"]);
    }

    #[test]
    fn updates_only_its_keys_in_an_existing_profile() {
        let text = "[profile prod]\nrole_arn = old\noutput = table\n\n[profile z]\na = b\n";
        let (out, _, updated, _) = merge(text, &[prod()]);
        assert_eq!(updated, ["prod"]);
        assert_eq!(
            out,
            "[profile prod]\nrole_arn = arn:aws:iam::111111111111:role/ops\noutput = table\n\
             source_profile = jump\nregion = ap-northeast-1\n\n[profile z]\na = b\n"
        );
    }

    #[test]
    fn a_file_without_a_final_newline_is_handled() {
        let (out, ..) = merge("[default]\nregion = x", &[prod()]);
        assert!(
            out.starts_with("[default]\nregion = x\n\n[profile prod]\n"),
            "{out}"
        );
    }

    #[test]
    fn write_backs_up_before_changing_and_not_when_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        std::fs::write(&file, USER_FILE).unwrap();
        let o = write(&file, &[prod()], "t1").unwrap();
        let backup = o.backup.expect("a backup");
        assert_eq!(std::fs::read_to_string(backup).unwrap(), USER_FILE);
        let o2 = write(&file, &[prod()], "t2").unwrap();
        assert!(o2.backup.is_none());
        assert_eq!(o2.unchanged, ["prod"]);
    }
}
