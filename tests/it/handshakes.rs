//! The providers' handshakes and the schemes that need more than a shared secret, from the
//! outside: each handshake answered as its provider documents and nothing stored; Asana's secret
//! accepted only inside a window `hookd enrol` opens; URL-signing providers checked against
//! `--webhook-public-url`; `hookd send` signing with a private key, in the body and in the URL.

use crate::common;

use std::path::{Path, PathBuf};

use common::{TestApp, post};
use hookd::event::{EventFilter, Page};
use hookd::secret::Secret;
use hookd::signature::ToSign;
use serde_json::{Value, json};

/// A Discord private key and its public key, made by hookd's own provider.
fn discord_keys() -> (String, String) {
    let discord = hookd::providers::build("discord", Default::default()).unwrap();
    let private = discord.new_private_key().unwrap();
    let public = discord.public_key(&private).unwrap().unwrap();
    (private.expose().to_owned(), public)
}

fn config(dir: &Path, discord_public: &str) -> PathBuf {
    let path = dir.join("hookd.toml");
    let text = format!(
        r#"
[sources.wa]
provider = "meta"
secret = "meta-app-secret"
verify_token = "meatyhamhock"

[sources.xapi]
provider = "x"
secret = "consumer-secret"

[sources.graph]
provider = "microsoft-graph"
secret = "client-state-1"

[sources.board]
provider = "trello"
secret = "trello-secret"

[sources.zm]
provider = "zoom"
secret = "zoom-secret-token"

[sources.tw]
provider = "twitch"
secret = "twitch-secret"

[sources.bot]
provider = "discord"
public_key = "{discord_public}"

[sources.tasks]
provider = "asana"

[sources.sms]
provider = "twilio"
secret = "twilio-auth-token"
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

async fn stored(app: &TestApp) -> Vec<hookd::event::Event> {
    app.store()
        .query(EventFilter::default(), Page::Oldest(100))
        .await
        .unwrap()
}

fn signed(provider: &str, secret: &str, body: &[u8], delivery_id: &str) -> Vec<(String, String)> {
    let p = hookd::providers::build(provider, Default::default()).unwrap();
    let d = ToSign {
        body,
        now: chrono::Utc::now().timestamp(),
        delivery_id,
        url: "",
    };
    p.sign(&Secret::new(secret), &d)
}

/// The headers as `post` takes them, with the JSON content type providers send.
fn refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    let mut headers: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if !pairs.iter().any(|(k, _)| k == "content-type") {
        headers.push(("content-type", "application/json"));
    }
    headers
}

#[tokio::test]
async fn every_handshake_is_answered_as_its_provider_documents_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = discord_keys();
    let path = config(dir.path(), &public);
    let app = TestApp::start_with(|c| c.config = Some(path)).await;
    let http = common::http();
    let url = |path: &str| format!("http://{}{path}", app.webhook);

    // Meta: the challenge for the verify token, 403 for another.
    let ok =
        "/webhook/wa?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock";
    let r = http.get(url(ok)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "1158201444");
    let wrong = ok.replace("meatyhamhock", "guess");
    assert_eq!(http.get(url(&wrong)).send().await.unwrap().status(), 403);

    // X: the CRC answered with the HMAC of the token.
    let r = http
        .get(url("/webhook/xapi?crc_token=abc123"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    let expected = {
        use base64::Engine;
        use hmac::Mac;
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"consumer-secret").unwrap();
        m.update(b"abc123");
        let sig = base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes());
        format!("sha256={sig}")
    };
    assert_eq!(answer["response_token"], expected.as_str());

    // Microsoft Graph: the validation token echoed as text.
    let r = http
        .post(url(
            "/webhook/graph?validationToken=Validation%3A%20Testing",
        ))
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(r.text().await.unwrap(), "Validation: Testing");

    // Trello: its HEAD on the callback URL.
    let r = http.head(url("/webhook/board")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // Zoom: a signed endpoint.url_validation answered with the encrypted token.
    let body = br#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    let headers = signed("zoom", "zoom-secret-token", body, "");
    let r = post(&http, app.webhook, "zm", &refs(&headers), body.to_vec()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
    assert_eq!(r.body["encryptedToken"].as_str().map(str::len), Some(64));
    // Unsigned, it is refused like any delivery.
    let r = post(&http, app.webhook, "zm", &refs(&[]), body.to_vec()).await;
    assert_eq!(r.status, 401);

    // Twitch: the callback verification answered with its challenge, as text.
    let body = br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"type":"channel.follow"}}"#;
    let mut headers = signed("twitch", "twitch-secret", body, "e76c6bd4");
    headers.push((
        "Twitch-Eventsub-Message-Type".into(),
        "webhook_callback_verification".into(),
    ));
    let r = post(&http, app.webhook, "tw", &refs(&headers), body.to_vec()).await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, Some("pogchamp-kappa-360noscope-vohiyo"))
    );

    // Discord: a signed PING answered {"type":1}; a wrongly signed one refused.
    let body = br#"{"id":"1","application_id":"2","type":1,"token":"t","version":1}"#;
    let headers = signed("discord", &private, body, "");
    let r = post(&http, app.webhook, "bot", &refs(&headers), body.to_vec()).await;
    assert_eq!((r.status, r.body.clone()), (200, json!({"type": 1})));
    let (other, _) = discord_keys();
    let forged = signed("discord", &other, body, "");
    let r = post(&http, app.webhook, "bot", &refs(&forged), body.to_vec()).await;
    assert_eq!(r.status, 401);

    assert!(stored(&app).await.is_empty(), "handshakes store nothing");

    // After its handshake, a Twitch notification is stored, verified.
    let body = br#"{"subscription":{"type":"channel.follow"},"event":{"user_name":"Ann","broadcaster_user_login":"bob"}}"#;
    let mut headers = signed("twitch", "twitch-secret", body, "msg-7");
    headers.push(("Twitch-Eventsub-Message-Type".into(), "notification".into()));
    let r = post(&http, app.webhook, "tw", &refs(&headers), body.to_vec()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let events = stored(&app).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            events[0].event_type.as_str(),
            events[0].delivery_id.as_deref()
        ),
        ("channel.follow", Some("msg-7"))
    );
    assert_eq!(events[0].verified, Some(true));
    app.stop().await;
}

#[tokio::test]
async fn asana_enrols_only_inside_the_window_hookd_enrol_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &discord_keys().1);
    let app = TestApp::start_with(|c| c.config = Some(path.clone())).await;
    let http = common::http();
    let handshake = |secret: &'static str| {
        http.post(format!("http://{}/webhook/tasks", app.webhook))
            .header("X-Hook-Secret", secret)
            .send()
    };
    let refused = handshake("planted-by-a-stranger").await.unwrap();
    assert_eq!(refused.status(), 400);
    let why: Value = refused.json().await.unwrap();
    assert!(
        why["error"].as_str().unwrap().contains("hookd enrol tasks"),
        "{why}"
    );

    let data = app.dir.path().join("data");
    let out = tokio::process::Command::new(common::bin())
        .args([
            "enrol",
            "tasks",
            "--for",
            "2m",
            "--config",
            path.to_str().unwrap(),
        ])
        .args(["--data-dir", data.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("may enrol until"), "{said}");

    let ok = handshake("asana-given-secret").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-hook-secret"], "asana-given-secret");
    assert_eq!(
        handshake("a-second-one").await.unwrap().status(),
        400,
        "the window closed"
    );
    assert!(stored(&app).await.is_empty(), "handshakes store nothing");

    let body =
        br#"{"events":[{"action":"changed","resource":{"gid":"1199","resource_type":"task"}}]}"#;
    let headers = signed("asana", "asana-given-secret", body, "");
    let r = post(&http, app.webhook, "tasks", &refs(&headers), body.to_vec()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let planted = signed("asana", "a-second-one", body, "");
    let r = post(&http, app.webhook, "tasks", &refs(&planted), body.to_vec()).await;
    assert_eq!(r.status, 401);
    let events = stored(&app).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "task.changed", "{:?}", events[0]);
    assert_eq!(events[0].verified, Some(true));
    // A source of another provider cannot enrol.
    let out = tokio::process::Command::new(common::bin())
        .args(["enrol", "tw", "--config", path.to_str().unwrap()])
        .args(["--data-dir", data.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only a provider that sends"));
    app.stop().await;
}

#[tokio::test]
async fn a_url_signing_provider_is_checked_against_the_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &discord_keys().1);
    let app = TestApp::start_with(|c| {
        c.config = Some(path);
        c.webhook_public_url = Some("https://hooks.example.com".into());
    })
    .await;
    let http = common::http();
    let body = b"MessageSid=SM1&SmsStatus=received&From=%2B15551230000&To=%2B15559870000&Body=Hi";
    let twilio = hookd::providers::build("twilio", Default::default()).unwrap();
    let sign_for = |url: &str| {
        let d = ToSign {
            body,
            now: 0,
            delivery_id: "",
            url,
        };
        twilio.sign(&Secret::new("twilio-auth-token"), &d)
    };
    let form = (
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    );
    let mut public = sign_for("https://hooks.example.com/webhook/sms");
    public.push(form.clone());
    let r = post(&http, app.webhook, "sms", &refs(&public), body.to_vec()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut local = sign_for(&format!("http://{}/webhook/sms", app.webhook));
    local.push(form);
    let r = post(&http, app.webhook, "sms", &refs(&local), body.to_vec()).await;
    assert_eq!(r.status, 401);
    let refusals = app.store().rejections(None, 10).await.unwrap();
    assert!(
        refusals[0]
            .detail
            .contains("https://hooks.example.com/webhook/sms")
            && refusals[0].detail.contains("--webhook-public-url"),
        "{}",
        refusals[0].detail
    );
    // A sender's huge query is cut in the recorded refusal, not stored whole.
    let long = format!("/webhook/sms?pad={}", "x".repeat(50_000));
    let r = http
        .post(format!("http://{}{long}", app.webhook))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", "AAAA")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let refusals = app.store().rejections(None, 10).await.unwrap();
    assert!(
        refusals[0].detail.len() < 2_000 && refusals[0].detail.contains("--webhook-public-url"),
        "{} bytes",
        refusals[0].detail.len()
    );
    let events = stored(&app).await;
    assert_eq!(events[0].event_type, "message.received");
    app.stop().await;
}

/// `hookd send` signs as each provider does: with a private key (Discord), in the body
/// (Mailgun), over the URL with the body's hash in it (Twilio, JSON).
#[tokio::test]
async fn hookd_send_signs_with_keys_in_bodies_and_over_urls() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = discord_keys();
    let path = dir.path().join("hookd.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[sources.bot]
provider = "discord"
secret = "{private}"
public_key = "{public}"

[sources.mail]
provider = "mailgun"
secret = "mailgun-signing-key"

[sources.sms]
provider = "twilio"
secret = "twilio-auth-token"
"#
        ),
    )
    .unwrap();
    let app = TestApp::start_with(|c| c.config = Some(path.clone())).await;
    let payloads = [
        (
            "bot",
            r#"{"id":"9","type":2,"guild_id":"7","data":{"name":"deploy"}}"#,
        ),
        (
            "mail",
            r#"{"event-data":{"event":"delivered","recipient":"a@example.com"}}"#,
        ),
        (
            "sms",
            r#"{"type":"com.twilio.messaging.message.delivered","data":{"to":"+1"}}"#,
        ),
    ];
    for (source, body) in payloads {
        let file = dir.path().join(format!("{source}.json"));
        std::fs::write(&file, body).unwrap();
        let out = tokio::process::Command::new(common::bin())
            .args([
                "send",
                source,
                file.to_str().unwrap(),
                "--config",
                path.to_str().unwrap(),
            ])
            .args(["--webhook-addr", &app.webhook.to_string()])
            .output()
            .await
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.contains("\"verified\":true"),
            "{source}: {said} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let events = stored(&app).await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "interaction.application_command",
            "delivered",
            "com.twilio.messaging.message.delivered"
        ]
    );
    // config check names what each expects.
    let out = tokio::process::Command::new(common::bin())
        .args(["config", "check", "--config", path.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("X-Signature-Ed25519, X-Signature-Timestamp"),
        "{said}"
    );
    assert!(
        said.contains("mail: provider mailgun, secret set; expects the signature in the body"),
        "{said}"
    );
    assert!(said.contains("signed over the URL"), "{said}");
    app.stop().await;
}
