//! The dashboard in a real browser: Debian's headless Chromium driven over WebDriver
//! (`chromedriver`, installed by `scripts/test`). A webhook posted while the page is open appears
//! in it without a reload, and an event's page shows its payload. The API's guards are checked
//! over plain HTTP.

use crate::common;

use common::browser::Browser;
use common::{Process, fixture};
use serde_json::{Value, json};

const CONFIG: &str = "[sources.github]\nprovider = \"github\"\nsecret = \"gh-secret\"\n";

pub(crate) fn serve(dir: &std::path::Path) -> Process {
    let config = dir.join("hookd.toml");
    std::fs::write(&config, CONFIG).unwrap();
    Process::serve(&dir.join("data"), &["--config", config.to_str().unwrap()])
}

pub(crate) async fn push(hookd: &Process, delivery: &str) -> i64 {
    let extra = [("x-github-event", "push"), ("x-github-delivery", delivery)];
    let signer = ("github", "gh-secret");
    let body = fixture("github/push.json");
    let r = common::post_signed(hookd.webhook, "github", signer, 0, &extra, body).await;
    assert_eq!(r.status, 200);
    r.body["event_id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_webhook_appears_in_the_open_page_and_its_page_shows_the_payload() {
    let test = "dashboard::a_webhook_appears_in_the_open_page_and_its_page_shows_the_payload";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path());
    let earlier = push(&hookd, "dash-0").await;
    browser
        .open(&format!("http://127.0.0.1:{}/", hookd.mcp.port()))
        .await;
    browser
        .until(&format!(
            "return document.querySelector('tr[data-id=\"{earlier}\"]') !== null"
        ))
        .await;
    browser
        .until("return document.querySelector('#live').textContent === 'live'")
        .await;
    let asks_for_a_token = browser
        .run("return document.querySelector('#token').offsetParent !== null")
        .await;
    assert_eq!(asks_for_a_token, json!(false), "no token is set");
    // A mark on the page: gone if the page reloads.
    browser.run("window.stillTheSamePage = true").await;

    let id = push(&hookd, "dash-1").await;
    let cells = browser
        .until(&format!(
            "const r = document.querySelector('tr[data-id=\"{id}\"]'); \
             return r && Array.from(r.cells).map(c => c.textContent)"
        ))
        .await;
    assert_eq!(cells[1], "github");
    assert_eq!(cells[2], "push");
    assert_eq!(cells[3], "Codertocat/Hello-World");
    assert!(cells[4].as_str().unwrap().contains("pushed 1 commit(s)"));
    assert_eq!(
        browser.run("return window.stillTheSamePage === true").await,
        json!(true)
    );
    let first = browser
        .run("return document.querySelector('#rows tr').dataset.id")
        .await;
    assert_eq!(first, json!(id.to_string()), "newest first");
    let count = browser
        .until("const t = document.querySelector('#count').textContent; return t.startsWith('2 ') && t")
        .await;
    assert_eq!(count, json!("2 shown of 2 in all"), "the live row counted");
    let png = browser.screenshot().await;
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard.png");
    std::fs::write(docs, &png).unwrap();
    assert!(png.starts_with(b"\x89PNG"));

    // GitHub redelivers it: the event's page counts it.
    assert_eq!(push(&hookd, "dash-1").await, id);
    browser
        .run(&format!(
            "document.querySelector('tr[data-id=\"{id}\"]').click()"
        ))
        .await;
    let title = browser
        .until("const t = document.querySelector('#event-title').textContent; return t || null")
        .await;
    assert_eq!(title, json!(format!("#{id} github push")));
    let payload = browser
        .until("const p = document.querySelector('#payload').textContent; return p || null")
        .await;
    assert!(
        payload
            .as_str()
            .unwrap()
            .contains("\"Codertocat/Hello-World\"")
    );
    assert!(payload.as_str().unwrap().contains("\"commits\""));
    let delivery = browser
        .run("return document.querySelector('#event-meta').textContent")
        .await;
    assert!(delivery.as_str().unwrap().contains("dash-1"));
    assert!(
        delivery
            .as_str()
            .unwrap()
            .contains("duplicates seen1subject"),
        "{delivery}"
    );
    // Replay comes first; the payload has a raw view; payload, headers and a curl copy.
    let first = browser
        .run("return !!(document.querySelector('#replay').compareDocumentPosition(document.querySelector('#payload')) & Node.DOCUMENT_POSITION_FOLLOWING)")
        .await;
    assert_eq!(first, json!(true), "Replay above the payload");
    browser.grant("clipboard-read").await;
    browser.grant("clipboard-write").await;
    browser
        .run("document.querySelector('#payload-view').click()")
        .await;
    let raw = browser
        .run("const r = document.querySelector('#payload-raw'); return [r.hidden, document.querySelector('#payload').hidden, r.textContent]")
        .await;
    assert_eq!((&raw[0], &raw[1]), (&json!(false), &json!(true)), "{raw}");
    let raw_text = raw[2].as_str().unwrap().to_owned();
    assert!(
        raw_text.contains("\"full_name\": \"Codertocat/Hello-World\""),
        "{raw_text}"
    );
    assert_eq!(browser.copy("#payload-copy button").await, json!(raw_text));
    let headers = browser.copy("#headers-copy button").await;
    assert!(
        headers.as_str().unwrap().contains("x-github-event: push"),
        "{headers}"
    );
    assert!(
        headers
            .as_str()
            .unwrap()
            .contains("x-hub-signature-256: [redacted]"),
        "{headers}"
    );
    browser
        .run("document.querySelector('#replay input[name=url]').value = 'http://127.0.0.1:9/hook'")
        .await;
    let curl = browser.copy("#curl-copy button").await;
    let curl = curl.as_str().unwrap();
    assert!(
        curl.starts_with("curl -X POST 'http://127.0.0.1:9/hook'"),
        "{curl}"
    );
    assert!(
        curl.contains("-H 'x-github-event: push'") && !curl.contains("redacted"),
        "{curl}"
    );
    assert!(
        curl.contains("--data-binary '{") && curl.contains("Codertocat/Hello-World"),
        "{curl}"
    );
    browser
        .run("document.querySelector('#payload-view').click()")
        .await;
    let commits = browser
        .run("const t = document.querySelector('table.derived[data-kind=\"Pushed commits\"]'); return t && t.textContent")
        .await;
    assert!(
        commits.as_str().unwrap().contains("Codertocat/Hello-World"),
        "the push's derived commit rows: {commits}"
    );
    // The other views render from their API (no deployments or actions in this store).
    browser.run("location.hash = '#/deployments'").await;
    browser
        .until("return document.querySelector('#deployment-list').textContent.includes('No deployments yet')")
        .await;
    // A Vercel deployment (to the preconfigured source, unsigned here) shows on its timeline
    // with its link, and no stray text around it.
    let deploy = fixture("vercel/deployment.succeeded.json");
    let ct = [("content-type", "application/json")];
    let r = common::post(&common::http(), hookd.webhook, "vercel", &ct, deploy).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    browser
        .run("location.hash = '#/events'; location.hash = '#/deployments'")
        .await;
    let line = browser
        .until(
            "const li = document.querySelector('#deployment-list li'); return li && li.textContent",
        )
        .await;
    let line = line.as_str().unwrap();
    assert!(line.contains("ready") && line.ends_with(" open"), "{line}");
    assert!(!line.contains(','), "no stray comma: {line}");
    let href = browser
        .run("return document.querySelector('#deployment-list li a').href")
        .await;
    assert_eq!(
        href,
        json!("https://hello-world-si4ppk5y2-codertocat.vercel.app/")
    );
    browser.run("location.hash = '#/sources'").await;
    let sources = browser
        .until("const t = document.querySelector('#source-rows').textContent; return t.includes('github') && t")
        .await;
    assert!(
        sources.as_str().unwrap().contains("set"),
        "github's secret is set: {sources}"
    );
    // Each source says the URL to give its provider, with a button that copies it.
    let url = format!("http://{}/webhook/github", hookd.webhook);
    let shown = browser
        .run("return document.querySelector('tr[data-source=\"github\"] td.url code').textContent")
        .await;
    assert_eq!(shown, json!(url));
    let reach = browser
        .run("return document.querySelector('#reach').textContent")
        .await;
    assert!(
        reach.as_str().unwrap().contains("--webhook-public-url"),
        "{reach}"
    );
    let copied = browser.copy("tr[data-source=\"github\"] button.copy").await;
    assert_eq!(
        copied,
        json!(url),
        "the copy button put the URL on the clipboard"
    );
    let charted = browser
        .until("const c = document.querySelector('tr[data-source=\"github\"] svg'); return c && c.dataset.total")
        .await;
    assert_eq!(
        charted,
        json!("2"),
        "both pushes in the last 24 hours' chart"
    );
    let _ = browser
        .command(reqwest::Method::DELETE, "", Value::Null)
        .await;
}

#[tokio::test]
async fn the_api_refuses_other_hosts_other_origins_and_missing_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hookd.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let args = ["--config", config.to_str().unwrap(), "--mcp-token", "t0ken"];
    let hookd = Process::serve(&dir.path().join("data"), &args);
    let id = push(&hookd, "guard-1").await;
    let http = common::http();
    let base = format!("http://{}", hookd.mcp);
    // The page itself holds no data and loads without a token; the API does not.
    let page = http.get(&base).send().await.unwrap();
    assert_eq!(page.status(), 200);
    // A strict policy: its own script, style and API only, nothing inline, no frame around it
    // (the browser test above runs the page under it).
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(part), "{policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let events = format!("{base}/api/events");
    assert_eq!(http.get(&events).send().await.unwrap().status(), 401);
    let ok = http.get(&events).bearer_auth("t0ken").send().await.unwrap();
    let rows: Value = ok.json().await.unwrap();
    assert_eq!(rows[0]["id"], id);
    assert!(rows[0].get("payload").is_none(), "lists leave payloads out");
    let rebound = http
        .get(&events)
        .bearer_auth("t0ken")
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);
    let replay = format!("{base}/api/events/{id}/replay");
    let target = json!({"url": format!("http://{}/webhook/github", hookd.webhook)});
    let cross = http
        .post(&replay)
        .bearer_auth("t0ken")
        .header("origin", "http://attacker.example")
        .json(&target)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let form = http
        .post(&replay)
        .bearer_auth("t0ken")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("url=http://x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 403);
    let own = http
        .post(&replay)
        .bearer_auth("t0ken")
        .header("origin", &base)
        .json(&target)
        .send()
        .await
        .unwrap();
    let answer: Value = own.json().await.unwrap();
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["signed"], true);
    assert!(
        answer["answer"]
            .as_str()
            .unwrap()
            .contains("\"duplicate\":true")
    );
    // A URL beyond 2,048 bytes, or not http(s), is refused before anything is sent.
    for (url, said) in [
        (
            format!("http://127.0.0.1/{}", "a".repeat(4096)),
            "longer than 2048",
        ),
        ("javascript:alert(1)".to_owned(), "must be http(s)"),
    ] {
        let refused = http
            .post(&replay)
            .bearer_auth("t0ken")
            .header("origin", &base)
            .json(&json!({ "url": url }))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400);
        let body: Value = refused.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains(said), "{body}");
    }
}

#[tokio::test]
async fn stripe_actions_and_deployments_have_their_views() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hookd.toml");
    let toml = "[sources.stripe]\nprovider = \"stripe\"\nsecret = \"whsec_s\"\n\
                [sources.vercel]\nprovider = \"vercel\"\nsecret = \"vc\"\n";
    std::fs::write(&config, toml).unwrap();
    let hookd = Process::serve(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let now = chrono::Utc::now().timestamp();
    let checkout = fixture("stripe/checkout.session.completed.json");
    let r = common::post_signed(
        hookd.webhook,
        "stripe",
        ("stripe", "whsec_s"),
        now,
        &[],
        checkout,
    )
    .await;
    assert_eq!(r.status, 200);
    let deploy = fixture("vercel/deployment.succeeded.json");
    let r = common::post_signed(hookd.webhook, "vercel", ("vercel", "vc"), now, &[], deploy).await;
    assert_eq!(r.status, 200);
    let http = common::http();
    let get = |path: &str| http.get(format!("http://{}{path}", hookd.mcp)).send();
    let actions: Value = get("/api/actions").await.unwrap().json().await.unwrap();
    assert_eq!(actions[0]["type"], "send_welcome_email", "{actions}");
    assert_eq!(
        actions[0]["fields"]["customer_email"],
        "jenny.rosen@example.com"
    );
    let hourly: Value = get("/api/sources/hourly")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stripe: Vec<i64> = serde_json::from_value(hourly["stripe"].clone()).unwrap();
    assert_eq!(
        (stripe.len(), stripe.iter().sum::<i64>(), stripe[23]),
        (24, 1, 1),
        "{hourly}"
    );
    let deployments: Value = get("/api/deployments").await.unwrap().json().await.unwrap();
    assert_eq!(
        (
            deployments[0]["project"].as_str(),
            deployments[0]["state"].as_str()
        ),
        (Some("hello-world"), Some("ready"))
    );
    // Each event's page lists the rows derived from it, and only those.
    let page = |id: &Value| get(&format!("/api/events/{id}"));
    let checkout: Value = page(&actions[0]["event_id"])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let derived = &checkout["derived"];
    assert_eq!(
        derived["actions"][0]["type"], "send_welcome_email",
        "{derived}"
    );
    assert_eq!(derived["actions"][0]["status"], "pending");
    assert_eq!(derived["deployments"], json!([]));
    let events: Value = get("/api/events?source=vercel")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let vercel: Value = page(&events[0]["id"]).await.unwrap().json().await.unwrap();
    assert_eq!(
        vercel["derived"]["deployments"][0]["state"], "ready",
        "{vercel}"
    );
    assert_eq!(vercel["derived"]["actions"], json!([]));
    assert!(vercel.get("duplicates").is_none(), "left out when none");
}

/// The list shows no payloads, so it is bounded by what it shows: one large event does not push
/// the others out of the default view; and the answer says when more events match than it holds.
#[tokio::test]
async fn the_list_is_bounded_by_what_it_shows_and_says_when_more_exist() {
    let app = common::TestApp::start_with(|c| c.limits.max_answer_bytes = 64 << 10).await;
    let http = common::http();
    let json = [("content-type", "application/json")];
    for n in 0..10 {
        let r = common::post(&http, app.webhook, "ci", &json, json!({"n": n}).to_string()).await;
        assert_eq!(r.status, 200);
    }
    let large = json!({"blob": "x".repeat(200 << 10)}).to_string();
    let r = common::post(&http, app.webhook, "ci", &json, large).await;
    assert_eq!(r.status, 200);

    let list = |query: &'static str| {
        let http = http.clone();
        let url = format!("http://{}/api/events{query}", app.mcp);
        async move { http.get(url).send().await.unwrap() }
    };
    let all = list("").await;
    assert_eq!(all.status(), 200);
    assert!(all.headers().get("x-hookd-more").is_none(), "all shown");
    let rows: Vec<Value> = all.json().await.unwrap();
    assert_eq!(rows.len(), 11, "the large event and every other: {rows:?}");
    assert!(rows.iter().all(|r| r.get("payload").is_none()));

    let some = list("?limit=4").await;
    assert_eq!(some.headers()["x-hookd-more"], "true", "7 more match");
    let rows: Vec<Value> = some.json().await.unwrap();
    assert_eq!(rows.len(), 4);
    let exact = list("?limit=11").await;
    assert!(exact.headers().get("x-hookd-more").is_none(), "none more");
    assert_eq!(exact.headers()["x-hookd-total"], "11");
    // The next page back: older than the last row shown, the total unchanged.
    let last = rows[3]["id"].as_i64().unwrap();
    let older = http
        .get(format!(
            "http://{}/api/events?limit=4&before={last}",
            app.mcp
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(older.headers()["x-hookd-total"], "11");
    let older: Vec<Value> = older.json().await.unwrap();
    assert_eq!(older.len(), 4);
    assert!(older.iter().all(|r| r["id"].as_i64().unwrap() < last));
    app.stop().await;
}

/// A view is its URL: filters read from the address, a total, and paging back through every
/// event and forward to the newest again, each page's address shareable.
#[tokio::test]
async fn the_list_pages_back_with_its_filters_in_the_url() {
    let test = "dashboard::the_list_pages_back_with_its_filters_in_the_url";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path());
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(push(&hookd, &format!("page-{n}")).await);
    }
    let json_ct = [("content-type", "application/json")];
    let r = common::post(
        &common::http(),
        hookd.webhook,
        "other",
        &json_ct,
        "{\"a\":1}",
    )
    .await;
    assert_eq!(r.status, 200);
    let home = format!("http://127.0.0.1:{}/", hookd.mcp.port());
    browser
        .open(&format!("{home}#/?source=github&limit=2"))
        .await;
    let shown =
        "return [...document.querySelectorAll('#rows tr')].map((r) => Number(r.dataset.id))";
    let first = browser
        .until(&format!(
            "const ids = (() => {{ {shown} }})(); return ids.length === 2 && ids"
        ))
        .await;
    assert_eq!(first, json!([ids[4], ids[3]]), "the newest two of github's");
    let form = browser
        .run("return document.querySelector('#filters').source.value")
        .await;
    assert_eq!(form, json!("github"), "the filter read from the address");
    let count = browser
        .until("const t = document.querySelector('#count').textContent; return t || null")
        .await;
    assert_eq!(count, json!("2 shown of 5 matching"));
    browser
        .run("document.querySelector('#older').click()")
        .await;
    let second = browser
        .until(&format!(
            "const ids = (() => {{ {shown} }})(); return ids[0] === {} && ids",
            ids[2]
        ))
        .await;
    assert_eq!(second, json!([ids[2], ids[1]]));
    let address = browser.run("return location.hash").await;
    assert_eq!(
        address,
        json!(format!("#/?source=github&before={}&limit=2", ids[3]))
    );
    browser
        .run("document.querySelector('#older').click()")
        .await;
    let third = browser
        .until(&format!(
            "const ids = (() => {{ {shown} }})(); return ids[0] === {} && ids",
            ids[0]
        ))
        .await;
    assert_eq!(third, json!([ids[0]]), "the oldest, alone");
    assert_eq!(
        browser
            .run("return document.querySelector('#older').hidden")
            .await,
        json!(true),
        "nothing older"
    );
    browser
        .run("document.querySelector('#newest').click()")
        .await;
    browser
        .until(&format!(
            "const ids = (() => {{ {shown} }})(); return ids[0] === {}",
            ids[4]
        ))
        .await;
    // A filter typed in the form goes to the address; one that matches nothing says so.
    browser
        .run("const f = document.querySelector('#filters'); f.type.value = 'nothing-like-this'; f.requestSubmit()")
        .await;
    let empty = browser
        .until("const e = document.querySelector('#empty'); return !e.hidden && e.textContent")
        .await;
    assert_eq!(empty, json!("No events match. Show all events"));
    let address = browser.run("return location.hash").await;
    assert_eq!(
        address,
        json!("#/?source=github&type=nothing-like-this&limit=2")
    );
}

/// The time range and verified-or-not filters, read from the address (a shared view) and written
/// to it from the form.
#[tokio::test]
async fn the_list_filters_by_time_and_by_verified_from_the_url() {
    let test = "dashboard::the_list_filters_by_time_and_by_verified_from_the_url";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path());
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(push(&hookd, &format!("time-{n}")).await);
    }
    let json_ct = [("content-type", "application/json")];
    let body = "{\"a\":1}";
    let r = common::post(&common::http(), hookd.webhook, "other", &json_ct, body).await;
    assert_eq!(r.status, 200);
    let unsigned = r.body["event_id"].as_i64().unwrap();
    let home = format!("http://127.0.0.1:{}/", hookd.mcp.port());
    let listed: Value = common::http()
        .get(format!("{home}api/events"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let at = |id: i64| {
        let row = listed.as_array().unwrap().iter().find(|e| e["id"] == id);
        row.unwrap()["received_at"].as_str().unwrap().to_owned()
    };
    let shown =
        "const ids = [...document.querySelectorAll('#rows tr')].map((r) => Number(r.dataset.id))";
    // The rows once they are `wanted` (a view changed in place shows the old rows a moment).
    let rows = |wanted: Value| {
        format!(
            "{shown}; return JSON.stringify(ids) === '{wanted}' && document.querySelector('#empty').hidden === ({} > 0)",
            wanted.as_array().unwrap().len()
        )
    };
    let q = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();

    browser.open(&format!("{home}#/?verified=false")).await;
    browser.until(&rows(json!([unsigned]))).await;
    let chosen = browser
        .run("return document.querySelector('#filters').verified.value")
        .await;
    assert_eq!(chosen, "false");

    // Strictly between the first event's time and the third's: the second alone, counted.
    let between = format!("#/?since={}&until={}", q(&at(ids[0])), q(&at(ids[2])));
    browser.open(&format!("{home}{between}")).await;
    browser.until(&rows(json!([ids[1]]))).await;
    let count = browser
        .until("const t = document.querySelector('#count').textContent; return t || null")
        .await;
    assert_eq!(count, "1 shown of 1 matching");
    let from = browser
        .run("return document.querySelector('#filters').since.value")
        .await;
    assert!(
        from.as_str().is_some_and(|v| v.len() == 19),
        "the from field shows the time: {from}"
    );

    // Before the second: the first alone.
    browser
        .open(&format!("{home}#/?until={}", q(&at(ids[1]))))
        .await;
    browser.until(&rows(json!([ids[0]]))).await;

    // Chosen in the form, it goes to the address.
    browser.open(&format!("{home}#/")).await;
    browser
        .until(&rows(json!([unsigned, ids[2], ids[1], ids[0]])))
        .await;
    browser
        .run("const f = document.querySelector('#filters'); f.verified.value = 'true'; f.requestSubmit()")
        .await;
    browser.until(&rows(json!([ids[2], ids[1], ids[0]]))).await;
    assert_eq!(
        browser.run("return location.hash").await,
        "#/?verified=true"
    );

    // A time the API cannot read is refused, saying what it wants.
    let bad = common::http()
        .get(format!("{home}api/events?since=yesterday"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let said: Value = bad.json().await.unwrap();
    assert!(
        said["error"].as_str().unwrap().contains("RFC 3339"),
        "{said}"
    );
    // And so are a verified that is neither true nor false, and a time of control characters
    // or of a year no calendar holds; the live stream refuses them the same way.
    for (query, expected) in [
        ("verified=maybe", "true or false"),
        ("until=%00%01%1b", "RFC 3339"),
        ("since=999999-01-01T00:00:00Z", "RFC 3339"),
    ] {
        for path in ["api/events", "api/stream"] {
            let bad = common::http()
                .get(format!("{home}{path}?{query}"))
                .send()
                .await
                .unwrap();
            assert_eq!(bad.status(), 400, "{path}?{query}");
            let said: Value = bad.json().await.unwrap();
            assert!(said["error"].as_str().unwrap().contains(expected), "{said}");
        }
    }
}

/// With hookd as its own authorization server, the dashboard signs in through it (no token
/// pasted): the consent page, back to the dashboard with the events, the code gone from the
/// address bar; an access token that stops working is refreshed without asking again.
#[tokio::test]
async fn with_oauth_on_the_dashboard_signs_in_through_hookd_and_refreshes() {
    let test = "dashboard::with_oauth_on_the_dashboard_signs_in_through_hookd_and_refreshes";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hookd.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let hookd = Process::serve(
        &dir.path().join("data"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--mcp-token",
            "operator-secret-dash",
            "--mcp-authorization-server",
            "self",
        ],
    );
    let id = push(&hookd, "signin-0").await;
    let home = format!("http://127.0.0.1:{}/", hookd.mcp.port());
    browser.open(&home).await;
    browser
        .until("const b = document.querySelector('#signin'); return b !== null && !b.hidden")
        .await;
    browser
        .run("document.querySelector('#signin').click()")
        .await;
    browser
        .until(
            "return location.pathname === '/oauth/authorize' \
             && document.querySelector('input[name=secret]') !== null",
        )
        .await;
    let named = browser
        .run("return document.querySelector('h1').textContent")
        .await;
    assert!(
        named.as_str().unwrap().contains("hookd's dashboard"),
        "{named}"
    );
    browser
        .run(
            "document.querySelector('input[name=secret]').value = 'operator-secret-dash'; \
             document.querySelector('button[value=allow]').click()",
        )
        .await;
    browser
        .until(&format!(
            "return document.querySelector('tr[data-id=\"{id}\"]') !== null"
        ))
        .await;
    assert_eq!(browser.run("return location.search").await, json!(""));
    let first = browser
        .run("return sessionStorage.getItem('hookd-token')")
        .await;
    let first = first.as_str().unwrap().to_owned();

    // The access token stops working (revoked, as when it expires): the page refreshes it.
    let revoked = common::http()
        .post(format!("{home}oauth/revoke"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    browser.run("location.hash = '#/sources'").await;
    browser
        .until(&format!(
            "const t = sessionStorage.getItem('hookd-token'); \
             return t !== null && t !== '{first}' && document.querySelector('#sources').hidden === false"
        ))
        .await;
    let asks = browser
        .run("return document.querySelector('#token').hidden")
        .await;
    assert_eq!(asks, json!(true), "no token was asked for");

    // The Access tab lists the dashboard's own grant; revoking it signs the page out.
    browser.run("location.hash = '#/access'").await;
    let listed = browser
        .until(
            "const r = document.querySelector('#grant-rows tr[data-grant]');              return r && r.cells[0].textContent",
        )
        .await;
    assert_eq!(listed, json!("hookd's dashboard"));
    browser
        .run("document.querySelector('#grant-rows button').click()")
        .await;
    browser
        .until("const b = document.querySelector('#signin'); return b !== null && !b.hidden")
        .await;
    let grants = common::http()
        .get(format!("{home}api/grants"))
        .bearer_auth("operator-secret-dash")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(grants, json!([]), "the grant is gone");
}

/// With an identity provider and `--dashboard-client-id`, the dashboard signs in there: a real
/// OpenID provider's login and consent pages, back to the dashboard with a JWT for hookd's
/// resource and the events; an access token that stops working is refreshed at the provider.
#[tokio::test]
async fn with_an_identity_provider_the_dashboard_signs_in_there_and_refreshes() {
    let test = "dashboard::with_an_identity_provider_the_dashboard_signs_in_there_and_refreshes";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let Some(provider) = crate::oauth_idp::Provider::start(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hookd.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let hookd = Process::serve(
        &dir.path().join("data"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--mcp-authorization-server",
            &provider.issuer,
            "--dashboard-client-id",
            "hookd-dashboard",
        ],
    );
    let id = push(&hookd, "idp-signin-0").await;
    let home = format!("http://127.0.0.1:{}/", hookd.mcp.port());
    browser.open(&home).await;
    let button = browser
        .until(
            "const b = document.querySelector('#signin'); \
             return b !== null && !b.hidden && b.textContent",
        )
        .await;
    assert_eq!(button, json!("Sign in with 127.0.0.1"));
    assert_eq!(
        browser
            .run("return document.querySelector('#access-tab').hidden")
            .await,
        json!(true),
        "the grants are the provider's, not hookd's"
    );
    browser
        .run("document.querySelector('#signin').click()")
        .await;
    let provider_origin = json!(provider.issuer);
    browser
        .until("return document.querySelector('input[name=login]') !== null")
        .await;
    assert_eq!(browser.run("return location.origin").await, provider_origin);
    browser
        .run(
            "document.querySelector('input[name=login]').value = 'ada'; \
             document.querySelector('input[name=password]').value = 'any'; \
             document.querySelector('button[type=submit]').click()",
        )
        .await;
    browser
        .until("return document.querySelector('input[name=prompt][value=consent]') !== null")
        .await;
    browser
        .run("document.querySelector('button[type=submit]').click()")
        .await;
    browser
        .until(&format!(
            "return document.querySelector('tr[data-id=\"{id}\"]') !== null"
        ))
        .await;
    assert_eq!(browser.run("return location.search").await, json!(""));
    let first = browser
        .run("return sessionStorage.getItem('hookd-token')")
        .await;
    let first = first.as_str().unwrap().to_owned();
    let claims = first.split('.').nth(1).expect("a JWT");
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], provider_origin);
    assert_eq!(claims["sub"], "ada");
    assert_eq!(claims["aud"], format!("{home}mcp"));

    // The access token stops working: the page refreshes it at the provider, asking nothing.
    browser
        .run("sessionStorage.setItem('hookd-token', 'expired'); location.hash = '#/sources'")
        .await;
    browser
        .until(
            "const t = sessionStorage.getItem('hookd-token'); \
             return t !== 'expired' && t.split('.').length === 3 \
                 && document.querySelector('#sources').hidden === false",
        )
        .await;
    let asks = browser
        .run("return document.querySelector('#token').hidden")
        .await;
    assert_eq!(asks, json!(true), "no token was asked for");
}

/// The Triggers tab: each trigger with its runs by status, the runs with their output, and Retry
/// on a dead run running it again.
#[tokio::test]
async fn the_triggers_tab_shows_runs_and_retries_a_dead_one() {
    let test = "dashboard::the_triggers_tab_shows_runs_and_retries_a_dead_one";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let config = dir.path().join("hookd.toml");
    let script = "echo checked $HOOKD_EVENT_IDS; [ -e \\\"$OUT/ok\\\" ] || exit 7";
    std::fs::write(
        &config,
        format!(
            "{CONFIG}\n[[triggers]]\nname = \"check\"\nsource = \"github\"\nretries = []\n\
             run = [\"sh\", \"-c\", \"{script}\"]\nenv = {{ OUT = \"{out}\" }}\n"
        ),
    )
    .unwrap();
    let hookd = Process::serve(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let id = push(&hookd, "trigger-0").await;
    let home = format!("http://127.0.0.1:{}/", hookd.mcp.port());
    browser.open(&format!("{home}#/triggers")).await;
    let does = browser
        .until(
            "const r = document.querySelector('#trigger-rows tr[data-trigger=\"check\"]'); \
             return r && r.cells[2].textContent === '1 dead' && r.cells[1].textContent",
        )
        .await;
    assert!(
        does.as_str().unwrap().starts_with("run sh -c echo checked"),
        "{does}"
    );
    let row = browser
        .until(
            "const r = document.querySelector('#run-rows tr'); \
             return r && [r.cells[3].textContent, r.cells[4].textContent, r.cells[6].textContent, \
                          r.querySelector('pre').textContent]",
        )
        .await;
    assert_eq!(row[0], "dead");
    assert_eq!(row[1], format!("#{id}"));
    assert!(row[2].as_str().unwrap().starts_with("exit 7"), "{row}");
    assert_eq!(row[3], format!("checked {id}\n"));
    assert_eq!(
        browser
            .run("return document.querySelector('#triggers-tab').hidden")
            .await,
        json!(false)
    );
    std::fs::write(dir.path().join("ok"), "").unwrap();
    browser
        .run("document.querySelector('#run-rows button[data-retry]').click()")
        .await;
    // The run goes again within the trigger's next look (every 5 s); the open tab follows.
    let status = browser
        .until(
            "const r = document.querySelector('#run-rows tr'); \
             return r && r.cells[3].textContent === 'succeeded' && r.cells[5].textContent",
        )
        .await;
    assert_eq!(status, json!("2"), "a second attempt");
}

/// On a wide window an event opens beside the list, which keeps its page and marks the row; at
/// 800 px and on a phone no view scrolls sideways.
#[tokio::test]
async fn an_event_opens_beside_the_list_and_nothing_scrolls_sideways_when_narrow() {
    let test = "dashboard::an_event_opens_beside_the_list_and_nothing_scrolls_sideways_when_narrow";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path());
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(push(&hookd, &format!("split-{n}")).await);
    }
    let home = format!("http://127.0.0.1:{}/", hookd.mcp.port());
    browser.resize(1400, 900).await;
    browser
        .open(&format!("{home}#/?limit=2&before={}", ids[2]))
        .await;
    browser
        .until(&format!(
            "return document.querySelector('#rows tr[data-id=\"{}\"]') !== null",
            ids[0]
        ))
        .await;
    browser
        .run(&format!(
            "document.querySelector('#rows tr[data-id=\"{}\"]').click()",
            ids[1]
        ))
        .await;
    browser
        .until("const t = document.querySelector('#event-title').textContent; return t || null")
        .await;
    let both = browser
        .run(&format!(
            "return [document.querySelector('#events').hidden, document.querySelector('#event').hidden,
                     document.querySelector('main').classList.contains('split'),
                     document.querySelector('#rows tr[data-id=\"{}\"]').classList.contains('on'),
                     document.querySelectorAll('#rows tr').length]",
            ids[1]
        ))
        .await;
    assert_eq!(
        both,
        json!([false, false, true, true, 2]),
        "side by side, the page kept"
    );
    let sideways =
        "return document.documentElement.scrollWidth > document.documentElement.clientWidth";
    for width in [800, 390] {
        browser.resize(width, 900).await;
        for view in ["#/", "#/sources", &format!("#/event/{}", ids[1])] {
            browser.run(&format!("location.hash = '{view}'")).await;
            browser
                .until("return document.querySelector('main > section:not([hidden])') !== null")
                .await;
            let wide = "const w = document.documentElement.clientWidth;
                return [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > w + 1)
                  .slice(0, 5).map((e) => e.tagName + '.' + e.className + '#' + e.id);";
            assert_eq!(
                browser.run(sideways).await,
                json!(false),
                "{view} at {width} px scrolls sideways: {}",
                browser.run(wide).await
            );
        }
        assert_eq!(
            browser
                .run("return document.querySelector('main').classList.contains('split')")
                .await,
            json!(false),
            "one view at a time when narrow"
        );
    } // Views with nothing in them say why, and what would fill them.
    for (view, rows, says) in [
        ("#/rejected", "rejected-rows", "No delivery was refused"),
        ("#/consumers", "consumer-rows", "No consumer yet"),
        ("#/actions", "action-rows", "No pending action"),
    ] {
        browser.run(&format!("location.hash = '{view}'")).await;
        let note = browser
            .until(&format!(
                "const n = document.querySelector('.empty-note[data-for=\"{rows}\"]'); return n && !n.hidden && n.textContent"
            ))
            .await;
        assert!(note.as_str().unwrap().starts_with(says), "{view}: {note}");
    }
}
