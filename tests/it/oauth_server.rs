//! hookd as its own authorization server, from the outside, where a client or a page could go
//! wrong on purpose: an unregistered redirect URI is never redirected to, PKCE is required and a
//! code dies on its first use (a wrong verifier included), a code is bound to its client and
//! redirect URI, the consent form is bound to the browser that loaded it, and on PostgreSQL a
//! token one instance issued works on another.

use crate::common;

use base64::Engine;
use common::TestApp;
use common::modern::Modern;
use hookd::secret::Secret;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const OPERATOR: &str = "operator-secret-9d2c";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

async fn start(db: Option<&str>) -> TestApp {
    let db = db.map(str::to_owned);
    TestApp::start_with(move |c| {
        c.mcp_token = Some(Secret::new(OPERATOR));
        c.mcp_authorization_server = Some("self".into());
        // Instances of one deployment share its public URL, the resource their tokens name.
        if db.is_some() {
            c.mcp_public_url = Some("http://hookd.test/mcp".into());
        }
        c.database_url = db.map(Secret::new);
    })
    .await
}

fn no_redirects() -> reqwest::Client {
    hookd::outbound::install_tls();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn base(app: &TestApp) -> String {
    format!("http://{}", app.mcp)
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://form.invalid/").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}

async fn register(app: &TestApp, redirect: &str) -> (u16, Value) {
    let r = no_redirects()
        .post(format!("{}/oauth/register", base(app)))
        .json(&json!({"client_name": "Tests <b>bold</b>", "redirect_uris": [redirect]}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn authorize_url(app: &TestApp, client: &str, redirect: &str, challenge: &str) -> String {
    format!(
        "{}/oauth/authorize?{}",
        base(app),
        form(&[
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", redirect),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("state", "st-1"),
        ])
    )
}

/// Loads the consent page and answers it with the operator's secret: the redirect's query.
async fn consent(app: &TestApp, url: &str, with_cookie: bool) -> (u16, Vec<(String, String)>) {
    let http = no_redirects();
    let page = http.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let text = page.text().await.unwrap();
    let csrf = text
        .split("name=csrf value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let query: Vec<(String, String)> = reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let mut fields: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    fields.extend([
        ("csrf", csrf.as_str()),
        ("secret", OPERATOR),
        ("decision", "allow"),
        ("grant_scope", "hookd:read"),
        ("grant_scope", "hookd:write"),
    ]);
    let mut post = http
        .post(format!("{}/oauth/authorize", base(app)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&fields));
    if with_cookie {
        post = post.header("cookie", cookie);
    }
    let answer = post.send().await.unwrap();
    let status = answer.status().as_u16();
    let back = answer
        .headers()
        .get("location")
        .and_then(|l| reqwest::Url::parse(l.to_str().ok()?).ok())
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    (status, back)
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

async fn token(app: &TestApp, pairs: &[(&str, &str)]) -> (u16, Value) {
    let r = no_redirects()
        .post(format!("{}/oauth/token", base(app)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_authorization_server_refuses_what_a_hostile_client_or_page_tries() {
    let app = start(None).await;
    let issuer = base(&app);
    let metadata: Value = no_redirects()
        .get(format!("{issuer}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], issuer.as_str());
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    let prm: Value = no_redirects()
        .get(format!("{issuer}/.well-known/oauth-protected-resource/mcp"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["authorization_servers"], json!([issuer]));

    // Registration: only https or loopback http redirect URIs.
    assert_eq!(register(&app, "http://evil.example/cb").await.0, 400);
    assert_eq!(register(&app, "javascript:alert(1)").await.0, 400);
    let (status, client) = register(&app, REDIRECT).await;
    assert_eq!(status, 201, "{client}");
    let id = client["client_id"].as_str().unwrap().to_owned();
    assert_eq!(client["token_endpoint_auth_method"], "none");

    // A redirect URI the client did not register is refused here, never redirected to.
    let verifier = "v".repeat(50);
    let open = no_redirects()
        .get(authorize_url(
            &app,
            &id,
            "https://evil.example/cb",
            &challenge(&verifier),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 400);
    assert!(open.headers().get("location").is_none());
    let unknown = no_redirects()
        .get(authorize_url(
            &app,
            "no-such-client",
            REDIRECT,
            &challenge(&verifier),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    // Without PKCE: back to the client with invalid_request (and iss).
    let plain = authorize_url(&app, &id, REDIRECT, "short").replace("S256", "plain");
    let answer = no_redirects().get(plain).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(REDIRECT)
            && location.contains("error=invalid_request")
            && location.contains("iss="),
        "{location}"
    );

    // The page names the client with its markup escaped, and cannot be framed.
    let url = authorize_url(&app, &id, REDIRECT, &challenge(&verifier));
    let page = no_redirects().get(&url).send().await.unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let text = page.text().await.unwrap();
    assert!(text.contains("Tests &lt;b&gt;bold&lt;/b&gt;") && !text.contains("<b>bold"));

    // The form is bound to the browser that loaded it.
    let (status, back) = consent(&app, &url, false).await;
    assert_eq!((status, param(&back, "code")), (400, None));

    // A code: wrong verifier, then the right one: both refused, the code died on first use.
    let (status, back) = consent(&app, &url, true).await;
    assert_eq!(status, 303);
    assert_eq!(param(&back, "state"), Some("st-1"));
    assert_eq!(param(&back, "iss"), Some(issuer.as_str()));
    let code = param(&back, "code").unwrap().to_owned();
    let exchange = |code: String, verifier: String, client: String, redirect: &'static str| {
        let app = &app;
        async move {
            token(
                app,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("code_verifier", &verifier),
                    ("client_id", &client),
                    ("redirect_uri", redirect),
                ],
            )
            .await
        }
    };
    let (status, wrong) = exchange(code.clone(), "w".repeat(50), id.clone(), REDIRECT).await;
    assert_eq!(
        (status, wrong["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = exchange(code, verifier.clone(), id.clone(), REDIRECT).await;
    assert_eq!(status, 400, "a code is spent by its first use");

    // A code is bound to its client and its redirect URI.
    let (_, other) = register(&app, "http://127.0.0.1:10/cb").await;
    let other = other["client_id"].as_str().unwrap().to_owned();
    let (_, back) = consent(&app, &url, true).await;
    let code = param(&back, "code").unwrap().to_owned();
    assert_eq!(
        exchange(
            code,
            verifier.clone(),
            other.clone(),
            "http://127.0.0.1:10/cb"
        )
        .await
        .0,
        400
    );
    let (_, back) = consent(&app, &url, true).await;
    let code = param(&back, "code").unwrap().to_owned();
    assert_eq!(
        exchange(
            code,
            verifier.clone(),
            id.clone(),
            "http://127.0.0.1:9/other"
        )
        .await
        .0,
        400
    );

    // And the right exchange works: the token reads through MCP.
    let (_, back) = consent(&app, &url, true).await;
    let code = param(&back, "code").unwrap().to_owned();
    let (status, pair) = exchange(code, verifier, id, REDIRECT).await;
    assert_eq!(status, 200, "{pair}");
    let access = pair["access_token"].as_str().unwrap();
    let listed = Modern::new(&app.mcp_url())
        .token(access)
        .send("tools/list", json!({}))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.raw);

    // `hookd grants` lists it by the client's name; `hookd grants --revoke` shuts it out at once.
    let data = app.dir.path().join("data");
    let grants = std::process::Command::new(common::bin())
        .args(["grants", "--json", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(grants.status.success(), "{grants:?}");
    let listed: Vec<Value> = String::from_utf8_lossy(&grants.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ours = listed
        .iter()
        .find(|g| g["client_name"] == "Tests <b>bold</b>")
        .unwrap_or_else(|| panic!("{listed:?}"));
    let revoke = std::process::Command::new(common::bin())
        .args([
            "grants",
            "--revoke",
            ours["id"].as_str().unwrap(),
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(revoke.status.success(), "{revoke:?}");
    let refused = Modern::new(&app.mcp_url())
        .token(access)
        .send("tools/list", json!({}))
        .await;
    assert_eq!(refused.status, 401, "a revoked grant's token");
    let again = std::process::Command::new(common::bin())
        .args([
            "grants",
            "--revoke",
            ours["id"].as_str().unwrap(),
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "revoking twice says there is no such grant"
    );

    // Registrations are paced: twenty at once, then one a second.
    let mut paced = None;
    for _ in 0..25 {
        let r = no_redirects()
            .post(format!("{}/oauth/register", base(&app)))
            .json(&json!({"redirect_uris": [REDIRECT]}))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            paced = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            break;
        }
    }
    assert_eq!(
        paced.as_deref(),
        Some("1"),
        "a burst of registrations is paced"
    );
    app.stop().await;
}

/// On PostgreSQL, what one instance issued every instance honours.
#[tokio::test]
async fn a_token_issued_by_one_instance_works_on_another() {
    let Some(db) = common::pg::database("a_token_issued_by_one_instance_works_on_another").await
    else {
        return;
    };
    let a = start(Some(&db.url)).await;
    let b = start(Some(&db.url)).await;
    let (_, client) = register(&a, REDIRECT).await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let verifier = "x".repeat(64);
    // Consent on A, exchange on B.
    let (_, back) = consent(
        &a,
        &authorize_url(&a, &id, REDIRECT, &challenge(&verifier)),
        true,
    )
    .await;
    let code = param(&back, "code").unwrap().to_owned();
    let (status, pair) = token(
        &b,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("client_id", &id),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(status, 200, "{pair}");
    let access = pair["access_token"].as_str().unwrap();
    for app in [&a, &b] {
        let listed = Modern::new(&app.mcp_url())
            .token(access)
            .send("tools/list", json!({}))
            .await;
        assert_eq!(listed.status, 200, "{}", listed.raw);
    }
    a.stop().await;
    b.stop().await;
}

/// Serves `documents` (path → JSON) on 127.0.0.1 for as long as the runtime lives: the base URL.
async fn serve_documents(documents: Vec<(&'static str, Value)>) -> String {
    let mut routes = axum::Router::new();
    for (path, doc) in documents {
        routes = routes.route(
            path,
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc) }
            }),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
    base
}

/// A client known by the URL of its metadata document signs in without registering; a document
/// that names another client, is too large, or sits on a private address (without
/// `--allow-private-callbacks`) is refused on hookd's own page.
#[tokio::test]
async fn a_client_id_metadata_document_stands_in_for_registration() {
    let docs = serve_documents(vec![
        (
            "/liar.json",
            json!({"client_id": "https://elsewhere.example/client.json",
            "redirect_uris": [REDIRECT]}),
        ),
        (
            "/huge.json",
            json!({"client_id": "x", "redirect_uris": [REDIRECT],
            "padding": "x".repeat(70_000)}),
        ),
    ])
    .await;
    // A document names its own URL, so it is served once the port is known.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client_id = format!("http://{}/client.json", listener.local_addr().unwrap());
    let doc = json!({"client_id": client_id, "client_name": "Metadata Client",
        "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"});
    let routes = axum::Router::new().route(
        "/client.json",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
    let app = TestApp::start_with(|c| {
        c.mcp_token = Some(Secret::new(OPERATOR));
        c.mcp_authorization_server = Some("self".into());
        c.allow_private_callbacks = true;
    })
    .await;
    let metadata: Value = no_redirects()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            base(&app)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["client_id_metadata_document_supported"], true);

    let verifier = "m".repeat(60);
    let url = authorize_url(&app, &client_id, REDIRECT, &challenge(&verifier));
    let page = no_redirects().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Metadata Client"));
    let (_, back) = consent(&app, &url, true).await;
    let code = param(&back, "code").unwrap().to_owned();
    let (status, pair) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("client_id", &client_id),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(status, 200, "{pair}");

    for (path, why) in [
        ("/liar.json", "names another client_id"),
        ("/huge.json", "larger than"),
        ("/missing.json", "HTTP 404"),
    ] {
        let url = authorize_url(
            &app,
            &format!("{docs}{path}"),
            REDIRECT,
            &challenge(&verifier),
        );
        let refused = no_redirects().get(&url).send().await.unwrap();
        assert_eq!(refused.status(), 400, "{path}");
        assert!(refused.headers().get("location").is_none());
        let text = refused.text().await.unwrap();
        assert!(text.contains(why), "{path}: {text}");
    }
    app.stop().await;

    // Without --allow-private-callbacks, a document on a loopback address is not fetched.
    let app = start(None).await;
    let url = authorize_url(&app, &client_id, REDIRECT, &challenge(&verifier));
    let refused = no_redirects().get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let text = refused.text().await.unwrap();
    assert!(text.contains("https"), "{text}");
    app.stop().await;
}

/// What an unauthenticated client sends the authorization server is bounded: an oversized
/// registration, control characters in a client's name, an oversized `state`, an oversized
/// code or refresh token each get a clear refusal and leave nothing behind.
#[tokio::test]
async fn hostile_values_sent_to_the_authorization_server_are_refused_clearly() {
    let app = start(None).await;
    let huge = no_redirects()
        .post(format!("{}/oauth/register", base(&app)))
        .json(&json!({"redirect_uris": [REDIRECT], "client_name": "x".repeat(20_000)}))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    let many: Vec<String> = (0..11)
        .map(|i| format!("http://127.0.0.1:{i}/cb"))
        .collect();
    let (status, body) = {
        let r = no_redirects()
            .post(format!("{}/oauth/register", base(&app)))
            .json(&json!({"redirect_uris": many}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_redirect_uri"))
    );

    let (status, client) = no_redirects()
        .post(format!("{}/oauth/register", base(&app)))
        .json(&json!({"redirect_uris": [REDIRECT], "client_name": "evil\n\u{1b}[2Jname"}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 201);
    let client: Value = client.json().await.unwrap();
    assert_eq!(
        client["client_name"], "evil[2Jname",
        "control characters dropped"
    );
    let id = client["client_id"].as_str().unwrap();

    let long_state = authorize_url(&app, id, REDIRECT, &challenge(&"s".repeat(50)))
        .replace("state=st-1", &format!("state={}", "a".repeat(2000)));
    let answer = no_redirects().get(long_state).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"].to_str().unwrap();
    assert!(location.contains("error=invalid_request"), "{location}");

    for (grant, field) in [
        ("authorization_code", "code"),
        ("refresh_token", "refresh_token"),
    ] {
        let long = "c".repeat(10_000);
        let (status, body) = token(
            &app,
            &[("grant_type", grant), (field, &long), ("client_id", id)],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{field}"
        );
    }
    let (status, _) = token(&app, &[("grant_type", "password")]).await;
    assert_eq!(status, 400);
    app.stop().await;
}
