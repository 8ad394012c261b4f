//! Starts the example server (`examples/mcp_server/`, built by `cargo test`)
//! as a real process on a free loopback port, and finds the Python MCP SDK.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)] // each test uses a part

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `mcp_server` example; killed on drop.
pub struct ExampleServer {
    child: Child,
    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    /// The development issuer's all-scopes token (remote preset).
    pub token: Option<String>,
    _dir: TempDir,
}

/// `target/<profile>/examples/mcp_server`: cargo builds examples before it runs
/// integration tests, next to the test binary's `deps` directory.
pub fn example_binary() -> PathBuf {
    let test_binary = std::env::current_exe().unwrap();
    let profile_dir = test_binary.parent().unwrap().parent().unwrap();
    let binary = profile_dir.join("examples").join("mcp_server");
    assert!(
        binary.exists(),
        "{} is missing: run the tests with `cargo test --all-features` (it builds the example)",
        binary.display()
    );
    binary
}

impl ExampleServer {
    /// Starts the example with `args` (e.g. `["--preset", "remote"]`).
    pub fn start(args: &[&str]) -> ExampleServer {
        let dir = TempDir::new();
        let token_file = dir.path.join("token");
        let mut command = Command::new(example_binary());
        command.args(["--addr", "127.0.0.1:0"]).args(args);
        let remote = args.windows(2).any(|pair| pair == ["--preset", "remote"]);
        let dev_issuer = remote && !args.contains(&"--issuer");
        if dev_issuer {
            command.arg("--token-out").arg(&token_file);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the example server");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("MCP endpoint: ")
            .unwrap_or_else(|| panic!("the example printed {line:?} instead of its endpoint"))
            .to_owned();
        let token = dev_issuer.then(|| std::fs::read_to_string(&token_file).unwrap());
        ExampleServer {
            child,
            url,
            token,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        self.url.trim_end_matches("/mcp").to_owned()
    }

    /// A token from the development issuer's token endpoint with `scope`: a
    /// new confidential client registers (RFC 7591) and asks for client
    /// credentials, so the token's subject is that client's id (a principal
    /// other than `dev-user`).
    pub async fn token_with_scope(&self, scope: &str) -> String {
        let http = reqwest::Client::new();
        let client: serde_json::Value = http
            .post(format!("{}/dev-issuer/register", self.origin()))
            .header("content-type", "application/json")
            .body(
                serde_json::json!({
                    "grant_types": ["client_credentials"],
                    "token_endpoint_auth_method": "client_secret_post",
                })
                .to_string(),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let response: serde_json::Value = http
            .post(format!("{}/dev-issuer/token", self.origin()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&scope={}&client_id={}&client_secret={}",
                scope.replace(' ', "%20"),
                client["client_id"].as_str().unwrap(),
                client["client_secret"].as_str().unwrap(),
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["access_token"].as_str().unwrap().to_owned()
    }

    /// Stops the server now (the test then checks what clients see).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// [`ExampleServer::start`] with `args`, or a clear failure if the server has
/// not printed its endpoint within `timeout` (a test must never hang).
pub fn start_within(args: &[&str], timeout: Duration) -> ExampleServer {
    let (sender, receiver) = std::sync::mpsc::channel();
    let owned: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    let shown = owned.join(" ");
    std::thread::spawn(move || {
        let args: Vec<&str> = owned.iter().map(String::as_str).collect();
        let _ = sender.send(ExampleServer::start(&args));
    });
    match receiver.recv_timeout(timeout) {
        Ok(server) => server,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the example server ({shown}) did not print its endpoint within {timeout:?}")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            panic!("the example server ({shown}) did not start (see the panic above)")
        }
    }
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

/// The Python interpreter of the venv scripts/test.sh creates with the
/// official MCP SDK (`mcp` from PyPI).
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("MCP_GUARD_PYTHON") {
        return PathBuf::from(python);
    }
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        python.exists(),
        "the Python MCP SDK is missing: run scripts/test.sh (it creates .venv and installs tests/python/requirements.txt), \
         or `python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt`"
    );
    python
}

/// Runs tests/python/e2e_client.py against `url` in `mode` (`legacy` or
/// `2026-07-28`) and returns its JSON report.
pub fn python_client(url: &str, mode: &str, token: Option<&str>) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/e2e_client.py");
    let mut command = Command::new(python());
    command.arg(script).arg(url).arg(mode);
    if let Some(token) = token {
        command.arg(token);
    }
    let output = command.output().expect("run the Python MCP client");
    assert!(
        output.status.success(),
        "the Python MCP client failed ({}):\n{}",
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
