//! The SQLite schema and its versioned migrations.

use rusqlite::{Connection, TransactionBehavior};

/// Each entry migrates from version `index` to `index + 1`; `PRAGMA user_version` records where a
/// file is. Never edit a released entry: append a new one.
const MIGRATIONS: &[&str] = &[
    r#"
    -- AUTOINCREMENT: ids are never reused, even after retention deletes the newest rows.
    CREATE TABLE events (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        source           TEXT NOT NULL,
        type             TEXT NOT NULL,
        delivery_id      TEXT,
        received_at      TEXT NOT NULL,
        headers          TEXT NOT NULL,
        content_type     TEXT,
        payload_encoding TEXT NOT NULL,
        payload          TEXT NOT NULL,
        verified         INTEGER,
        subject          TEXT,
        occurred_at      TEXT,
        summary          TEXT
    );
    CREATE UNIQUE INDEX events_delivery ON events(source, delivery_id) WHERE delivery_id IS NOT NULL;
    CREATE INDEX events_source_id ON events(source, id);
    CREATE INDEX events_type_id ON events(type, id);
    CREATE INDEX events_received_at ON events(received_at);

    -- Per-source totals, maintained in the same transaction as the events they count.
    CREATE TABLE sources (
        source           TEXT PRIMARY KEY,
        count            INTEGER NOT NULL,
        last_received_at TEXT NOT NULL
    ) WITHOUT ROWID;
"#,
    r#"
    -- Deliveries refused by signature verification (never their bodies), capped.
    CREATE TABLE rejections (
        id          INTEGER PRIMARY KEY,
        source      TEXT NOT NULL,
        received_at TEXT NOT NULL,
        reason      TEXT NOT NULL,
        detail      TEXT NOT NULL,
        headers     TEXT NOT NULL,
        body_size   INTEGER NOT NULL,
        body_sha256 TEXT NOT NULL
    );
    CREATE INDEX rejections_source_id ON rejections(source, id);
"#,
    r#"
    -- Actions events call for, written in the same transaction as their event.
    CREATE TABLE actions (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id     INTEGER NOT NULL,
        type         TEXT NOT NULL,
        status       TEXT NOT NULL DEFAULT 'pending',
        fields       TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        completed_at TEXT,
        details      TEXT,
        UNIQUE (event_id, type)
    );
    CREATE INDEX actions_pending ON actions(status, type, id);
"#,
    r#"
    -- One row per pushed commit, and one per deployment state change, with their events.
    CREATE TABLE pushes (
        id       INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL,
        repo     TEXT NOT NULL,
        branch   TEXT NOT NULL,
        sha      TEXT NOT NULL,
        message  TEXT NOT NULL,
        author   TEXT NOT NULL,
        time     TEXT NOT NULL
    );
    CREATE INDEX pushes_repo ON pushes(repo, id);
    CREATE INDEX pushes_sha ON pushes(sha);
    CREATE TABLE deployments (
        id            INTEGER PRIMARY KEY,
        event_id      INTEGER NOT NULL,
        platform      TEXT NOT NULL,
        project       TEXT NOT NULL,
        deployment_id TEXT NOT NULL,
        state         TEXT NOT NULL,
        url           TEXT,
        sha           TEXT,
        environment   TEXT,
        time          TEXT NOT NULL
    );
    CREATE INDEX deployments_project ON deployments(project, id);
    CREATE INDEX deployments_sha ON deployments(sha);
"#,
    r#"
    -- One compact row per GitHub repository event, timed by GitHub's own timestamps.
    CREATE TABLE github_activity (
        id       INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL,
        repo     TEXT NOT NULL,
        type     TEXT NOT NULL,
        action   TEXT,
        time     TEXT NOT NULL,
        actor    TEXT,
        number   INTEGER,
        title    TEXT,
        state    TEXT,
        branch   TEXT,
        size     INTEGER
    );
    CREATE INDEX github_activity_repo_time ON github_activity(repo, time);
"#,
    r#"
    -- Retention removes an event's derived rows with it (in the same transaction). Actions stay:
    -- they are a work queue, and a pending one must not vanish because its event aged out.
    CREATE INDEX pushes_event ON pushes(event_id);
    CREATE INDEX deployments_event ON deployments(event_id);
    CREATE INDEX github_activity_event ON github_activity(event_id);
    CREATE TRIGGER events_derived_delete AFTER DELETE ON events BEGIN
        DELETE FROM pushes WHERE event_id = OLD.id;
        DELETE FROM deployments WHERE event_id = OLD.id;
        DELETE FROM github_activity WHERE event_id = OLD.id;
    END;
"#,
    r#"
    CREATE INDEX deployments_deployment ON deployments(deployment_id, platform);
"#,
    r#"
    -- Durable consumers: each one's committed cursor (the last event id it acknowledged).
    CREATE TABLE consumers (
        name       TEXT PRIMARY KEY,
        cursor     INTEGER NOT NULL,
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID;

    -- The words full-text search finds an event by (`store::search_text`). The index itself is
    -- a separate file (`search.db`, see `index.rs`), so building it never holds this file's lock.
    ALTER TABLE events ADD COLUMN search_text TEXT;
    UPDATE events SET search_text = (
        SELECT group_concat(DISTINCT value) FROM json_tree(events.payload)
        WHERE type IN ('text', 'integer', 'real') AND value NOT LIKE 'http://%' AND value NOT LIKE 'https://%'
    ) WHERE payload_encoding IN ('json', 'form');
"#,
    r#"
    -- Where `/readyz` writes (and deletes) a body-sized row to learn whether writes succeed again.
    CREATE TABLE readiness_probe (data BLOB NOT NULL);

    -- The delivery ids of deleted events, kept for the dedupe window, so that a provider's retry
    -- of an event the per-source cap removed minutes after it arrived is still a duplicate.
    -- Every deletion goes through the trigger; retention forgets rows older than the window.
    CREATE TABLE pruned_deliveries (
        source      TEXT NOT NULL,
        delivery_id TEXT NOT NULL,
        event_id    INTEGER NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (source, delivery_id)
    ) WITHOUT ROWID;
    CREATE INDEX pruned_deliveries_received ON pruned_deliveries(received_at);
    CREATE TRIGGER events_pruned AFTER DELETE ON events WHEN OLD.delivery_id IS NOT NULL
    BEGIN
        INSERT OR REPLACE INTO pruned_deliveries
        VALUES (OLD.source, OLD.delivery_id, OLD.id, OLD.received_at);
    END;
"#,
    r#"
    -- How many times the same delivery arrived again after it was stored (provider retries and
    -- redeliveries), and each action's event (an event's page lists the rows derived from it).
    ALTER TABLE events ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX actions_event ON actions(event_id);
"#,
    r#"
    -- Webhook subscriptions granted no expiry (events/subscribe with ttlMs: null), kept so that
    -- delivery resumes after a restart; the instance holding the lease delivers.
    CREATE TABLE callback_subscriptions (
        id               TEXT PRIMARY KEY,
        principal        TEXT NOT NULL,
        url              TEXT NOT NULL,
        name             TEXT NOT NULL,
        arguments        TEXT,
        secret           TEXT NOT NULL,
        "cursor"         BIGINT NOT NULL,
        active           BOOLEAN NOT NULL,
        last_error       TEXT,
        failed_since     TEXT,
        last_delivery_at TEXT,
        owner            TEXT,
        lease_until      TEXT,
        created_at       TEXT NOT NULL
    );
"#,
    r#"
    -- An event's received_at never decreases with its id (the writer stores each new one after
    -- the newest row's), so a time bound is an id bound. Rows written before, whose times could be
    -- out of order by a few milliseconds, take the latest time of any earlier id.
    UPDATE events SET received_at = ordered.at
    FROM (SELECT id, max(received_at) OVER (ORDER BY id) AS at FROM events) AS ordered
    WHERE ordered.id = events.id AND ordered.at > events.received_at;
"#,
    r#"
    -- Tasks (MCP Tasks extension): waits answered with a handle, resumed after a restart.
    CREATE TABLE tasks (
        id             TEXT PRIMARY KEY,
        principal      TEXT NOT NULL,
        request        TEXT NOT NULL,
        status         TEXT NOT NULL,
        status_message TEXT,
        outcome        TEXT,
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL,
        expires_at     TEXT NOT NULL
    );
    CREATE INDEX tasks_working ON tasks (principal) WHERE status = 'working';
    CREATE INDEX tasks_expiry ON tasks (expires_at);
"#,
    r#"
    -- Every verified webhook subscription is kept now, not only those granted no expiry (ChatGPT's
    -- guide asks servers to persist subscriptions): when it lapses, with its granted lifetime.
    ALTER TABLE callback_subscriptions ADD COLUMN expires_at TEXT;
"#,
    r#"
    -- hookd as its own OAuth authorization server: clients, consented grants (token families),
    -- single-use codes and tokens, the last two only as their SHA-256.
    CREATE TABLE oauth_clients (
        id            TEXT PRIMARY KEY,
        name          TEXT NOT NULL,
        redirect_uris TEXT NOT NULL,
        metadata      TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        expires_at    TEXT
    );
    CREATE TABLE oauth_grants (
        family     TEXT PRIMARY KEY,
        client_id  TEXT NOT NULL,
        scope      TEXT NOT NULL,
        resource   TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE oauth_codes (
        hash         TEXT PRIMARY KEY,
        family       TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        challenge    TEXT NOT NULL,
        expires_at   TEXT NOT NULL
    );
    CREATE TABLE oauth_tokens (
        hash       TEXT PRIMARY KEY,
        family     TEXT NOT NULL,
        kind       TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at    TEXT
    );
    CREATE INDEX oauth_codes_family ON oauth_codes (family);
    CREATE INDEX oauth_tokens_family ON oauth_tokens (family);
    CREATE INDEX oauth_tokens_expiry ON oauth_tokens (expires_at);
"#,
    r#"
    -- Triggers ([[triggers]] in hookd.toml): each one's cursor and lease, and its runs.
    CREATE TABLE trigger_state (
        name        TEXT PRIMARY KEY,
        position    BIGINT NOT NULL,
        disabled    TEXT,
        owner       TEXT,
        lease_until TEXT,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE trigger_runs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        "trigger"       TEXT NOT NULL,
        event_ids       TEXT NOT NULL,
        status          TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        exit_code       INTEGER,
        http_status     INTEGER,
        duration_ms     BIGINT,
        output          TEXT NOT NULL DEFAULT '',
        error           TEXT,
        created_at      TEXT NOT NULL,
        started_at      TEXT,
        finished_at     TEXT
    );
    CREATE INDEX trigger_runs_due ON trigger_runs ("trigger", status, id);
    CREATE INDEX trigger_runs_created ON trigger_runs (created_at);
"#,
    r#"
    -- Secrets sources learn in a handshake (Asana's X-Hook-Secret), and the windows that let
    -- them (`hookd enrol`).
    CREATE TABLE enrolment_windows (
        source     TEXT PRIMARY KEY,
        open_until TEXT NOT NULL
    );
    CREATE TABLE enrolled_secrets (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        source      TEXT NOT NULL,
        secret      TEXT NOT NULL,
        enrolled_at TEXT NOT NULL
    );
    CREATE INDEX enrolled_secrets_source ON enrolled_secrets (source);
"#,
];

/// Brings the file to the newest schema. Safe when several processes open the same file at once:
/// the check and the migration happen inside one write-locked transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (step, sql) in (1i64..).zip(MIGRATIONS).skip(version.max(0) as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", step)?;
    }
    tx.commit()
}

/// Settings every connection gets.
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // FULL: a commit is on disk (WAL fsynced) before `append` returns, so a 200 survives kill -9
    // and power loss. Group commit is what keeps this fast.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_from_before_search_gets_search_text_when_it_is_migrated() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..6] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 6).unwrap();
        conn.execute_batch(
            r#"INSERT INTO events (source, type, received_at, headers, payload_encoding, payload)
               VALUES ('s', 't', '2026-01-01T00:00:00.000000Z', '{}', 'json',
                       '{"msg": "card declined", "url": "https://example.com/declined"}');"#,
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let text: String = conn
            .query_row("SELECT search_text FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(text, "card declined", "values, not URLs");
    }

    #[test]
    fn migrating_puts_times_written_out_of_order_in_id_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        // The step that orders the times is the twelfth.
        let before = 11;
        assert!(MIGRATIONS[before].contains("ordered.at"));
        for sql in &MIGRATIONS[..before] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", before as i64)
            .unwrap();
        for at in [
            "00.000005",
            "00.000002",
            "00.000009",
            "00.000007",
            "00.000010",
        ] {
            conn.execute(
                "INSERT INTO events (source, type, received_at, headers, payload_encoding, payload)
                 VALUES ('s', 't', ?1, '{}', 'json', '{}')",
                [format!("2026-01-01T00:00:{at}Z")],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        let times: Vec<String> = conn
            .prepare("SELECT substr(received_at, 18, 9) FROM events ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            times,
            [
                "00.000005",
                "00.000005",
                "00.000009",
                "00.000009",
                "00.000010"
            ]
        );
    }
}
