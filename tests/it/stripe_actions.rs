//! Stripe events that trigger actions, from the outside: a signed checkout, a failed invoice and
//! a cancellation POSTed to a real `hookd serve`, a retried delivery, a restart, and the tools.

use crate::common;

use std::path::Path;

use common::mcp::{ERAS, call_err, call_ok, connect_http};
use common::{Process, fixture};
use serde_json::{Value, json};

const SECRET: &str = "whsec_actions_test";

async fn send_stripe(hookd: &Process, file: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    let signer = ("stripe", SECRET);
    let r = common::post_signed(hookd.webhook, "stripe", signer, now, &[], fixture(file)).await;
    assert_eq!(r.status, 200, "{file}: {:?}", r.body);
    r.body
}

fn serve(dir: &Path) -> Process {
    let config = dir.join("hookd.toml");
    std::fs::write(
        &config,
        format!("[sources.stripe]\nprovider = \"stripe\"\nsecret = \"{SECRET}\"\n"),
    )
    .unwrap();
    Process::serve(&dir.join("data"), &["--config", config.to_str().unwrap()])
}

#[tokio::test]
async fn a_checkout_a_failed_invoice_and_a_cancellation_become_actions_once() {
    let dir = tempfile::tempdir().unwrap();
    let hookd = serve(dir.path());
    let checkout = send_stripe(&hookd, "stripe/checkout.session.completed.json").await;
    send_stripe(&hookd, "stripe/invoice.payment_failed.json").await;
    send_stripe(&hookd, "stripe/customer.subscription.deleted.json").await;
    send_stripe(&hookd, "stripe/checkout.session.completed.jpy.json").await;
    send_stripe(&hookd, "stripe/invoice.paid.json").await;
    let retry = send_stripe(&hookd, "stripe/checkout.session.completed.json").await;
    assert_eq!(retry["duplicate"], true, "Stripe retried the checkout");
    assert_eq!(retry["event_id"], checkout["event_id"]);
    drop(hookd);

    // Everything below runs on a restarted hookd: actions are stored, not held in memory.
    let hookd = serve(dir.path());
    let c = connect_http(&format!("http://{}/mcp", hookd.mcp), ERAS[0].clone()).await;
    let pending = call_ok(&c, "get_pending_actions", json!({})).await;
    let actions = pending["actions"].as_array().unwrap();
    let summary: Vec<(&str, &Value)> = actions
        .iter()
        .map(|a| (a["type"].as_str().unwrap(), &a["fields"]))
        .collect();
    assert_eq!(
        summary.len(),
        4,
        "one action per triggering event, none for the retry: {pending}"
    );
    assert_eq!(summary[0].0, "send_welcome_email");
    assert_eq!(summary[0].1["customer_email"], "jenny.rosen@example.com");
    assert_eq!(
        (&summary[0].1["amount"], &summary[0].1["currency"]),
        (&json!("10.99"), &json!("USD"))
    );
    assert_eq!(summary[1].0, "send_payment_failed_email");
    assert_eq!(
        (&summary[1].1["customer"], &summary[1].1["amount_due"]),
        (&json!("cus_QXg1o8vcGmoR32"), &json!("10.00"))
    );
    assert_eq!(summary[2].0, "send_churn_survey");
    assert_eq!(summary[2].1["price_id"], "price_1PgafmB7WZ01zgkW6dKueIc5");
    assert_eq!(
        (&summary[3].1["amount"], &summary[3].1["currency"]),
        (&json!("1500"), &json!("JPY")),
        "zero-decimal yen"
    );
    assert_eq!(actions[0]["event_id"], checkout["event_id"]);
    assert!(actions.iter().all(|a| a["status"] == "pending"));

    let only = call_ok(
        &c,
        "get_pending_actions",
        json!({"type": "send_churn_survey"}),
    )
    .await;
    assert_eq!(only["actions"].as_array().unwrap().len(), 1);

    let first_id = actions[0]["id"].clone();
    let done = call_ok(
        &c,
        "mark_action_complete",
        json!({"action_id": first_id, "details": "welcome email sent"}),
    )
    .await;
    assert_eq!(
        (done["result"].as_str(), done["action"]["status"].as_str()),
        (Some("completed"), Some("completed"))
    );
    let again = call_ok(
        &c,
        "mark_action_complete",
        json!({"action_id": first_id, "details": "sent again?"}),
    )
    .await;
    assert_eq!(again["result"], "already_completed");
    assert_eq!(
        again["action"]["details"], "welcome email sent",
        "the second call changed nothing"
    );
    let by_type = call_ok(
        &c,
        "mark_action_complete",
        json!({"action_type": "send_welcome_email", "details": "yen"}),
    )
    .await;
    assert_eq!(
        by_type["action"]["id"], actions[3]["id"],
        "the oldest pending welcome is the yen one now"
    );
    let none = call_err(
        &c,
        "mark_action_complete",
        json!({"action_type": "send_welcome_email"}),
    )
    .await;
    assert!(none.contains("none pending"), "{none}");
    assert!(
        call_err(&c, "mark_action_complete", json!({}))
            .await
            .contains("action_id or action_type")
    );

    let recent = call_ok(&c, "get_recent_stripe_events", json!({"limit": 2})).await;
    let types: Vec<&str> = recent["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["checkout.session.completed", "invoice.paid"]);

    let summary = call_ok(&c, "get_event_summary", json!({"hours": 24})).await;
    assert_eq!(summary["total_events"], 5);
    assert_eq!(summary["events_by_type"]["checkout.session.completed"], 2);
    assert_eq!(summary["events_by_type"]["invoice.paid"], 1);
    assert_eq!(summary["pending_actions"], 2);
}

/// `get_event_summary` counts every source (it counted Stripe's alone while its name promised
/// every event), or one when asked, without reading the events.
#[tokio::test]
async fn the_event_summary_counts_every_source_or_one() {
    let app = common::TestApp::start().await;
    let http = common::http();
    for (source, body, n) in [
        ("stripe", json!({"id": "evt_a", "type": "invoice.paid"}), 1),
        ("stripe", json!({"id": "evt_b", "type": "invoice.paid"}), 1),
        ("ci", json!({"type": "build.finished"}), 3),
    ] {
        for i in 0..n {
            let mut body = body.clone();
            body["n"] = json!(i);
            let headers = [("content-type", "application/json")];
            let r = common::post(&http, app.webhook, source, &headers, body.to_string()).await;
            assert_eq!(r.status, 200);
        }
    }
    let c = common::mcp::connect_http(&app.mcp_url(), common::mcp::ERAS[0].clone()).await;
    let all = call_ok(&c, "get_event_summary", json!({})).await;
    assert_eq!(all["total_events"], 5, "{all}");
    assert_eq!(all["events_by_source"], json!({"ci": 3, "stripe": 2}));
    assert_eq!(
        all["events_by_type"],
        json!({"build.finished": 3, "invoice.paid": 2})
    );
    let stripe = call_ok(&c, "get_event_summary", json!({"source": "stripe"})).await;
    assert_eq!(stripe["total_events"], 2, "{stripe}");
    c.cancel().await.unwrap();
    app.stop().await;
}
