//! What the root crate's integration tests share. This file starts the
//! examples (`examples/`, built by `cargo test`) as real processes on free
//! loopback ports and finds the Python MCP SDK; the submodules hold a raw
//! HTTP/1.1 client, memory and panic accounting, and real handlers to stack
//! the guards in front of. Every test binary compiles all of it and uses a
//! part, hence `dead_code` allowed here for the whole tree.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)] // each test uses a part

pub mod jsonrpc;
pub mod mcp_http;
pub mod memory;
pub mod panics;
pub mod raw_http;
pub mod rmcp_client;
#[cfg(feature = "session")]
pub mod rmcp_echo;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running example binary (`examples/<name>`) that printed
/// `MCP endpoint: <url>`; killed on drop.
pub struct Example {
    child: Child,
    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub url: String,
}

/// `target/<profile>/examples/<name>`: cargo builds examples before it runs
/// integration tests, next to the test binary's `deps` directory (a run of one
/// test target needs `cargo build --all-features --example <name>` first).
pub fn example_binary_named(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().unwrap();
    let profile_dir = test_binary.parent().unwrap().parent().unwrap();
    let binary = profile_dir.join("examples").join(name);
    assert!(
        binary.exists(),
        "{} is missing: run the tests with `cargo test --all-features` (it builds the examples), \
         or `cargo build --all-features --example {name}` first",
        binary.display()
    );
    binary
}

/// The `mcp_server` example's binary.
pub fn example_binary() -> PathBuf {
    example_binary_named("mcp_server")
}

impl Example {
    /// Runs `command` (an example binary with its arguments) and waits for
    /// the endpoint line it prints once it listens.
    pub fn spawn(command: Command) -> Example {
        Example::spawn_logging_to(command, Stdio::inherit())
    }

    /// [`spawn`](Self::spawn), with the example's stderr (its logs) going
    /// to `stderr`, e.g. a file the test reads afterwards.
    pub fn spawn_logging_to(mut command: Command, stderr: Stdio) -> Example {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start the example");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("MCP endpoint: ")
            .unwrap_or_else(|| panic!("the example printed {line:?} instead of its endpoint"))
            .to_owned();
        Example { child, url }
    }

    /// Starts `examples/<name>` with `args`, or fails clearly if it has not
    /// printed its endpoint within `timeout` (a test must never hang).
    pub fn start_within(name: &str, args: &[&str], timeout: Duration) -> Example {
        let mut command = Command::new(example_binary_named(name));
        command.args(args);
        spawn_within(format!("{name} {}", args.join(" ")), timeout, move || {
            Example::spawn(command)
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        self.url.trim_end_matches("/mcp").to_owned()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.origin().rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Sends SIGTERM, what `docker stop`, systemd and Kubernetes send.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {} failed", self.child.id());
    }

    /// Its exit status, or `None` if it is still running after `timeout`.
    pub fn exit_within(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `start` on a thread, failing clearly (naming `what`) if it has not
/// returned within `timeout`.
fn spawn_within<T: Send + 'static>(
    what: String,
    timeout: Duration,
    start: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(start());
    });
    match receiver.recv_timeout(timeout) {
        Ok(started) => started,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the example ({what}) did not print its endpoint within {timeout:?}")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            panic!("the example ({what}) did not start (see the panic above)")
        }
    }
}

/// The `mcp_server` example; killed on drop.
pub struct ExampleServer {
    example: Example,
    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    /// The development issuer's all-scopes token (remote preset).
    pub token: Option<String>,
    _dir: TempDir,
}

impl ExampleServer {
    /// Starts the example with `args` (e.g. `["--preset", "remote"]`).
    pub fn start(args: &[&str]) -> ExampleServer {
        ExampleServer::start_logging_to(args, Stdio::inherit())
    }

    /// [`start`](Self::start), with the server's logs going to `stderr`.
    pub fn start_logging_to(args: &[&str], stderr: Stdio) -> ExampleServer {
        let dir = TempDir::new();
        let token_file = dir.path.join("token");
        let mut command = Command::new(example_binary());
        command.args(["--addr", "127.0.0.1:0"]).args(args);
        let remote = args.windows(2).any(|pair| pair == ["--preset", "remote"]);
        let dev_issuer = remote && !args.contains(&"--issuer");
        if dev_issuer {
            command.arg("--token-out").arg(&token_file);
        }
        let example = Example::spawn_logging_to(command, stderr);
        let token = dev_issuer.then(|| std::fs::read_to_string(&token_file).unwrap());
        ExampleServer {
            url: example.url.clone(),
            example,
            token,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        self.example.origin()
    }

    /// The running process (to signal it, or wait for its exit).
    pub fn process(&mut self) -> &mut Example {
        &mut self.example
    }

    /// The development issuer's identifier (`<origin>/dev-issuer`).
    pub fn issuer(&self) -> String {
        format!("{}/dev-issuer", self.origin())
    }

    /// The development issuer's RFC 8414 metadata, fetched with `http`.
    pub async fn issuer_metadata(&self, http: &reqwest::Client) -> serde_json::Value {
        mcp_http::json_of(http.get(format!(
            "{}/.well-known/oauth-authorization-server/dev-issuer",
            self.origin()
        )))
        .await
    }

    /// A token from the development issuer's token endpoint with `scope`: a
    /// new confidential client registers (RFC 7591) and asks for client
    /// credentials, so the token's subject is that client's id (a principal
    /// other than `dev-user`).
    pub async fn token_with_scope(&self, scope: &str) -> String {
        let http = reqwest::Client::new();
        let client: serde_json::Value = mcp_http::json_of(
            http.post(format!("{}/register", self.issuer()))
                .header("content-type", "application/json")
                .body(
                    serde_json::json!({
                        "grant_types": ["client_credentials"],
                        "token_endpoint_auth_method": "client_secret_post",
                    })
                    .to_string(),
                ),
        )
        .await;
        let response: serde_json::Value = mcp_http::json_of(
            http.post(format!("{}/token", self.issuer()))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "grant_type=client_credentials&scope={}&client_id={}&client_secret={}",
                    scope.replace(' ', "%20"),
                    client["client_id"].as_str().unwrap(),
                    client["client_secret"].as_str().unwrap(),
                )),
        )
        .await;
        response["access_token"].as_str().unwrap().to_owned()
    }

    /// Stops the server now (the test then checks what clients see).
    pub fn kill(&mut self) {
        self.example.kill();
    }
}

/// [`ExampleServer::start`] with `args`, or a clear failure if the server has
/// not printed its endpoint within `timeout` (a test must never hang).
pub fn start_within(args: &[&str], timeout: Duration) -> ExampleServer {
    let owned: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    spawn_within(
        format!("mcp_server {}", owned.join(" ")),
        timeout,
        move || {
            let args: Vec<&str> = owned.iter().map(String::as_str).collect();
            ExampleServer::start(&args)
        },
    )
}

/// Waits for a client script started with piped stdout and stderr, killing it
/// after `timeout`: its exit status (`None` when killed), stdout and stderr.
pub fn wait_with_timeout(
    mut child: Child,
    timeout: Duration,
) -> (Option<std::process::ExitStatus>, String, String) {
    use std::io::Read;
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().unwrap()));
    let stderr = read_all(Box::new(child.stderr.take().unwrap()));
    let deadline = std::time::Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, stdout.join().unwrap(), stderr.join().unwrap())
}

/// What installs every tool the tests run (Chromium, redis-server, the
/// Python and TypeScript SDKs, Node): named by every "missing" failure.
pub const INSTALL_EVERYTHING: &str = "bash scripts/test.sh";

/// The Python interpreter of the venv scripts/test.sh creates with the
/// official MCP SDK (`mcp` from PyPI), or `MCP_GUARD_PYTHON`. A missing
/// interpreter or SDK fails the test saying how to get it, never skips it.
pub fn python() -> PathBuf {
    static CHECKED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CHECKED.get_or_init(find_python).clone()
}

fn find_python() -> PathBuf {
    let python = std::env::var_os("MCP_GUARD_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"),
        PathBuf::from,
    );
    let sdk = Command::new(&python)
        .args(["-c", "import mcp, httpx2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        sdk.is_ok_and(|status| status.success()),
        "the Python MCP SDK is missing ({} cannot import `mcp`): run `{INSTALL_EVERYTHING}` \
         (it creates .venv and installs tests/python/requirements.txt), or \
         `python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt`",
        python.display()
    );
    python
}

/// Runs tests/python/e2e_client.py against `url` in `mode` (`legacy` or
/// `2026-07-28`) and returns its JSON report.
pub fn python_client(url: &str, mode: &str, token: Option<&str>) -> serde_json::Value {
    let mut args = vec![url, mode];
    args.extend(token);
    python_script("e2e_client.py", &args)
}

/// Runs `tests/python/<script>` with `args` under the SDK's interpreter and
/// returns the JSON report it prints, failing clearly when it fails.
pub fn python_script(script: &str, args: &[&str]) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let output = Command::new(python())
        .arg(path)
        .args(args)
        .output()
        .expect("run the Python MCP client");
    assert!(
        output.status.success(),
        "the Python MCP client {script} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "the Python client printed no JSON report ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// A temporary directory, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "mcp-guard-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// One parsed SSE event: its id (if any) and its data.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: Option<String>,
    pub data: String,
}

impl Event {
    /// The JSON-RPC response to request `id` among `events`, parsed.
    ///
    /// # Panics
    ///
    /// If no event is that response.
    pub fn response_to(events: &[Event], id: u64) -> serde_json::Value {
        let event = events
            .iter()
            .find(|event| event.is_response_to(id))
            .unwrap_or_else(|| panic!("no response to request {id} in {events:?}"));
        serde_json::from_str(&event.data).unwrap()
    }

    /// The `progress` of a `notifications/progress` event; `None` for any
    /// other event.
    pub fn progress(&self) -> Option<f64> {
        let message: serde_json::Value = serde_json::from_str(&self.data).ok()?;
        (message["method"] == "notifications/progress")
            .then(|| message["params"]["progress"].as_f64())?
    }

    /// Whether this event is the response to request `id`.
    pub fn is_response_to(&self, id: u64) -> bool {
        serde_json::from_str::<serde_json::Value>(&self.data)
            .is_ok_and(|message| message["id"] == id)
    }
}

/// Reads SSE events from a streaming reqwest response until `done` says stop
/// (or the stream ends), bounded by `limit`.
pub async fn read_events(
    response: &mut reqwest::Response,
    limit: Duration,
    mut done: impl FnMut(&[Event]) -> bool,
) -> Vec<Event> {
    let mut events = Vec::new();
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if done(&events) {
            return events;
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no more events within {limit:?}; got {events:?}"))
            .unwrap();
        let Some(chunk) = chunk else { return events };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut event = Event {
                id: None,
                data: String::new(),
            };
            for line in block.lines() {
                if let Some(id) = line.strip_prefix("id:") {
                    event.id = Some(id.trim().to_owned());
                } else if let Some(data) = line.strip_prefix("data:") {
                    event.data.push_str(data.trim_start());
                }
            }
            if !event.data.is_empty() {
                events.push(event);
            }
        }
    }
}
