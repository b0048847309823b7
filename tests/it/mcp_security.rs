//! Securing the MCP endpoint: bearer token, Host and Origin checks, and the refusal to expose MCP
//! beyond loopback without a token.

use crate::common;

use common::TestApp;
use common::mcp::{ERAS, call_ok, config};
use hookd::secret::Secret;
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#;

async fn raw(app: &TestApp, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = common::http()
        .post(app.mcp_url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(INIT);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_configured_token_is_required_and_checked() {
    let app = TestApp::start_with(|c| c.mcp_token = Some(Secret::new("s3cret-token"))).await;
    let none = raw(&app, &[]).await;
    assert_eq!(none.status(), 401);
    assert_eq!(
        none.headers()["www-authenticate"],
        r#"Bearer realm="hookd""#
    );
    let wrong = raw(&app, &[("authorization", "Bearer nope")]).await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert!(!wrong.text().await.unwrap().contains("s3cret-token"));
    let right = raw(&app, &[("authorization", "Bearer s3cret-token")]).await;
    assert_eq!(right.status(), 200);
    let lower = raw(&app, &[("authorization", "bearer s3cret-token")]).await;
    assert_eq!(
        lower.status(),
        200,
        "the scheme is case-insensitive (RFC 7235)"
    );

    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(app.mcp_url()).auth_header("s3cret-token"),
    );
    let client = config(ERAS[0].clone())
        .serve(transport)
        .await
        .expect("rmcp client with the token");
    call_ok(&client, "get_event_sources", json!({})).await;
    client.cancel().await.unwrap();

    let health = reqwest::get(format!("http://{}/healthz", app.mcp))
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "health checks need no token");
    app.stop().await;
}

#[tokio::test]
async fn foreign_hosts_and_origins_are_refused() {
    let app = TestApp::start().await;
    assert_eq!(
        raw(&app, &[("host", "evil.example")]).await.status(),
        403,
        "DNS rebinding"
    );
    assert_eq!(
        raw(&app, &[("origin", "http://evil.example")])
            .await
            .status(),
        403
    );
    assert_eq!(
        raw(&app, &[("origin", "http://localhost:3000")])
            .await
            .status(),
        200
    );
    assert_eq!(
        raw(&app, &[]).await.status(),
        200,
        "non-browser clients send no Origin"
    );
    app.stop().await;

    let app = TestApp::start_with(|c| c.mcp_allowed_hosts = vec!["hookd.internal".into()]).await;
    assert_eq!(raw(&app, &[("host", "hookd.internal")]).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn mcp_beyond_loopback_needs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = hookd::config::Config::ephemeral(dir.path().to_owned());
    config.mcp_addr = "0.0.0.0:0".parse().unwrap();
    let err = hookd::app::start(&config, hookd::app::Mode::Serve)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("HOOKD_MCP_TOKEN"), "{err}");
}

#[tokio::test]
async fn protected_resource_metadata_names_the_authorization_server() {
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(Secret::new("s3cret-token"));
        c.mcp_authorization_server = Some("https://auth.example.com".into());
        c.mcp_public_url = Some("https://hookd.example.com/mcp".into());
    })
    .await;
    let denied = raw(&app, &[]).await;
    assert_eq!(denied.status(), 401);
    let challenge = denied.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let expected = "https://hookd.example.com/.well-known/oauth-protected-resource/mcp";
    assert!(
        challenge.contains(&format!(r#"resource_metadata="{expected}""#)),
        "{challenge}"
    );
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let doc: serde_json::Value = common::http()
            .get(format!("http://{}{path}", app.mcp))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["resource"], "https://hookd.example.com/mcp", "{path}");
        assert_eq!(
            doc["authorization_servers"],
            json!(["https://auth.example.com"])
        );
    }
    app.stop().await;

    // Without an authorization server there is no metadata, and the challenge does not point to any.
    let app = TestApp::start_with(|c| c.mcp_token = Some(Secret::new("t"))).await;
    let denied = raw(&app, &[]).await;
    assert!(
        !denied.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("resource_metadata")
    );
    let none = common::http()
        .get(format!(
            "http://{}/.well-known/oauth-protected-resource",
            app.mcp
        ))
        .send()
        .await
        .unwrap();
    assert!(!none.status().is_success(), "{}", none.status());
    app.stop().await;

    let bad = hookd::app::start(
        &{
            let dir = tempfile::tempdir().unwrap();
            let mut c = hookd::config::Config::ephemeral(dir.path().join("d"));
            c.mcp_authorization_server = Some("not a url".into());
            c
        },
        hookd::app::Mode::Serve,
    )
    .await;
    assert!(
        bad.is_err(),
        "a bad authorization server URL is refused at start"
    );
}

#[test]
fn help_never_shows_secret_values_from_the_environment() {
    let out = std::process::Command::new(common::bin())
        .args(["serve", "--help"])
        .env("HOOKD_MCP_TOKEN", "token-7f3a")
        .env("HOOKD_DATABASE_URL", "postgres://u:pw-9c1e@db/hookd")
        .env("HOOKD_REDIS_URL", "redis://:pw-4b2d@cache")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("HOOKD_MCP_TOKEN"), "{help}");
    for secret in ["token-7f3a", "pw-9c1e", "pw-4b2d"] {
        assert!(!help.contains(secret), "--help shows {secret}");
    }
}

#[test]
fn stdio_help_leaves_out_the_mcp_listeners_flags() {
    let help = |command: &str| {
        let out = std::process::Command::new(common::bin())
            .args([command, "--help"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let (serve, stdio) = (help("serve"), help("stdio"));
    for flag in [
        "--mcp-addr",
        "--mcp-token",
        "--mcp-public-url",
        "--max-sessions",
    ] {
        assert!(serve.contains(flag), "serve --help lists {flag}");
        assert!(!stdio.contains(flag), "stdio --help lists {flag}: {stdio}");
    }
    assert!(stdio.contains("--webhook-addr") && stdio.contains("--data-dir"));
}
