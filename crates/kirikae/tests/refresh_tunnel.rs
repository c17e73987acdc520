//! `[refresh.<name>] tunnel` against the private emulator and the story: kirikae starts a real
//! forwarding command (socat) for each cluster it connects to, uses it, and ends it; a command
//! that fails to start, never listens, or dies in the middle of masking fails the step naming
//! it, keeps the run, and `refresh resume` completes through a new tunnel; Ctrl-C leaves no
//! tunnel behind.
//!
//! The emulator reports a cluster's endpoint as 127.0.0.1:<private server port>, so the tunnel
//! forwards loopback to loopback; it is still the only way kirikae's connections go (each
//! tunnel's log shows them arrive).

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{edit, repo_root, text, venv_bin, world_script, Emulator};

/// Member 1 of production's generated data: never to be seen in staging.
const ORIGINAL_EMAIL: &str = "ai.kobayashi@docomo.ne.jp";

fn world(emu: &Emulator, args: &[&str]) -> String {
    let mut all = vec![args[0], emu.url.as_str()];
    all.extend_from_slice(&args[1..]);
    world_script("refresh_world.py", &all)
}

struct Story {
    emu: Emulator,
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Story {
    /// The story with loopback endpoints: the clusters' names are 127.0.0.1, so a plain socat
    /// can be the tunnel (the bastion and realistic names are the story's default elsewhere).
    fn new() -> Story {
        Story::with_endpoints("loopback")
    }

    /// The story with the emulator's `endpoints` mode.
    fn with_endpoints(endpoints: &str) -> Story {
        let emu = Emulator::start_with_endpoints(endpoints);
        let dir = tempfile::tempdir().unwrap();
        let config = emu.seed_story(dir.path());
        Story { emu, dir, config }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = support::kirikae();
        c.args(args)
            .arg("--config")
            .arg(&self.config)
            .env("KIRIKAE_MASK_KEY", "refresh-test-key")
            .current_dir("/")
            .stdin(Stdio::null());
        c
    }

    fn refresh(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Sets `tunnel` (and `extra` lines) in `[refresh.staging]`, replacing an earlier one.
    fn tunnel(&self, command: &str, extra: &str) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("tunnel = ") && !l.starts_with("tunnel_wait_seconds = "))
            .collect();
        std::fs::write(&self.config, kept.join("\n") + "\n").unwrap();
        edit(
            &self.config,
            "[refresh.staging]\n",
            &format!("[refresh.staging]\ntunnel = '{command}'\n{extra}"),
        );
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("tunnels.log")
    }

    /// The tunnels started so far: one line each, `<host> <port> <local port> <pid>`.
    fn tunnels(&self) -> Vec<Started> {
        std::fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                Started {
                    host: f[0].into(),
                    port: f[1].parse().unwrap(),
                    local_port: f[2].parse().unwrap(),
                    pid: f[3].parse().unwrap(),
                }
            })
            .collect()
    }

    /// A socat forwarder that logs its start to [`Story::log`] and every connection it
    /// accepts to `socat-<pid>.log`.
    fn socat(&self) -> String {
        let dir = self.dir.path().display();
        format!(
            "echo \"{{host}} {{port}} {{local_port}} $$\" >> {dir}/tunnels.log; \
             exec socat -d -d -lf {dir}/socat-$$.log \
             TCP-LISTEN:{{local_port}},bind=127.0.0.1,reuseaddr,fork TCP:{{host}}:{{port}}"
        )
    }

    /// The emulator's bastion (which knows where each realistic endpoint name lives), logging
    /// its start to [`Story::log`] like [`Story::socat`].
    fn bastion(&self) -> String {
        let dir = self.dir.path().display();
        format!(
            "echo \"{{host}} {{port}} {{local_port}} $$\" >> {dir}/tunnels.log; \
             exec {} {} --endpoint-url {} {{host}} {{port}} {{local_port}}",
            venv_bin("python").display(),
            repo_root()
                .join("emulator/kirikae_emulator/bastion.py")
                .display(),
            self.emu.url
        )
    }

    /// How many connections the socat tunnel `pid` accepted.
    fn accepted(&self, pid: u32) -> usize {
        std::fs::read_to_string(self.dir.path().join(format!("socat-{pid}.log")))
            .unwrap_or_default()
            .matches("accepting connection")
            .count()
    }

    fn staging(&self) -> Value {
        let clusters: Value = serde_json::from_str(&world(&self.emu, &["clusters"])).unwrap();
        clusters
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "staging")
            .cloned()
            .unwrap()
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Started {
    host: String,
    port: u16,
    local_port: u16,
    pid: u32,
}

/// The processes of process group `group` that are alive (zombies are not).
fn group_members(group: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so after the last ')'
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        if fields[0] != "Z" && fields[2].parse::<u32>().ok() == Some(group) {
            out.push(pid);
        }
    }
    out
}

fn assert_no_tunnel_left(started: &[Started]) {
    assert!(!started.is_empty(), "no tunnel was started");
    // The group is ended with SIGTERM, then SIGKILL after 3 s: give it that.
    let deadline = Instant::now() + Duration::from_secs(5);
    for t in started {
        while !group_members(t.pid).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let left = group_members(t.pid);
        assert!(left.is_empty(), "tunnel {t:?} left processes {left:?}");
    }
}

fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "waited {secs} s for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn finish(child: Child) -> (Output, String) {
    let o = child.wait_with_output().unwrap();
    let (out, err) = text(&o);
    (o, format!("{out}{err}"))
}

fn run_id_in(err: &str) -> String {
    let at = err
        .find("kirikae refresh resume ")
        .unwrap_or_else(|| panic!("no resume advice in: {err}"));
    err[at + "kirikae refresh resume ".len()..]
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn a_refresh_through_a_tunnel_survives_its_failures_and_leaves_no_tunnel_process() {
    let s = Story::new();
    let log = s.log();

    // 1. A command that exits at once: the step fails with its output; the run is kept.
    s.tunnel(
        "echo \"bastion.example.invalid: Name or service not known\" >&2; exit 3 # {host} {local_port}",
        "",
    );
    let o = s.refresh(&["refresh", "run", "staging"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for part in [
        "failed in mask because of the tunnel",
        "exited with status 3 before 127.0.0.1:",
        "accepted connections; its output ends:\n  bastion.example.invalid: Name or service not known",
        "check that the command works by hand",
    ] {
        assert!(err.contains(part), "{part:?} in {err}");
    }
    let id = run_id_in(&err);
    let st: Value = serde_json::from_slice(
        &s.refresh(&["refresh", "status", &id, "--output", "json"])
            .stdout,
    )
    .unwrap();
    assert!(
        !st["left_over"].as_array().unwrap().is_empty(),
        "kept, not cleaned up: {st:#}"
    );

    // 2. A command that never listens: refused after tunnel_wait_seconds, and ended.
    let dir = s.dir.path().display().to_string();
    s.tunnel(
        &format!(
            "echo \"{{host}} {{port}} {{local_port}} $$\" >> {dir}/tunnels.log; exec sleep 600"
        ),
        "tunnel_wait_seconds = 2\n",
    );
    let t = Instant::now();
    let o = s.refresh(&["refresh", "resume", &id]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("did not accept connections on 127.0.0.1:")
            && err.contains("within 2 s")
            && err.contains("tunnel_wait_seconds")
            && err.contains(&format!("`kirikae refresh resume {id}`")),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
    assert_no_tunnel_left(&s.tunnels());
    std::fs::remove_file(&log).unwrap();

    // 3. A working tunnel, killed in the middle of masking (the masking holds after taking
    //    its lock): the step fails at once, naming the tunnel.
    s.tunnel(&s.socat(), "");
    let hold = |s: &Story| {
        s.command(&["refresh", "resume", &id])
            .env("KIRIKAE_MASK_HOLD", "locked")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let child = hold(&s);
    wait_until("the masking to connect through the tunnel", 120, || {
        s.tunnels().first().is_some_and(|t| s.accepted(t.pid) >= 3)
    });
    let killed = s.tunnels()[0].clone();
    std::thread::sleep(Duration::from_millis(500));
    Command::new("kill")
        .args(["-TERM", "--", &format!("-{}", killed.pid)])
        .status()
        .unwrap();
    let t = Instant::now();
    let (o, err) = finish(child);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "failed at once, not after the 10 minutes hold"
    );
    // socat ends on SIGTERM with status 143; a command that does not catch it, by the signal
    let named = format!(
        "(local port {}, to {}:{})",
        killed.local_port, killed.host, killed.port
    );
    assert!(
        err.contains(&format!(
            "the tunnel `echo \"{} {} {} $$\"",
            killed.host, killed.port, killed.local_port
        )) && err.contains(&named)
            && (err.contains("exited with status 143 during mask of staging-")
                || err.contains("was ended by signal 15 during mask of staging-")),
        "{named:?} in {err}"
    );
    assert!(
        err.contains(&format!("`kirikae refresh resume {id}` starts a new one")),
        "{err}"
    );
    assert_no_tunnel_left(&s.tunnels());

    // 4. Ctrl-C while the masking runs through a new tunnel: kirikae ends it, then itself.
    let child = hold(&s);
    wait_until("a second tunnel in use", 120, || {
        s.tunnels().get(1).is_some_and(|t| s.accepted(t.pid) >= 2)
    });
    let second = s.tunnels()[1].clone();
    assert_ne!(second.local_port, 0);
    assert!(!group_members(second.pid).is_empty(), "{second:?} runs");
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let (o, err) = finish(child);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(o.status.signal(), Some(2), "ended by the SIGINT: {err}");
    assert_no_tunnel_left(&s.tunnels());

    // 5. Resumed: masked, verified and switched through new tunnels, one per cluster use.
    let before = s.tunnels().len();
    let o = s.refresh(&["refresh", "resume", &id, "--output", "json"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["run_id"], id.as_str());
    let started = s.tunnels();
    let used = &started[before..];
    // mask, verify, the switch-over check
    assert!(used.len() >= 3, "{used:?}\n{err}");
    let staging = s.staging();
    for t in &started {
        // {host} {port}: the cluster's endpoint (the new cluster, now `staging`); {local_port}:
        // a port of its own
        assert_eq!(
            (Some(t.host.as_str()), Some(u64::from(t.port))),
            (staging["endpoint"].as_str(), staging["port"].as_u64()),
            "{t:?}"
        );
        assert_ne!(t.local_port, t.port);
    }
    for t in used {
        // the probe, then kirikae's own connections: all of them came through the tunnel
        assert!(s.accepted(t.pid) >= 2, "{t:?}");
    }
    for what in [
        format!(
            "tunnel to {}:{} for staging-{id}",
            used[0].host, used[0].port
        ),
        format!("tunnel to {}:{} for staging\n", used[0].host, used[0].port),
    ] {
        assert!(err.contains(&what), "{what:?} in {err}");
    }
    assert_no_tunnel_left(&started);
    let row: Value = serde_json::from_str(&world(&s.emu, &["row", "staging"])).unwrap();
    assert_ne!(row["email"], ORIGINAL_EMAIL, "masked: {row}");
    let left: Vec<String> = serde_json::from_str(&world(&s.emu, &["leftovers"])).unwrap();
    assert!(left.is_empty(), "{left:?}");
}

/// What `plan` and the run's preflight can tell before anything is made: the tunnel's program
/// is missing; the CA bundle verified TLS needs is not a bundle.
#[test]
fn preflight_checks_the_tunnel_program_and_the_ca_bundle() {
    let s = Story::new();
    s.tunnel("no-such-tunnel-program -L {local_port}:{host}:{port}", "");
    let o = s.refresh(&["refresh", "plan", "staging"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        format!("{out}{err}")
            .contains("the tunnel command's program `no-such-tunnel-program` is not found"),
        "{out}{err}"
    );
    // tls = "verify-full" (the default) with an empty bundle: refused by the run's preflight,
    // so no copy of production is made that could not be reached.
    std::fs::write(s.dir.path().join("ca.pem"), "").unwrap();
    let config = std::fs::read_to_string(&s.config).unwrap();
    let bundle = config
        .lines()
        .find(|l| l.starts_with("ca_bundle = "))
        .expect("the story's config names a CA bundle");
    edit(&s.config, bundle, "ca_bundle = \"ca.pem\"");
    s.tunnel(&s.socat(), "");
    let o = s.refresh(&["refresh", "run", "staging"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        err.contains("preflight failed, nothing was created")
            && err.contains("ca.pem")
            && err.contains("holds no PEM certificate")
            && err.contains("ca_bundle to the RDS CA bundle"),
        "{err}"
    );
    assert!(s.tunnels().is_empty(), "no tunnel was started");
    let left: Vec<String> = serde_json::from_str(&world(&s.emu, &["leftovers"])).unwrap();
    assert!(left.is_empty(), "{left:?}");
}

/// The story on PostgreSQL (prod `shop-pg`, dev `staging` an aurora-postgresql cluster), with
/// AWS-shaped endpoint names that do not resolve: the whole refresh through the emulator's
/// bastion, TLS verified against each cluster's real name, and the tunnels end with it.
#[test]
fn a_postgresql_refresh_goes_through_the_bastion_and_leaves_no_tunnel() {
    let s = Story::with_endpoints("realistic");
    world(&s.emu, &["pg-world"]);
    edit(
        &s.config,
        "cluster = \"shop-prod-cmk\"",
        "cluster = \"shop-pg\"",
    );
    edit(
        &s.config,
        "parameter_group = \"staging-aurora-mysql8\"\n",
        "",
    );
    s.tunnel(&s.bastion(), "");
    let o = s.refresh(&["refresh", "run", "staging", "--output", "json"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    let started = s.tunnels();
    // mask, verify, the switch-over check
    assert!(started.len() >= 3, "{started:?}\n{err}");
    let staging = s.staging();
    let endpoint = staging["endpoint"].as_str().unwrap();
    assert!(
        endpoint.starts_with("staging.cluster-")
            && endpoint.ends_with(".ap-northeast-1.rds.amazonaws.com"),
        "{staging}"
    );
    // the new cluster's name for masking and verifying, `staging`'s after the rename for the
    // switch-over check: AWS-shaped names and PostgreSQL's port, as the emulator reports them
    let domain = endpoint.split_once('.').unwrap().1;
    for t in &started {
        assert!(
            t.host.ends_with(&format!(".{domain}")) && t.port == 5432,
            "{t:?}: a PostgreSQL cluster's endpoint name and port in {domain}"
        );
    }
    assert!(
        started.iter().any(|t| t.host.starts_with("staging-"))
            && started.last().unwrap().host == endpoint,
        "{started:?}"
    );
    let plan = s.refresh(&["refresh", "plan", "staging"]);
    assert!(
        text(&plan).0.contains("tls = \"verify-full\" against"),
        "{}",
        text(&plan).0
    );
    assert_no_tunnel_left(&started);
    let row: Value = serde_json::from_str(&world(&s.emu, &["pg-row", "staging"])).unwrap();
    assert_ne!(row["email"], ORIGINAL_EMAIL, "masked: {row}");
    assert!(
        row["email"].as_str().is_some_and(|e| !e.is_empty()),
        "production's rows arrived: {row}"
    );
    let left: Vec<String> =
        serde_json::from_str(&world(&s.emu, &["leftovers", "shop-pg"])).unwrap();
    assert!(left.is_empty(), "{left:?}");
}
