//! Parsing (types, unknown keys) and the checks that span keys (an account a refresh names must
//! exist). Parse errors stop at the first; cross-key checks report every problem at once.

use std::path::{Path, PathBuf};

use toml::de::DeTable;

use crate::error::{ConfigError, Problem};
use crate::model::*;

pub(crate) fn parse(text: &str, path: &Path) -> Result<RawConfig, ConfigError> {
    let invalid = |problems| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    };
    let de = toml::Deserializer::parse(text).map_err(|e| {
        invalid(vec![Problem {
            key: String::new(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: format!("not valid TOML: {}", e.message().trim()),
        }])
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = render_path(e.path());
        let inner = e.inner();
        let line = inner
            .span()
            .map(|s| line_of(text, s.start))
            .or_else(|| span_of_key(text, &key).map(|s| line_of(text, s)));
        invalid(vec![Problem {
            message: explain(inner.message(), &key),
            key,
            line,
        }])
    })
}

/// serde's messages are close to right; these say in kirikae's words what to write instead.
fn explain(message: &str, key: &str) -> String {
    let message = message.trim();
    if message.starts_with("missing field") {
        let field = message.split('`').nth(1).unwrap_or("");
        let at = if key.is_empty() || key == "." {
            "at the top level".to_string()
        } else {
            format!("in [{key}]")
        };
        return format!("the key `{field}` is required {at}");
    }
    if let Some(rest) = message.strip_prefix("unknown field") {
        return format!("unknown key{rest}");
    }
    if let Some(rest) = message.strip_prefix("unknown variant") {
        return format!("unknown value{rest}");
    }
    message.to_string()
}

fn render_path(path: &serde_path_to_error::Path) -> String {
    let s = path.to_string();
    if s == "." {
        String::new()
    } else {
        s
    }
}

pub(crate) fn validate(raw: RawConfig, text: &str, path: &Path) -> Result<Config, ConfigError> {
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut problems = Vec::new();
    let mut problem = |key: String, message: String| {
        let line = span_of_key(text, &key).map(|s| line_of(text, s));
        problems.push(Problem { key, line, message });
    };

    if !is_region(&raw.aws.region) {
        problem(
            "aws.region".into(),
            format!(
                "expected an AWS region such as \"ap-northeast-1\", found {:?}",
                raw.aws.region
            ),
        );
    }
    if let Some(url) = &raw.aws.endpoint_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            problem(
                "aws.endpoint_url".into(),
                format!("expected a URL such as \"http://127.0.0.1:5000\", found {url:?}"),
            );
        }
    }
    if let Some(serial) = &raw.jump.mfa_serial {
        if !is_mfa_serial(serial) {
            problem(
                "jump.mfa_serial".into(),
                format!(
                    "expected an MFA device ARN such as \"arn:aws:iam::000000000000:mfa/your-user-name\" \
                     (or a hardware token serial such as GAHT12345678), found {serial:?}"
                ),
            );
        }
    }
    if raw.jump.mfa_command.is_some() && raw.jump.mfa_serial.is_none() {
        problem(
            "jump.mfa_command".into(),
            "an MFA command needs `mfa_serial` in [jump] too (the device the code is for)".into(),
        );
    }
    if !(1..=36).contains(&raw.jump.mfa_session_hours) {
        problem(
            "jump.mfa_session_hours".into(),
            format!(
                "expected a number of hours from 1 to 36 (AWS's limits for GetSessionToken), found {}",
                raw.jump.mfa_session_hours
            ),
        );
    }
    if let Some(name) = &raw.jump.session_name {
        if !is_session_name(name) {
            problem(
                "jump.session_name".into(),
                format!(
                    "expected 2 to 64 characters of letters, digits and +=,.@- (AWS's rule for role \
                     session names), found {name:?}"
                ),
            );
        }
    }

    let mut aliases = std::collections::BTreeMap::new();
    for (name, account) in &raw.accounts {
        if !is_simple_name(name) {
            problem(
                format!("accounts.{name}"),
                "account names may use letters, digits, '-' and '_' only (they become profile names)"
                    .into(),
            );
        }
        if account.role.is_empty() || account.role.contains(char::is_whitespace) {
            problem(
                format!("accounts.{name}.role"),
                format!(
                    "expected a role name such as \"ops\" or a role ARN, found {:?}",
                    account.role
                ),
            );
        } else if account.role.starts_with("arn:")
            && !account
                .role
                .starts_with(&format!("arn:aws:iam::{}:role/", account.id))
        {
            problem(
                format!("accounts.{name}.role"),
                format!(
                    "the role ARN must be in this account ({}): expected \"arn:aws:iam::{}:role/<name>\"",
                    account.id, account.id
                ),
            );
        }
        if let Some(region) = &account.region {
            if !is_region(region) {
                problem(
                    format!("accounts.{name}.region"),
                    format!("expected an AWS region such as \"ap-northeast-1\", found {region:?}"),
                );
            }
        }
        if let Some(alias) = &account.alias {
            if let Some(other) = aliases.insert(alias.clone(), name.clone()) {
                problem(
                    format!("accounts.{name}.alias"),
                    format!("the alias {alias:?} is already used by [accounts.{other}]"),
                );
            }
        }
    }

    let known = |a: &str| raw.accounts.contains_key(a);
    let known_list = raw
        .accounts
        .keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    for (name, r) in &raw.refresh {
        for (key, account) in [("source", &r.source.account), ("target", &r.target.account)] {
            if !known(account) {
                problem(
                    format!("refresh.{name}.{key}.account"),
                    format!(
                        "names the account {account:?}, which has no [accounts.{account}] section \
                         (known: {})",
                        if known_list.is_empty() {
                            "none"
                        } else {
                            &known_list
                        }
                    ),
                );
            }
        }
        if r.source.account == r.target.account && r.source.cluster == r.target.cluster {
            problem(
                format!("refresh.{name}.target.cluster"),
                "the target cluster is the source cluster: a refresh would overwrite production"
                    .into(),
            );
        }
        // A target in a protected account is allowed here: `kirikae refresh run` asks for
        // `--confirm <alias>` (the refresh replaces the target cluster).
        for (key, minutes) in [
            ("copy_minutes", r.budget.copy_minutes),
            ("step_minutes", r.budget.step_minutes),
        ] {
            if minutes == 0 {
                problem(
                    format!("refresh.{name}.budget.{key}"),
                    "a time budget of 0 minutes would fail every wait: give minutes (>= 1)".into(),
                );
            }
        }
        if r.mask_in == MaskIn::Source && r.strategy == RefreshStrategy::Clone {
            problem(
                format!("refresh.{name}.strategy"),
                "mask_in = \"source\" shares only a snapshot of the masked copy, so it cannot clone: \
                 use strategy = \"auto\" or \"snapshot\""
                    .into(),
            );
        }
        if let SwitchMethod::Cname { zone, record } = &r.switch {
            if zone.is_empty() || record.is_empty() {
                problem(
                    format!("refresh.{name}.switch"),
                    "a cname switch needs `zone` (a Route 53 hosted zone id) and `record`".into(),
                );
            }
        }
        let masking = dir.join(&r.masking);
        if !masking.is_file() {
            problem(
                format!("refresh.{name}.masking"),
                format!(
                    "the masking rules file {} does not exist (paths are relative to the config file)",
                    masking.display()
                ),
            );
        }
    }
    if raw.sweep.tag.is_empty() || raw.sweep.tag.len() > 128 || raw.sweep.tag.starts_with("aws:") {
        problem(
            "sweep.tag".into(),
            format!(
                "expected a tag key of 1 to 128 characters not starting with \"aws:\", found {:?}",
                raw.sweep.tag
            ),
        );
    }
    let jump_files = [
        ("jump.credentials_file", &raw.jump.credentials_file),
        ("jump.config_file", &raw.jump.config_file),
    ];
    for (key, file) in jump_files {
        if let Some(f) = file {
            if !dir.join(f).is_file() {
                problem(
                    key.to_string(),
                    format!(
                        "the file {} does not exist (paths are relative to the config file)",
                        dir.join(f).display()
                    ),
                );
            }
        }
    }

    if !problems.is_empty() {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        });
    }

    let resolve = |p: PathBuf| if p.is_absolute() { p } else { dir.join(p) };
    let mut jump = raw.jump;
    jump.credentials_file = jump.credentials_file.map(resolve);
    jump.config_file = jump.config_file.map(resolve);
    let refresh = raw
        .refresh
        .into_iter()
        .map(|(k, mut r)| {
            r.masking = resolve(r.masking);
            (k, r)
        })
        .collect();
    Ok(Config {
        path: path.to_path_buf(),
        aws: raw.aws,
        jump,
        state_dir: raw.state.dir.map(resolve),
        accounts: raw.accounts,
        refresh,
        sweep: raw.sweep,
    })
}

fn is_region(s: &str) -> bool {
    // e.g. ap-northeast-1, us-gov-west-1, eu-central-2
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

fn is_mfa_serial(s: &str) -> bool {
    let arn = s.starts_with("arn:aws") && s.contains(":iam::") && s.contains(":mfa/");
    let hardware = (9..=256).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
    arn || hardware
}

fn is_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_".contains(&b))
}

fn is_simple_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// The byte offset of the deepest key of `path` (dotted, as rendered) that exists in the file,
/// so a message can point at a line even for checks that run after parsing.
fn span_of_key(text: &str, path: &str) -> Option<usize> {
    let parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    key_offset(text, &parts)
}

/// The byte offset of the deepest key of `parts` found in the TOML `text`.
pub(crate) fn key_offset(text: &str, parts: &[&str]) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let mut found = None;
    for part in parts {
        let (key, value) = table.get_key_value(*part)?;
        found = Some(key.span().start);
        match value.get_ref().as_table() {
            Some(t) => table = t,
            None => break,
        }
    }
    found
}

/// The 1-based line of the deepest key of `parts` found in the TOML `text` (for messages about
/// other TOML files too, such as masking rules).
pub fn line_of_key(text: &str, parts: &[&str]) -> Option<usize> {
    key_offset(text, parts).map(|o| line_of(text, o))
}
