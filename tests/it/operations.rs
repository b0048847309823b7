//! What operators see: `/metrics` for a scraper, and a log line per stored webhook (text or JSON).

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{Process, bin, fixture};

const CONFIG: &str = "[sources.github]\nprovider = \"github\"\nsecret = \"gh-secret\"\n";

fn serve(dir: &std::path::Path, extra: &[&str]) -> Process {
    let config = dir.join("hookd.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut args = vec!["--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    Process::serve(&dir.join("data"), &args)
}

async fn push(hookd: &Process, delivery: &str, secret: &str) -> u16 {
    let extra = [("x-github-event", "push"), ("x-github-delivery", delivery)];
    let body = fixture("github/push.json");
    let signer = ("github", secret);
    common::post_signed(hookd.webhook, "github", signer, 0, &extra, body)
        .await
        .status
}

/// The value of the sample named exactly `series` (name and labels) on the page.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_what_arrived_by_source_status_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path(), &[]);
    assert_eq!(push(&hookd, "m-1", "gh-secret").await, 200);
    assert_eq!(push(&hookd, "m-1", "gh-secret").await, 200);
    assert_eq!(push(&hookd, "m-2", "forged").await, 401);
    let http = common::http();
    let other = common::post_json(&http, hookd.webhook, "made-up-name", None, "{}").await;
    assert_eq!(other.status, 200);

    let page = http
        .get(format!("http://{}/metrics", hookd.mcp))
        .send()
        .await
        .unwrap();
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let page = page.text().await.unwrap();
    let received = r#"hookd_webhooks_received_total{source="github",status="200"}"#;
    assert_eq!(sample(&page, received), Some(2.0), "{page}");
    let forged = r#"hookd_webhooks_received_total{source="github",status="401"}"#;
    assert_eq!(sample(&page, forged), Some(1.0));
    let reason = r#"hookd_webhooks_rejected_total{source="github",reason="bad_signature"}"#;
    assert_eq!(sample(&page, reason), Some(1.0));
    let duplicate = r#"hookd_webhooks_duplicates_total{source="github"}"#;
    assert_eq!(sample(&page, duplicate), Some(1.0));
    let unconfigured = r#"hookd_webhooks_received_total{source="(other)",status="200"}"#;
    assert_eq!(sample(&page, unconfigured), Some(1.0));
    assert!(
        !page.contains("made-up-name"),
        "a client cannot grow the page"
    );
    // Three appends (two new events and the duplicate's lookup) went through group commits.
    let groups = sample(&page, "hookd_commit_group_size_count").unwrap();
    let events = sample(&page, "hookd_commit_group_size_sum").unwrap();
    assert!(
        groups >= 1.0 && events == 3.0,
        "{groups} groups of {events}"
    );
    assert!(sample(&page, "hookd_ingest_seconds_count").unwrap() >= 4.0);
    assert!(sample(&page, r#"hookd_store_bytes{file="hookd.db"}"#).unwrap() > 0.0);
    assert!(page.contains("# HELP hookd_webhooks_received_total"));
}

#[tokio::test]
async fn metrics_need_the_mcp_token_when_one_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path(), &["--mcp-token", "t0ken"]);
    let http = common::http();
    let url = format!("http://{}/metrics", hookd.mcp);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    let ok = http.get(&url).bearer_auth("t0ken").send().await.unwrap();
    assert_eq!(ok.status(), 200);
}

/// A DNS-rebinding page (a foreign `Host` that resolves here) reads no source or consumer names.
#[tokio::test]
async fn metrics_answer_only_a_host_the_listener_serves() {
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path(), &[]);
    let http = common::http();
    let url = format!("http://{}/metrics", hookd.mcp);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
    let rebound = http
        .get(&url)
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);
}

#[test]
fn each_stored_webhook_is_one_log_line_also_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hookd.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = Command::new(bin())
        .args([
            "serve",
            "--log-format",
            "json",
            "--webhook-addr",
            "127.0.0.1:0",
        ])
        .args([
            "--mcp-addr",
            "127.0.0.1:0",
            "--config",
            config.to_str().unwrap(),
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("HOOKD_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut next_json = || -> serde_json::Value {
        let line = lines.next().expect("a log line").unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    let webhook = loop {
        let line = next_json();
        if line["fields"]["message"] == "hookd listening" {
            break line["fields"]["webhook_addr"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
        }
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        let extra = [("x-github-event", "push"), ("x-github-delivery", "log-1")];
        let signer = ("github", "gh-secret");
        let body = fixture("github/push.json");
        common::post_signed(webhook, "github", signer, 0, &extra, body)
            .await
            .status
    });
    assert_eq!(status, 200);
    let stored = loop {
        let line = next_json();
        if line["fields"]["message"] == "webhook stored" {
            break line;
        }
    };
    let f = &stored["fields"];
    assert_eq!(stored["level"], "INFO");
    assert_eq!(
        (f["source"].as_str(), f["type"].as_str()),
        (Some("github"), Some("push"))
    );
    assert_eq!(f["delivery_id"], "log-1");
    assert_eq!(
        (f["event_id"].as_i64(), f["duplicate"].as_bool()),
        (Some(1), Some(false))
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn config_check_shows_what_serve_would_use_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hookd.toml");
    std::fs::write(
        &config,
        "[sources.github]\nprovider = \"github\"\nsecret = \"s3cr3t-value\"\n",
    )
    .unwrap();
    let check = |extra: &[&str]| {
        Command::new(bin())
            .args(["config", "check", "--config", config.to_str().unwrap()])
            .args(extra)
            .env("HOOKD_MCP_TOKEN", "t0ken-value")
            .env_remove("STRIPE_WEBHOOK_SECRET")
            .output()
            .unwrap()
    };
    let out = check(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("github: provider github, secret set; expects X-Hub-Signature-256"),
        "{text}"
    );
    assert!(
        text.contains("stripe: provider stripe, NO SECRET"),
        "{text}"
    );
    assert!(
        !text.contains("s3cr3t-value") && !text.contains("t0ken-value"),
        "{text}"
    );
    assert!(
        text.contains("--mcp-token                  [redacted]"),
        "{text}"
    );
    assert!(text.contains("--require-signatures         off"), "{text}");
    // `auto` toolsets as they resolve: the GitHub source is configured, Stripe's is not.
    assert!(
        text.contains("--toolsets                   events,github,deployments (from auto)"),
        "{text}"
    );
    // The hosts in effect, not the flag's empty list.
    let hosts = text
        .lines()
        .find(|l| l.trim_start().starts_with("--mcp-allowed-hosts"))
        .unwrap_or_default();
    assert!(hosts.contains("localhost,127.0.0.1,::1"), "{hosts}");
    // Every setting is listed under a flag that `serve` takes, and every flag of `serve` is listed.
    let help = Command::new(bin())
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let flags = |text: &str| -> std::collections::BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.trim_start().strip_prefix("--"))
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect()
    };
    let mut served = flags(&help);
    // The global flags every command takes are not settings of `serve`.
    served.retain(|f| !["help", "log-format", "env-file"].contains(&f.as_str()));
    assert_eq!(flags(&text), served);
    // What serve would refuse, check refuses, with the same words.
    let out = check(&["--mcp-public-url", "ftp://example.com/mcp"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an http(s) URL"));
    let out = check(&["--dashboard-client-id", "hookd-dashboard"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("set --mcp-authorization-server"));
    std::fs::write(&config, "[sources.x]\nprovider = \"gitbub\"\n").unwrap();
    let out = check(&[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown provider \"gitbub\""));
}
