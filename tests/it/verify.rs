//! Signature verification from the outside: hookd configured with a hookd.toml, deliveries
//! signed by `hookd send` or taken from the providers' published vectors, over real HTTP.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::mcp::{ERAS, call_ok, connect_http};
use common::{Process, TestApp, fixture, post};
use hookd::event::{EventFilter, Page};
use serde_json::json;

const CONFIG: &str = r#"
[sources.github]
provider = "github"
secret = ["gh-new-secret", "gh-old-secret"]

[sources.stripe]
provider = "stripe"
secret = "whsec_test"

[sources.slack]
provider = "slack"
secret = "8f742231b10e8888abcd99yyyzzz85a5"

[sources.clerk]
provider = "standard-webhooks"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

[sources.acme]
provider = "hmac"
secret = "acme-key"
[sources.acme.hmac]
header = "X-Acme-Signature"
prefix = "sha512="
algorithm = "sha512"
signed = "{timestamp}.{body}"
timestamp_header = "X-Acme-Timestamp"
tolerance_seconds = 300

[sources.internal]
provider = "none"

[sources.dbx]
provider = "dropbox"
secret = "dbx-app-secret"
"#;

fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("hookd.toml");
    std::fs::write(&path, CONFIG).unwrap();
    path
}

fn send(p: &Process, config: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(common::bin())
        .arg("send")
        .args(args)
        .arg("--config")
        .arg(config)
        .args(["--webhook-addr", &p.webhook.to_string()])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn hookd_send_signs_every_scheme_and_hookd_verifies_and_normalizes() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let hookd = Process::serve(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let f = |p: &str| fixtures.join(p).to_string_lossy().into_owned();
    let cases = [
        ("github", f("github/push.json"), vec!["--type", "push"]),
        ("stripe", f("stripe/invoice.payment_failed.json"), vec![]),
        ("slack", f("slack/event_callback.app_mention.json"), vec![]),
        ("slack", f("slack/slash_command.txt"), vec![]),
        (
            "clerk",
            f("stripe/plan.created.json"),
            vec!["--type", "plan.created"],
        ),
        ("acme", f("gitlab/push.json"), vec![]),
        ("internal", f("github/ping.json"), vec![]),
    ];
    for (source, file, extra) in &cases {
        let mut args = vec![*source, file.as_str()];
        args.extend(extra);
        let (ok, out) = send(&hookd, &config, &args);
        assert!(ok && out.starts_with("200 "), "{source} {file}: {out}");
    }
    drop(hookd);

    let store = hookd::store::Sqlite::open(&dir.path().join("data")).unwrap();
    let events = hookd::store::Events::query(&store, EventFilter::default(), Page::Oldest(100))
        .await
        .unwrap();
    let summary: Vec<(&str, &str, Option<bool>)> = events
        .iter()
        .map(|e| (e.source.as_str(), e.event_type.as_str(), e.verified))
        .collect();
    assert_eq!(
        summary,
        [
            ("github", "push", Some(true)),
            ("stripe", "invoice.payment_failed", Some(true)),
            ("slack", "app_mention", Some(true)),
            ("slack", "slash_command", Some(true)),
            ("clerk", "plan.created", Some(true)),
            ("acme", "unknown", Some(true)),
            ("internal", "unknown", Some(false)),
        ]
    );
    assert_eq!(events[0].subject.as_deref(), Some("Codertocat/Hello-World"));
    assert!(
        events[0]
            .summary
            .as_deref()
            .unwrap()
            .contains("pushed 1 commit(s)")
    );
    assert_eq!(events[1].subject.as_deref(), Some("cus_QXg1o8vcGmoR32"));
    assert!(
        events[1]
            .delivery_id
            .as_deref()
            .unwrap()
            .starts_with("evt_")
    );
    assert_eq!(events[2].delivery_id.as_deref(), Some("Ev5IECGV8GCQ"));
}

fn as_refs(h: &[(String, String)]) -> Vec<(&str, &str)> {
    h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn app_with_config() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    (TestApp::start_with(|c| c.config = Some(config)).await, dir)
}

#[tokio::test]
async fn bad_deliveries_get_401_with_a_reason_are_recorded_and_store_nothing() {
    let (app, _dir) = app_with_config().await;
    let http = common::http();
    let body = fixture("github/push.json");
    let gh = |sig: &'static str| {
        vec![
            ("content-type", "application/json"),
            ("x-github-event", "push"),
            ("x-github-delivery", "real-delivery-id"),
            ("x-hub-signature-256", sig),
        ]
    };
    let wrong = "sha256=0000000000000000000000000000000000000000000000000000000000000000";
    let r = post(&http, app.webhook, "github", &gh(wrong), body.clone()).await;
    assert_eq!(
        (r.status, r.body["reason"].as_str()),
        (401, Some("bad_signature")),
        "{:?}",
        r.body
    );
    let missing = [("content-type", "application/json")];
    let r = post(&http, app.webhook, "github", &missing, body.clone()).await;
    assert_eq!(
        (r.status, r.body["reason"].as_str()),
        (401, Some("missing_header"))
    );
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("x-hub-signature-256")
    );

    // The Stripe library's vector is from 2023: its signature is right, its time is not.
    let stale = [
        ("content-type", "application/json"),
        (
            "stripe-signature",
            "t=1700000000,v1=e87bd3a51a0dae2358ba943601b9dee6fbe27fd08b20aefc19b460360e00bd71",
        ),
    ];
    let r = post(
        &http,
        app.webhook,
        "stripe",
        &stale,
        fixture("stripe/checkout.session.completed.json"),
    )
    .await;
    assert_eq!(
        (r.status, r.body["reason"].as_str()),
        (401, Some("stale_timestamp"))
    );

    let stored = app
        .store()
        .query(EventFilter::default(), Page::Oldest(10))
        .await
        .unwrap();
    assert!(stored.is_empty(), "nothing refused was stored");

    let c = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let rejected = call_ok(&c, "get_rejected_deliveries", json!({})).await;
    let list = rejected["rejected"].as_array().unwrap();
    let reasons: Vec<&str> = list.iter().map(|r| r["reason"].as_str().unwrap()).collect();
    assert_eq!(
        reasons,
        ["stale_timestamp", "missing_header", "bad_signature"],
        "newest first"
    );
    assert_eq!(list[2]["body_size"], body.len());
    assert_eq!(list[2]["headers"]["x-hub-signature-256"], "[redacted]");
    let text = rejected.to_string();
    assert!(
        !text.contains("whsec_test") && !text.contains("gh-new-secret"),
        "no secret leaks"
    );
    let only_stripe = call_ok(
        &c,
        "get_rejected_deliveries",
        json!({"source": "stripe", "limit": 5}),
    )
    .await;
    assert_eq!(only_stripe["rejected"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_forged_delivery_cannot_poison_the_real_one_and_rotation_works() {
    let (app, _dir) = app_with_config().await;
    let http = common::http();
    let body = b"{\"zen\":\"Design for failure.\"}".to_vec();
    let sign = |secret: &str| common::sign("github", secret, &body, 0).remove(0).1;
    let headers = |sig: &str| {
        vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("x-github-event".to_owned(), "ping".to_owned()),
            ("x-github-delivery".to_owned(), "d-shared".to_owned()),
            ("x-hub-signature-256".to_owned(), sig.to_owned()),
        ]
    };
    let forged = headers(&sign("attacker"));
    let r = post(
        &http,
        app.webhook,
        "github",
        &as_refs(&forged),
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 401);
    let old = headers(&sign("gh-old-secret"));
    let r = post(&http, app.webhook, "github", &as_refs(&old), body.clone()).await;
    assert_eq!(
        (r.status, &r.body["duplicate"]),
        (200, &json!(false)),
        "{:?}",
        r.body
    );
    let again = post(&http, app.webhook, "github", &as_refs(&old), body.clone()).await;
    assert_eq!(again.body["duplicate"], true);
    assert_eq!(again.body["event_id"], r.body["event_id"]);
    app.stop().await;
}

#[tokio::test]
async fn slack_url_verification_is_answered_with_its_challenge() {
    let (app, _dir) = app_with_config().await;
    let http = common::http();
    let body = fixture("slack/url_verification.json");
    let now = chrono::Utc::now().timestamp();
    let signed = common::sign("slack", "8f742231b10e8888abcd99yyyzzz85a5", &body, now);
    let mut headers: Vec<(&str, &str)> = signed
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    headers.push(("content-type", "application/json"));
    let r = post(&http, app.webhook, "slack", &headers, body.clone()).await;
    let expected: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!({"challenge": expected["challenge"]}));
    let unsigned = post(
        &http,
        app.webhook,
        "slack",
        &[("content-type", "application/json")],
        body,
    )
    .await;
    assert_eq!(unsigned.status, 401, "the handshake is verified too");
    app.stop().await;
}

#[tokio::test]
async fn required_signatures_refuse_unsigned_sources() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hookd.toml");
    std::fs::write(&config, "[sources.shop]\nprovider = \"shopify\"\n").unwrap();
    let out = Command::new(common::bin())
        .args([
            "serve",
            "--webhook-addr",
            "127.0.0.1:0",
            "--mcp-addr",
            "127.0.0.1:0",
            "--require-signatures",
        ])
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"shop\"") && err.contains("no secret"),
        "{err}"
    );

    let app = TestApp::start_with(|c| c.require_signatures = Some(true)).await;
    let http = common::http();
    let r = post(
        &http,
        app.webhook,
        "anything",
        &[("content-type", "application/json")],
        "{}",
    )
    .await;
    assert_eq!(r.status, 404);
    assert!(
        r.body["error"]
            .as_str()
            .unwrap()
            .contains("signatures are required")
    );
    app.stop().await;
}

/// `hookd send github FILE` to `webhook`, with or without `GITHUB_WEBHOOK_SECRET` on the sending side.
async fn send_github(webhook: &str, file: &str, secret: Option<&str>) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(common::bin());
    cmd.args(["send", "github", file, "--webhook-addr", webhook])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("HOOKD_CONFIG");
    match secret {
        Some(s) => cmd.env("GITHUB_WEBHOOK_SECRET", s),
        None => cmd.env_remove("GITHUB_WEBHOOK_SECRET"),
    };
    cmd.output().await.unwrap()
}

#[tokio::test]
async fn hookd_send_infers_the_github_type_and_says_when_unverified() {
    let app = common::TestApp::start().await;
    let webhook = app.webhook.to_string();
    let newest = || async {
        let page = hookd::event::Page::Newest(1);
        let recent = app.store().query(Default::default(), page).await.unwrap();
        recent[0].event_type.clone()
    };
    let out = send_github(&webhook, "tests/fixtures/github/push.json", Some("s")).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("--type push"), "{err}");
    assert!(
        err.contains("stored unverified"),
        "this hookd has no secret: {err}"
    );
    assert_eq!(newest().await, "push");
    let issue = send_github(&webhook, "tests/fixtures/github/issues.opened.json", None).await;
    assert!(issue.status.success());
    assert_eq!(newest().await, "issues");
    let unknown = send_github(&webhook, "tests/fixtures/stripe/invoice.paid.json", None).await;
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("name it with --type"));
}

/// The hint for an unverified delivery names the variable of the source it went to.
#[tokio::test]
async fn hookd_send_names_the_secret_of_the_source_it_sent_to() {
    let app = common::TestApp::start().await;
    let webhook = app.webhook.to_string();
    for (source, named, not_named) in [
        ("stripe", "STRIPE_WEBHOOK_SECRET", "GITHUB_WEBHOOK_SECRET"),
        ("ci-runner", "[sources.ci-runner]", "GITHUB_WEBHOOK_SECRET"),
    ] {
        let out = tokio::process::Command::new(common::bin())
            .args(["send", source, "tests/fixtures/stripe/invoice.paid.json"])
            .args(["--type", "invoice.paid", "--webhook-addr", &webhook])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("HOOKD_CONFIG")
            .env_remove("STRIPE_WEBHOOK_SECRET")
            .output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{source}: {err}");
        assert!(
            err.contains("stored unverified") && err.contains(named),
            "{source}: {err}"
        );
        assert!(!err.contains(not_named), "{source}: {err}");
    }
    app.stop().await;
}

/// One secrets file serves `serve` and `send` alike (`--env-file`, or `HOOKD_ENV_FILE`): a shell
/// without the variable exported still signs, and the delivery verifies.
#[tokio::test]
async fn serve_and_send_share_a_secrets_file() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.env");
    std::fs::write(
        &secrets,
        "# the team's secrets\nGITHUB_WEBHOOK_SECRET=from-the-file\n",
    )
    .unwrap();
    let file = secrets.to_str().unwrap();
    let mut serve = common::serve_command(&dir.path().join("data"));
    serve
        .args(["--env-file", file])
        .env_remove("GITHUB_WEBHOOK_SECRET")
        .env_remove("HOOKD_CONFIG")
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = serve.spawn().unwrap();
    let (webhook, _) = common::wait_listening(child.stderr.take().unwrap());
    let webhook = webhook.unwrap().to_string();
    let fixture = format!(
        "{}/tests/fixtures/github/push.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let send = |env_file: Option<&str>| {
        let mut cmd = std::process::Command::new(common::bin());
        cmd.args(["send", "github", &fixture, "--webhook-addr", &webhook])
            .current_dir(dir.path())
            .env_remove("GITHUB_WEBHOOK_SECRET")
            .env_remove("HOOKD_CONFIG")
            .env_remove("HOOKD_ENV_FILE");
        if let Some(f) = env_file {
            cmd.env("HOOKD_ENV_FILE", f);
        }
        cmd.output().unwrap()
    };
    let signed = send(Some(file));
    let said = String::from_utf8_lossy(&signed.stdout);
    assert!(
        signed.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&signed.stderr)
    );
    assert!(said.contains("\"verified\":true"), "{said}");
    // Without it, the hint names the variable and the file option.
    let unsigned = send(None);
    let err = String::from_utf8_lossy(&unsigned.stderr);
    assert!(
        err.contains("GITHUB_WEBHOOK_SECRET") && err.contains("--env-file"),
        "{err}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// Dropbox verifies the URL with a GET `?challenge=` before it sends anything: hookd answers the
/// challenge as plain text and stores nothing; a source whose provider has no such handshake
/// answers 405 to a GET; a notification signed as Dropbox signs is stored.
#[tokio::test]
async fn dropbox_s_url_check_is_answered_and_its_notifications_verify() {
    let (app, dir) = app_with_config().await;
    let http = common::http();
    let get = |path: &str| http.get(format!("http://{}{path}", app.webhook)).send();
    let ok = get("/webhook/dbx?challenge=eEcUPXmcz1").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(ok.headers()["x-content-type-options"], "nosniff");
    assert_eq!(ok.text().await.unwrap(), "eEcUPXmcz1");
    let missing = get("/webhook/dbx").await.unwrap();
    assert_eq!(missing.status(), 400);
    let script = get("/webhook/dbx?challenge=%3Cscript%3E%20x")
        .await
        .unwrap();
    assert_eq!(
        script.status(),
        400,
        "only printable characters without spaces"
    );
    assert_eq!(
        get("/webhook/github?challenge=x").await.unwrap().status(),
        405
    );
    assert_eq!(
        get("/webhook/nowhere?challenge=x").await.unwrap().status(),
        405
    );
    let stored = app.store().count(EventFilter::default()).await.unwrap();
    assert_eq!(stored, 0, "a GET stores nothing");

    let config = dir.path().join("hookd.toml");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dropbox/list_folder.json"
    );
    // Not a blocking wait: this hookd runs on the test's own runtime.
    let out = tokio::process::Command::new(common::bin())
        .args(["send", "dbx", fixture, "--config", config.to_str().unwrap()])
        .args(["--webhook-addr", &app.webhook.to_string()])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.starts_with("200 "),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = app
        .store()
        .query(EventFilter::default(), Page::Oldest(10))
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "list_folder");
    assert_eq!(events[0].verified, Some(true));
    assert_eq!(
        events[0].subject.as_deref(),
        Some("dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc")
    );
    app.stop().await;
}
