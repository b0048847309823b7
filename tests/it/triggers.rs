//! Triggers (`[[triggers]]` in hookd.toml) with real programs: `sh` scripts that write what they
//! were given into a folder the test reads. Matching and non-matching events, a debounced burst,
//! `concurrency = 1`, retries then dead then a retry by the MCP tool, a timeout that kills a
//! process group, kill -9 of hookd mid-run, and two instances on PostgreSQL.

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use common::mcp::{call_err, call_ok, connect_http};
use common::{Process, TestApp, post_json, post_signed};
use hookd::store::Triggers;
use hookd::store::triggers::{RunQuery, RunStatus, TriggerRun};
use serde_json::{Value, json};

/// A folder with a hookd.toml (its `{OUT}` replaced by the folder) where the runs write.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(toml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let text = toml.replace("{OUT}", dir.path().to_str().unwrap());
        std::fs::write(dir.path().join("hookd.toml"), text).unwrap();
        Self { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("hookd.toml")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The lines of a file the runs append to (none yet: empty).
    fn lines(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.path(name))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    async fn start(&self) -> TestApp {
        let config = self.config();
        TestApp::start_with(|c| c.config = Some(config)).await
    }
}

/// Polls `check` every 50 ms until it gives a value, for at most `secs` seconds.
async fn until<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn runs(app: &TestApp, trigger: &str) -> Vec<TriggerRun> {
    let mut runs = app
        .store()
        .trigger_runs(RunQuery {
            trigger: Some(trigger.into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    runs.reverse();
    runs
}

/// Waits until `trigger` has `n` runs, all in a final status; returns them oldest first.
async fn settled(app: &TestApp, trigger: &str, n: usize) -> Vec<TriggerRun> {
    until(30, &format!("{n} settled runs of {trigger}"), || async {
        let r = runs(app, trigger).await;
        let done = r
            .iter()
            .all(|r| matches!(r.status, RunStatus::Succeeded | RunStatus::Dead));
        (r.len() == n && done).then_some(r)
    })
    .await
}

async fn post_ci(app_webhook: std::net::SocketAddr, body: Value) -> i64 {
    let r = post_json(&common::http(), app_webhook, "ci", None, &body.to_string()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["event_id"].as_i64().unwrap()
}

async fn post_github(addr: std::net::SocketAddr, event: &str, body: Value) -> i64 {
    let extra = [("x-github-event", event)];
    let now = chrono::Utc::now().timestamp();
    let body = body.to_string().into_bytes();
    let r = post_signed(addr, "github", ("github", "gh-secret"), now, &extra, body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["event_id"].as_i64().unwrap()
}

const LOG: &str = r#"run = ["sh", "-c", "cat > \"$OUT/$HOOKD_TRIGGER-$HOOKD_RUN_ID.json\"; env > \"$OUT/$HOOKD_TRIGGER-$HOOKD_RUN_ID.env\""]
env = { OUT = "{OUT}" }"#;

/// Each trigger runs for exactly the events it matches (source, type glob, `where`, verified or
/// not), once each, with the event on stdin and only the environment it names; events stored
/// before a trigger was configured are left alone unless it says `start = "beginning"`.
#[tokio::test]
async fn triggers_run_for_the_events_they_match_and_no_others() {
    let toml = format!(
        "[sources.github]\nprovider = \"github\"\nsecret = \"gh-secret\"\n\n\
         [[triggers]]\nname = \"prs\"\nsource = \"github\"\ntypes = [\"pull_request*\"]\n\
         where = {{ \"payload.action\" = \"opened\" }}\n{LOG}\n\n\
         [[triggers]]\nname = \"ci\"\nsource = \"ci\"\nallow_unverified = true\n{LOG}\n\n\
         [[triggers]]\nname = \"verified\"\n{LOG}\n\n\
         [[triggers]]\nname = \"history\"\nsource = \"ci\"\nallow_unverified = true\n\
         start = \"beginning\"\n{LOG}\n"
    );
    let setup = Setup::new(&toml);
    let before = TestApp::start().await;
    let _earlier = post_ci(before.webhook, json!({"type": "build", "n": 0})).await;
    let app = before
        .restart_with(|c| c.config = Some(setup.config()))
        .await;

    let opened = post_github(app.webhook, "pull_request", json!({"action": "opened"})).await;
    let closed = post_github(app.webhook, "pull_request", json!({"action": "closed"})).await;
    let review = post_github(
        app.webhook,
        "pull_request_review",
        json!({"action": "opened"}),
    )
    .await;
    let push = post_github(app.webhook, "push", json!({"ref": "refs/heads/main"})).await;
    let build = post_ci(app.webhook, json!({"type": "build", "n": 1})).await;

    let ids = |runs: Vec<TriggerRun>| -> Vec<i64> {
        runs.iter()
            .inspect(|r| assert_eq!(r.status, RunStatus::Succeeded, "{r:?}"))
            .flat_map(|r| r.event_ids.clone())
            .collect()
    };
    assert_eq!(ids(settled(&app, "prs", 2).await), [opened, review]);
    assert_eq!(ids(settled(&app, "ci", 1).await), [build]);
    assert_eq!(
        ids(settled(&app, "verified", 4).await),
        [opened, closed, review, push],
        "unverified events are left to triggers that allow them"
    );
    assert_eq!(ids(settled(&app, "history", 2).await), [1, build]);

    // The run got the event on stdin, and its environment is what hookd gives and nothing else.
    let first = &runs(&app, "prs").await[0];
    let stdin: Value = serde_json::from_slice(
        &std::fs::read(setup.path(&format!("prs-{}.json", first.id))).unwrap(),
    )
    .unwrap();
    assert_eq!(stdin["id"], opened);
    assert_eq!(stdin["payload"]["action"], "opened");
    let env: BTreeMap<String, String> =
        std::fs::read_to_string(setup.path(&format!("prs-{}.env", first.id)))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    assert_eq!(env["HOOKD_TRIGGER"], "prs");
    assert_eq!(env["HOOKD_RUN_ID"], first.id.to_string());
    assert_eq!(env["HOOKD_EVENT_IDS"], opened.to_string());
    assert_eq!(env["HOOKD_SOURCE"], "github");
    assert_eq!(env["HOOKD_TYPE"], "pull_request");
    assert_eq!(env["HOOKD_ATTEMPT"], "1");
    assert_eq!(env["HOOKD_MCP_URL"], app.mcp_url());
    let shell = ["PWD", "SHLVL", "_", "OLDPWD"];
    let strays: Vec<&String> = env
        .keys()
        .filter(|k| !k.starts_with("HOOKD_") && !shell.contains(&k.as_str()))
        .filter(|k| !["PATH", "HOME", "OUT"].contains(&k.as_str()))
        .collect();
    assert!(strays.is_empty(), "hookd's environment leaked: {strays:?}");
    app.stop().await;
}

/// With `debounce`, a burst of events goes to one run, as a JSON array in id order.
#[tokio::test]
async fn a_debounced_burst_goes_to_one_run() {
    let setup = Setup::new(&format!(
        "[[triggers]]\nname = \"burst\"\nsource = \"ci\"\nallow_unverified = true\n\
         debounce = \"2s\"\nbatch_max = 50\n{LOG}\n"
    ));
    let app = setup.start().await;
    let posts = (0..20).map(|n| post_ci(app.webhook, json!({"type": "deploy", "n": n})));
    let mut ids = futures_util::future::join_all(posts).await;
    ids.sort();
    let run = settled(&app, "burst", 1).await.remove(0);
    assert_eq!(run.event_ids, ids);
    let stdin: Value = serde_json::from_slice(
        &std::fs::read(setup.path(&format!("burst-{}.json", run.id))).unwrap(),
    )
    .unwrap();
    let given: Vec<i64> = stdin
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(given, ids);

    let later = post_ci(app.webhook, json!({"type": "deploy", "n": 20})).await;
    let runs = settled(&app, "burst", 2).await;
    assert_eq!(runs[1].event_ids, [later], "the next window is another run");
    app.stop().await;
}

/// `concurrency = 1`: one run at a time, in event order.
#[tokio::test]
async fn concurrency_one_never_overlaps_and_keeps_event_order() {
    let setup = Setup::new(
        "[[triggers]]\nname = \"one\"\nsource = \"ci\"\nallow_unverified = true\n\
         run = [\"sh\", \"-c\", \"mkdir \\\"$OUT/lock\\\" || echo overlap >> \\\"$OUT/overlap\\\"; \
         sleep 0.2; echo $HOOKD_EVENT_IDS >> \\\"$OUT/order\\\"; rmdir \\\"$OUT/lock\\\"\"]\n\
         env = { OUT = \"{OUT}\" }\n",
    );
    let app = setup.start().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(post_ci(app.webhook, json!({"n": n})).await);
    }
    settled(&app, "one", 5).await;
    let order: Vec<i64> = setup
        .lines("order")
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(order, ids);
    assert!(setup.lines("overlap").is_empty(), "two runs overlapped");
    app.stop().await;
}

/// A failing run is retried after its wait, then dead with its output kept; the MCP tool runs
/// it again (the same run id, one more attempt) and it succeeds. No tool makes or changes a
/// trigger.
#[tokio::test]
async fn a_failing_run_is_retried_then_dead_then_retried_by_the_tool() {
    let setup = Setup::new(
        "[[triggers]]\nname = \"flaky\"\nsource = \"ci\"\nallow_unverified = true\n\
         retries = [\"1s\"]\n\
         run = [\"sh\", \"-c\", \"echo attempt $HOOKD_ATTEMPT of run $HOOKD_RUN_ID; \
         [ -e \\\"$OUT/ok\\\" ] && exit 0; echo failing >&2; exit 3\"]\n\
         env = { OUT = \"{OUT}\" }\n",
    );
    let app = setup.start().await;
    post_ci(app.webhook, json!({"n": 1})).await;
    let dead = settled(&app, "flaky", 1).await.remove(0);
    assert_eq!(dead.status, RunStatus::Dead);
    assert_eq!(dead.attempts, 2, "one retry, then dead");
    assert_eq!(dead.exit_code, Some(3));
    assert!(
        dead.output
            .contains(&format!("attempt 2 of run {}", dead.id))
            && dead.output.contains("failing"),
        "{:?}",
        dead.output
    );

    let client = connect_http(&app.mcp_url(), common::mcp::ERAS[1].clone()).await;
    let tools = client.list_all_tools().await.unwrap();
    let named: Vec<&str> = tools
        .iter()
        .map(|t| t.name.as_ref())
        .filter(|n| n.contains("trigger"))
        .collect();
    assert_eq!(named, ["list_trigger_runs", "retry_trigger_run"]);
    let listed = call_ok(&client, "list_trigger_runs", json!({"status": "dead"})).await;
    assert_eq!(listed["runs"][0]["id"], dead.id);
    assert_eq!(listed["runs"][0]["exit_code"], 3);

    std::fs::write(setup.path("ok"), "").unwrap();
    let retried = call_ok(&client, "retry_trigger_run", json!({"run_id": dead.id})).await;
    assert_eq!(retried["status"], "queued");
    let done = until(30, "the retried run succeeds", || async {
        let r = app.store().trigger_run(dead.id).await.unwrap().unwrap();
        (r.status == RunStatus::Succeeded).then_some(r)
    })
    .await;
    assert_eq!(done.attempts, 3);
    assert!(
        done.output
            .contains(&format!("attempt 3 of run {}", dead.id))
    );
    let again = call_err(&client, "retry_trigger_run", json!({"run_id": dead.id})).await;
    assert!(again.contains("only a failed or dead run"), "{again}");
    let none = call_err(&client, "retry_trigger_run", json!({"run_id": 999})).await;
    assert!(none.contains("no trigger run 999"), "{none}");
    client.cancel().await.unwrap();
    app.stop().await;
}

/// A run past its timeout is killed with its whole process group (a child it started in the
/// background too), and recorded dead, saying so.
#[tokio::test]
async fn a_run_past_its_timeout_is_killed_with_its_process_group() {
    let setup = Setup::new(
        "[[triggers]]\nname = \"slow\"\nsource = \"ci\"\nallow_unverified = true\n\
         timeout = \"1s\"\nretries = []\n\
         run = [\"sh\", \"-c\", \"sleep 300 & echo $! > \\\"$OUT/child\\\"; sleep 300\"]\n\
         env = { OUT = \"{OUT}\" }\n",
    );
    let app = setup.start().await;
    post_ci(app.webhook, json!({"n": 1})).await;
    let dead = settled(&app, "slow", 1).await.remove(0);
    assert_eq!(dead.status, RunStatus::Dead);
    assert!(
        dead.error
            .as_deref()
            .unwrap_or("")
            .contains("timed out after 1s"),
        "{dead:?}"
    );
    assert!(dead.duration_ms.unwrap() < 10_000, "{dead:?}");
    let child: u32 = setup.lines("child")[0].parse().unwrap();
    until(10, "the background child is gone", || async {
        gone(child).then_some(())
    })
    .await;
    app.stop().await;
}

/// Whether process `pid` has ended (no longer there, or a zombie waiting to be reaped).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// hookd killed (-9) while a run is going: after the restart that run goes again, with the same
/// `HOOKD_RUN_ID` and the next attempt number, and every event gets its run.
#[tokio::test]
async fn after_kill_9_mid_run_every_event_runs_after_the_restart() {
    let setup = Setup::new(
        "[[triggers]]\nname = \"steady\"\nsource = \"ci\"\nallow_unverified = true\n\
         run = [\"sh\", \"-c\", \"echo $HOOKD_RUN_ID $HOOKD_ATTEMPT >> \\\"$OUT/started\\\"; \
         sleep 1; echo $HOOKD_EVENT_IDS >> \\\"$OUT/done\\\"\"]\n\
         env = { OUT = \"{OUT}\" }\n",
    );
    let data = setup.path("data");
    let config = setup.config();
    let args = ["--config", config.to_str().unwrap()];
    let mut hookd = Process::serve(&data, &args);
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(post_ci(hookd.webhook, json!({"n": n})).await);
    }
    until(30, "a run has started", || async {
        (!setup.lines("started").is_empty()).then_some(())
    })
    .await;
    hookd.kill9();
    let interrupted = setup.lines("started").last().unwrap().clone();
    let run_id = interrupted.split(' ').next().unwrap().to_owned();

    let hookd = Process::serve(&data, &args);
    let done = until(60, "every event ran", || async {
        let done: Vec<i64> = setup
            .lines("done")
            .iter()
            .map(|l| l.parse().unwrap())
            .collect();
        ids.iter().all(|id| done.contains(id)).then_some(done)
    })
    .await;
    assert!(done.len() >= ids.len());
    let started = setup.lines("started");
    assert!(
        started.contains(&format!("{run_id} 2")),
        "run {run_id} went again as attempt 2: {started:?}"
    );
    drop(hookd);
}

/// Two instances on one PostgreSQL: each event's run happens once, on one of them.
#[tokio::test]
async fn two_instances_on_postgresql_run_each_event_once() {
    let test = "triggers::two_instances_on_postgresql_run_each_event_once";
    let Some(db) = common::pg::database(test).await else {
        return;
    };
    let setup = Setup::new(
        "[[triggers]]\nname = \"shared\"\nsource = \"ci\"\nallow_unverified = true\n\
         concurrency = 4\n\
         run = [\"sh\", \"-c\", \"echo $HOOKD_EVENT_IDS $HOOKD_MCP_URL >> \\\"$OUT/done\\\"\"]\n\
         env = { OUT = \"{OUT}\" }\n",
    );
    let config = setup.config();
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--database-url",
        &db.url,
    ];
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Process::serve(a_dir.path(), &args);
    let b = Process::serve(b_dir.path(), &args);
    let mut ids = Vec::new();
    for n in 0..10 {
        let to = if n % 2 == 0 { a.webhook } else { b.webhook };
        ids.push(post_ci(to, json!({"n": n})).await);
    }
    let done = until(30, "every event ran", || async {
        let done = setup.lines("done");
        (done.len() >= ids.len()).then_some(done)
    })
    .await;
    let mut ran: Vec<i64> = done
        .iter()
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    ran.sort();
    assert_eq!(ran, ids, "each event once: {done:?}");
    let store = hookd::store::Postgres::open(&db.url, hookd::store::WakeUps::ListenNotify)
        .await
        .unwrap();
    let runs = store
        .trigger_runs(RunQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), ids.len(), "one run per event");
    assert!(
        runs.iter()
            .all(|r| r.attempts == 1 && r.status == RunStatus::Succeeded)
    );
    drop((a, b));
}

/// A `url` trigger POSTs the event signed as Standard Webhooks (checked by the reference
/// library): a refusal is retried with the same `webhook-id`; a URL that answers 410 Gone stops
/// its trigger, which then sends nothing more.
#[tokio::test]
async fn a_url_trigger_posts_signed_retries_and_stops_at_410() {
    let test = "triggers::a_url_trigger_posts_signed_retries_and_stops_at_410";
    let Some(py) = common::python(test) else {
        return;
    };
    use crate::webhook_delivery::{Receiver, secret};
    let mut refusing = Receiver::start(&py, 1).await;
    let mut gone = Receiver::answering(&py, 0, "gone").await;
    let setup = Setup::new(&format!(
        "[[triggers]]\nname = \"hook\"\nsource = \"ci\"\nallow_unverified = true\n\
         url = \"{}\"\nsecret = \"{}\"\nretries = [\"1s\"]\n\n\
         [[triggers]]\nname = \"gone\"\nsource = \"ci\"\nallow_unverified = true\n\
         url = \"{}\"\nsecret = \"{}\"\n\n\
         [[triggers]]\nname = \"witness\"\nsource = \"ci\"\nallow_unverified = true\n{LOG}\n",
        refusing.url,
        secret(),
        gone.url,
        secret()
    ));
    let app = setup.start().await;
    let id = post_ci(app.webhook, json!({"type": "build", "n": 1})).await;

    let refused = refusing.next().await;
    assert_eq!(refused["kind"], "refused");
    let delivered = refusing.next().await;
    assert_eq!(delivered["kind"], "event", "{delivered}");
    assert_eq!(delivered["body"]["id"], id);
    let run = settled(&app, "hook", 1).await.remove(0);
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(run.attempts, 2);
    assert_eq!(run.http_status, Some(200));
    let run_id = format!("run_{}", run.id);
    assert_eq!(
        refused["webhook_id"],
        run_id.as_str(),
        "the same id at every attempt"
    );
    assert_eq!(delivered["webhook_id"], run_id.as_str());

    assert_eq!(gone.next().await["kind"], "gone");
    let dead = settled(&app, "gone", 1).await.remove(0);
    assert_eq!(
        (dead.status, dead.http_status),
        (RunStatus::Dead, Some(410))
    );
    let states = app.store().trigger_states().await.unwrap();
    let (state, _) = states.iter().find(|(s, _)| s.name == "gone").unwrap();
    assert!(
        state.disabled.as_deref().unwrap_or("").contains("410"),
        "{state:?}"
    );
    // Another event: the witness runs for it, the stopped trigger does not.
    let next = post_ci(app.webhook, json!({"type": "build", "n": 2})).await;
    let witnessed = settled(&app, "witness", 2).await;
    assert_eq!(witnessed[1].event_ids, [next]);
    assert_eq!(refusing.next().await["body"]["id"], next);
    assert_eq!(
        runs(&app, "gone").await.len(),
        1,
        "nothing more was sent to it"
    );
    app.stop().await;
}

/// SIGTERM: a run going finishes (within the shutdown timeout) and is recorded; nothing new
/// starts.
#[tokio::test]
async fn sigterm_lets_a_running_run_finish() {
    let setup = Setup::new(
        "[[triggers]]\nname = \"finishing\"\nsource = \"ci\"\nallow_unverified = true\n\
         run = [\"sh\", \"-c\", \"touch \\\"$OUT/began\\\"; sleep 1; echo finished\"]\n\
         env = { OUT = \"{OUT}\" }\n",
    );
    let data = setup.path("data");
    let config = setup.config();
    let args = ["--config", config.to_str().unwrap()];
    let mut hookd = Process::serve(&data, &args);
    post_ci(hookd.webhook, json!({"n": 1})).await;
    until(30, "the run began", || async {
        setup.path("began").exists().then_some(())
    })
    .await;
    assert!(hookd.terminate().success());
    let out = common::bin();
    let listed = std::process::Command::new(out)
        .args(["triggers", "runs", "--json", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let runs: Vec<Value> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["status"], "succeeded");
    assert_eq!(runs[0]["output"], "finished\n");

    // `hookd triggers` lists it with its runs; `test` runs it once more, recording nothing.
    let cli = |args: &[&str]| {
        std::process::Command::new(common::bin())
            .arg("triggers")
            .args(args)
            .args(["--config", config.to_str().unwrap(), "--data-dir"])
            .arg(&data)
            .output()
            .unwrap()
    };
    let listed = cli(&[]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.starts_with("finishing  run sh -c"), "{listed}");
    assert!(listed.trim_end().ends_with("(1 succeeded)"), "{listed}");
    let tested = cli(&["test", "finishing", "--event", "1"]);
    assert!(tested.status.success());
    assert_eq!(String::from_utf8(tested.stdout).unwrap(), "finished\n");
    let unknown = cli(&["test", "nope", "--event", "1"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("declares no trigger \"nope\""));
    let store = hookd::store::Sqlite::open_existing(&data).unwrap();
    let all = store
        .trigger_runs(RunQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "a test run is not recorded");
}

/// The README's Python recipe: a run that calls back into hookd with the official MCP SDK
/// (`HOOKD_MCP_URL`) for the whole event. `/metrics` counts the run.
#[tokio::test]
async fn a_run_calls_back_into_hookd_with_the_python_sdk() {
    let test = "triggers::a_run_calls_back_into_hookd_with_the_python_sdk";
    let Some(py) = common::python(test) else {
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/trigger_agent.py");
    let setup = Setup::new(&format!(
        "[[triggers]]\nname = \"agent\"\nsource = \"ci\"\nallow_unverified = true\n\
         run = [\"{}\", \"{script}\"]\n",
        py.display()
    ));
    let app = setup.start().await;
    let id = post_ci(app.webhook, json!({"type": "deploy", "state": "failed"})).await;
    let run = settled(&app, "agent", 1).await.remove(0);
    assert_eq!(run.status, RunStatus::Succeeded, "{}", run.output);
    assert_eq!(
        run.output,
        format!(
            "event {id} (ci deploy): {{\"state\": \"failed\", \"type\": \"deploy\"}}; stdin had id {id}\n"
        )
    );
    let metrics = common::http()
        .get(format!("http://{}/metrics", app.mcp))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("hookd_trigger_runs_total{trigger=\"agent\",status=\"succeeded\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("hookd_trigger_run_seconds_count{trigger=\"agent\"} 1"));
    app.stop().await;
}

/// `hookd config check` lists the triggers, and `hookd serve` refuses one it cannot run, saying
/// which and why.
#[test]
fn a_trigger_hookd_cannot_run_is_refused_at_start() {
    let good = Setup::new(
        "[[triggers]]\nname = \"ok\"\nsource = \"github\"\ntypes = [\"pull_request*\"]\n\
         url = \"https://example.com/hook?token=s3cret\"\n",
    );
    let out = std::process::Command::new(common::bin())
        .args(["config", "check", "--config"])
        .arg(good.config())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("  ok: POST https://example.com/hook for github, pull_request*"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "a URL's query may hold a token");
    let bad = Setup::new("[[triggers]]\nname = \"x\"\nrun = [\"true\"]\nshell = \"bash\"\n");
    let data = bad.path("data");
    let out = common::serve_command(&data)
        .arg("--config")
        .arg(bad.config())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field `shell`"), "{err}");
}

/// SIGTERM with a run that outlasts `--shutdown-timeout`: hookd still ends in time, the run's
/// process group is killed, and after the restart the run goes again (the same id, attempt 2).
#[tokio::test]
async fn sigterm_kills_a_run_past_the_shutdown_timeout_and_it_runs_again() {
    let setup = Setup::new(
        "[[triggers]]\nname = \"long\"\nsource = \"ci\"\nallow_unverified = true\n\
         run = [\"sh\", \"-c\", \"echo $HOOKD_RUN_ID $HOOKD_ATTEMPT $$ >> \\\"$OUT/started\\\"; \
         [ $HOOKD_ATTEMPT -gt 1 ] || sleep 300\"]\n\
         env = { OUT = \"{OUT}\" }\n",
    );
    let data = setup.path("data");
    let config = setup.config();
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--shutdown-timeout",
        "1",
    ];
    let mut hookd = Process::serve(&data, &args);
    post_ci(hookd.webhook, json!({"n": 1})).await;
    until(30, "the run started", || async {
        (!setup.lines("started").is_empty()).then_some(())
    })
    .await;
    let began = std::time::Instant::now();
    assert!(hookd.terminate().success());
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "hookd ended in time"
    );
    let first = setup.lines("started")[0].clone();
    let mut parts = first.split(' ');
    let (run, pid) = (parts.next().unwrap().to_owned(), parts.nth(1).unwrap());
    let pid: u32 = pid.parse().unwrap();
    until(10, "the run's program was killed", || async {
        gone(pid).then_some(())
    })
    .await;

    let hookd = Process::serve(&data, &args);
    until(30, "the run went again", || async {
        setup
            .lines("started")
            .iter()
            .any(|l| l.starts_with(&format!("{run} 2 ")))
            .then_some(())
    })
    .await;
    drop(hookd);
}

/// `max_per_hour`: once that many runs started within the hour, the next waits (and the log says
/// so); it stays queued.
#[tokio::test]
async fn max_per_hour_holds_the_next_run_back() {
    let setup = Setup::new(
        "[[triggers]]\nname = \"rare\"\nsource = \"ci\"\nallow_unverified = true\n\
         max_per_hour = 1\nrun = [\"true\"]\n",
    );
    let data = setup.path("data");
    let config = setup.config();
    let hookd = common::Logging::serve_with(&data, "info", &["--config", config.to_str().unwrap()]);
    let first = post_ci(hookd.webhook, json!({"n": 1})).await;
    let second = post_ci(hookd.webhook, json!({"n": 2})).await;
    let said = loop {
        let line = hookd
            .lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the cap is logged");
        if line.contains("trigger reached its max_per_hour") {
            break line;
        }
    };
    assert!(said.contains("trigger=rare"), "{said}");
    let store = hookd::store::Sqlite::open_existing(&data).unwrap();
    let mut runs = store
        .trigger_runs(RunQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    runs.reverse();
    let seen: Vec<(Vec<i64>, RunStatus)> =
        runs.into_iter().map(|r| (r.event_ids, r.status)).collect();
    assert_eq!(seen[1], (vec![second], RunStatus::Queued), "{seen:?}");
    assert_eq!(seen[0].0, [first]);
    assert_ne!(seen[0].1, RunStatus::Queued);
}

/// A batch is cut at 16 MiB of input however many events `batch_max` allows: large events go to
/// more runs, none is held back.
#[tokio::test]
async fn large_events_are_split_across_batched_runs() {
    let setup = Setup::new(
        "[[triggers]]\nname = \"big\"\nsource = \"ci\"\nallow_unverified = true\n\
         debounce = \"10s\"\nbatch_max = 100\nrun = [\"true\"]\n",
    );
    // The window is long enough for all three to arrive: the first run is closed by its bytes.
    let config = setup.config();
    let app = TestApp::start_with(|c| {
        c.config = Some(config);
        c.max_body = 8 << 20;
    })
    .await;
    let blob = "x".repeat(6 << 20);
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(post_ci(app.webhook, json!({"n": n, "blob": blob})).await);
    }
    let mut runs = settled(&app, "big", 2).await;
    runs.sort_by_key(|r| r.id);
    assert_eq!(runs[0].event_ids, ids[..2]);
    assert_eq!(runs[1].event_ids, ids[2..]);
    app.stop().await;
}

/// What a client sends about runs may be hostile: out-of-range limits, unknown statuses, huge or
/// control-character names, negative or absurd ids. Each gets a clear error or an empty answer,
/// and nothing changes.
#[tokio::test]
async fn hostile_run_queries_get_clear_errors_and_change_nothing() {
    let setup = Setup::new(
        "[[triggers]]\nname = \"t\"\nsource = \"ci\"\nallow_unverified = true\nrun = [\"true\"]\n",
    );
    let app = setup.start().await;
    post_ci(app.webhook, json!({"n": 1})).await;
    settled(&app, "t", 1).await;
    let client = connect_http(&app.mcp_url(), common::mcp::ERAS[1].clone()).await;
    for (args, says) in [
        (json!({"limit": 0}), "limit must be between 1 and 100"),
        (
            json!({"limit": 4_000_000_000u64}),
            "limit must be between 1 and 100",
        ),
        (
            json!({"status": "dead\nforged"}),
            "status is queued, running",
        ),
        (json!({"since": "yesterday"}), "since \"yesterday\""),
    ] {
        let e = call_err(&client, "list_trigger_runs", args.clone()).await;
        assert!(e.contains(says), "{args}: {e}");
    }
    let huge = "x".repeat(100_000);
    let none = call_ok(&client, "list_trigger_runs", json!({"trigger": huge})).await;
    assert_eq!(none["runs"], json!([]));
    let none = call_ok(&client, "list_trigger_runs", json!({"run_id": -1})).await;
    assert_eq!(none["runs"], json!([]));
    for id in [-1i64, i64::MAX] {
        let e = call_err(&client, "retry_trigger_run", json!({"run_id": id})).await;
        assert!(e.contains(&format!("no trigger run {id}")), "{e}");
    }
    client.cancel().await.unwrap();

    let http = common::http();
    let api = |q: &str| {
        http.get(format!("http://{}/api/triggers/runs{q}", app.mcp))
            .send()
    };
    assert_eq!(api("?status=bogus").await.unwrap().status(), 400);
    assert_eq!(api("?limit=-1").await.unwrap().status(), 400);
    let clamped: Vec<Value> = api("?limit=999999999").await.unwrap().json().await.unwrap();
    assert_eq!(clamped.len(), 1);
    let nothing: Vec<Value> = api(&format!("?trigger={}", "y".repeat(4000)))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(nothing.is_empty());
    let retry = |id: &str| {
        http.post(format!("http://{}/api/triggers/runs/{id}/retry", app.mcp))
            .header("content-type", "application/json")
            .body("{}")
            .send()
    };
    assert_eq!(retry("abc").await.unwrap().status(), 400);
    assert_eq!(retry("-5").await.unwrap().status(), 409);
    let runs = runs(&app, "t").await;
    assert_eq!(runs.len(), 1, "nothing was queued");
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    app.stop().await;
}
