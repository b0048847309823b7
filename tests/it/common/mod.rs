//! Test harnesses: hookd in-process (`TestApp`) or as a real process (`Process`), both bound on
//! 127.0.0.1 port 0, and a small HTTP client for webhooks.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use hookd::app::{self, Mode, Running};
use hookd::config::Config;
use serde_json::Value;

pub mod browser;
pub mod modern;
pub mod pg;
pub mod redis;

pub fn fixture(path: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// hookd started in this process on a fresh data dir.
pub struct TestApp {
    pub running: Option<Running>,
    pub webhook: SocketAddr,
    pub mcp: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::ephemeral(dir.path().join("data"));
        adjust(&mut config);
        let running = app::start(&config, Mode::Serve)
            .await
            .expect("hookd starts");
        Self {
            webhook: running.webhook_addr.unwrap(),
            mcp: running.mcp_addr.unwrap(),
            running: Some(running),
            dir,
        }
    }

    pub fn store(&self) -> &dyn hookd::store::Store {
        self.running.as_ref().unwrap().store.as_ref()
    }

    pub fn mcp_url(&self) -> String {
        format!("http://{}/mcp", self.mcp)
    }

    pub async fn stop(mut self) {
        self.running.take().unwrap().stop().await.unwrap();
    }

    /// Stops hookd and starts it again on the same data directory, configured anew by `adjust`
    /// (a restart, or a second hookd with other settings on the same store).
    pub async fn restart_with(mut self, adjust: impl FnOnce(&mut Config)) -> Self {
        self.running.take().unwrap().stop().await.unwrap();
        let mut config = Config::ephemeral(self.dir.path().join("data"));
        adjust(&mut config);
        let running = app::start(&config, Mode::Serve)
            .await
            .expect("hookd starts again");
        Self {
            webhook: running.webhook_addr.unwrap(),
            mcp: running.mcp_addr.unwrap(),
            running: Some(running),
            dir: self.dir,
        }
    }
}

/// An event as ingest would hand it to the store: JSON `payload` (its `type` field, if any, is the
/// event type), received now.
pub fn new_event(
    source: &str,
    delivery: Option<&str>,
    payload: serde_json::Value,
) -> hookd::event::NewEvent {
    hookd::event::NewEvent {
        source: source.into(),
        event_type: payload["type"].as_str().unwrap_or("t").into(),
        delivery_id: delivery.map(Into::into),
        received_at: chrono::Utc::now(),
        headers: Default::default(),
        content_type: Some("application/json".into()),
        payload_encoding: hookd::event::PayloadEncoding::Json,
        payload: hookd::payload::JsonText::new(payload.to_string()).unwrap(),
        verified: Some(true),
        subject: None,
        occurred_at: None,
        summary: None,
        derived: Vec::new(),
        search_words: None,
    }
}

/// The signature headers `provider` would send for `body` at `now` (Unix seconds), signed with
/// `secret`.
pub fn sign(provider: &str, secret: &str, body: &[u8], now: i64) -> Vec<(String, String)> {
    let p = hookd::providers::build(provider, Default::default()).unwrap();
    let d = hookd::signature::ToSign {
        body,
        now,
        delivery_id: "",
        url: "",
    };
    p.sign(&hookd::secret::Secret::new(secret), &d)
}

/// An HTTP client for tests (TLS needs hookd's crypto provider installed first).
pub fn http() -> reqwest::Client {
    hookd::outbound::client_builder().build().unwrap()
}

/// A reply to a webhook POST.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

pub async fn post(
    http: &reqwest::Client,
    addr: SocketAddr,
    source: &str,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> Reply {
    let mut req = http
        .post(format!("http://{addr}/webhook/{source}"))
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply { status, body }
}

/// A signed webhook as a provider would send it: the JSON `body` signed by `provider` with
/// `secret` at `now` (Unix seconds), with `extra` headers, POSTed to `/webhook/{source}`.
pub async fn post_signed(
    addr: SocketAddr,
    source: &str,
    (provider, secret): (&str, &str),
    now: i64,
    extra: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    let signed = sign(provider, secret, &body, now);
    let mut headers: Vec<(&str, &str)> = signed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    headers.push(("content-type", "application/json"));
    headers.extend_from_slice(extra);
    post(&http(), addr, source, &headers, body).await
}

pub async fn post_json(
    http: &reqwest::Client,
    addr: SocketAddr,
    source: &str,
    delivery: Option<&str>,
    body: &str,
) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(d) = delivery {
        headers.push(("x-github-delivery", d));
    }
    post(http, addr, source, &headers, body.to_owned()).await
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_hookd")
}

/// `hookd serve` as a child process.
pub struct Process {
    pub child: Child,
    pub webhook: SocketAddr,
    pub mcp: SocketAddr,
    pub data_dir: PathBuf,
}

/// `hookd serve` on `data_dir` with both listeners on free ports, not started yet.
pub fn serve_command(data_dir: &Path) -> Command {
    let mut command = Command::new(bin());
    command
        .args([
            "serve",
            "--webhook-addr",
            "127.0.0.1:0",
            "--mcp-addr",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data_dir);
    command
}

impl Process {
    /// Starts `hookd serve` on `data_dir` with both listeners on free ports.
    pub fn serve(data_dir: &Path, extra: &[&str]) -> Self {
        let mut child = serve_command(data_dir)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hookd spawns");
        let (webhook, mcp) = wait_listening(child.stderr.take().unwrap());
        Self {
            child,
            webhook: webhook.expect("webhook listener"),
            mcp: mcp.expect("mcp listener"),
            data_dir: data_dir.to_owned(),
        }
    }

    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `hookd serve` (the real binary) on `data_dir`, logging with `HOOKD_LOG=filter`: its log lines
/// (stderr) arrive on `lines` as they are written. Killed when dropped.
pub struct Logging {
    child: Child,
    pub webhook: SocketAddr,
    pub mcp: SocketAddr,
    pub lines: mpsc::Receiver<String>,
}

impl Logging {
    pub fn serve(data_dir: &Path, filter: &str) -> Self {
        Self::serve_with(data_dir, filter, &[])
    }

    /// With `extra` arguments to `hookd serve`.
    pub fn serve_with(data_dir: &Path, filter: &str, extra: &[&str]) -> Self {
        let mut child = serve_command(data_dir)
            .args(extra)
            .env("HOOKD_LOG", filter)
            .env_remove("HOOKD_LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hookd spawns");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (webhook, mcp) = loop {
            let line = lines
                .recv_timeout(Duration::from_secs(30))
                .expect("hookd starts");
            if line.contains("hookd listening") {
                break (field(&line, "webhook_addr="), field(&line, "mcp_addr="));
            }
        };
        Self {
            child,
            webhook: webhook.expect("webhook listener"),
            mcp: mcp.expect("mcp listener"),
            lines,
        }
    }
}

impl Drop for Logging {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a child's stderr until the "hookd listening" line and returns its addresses; keeps
/// draining stderr afterwards (echoed for failing tests) so the child never blocks on a full pipe.
pub fn wait_listening(
    stderr: std::process::ChildStderr,
) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[hookd] {line}");
            if line.contains("hookd listening")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send((field(&line, "webhook_addr="), field(&line, "mcp_addr=")));
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("hookd printed its addresses")
}

/// `wait_listening` for a tokio child's stderr.
pub async fn wait_listening_async(
    stderr: tokio::process::ChildStderr,
) -> (Option<SocketAddr>, Option<SocketAddr>) {
    use tokio::io::AsyncBufReadExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut tx = Some(tx);
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[hookd stdio] {line}");
            if line.contains("hookd listening")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send((field(&line, "webhook_addr="), field(&line, "mcp_addr=")));
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(30), rx)
        .await
        .expect("hookd printed its addresses")
        .unwrap()
}

fn field(line: &str, key: &str) -> Option<SocketAddr> {
    let start = line.find(key)? + key.len();
    line[start..].split_whitespace().next()?.parse().ok()
}

pub mod mcp {
    //! A real MCP client (rmcp's) against hookd.
    use rmcp::RoleClient;
    use rmcp::model::{
        CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
        ProtocolVersion,
    };
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RunningService};
    use rmcp::transport::StreamableHttpClientTransport;
    use serde_json::Value;

    pub type Client = RunningService<RoleClient, ClientConfig>;

    /// Both protocol eras hookd answers: stateless 2026-07-28 and session-based 2025-11-25.
    pub const ERAS: [ProtocolVersion; 2] =
        [ProtocolVersion::V_2026_07_28, ProtocolVersion::V_2025_11_25];

    pub fn config(version: ProtocolVersion) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("hookd-tests", "0"),
        )
        .with_protocol_version(version)
    }

    /// How a client of `version` starts: `server/discover` for 2026-07-28 (stateless, every
    /// request self-contained), `initialize` for older versions (a session).
    pub fn lifecycle(version: &ProtocolVersion) -> ClientLifecycleMode {
        if version.as_str() >= ProtocolVersion::V_2026_07_28.as_str() {
            ClientLifecycleMode::Discover {
                preferred_versions: vec![version.clone()],
            }
        } else {
            ClientLifecycleMode::Initialize
        }
    }

    pub async fn connect_http(url: &str, version: ProtocolVersion) -> Client {
        hookd::outbound::install_tls();
        let client = config(version.clone())
            .serve_with_lifecycle(
                StreamableHttpClientTransport::from_uri(url.to_owned()),
                lifecycle(&version),
            )
            .await
            .expect("MCP client connects");
        let negotiated = client.peer_info().map(|i| i.protocol_version.clone());
        assert_eq!(
            negotiated,
            Some(version),
            "the client speaks the era it asked for"
        );
        client
    }

    /// A 2026-07-28 client that sends `Authorization: Bearer {token}`.
    pub async fn connect_http_with_token(url: &str, token: &str) -> Client {
        hookd::outbound::install_tls();
        use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
        let version = ProtocolVersion::V_2026_07_28;
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(url.to_owned()).auth_header(token),
        );
        config(version.clone())
            .serve_with_lifecycle(transport, lifecycle(&version))
            .await
            .expect("MCP client connects")
    }

    pub async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
        let Value::Object(args) = args else {
            panic!("tool arguments must be an object")
        };
        client
            .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args))
            .await
            .unwrap_or_else(|e| panic!("{tool} call failed at the protocol level: {e}"))
    }

    /// The structured result of a successful call, checked against its text twin.
    pub async fn call_ok(client: &Client, tool: &str, args: Value) -> Value {
        let r = call(client, tool, args).await;
        assert_ne!(r.is_error, Some(true), "{tool} failed: {:?}", r.content);
        let structured = r.structured_content.expect("structured output");
        let text = r
            .content
            .first()
            .and_then(|c| c.as_text())
            .expect("text content");
        let as_text: Value = serde_json::from_str(&text.text).unwrap();
        assert_eq!(as_text, structured, "text and structured output agree");
        structured
    }

    /// The message of a tool error.
    pub async fn call_err(client: &Client, tool: &str, args: Value) -> String {
        let r = call(client, tool, args).await;
        assert_eq!(
            r.is_error,
            Some(true),
            "{tool} should fail: {:?}",
            r.structured_content
        );
        r.content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub mod recorder {
    //! An rmcp client that hands every notification it receives to the test, as JSON.
    use rmcp::model::{
        ClientConfig, CustomNotification, ProtocolVersion, ResourceUpdatedNotificationParam,
    };
    use rmcp::service::{ClientServiceExt, NotificationContext, RunningService};
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::{ClientHandler, RoleClient};
    use serde_json::{Value, json};
    use tokio::sync::mpsc;

    pub struct Recorder {
        config: ClientConfig,
        tx: mpsc::UnboundedSender<Value>,
    }

    impl ClientHandler for Recorder {
        async fn on_resource_updated(
            &self,
            params: ResourceUpdatedNotificationParam,
            _context: NotificationContext<RoleClient>,
        ) {
            let _ = self.tx.send(json!({
                "method": "notifications/resources/updated",
                "params": {"uri": params.uri},
            }));
        }

        async fn on_custom_notification(
            &self,
            notification: CustomNotification,
            context: NotificationContext<RoleClient>,
        ) {
            // rmcp moves `params._meta` into the context's extensions; put it back as on the wire.
            let meta = context
                .extensions
                .get::<rmcp::model::NotificationMetaObject>()
                .cloned()
                .unwrap_or_else(|| context.meta.clone());
            let mut params = notification.params.unwrap_or_else(|| json!({}));
            if !meta.is_empty() {
                params["_meta"] = serde_json::to_value(&meta).unwrap_or_default();
            }
            let _ = self
                .tx
                .send(json!({"method": notification.method, "params": params}));
        }

        fn get_info(&self) -> ClientConfig {
            self.config.clone()
        }
    }

    pub type Client = RunningService<RoleClient, Recorder>;

    /// A client over HTTP and the receiving end of its notifications.
    pub async fn connect(
        url: &str,
        version: ProtocolVersion,
    ) -> (Client, mpsc::UnboundedReceiver<Value>) {
        hookd::outbound::install_tls();
        let (tx, rx) = mpsc::unbounded_channel();
        let recorder = Recorder {
            config: super::mcp::config(version.clone()),
            tx,
        };
        let client = recorder
            .serve_with_lifecycle(
                StreamableHttpClientTransport::from_uri(url.to_owned()),
                super::mcp::lifecycle(&version),
            )
            .await
            .expect("MCP client connects");
        (client, rx)
    }
}

/// The interpreter or package a test needs, or `None` (after saying the test is skipped) when this
/// machine lacks it. Under `CI=true` a missing one fails the test instead.
pub fn runtime(
    test: &str,
    path: std::path::PathBuf,
    install_hint: &str,
) -> Option<std::path::PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let why = format!("{} is missing ({install_hint})", path.display());
    skipped(test, &why);
    None
}

/// Says that `test` (or part of it) is skipped and why, where the test command's summary finds it
/// (`target/skipped-tests.txt`: a test's own output is captured and never shown when it passes).
/// Under `CI=true` a skip is a failure instead.
pub fn skipped(test: &str, why: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: {why}"
    );
    eprintln!("SKIPPED {test}: {why}");
    let list = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/skipped-tests.txt");
    let line = format!("{test}: {why}\n");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(list);
    if let Ok(mut file) = file {
        use std::io::Write;
        let _ = file.write_all(line.as_bytes());
    }
}

/// The project's Python venv (made by `scripts/test`), or `HOOKD_TEST_PYTHON`.
pub fn python(test: &str) -> Option<std::path::PathBuf> {
    let python = std::env::var_os("HOOKD_TEST_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyenv/bin/python")
        });
    runtime(test, python, "run scripts/test")
}
