//! Test support: a private emulator (moto + kirikae's extensions) on a free loopback port, seeded
//! with the story's world in a temporary directory. Each test gets its own; dropping it stops the
//! emulator, which drops every database it made.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn venv_bin(name: &str) -> PathBuf {
    let p = repo_root().join(".venv/bin").join(name);
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup first (make test does)",
        p.display()
    );
    p
}

pub struct Emulator {
    child: Child,
    pub url: String,
}

impl Emulator {
    /// The emulator with its default, realistic RDS endpoint names (reachable through its
    /// bastion only).
    pub fn start() -> Emulator {
        Emulator::start_with_endpoints("realistic")
    }

    /// The emulator whose clusters report `endpoints` (`realistic` or `loopback`: 127.0.0.1 and
    /// the private server's port).
    pub fn start_with_endpoints(endpoints: &str) -> Emulator {
        let mut child = Command::new(venv_bin("python"))
            .args([
                "-m",
                "kirikae_emulator",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
            ])
            .env("PYTHONPATH", repo_root().join("emulator"))
            .env("KIRIKAE_EMU_ENDPOINTS", endpoints)
            .env_remove("MOTO_ACCOUNT_ID")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|u| u.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("the emulator did not say where it listens: {line:?}"))
            .to_string();
        Emulator { child, url }
    }

    /// Builds the story's world and returns the kirikae.toml written for it.
    pub fn seed_story(&self, dir: &Path) -> PathBuf {
        let config = dir.join("kirikae.toml");
        let out = Command::new(venv_bin("python"))
            .args([
                "-m",
                "kirikae_emulator",
                "seed",
                "story",
                "--endpoint",
                &self.url,
            ])
            .arg("--config-out")
            .arg(&config)
            .env("PYTHONPATH", repo_root().join("emulator"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "seed failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        config
    }

    /// Makes the Nth call of an operation fail (the emulator's fault injection).
    pub fn fault(&self, json: &str) {
        self.post("/_kirikae/faults", json);
    }

    /// POSTs a JSON body to one of the emulator's own endpoints (`/_kirikae/...`); panics with
    /// the emulator's answer when it refuses it.
    pub fn post(&self, path: &str, json: &str) {
        let out = Command::new(venv_bin("python"))
            .args([
                "-c",
                "import sys,urllib.request as u; u.urlopen(u.Request(sys.argv[1]+sys.argv[2], \
                 data=sys.argv[3].encode(), method='POST', headers={'Content-Type':'application/json'})).read()",
                &self.url,
                path,
                json,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Emulator {
    /// How many times the injected faults answered, in the order they were set.
    pub fn fault_hits(&self) -> Vec<u64> {
        let out = Command::new(venv_bin("python"))
            .args([
                "-c",
                "import sys,json,urllib.request as u; \
                 print(json.dumps([f['hits'] for f in json.load(u.urlopen(sys.argv[1]+'/_kirikae/faults'))['faults']]))",
                &self.url,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // SIGTERM lets it drop its databases; then wait so nothing is left running.
        unsafe_kill(self.child.id());
        let _ = self.child.wait();
    }
}

fn unsafe_kill(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
}

pub fn kirikae() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kirikae"));
    for var in [
        "KIRIKAE_CONFIG",
        "KIRIKAE_STATE_DIR",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_ENDPOINT_URL",
    ] {
        c.env_remove(var);
    }
    c
}

pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs kirikae with `args` then `--config <config>` (before them when a `--` would swallow it),
/// from `/`: the config must work from anywhere.
pub fn run(config: &Path, args: &[&str]) -> Output {
    command(config, args).stdin(Stdio::null()).output().unwrap()
}

/// kirikae with `args` and `--config <config>` placed as [`run`] places them, from `/`, not yet
/// started: for tests that set its environment or watch it run.
pub fn command(config: &Path, args: &[&str]) -> Command {
    let mut c = kirikae();
    if args.contains(&"--") {
        c.arg("--config").arg(config).args(args);
    } else {
        c.args(args).arg("--config").arg(config);
    }
    c.current_dir("/");
    c
}

/// Python code acting in the story's prod account: `c(service)` is a boto3 client there (the
/// endpoint is `sys.argv[1]`; see [`Emulator::python`]); `sys` and `json` are imported.
pub const PROD_CLIENT: &str = "import sys, json\nfrom kirikae_emulator.seed import PROD, client\n\
                               def c(s):\n    return client(s, sys.argv[1], PROD)\n";

impl Emulator {
    /// Runs Python `code` with the emulator's package importable, `sys.argv[1]` this emulator's
    /// endpoint and `args` after it; its stdout, trimmed. A failing script fails the test with
    /// its output.
    pub fn python(&self, code: &str, args: &[&str]) -> String {
        let mut c = emulator_python();
        c.arg("-c").arg(code).arg(&self.url).args(args);
        stdout_of(&mut c, "python -c")
    }
}

/// Runs a test world's script (`crates/kirikae/tests/support/<script>`) with the emulator's
/// package importable; its stdout, trimmed. A failing script fails the test with its output.
pub fn world_script(script: &str, args: &[&str]) -> String {
    let mut c = emulator_python();
    c.arg(
        repo_root()
            .join("crates/kirikae/tests/support")
            .join(script),
    )
    .args(args);
    stdout_of(&mut c, &format!("{script} {args:?}"))
}

/// The current MFA code of the story's person.
pub fn totp(dir: &Path) -> String {
    let mut c = emulator_python();
    c.args(["-m", "kirikae_emulator", "totp"])
        .arg(dir.join("mfa.secret"));
    stdout_of(&mut c, "kirikae_emulator totp")
}

/// The project's Python (`.venv`) with the emulator's package importable.
pub fn emulator_python() -> Command {
    let mut c = Command::new(venv_bin("python"));
    c.env("PYTHONPATH", repo_root().join("emulator"));
    c
}

/// The command's stdout, trimmed; a failing command fails the test with its output.
pub fn stdout_of(c: &mut Command, what: &str) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Rewrites a line of the config (tests of what a person might change).
pub fn edit(config: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    assert!(text.contains(from), "{from:?} not in {text}");
    std::fs::write(config, text.replacen(from, to, 1)).unwrap();
}
