//! The commands a person runs beside a hookd: `tail`, `forward` and `replay` against a running
//! `hookd serve`, and readers that refuse to invent a store.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use axum::http::HeaderMap;
use common::{Process, bin, fixture};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

const CONFIG: &str = "[sources.github]\nprovider = \"github\"\nsecret = \"gh-secret\"\n";

/// A command beside the store, its stdout as lines; returns once it printed `ready` on stderr.
async fn spawn(
    args: &[&str],
    dir: &std::path::Path,
    ready: &str,
) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = err.next_line().await.unwrap() {
            eprintln!("[{}] {line}", args[0]);
            if line.contains(ready) {
                return;
            }
        }
        panic!("{} ended before saying {ready:?}", args[0]);
    });
    started.await.expect("started in time");
    tokio::spawn(async move {
        while let Ok(Some(line)) = err.next_line().await {
            eprintln!("[stderr] {line}");
        }
    });
    let out = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, out)
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("a line in time")
        .unwrap()
        .expect("still running")
}

fn serve(dir: &std::path::Path) -> Process {
    std::fs::write(dir.join("hookd.toml"), CONFIG).unwrap();
    let config = dir.join("hookd.toml");
    Process::serve(&dir.join("data"), &["--config", config.to_str().unwrap()])
}

async fn push(hookd: &Process, delivery: &str) -> Value {
    let extra = [("x-github-event", "push"), ("x-github-delivery", delivery)];
    let signer = ("github", "gh-secret");
    let body = fixture("github/push.json");
    let r = common::post_signed(hookd.webhook, "github", signer, 0, &extra, body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

#[tokio::test]
async fn tail_prints_each_new_event_as_it_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path());
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let (_json, mut json) = spawn(
        &["tail", "--json", "--data-dir", data],
        dir.path(),
        "following",
    )
    .await;
    let (_text, mut text) = spawn(&["tail", "--data-dir", data], dir.path(), "following").await;
    let stored = push(&hookd, "tail-1").await;
    let event: Value = serde_json::from_str(&next_line(&mut json).await).unwrap();
    assert_eq!(event["id"], stored["event_id"]);
    assert_eq!(event["type"], "push");
    let line = next_line(&mut text).await;
    let id = format!("#{}", stored["event_id"]);
    for part in [
        id.as_str(),
        "github",
        "push",
        "Codertocat/Hello-World",
        "pushed 1 commit(s)",
    ] {
        assert!(line.contains(part), "{part:?} in {line:?}");
    }
    assert!(!line.contains('\u{1b}'), "no colour when piped: {line:?}");

    // `hookd events` prints what is stored the same way, and whole events with --json.
    let events = |extra: &[&str]| {
        let out = std::process::Command::new(bin())
            .args(["events", "--data-dir", data])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success());
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (listed, _) = events(&[]);
    assert!(
        listed.trim_end().ends_with(&line),
        "{listed:?} ends with {line:?}"
    );
    let (listed, _) = events(&["--json"]);
    let whole: Value = serde_json::from_str(listed.lines().last().unwrap()).unwrap();
    assert_eq!(whole["id"], stored["event_id"]);
    assert_eq!(whole["payload"]["ref"], "refs/heads/master");
    let (refused, said) = events(&["rejected"]);
    assert_eq!(
        (refused.as_str(), said.trim()),
        ("", "hookd events: no refused deliveries")
    );
}

#[tokio::test]
async fn tail_follows_a_running_hookd_over_http_with_its_token() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hookd.toml"), CONFIG).unwrap();
    let config = dir.path().join("hookd.toml");
    let args = ["--config", config.to_str().unwrap(), "--mcp-token", "t0ken"];
    let hookd = Process::serve(&dir.path().join("data"), &args);
    let earlier = push(&hookd, "url-0").await;
    let url = format!("http://{}", hookd.mcp);
    // Without the token: a clear refusal.
    let out = std::process::Command::new(bin())
        .args(["tail", "--url", &url])
        .env_remove("HOOKD_MCP_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs its MCP token"));
    let args = [
        "tail", "--url", &url, "--token", "t0ken", "--json", "--last", "1",
    ];
    let (_tail, mut lines) = spawn(&args, dir.path(), "following").await;
    let first: Value = serde_json::from_str(&next_line(&mut lines).await).unwrap();
    assert_eq!(
        first["id"], earlier["event_id"],
        "--last 1 prints the newest first"
    );
    let stored = push(&hookd, "url-1").await;
    let row: Value = serde_json::from_str(&next_line(&mut lines).await).unwrap();
    assert_eq!(row["id"], stored["event_id"]);
    assert_eq!(row["subject"], "Codertocat/Hello-World");
}

/// A stand-in for the app a developer writes: records what it receives.
async fn receiver() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(HeaderMap, Vec<u8>)>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body.to_vec()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

async fn received(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(HeaderMap, Vec<u8>)>,
) -> (HeaderMap, Vec<u8>) {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("delivered in time")
        .unwrap()
}

#[tokio::test]
async fn forward_delivers_signed_as_github_and_resumes_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path());
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let (url, mut rx) = receiver().await;
    let args = ["forward", "--to", &url, "--data-dir", data];
    let (mut forward, mut printed) = spawn(&args, dir.path(), "events after").await;
    push(&hookd, "fwd-1").await;
    let (headers, body) = received(&mut rx).await;
    assert_eq!(body, fixture("github/push.json"), "the body byte for byte");
    assert_eq!(headers["x-github-delivery"], "fwd-1");
    assert_eq!(headers["x-github-event"], "push");
    // The app verifies it with its own secret, as GitHub's guide says.
    let github = hookd::providers::build("github", Default::default()).unwrap();
    let delivery = hookd::signature::Delivery {
        headers: &headers,
        body: &body,
        now: 0,
        url: "",
    };
    let secret = hookd::secret::Secret::new("gh-secret");
    assert_eq!(github.verify(&[secret], &delivery), Ok(()));
    assert!(next_line(&mut printed).await.contains("-> 200"));

    // Killed, it resumes from its cursor: what came in meanwhile arrives, nothing twice.
    forward.kill().await.unwrap();
    push(&hookd, "fwd-2").await;
    push(&hookd, "fwd-3").await;
    let (_forward, _printed) = spawn(&args, dir.path(), "events after").await;
    for expected in ["fwd-2", "fwd-3"] {
        let (headers, _) = received(&mut rx).await;
        assert_eq!(headers["x-github-delivery"], expected);
    }
    push(&hookd, "fwd-4").await;
    let (headers, _) = received(&mut rx).await;
    assert_eq!(
        headers["x-github-delivery"], "fwd-4",
        "fwd-1 was not sent again"
    );
}

#[tokio::test]
async fn replay_is_a_duplicate_unless_given_a_new_delivery_id() {
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path());
    let stored = push(&hookd, "replay-1").await;
    let id = stored["event_id"].to_string();
    let data = dir.path().join("data");
    let webhook = hookd.webhook.to_string();
    let replay = |extra: &[&str]| {
        let mut args = vec!["replay", id.as_str(), "--webhook-addr", &webhook];
        args.extend(["--data-dir", data.to_str().unwrap()]);
        args.extend_from_slice(extra);
        let out = std::process::Command::new(bin())
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let again = replay(&[]);
    assert!(again.starts_with("200 in "), "{again}");
    assert!(
        again.contains("\"duplicate\":true"),
        "verified and deduplicated: {again}"
    );
    let fresh = replay(&["--new-delivery-id"]);
    assert!(fresh.contains("\"duplicate\":false"), "{fresh}");
    let missing = std::process::Command::new(bin())
        .args(["replay", "999999", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no event 999999"));
}

#[test]
fn readers_never_create_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    for command in ["events", "tail"] {
        let out = std::process::Command::new(bin())
            .args([command, "--data-dir", missing.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{command}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no hookd store in"), "{command}: {err}");
        assert!(!missing.exists(), "{command} created {}", missing.display());
    }
    // A data dir that is a file, and one that cannot be written: the OS's reason, once.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = std::process::Command::new(bin())
        .args(["serve", "--data-dir", file.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("not a directory"),
        "{err}"
    );
}

/// A data dir hookd may not write says why, once: "Permission denied" for a user without write
/// access, "Read-only file system" on a read-only mount (root writes anywhere, so as root the
/// test mounts a read-only tmpfs).
#[test]
fn a_data_dir_that_cannot_be_written_says_why() {
    use std::os::unix::fs::PermissionsExt;
    let test = "follow_cli::a_data_dir_that_cannot_be_written_says_why";
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let root = std::fs::write(locked.join("probe"), "x").is_ok();
    let (expected, mounted) = if root {
        let mount = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
            .arg(&locked)
            .status();
        if !matches!(mount, Ok(s) if s.success()) {
            common::skipped(test, "running as root and cannot mount a read-only tmpfs");
            return;
        }
        ("Read-only file system", true)
    } else {
        ("Permission denied", false)
    };
    let data = locked.join("data");
    let out = std::process::Command::new(bin())
        .args(["serve", "--data-dir", data.to_str().unwrap()])
        .args(["--webhook-addr", "127.0.0.1:0", "--mcp-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    if mounted {
        let _ = std::process::Command::new("umount").arg(&locked).status();
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert_eq!(err.matches(expected).count(), 1, "the reason once: {err}");
    assert!(
        err.contains(data.to_str().unwrap()),
        "names the path: {err}"
    );
}

/// A sender's type, subject or summary never writes a raw control character: not a forged log
/// line through a newline, not an escape sequence to the operator's terminal (`hookd events`,
/// `hookd tail`, the text log).
#[tokio::test]
async fn a_senders_control_characters_reach_neither_the_log_nor_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let hookd = common::Logging::serve(&data, "info");
    let forged = "build\nFORGED  INFO hookd: all good\r\u{1b}[2J\u{9b}31m";
    let body = serde_json::json!({"type": forged, "title": "t\u{1b}]0;owned\u{7}"}).to_string();
    let headers = [("content-type", "application/json")];
    let r = common::post(&common::http(), hookd.webhook, "ci", &headers, body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let id = r.body["event_id"].as_i64().unwrap();
    let logged = loop {
        let line = hookd
            .lines
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the webhook is logged");
        if line.contains("webhook stored") {
            break line;
        }
    };
    assert!(!logged.chars().any(char::is_control), "{logged:?}");
    assert!(
        logged.contains("build\\nFORGED"),
        "escaped, still readable: {logged:?}"
    );
    assert!(
        !hookd.lines.try_iter().any(|l| l.starts_with("FORGED")),
        "no forged line"
    );

    let out = std::process::Command::new(bin())
        .args(["events", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    let row = listed
        .lines()
        .find(|l| l.contains(&format!("#{id}")))
        .unwrap_or_else(|| panic!("{listed:?}"));
    assert!(!row.chars().any(char::is_control), "{row:?}");
    assert!(row.contains("build\\nFORGED"), "{row:?}");
    assert_eq!(listed.lines().count(), 1, "one event, one line: {listed:?}");
}

/// `--to` takes only an http(s) URL: anything else is refused before anything starts (no cursor
/// is taken, no store is opened).
#[test]
fn forward_and_replay_refuse_a_destination_that_is_not_http() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for args in [
        vec!["forward", "--to", "file:///etc/passwd"],
        vec!["replay", "1", "--to", "ftp://example.com/x"],
        vec!["forward", "--to", "not a url"],
    ] {
        let out = std::process::Command::new(bin())
            .args(&args)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
        assert!(said.contains("--to"), "{args:?}: {said}");
        assert!(!data.exists(), "{args:?}: nothing was opened");
    }
}

/// `hookd tail --last 2 | head -2`: once the reader is gone, tail ends at once, without waiting
/// for an event it could fail to write.
#[tokio::test]
async fn tail_ends_when_its_reader_goes_even_with_nothing_new() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path());
    push(&hookd, "gone-1").await;
    push(&hookd, "gone-2").await;
    let data = dir.path().join("data");
    let mut tail = std::process::Command::new(bin())
        .args(["tail", "--last", "2", "--data-dir", data.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(tail.stdout.take().unwrap()).lines();
    for _ in 0..2 {
        assert!(lines.next().is_some_and(|l| l.is_ok()));
    }
    drop(lines); // `head` exits
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = tail.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = tail.kill();
            panic!("tail still runs after its reader went away");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

/// `forward` without the source's secret where it runs says so, once per source, with what
/// would supply it, instead of sending unsigned deliveries silently.
#[tokio::test]
async fn forward_says_once_why_a_sources_deliveries_go_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path());
    let data = dir.path().join("data");
    let (url, mut rx) = receiver().await;
    let elsewhere = tempfile::tempdir().unwrap(); // no hookd.toml there
    let mut forward = Command::new(bin())
        .args([
            "forward",
            "--to",
            &url,
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .current_dir(elsewhere.path())
        .env_remove("GITHUB_WEBHOOK_SECRET")
        .env_remove("HOOKD_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut err = BufReader::new(forward.stderr.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), err.next_line())
        .await
        .expect("a line in time")
        .unwrap()
        .expect("still running");
    assert!(first.contains("events after"), "{first}");
    push(&hookd, "unsigned-1").await;
    push(&hookd, "unsigned-2").await;
    for _ in 0..2 {
        let (headers, _) = received(&mut rx).await;
        assert!(
            !headers.contains_key("x-hub-signature-256"),
            "sent unsigned"
        );
    }
    forward.kill().await.unwrap();
    let mut said = Vec::new();
    while let Ok(Some(l)) = err.next_line().await {
        said.push(l);
    }
    let warnings: Vec<&String> = said.iter().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "once for the source: {said:?}");
    assert!(
        warnings[0].contains("\"github\"") && warnings[0].contains("GITHUB_WEBHOOK_SECRET"),
        "{warnings:?}"
    );
}

/// Stripe and Slack name a delivery in the body: `--new-delivery-id` changes it there (and signs
/// the changed body), so the replay is stored as a new delivery, verified.
#[tokio::test]
async fn a_new_delivery_id_is_written_where_the_provider_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hookd.toml"),
        "[sources.stripe]\nprovider = \"stripe\"\nsecret = \"whsec_st\"\n\n\
         [sources.slack]\nprovider = \"slack\"\nsecret = \"sl-secret\"\n",
    )
    .unwrap();
    let config = dir.path().join("hookd.toml");
    let hookd = Process::serve(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let data = dir.path().join("data");
    let webhook = hookd.webhook.to_string();
    for (source, secret, file) in [
        ("stripe", "whsec_st", "stripe/invoice.paid.json"),
        ("slack", "sl-secret", "slack/event_callback.message.json"),
    ] {
        let now = chrono::Utc::now().timestamp();
        let signer = (source, secret);
        let r = common::post_signed(hookd.webhook, source, signer, now, &[], fixture(file)).await;
        assert_eq!(r.status, 200, "{source}: {:?}", r.body);
        let id = r.body["event_id"].to_string();
        let out = std::process::Command::new(bin())
            .args([
                "replay",
                &id,
                "--new-delivery-id",
                "--webhook-addr",
                &webhook,
            ])
            .args(["--data-dir", data.to_str().unwrap()])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{source}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            said.contains("\"duplicate\":false") && said.contains("\"verified\":true"),
            "{source}: {said}"
        );
    }
}

/// An event no provider describes still gets a subject and a one-line summary from its payload's
/// short, named fields (a text body: its first line), so `hookd events` shows what it was.
#[tokio::test]
async fn events_of_sources_without_a_provider_are_summarized() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let hookd = serve(dir.path());
    let http = common::http();
    let json = [
        ("content-type", "application/json"),
        ("x-event-type", "build.finished"),
    ];
    let body = serde_json::json!({"id": 4812, "status": "success", "name": "nightly",
                                  "project": "api", "log": "x".repeat(500)});
    let r = common::post(&http, hookd.webhook, "internal-ci", &json, body.to_string()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let text = [("content-type", "text/plain")];
    let r = common::post(
        &http,
        hookd.webhook,
        "demo",
        &text,
        "\nbuild 17 finished\nok\n",
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    let out = std::process::Command::new(bin())
        .args(["events", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    let row = |source: &str| {
        listed
            .lines()
            .find(|l| l.contains(source))
            .unwrap_or_else(|| panic!("{source} in {listed:?}"))
            .to_owned()
    };
    let ci = row("internal-ci");
    assert!(ci.contains("api"), "the subject: {ci:?}");
    assert!(
        ci.contains("name: nightly, status: success, id: 4812"),
        "{ci:?}"
    );
    let demo = row("demo");
    assert!(demo.contains("build 17 finished"), "{demo:?}");
    assert!(!listed.contains(" -  "), "no empty summary: {listed:?}");

    // Fewer shown than stored: it says so, and how to see more (on stderr; stdout is the events).
    let out = std::process::Command::new(bin())
        .args([
            "events",
            "--limit",
            "1",
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let said = String::from_utf8(out.stderr).unwrap();
    assert!(
        said.contains("the newest 1 of 2; --limit N shows more"),
        "{said:?}"
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
    let all = std::process::Command::new(bin())
        .args(["events", "--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(all.stderr).unwrap(),
        "",
        "all shown: nothing to say"
    );
}
