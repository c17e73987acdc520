//! Parsing (types, unknown keys) and the checks that span keys (an account a refresh names must
//! exist). Parse errors stop at the first; cross-key checks report every problem at once.

use std::collections::BTreeMap;
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

    check_unattended(&raw.jump, text, &mut problem);
    if let Some(b) = &raw.bootstrap {
        check_bootstrap(b, &raw.accounts, &mut problem);
    }
    if let Some(notify) = &raw.notify {
        check_notify(notify, &dir, &mut problem);
    }

    for (key, value) in strings_with_hidden_characters(text) {
        problem(
            key,
            format!(
                "holds a control or right-to-left character ({value}): such characters hide what a \
                 name really is; write it in visible characters"
            ),
        );
    }

    let mut aliases = std::collections::BTreeMap::new();
    let mut ids: std::collections::BTreeMap<&AccountId, &String> =
        std::collections::BTreeMap::new();
    for (name, account) in &raw.accounts {
        if !is_simple_name(name) || name.len() > 64 {
            problem(
                format!("accounts.{name}"),
                format!(
                    "account names are 1 to 64 letters, digits, '-' and '_' (they become profile \
                     names), found {name:?}"
                ),
            );
        }
        if let Some(other) = ids.insert(&account.id, name) {
            problem(
                format!("accounts.{name}.id"),
                format!(
                    "the account id {} is also the id of [accounts.{other}]: one account, one \
                     entry (a second entry without `protected` would unprotect it)",
                    account.id
                ),
            );
        }
        if let Err(why) = check_role(&account.role, &account.id) {
            problem(format!("accounts.{name}.role"), why);
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
            if alias.trim().is_empty() || alias.chars().count() > 64 {
                problem(
                    format!("accounts.{name}.alias"),
                    format!("expected an alias of 1 to 64 visible characters, found {alias:?}"),
                );
            }
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
        if let Err(why) = check_identifier(name, MAX_REFRESH_NAME) {
            problem(
                format!("refresh.{name}"),
                format!(
                    "a refresh name {why} (it becomes a folder of the state directory and part of \
                     RDS identifiers such as kirikae-<name>-<run id>-mask-1, at most 63 characters): \
                     found {name:?}"
                ),
            );
        }
        if let Err(why) = check_identifier(&r.source.cluster, 63) {
            problem(
                format!("refresh.{name}.source.cluster"),
                format!(
                    "a DB cluster identifier {why}: found {:?}",
                    r.source.cluster
                ),
            );
        }
        if let Err(why) = check_identifier(&r.target.cluster, MAX_TARGET_CLUSTER) {
            problem(
                format!("refresh.{name}.target.cluster"),
                format!(
                    "a target DB cluster identifier {why} (a run renames it <cluster>-retired-<run id>, \
                     which must fit RDS's 63 characters): found {:?}",
                    r.target.cluster
                ),
            );
        }
        let names = [
            ("target.subnet_group", Some(&r.target.subnet_group)),
            ("target.instance_class", Some(&r.target.instance_class)),
            ("target.kms_key", r.target.kms_key.as_ref()),
            ("target.parameter_group", r.target.parameter_group.as_ref()),
            ("source.kms_key", r.source.kms_key.as_ref()),
            ("source.subnet_group", r.source.subnet_group.as_ref()),
        ];
        for (key, value) in names {
            if let Some(v) = value {
                if v.is_empty() || v.len() > 255 || v.contains(char::is_whitespace) {
                    problem(
                        format!("refresh.{name}.{key}"),
                        format!("expected a name or id of 1 to 255 characters without spaces, found {v:?}"),
                    );
                }
            }
        }
        for (key, groups) in [
            ("target.security_groups", &r.target.security_groups),
            ("source.security_groups", &r.source.security_groups),
        ] {
            for g in groups {
                if g.is_empty() || g.len() > 255 || g.contains(char::is_whitespace) {
                    problem(
                        format!("refresh.{name}.{key}"),
                        format!("expected security group ids such as \"sg-0123456789abcdef0\", found {g:?}"),
                    );
                }
            }
        }
        if r.removed_connect.is_some() {
            problem(
                format!("refresh.{name}.connect"),
                format!(
                    "`connect.via` (one fixed host:port) was replaced by `tunnel`: the clusters a \
                     run makes are new, so kirikae now starts a tunnel to each one itself. Remove \
                     [refresh.{name}.connect] and set in [refresh.{name}], e.g. \
                     tunnel = \"ssh -N -L {{local_port}}:{{host}}:{{port}} bastion\" (or no tunnel \
                     when kirikae runs inside the VPC); see docs/refresh.md, \"Tunnels\""
                ),
            );
        }
        if let Some(t) = &r.tunnel {
            if let Err(why) = check_tunnel_template(t) {
                problem(format!("refresh.{name}.tunnel"), why);
            }
        }
        if !(1..=MAX_TUNNEL_WAIT_SECONDS).contains(&r.tunnel_wait_seconds) {
            problem(
                format!("refresh.{name}.tunnel_wait_seconds"),
                format!(
                    "expected seconds from 1 to {MAX_TUNNEL_WAIT_SECONDS} for the tunnel command to \
                     accept connections, found {}",
                    r.tunnel_wait_seconds
                ),
            );
        }
        match &r.ca_bundle {
            Some(f) if !dir.join(f).is_file() => problem(
                format!("refresh.{name}.ca_bundle"),
                format!(
                    "the CA bundle {} does not exist (paths are relative to the config file); for \
                     RDS and Aurora download {RDS_CA_BUNDLE_URL}",
                    dir.join(f).display()
                ),
            ),
            None if r.tls.verifies() => problem(
                format!("refresh.{name}.tls"),
                format!(
                    "tls = \"{}\" checks the clusters' certificates and needs `ca_bundle` (a PEM file \
                     of CA certificates, relative to the config file): for RDS and Aurora download \
                     the global bundle {RDS_CA_BUNDLE_URL} beside kirikae.toml and set \
                     ca_bundle = \"global-bundle.pem\" in [refresh.{name}]",
                    r.tls.name()
                ),
            ),
            _ => {}
        }
        if r.keep_retired > MAX_KEEP_RETIRED {
            problem(
                format!("refresh.{name}.keep_retired"),
                format!(
                    "expected a number of retired clusters from 0 to {MAX_KEEP_RETIRED}, found {}",
                    r.keep_retired
                ),
            );
        }
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
        for (key, minutes, max) in [
            ("copy_minutes", r.budget.copy_minutes, MAX_COPY_MINUTES),
            ("step_minutes", r.budget.step_minutes, MAX_STEP_MINUTES),
        ] {
            if !(1..=max).contains(&minutes) {
                problem(
                    format!("refresh.{name}.budget.{key}"),
                    format!(
                        "expected minutes from 1 to {max} ({} days; 0 would fail every wait), found {minutes}",
                        max / (24 * 60)
                    ),
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
    check_audit(&raw, &mut problem);
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
            r.ca_bundle = r.ca_bundle.map(resolve);
            (k, r)
        })
        .collect();
    let notify = raw.notify.map(|mut n| {
        n.url_file = n.url_file.map(resolve);
        n
    });
    Ok(Config {
        path: path.to_path_buf(),
        aws: raw.aws,
        jump,
        state_dir: raw.state.dir.map(resolve),
        accounts: raw.accounts,
        refresh,
        sweep: raw.sweep,
        notify,
        audit: raw.audit,
        bootstrap: raw.bootstrap,
    })
}

/// A tag key as AWS accepts it on every service: 1 to 128 characters, not the reserved `aws:`.
fn check_tag_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > 128 || key.to_ascii_lowercase().starts_with("aws:") {
        return Err(format!(
            "expected a tag key of 1 to 128 characters not starting with \"aws:\", found {key:?}"
        ));
    }
    Ok(())
}

/// `[audit] required_tags` and every `[accounts.<name>] tags`: keys AWS would accept, no key
/// twice under two spellings (`env` and `Env` would each be required, and no resource can
/// satisfy a key it spells the other way), values of at most 256 characters.
fn check_audit(raw: &RawConfig, problem: &mut impl FnMut(String, String)) {
    check_audit_cost(raw, problem);
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (i, key) in raw.audit.required_tags.iter().enumerate() {
        let at = format!("audit.required_tags[{i}]");
        if let Err(e) = check_tag_key(key) {
            problem(at, e);
        } else if let Some(first) = seen.insert(key.to_lowercase(), key) {
            problem(
                at,
                format!(
                    "{key:?} is {first:?} again (tag keys are case-sensitive, but two spellings of one \
                     key split cost): keep one spelling"
                ),
            );
        }
    }
    for (name, account) in &raw.accounts {
        for (key, value) in &account.tags {
            let at = format!("accounts.{name}.tags.{key}");
            if let Err(e) = check_tag_key(key) {
                problem(at, e);
            } else if value.chars().count() > 256 {
                problem(
                    at,
                    format!(
                        "a tag value has at most 256 characters, found {}",
                        value.chars().count()
                    ),
                );
            } else if let Some(spelt) = seen
                .get(&key.to_lowercase())
                .filter(|spelt| **spelt != key.as_str())
            {
                problem(
                    at,
                    format!(
                        "[audit] required_tags spells this key {spelt:?}: use the same spelling here"
                    ),
                );
            }
        }
    }
}

/// `[jump] unattended = true` takes the SDK's default chain and never asks anything: every key
/// that configures a person's sign-in contradicts it. Each is named with what to do instead.
fn check_unattended(jump: &JumpSettings, text: &str, problem: &mut impl FnMut(String, String)) {
    let present = |key: &str| key_offset(text, &["jump", key]).is_some();
    if !jump.unattended {
        if present("web_identity_session_hours") {
            problem(
                "jump.web_identity_session_hours".into(),
                "applies only to `unattended = true` (a person's credentials are not a web \
                 identity): remove it, or set unattended = true"
                    .into(),
            );
        }
        return;
    }
    if !(1..=MAX_WEB_IDENTITY_SESSION_HOURS).contains(&jump.web_identity_session_hours) {
        problem(
            "jump.web_identity_session_hours".into(),
            format!(
                "expected a number of hours from 1 to {MAX_WEB_IDENTITY_SESSION_HOURS} (AWS's \
                 limits for AssumeRoleWithWebIdentity; the runner role's MaxSessionDuration must \
                 allow it), found {}",
                jump.web_identity_session_hours
            ),
        );
    }
    let mfa = "an unattended run has no person to type an MFA code: remove it, and let the \
               per-account roles trust the runner's role without an MFA condition (docs/config.md, \
               \"Unattended runs\"); keep the MFA settings in the config people use";
    for key in ["mfa_serial", "mfa_command", "mfa_session_hours"] {
        if present(key) {
            problem(
                format!("jump.{key}"),
                format!("contradicts `unattended = true`: {mfa}"),
            );
        }
    }
    for key in ["profile", "credentials_file", "config_file"] {
        if present(key) {
            problem(
                format!("jump.{key}"),
                "contradicts `unattended = true`, which takes the SDK's default chain \
                 (environment, web identity, container, instance profile, SSO): remove it; to \
                 pick a profile of the shared files, set AWS_PROFILE (and AWS_CONFIG_FILE) in \
                 the job's environment"
                    .to_string(),
            );
        }
    }
}

/// AWS's bounds: `aws:MultiFactorAuthAge` cannot exceed the 36 hours of a GetSessionToken session,
/// a role's MaxSessionDuration is 1 to 12 hours.
pub const MAX_MFA_AGE_SECONDS: u32 = 129_600;
pub const MAX_ROLE_SESSION_HOURS: u32 = 12;

/// `[bootstrap]`: the numbers within AWS's bounds and the protected ones no looser; names AWS
/// accepts; and every account's `role` one that bootstrap makes (else the roles kirikae assumes
/// and the roles bootstrap emits would be two different structures).
fn check_bootstrap(
    b: &BootstrapSettings,
    accounts: &std::collections::BTreeMap<String, AccountSettings>,
    problem: &mut impl FnMut(String, String),
) {
    let path_ok = b.path.len() <= 512
        && b.path.starts_with('/')
        && b.path.ends_with('/')
        && !b.path.contains("//")
        && b.path
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"/+=,.@_-".contains(&c));
    if !path_ok {
        problem(
            "bootstrap.path".into(),
            format!(
                "expected an IAM path such as \"/kirikae/\" (starting and ending with '/', letters, \
                 digits and +=,.@_-), found {:?}",
                b.path
            ),
        );
    }
    for (key, value) in [
        ("mfa_max_age_seconds", b.mfa_max_age_seconds),
        (
            "protected_mfa_max_age_seconds",
            b.protected_mfa_max_age_seconds,
        ),
    ] {
        if !(60..=MAX_MFA_AGE_SECONDS).contains(&value) {
            problem(
                format!("bootstrap.{key}"),
                format!(
                    "expected seconds from 60 to {MAX_MFA_AGE_SECONDS} (36 hours, the longest MFA \
                     session AWS gives), found {value}"
                ),
            );
        }
    }
    if b.protected_mfa_max_age_seconds > b.mfa_max_age_seconds {
        problem(
            "bootstrap.protected_mfa_max_age_seconds".into(),
            format!(
                "a protected account would accept an older MFA sign-in ({} s) than an ordinary one \
                 ({} s): make it at most mfa_max_age_seconds",
                b.protected_mfa_max_age_seconds, b.mfa_max_age_seconds
            ),
        );
    }
    let mut hours = vec![
        (
            "bootstrap.max_session_hours".to_string(),
            b.max_session_hours,
        ),
        (
            "bootstrap.protected_max_session_hours".to_string(),
            b.protected_max_session_hours,
        ),
    ];
    if let Some(r) = &b.runner {
        hours.push((
            "bootstrap.runner.max_session_hours".into(),
            r.max_session_hours,
        ));
    }
    for (key, value) in hours {
        if !(1..=MAX_ROLE_SESSION_HOURS).contains(&value) {
            problem(
                key,
                format!(
                    "expected hours from 1 to {MAX_ROLE_SESSION_HOURS} (AWS's bounds of a role's \
                     MaxSessionDuration), found {value}"
                ),
            );
        }
    }
    if b.protected_max_session_hours > b.max_session_hours {
        problem(
            "bootstrap.protected_max_session_hours".into(),
            format!(
                "a protected account's sessions would last longer ({} h) than an ordinary one's \
                 ({} h): make it at most max_session_hours",
                b.protected_max_session_hours, b.max_session_hours
            ),
        );
    }
    if b.role_kinds.is_empty() {
        problem(
            "bootstrap.role_kinds".into(),
            "bootstrap needs at least one switch-role kind, e.g. [bootstrap.role_kinds.ops] with \
             managed_policies = [\"arn:aws:iam::aws:policy/PowerUserAccess\"]"
                .into(),
        );
    }
    let mut groups = std::collections::BTreeMap::new();
    for (role, kind) in &b.role_kinds {
        if !is_iam_name(role, 64) {
            problem(
                format!("bootstrap.role_kinds.{role}"),
                format!("a role kind is a role name: 1 to 64 letters, digits and +=,.@_-, found {role:?}"),
            );
        }
        let group = kind.group_name(role);
        if !is_iam_name(&group, 128) {
            problem(
                format!("bootstrap.role_kinds.{role}.group"),
                format!("expected a group name of 1 to 128 letters, digits and +=,.@_-, found {group:?}"),
            );
        }
        if let Some(other) = groups.insert(group.clone(), role.clone()) {
            problem(
                format!("bootstrap.role_kinds.{role}.group"),
                format!(
                    "the group {group:?} is also the group of role kind {other:?}: one group per \
                     kind, so each group's policy names exactly its roles"
                ),
            );
        }
        check_policy_arns(
            &format!("bootstrap.role_kinds.{role}.managed_policies"),
            &kind.managed_policies,
            problem,
        );
    }
    if let Some(r) = &b.runner {
        if !is_iam_name(&r.role, 64) {
            problem(
                "bootstrap.runner.role".into(),
                format!(
                    "expected a role name of 1 to 64 letters, digits and +=,.@_-, found {:?}",
                    r.role
                ),
            );
        }
        if b.role_kinds.contains_key(&r.role) {
            problem(
                "bootstrap.runner.role".into(),
                format!(
                    "{:?} is also a switch-role kind: the runner's role trusts one principal without \
                     MFA and must not be the people's role; give it another name",
                    r.role
                ),
            );
        }
        let principal_ok = r
            .principal
            .split_once(":iam::")
            .is_some_and(|(partition, rest)| {
                partition.starts_with("arn:aws")
                    && rest.len() > 18
                    && rest.as_bytes()[..12].iter().all(u8::is_ascii_digit)
                    && rest[12..].starts_with(":role/")
                    && !rest.contains('*')
            });
        if !principal_ok {
            problem(
                "bootstrap.runner.principal".into(),
                format!(
                    "expected the ARN of the one role the runner's credentials are, such as \
                     \"arn:aws:iam::000000000000:role/ci-nightly\" (no wildcards: the runner's role \
                     has no MFA condition, so its trust must name one principal), found {:?}",
                    r.principal
                ),
            );
        }
        check_policy_arns(
            "bootstrap.runner.managed_policies",
            &r.managed_policies,
            problem,
        );
    }
    let runner_role = b.runner.as_ref().map(|r| r.role.as_str());
    let kinds = b
        .role_kinds
        .keys()
        .map(String::as_str)
        .chain(runner_role)
        .collect::<Vec<_>>()
        .join(", ");
    for (name, account) in accounts {
        let role = account.role_name();
        if !b.role_kinds.contains_key(role) && Some(role) != runner_role {
            problem(
                format!("accounts.{name}.role"),
                format!(
                    "the role {role:?} is not one bootstrap makes (role kinds and runner: {kinds}): \
                     add [bootstrap.role_kinds.{role}], or name one of those"
                ),
            );
            continue;
        }
        // A role with a path is assumed by its full ARN, path included.
        let expected = format!("arn:aws:iam::{}:role{}{role}", account.id, b.path);
        if b.path != "/" && account.role != expected {
            problem(
                format!("accounts.{name}.role"),
                format!(
                    "bootstrap puts the roles under the IAM path {:?}, which is part of their ARN: \
                     write role = {expected:?}",
                    b.path
                ),
            );
        }
    }
}

fn is_iam_name(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

fn check_policy_arns(key: &str, arns: &[String], problem: &mut impl FnMut(String, String)) {
    for arn in arns {
        let ok = arn.starts_with("arn:aws")
            && arn.contains(":iam::")
            && arn.contains(":policy/")
            && !arn.contains('*')
            && !arn.contains(char::is_whitespace);
        if !ok {
            problem(
                key.to_string(),
                format!(
                    "expected managed policy ARNs such as \"arn:aws:iam::aws:policy/ReadOnlyAccess\", \
                     found {arn:?}"
                ),
            );
        }
    }
}

/// AWS's cap of a web identity session (a role's MaxSessionDuration is at most 12 hours).
pub const MAX_WEB_IDENTITY_SESSION_HOURS: u32 = 12;

/// Bounds of the `[notify]` numbers: beyond them a run would wait minutes for a webhook.
pub const MAX_NOTIFY_ATTEMPTS: u32 = 10;
pub const MAX_NOTIFY_BACKOFF_SECONDS: u64 = 60;
pub const MAX_NOTIFY_TIMEOUT_SECONDS: u64 = 60;

/// The webhook URL is a secret: it comes from exactly one of `url_env` and `url_file`, never
/// inline (a config file is committed, shared and printed by `kirikae config show`).
fn check_notify(n: &NotifySettings, dir: &Path, problem: &mut impl FnMut(String, String)) {
    if n.inline_url.is_some() {
        problem(
            "notify.url".into(),
            "the webhook URL is a secret (anyone who has it can post to the channel) and does not \
             belong in the config file: put it in an environment variable and name that with \
             url_env = \"KIRIKAE_NOTIFY_URL\", or in a file readable only by the runner and name \
             it with url_file = \"<path>\""
                .into(),
        );
    }
    match (&n.url_env, &n.url_file) {
        (Some(_), Some(_)) => problem(
            "notify.url_file".into(),
            "give the webhook URL one way: `url_env` or `url_file`, not both".into(),
        ),
        (None, None) if n.inline_url.is_none() => problem(
            "notify".into(),
            "[notify] needs the webhook URL: url_env = \"KIRIKAE_NOTIFY_URL\" (an environment \
             variable holding it) or url_file = \"<path>\" (a file holding it)"
                .into(),
        ),
        _ => {}
    }
    if let Some(var) = &n.url_env {
        let ok = var
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok {
            problem(
                "notify.url_env".into(),
                format!(
                    "expected the name of an environment variable such as \"KIRIKAE_NOTIFY_URL\" \
                     (letters, digits and _; the URL itself goes in the variable), found {var:?}"
                ),
            );
        }
    }
    if let Some(f) = &n.url_file {
        if !dir.join(f).is_file() {
            problem(
                "notify.url_file".into(),
                format!(
                    "the file {} does not exist (paths are relative to the config file)",
                    dir.join(f).display()
                ),
            );
        }
    }
    let bounds = [
        (
            "attempts",
            u64::from(n.attempts),
            1,
            u64::from(MAX_NOTIFY_ATTEMPTS),
        ),
        (
            "backoff_seconds",
            n.backoff_seconds,
            0,
            MAX_NOTIFY_BACKOFF_SECONDS,
        ),
        (
            "timeout_seconds",
            n.timeout_seconds,
            1,
            MAX_NOTIFY_TIMEOUT_SECONDS,
        ),
    ];
    for (key, value, low, high) in bounds {
        if !(low..=high).contains(&value) {
            problem(
                format!("notify.{key}"),
                format!("expected a number from {low} to {high}, found {value}"),
            );
        }
    }
}

/// Upper bounds of the numeric settings: beyond them a value is a typo, and durations computed
/// from them stay far from overflowing.
pub const MAX_COPY_MINUTES: u64 = 7 * 24 * 60;
pub const MAX_STEP_MINUTES: u64 = 24 * 60;
pub const MAX_KEEP_RETIRED: u32 = 100;
pub const MAX_TUNNEL_WAIT_SECONDS: u64 = 600;
/// Where RDS publishes the certificates of every region (the `ca_bundle` users download).
pub const RDS_CA_BUNDLE_URL: &str =
    "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";
/// The placeholders of a `tunnel` command: the cluster's endpoint name and port, and the
/// loopback port kirikae picked for the command to listen on.
pub const TUNNEL_PLACEHOLDERS: [&str; 3] = ["host", "port", "local_port"];

/// The placeholders of a tunnel command in order of appearance, with their byte offsets:
/// `{name}` not preceded by `$` (`${VAR}` is the shell's).
pub fn tunnel_placeholders(template: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let bytes = template.as_bytes();
    let mut i = 0;
    while let Some(open) = template[i..].find('{').map(|o| o + i) {
        let Some(close) = template[open..].find('}').map(|c| c + open) else {
            break;
        };
        if open == 0 || bytes[open - 1] != b'$' {
            out.push((open, &template[open + 1..close]));
        }
        i = close + 1;
    }
    out
}

/// A tunnel command must say where to listen (`{local_port}`) and what to reach (`{host}`),
/// and use no placeholder kirikae does not fill. `Err` says what to write.
pub fn check_tunnel_template(template: &str) -> Result<(), String> {
    let example = "e.g. \"ssh -N -L {local_port}:{host}:{port} bastion\"";
    if template.trim().is_empty() {
        return Err(format!("expected a command, {example}"));
    }
    let found = tunnel_placeholders(template);
    if let Some((_, unknown)) = found.iter().find(|(_, p)| !TUNNEL_PLACEHOLDERS.contains(p)) {
        return Err(format!(
            "unknown placeholder {{{unknown}}}: a tunnel command knows {{host}}, {{port}} and \
             {{local_port}} (write ${{VAR}} for a shell variable), {example}"
        ));
    }
    for (needed, why) in [
        ("local_port", "the loopback port kirikae connects to"),
        (
            "host",
            "the endpoint of the cluster to reach: the clusters a run makes are new",
        ),
    ] {
        if !found.iter().any(|(_, p)| *p == needed) {
            return Err(format!(
                "the command does not contain {{{needed}}} ({why}), {example}"
            ));
        }
    }
    Ok(())
}
/// `kirikae-<name>-<run id>-mask-1` (run ids are 20 characters) must fit RDS's 63.
pub const MAX_REFRESH_NAME: usize = 63 - "kirikae--".len() - RUN_ID_LEN - "-mask-1".len();
/// `<cluster>-retired-<run id>` must fit RDS's 63.
pub const MAX_TARGET_CLUSTER: usize = 63 - "-retired-".len() - RUN_ID_LEN;
/// `20261125-040012-3f2a`
const RUN_ID_LEN: usize = 20;

/// AWS's rule for DB cluster (and snapshot) identifiers: 1 to `max` letters, digits and hyphens,
/// a letter first, no hyphen last and no two hyphens in a row. `Err` says what is expected.
fn check_identifier(s: &str, max: usize) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && s.as_bytes()[0].is_ascii_alphabetic()
        && !s.ends_with('-')
        && !s.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "is 1 to {max} letters, digits and hyphens, starting with a letter, with no hyphen at \
             the end and no two hyphens in a row"
        ))
    }
}

/// A role name (AWS: 1 to 64 of letters, digits and `+=,.@_-`) or the ARN of a role of `id`.
fn check_role(role: &str, id: &AccountId) -> Result<(), String> {
    let name_ok = |n: &str| {
        (1..=64).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    };
    if let Some(rest) = role.strip_prefix("arn:") {
        let prefix_ok = ["aws", "aws-cn", "aws-us-gov"]
            .iter()
            .any(|p| rest.starts_with(&format!("{p}:iam::{id}:role/")));
        let name = role.rsplit('/').next().unwrap_or("");
        let path_ok = role.split_once(":role/").is_some_and(|(_, p)| {
            p.len() <= 512
                && p.split('/')
                    .all(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_graphic()))
        });
        if !prefix_ok {
            return Err(format!(
                "the role ARN must be in this account ({id}): expected \"arn:aws:iam::{id}:role/<name>\", \
                 found {role:?}"
            ));
        }
        if !name_ok(name) || !path_ok {
            return Err(format!(
                "expected a role ARN such as \"arn:aws:iam::{id}:role/ops\" (a name of 1 to 64 \
                 letters, digits and +=,.@_-), found {role:?}"
            ));
        }
        Ok(())
    } else if name_ok(role) {
        Ok(())
    } else {
        Err(format!(
            "expected a role name of 1 to 64 letters, digits and +=,.@_- such as \"ops\" (or a \
             role ARN), found {role:?}"
        ))
    }
}

/// Characters that make a name look like something else: C0/C1 controls (NUL included) and the
/// Unicode bidirectional controls that reorder text on screen.
fn is_hidden_char(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Every key or string value of the file (as a dotted key path) holding a hidden character, with
/// the first such character escaped. Keys may not hold tabs or line breaks either.
fn strings_with_hidden_characters(text: &str) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
        match v {
            toml::Value::String(s) => {
                if let Some(c) = s.chars().find(|&c| is_hidden_char(c)) {
                    out.push((prefix.to_string(), c.escape_unicode().to_string()));
                }
            }
            toml::Value::Array(a) => a.iter().for_each(|v| walk(prefix, v, out)),
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    if let Some(c) = k.chars().find(|&c| is_hidden_char(c) || c.is_control()) {
                        out.push((key.clone(), c.escape_unicode().to_string()));
                    }
                    walk(&key, v, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(table) = text.parse::<toml::Table>() {
        walk("", &toml::Value::Table(table), &mut out);
    }
    out
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

/// `[audit] cost_account`, `cost_tag` and the cost thresholds.
fn check_audit_cost(raw: &RawConfig, problem: &mut impl FnMut(String, String)) {
    let audit = &raw.audit;
    if let Some(who) = &audit.cost_account {
        if who != "jump" && !raw.accounts.contains_key(who) {
            let known: Vec<&str> = raw.accounts.keys().map(String::as_str).collect();
            problem(
                "audit.cost_account".into(),
                format!(
                    "{who:?} is neither \"jump\" nor an [accounts.<name>] entry (known: {}); \
                     leave it out to let every account answer for itself",
                    known.join(", ")
                ),
            );
        }
    }
    if let Err(e) = check_tag_key(&audit.cost_tag) {
        problem("audit.cost_tag".into(), e);
    }
    let numbers = [
        (
            "audit.untagged_max_percent",
            audit.untagged_max_percent,
            100.0,
        ),
        ("audit.jump_min_usd", audit.jump_min_usd, f64::MAX),
        ("audit.jump_min_percent", audit.jump_min_percent, f64::MAX),
    ];
    for (key, value, max) in numbers {
        if !(value.is_finite() && (0.0..=max).contains(&value)) {
            problem(
                key.into(),
                if max == f64::MAX {
                    format!("expected a number of at least 0, found {value}")
                } else {
                    format!("expected a number from 0 to {max}, found {value}")
                },
            );
        }
    }
}
