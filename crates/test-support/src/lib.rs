//! Test helpers shared by the mcp-guard crates' integration tests: a real
//! `redis-server` started on a free loopback port, HS256 test tokens
//! ([`jwt`]), log capture ([`logs`]), what a guard answers while its store
//! is down ([`outage`]), the resident set size the memory benches measure
//! and a wrapper type's size ([`memory`]), and an rmcp server that streams log notifications
//! ([`emitter`]). Not published.
//!
//! ```no_run
//! use mcp_guard_test_support::RedisServer;
//!
//! let mut redis = RedisServer::start();
//! let url = redis.url(); // redis://127.0.0.1:<port>/
//! redis.stop(); // the port refuses connections: a Redis outage
//! redis.restart(); // the same port answers again (empty: no persistence)
//! redis.pause(); // SIGSTOP: connections hang, data is kept
//! redis.resume(); // SIGCONT
//! # drop(url);
//! ```

// Test support fails loudly: a helper that cannot start Redis panics with why.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod emitter;
pub mod jwt;
pub mod logs;
pub mod memory;
pub mod outage;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a started server gets to answer `PING`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` child process on a loopback port, killed on drop.
///
/// Started with `--save "" --appendonly no` (no persistence) unless
/// [`RedisServer::start_persistent`] asks for an append-only file.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
    /// Where an append-only file lives, for a persistent server.
    data_dir: Option<PathBuf>,
}

impl RedisServer {
    /// Starts `redis-server` (found on `PATH`) on a free loopback port and
    /// waits until it answers `PING`.
    ///
    /// # Panics
    ///
    /// If `redis-server` is not installed, or does not answer within 10 s.
    pub fn start() -> RedisServer {
        let mut server = RedisServer {
            port: free_port(),
            child: None,
            data_dir: None,
        };
        server.spawn();
        server
    }

    /// Like [`start`](RedisServer::start), but with an append-only file
    /// fsynced on every write (`--appendonly yes --appendfsync always`) in a
    /// fresh temporary directory: what was acknowledged survives
    /// [`restart`](RedisServer::restart).
    pub fn start_persistent() -> RedisServer {
        let port = free_port();
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mcp-guard-redis-{}-{port}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory for the append-only file");
        let mut server = RedisServer {
            port,
            child: None,
            data_dir: Some(dir),
        };
        server.spawn();
        server
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id, while it runs (for `SIGSTOP`-style tests).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the server process is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server and waits for it to exit: its port refuses connections.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The kernel may take a moment to release the listening socket.
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while ping(self.port) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Freezes the server (`SIGSTOP`): connections stay open but nothing is
    /// answered, the way a hung or partitioned server behaves. Data is kept.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Thaws a [paused](RedisServer::pause) server (`SIGCONT`).
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let pid = self.pid().expect("redis-server is running");
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {pid} failed: {status}");
    }

    /// Stops the server if it runs, then starts it again on the same port.
    /// Without persistence it comes back empty.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Runs one command (inline protocol) and returns the raw reply, e.g.
    /// `command("DBSIZE")` → `":3\r\n"`.
    pub fn command(&self, line: &str) -> String {
        let mut stream = TcpStream::connect(self.address()).expect("connect to redis-server");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("send a command");
        let mut reply = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let read = stream.read(&mut buffer).expect("read a reply");
            reply.extend_from_slice(&buffer[..read]);
            if read == 0 || reply.ends_with(b"\r\n") {
                break;
            }
        }
        String::from_utf8_lossy(&reply).into_owned()
    }

    fn address(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn spawn(&mut self) {
        let binary = find_on_path("redis-server").unwrap_or_else(|| {
            panic!(
                "redis-server not found: install the Debian package redis-server (scripts/test.sh does this)"
            )
        });
        let mut command = Command::new(binary);
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", ""])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match &self.data_dir {
            Some(dir) => {
                command
                    .args(["--appendonly", "yes", "--appendfsync", "always"])
                    .arg("--dir")
                    .arg(dir);
            }
            None => {
                command.args(["--appendonly", "no"]);
            }
        }
        let child = command.spawn().expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while !ping(self.port) {
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "redis-server exited at startup on port {}: {status}",
                    self.port
                );
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING within {STARTUP_TIMEOUT:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = self.data_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Whether something on the loopback `port` answers `PING` with `+PONG`.
fn ping(port: u16) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

/// A loopback port nothing listens on right now (the OS picks it).
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}
