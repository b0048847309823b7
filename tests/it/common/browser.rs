//! A WebDriver session in Debian's headless Chromium (`chromedriver`, installed by
//! `scripts/test`), for the dashboard's and the inbox app's browser tests.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;
use serde_json::{Value, json};

/// A WebDriver session in headless Chromium.
pub struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
}

impl Browser {
    pub async fn start(test: &str) -> Option<Self> {
        let chromium = common::runtime(test, "/usr/bin/chromium".into(), "run scripts/test")?;
        let driver_path =
            common::runtime(test, "/usr/bin/chromedriver".into(), "run scripts/test")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let http = common::http();
        let url = format!("http://127.0.0.1:{port}");
        let ready = eventually(Duration::from_secs(20), || {
            let http = http.clone();
            let url = url.clone();
            async move {
                let status = http.get(format!("{url}/status")).send().await.ok()?;
                let status: Value = status.json().await.ok()?;
                status["value"]["ready"].as_bool().filter(|r| *r)
            }
        })
        .await;
        assert!(ready.is_some(), "chromedriver answered");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,800"]
            }
        }}});
        let session: Value = http
            .post(format!("{url}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("a session: {session}"));
        Some(Self {
            driver,
            base: format!("{url}/session/{id}"),
            http,
        })
    }

    pub async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if !body.is_null() {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        let v: Value = r.json().await.unwrap();
        v["value"].clone()
    }

    pub async fn open(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    /// Runs `script` in the page, which calls its last argument with the value to return (a
    /// promise's, for one).
    pub async fn run_async(&self, script: &str) -> Value {
        let body = json!({"script": script, "args": []});
        self.command(reqwest::Method::POST, "/execute/async", body)
            .await
    }

    /// Clicks the copy button `selector` and returns what it put on the clipboard (or what the
    /// button says when it could not).
    pub async fn copy(&self, selector: &str) -> Value {
        self.run_async(&format!(
            "const done = arguments[arguments.length - 1];
             const b = document.querySelector('{selector}');
             const label = b.textContent;
             b.click();
             const settled = () => b.textContent === label ? setTimeout(settled, 20)
               : b.textContent === 'copied' ? navigator.clipboard.readText().then(done, (e) => done('failed: ' + e))
               : done(b.textContent);
             settled();"
        ))
        .await
    }

    /// Resizes the window, as a user would (the page's layout follows).
    pub async fn resize(&self, width: u32, height: u32) {
        let body = json!({"width": width, "height": height});
        self.command(reqwest::Method::POST, "/window/rect", body)
            .await;
    }

    /// Grants the page a permission, as a user would when asked (`clipboard-read`, …).
    pub async fn grant(&self, name: &str) {
        let body = json!({"descriptor": {"name": name}, "state": "granted"});
        self.command(reqwest::Method::POST, "/permissions", body)
            .await;
    }

    /// Runs `script` in the page and returns its value.
    pub async fn run(&self, script: &str) -> Value {
        let body = json!({"script": script, "args": []});
        self.command(reqwest::Method::POST, "/execute/sync", body)
            .await
    }

    /// Waits (up to 20 s) for `script` to return something other than `null` or `false`.
    pub async fn until(&self, script: &str) -> Value {
        let found = eventually(Duration::from_secs(20), || async {
            let v = self.run(script).await;
            (!v.is_null() && v != json!(false)).then_some(v)
        })
        .await;
        if let Some(v) = found {
            return v;
        }
        let at = self
            .run("return [location.href, document.body ? document.body.innerText.slice(0, 2000) : '', (() => { try { return Object.keys(sessionStorage); } catch { return 'no storage'; } })()]")
            .await;
        panic!("the page never satisfied: {script}\nthe page: {at}")
    }

    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let png = self
            .command(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Polls `check` until it gives a value or `within` has passed: waits for a condition, never a
/// fixed time.
pub async fn eventually<T, F, Fut>(within: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Some(v) = check().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

impl Browser {
    /// Runs what follows inside the frame `selector` finds (a sandboxed one too), as a user
    /// reading it would; `top` comes back out.
    pub async fn enter_frame(&self, selector: &str) {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": selector}),
            )
            .await;
        assert!(found.is_object(), "no frame {selector}: {found}");
        self.command(reqwest::Method::POST, "/frame", json!({"id": found}))
            .await;
    }

    pub async fn top(&self) {
        self.command(reqwest::Method::POST, "/frame", json!({"id": null}))
            .await;
    }
}
