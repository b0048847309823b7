//! The tasks part of the `Store` contract (`store::tasks`), run against every backend: the cap on
//! working tasks per principal, ending once, and expiry.

use chrono::{Duration, Utc};
use hookd::store::{TaskEnd, TaskRecord, TaskState};

use crate::store_contract::backends;

fn task(id: &str, principal: &str, ttl: Duration) -> TaskRecord {
    let now = Utc::now();
    TaskRecord {
        id: id.into(),
        principal: principal.into(),
        request: format!("{{\"tool\":\"wait_for_event\",\"n\":\"{id}\"}}"),
        state: TaskState::Working,
        status_message: None,
        outcome: None,
        created_at: now,
        updated_at: now,
        expires_at: now + ttl,
    }
}

#[tokio::test]
async fn tasks_are_capped_per_principal_end_once_and_expire() {
    let hour = Duration::hours(1);
    for (name, store, _keep) in backends("tasks_are_capped_per_principal_end_once_and_expire").await
    {
        assert!(
            store
                .create_task(task("a1", "alice", hour), 2)
                .await
                .unwrap()
        );
        assert!(
            store
                .create_task(task("a2", "alice", hour), 2)
                .await
                .unwrap()
        );
        assert!(
            !store
                .create_task(task("a3", "alice", hour), 2)
                .await
                .unwrap(),
            "{name}: a third working task of one principal is refused"
        );
        assert!(store.create_task(task("b1", "bob", hour), 2).await.unwrap());
        assert!(store.task("a3".into()).await.unwrap().is_none(), "{name}");

        let stored = store.task("a1".into()).await.unwrap().unwrap();
        assert_eq!(stored.principal, "alice", "{name}");
        assert_eq!(stored.request, task("a1", "alice", hour).request, "{name}");
        assert_eq!(stored.state, TaskState::Working, "{name}");

        let end = TaskEnd {
            state: TaskState::Completed,
            status_message: Some("done".into()),
            outcome: Some("{\"content\":[]}".into()),
        };
        assert!(store.end_task("a1".into(), end.clone()).await.unwrap());
        let cancel = TaskEnd {
            state: TaskState::Cancelled,
            status_message: None,
            outcome: None,
        };
        assert!(
            !store.end_task("a1".into(), cancel).await.unwrap(),
            "{name}: an ended task does not end again"
        );
        let ended = store.task("a1".into()).await.unwrap().unwrap();
        assert_eq!(
            (ended.state, ended.outcome, ended.status_message),
            (TaskState::Completed, end.outcome, end.status_message),
            "{name}"
        );
        assert!(
            store
                .create_task(task("a3", "alice", hour), 2)
                .await
                .unwrap(),
            "{name}: an ended task no longer counts toward the cap"
        );

        let working: Vec<String> = store
            .working_tasks()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(working, ["a2", "b1", "a3"], "{name}: oldest first");

        let gone = Duration::milliseconds(-1);
        assert!(
            store
                .create_task(task("old", "carol", gone), 2)
                .await
                .unwrap()
        );
        assert!(
            store.task("old".into()).await.unwrap().is_none(),
            "{name}: an expired task is not found"
        );
        assert!(
            !store
                .working_tasks()
                .await
                .unwrap()
                .iter()
                .any(|t| t.id == "old")
        );
        assert_eq!(store.forget_expired_tasks().await.unwrap(), 1, "{name}");
        assert_eq!(store.forget_expired_tasks().await.unwrap(), 0, "{name}");
    }
}
