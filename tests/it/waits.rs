//! Waiting requests are capped, in all (`--max-waits`) and per credential
//! (`--max-waits-per-credential`): beyond either a wait is refused at once, saying which limit it
//! met (`-32013` for the Events methods, a tool error for the tools, `429` for the dashboard's
//! live list), and a client that hangs up gives its place back at once.

use crate::common;

use std::time::{Duration, Instant};

use common::TestApp;
use common::modern::Modern;
use hookd::secret::Secret;
use serde_json::{Value, json};

const TOKEN: &str = "waits-token";

fn long_poll(timeout_ms: u64) -> Value {
    json!({"name": "any", "cursor": "0", "timeoutMs": timeout_ms})
}

/// Starts `n` long polls that wait for a long time, and returns them once every one holds its
/// place: a short probe is then refused. (A probe can take a place first, and a long poll is then
/// refused: it is started again.)
async fn hold(client: &Modern, n: usize) -> (Vec<tokio::task::JoinHandle<()>>, Value) {
    let start_one = || {
        let c = client.clone();
        tokio::spawn(async move {
            c.send("events/poll", long_poll(300_000)).await;
        })
    };
    let mut held: Vec<_> = (0..n).map(|_| start_one()).collect();
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the waits never held their places"
        );
        let probe = client.send("events/poll", long_poll(100)).await;
        let refused = held.iter().any(|h| h.is_finished());
        for h in held.iter_mut().filter(|h| h.is_finished()) {
            *h = start_one();
        }
        if probe.body.get("error").is_some() && !refused {
            return (held, probe.body["error"].clone());
        }
    }
}

#[tokio::test]
async fn a_credential_holds_its_share_of_waits_and_a_hang_up_gives_its_place_back() {
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(Secret::new(TOKEN));
        c.limits.max_waits = 10;
        c.limits.max_waits_per_credential = 2;
    })
    .await;
    let client = Modern::new(&app.mcp_url()).token(TOKEN);
    let (held, refused) = hold(&client, 2).await;
    assert_eq!(refused["code"], -32013, "{refused}");
    assert_eq!(refused["data"]["limit"], "waitsPerCredential", "{refused}");
    assert_eq!(refused["data"]["max"], 2, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("--max-waits-per-credential"),
        "{refused}"
    );

    // A poll that need not wait is not a wait: it is answered.
    let now = client
        .ok("events/poll", json!({"name": "any", "cursor": "0"}))
        .await;
    assert_eq!(now["events"], json!([]), "{now}");
    // The tools that wait say the same, as a tool error the model can read.
    let tool = client
        .send(
            "tools/call",
            json!({"name": "wait_for_event", "arguments": {"timeout_seconds": 1}}),
        )
        .await;
    let result = tool.result();
    assert_eq!(result["isError"], true, "{result}");
    assert!(
        result.to_string().contains("--max-waits-per-credential"),
        "{result}"
    );
    // So does the dashboard's live list, which waits too.
    let live = common::http()
        .get(format!("http://{}/api/stream", app.mcp))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 429);

    // The clients hang up: their places come back at once, and a wait is held again.
    for h in held {
        h.abort();
    }
    let start = Instant::now();
    loop {
        let probe = client.send("events/poll", long_poll(100)).await;
        if probe.body.get("error").is_none() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "places not given back: {}",
            probe.raw
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn all_waits_together_are_capped() {
    let app = TestApp::start_with(|c| {
        c.limits.max_waits = 3;
        c.limits.max_waits_per_credential = 3;
    })
    .await;
    let client = Modern::new(&app.mcp_url());
    let (held, refused) = hold(&client, 3).await;
    assert_eq!(refused["code"], -32013, "{refused}");
    assert_eq!(refused["data"]["limit"], "waits", "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("--max-waits"),
        "{refused}"
    );
    // events/stream is a wait for as long as it is open.
    let stream = client.send("events/stream", json!({"name": "any"})).await;
    assert_eq!(stream.error_code(), Some(-32013), "{}", stream.raw);
    for h in held {
        h.abort();
    }
    app.stop().await;
}

/// A client that hangs up before its answer writes nothing to the log (rmcp's error line for it is
/// counted on `/metrics` instead), so clients cannot fill the operator's log at will.
#[tokio::test]
async fn hang_ups_are_counted_not_logged_as_errors() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let hookd = common::Logging::serve(dir.path(), "info,rmcp=warn");
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "events/poll", "params": {
        "name": "any", "cursor": "0", "timeoutMs": 300_000, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"},
            "io.modelcontextprotocol/clientCapabilities": {}}}})
    .to_string();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\nmcp-protocol-version: 2026-07-28\r\n\
         mcp-method: events/poll\r\ncontent-length: {}\r\n\r\n{body}",
        hookd.mcp,
        body.len()
    );
    let metrics = format!("http://{}/metrics", hookd.mcp);
    let counted = || async {
        let page = common::http().get(&metrics).send().await.unwrap();
        let page = page.text().await.unwrap();
        page.lines()
            .find_map(|l| l.strip_prefix("hookd_client_hangups_total "))
            .map_or(0.0, |n| n.trim().parse::<f64>().unwrap())
    };
    let start = Instant::now();
    for round in 0.. {
        let mut waiting = tokio::net::TcpStream::connect(hookd.mcp).await.unwrap();
        waiting.write_all(request.as_bytes()).await.unwrap();
        // Hang up once the poll waits (a short pause; a round that hangs up earlier is simply
        // not a hang-up of a waiting request, and the loop tries again).
        tokio::time::sleep(Duration::from_millis(100 * (round + 1))).await;
        drop(waiting);
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until && counted().await < 1.0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if counted().await >= 1.0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no hang-up was counted"
        );
    }
    let errors: Vec<String> = hookd
        .lines
        .try_iter()
        .filter(|l| l.contains("ERROR"))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

/// Transparent huge pages are off for hookd's process (mimalloc's `no_thp`): with them, each
/// 2 MiB region a few waiters touch is backed whole, and a waiter costs about 160 KiB of memory
/// rather than about 95 (docs/PERFORMANCE.md). Linux reports it as `THP_enabled` in
/// `/proc/PID/status` (since 6.3); on an older kernel the test says it was skipped.
#[test]
fn hookd_runs_without_transparent_huge_pages() {
    let data = tempfile::tempdir().unwrap();
    let hookd = common::Process::serve(data.path(), &[]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", hookd.child.id())).unwrap();
    let Some(line) = status.lines().find(|l| l.starts_with("THP_enabled:")) else {
        return common::skipped(
            "waits::hookd_runs_without_transparent_huge_pages",
            "this kernel does not report THP_enabled in /proc/PID/status",
        );
    };
    assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
}
