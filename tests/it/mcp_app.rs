//! The inbox MCP App in a real host: a page in headless Chromium embeds it with the official
//! host-side library (`@modelcontextprotocol/ext-apps`' AppBridge, `tests/node/apps_host`), wired
//! to a real hookd over MCP by the host's backend (the official TypeScript SDK). The app shows the
//! events of a tool call, opens one through `tools/call`, shows a webhook posted while it is open,
//! and replays through `replay_event`; it runs under the CSP its resource declares (no network).

use crate::common;
use crate::dashboard::{push, serve};

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::browser::Browser;
use serde_json::{Value, json};

/// The host's backend (Node), killed when dropped.
struct Host {
    child: Child,
    url: String,
}

impl Host {
    /// The host's backend, its client declaring `flags`' extensions (`--tasks`).
    fn start(test: &str, mcp_url: &str, flags: &[&str]) -> Option<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let modules = root.join("tests/node/node_modules");
        common::runtime(
            test,
            modules.join("@modelcontextprotocol/ext-apps"),
            "run scripts/test",
        )?;
        common::runtime(test, modules.join("esbuild"), "run scripts/test")?;
        let mut child = Command::new("node")
            .arg(root.join("tests/node/apps_host.mjs"))
            .arg(mcp_url)
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let started: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("the host did not start: {line:?}"));
        let url = started["url"].as_str().unwrap().to_owned();
        Some(Self { child, url })
    }

    /// The host page, showing `tool`'s answer to `args` with its app.
    fn page(&self, tool: &str, args: Value) -> String {
        let args = form_urlencoded::byte_serialize(args.to_string().as_bytes()).collect::<String>();
        format!("{}?tool={tool}&args={args}", self.url)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens `tool`'s answer in the host and waits until the app has it; the browser is then inside
/// the app's frame.
async fn show(browser: &Browser, host: &Host, tool: &str, args: Value) {
    browser.open(&host.page(tool, args)).await;
    let stage = browser
        .until("const h = window.host; return ['shown', 'failed'].includes(h.stage) && {stage: h.stage, error: h.error}")
        .await;
    assert_eq!(stage["stage"], "shown", "{stage}");
    browser.enter_frame("iframe").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_shows_a_tool_result_opens_an_event_follows_new_ones_and_replays() {
    let test = "the_inbox_shows_a_tool_result_opens_an_event_follows_new_ones_and_replays";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path());
    let first = push(&hookd, "d-1").await;
    let second = push(&hookd, "d-2").await;
    let mcp = format!("http://{}/mcp", hookd.mcp);
    let Some(host) = Host::start(test, &mcp, &[]) else {
        return;
    };

    // The events the tool returned, newest on top, as the dashboard draws its rows.
    show(
        &browser,
        &host,
        "get_recent_events",
        json!({"source": "github", "include_payload": false}),
    )
    .await;
    let ids = browser
        .until("const r = [...document.querySelectorAll('#rows tr')]; return r.length === 2 && r.map((t) => Number(t.dataset.id))")
        .await;
    assert_eq!(ids, json!([second, first]));
    let cells = browser
        .run("return [...document.querySelectorAll('#rows tr:first-child td')].map((t) => t.textContent)")
        .await;
    assert_eq!(cells[1], "github");
    assert_eq!(cells[2], "push");
    assert!(!cells[3].as_str().unwrap().is_empty(), "a subject: {cells}");
    let what = browser
        .run("return document.querySelector('#what').textContent")
        .await;
    assert_eq!(what, "2 events (source github)");

    // Clicking a row opens it, fetched whole through tools/call (the list came without payloads):
    // its first level open, deeper ones folded.
    browser
        .run(&format!(
            "document.querySelector('#rows tr[data-id=\"{first}\"]').click()"
        ))
        .await;
    let title = browser
        .until("const t = document.querySelector('#event-title'); return !document.querySelector('#event').hidden && t && t.textContent")
        .await;
    assert_eq!(title, format!("#{first} github push"));
    let folded = browser
        .run("const d = [...document.querySelectorAll('#payload details')]; return [d[0].open, d.slice(1).some((x) => x.open), d.length]")
        .await;
    assert_eq!(folded[0], true, "{folded}");
    assert_eq!(folded[1], false, "{folded}");
    assert!(folded[2].as_u64().unwrap() > 1, "{folded}");
    let raw = browser
        .run("return document.querySelector('#payload-raw').textContent")
        .await;
    assert!(raw.as_str().unwrap().contains("refs/heads/master"), "{raw}");
    let derived = browser
        .run(
            "return document.querySelector('table.derived[data-kind=\"Pushed commits\"]') !== null",
        )
        .await;
    assert_eq!(derived, true, "the derived rows of a push show");

    // Replay through replay_event, to hookd's own webhook URL: re-signed, it verifies there (a
    // duplicate of the stored delivery, answered 200).
    let to = format!("http://{}/webhook/github", hookd.webhook);
    browser
        .run(&format!(
            "document.querySelector('#replay input[name=url]').value = '{to}'; document.querySelector('#replay button').click()"
        ))
        .await;
    let replayed = browser
        .until("const t = document.querySelector('#replay-result').textContent; return t && t !== 'sending…' ? t : null")
        .await;
    let replayed = replayed.as_str().unwrap();
    assert!(replayed.starts_with("200 in "), "{replayed:?}");
    assert!(replayed.contains("duplicate"), "{replayed}");

    // A webhook posted while the inbox is open appears on top of its list.
    browser.run("document.querySelector('#back').click()").await;
    let third = push(&hookd, "d-3").await;
    let top = browser
        .until(&format!(
            "const t = document.querySelector('#rows tr'); return t && t.dataset.id === '{third}' && t.className"
        ))
        .await;
    assert_eq!(top, "new");
    browser.top().await;
    let calls = browser.run("return window.host.calls").await;
    let calls: Vec<&str> = calls
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for tool in ["get_event_by_id", "replay_event", "wait_for_event"] {
        assert!(
            calls.contains(&tool),
            "the app called {tool} through the host: {calls:?}"
        );
    }
    // The app told the host its height (the frame fits what it draws).
    let fitted = browser
        .run("return [window.host.height, document.querySelector('iframe').style.height]")
        .await;
    assert!(fitted[0].as_u64().is_some_and(|h| h > 100), "{fitted}");
    assert_eq!(fitted[1], format!("{}px", fitted[0]));

    // The host turns dark: the app follows its theme.
    browser
        .run("window.host.bridge.setHostContext({ theme: 'dark', displayMode: 'inline', platform: 'web' })")
        .await;
    browser.enter_frame("iframe").await;
    let theme = browser
        .until("return document.documentElement.dataset.theme || null")
        .await;
    assert_eq!(theme, "dark");
    let background = browser
        .run("return getComputedStyle(document.querySelector('#list table')).backgroundColor")
        .await;
    assert_eq!(background, "rgb(27, 31, 39)", "the dark table");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_opens_the_event_get_event_by_id_returned_and_shows_search_hits() {
    let test = "the_inbox_opens_the_event_get_event_by_id_returned_and_shows_search_hits";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path());
    let id = push(&hookd, "d-1").await;
    let Some(host) = Host::start(test, &format!("http://{}/mcp", hookd.mcp), &[]) else {
        return;
    };

    show(&browser, &host, "get_event_by_id", json!({"event_id": id})).await;
    let title = browser
        .until("const t = document.querySelector('#event-title'); return !document.querySelector('#event').hidden && t && t.textContent")
        .await;
    assert_eq!(title, format!("#{id} github push"));

    browser.top().await;
    show(
        &browser,
        &host,
        "search_events",
        json!({"query": "Codertocat"}),
    )
    .await;
    let rows = browser
        .until("const r = [...document.querySelectorAll('#rows tr')]; return r.length > 0 && r.map((t) => t.dataset.id)")
        .await;
    assert_eq!(rows, json!([id.to_string()]));
    let what = browser
        .run("return document.querySelector('#what').textContent")
        .await;
    assert_eq!(what, "1 event matching “Codertocat”");
}

/// A host whose client declares the Tasks extension gets a task for `wait_for_event`, which it
/// cannot hand the app (the TypeScript SDK refuses it: no structured content): after three
/// refusals the inbox reads what arrived with `get_events_since` every 3 s instead, and a webhook
/// posted while it is open still appears, once.
#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_follows_by_reading_when_the_host_runs_waits_as_tasks() {
    let test = "the_inbox_follows_by_reading_when_the_host_runs_waits_as_tasks";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path());
    let first = push(&hookd, "d-1").await;
    let mcp = format!("http://{}/mcp", hookd.mcp);
    let Some(host) = Host::start(test, &mcp, &["--tasks"]) else {
        return;
    };
    show(
        &browser,
        &host,
        "get_recent_events",
        json!({"source": "github"}),
    )
    .await;
    browser
        .until(&format!(
            "const t = document.querySelector('#rows tr'); return t && t.dataset.id === '{first}'"
        ))
        .await;
    let live = browser
        .until("const t = document.querySelector('#live').textContent; return t.includes('every 3 s') && t")
        .await;
    assert_eq!(live, "live (read every 3 s)");
    let second = push(&hookd, "d-2").await;
    browser
        .until(&format!(
            "const t = document.querySelector('#rows tr'); return t && t.dataset.id === '{second}'"
        ))
        .await;
    let rows = browser
        .run("return document.querySelectorAll('#rows tr').length")
        .await;
    assert_eq!(rows, 2, "each event once");
    browser.top().await;
    let calls = browser.run("return window.host.calls").await;
    assert!(
        calls
            .as_array()
            .unwrap()
            .contains(&json!("get_events_since")),
        "{calls}"
    );
}

/// `replay_event`'s bounds: a receiver that answers without end is read for its first 512
/// characters only; replays that hang hold at most `REPLAYS_AT_ONCE` places and one more is
/// refused at once; a URL that is not http(s), or too long, and an unknown event are tool errors.
#[tokio::test(flavor = "multi_thread")]
async fn replay_event_is_bounded() {
    use common::mcp::{ERAS, call_err, call_ok, connect_http};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = common::TestApp::start().await;
    let stored =
        common::post_json(&common::http(), app.webhook, "github", None, r#"{"n": 1}"#).await;
    let id = stored.body["event_id"].as_i64().unwrap();
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;

    // An answer that never ends.
    let endless = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = endless.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = endless.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                while socket.write_all(&chunk).await.is_ok() {}
            });
        }
    });
    let url = format!("http://{at}/hook");
    let answer = call_ok(&client, "replay_event", json!({"event_id": id, "url": url})).await;
    assert_eq!(answer["status"], 200);
    assert_eq!(answer["answer"].as_str().unwrap().len(), 512);

    // Receivers that never answer: every place taken, one more refused at once.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = silent.local_addr().unwrap();
    let (held_tx, mut held) = tokio::sync::mpsc::unbounded_channel();
    let holder = tokio::spawn(async move {
        while let Ok((socket, _)) = silent.accept().await {
            let _ = held_tx.send(socket);
        }
    });
    let url = format!("http://{at}/hook");
    let mut hanging = Vec::new();
    for _ in 0..hookd::resend::REPLAYS_AT_ONCE {
        let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
        let url = url.clone();
        hanging.push(tokio::spawn(async move {
            call_err(&client, "replay_event", json!({"event_id": id, "url": url})).await
        }));
    }
    let mut sockets = Vec::new();
    while sockets.len() < hookd::resend::REPLAYS_AT_ONCE {
        sockets.push(held.recv().await.unwrap());
    }
    let busy = call_err(&client, "replay_event", json!({"event_id": id, "url": url})).await;
    assert!(busy.contains("replays are already under way"), "{busy}");
    // The receivers hang up: each hanging replay ends, saying it could not reach them.
    holder.abort();
    drop(sockets);
    for h in hanging {
        let said = h.await.unwrap();
        assert!(said.contains("cannot reach"), "{said}");
    }

    for (url, expected) in [
        ("file:///etc/passwd".to_owned(), "must be http(s)"),
        (
            format!("http://127.0.0.1/{}", "a".repeat(2100)),
            "longer than 2048",
        ),
    ] {
        let said = call_err(&client, "replay_event", json!({"event_id": id, "url": url})).await;
        assert!(said.contains(expected), "{said}");
    }
    let said = call_err(
        &client,
        "replay_event",
        json!({"event_id": 999_999, "url": "http://127.0.0.1:9/"}),
    )
    .await;
    assert!(said.contains("no event 999999"), "{said}");
    app.stop().await;
}
