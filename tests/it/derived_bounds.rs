//! What one delivery can make hookd write: a body within the size limit derives at most 20 rows
//! with bounded fields, whatever it repeats (an unsigned GitHub push, the default until a secret
//! is set, with thousands of commits each carrying a long `ref` once wrote 80 MiB from 46 KB).

use crate::common;

use common::TestApp;
use common::mcp::{ERAS, call_ok, connect_http};
use serde_json::json;

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| {
            e.metadata()
                .map(|m| {
                    if m.is_dir() {
                        dir_size(&e.path())
                    } else {
                        m.len()
                    }
                })
                .unwrap_or(0)
        })
        .sum()
}

#[tokio::test]
async fn a_push_with_thousands_of_commits_and_a_long_ref_derives_a_bounded_few() {
    let app = TestApp::start().await;
    let data = app.dir.path().join("data");
    let long_ref = format!("refs/heads/{}", "b".repeat(30_000));
    let commits: Vec<_> = (0..30_000)
        .map(|i| json!({"id": format!("{i:x}"), "message": "m"}))
        .collect();
    let body = json!({"ref": long_ref, "repository": {"full_name": "o/r"}, "commits": commits})
        .to_string();
    assert!(
        body.len() < 1 << 20,
        "within the default body limit: {}",
        body.len()
    );
    let before = dir_size(&data);
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", "push"),
    ];
    let r = common::post(
        &common::http(),
        app.webhook,
        "github",
        &headers,
        body.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);

    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let pushes = call_ok(
        &client,
        "get_recent_pushes",
        json!({"repo": "o/r", "limit": 1000}),
    )
    .await;
    let rows = pushes["pushes"].as_array().unwrap();
    assert_eq!(rows.len(), 20, "at most 20 rows from one event");
    for row in rows {
        let branch = row["branch"].as_str().unwrap();
        assert!(
            branch.len() <= 1024 && branch.ends_with('…'),
            "{}",
            branch.len()
        );
    }
    client.cancel().await.unwrap();
    let written = dir_size(&data).saturating_sub(before);
    println!("body {} bytes, data dir grew {written} bytes", body.len());
    assert!(
        written < 8 * body.len() as u64,
        "wrote {written} bytes for a {}-byte body",
        body.len()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_subject_and_summary_are_bounded_whatever_the_payload_says() {
    let app = TestApp::start().await;
    let long = "c".repeat(100_000);
    let body = json!({"id": "evt_long", "type": "invoice.paid",
                      "data": {"object": {"object": "invoice", "id": long, "customer": long}}});
    let headers = [("content-type", "application/json")];
    let r = common::post(
        &common::http(),
        app.webhook,
        "stripe",
        &headers,
        body.to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let client = connect_http(&app.mcp_url(), ERAS[0].clone()).await;
    let event = call_ok(
        &client,
        "get_event_by_id",
        json!({"event_id": r.body["event_id"]}),
    )
    .await;
    for field in ["subject", "summary"] {
        let text = event[field].as_str().unwrap();
        assert!(
            text.len() <= 1024 && text.ends_with('…'),
            "{field}: {}",
            text.len()
        );
    }
    client.cancel().await.unwrap();
    app.stop().await;
}
