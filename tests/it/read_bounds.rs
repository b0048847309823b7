//! Reads stay bounded at any size of store: a `where` or a filtered search that matches little
//! examines a bounded number of events, says where it stopped, and the model goes on from there
//! until it finds what it asked for.

use crate::common::{self, TestApp, mcp};

use hookd::store::{BACKLOG_COUNT, SEARCH_SCAN, WHERE_SCAN};
use rmcp::model::ProtocolVersion;
use serde_json::{Value, json};

/// Appends `n` events of `source` with `payload`, many at a time (group commit).
async fn append_many(app: &TestApp, n: usize, source: &str, payload: Value) {
    let mut left = n;
    while left > 0 {
        let now = left.min(500);
        let appends = (0..now).map(|_| {
            app.store()
                .append(common::new_event(source, None, payload.clone()))
        });
        for a in futures_util::future::join_all(appends).await {
            a.unwrap();
        }
        left -= now;
    }
}

/// The id a note tells the model to go on from (`before_id=N`).
fn before_id(note: &Value) -> i64 {
    let note = note.as_str().expect("a note says where the read stopped");
    let at = note.find("before_id=").expect(note) + "before_id=".len();
    note[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn reads_that_match_little_stop_at_their_bound_and_go_on_from_where_they_stopped() {
    let app = TestApp::start().await;
    let needle = app
        .store()
        .append(common::new_event(
            "rare",
            None,
            json!({"kind": "needle", "text": "common word"}),
        ))
        .await
        .unwrap()
        .id;
    let hay = SEARCH_SCAN + 10;
    append_many(
        &app,
        hay,
        "busy",
        json!({"kind": "hay", "text": "common word"}),
    )
    .await;
    let pin = app
        .store()
        .append(common::new_event("busy", None, json!({"kind": "pin"})))
        .await
        .unwrap()
        .id;
    let client = mcp::connect_http(&app.mcp_url(), ProtocolVersion::V_2026_07_28).await;

    // Newest first: each call examines WHERE_SCAN events and says where to go on.
    let mut args = json!({"where": {"payload.kind": "needle"}});
    let mut calls = 0;
    let found = loop {
        calls += 1;
        let answer = mcp::call_ok(&client, "get_recent_events", args.clone()).await;
        if let Some(first) = answer["events"].as_array().and_then(|e| e.first()) {
            break first["id"].as_i64().unwrap();
        }
        let next = before_id(&answer["note"]);
        let previous = args["before_id"].as_i64().unwrap_or(pin + 1);
        assert_eq!(
            previous - next,
            WHERE_SCAN as i64,
            "each call examines exactly the bound: {answer}"
        );
        args["before_id"] = next.into();
        assert!(calls <= hay / WHERE_SCAN + 1, "the calls reach the end");
    };
    assert_eq!(found, needle);

    // A search whose filter passes none of the newest matches stops after SEARCH_SCAN of them.
    let answer = mcp::call_ok(
        &client,
        "search_events",
        json!({"query": "common", "source": "rare"}),
    )
    .await;
    assert_eq!(answer["hits"], json!([]), "{answer}");
    let next = before_id(&answer["note"]);
    assert_eq!(next, pin - SEARCH_SCAN as i64, "{answer}");
    let answer = mcp::call_ok(
        &client,
        "search_events",
        json!({"query": "common", "source": "rare", "before_id": next}),
    )
    .await;
    assert_eq!(answer["hits"][0]["id"], needle, "{answer}");
    assert!(answer.get("note").is_none(), "nothing left to examine");

    // A consumer: ack_up_to moves past what was examined, so no event is examined twice.
    let mut examined_to = 0;
    let got = loop {
        let answer = mcp::call_ok(
            &client,
            "next_events",
            json!({"consumer": "c", "where": {"payload.kind": "pin"}, "wait_seconds": 5}),
        )
        .await;
        let ack = answer["ack_up_to"].as_i64().unwrap();
        if let Some(event) = answer["events"].as_array().and_then(|e| e.first()) {
            break event["id"].as_i64().unwrap();
        }
        assert_eq!(ack, examined_to + WHERE_SCAN as i64, "{answer}");
        examined_to = ack;
        mcp::call_ok(
            &client,
            "ack_events",
            json!({"consumer": "c", "up_to_id": ack}),
        )
        .await;
    };
    assert_eq!(got, pin);

    // A consumer far behind: its backlog is counted up to a bound, then estimated from the ids.
    mcp::call_ok(
        &client,
        "ack_events",
        json!({"consumer": "far", "up_to_id": 1}),
    )
    .await;
    mcp::call_ok(
        &client,
        "ack_events",
        json!({"consumer": "near", "up_to_id": pin - 3}),
    )
    .await;
    let list = mcp::call_ok(&client, "list_consumers", json!({})).await;
    let consumer = |name: &str| {
        list["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap()
    };
    assert!(pin - 1 > BACKLOG_COUNT);
    assert_eq!(consumer("far")["backlog"], pin - 1, "{list}");
    assert_eq!(consumer("far")["backlog_estimated"], true, "{list}");
    assert_eq!(consumer("near")["backlog"], 3, "{list}");
    assert!(
        consumer("near").get("backlog_estimated").is_none(),
        "{list}"
    );
    app.stop().await;
}
