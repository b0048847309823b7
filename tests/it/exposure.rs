//! hookd on a public address: slow, idle, stalled and greedy clients cannot hold it, and
//! shutdown is bounded whatever clients do. Raw TCP, so the tests behave as hostile clients do.

use crate::common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short timers, so the tests are quick; each test checks one of them.
async fn app(adjust: impl FnOnce(&mut hookd::config::Limits)) -> TestApp {
    TestApp::start_with(|c| {
        c.limits.header_timeout_secs = 1;
        c.limits.body_timeout_secs = 1;
        c.limits.idle_timeout_secs = 2;
        adjust(&mut c.limits);
    })
    .await
}

/// Reads until the server closes the connection (or `within` passes, which fails the test).
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut out))
        .await
        .expect("hookd closed the connection in time")
        .ok();
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads one HTTP response head and body (Content-Length framed).
async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(
            n > 0,
            "closed before a response: {}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

fn request(addr: SocketAddr, body: &str) -> String {
    format!(
        "POST /webhook/raw HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn a_request_head_must_arrive_within_the_header_timeout() {
    let app = app(|_| {}).await;
    let mut slow = TcpStream::connect(app.webhook).await.unwrap();
    let started = Instant::now();
    slow.write_all(b"POST /webhook/raw HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    read_until_closed(&mut slow, Duration::from_secs(10)).await;
    let held = started.elapsed();
    assert!(
        held >= Duration::from_millis(900),
        "closed by the header timer: {held:?}"
    );
    assert!(
        held < Duration::from_millis(1900),
        "not by the idle timer: {held:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let app = app(|_| {}).await;
    let mut silent = TcpStream::connect(app.webhook).await.unwrap();
    let started = Instant::now();
    read_until_closed(&mut silent, Duration::from_secs(10)).await;
    let held = started.elapsed();
    assert!(held >= Duration::from_millis(900), "{held:?}");
    assert!(
        held < Duration::from_millis(1900),
        "not the idle timer: {held:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = app(|_| {}).await;
    let mut client = TcpStream::connect(app.webhook).await.unwrap();
    client
        .write_all(request(app.webhook, "{}").as_bytes())
        .await
        .unwrap();
    assert!(read_response(&mut client).await.starts_with("HTTP/1.1 200"));
    let idle_from = Instant::now();
    read_until_closed(&mut client, Duration::from_secs(10)).await;
    let idle = idle_from.elapsed();
    // The header timeout (1 s) does not apply between requests; the idle timeout (2 s) does.
    assert!(idle >= Duration::from_millis(1900), "{idle:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_body_that_stalls_is_answered_408_and_stores_nothing() {
    let app = app(|_| {}).await;
    let mut client = TcpStream::connect(app.webhook).await.unwrap();
    let head = "POST /webhook/raw HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                content-length: 100\r\n\r\n{\"a\":";
    client.write_all(head.as_bytes()).await.unwrap();
    let answer = read_response(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 1 s"), "{answer}");
    let stored = app.store().count(Default::default()).await.unwrap();
    assert_eq!(stored, 0);
    app.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let app = app(|l| {
        l.max_connections = 3;
        l.idle_timeout_secs = 60;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = TcpStream::connect(app.webhook).await.unwrap();
        c.write_all(request(app.webhook, "{}").as_bytes())
            .await
            .unwrap();
        read_response(&mut c).await;
        held.push(c); // open and idle: each holds a slot
    }
    let mut waiting = TcpStream::connect(app.webhook).await.unwrap();
    waiting
        .write_all(request(app.webhook, "{}").as_bytes())
        .await
        .unwrap();
    let mut first = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), waiting.peek(&mut first)).await;
    assert!(
        early.is_err(),
        "a fourth connection is not served while three are open"
    );
    drop(held.pop());
    let answer = read_response(&mut waiting).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    app.stop().await;
}

/// A connection from `from` (a loopback address: the whole 127/8 is this machine).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// One address holds at most `--max-connections-per-ip` connections: more are closed as soon as
/// they are accepted, however many it opens, and another address is served meanwhile. Loopback is
/// a trusted proxy by default; here none is, so the test's loopback addresses count.
#[tokio::test]
async fn one_address_holds_at_most_its_share_of_connections() {
    let app = app(|l| {
        l.max_connections_per_ip = 4;
        l.trusted_proxies = hookd::config::Nets::default();
        l.idle_timeout_secs = 60;
        l.header_timeout_secs = 60;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from("127.0.0.3", app.webhook).await);
    }
    // The greedy address keeps opening more: each is closed at once, unread.
    for _ in 0..50 {
        let mut more = connect_from("127.0.0.3", app.webhook).await;
        let _ = more.write_all(request(app.webhook, "{}").as_bytes()).await;
        let answer = read_until_closed(&mut more, Duration::from_secs(5)).await;
        assert_eq!(answer, "", "closed without an answer");
    }
    // Another address is served at once.
    let mut other = connect_from("127.0.0.4", app.webhook).await;
    other
        .write_all(request(app.webhook, "{}").as_bytes())
        .await
        .unwrap();
    let answer = read_response(&mut other).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // A closed connection gives its place back.
    drop(held.pop());
    let start = Instant::now();
    loop {
        let mut again = connect_from("127.0.0.3", app.webhook).await;
        let closing = request(app.webhook, "{}").replacen("\r\n", "\r\nconnection: close\r\n", 1);
        let _ = again.write_all(closing.as_bytes()).await;
        let answer = read_until_closed(&mut again, Duration::from_secs(5)).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no place came back"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn unfinished_bodies_share_a_bounded_budget_and_beyond_it_get_503_with_retry_after() {
    let app = app(|l| {
        l.max_pending_bytes = 100_000;
        l.body_timeout_secs = 30;
    })
    .await;
    let mut stalled = TcpStream::connect(app.webhook).await.unwrap();
    let head = "POST /webhook/raw HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                content-length: 90000\r\n\r\n[";
    stalled.write_all(head.as_bytes()).await.unwrap();
    let body = format!("[{}0]", "0,".repeat(10_000));
    // Once hookd reads the stalled request's head it reserves its 90,000 bytes: 20,001 more do
    // not fit. (Until then a request may still be stored; retried until the reservation shows.)
    let reply = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let mut c = TcpStream::connect(app.webhook).await.unwrap();
            c.write_all(request(app.webhook, &body).as_bytes())
                .await
                .unwrap();
            let reply = read_response(&mut c).await;
            if !reply.starts_with("HTTP/1.1 200") {
                break reply;
            }
        }
    })
    .await
    .expect("the stalled body is counted");
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    assert!(
        reply.to_ascii_lowercase().contains("retry-after: 1"),
        "{reply}"
    );
    assert!(reply.contains("--max-pending-bytes"), "{reply}");
    drop(stalled);
    // Its share is returned when the stalled request ends; then the same body is stored.
    let http = common::http();
    let stored = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let r = common::post_json(&http, app.webhook, "raw", None, &body).await;
            if r.status == 200 {
                break r;
            }
            assert_eq!(r.status, 503, "{:?}", r.body);
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the budget is returned");
    assert_eq!(stored.body["duplicate"], false);
    app.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_within_its_timeout_while_a_client_holds_a_half_sent_request() {
    let app = app(|l| {
        l.shutdown_timeout_secs = 1;
        l.body_timeout_secs = 300;
        l.header_timeout_secs = 300;
    })
    .await;
    let mut half_head = TcpStream::connect(app.webhook).await.unwrap();
    half_head
        .write_all(b"POST /webhook/raw HTTP/1.1\r\n")
        .await
        .unwrap();
    let mut half_body = TcpStream::connect(app.webhook).await.unwrap();
    let head = "POST /webhook/raw HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n{";
    half_body.write_all(head.as_bytes()).await.unwrap();
    // Let hookd start reading both before it is asked to stop.
    let mcp = TcpStream::connect(app.mcp).await.unwrap();
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("shutdown is bounded");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(mcp);
}

#[test]
fn sigterm_the_moment_hookd_listens_is_a_clean_exit() {
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let mut hookd = common::Process::serve(dir.path(), &[]);
        let status = hookd.terminate();
        assert!(status.success(), "{status:?}");
    }
}

#[tokio::test]
async fn a_source_over_its_rate_limit_gets_429_and_its_retry_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("hookd.toml");
    std::fs::write(
        &toml,
        "[sources.limited]\nprovider = \"none\"\nrate_limit = { per_second = 1, burst = 3 }\n\
         [sources.free]\nprovider = \"none\"\nrate_limit = \"off\"\n",
    )
    .unwrap();
    let app = TestApp::start_with(|c| {
        c.config = Some(toml);
        c.limits.rate_limit = hookd::config::DefaultRate(Some(hookd::rate::RateLimit {
            per_second: 1,
            burst: 1,
        }));
    })
    .await;
    let http = common::http();
    let post = |source: &'static str, delivery: String| {
        let http = http.clone();
        let addr = app.webhook;
        async move { common::post_json(&http, addr, source, Some(&delivery), "{}").await }
    };
    for d in ["d1", "d2", "d3"] {
        assert_eq!(post("limited", d.into()).await.status, 200);
    }
    let refused = http
        .post(format!("http://{}/webhook/limited", app.webhook))
        .header("content-type", "application/json")
        .header("x-github-delivery", "d4")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["reason"], "rate_limited");
    assert_eq!(body["status"], "error");
    for i in 0..20 {
        assert_eq!(
            post("free", format!("free-{i}")).await.status,
            200,
            "other sources are unaffected"
        );
    }
    assert_eq!(
        post("other", "o1".into()).await.status,
        200,
        "the default applies to others"
    );
    assert_eq!(
        post("another", "o2".into()).await.status,
        429,
        "unconfigured sources share it"
    );
    // The refused delivery is retried once a token is free, and then stored once.
    let stored = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let r = post("limited", "d4".into()).await;
            if r.status == 200 {
                break r;
            }
            assert_eq!(r.status, 429);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("a token frees within a second or so");
    assert_eq!(stored.body["duplicate"], false);
    let filter = hookd::event::EventFilter::of(Some("limited".into()), None);
    assert_eq!(app.store().count(filter).await.unwrap(), 4);
    app.stop().await;
}

/// Big events cannot make one MCP answer big: lists stop at `--max-answer-bytes` (at least one
/// event, whole), say `truncated`, and reading on from where they stopped gets every event.
#[tokio::test]
async fn mcp_list_answers_are_bounded_and_reading_on_gets_everything() {
    use common::mcp::{call_ok, connect_http};
    use rmcp::model::{ProtocolVersion, ReadResourceRequestParams};
    let app = TestApp::start_with(|c| c.limits.max_answer_bytes = 100_000).await;
    let http = common::http();
    let mut ids = Vec::new();
    for i in 0..10 {
        let body = serde_json::json!({"i": i, "filler": "x".repeat(30_000)}).to_string();
        let r = common::post_json(&http, app.webhook, "big", None, &body).await;
        ids.push(r.body["event_id"].as_i64().unwrap());
    }
    let huge = serde_json::json!({"filler": "y".repeat(300_000)}).to_string();
    let r = common::post_json(&http, app.webhook, "huge", None, &huge).await;
    let huge_id = r.body["event_id"].as_i64().unwrap();
    let client = connect_http(&app.mcp_url(), ProtocolVersion::V_2026_07_28).await;

    let recent = call_ok(
        &client,
        "get_recent_events",
        serde_json::json!({"source": "big"}),
    )
    .await;
    let got: Vec<i64> = recent["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(got.len() < 10 && !got.is_empty(), "{got:?}");
    assert_eq!(got.last(), ids.last(), "the newest are kept");
    assert_eq!(recent["truncated"], true);
    assert!(
        recent["note"]
            .as_str()
            .unwrap()
            .contains(&format!("before_id={}", got[0]))
    );

    let one = call_ok(
        &client,
        "get_recent_events",
        serde_json::json!({"source": "huge"}),
    )
    .await;
    assert_eq!(
        one["events"][0]["payload"]["filler"]
            .as_str()
            .unwrap()
            .len(),
        300_000,
        "one event is served whole"
    );
    assert!(one.get("truncated").is_none());
    let by_id = call_ok(
        &client,
        "get_event_by_id",
        serde_json::json!({"event_id": huge_id}),
    )
    .await;
    assert_eq!(by_id["id"], huge_id);

    // A durable consumer reads everything in bounded steps.
    let mut seen = Vec::new();
    for _ in 0..10 {
        let next = call_ok(
            &client,
            "next_events",
            serde_json::json!({"consumer": "c", "sources": ["big"], "max": 100}),
        )
        .await;
        let batch: Vec<i64> = next["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 4, "{batch:?}");
        seen.extend(batch);
        call_ok(
            &client,
            "ack_events",
            serde_json::json!({"consumer": "c", "up_to_id": next["ack_up_to"]}),
        )
        .await;
    }
    assert_eq!(seen, ids);

    // Resources likewise: forward pages cut short carry the cursor of their last event.
    let mut cursor = 0;
    let mut pages = Vec::new();
    let mut read_all = Vec::new();
    loop {
        let uri = format!("hookd://sources/big?after={cursor}");
        let read = client
            .read_resource(ReadResourceRequestParams::new(uri))
            .await
            .unwrap();
        let rmcp::model::ResourceContents::TextResourceContents { text, .. } = &read.contents[0]
        else {
            panic!("text contents")
        };
        let page: serde_json::Value = serde_json::from_str(text).unwrap();
        let events: Vec<i64> = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect();
        assert!(text.len() < 200_000, "{}", text.len());
        if events.is_empty() {
            break;
        }
        pages.push(page["truncated"] == true);
        read_all.extend(events);
        pages.len().lt(&20).then_some(()).expect("pages end");
        cursor = page["cursor"].as_i64().unwrap();
        if page["truncated"] != true {
            break;
        }
    }
    assert!(pages.len() > 1 && pages[0], "{pages:?}");
    assert_eq!(read_all, ids);
    assert!(cursor >= *ids.last().unwrap());
    client.cancel().await.unwrap();
    app.stop().await;
}

/// A raw 2025-11-25 MCP client: one POST per message, answers read from the SSE body.
pub mod raw_mcp {
    use serde_json::{Value, json};

    #[derive(Clone)]
    pub struct Session {
        pub url: String,
        pub id: String,
        pub http: reqwest::Client,
    }

    pub async fn post(
        http: &reqwest::Client,
        url: &str,
        session: Option<&str>,
        body: Value,
    ) -> reqwest::Response {
        let mut req = http
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .json(&body);
        if let Some(id) = session {
            req = req
                .header("mcp-session-id", id)
                .header("mcp-protocol-version", "2025-11-25");
        }
        req.send().await.unwrap()
    }

    /// The JSON-RPC messages in an SSE (or JSON) answer.
    pub async fn messages(response: reqwest::Response) -> Vec<Value> {
        let text = response.text().await.unwrap();
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            return vec![v];
        }
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str(d.trim()).ok())
            .collect()
    }

    pub async fn open(http: &reqwest::Client, url: &str) -> Session {
        let (session, initialized) = try_open(http, url).await;
        assert_eq!(initialized, 202);
        session
    }

    /// Opens a session, and says how `notifications/initialized` was answered: `404` when the
    /// session was already closed to make room for others.
    pub async fn try_open(http: &reqwest::Client, url: &str) -> (Session, u16) {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}});
        let response = post(http, url, None, init).await;
        assert_eq!(response.status(), 200);
        let id = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        messages(response).await;
        let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let status = post(http, url, Some(&id), done).await.status().as_u16();
        let session = Session {
            url: url.to_owned(),
            id,
            http: http.clone(),
        };
        (session, status)
    }

    impl Session {
        pub async fn call(&self, id: i64, tool: &str, args: Value) -> reqwest::Response {
            let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                              "params": {"name": tool, "arguments": args}});
            post(&self.http, &self.url, Some(&self.id), body).await
        }
    }
}

#[tokio::test]
async fn mcp_sessions_are_capped_least_recently_used_first() {
    let app = TestApp::start_with(|c| c.limits.max_sessions = 3).await;
    let http = common::http();
    let url = app.mcp_url();
    let mut sessions = Vec::new();
    for _ in 0..3 {
        sessions.push(raw_mcp::open(&http, &url).await);
    }
    // The first is used again, so the second is now the least recently used.
    let r = sessions[0]
        .call(1, "get_event_sources", serde_json::json!({}))
        .await;
    assert_eq!(r.status(), 200);
    raw_mcp::messages(r).await;
    let fourth = raw_mcp::open(&http, &url).await;
    let evicted = sessions[1]
        .call(2, "get_event_sources", serde_json::json!({}))
        .await;
    assert_eq!(
        evicted.status(),
        404,
        "the least recently used session was closed"
    );
    for s in [&sessions[0], &sessions[2], &fourth] {
        let r = s.call(3, "get_event_sources", serde_json::json!({})).await;
        assert_eq!(r.status(), 200);
        let answer = raw_mcp::messages(r).await;
        assert!(
            answer
                .iter()
                .any(|m| m["id"] == 3 && m["result"].is_object()),
            "{answer:?}"
        );
    }
    app.stop().await;
}

/// Sessions opened by many clients at once stay within the cap (1,025 of 3,000 lived under a cap
/// of 1,000 with 16 clients in parallel).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_session_cap_holds_when_clients_open_sessions_in_parallel() {
    const MAX: u64 = 50;
    let app = TestApp::start_with(|c| c.limits.max_sessions = MAX).await;
    let http = common::http();
    let url = app.mcp_url();
    let mut opening = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (http, url) = (http.clone(), url.clone());
        opening.spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..20 {
                let (session, initialized) = raw_mcp::try_open(&http, &url).await;
                assert!(matches!(initialized, 202 | 404), "{initialized}");
                mine.push(session);
            }
            mine
        });
    }
    let mut sessions = Vec::new();
    while let Some(opened) = opening.join_next().await {
        sessions.extend(opened.unwrap());
    }
    let mut live = 0;
    for (n, s) in sessions.iter().enumerate() {
        let r = s
            .call(n as i64, "get_event_sources", serde_json::json!({}))
            .await;
        match r.status().as_u16() {
            200 => live += 1,
            404 => {}
            other => panic!("{other}"),
        }
    }
    assert!(
        live <= MAX as usize,
        "{live} of {} sessions live under a cap of {MAX}",
        sessions.len()
    );
    assert!(live > 0);
    app.stop().await;
}

#[tokio::test]
async fn a_request_id_reused_in_flight_gets_an_error_and_the_first_still_answers() {
    let app = TestApp::start().await;
    let http = common::http();
    let session = raw_mcp::open(&http, &app.mcp_url()).await;
    let before = app.store().bus().waiters();
    let first = {
        let s = session.clone();
        let args = serde_json::json!({"source": "never", "timeout_seconds": 2});
        tokio::spawn(
            async move { raw_mcp::messages(s.call(7, "wait_for_event", args).await).await },
        )
    };
    // The first call is in flight once its wait is registered on the bus.
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.store().bus().waiters() == before {
        assert!(
            Instant::now() < deadline,
            "the first call never started waiting"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let reused = session
        .call(7, "get_event_sources", serde_json::json!({}))
        .await;
    let reused = raw_mcp::messages(reused).await;
    let error = reused
        .iter()
        .find(|m| m["id"] == 7 && m["error"].is_object());
    let message = error.expect("an error answer")["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("already in use"), "{message}");
    let answer = tokio::time::timeout(Duration::from_secs(10), first)
        .await
        .expect("the first call's stream ends")
        .unwrap();
    let result = answer
        .iter()
        .find(|m| m["id"] == 7)
        .expect("the first call's answer");
    assert_eq!(
        result["result"]["structuredContent"]["timed_out"], true,
        "{result}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_session_deleted_while_calls_are_on_their_way_answers_404_never_500() {
    let app = TestApp::start().await;
    let http = common::http();
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..30 {
        let session = raw_mcp::open(&http, &app.mcp_url()).await;
        let calls: Vec<_> = (0..4)
            .map(|i| {
                let s = session.clone();
                tokio::spawn(async move {
                    let r = s.call(i, "get_event_sources", serde_json::json!({})).await;
                    r.status().as_u16()
                })
            })
            .collect();
        let delete = http
            .delete(&session.url)
            .header("mcp-session-id", &session.id)
            .header("mcp-protocol-version", "2025-11-25")
            .send()
            .await
            .unwrap();
        assert_eq!(
            delete.status().as_u16(),
            204,
            "round {round}: a deleted session is done (the Python SDK warns on 202)"
        );
        for call in calls {
            let status = call.await.unwrap();
            assert!(matches!(status, 200 | 404), "round {round}: {status}");
            seen.insert(status);
        }
    }
    assert!(
        seen.contains(&404),
        "some calls arrived after the delete: {seen:?}"
    );
    app.stop().await;
}

/// hookd raises its soft open-file limit to the hard limit at start, and fits its connection cap
/// to what it got (with a warning) when two listeners' worth does not fit.
#[test]
fn hookd_raises_its_file_limit_and_fits_the_connection_cap_to_it() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -Sn 100 && ulimit -Hn 600 && exec "$0" serve --webhook-addr 127.0.0.1:0 --mcp-addr 127.0.0.1:0 --data-dir "$1""#)
        .arg(common::bin())
        .arg(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (mut warned, mut listening) = (None, false);
    for line in stderr.lines().map_while(Result::ok) {
        if line.contains("does not fit the open-file limit") {
            warned = Some(line.clone());
        }
        if line.contains("hookd listening") {
            listening = true;
            break;
        }
    }
    assert!(listening, "hookd started under `ulimit -Sn 100 -Hn 600`");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<&str> = open_files.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers, ["600", "600"], "soft raised to hard: {open_files}");
    let warned = warned.expect("the cap was lowered, with a warning");
    assert!(
        warned.contains("using=172"),
        "(600 - 256) / 2 per listener: {warned}"
    );
}

/// Made-up source names are capped (`--max-open-sources`): past the cap a new name is refused
/// with 403 naming the setting, names already seen (also before a restart) and configured sources
/// still get in.
#[tokio::test]
async fn sources_that_are_not_configured_are_capped() {
    let app = TestApp::start_with(|c| c.limits.max_open_sources = 3).await;
    let http = common::http();
    let headers = [("content-type", "application/json")];
    let post = |app: &TestApp, source: &'static str| {
        let (http, addr) = (http.clone(), app.webhook);
        async move { common::post(&http, addr, source, &headers, "{}").await }
    };
    for source in ["made-up-1", "made-up-2", "made-up-3"] {
        assert_eq!(post(&app, source).await.status, 200, "{source}");
    }
    let refused = post(&app, "made-up-4").await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    assert_eq!(refused.body["reason"], "too_many_open_sources");
    let said = refused.body["error"].as_str().unwrap_or_default();
    assert!(said.contains("--max-open-sources"), "{said}");
    assert_eq!(
        post(&app, "made-up-1").await.status,
        200,
        "a name seen before"
    );
    assert_eq!(
        post(&app, "github").await.status,
        200,
        "a configured source"
    );

    let app = app.restart_with(|c| c.limits.max_open_sources = 3).await;
    assert_eq!(
        post(&app, "made-up-2").await.status,
        200,
        "remembered across a restart"
    );
    assert_eq!(post(&app, "made-up-5").await.status, 403);
    app.stop().await;
}
