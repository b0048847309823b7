//! Tasks (SEP-2663) for hookd's waits, on the wire of a client of the current protocol: a wait
//! becomes a task only when the request declares the extension; the task is in the store before
//! its handle is answered, completes when its event commits (after a restart too, on SQLite and
//! on PostgreSQL), can be cancelled, is bound to its credential, and is capped per credential.

use crate::common;

use std::time::Duration;

use common::TestApp;
use common::modern::Modern;
use hookd::config::Config;
use hookd::secret::Secret;
use serde_json::{Value, json};

const TOKEN: &str = "tasks-token";

fn with_token(c: &mut Config) {
    c.mcp_token = Some(Secret::new(TOKEN));
}

async fn post(app: &TestApp, source: &str, body: Value) -> i64 {
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", "push"),
    ];
    let r = common::post(
        &common::http(),
        app.webhook,
        source,
        &headers,
        body.to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["event_id"].as_i64().unwrap()
}

/// Polls `tasks/get` (as the extension has clients do) until the task is no longer working.
async fn ended(client: &Modern, id: &str) -> Value {
    let poll = async {
        loop {
            let task = client.ok("tasks/get", json!({"taskId": id})).await;
            if task["status"] != "working" {
                return task;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), poll)
        .await
        .unwrap_or_else(|_| panic!("task {id} never ended"))
}

/// Starts `wait_for_event` as a task and checks the handle's shape.
async fn wait_task(client: &Modern, arguments: Value) -> String {
    let handle = client.call("wait_for_event", arguments).await;
    assert_eq!(handle["resultType"], "task", "{handle}");
    assert_eq!(handle["status"], "working", "{handle}");
    for field in ["createdAt", "lastUpdatedAt"] {
        let at = handle[field].as_str().unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok(),
            "{field}: {handle}"
        );
    }
    assert!(handle["ttlMs"].as_u64().is_some_and(|t| t > 0), "{handle}");
    assert!(
        handle["pollIntervalMs"].as_u64().is_some_and(|t| t > 0),
        "{handle}"
    );
    let id = handle["taskId"].as_str().unwrap().to_owned();
    assert!(id.len() >= 32, "an unguessable id: {id}");
    id
}

#[tokio::test]
async fn a_wait_becomes_a_task_only_when_the_request_declares_the_extension() {
    let app = TestApp::start().await;
    let plain = Modern::new(&app.mcp_url());
    let waited = plain
        .call(
            "wait_for_event",
            json!({"source": "gh", "timeout_seconds": 0.05}),
        )
        .await;
    assert_eq!(waited["resultType"], "complete", "{waited}");
    assert!(waited.get("taskId").is_none(), "{waited}");
    assert_eq!(waited["structuredContent"]["timed_out"], true, "{waited}");
    let long = plain
        .call("wait_for_event", json!({"timeout_seconds": 301}))
        .await;
    let said = long["content"][0]["text"].as_str().unwrap_or_default();
    assert!(
        long["isError"] == true && said.contains("as a task"),
        "{long}"
    );
    let refused = plain.send("tasks/get", json!({"taskId": "x"})).await;
    assert_eq!(refused.error_code(), Some(-32021), "{}", refused.raw);

    let client = Modern::new(&app.mcp_url()).with_tasks();
    let discovered = client.ok("server/discover", json!({})).await;
    let extensions = &discovered["capabilities"]["extensions"];
    assert!(
        extensions["io.modelcontextprotocol/tasks"].is_object(),
        "{discovered}"
    );

    let id = wait_task(&client, json!({"source": "gh"})).await;
    // In the store before the handle was answered: found at once, still working.
    let working = client.ok("tasks/get", json!({"taskId": id})).await;
    assert_eq!(
        (working["status"].as_str(), working["resultType"].as_str()),
        (Some("working"), Some("complete"))
    );
    assert!(working.get("result").is_none(), "{working}");

    post(&app, "other", json!({"n": 0})).await;
    let event = post(&app, "gh", json!({"n": 1})).await;
    let done = ended(&client, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    let result = &done["result"];
    assert_eq!(result["structuredContent"]["event"]["id"], event, "{done}");
    assert_eq!(result["structuredContent"]["timed_out"], false, "{done}");
    // The same result a plain call gives: text twin and structured content agree.
    let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, result["structuredContent"], "{done}");

    // A bad argument is the tool's error at once, with no task.
    let bad = client
        .call("wait_for_event", json!({"timeout_seconds": 100000}))
        .await;
    assert_eq!(
        (bad["isError"].as_bool(), bad.get("taskId")),
        (Some(true), None),
        "{bad}"
    );
    // Tools that do not wait never become tasks.
    let listed = client.call("get_event_sources", json!({})).await;
    assert_eq!(listed["resultType"], "complete", "{listed}");
    app.stop().await;
}

#[tokio::test]
async fn a_task_can_be_cancelled_and_its_wait_times_out_with_the_tools_answer() {
    let app = TestApp::start().await;
    let client = Modern::new(&app.mcp_url()).with_tasks();
    let id = wait_task(&client, json!({"source": "gh"})).await;
    let ack = client.ok("tasks/cancel", json!({"taskId": id})).await;
    assert_eq!(ack, json!({"resultType": "complete"}));
    post(&app, "gh", json!({"after": "cancel"})).await;
    let task = client.ok("tasks/get", json!({"taskId": id})).await;
    assert_eq!(task["status"], "cancelled", "{task}");
    assert!(task.get("result").is_none(), "{task}");
    let again = client.ok("tasks/cancel", json!({"taskId": id})).await;
    assert_eq!(
        again,
        json!({"resultType": "complete"}),
        "cancelling twice is no error"
    );

    let short = wait_task(&client, json!({"source": "nobody", "timeout_seconds": 0.2})).await;
    let done = ended(&client, &short).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["result"]["structuredContent"],
        json!({"timed_out": true})
    );

    for unknown in ["0123456789abcdef0123456789abcdef", ""] {
        for method in ["tasks/get", "tasks/cancel", "tasks/update"] {
            let a = client
                .send(method, json!({"taskId": unknown, "inputResponses": {}}))
                .await;
            assert_eq!(
                a.error_code(),
                Some(-32602),
                "{method} {unknown:?}: {}",
                a.raw
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_task_belongs_to_its_credential_and_each_credential_has_a_cap() {
    let app = TestApp::start_with(|c| {
        with_token(c);
        c.limits.max_open_tasks = 2;
    })
    .await;
    let client = Modern::new(&app.mcp_url()).with_tasks().token(TOKEN);
    let first = wait_task(&client, json!({"source": "a"})).await;
    wait_task(&client, json!({"source": "b"})).await;
    let third = client
        .send(
            "tools/call",
            json!({"name": "wait_for_event", "arguments": {"source": "c"}}),
        )
        .await;
    assert_eq!(third.error_code(), Some(-32600), "{}", third.raw);
    let message = third.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("--max-open-tasks"), "{message}");
    // What a task keeps of its request is bounded: an absurd name is refused, not stored.
    let long = client
        .send(
            "tools/call",
            json!({"name": "wait_for_event", "arguments": {"source": "x".repeat(300)}}),
        )
        .await;
    assert!(
        long.raw.contains("source is longer than 256 characters"),
        "{}",
        long.raw
    );
    client.ok("tasks/cancel", json!({"taskId": first})).await;
    wait_task(&client, json!({"source": "c"})).await;

    // The same store served without a token: another credential, which finds no such task.
    let app = app.restart_with(|_| {}).await;
    let stranger = Modern::new(&app.mcp_url()).with_tasks();
    for method in ["tasks/get", "tasks/cancel"] {
        let a = stranger.send(method, json!({"taskId": first})).await;
        assert_eq!(a.error_code(), Some(-32602), "{method}: {}", a.raw);
        let message = a.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.contains("credential"),
            "says nothing of the owner: {message}"
        );
    }
    wait_task(&stranger, json!({"source": "mine"})).await;
    app.stop().await;
}

/// A task made before a restart is resumed by the next hookd and completes when its event
/// commits.
async fn survives_a_restart(adjust: impl Fn(&mut Config) + Clone) {
    let app = TestApp::start_with(adjust.clone()).await;
    let client = Modern::new(&app.mcp_url()).with_tasks();
    let id = wait_task(
        &client,
        json!({"source": "deploys", "timeout_seconds": 600}),
    )
    .await;
    let app = app.restart_with(adjust).await;
    let client = Modern::new(&app.mcp_url()).with_tasks();
    let task = client.ok("tasks/get", json!({"taskId": id})).await;
    assert_eq!(task["status"], "working", "{task}");
    let event = post(&app, "deploys", json!({"after": "restart"})).await;
    let done = ended(&client, &id).await;
    assert_eq!(
        done["result"]["structuredContent"]["event"]["id"], event,
        "{done}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_task_survives_a_restart_on_sqlite() {
    survives_a_restart(|_| {}).await;
}

#[tokio::test]
async fn a_task_survives_a_restart_on_postgres() {
    let Some(db) = common::pg::database("a_task_survives_a_restart_on_postgres").await else {
        return;
    };
    let url = db.url.clone();
    survives_a_restart(move |c: &mut Config| c.database_url = Some(Secret::new(url.clone()))).await;
    drop(db);
}

#[tokio::test]
async fn a_task_made_on_one_instance_is_answered_and_completed_by_another() {
    let test = "a_task_made_on_one_instance_is_answered_and_completed_by_another";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    let url = db.url.clone();
    let shared = move |c: &mut Config| c.database_url = Some(Secret::new(url.clone()));
    let a = TestApp::start_with(shared.clone()).await;
    let b = TestApp::start_with(shared).await;
    let on_a = Modern::new(&a.mcp_url()).with_tasks();
    let on_b = Modern::new(&b.mcp_url()).with_tasks();
    let id = wait_task(&on_a, json!({"source": "fleet"})).await;
    let seen = on_b.ok("tasks/get", json!({"taskId": id})).await;
    assert_eq!(seen["status"], "working", "{seen}");
    // A stops: B, which was asked about the task, follows it on its own.
    a.stop().await;
    let event = post(&b, "fleet", json!({"on": "b"})).await;
    let done = ended(&on_b, &id).await;
    assert_eq!(
        done["result"]["structuredContent"]["event"]["id"], event,
        "{done}"
    );
    b.stop().await;
    drop(db);
}

async fn vercel(app: &TestApp, fixture: &str) -> i64 {
    let body = common::fixture(&format!("vercel/{fixture}.json"));
    let r = common::post_signed(app.webhook, "vercel", ("vercel", "vc"), 0, &[], body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["event_id"].as_i64().unwrap()
}

#[tokio::test]
async fn watch_deployment_answers_a_final_state_as_a_call_and_as_a_task() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hookd.toml");
    std::fs::write(
        &config,
        "[sources.vercel]\nprovider = \"vercel\"\nsecret = \"vc\"\n",
    )
    .unwrap();
    let app = TestApp::start_with(|c| c.config = Some(config)).await;
    let failed = vercel(&app, "deployment.error").await;

    // A plain call: the next final state of the project after the failed deployment.
    let plain = Modern::new(&app.mcp_url());
    let args = json!({"project": "hello-world", "after_id": failed, "timeout_seconds": 20});
    let watching = {
        let plain = plain.clone();
        tokio::spawn(async move { plain.call("watch_deployment", args).await })
    };
    vercel(&app, "deployment.created").await;
    vercel(&app, "deployment.succeeded").await;
    let r = watching.await.unwrap();
    let deployment = &r["structuredContent"]["deployment"];
    assert_eq!(
        (
            deployment["state"].as_str(),
            deployment["deployment_id"].as_str()
        ),
        (Some("ready"), Some("dpl_WoGLFZmnUb3rTPGbvhTMPR3gOESY")),
        "{r}"
    );
    assert_eq!(r["structuredContent"]["timed_out"], false, "{r}");

    // As a task: a deployment that already ended completes at once.
    let client = Modern::new(&app.mcp_url()).with_tasks();
    let handle = client
        .call(
            "watch_deployment",
            json!({"deployment_id": "dpl_GYY1mZoamISlWacZX4LGqhpEpsnS"}),
        )
        .await;
    assert_eq!(handle["resultType"], "task", "{handle}");
    let done = ended(&client, handle["taskId"].as_str().unwrap()).await;
    assert_eq!(
        done["result"]["structuredContent"]["deployment"]["state"], "error",
        "{done}"
    );

    let nothing = client
        .call(
            "watch_deployment",
            json!({"project": "elsewhere", "timeout_seconds": 0.2}),
        )
        .await;
    let done = ended(&client, nothing["taskId"].as_str().unwrap()).await;
    assert_eq!(
        done["result"]["structuredContent"],
        json!({"timed_out": true})
    );
    let bad = client.call("watch_deployment", json!({})).await;
    assert_eq!(bad["isError"], true, "{bad}");
    app.stop().await;
}
