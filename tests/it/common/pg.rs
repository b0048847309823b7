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
            super::skipped(&format!("{test} on PostgreSQL"), &why);
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

/// A TCP forwarder in front of PostgreSQL that a test can cut (every open connection dropped,
/// new ones closed at once) and restore: PostgreSQL going away as hookd sees it, without
/// disturbing the server other tests share.
pub struct Proxy {
    pub addr: std::net::SocketAddr,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cuts: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    /// Forwards to the server of `db`.
    pub async fn start(db: &TestDb) -> Self {
        use std::sync::atomic::Ordering;
        let config: tokio_postgres::Config = db.url.parse().unwrap();
        let host = match &config.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            other => panic!("the proxy needs a TCP host, not {other:?}"),
        };
        let target = format!(
            "{host}:{}",
            config.get_ports().first().copied().unwrap_or(5432)
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (cuts, _) = tokio::sync::watch::channel(0u64);
        let (accepting, cut) = (up.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees its connection closed
                }
                let mut cut = cut.subscribe();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Self { addr, up, cuts }
    }

    /// The database URL through this proxy.
    pub fn url(&self, db: &TestDb) -> String {
        let config: tokio_postgres::Config = db.url.parse().unwrap();
        let user = config.get_user().unwrap_or("postgres");
        let password = config
            .get_password()
            .map(|p| format!(":{}", String::from_utf8_lossy(p)))
            .unwrap_or_default();
        let dbname = config.get_dbname().unwrap();
        format!("postgres://{user}{password}@{}/{dbname}", self.addr)
    }

    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
