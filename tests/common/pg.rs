//! A fresh PostgreSQL database per test, on the server `HOOKD_TEST_DATABASE_URL` names (default:
//! the machine's `postgres://postgres@127.0.0.1:5432/test`), dropped when the test ends.

use tokio_postgres::NoTls;

pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database made for one test; dropped (with its connections) when this is.
pub struct TestDb {
    pub url: String,
    admin_url: String,
    name: String,
}

fn admin_url() -> String {
    std::env::var("HOOKD_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.into())
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("a postgres://…/database URL");
    format!("{base}/{db}")
}

async fn admin(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// A new empty database, or `None` (after saying the test is skipped) when no PostgreSQL answers.
/// Under `CI=true` an unreachable server fails the test instead.
pub async fn database(test: &str) -> Option<TestDb> {
    let admin_url = admin_url();
    let client = match admin(&admin_url).await {
        Ok(c) => c,
        Err(e) => {
            let why = format!("no PostgreSQL at HOOKD_TEST_DATABASE_URL ({e})");
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: {why}"
            );
            eprintln!("SKIPPED {test} on PostgreSQL: {why}");
            return None;
        }
    };
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    let name = format!("hookd_test_{}", hex::encode(bytes));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    Some(TestDb {
        url: with_database(&admin_url, &name),
        admin_url,
        name,
    })
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside a runtime: do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(c) = admin(&url).await {
                    let _ = c
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}
