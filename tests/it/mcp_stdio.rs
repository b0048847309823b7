//! `hookd stdio` as Claude Desktop runs it: a child process speaking MCP on stdin/stdout, with
//! rmcp's client, alone and beside a `hookd serve` that owns the webhook port.

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::mcp::{ERAS, call_ok, config};
use common::{Process, post_json, wait_listening_async};
use rmcp::ServiceExt;
use rmcp::model::ProtocolVersion;
use rmcp::transport::TokioChildProcess;
use serde_json::json;

/// Starts `hookd stdio` and connects to it; returns the client and the webhook address it bound
/// (`None` when another hookd has it).
async fn stdio(
    data_dir: &Path,
    webhook_addr: &str,
    era: ProtocolVersion,
) -> (common::mcp::Client, Option<std::net::SocketAddr>) {
    let mut cmd = tokio::process::Command::new(common::bin());
    cmd.arg("stdio")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--webhook-addr", webhook_addr]);
    let (transport, stderr) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::piped())
        .spawn()
        .expect("hookd stdio spawns");
    let (webhook, mcp) = wait_listening_async(stderr.unwrap()).await;
    assert_eq!(mcp, None, "stdio mode opens no MCP HTTP listener");
    let client = config(era)
        .serve(transport)
        .await
        .expect("MCP over stdio connects");
    (client, webhook)
}

#[tokio::test]
async fn stdio_serves_the_tools_and_receives_webhooks() {
    for era in ERAS {
        let dir = tempfile::tempdir().unwrap();
        let (client, webhook) = stdio(dir.path(), "127.0.0.1:0", era.clone()).await;
        let webhook = webhook.expect("stdio binds the webhook port when it is free");
        let http = common::http();
        let r = post_json(
            &http,
            webhook,
            "github",
            Some("d-stdio"),
            r#"{"hello":"stdio"}"#,
        )
        .await;
        assert_eq!(r.status, 200);
        let recent = call_ok(&client, "get_recent_events", json!({})).await;
        assert_eq!(recent["events"][0]["payload"]["hello"], "stdio", "{era}");
        assert_eq!(recent["events"][0]["delivery_id"], "d-stdio");
        client.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn stdio_beside_serve_shares_the_store_and_sees_new_events_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Process::serve(dir.path(), &[]);
    let (client, webhook) = stdio(dir.path(), &serve.webhook.to_string(), ERAS[0].clone()).await;
    assert_eq!(webhook, None, "the webhook port belongs to hookd serve");
    let http = common::http();
    let before = post_json(&http, serve.webhook, "github", None, r#"{"n":0}"#).await;
    let cursor = before.body["event_id"].as_i64().unwrap();
    let seen = call_ok(&client, "get_event_by_id", json!({"event_id": cursor})).await;
    assert_eq!(
        seen["payload"]["n"], 0,
        "reads what the other process stored"
    );

    let waiter = tokio::spawn(async move {
        let args = json!({"after_id": cursor, "timeout_seconds": 20});
        let r = call_ok(&client, "wait_for_event", args).await;
        (r, Instant::now(), client)
    });
    // The wait is correct whenever it starts (it has an explicit cursor); this pause only makes
    // it likely that it is parked, so the latency below measures a cross-process wake-up.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let hit = post_json(&http, serve.webhook, "github", None, r#"{"n":1}"#).await;
    let acked = Instant::now();
    let (r, woke, client) = waiter.await.unwrap();
    assert_eq!(r["event"]["id"], hit.body["event_id"]);
    let latency = woke.saturating_duration_since(acked);
    assert!(
        latency < Duration::from_millis(500),
        "cross-process wake took {latency:?}"
    );
    client.cancel().await.unwrap();
}

/// `hookd stdio` run with `args`, stdin closed: its exit status and stderr.
async fn stdio_fails(args: &[&str]) -> (std::process::ExitStatus, String) {
    let out = tokio::process::Command::new(common::bin())
        .arg("stdio")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn stdio_refuses_a_webhook_port_held_by_something_else() {
    // A web server that is not hookd.
    let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = other.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = other.accept().await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = socket
                .write_all(b"HTTP/1.0 200 OK\r\ncontent-length: 5\r\n\r\nhello")
                .await;
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (status, err) = stdio_fails(&["--data-dir", data, "--webhook-addr", &addr]).await;
    assert!(!status.success());
    assert!(err.contains("a server that is not hookd"), "{err}");
    assert!(err.contains("--webhook-addr"), "{err}");

    // A hookd on another store.
    let elsewhere = tempfile::tempdir().unwrap();
    let serve = Process::serve(elsewhere.path(), &[]);
    let addr = serve.webhook.to_string();
    let (status, err) = stdio_fails(&["--data-dir", data, "--webhook-addr", &addr]).await;
    assert!(!status.success());
    assert!(err.contains("a hookd serving another store"), "{err}");
}

#[test]
fn a_taken_port_names_its_flag_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::bin())
        .args([
            "serve",
            "--webhook-addr",
            &addr,
            "--mcp-addr",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err.lines().find(|l| l.starts_with("hookd:")).unwrap();
    assert!(line.contains("(--webhook-addr)"), "{line}");
    assert_eq!(line.matches("in use").count(), 1, "the cause once: {line}");
}
