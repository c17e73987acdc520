//! Expiry and refresh of the jump MFA session and the switch-role sessions, with a manual clock
//! and a fake STS that counts calls: a run of many hours asks for one MFA code.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_async::time::{SharedTimeSource, TimeSource};
use kirikae_aws::clock::ManualClock;
use kirikae_aws::sts::{
    AssumeRoleRequest, BoxFuture, CallerIdentity, SessionTokenRequest, StsApi, WebIdentityRequest,
};
use kirikae_aws::{AwsError, Estate, EstateOptions, StsErrorKind};
use kirikae_config::Config;

#[derive(Debug)]
struct FakeSts {
    clock: ManualClock,
    session_tokens: AtomicUsize,
    assume_roles: AtomicUsize,
    denied_roles: HashSet<String>,
    /// Role ARNs that demand an MFA session (as a trust-policy condition would).
    mfa_roles: HashSet<String>,
    /// Role ARNs whose trust policy bounds `aws:MultiFactorAuthAge`, with the bound.
    mfa_age_roles: std::collections::HashMap<String, Duration>,
    /// When each MFA session's code was given, by access key id.
    signed_in: Mutex<std::collections::HashMap<String, SystemTime>>,
    last_session_name: Mutex<Option<String>>,
    web_identities: AtomicUsize,
    /// The tokens AssumeRoleWithWebIdentity was called with, in order.
    tokens: Mutex<Vec<String>>,
}

impl FakeSts {
    fn new(clock: ManualClock) -> Self {
        FakeSts {
            clock,
            session_tokens: AtomicUsize::new(0),
            assume_roles: AtomicUsize::new(0),
            denied_roles: HashSet::new(),
            mfa_roles: HashSet::new(),
            mfa_age_roles: std::collections::HashMap::new(),
            signed_in: Mutex::new(std::collections::HashMap::new()),
            last_session_name: Mutex::new(None),
            web_identities: AtomicUsize::new(0),
            tokens: Mutex::new(Vec::new()),
        }
    }
    fn creds(&self, prefix: &str, n: usize, ttl: Duration) -> Credentials {
        Credentials::new(
            format!("{prefix}{n}"),
            "secret",
            Some("token".into()),
            Some(self.clock.now() + ttl),
            "fake",
        )
    }
}

fn denied(message: &str) -> AwsError {
    AwsError::Sts {
        operation: "AssumeRole",
        kind: StsErrorKind::AccessDenied,
        message: message.into(),
        hint: None,
    }
}

impl StsApi for FakeSts {
    fn get_session_token(
        &self,
        base: Credentials,
        req: SessionTokenRequest,
    ) -> BoxFuture<'_, Result<Credentials, AwsError>> {
        Box::pin(async move {
            assert_eq!(base.access_key_id(), "AKIABASE");
            if req.mfa_code != "123456" {
                return Err(AwsError::Sts {
                    operation: "GetSessionToken",
                    kind: StsErrorKind::MfaFailed,
                    message: "MultiFactorAuthentication failed".into(),
                    hint: None,
                });
            }
            let n = self.session_tokens.fetch_add(1, Ordering::SeqCst);
            let creds = self.creds("ASIAMFA", n, req.duration);
            self.signed_in
                .lock()
                .unwrap()
                .insert(creds.access_key_id().to_string(), self.clock.now());
            Ok(creds)
        })
    }

    fn assume_role(
        &self,
        base: Credentials,
        req: AssumeRoleRequest,
    ) -> BoxFuture<'_, Result<Credentials, AwsError>> {
        Box::pin(async move {
            if self.denied_roles.contains(&req.role_arn) {
                return Err(denied("not authorized to perform: sts:AssumeRole"));
            }
            if self.mfa_roles.contains(&req.role_arn)
                && !base.access_key_id().starts_with("ASIAMFA")
            {
                return Err(denied("not authorized to perform: sts:AssumeRole"));
            }
            if let Some(bound) = self.mfa_age_roles.get(&req.role_arn) {
                let signed_in = self
                    .signed_in
                    .lock()
                    .unwrap()
                    .get(base.access_key_id())
                    .copied();
                let age = signed_in.map(|t| self.clock.now().duration_since(t).unwrap());
                if age.is_none_or(|a| a >= *bound) {
                    return Err(denied("not authorized to perform: sts:AssumeRole"));
                }
            }
            // An expired source session would be refused by AWS.
            assert!(
                base.expiry().is_none_or(|e| e > self.clock.now()),
                "used expired credentials"
            );
            *self.last_session_name.lock().unwrap() = Some(req.session_name.clone());
            let n = self.assume_roles.fetch_add(1, Ordering::SeqCst);
            Ok(self.creds("ASIAROLE", n, req.duration))
        })
    }

    fn caller_identity(
        &self,
        creds: Credentials,
    ) -> BoxFuture<'_, Result<CallerIdentity, AwsError>> {
        Box::pin(async move {
            if creds.access_key_id().starts_with("ASIAWEB") {
                return Ok(CallerIdentity {
                    account: "100000000000".into(),
                    arn: "arn:aws:sts::100000000000:assumed-role/kirikae-runner/gha-nightly".into(),
                });
            }
            if creds.access_key_id().starts_with("ASIAROLE") {
                Ok(CallerIdentity {
                    account: "111111111111".into(),
                    arn: "arn:aws:sts::111111111111:assumed-role/ops/hanako".into(),
                })
            } else {
                Ok(CallerIdentity {
                    account: "100000000000".into(),
                    arn: "arn:aws:iam::100000000000:user/people/hanako".into(),
                })
            }
        })
    }

    fn assume_role_with_web_identity(
        &self,
        req: WebIdentityRequest,
    ) -> BoxFuture<'_, Result<Credentials, AwsError>> {
        Box::pin(async move {
            assert_eq!(
                req.role_arn,
                "arn:aws:iam::100000000000:role/kirikae-runner"
            );
            assert!(
                !format!("{req:?}").contains(&req.token),
                "Debug shows the token"
            );
            self.tokens.lock().unwrap().push(req.token.clone());
            let n = self.web_identities.fetch_add(1, Ordering::SeqCst);
            Ok(self.creds("ASIAWEB", n, req.duration))
        })
    }
}

fn config(state: &std::path::Path, mfa: bool) -> Arc<Config> {
    let mfa = if mfa {
        "mfa_serial = \"arn:aws:iam::100000000000:mfa/hanako\"\nmfa_command = \"echo 123456\"\n"
    } else {
        ""
    };
    let text = format!(
        "[aws]\nregion = \"ap-northeast-1\"\n[jump]\nprofile = \"jump\"\n{mfa}\
         [state]\ndir = \"{}\"\n\
         [accounts.prod]\nid = \"111111111111\"\nrole = \"ops\"\n\
         [accounts.dev]\nid = \"222222222222\"\nrole = \"ops\"\n",
        state.display()
    );
    Arc::new(Config::from_str(&text, &state.join("kirikae.toml")).unwrap())
}

/// `config` with `[bootstrap]`: prod protected, its switch role bounded at an hour's MFA age.
fn bootstrap_config(state: &std::path::Path, mfa_command: &str) -> Arc<Config> {
    let text = format!(
        "[aws]\nregion = \"ap-northeast-1\"\n[jump]\nprofile = \"jump\"\n\
         mfa_serial = \"arn:aws:iam::100000000000:mfa/hanako\"\nmfa_command = \"{mfa_command}\"\n\
         [state]\ndir = \"{}\"\n\
         [accounts.prod]\nid = \"111111111111\"\nrole = \"arn:aws:iam::111111111111:role/kirikae/ops\"\nprotected = true\n\
         [accounts.dev]\nid = \"222222222222\"\nrole = \"arn:aws:iam::222222222222:role/kirikae/ops\"\n\
         [bootstrap]\njump_account = \"100000000000\"\nprotected_mfa_max_age_seconds = 3600\n\
         [bootstrap.role_kinds.ops]\nmanaged_policies = [\"arn:aws:iam::aws:policy/PowerUserAccess\"]\n",
        state.display()
    );
    Arc::new(Config::from_str(&text, &state.join("kirikae.toml")).unwrap())
}

fn estate(
    config: Arc<Config>,
    sts: Arc<FakeSts>,
    clock: &ManualClock,
    options: EstateOptions,
) -> Arc<Estate> {
    let base =
        SharedCredentialsProvider::new(Credentials::new("AKIABASE", "s", None, None, "test"));
    Arc::new(Estate::with_parts(
        config,
        options,
        aws_types::SdkConfig::builder().build(),
        sts,
        base,
        SharedTimeSource::new(clock.clone()),
    ))
}

fn start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

#[tokio::test]
async fn a_three_hour_run_asks_for_one_mfa_code_and_renews_the_role_session() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(start());
    let sts = Arc::new(FakeSts::new(clock.clone()));
    let estate = estate(
        config(dir.path(), true),
        sts.clone(),
        &clock,
        EstateOptions::default(),
    );
    let role = estate.role("prod").await.unwrap();

    let first = role.credentials().await.unwrap();
    assert_eq!(first.expiry(), Some(start() + Duration::from_secs(3600)));
    // Well within the hour: the same session is used.
    clock.advance(Duration::from_secs(30 * 60));
    assert_eq!(
        role.credentials().await.unwrap().access_key_id(),
        first.access_key_id()
    );
    assert_eq!(sts.assume_roles.load(Ordering::SeqCst), 1);
    // Minutes before expiry, and then every hour for three hours: renewed each time.
    for hour in 0..3 {
        clock.advance(Duration::from_secs(26 * 60 + 30));
        let c = role.credentials().await.unwrap();
        assert!(
            c.expiry().unwrap() > clock.now() + Duration::from_secs(50 * 60),
            "hour {hour}"
        );
        clock.advance(Duration::from_secs(33 * 60 + 30));
    }
    assert_eq!(sts.assume_roles.load(Ordering::SeqCst), 4);
    assert_eq!(
        sts.session_tokens.load(Ordering::SeqCst),
        1,
        "one MFA code for the whole run"
    );
    assert_eq!(
        sts.last_session_name.lock().unwrap().as_deref(),
        Some("hanako")
    );
}

#[tokio::test]
async fn the_mfa_session_is_cached_on_disk_owner_only_and_reused_by_the_next_run() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(start());
    let sts = Arc::new(FakeSts::new(clock.clone()));
    let e1 = estate(
        config(dir.path(), true),
        sts.clone(),
        &clock,
        EstateOptions::default(),
    );
    e1.role("prod").await.unwrap().credentials().await.unwrap();
    let cache: Vec<_> = std::fs::read_dir(dir.path().join("sessions"))
        .unwrap()
        .collect();
    assert_eq!(cache.len(), 1);
    let meta = cache[0].as_ref().unwrap().metadata().unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    // The next run (a new process, two hours later) has no code to give: it must not need one.
    clock.advance(Duration::from_secs(2 * 3600));
    let sts2 = Arc::new(FakeSts::new(clock.clone()));
    let mut cfg = (*config(dir.path(), true)).clone();
    cfg.jump.mfa_command = Some("exit 3".into());
    let e2 = estate(
        Arc::new(cfg.clone()),
        sts2.clone(),
        &clock,
        EstateOptions::default(),
    );
    e2.role("dev").await.unwrap().credentials().await.unwrap();
    assert_eq!(sts2.session_tokens.load(Ordering::SeqCst), 0);
    assert_eq!(sts2.assume_roles.load(Ordering::SeqCst), 1);

    // Past the 12-hour MFA session, a code is needed again, and the failing command is reported.
    clock.advance(Duration::from_secs(10 * 3600));
    let e3 = estate(
        Arc::new(cfg),
        sts2.clone(),
        &clock,
        EstateOptions::default(),
    );
    let err = e3.role("dev").await.unwrap_err();
    assert!(matches!(err, AwsError::MfaCommand { .. }), "{err}");
    assert!(err.to_string().contains("exit 3"), "{err}");
}

#[tokio::test]
async fn a_wrong_mfa_code_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(start());
    let sts = Arc::new(FakeSts::new(clock.clone()));
    let options = EstateOptions {
        mfa_code: Some("654321".into()),
    };
    let estate = estate(config(dir.path(), true), sts, &clock, options);
    let checks = estate.check_all(4).await;
    assert_eq!(checks.len(), 2);
    for c in &checks {
        assert_eq!(c.error_kind, Some(StsErrorKind::MfaFailed), "{c:?}");
    }
}

#[tokio::test]
async fn check_reports_each_account_in_order_with_the_reason_of_failure() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(start());
    let mut fake = FakeSts::new(clock.clone());
    fake.mfa_roles
        .insert("arn:aws:iam::222222222222:role/ops".into());
    let sts = Arc::new(fake);
    let estate = estate(
        config(dir.path(), false),
        sts,
        &clock,
        EstateOptions::default(),
    );
    let checks = estate.check_all(8).await;
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["dev", "prod"]);
    let dev = &checks[0];
    assert_eq!(dev.error_kind, Some(StsErrorKind::AccessDenied));
    let why = dev.error.as_deref().unwrap();
    assert!(why.contains("arn:aws:iam::222222222222:role/ops"), "{why}");
    assert!(
        why.contains("set [jump] mfa_serial"),
        "without MFA configured, says so: {why}"
    );
    let prod = &checks[1];
    assert!(prod.error.is_none(), "{prod:?}");
    assert_eq!(
        prod.assumed_arn.as_deref(),
        Some("arn:aws:sts::111111111111:assumed-role/ops/hanako")
    );
}

#[tokio::test]
async fn a_role_answering_from_another_account_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(start());
    let sts = Arc::new(FakeSts::new(clock.clone()));
    let estate = estate(
        config(dir.path(), false),
        sts,
        &clock,
        EstateOptions::default(),
    );
    // The fake answers 111111111111 for every role: dev (222222222222) must be flagged.
    let dev = estate.check_account("dev").await;
    assert!(dev
        .error
        .unwrap()
        .contains("not the configured 222222222222"));
}

#[test]
fn session_names_come_from_the_person() {
    use kirikae_aws::session_name_from_arn;
    assert_eq!(
        session_name_from_arn("arn:aws:iam::1:user/people/hanako"),
        "hanako"
    );
    assert_eq!(
        session_name_from_arn("arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin/taro@example.com"),
        "taro@example.com"
    );
    assert_eq!(
        session_name_from_arn("arn:aws:iam::1:user/山田"),
        "kirikae-"
    );
}

/// `[jump] unattended = true` on the emulator's endpoint, with `env` as the environment.
fn unattended_estate(
    state: &std::path::Path,
    sts: Arc<FakeSts>,
    clock: &ManualClock,
    env: Vec<(&'static str, String)>,
) -> Arc<Estate> {
    let text = format!(
        "[aws]\nregion = \"ap-northeast-1\"\nendpoint_url = \"http://127.0.0.1:9\"\n\
         [jump]\nunattended = true\n[state]\ndir = \"{}\"\n\
         [accounts.prod]\nid = \"111111111111\"\nrole = \"kirikae-unattended\"\n\
         [accounts.dev]\nid = \"222222222222\"\nrole = \"kirikae-unattended\"\n",
        state.display()
    );
    let config = Arc::new(Config::from_str(&text, &state.join("kirikae.toml")).unwrap());
    let env: std::collections::HashMap<&'static str, String> = env.into_iter().collect();
    let chain = kirikae_aws::unattended::UnattendedChain::new(
        &config,
        sts.clone(),
        SharedTimeSource::new(clock.clone()),
        Arc::new(move |name| env.get(name).cloned()),
    );
    Arc::new(Estate::with_parts(
        config,
        EstateOptions::default(),
        aws_types::SdkConfig::builder().build(),
        sts,
        SharedCredentialsProvider::new(chain),
        SharedTimeSource::new(clock.clone()),
    ))
}

#[tokio::test]
async fn an_unattended_run_takes_a_web_identity_session_once_and_rereads_the_rotated_token() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "header.first.sig\n").unwrap();
    let clock = ManualClock::new(start());
    let sts = Arc::new(FakeSts::new(clock.clone()));
    let estate = unattended_estate(
        dir.path(),
        sts.clone(),
        &clock,
        vec![
            (
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                token_file.display().to_string(),
            ),
            (
                "AWS_ROLE_ARN",
                "arn:aws:iam::100000000000:role/kirikae-runner".into(),
            ),
        ],
    );
    let prod = estate.role("prod").await.unwrap();
    let dev = estate.role("dev").await.unwrap();
    prod.credentials().await.unwrap();
    dev.credentials().await.unwrap();
    assert_eq!(
        sts.web_identities.load(Ordering::SeqCst),
        1,
        "one web identity session serves every account"
    );
    assert_eq!(
        sts.last_session_name.lock().unwrap().as_deref(),
        Some("gha-nightly"),
        "the role session is named after the runner's session"
    );
    assert_eq!(sts.session_tokens.load(Ordering::SeqCst), 0, "no MFA");

    // The platform rotates the token file; two hours on, both sessions are renewed with it.
    std::fs::write(&token_file, "header.second.sig").unwrap();
    clock.advance(Duration::from_secs(2 * 3600));
    prod.credentials().await.unwrap();
    assert_eq!(
        *sts.tokens.lock().unwrap(),
        ["header.first.sig", "header.second.sig"]
    );
}

#[tokio::test]
async fn an_unattended_run_without_credentials_names_every_place_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(start());
    let sts = Arc::new(FakeSts::new(clock.clone()));
    let estate = unattended_estate(dir.path(), sts.clone(), &clock, vec![]);
    let err = estate.role("prod").await.unwrap_err();
    assert!(
        matches!(err, AwsError::NoUnattendedCredentials { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    for part in [
        "AWS_ACCESS_KEY_ID is not set",
        "AWS_WEB_IDENTITY_TOKEN_FILE is not set",
        "the shared profile (AWS_PROFILE, SSO): skipped",
        "the instance profile (EC2 instance metadata): skipped",
        "container credentials",
        "docs/config.md",
    ] {
        assert!(msg.contains(part), "{part:?} missing: {msg}");
    }
    assert_eq!(sts.web_identities.load(Ordering::SeqCst), 0);

    // A token file without the role to take is a configuration mistake, not "nothing found".
    let estate = unattended_estate(
        dir.path(),
        sts,
        &clock,
        vec![("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent".into())],
    );
    let err = estate.role("prod").await.unwrap_err().to_string();
    assert!(err.contains("AWS_ROLE_ARN is not"), "{err}");
}

/// The error of switching into `account`.
async fn switch_error(estate: &Estate, account: &str) -> AwsError {
    let role = estate.role(account).await.unwrap();
    role.credentials().await.unwrap_err()
}

#[tokio::test]
async fn a_protected_role_bounded_at_an_hour_gets_a_new_mfa_sign_in_not_an_access_denied() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(start());
    let mut sts = FakeSts::new(clock.clone());
    sts.mfa_age_roles.insert(
        "arn:aws:iam::111111111111:role/kirikae/ops".into(),
        Duration::from_secs(3600),
    );
    let sts = Arc::new(sts);
    let cfg = bootstrap_config(dir.path(), "echo 123456");
    let e1 = estate(cfg.clone(), sts.clone(), &clock, EstateOptions::default());
    e1.role("dev").await.unwrap().credentials().await.unwrap();
    assert_eq!(sts.session_tokens.load(Ordering::SeqCst), 1);

    // Two hours later (a new run, the session cached on disk): dev (bound 12 h) reuses it, prod
    // (bound 1 h) would refuse it, so kirikae signs in again instead of failing.
    clock.advance(Duration::from_secs(2 * 3600));
    let e2 = estate(cfg.clone(), sts.clone(), &clock, EstateOptions::default());
    e2.role("dev").await.unwrap().credentials().await.unwrap();
    assert_eq!(
        sts.session_tokens.load(Ordering::SeqCst),
        1,
        "dev needs no new code"
    );
    e2.role("prod").await.unwrap().credentials().await.unwrap();
    assert_eq!(
        sts.session_tokens.load(Ordering::SeqCst),
        2,
        "prod gets a new MFA sign-in"
    );

    // Without a code to give, the error says why one was needed, not just "not authorized".
    clock.advance(Duration::from_secs(2 * 3600));
    let e3 = estate(
        bootstrap_config(dir.path(), "exit 3"),
        sts.clone(),
        &clock,
        EstateOptions::default(),
    );
    let err = switch_error(&e3, "prod").await;
    let text = err.to_string();
    assert!(matches!(err, AwsError::MfaCommand { .. }), "{text}");
    assert!(
        text.contains("prod accepts an MFA sign-in at most 1 h old")
            && text.contains("protected_mfa_max_age_seconds")
            && text.contains("2 h old"),
        "{text}"
    );
}

#[tokio::test]
async fn without_bootstrap_an_access_denied_mentions_the_mfa_sign_ins_age() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(start());
    let mut sts = FakeSts::new(clock.clone());
    sts.mfa_age_roles.insert(
        "arn:aws:iam::111111111111:role/ops".into(),
        Duration::from_secs(3600),
    );
    let sts = Arc::new(sts);
    let e1 = estate(
        config(dir.path(), true),
        sts.clone(),
        &clock,
        EstateOptions::default(),
    );
    e1.role("prod").await.unwrap().credentials().await.unwrap();
    clock.advance(Duration::from_secs(90 * 60));
    let e2 = estate(
        config(dir.path(), true),
        sts.clone(),
        &clock,
        EstateOptions::default(),
    );
    let err = switch_error(&e2, "prod").await;
    let text = err.to_string();
    assert_eq!(err.sts_kind(), Some(StsErrorKind::AccessDenied), "{text}");
    assert!(
        text.contains("the MFA sign-in behind this session is 1 h 30 min old")
            && text.contains("aws:MultiFactorAuthAge"),
        "{text}"
    );
}
