//! Tunnels: the command (`[refresh.<name>] tunnel`) that reaches a cluster in private subnets
//! from a machine outside its VPC, such as `ssh -N -L {local_port}:{host}:{port} bastion` or an
//! AWS Systems Manager port-forwarding session.
//!
//! The clusters a run connects to are made during the run, so their endpoints are not known
//! before it: kirikae starts the command itself for each cluster it must reach, with the
//! cluster's endpoint and a free loopback port, waits until that port accepts connections, uses
//! it, and ends the command with all its children (its own process group) when done, on
//! failure, and when kirikae is interrupted (SIGINT, SIGTERM, SIGHUP).

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// How much of the command's output an error shows (its end: where the reason usually is).
const OUTPUT_TAIL: usize = 2000;
/// After SIGTERM, how long the command's group gets before SIGKILL.
const GRACE: Duration = Duration::from_secs(3);
/// How often a tunnel is looked at while waiting for it or while it is used.
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    #[error(
        "the tunnel command cannot be given the endpoint {host:?}: an endpoint name is letters, \
         digits, '.', '-' and '_' (nothing a shell would interpret)"
    )]
    BadHost { host: String },
    #[error("no free loopback port for the tunnel")]
    NoPort {
        #[source]
        source: std::io::Error,
    },
    #[error("the tunnel `{command}` could not be started with sh -c")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{which} {status} before 127.0.0.1:{} accepted connections{output}\ncheck that the \
         command works by hand (credentials, the bastion or instance it names, that it listens \
         on {{local_port}}), then try again",
        .which.local_port
    )]
    ExitedEarly {
        which: Box<Which>,
        status: String,
        output: String,
    },
    #[error(
        "{which} did not accept connections on 127.0.0.1:{} within {waited_s} s{output}\ncheck \
         that the command listens on {{local_port}} of 127.0.0.1 and reaches the bastion; a slow \
         start (an SSM session) may need a larger refresh.<name>.tunnel_wait_seconds",
        .which.local_port
    )]
    NotListening {
        which: Box<Which>,
        waited_s: u64,
        output: String,
    },
    #[error("{which} {status} during {during}{output}{cause}")]
    Died {
        which: Box<Which>,
        status: String,
        during: String,
        output: String,
        /// What the work in progress failed with when the tunnel went (a lost connection).
        cause: String,
    },
}

/// Which tunnel an error is about: the command as run and where it led.
#[derive(Debug, Clone)]
pub struct Which {
    pub command: String,
    pub host: String,
    pub port: u16,
    pub local_port: u16,
}

impl std::fmt::Display for Which {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the tunnel `{}` (local port {}, to {}:{})",
            self.command, self.local_port, self.host, self.port
        )
    }
}

/// The last [`OUTPUT_TAIL`] bytes the command wrote (stdout and stderr together).
#[derive(Default)]
struct Tail(Vec<u8>);

impl Tail {
    fn push(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
        if self.0.len() > OUTPUT_TAIL {
            let cut = self.0.len() - OUTPUT_TAIL;
            self.0.drain(..cut);
        }
    }

    /// `; its output ends:\n<text>`, or nothing when it wrote nothing.
    fn render(&self) -> String {
        let text = String::from_utf8_lossy(&self.0);
        let text = text.trim();
        if text.is_empty() {
            "; it wrote nothing".into()
        } else {
            format!(
                "; its output ends:\n  {}",
                text.lines().collect::<Vec<_>>().join("\n  ")
            )
        }
    }
}

/// The command with `{host}`, `{port}` and `{local_port}` filled in (`${VAR}` left to the
/// shell). The config validated the template; the host is checked here, as it comes from AWS.
pub fn expand(
    template: &str,
    host: &str,
    port: u16,
    local_port: u16,
) -> Result<String, TunnelError> {
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b));
    if !host_ok {
        return Err(TunnelError::BadHost { host: host.into() });
    }
    let mut out = String::with_capacity(template.len() + 64);
    let mut last = 0;
    for (at, name) in kirikae_config::tunnel_placeholders(template) {
        let value = match name {
            "host" => host.to_string(),
            "port" => port.to_string(),
            "local_port" => local_port.to_string(),
            _ => continue, // refused by the config's validation; left as written
        };
        out.push_str(&template[last..at]);
        out.push_str(&value);
        last = at + name.len() + 2;
    }
    out.push_str(&template[last..]);
    Ok(out)
}

/// A free port of 127.0.0.1 for the command to listen on. Another process could take it
/// before the command does; the command then fails to listen and the error says so.
fn free_port() -> Result<u16, TunnelError> {
    let l = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
        .map_err(|source| TunnelError::NoPort { source })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|source| TunnelError::NoPort { source })
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("was ended by signal {s}"),
        _ => "ended".into(),
    }
}

/// A running tunnel command. Dropping it ends the command and everything it started.
pub struct Tunnel {
    /// The command as run (placeholders filled in).
    pub command: String,
    pub host: String,
    pub port: u16,
    pub local_port: u16,
    child: Mutex<Child>,
    /// The command's process group (its pid): every process it starts is in it.
    group: i32,
    output: Arc<Mutex<Tail>>,
}

impl std::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tunnel(`{}`, local port {})",
            self.command, self.local_port
        )
    }
}

impl Tunnel {
    /// Starts `template` for `host:port` and waits (up to `wait`) until its local port accepts
    /// connections.
    pub async fn start(
        template: &str,
        host: &str,
        port: u16,
        wait: Duration,
    ) -> Result<Tunnel, TunnelError> {
        let local_port = free_port()?;
        let command = expand(template, host, port, local_port)?;
        install_interrupt_handler();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(&command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group: one signal reaches everything it starts (ssh, session plugins,
            // socat's forks), and a Ctrl-C at the terminal reaches kirikae only, which then
            // ends the group itself.
            .process_group(0);
        // SAFETY: prctl is async-signal-safe and touches only the child being started.
        #[cfg(target_os = "linux")]
        unsafe {
            cmd.pre_exec(|| {
                // Should kirikae be killed outright (SIGKILL: nothing of it runs), the command
                // is told to end too. Held across `sh`'s exec of a single command. The kernel
                // sends it when the spawning *thread* ends: tunnels are started from the async
                // runtime's threads, which live as long as the process.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|source| TunnelError::Spawn {
            command: command.clone(),
            source,
        })?;
        let output = Arc::new(Mutex::new(Tail::default()));
        let streams: [Option<Box<dyn Read + Send>>; 2] = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ];
        for mut stream in streams.into_iter().flatten() {
            let output = output.clone();
            // Ends at end of file: when the last process of the group holding it is gone.
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut t) = output.lock() {
                        t.push(&buf[..n]);
                    }
                }
            });
        }
        let group = i32::try_from(child.id()).unwrap_or(0);
        register(group);
        let tunnel = Tunnel {
            command,
            host: host.into(),
            port,
            local_port,
            child: Mutex::new(child),
            group,
            output,
        };
        tunnel.wait_listening(wait).await?;
        Ok(tunnel)
    }

    /// Polls the local port until it accepts a connection, the command exits, or `wait` ends.
    async fn wait_listening(&self, wait: Duration) -> Result<(), TunnelError> {
        let start = Instant::now();
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.local_port).into();
        loop {
            if let Some(status) = self.exit_status() {
                // Give the readers a moment to take in its last words.
                tokio::time::sleep(POLL).await;
                return Err(TunnelError::ExitedEarly {
                    which: self.which(),
                    status: describe_status(status),
                    output: self.output(),
                });
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
                return Ok(());
            }
            if start.elapsed() >= wait {
                return Err(TunnelError::NotListening {
                    which: self.which(),
                    waited_s: wait.as_secs(),
                    output: self.output(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn which(&self) -> Box<Which> {
        Box::new(Which {
            command: self.command.clone(),
            host: self.host.clone(),
            port: self.port,
            local_port: self.local_port,
        })
    }

    fn output(&self) -> String {
        self.output.lock().map(|t| t.render()).unwrap_or_default()
    }

    /// How the command ended, once it has.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        let mut child = self.child.lock().ok()?;
        child.try_wait().ok().flatten()
    }

    /// The error of this tunnel having ended during `during`; `cause`: what the work in
    /// progress failed with.
    fn died(&self, status: Option<ExitStatus>, during: &str, cause: Option<String>) -> TunnelError {
        TunnelError::Died {
            which: self.which(),
            status: status.map_or_else(|| "ended".into(), describe_status),
            during: during.into(),
            output: self.output(),
            cause: cause
                .map(|c| format!("\nthe work in progress failed with: {c}"))
                .unwrap_or_default(),
        }
    }

    /// Runs `work` through this tunnel: when the command ends first, `work` is dropped and the
    /// tunnel's end is the error (a dead tunnel can leave a connection waiting for minutes);
    /// when `work` fails and the command has ended meanwhile, the tunnel is named as the cause.
    pub async fn guard<T, E: std::fmt::Display>(
        &self,
        during: &str,
        work: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<Result<T, E>, TunnelError> {
        let ended = async {
            loop {
                if let Some(status) = self.exit_status() {
                    return status;
                }
                tokio::time::sleep(POLL).await;
            }
        };
        tokio::select! {
            r = work => match r {
                Err(e) => match self.exit_status() {
                    Some(status) => Err(self.died(Some(status), during, Some(e.to_string()))),
                    None => Ok(Err(e)),
                },
                ok => Ok(ok),
            },
            status = ended => Err(self.died(Some(status), during, None)),
        }
    }
}

impl Drop for Tunnel {
    /// Ends the command's whole group: SIGTERM, then SIGKILL after [`GRACE`] for what is left.
    fn drop(&mut self) {
        unregister(self.group);
        if self.group <= 0 {
            return;
        }
        let mut child = self.child.lock().ok();
        let gone = |child: &mut Option<std::sync::MutexGuard<'_, Child>>| {
            if let Some(c) = child.as_mut() {
                let _ = c.try_wait(); // reaps the leader, which would otherwise linger
            }
            // SAFETY: signal 0 to a process group only asks whether any member is left.
            unsafe { libc::kill(-self.group, 0) != 0 }
        };
        // SAFETY: kill(2) on the group kirikae made for this command.
        unsafe { libc::kill(-self.group, libc::SIGTERM) };
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if gone(&mut child) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-self.group, libc::SIGKILL) };
        if let Some(c) = child.as_mut() {
            let _ = c.wait();
        }
    }
}

// --- interruption ---------------------------------------------------------------------------
//
// A Ctrl-C reaches kirikae's process group, not the tunnels' (each has its own): so that no
// tunnel outlives an interrupted kirikae, the signals that end a process by default are caught,
// every live tunnel group is ended, and the signal is raised again with its default action, so
// kirikae ends as it did before (the run stays resumable from its journal).

/// The process groups of the live tunnels (0: a free slot). Atomics: read in a signal handler.
static GROUPS: [AtomicI32; 32] = [const { AtomicI32::new(0) }; 32];

fn register(group: i32) {
    for slot in &GROUPS {
        if slot
            .compare_exchange(0, group, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
    // More than 32 at once does not happen (a run uses one at a time); such a tunnel is still
    // ended when dropped and by PR_SET_PDEATHSIG.
}

fn unregister(group: i32) {
    for slot in &GROUPS {
        let _ = slot.compare_exchange(group, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Only async-signal-safe calls: kill, nanosleep, raise.
extern "C" fn on_interrupt(signal: libc::c_int) {
    let mut live = false;
    for slot in &GROUPS {
        let g = slot.load(Ordering::SeqCst);
        if g > 0 {
            // SAFETY: kill(2) is async-signal-safe.
            unsafe { libc::kill(-g, libc::SIGTERM) };
            live = true;
        }
    }
    if live {
        let pause = libc::timespec {
            tv_sec: 0,
            tv_nsec: 50_000_000,
        };
        // Up to GRACE for the groups to go, then SIGKILL. A leader is kirikae's child and
        // stays a zombie member of its group until reaped: it is reaped here (the process
        // ends right after, so nothing else will wait for it).
        for _ in 0..(GRACE.as_millis() / 50) {
            let left = GROUPS.iter().any(|slot| {
                let g = slot.load(Ordering::SeqCst);
                // SAFETY: waitpid and kill are async-signal-safe; signal 0 only asks.
                g > 0
                    && unsafe {
                        libc::waitpid(g, std::ptr::null_mut(), libc::WNOHANG);
                        libc::kill(-g, 0) == 0
                    }
            });
            if !left {
                break;
            }
            // SAFETY: nanosleep is async-signal-safe.
            unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
        }
        for slot in &GROUPS {
            let g = slot.load(Ordering::SeqCst);
            if g > 0 {
                // SAFETY: as above.
                unsafe { libc::kill(-g, libc::SIGKILL) };
            }
        }
    }
    // SA_RESETHAND restored the default action: this ends the process as the signal would have.
    // SAFETY: raise is async-signal-safe.
    unsafe { libc::raise(signal) };
}

fn install_interrupt_handler() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: sigaction with a handler that only makes async-signal-safe calls; the
            // previous action is read first and kept when it is not the default (a signal
            // ignored by `nohup` stays ignored; another handler is not replaced).
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut old) != 0
                    || old.sa_sigaction != libc::SIG_DFL
                {
                    continue;
                }
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_interrupt as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESETHAND | libc::SA_NODEFER;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_shell_variables_left_alone() {
        let c = expand(
            "ssh -N -L {local_port}:{host}:{port} ${BASTION} # {host}",
            "db.cluster-abc.ap-northeast-1.rds.amazonaws.com",
            5432,
            41000,
        )
        .unwrap();
        assert_eq!(
            c,
            "ssh -N -L 41000:db.cluster-abc.ap-northeast-1.rds.amazonaws.com:5432 ${BASTION} \
             # db.cluster-abc.ap-northeast-1.rds.amazonaws.com"
        );
    }

    #[test]
    fn a_host_a_shell_would_interpret_is_refused() {
        for host in ["a;rm -rf /", "$(id)", "a b", ""] {
            assert!(
                matches!(
                    expand("x {host} {local_port}", host, 1, 2),
                    Err(TunnelError::BadHost { .. })
                ),
                "{host:?}"
            );
        }
    }

    #[test]
    fn the_tail_keeps_the_end() {
        let mut t = Tail::default();
        t.push(&vec![b'a'; OUTPUT_TAIL]);
        t.push(b"\nthe reason");
        assert_eq!(t.0.len(), OUTPUT_TAIL);
        assert!(t.render().ends_with("the reason"));
        assert_eq!(Tail::default().render(), "; it wrote nothing");
    }
}
