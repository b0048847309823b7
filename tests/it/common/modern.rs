//! A client of the current protocol (2026-07-28) written out by hand over real HTTP: the exact
//! JSON a client sends (`_meta` with version, capabilities and client info, the `Mcp-Method` and
//! `Mcp-Name` headers) and the exact JSON it gets back, with nothing in between that could add or
//! drop a field.

use serde_json::{Value, json};

pub const TASKS: &str = "io.modelcontextprotocol/tasks";

#[derive(Clone)]
pub struct Modern {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
    capabilities: Value,
    /// More `_meta` fields sent with every request (e.g. `traceparent`).
    meta: serde_json::Map<String, Value>,
    /// A 2025-11-25 session instead (`initialize`d): its id, sent with every request.
    session: Option<String>,
}

/// What came back: the HTTP status and the JSON-RPC answer to the request.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    /// What came, as it came (for messages when a check fails).
    pub raw: String,
}

impl Answer {
    /// The result, or a panic naming the error.
    pub fn result(&self) -> &Value {
        assert!(
            self.body.get("error").is_none(),
            "expected a result: {}",
            self.body
        );
        &self.body["result"]
    }

    pub fn error_code(&self) -> Option<i64> {
        self.body["error"]["code"].as_i64()
    }
}

impl Modern {
    pub fn new(url: &str) -> Self {
        hookd::outbound::install_tls();
        Self {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            token: None,
            capabilities: json!({}),
            meta: Default::default(),
            session: None,
        }
    }

    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// Declares the Tasks extension in every request's client capabilities.
    pub fn with_tasks(mut self) -> Self {
        self.capabilities = json!({"extensions": {TASKS: {}}});
        self
    }

    /// Sends `key: value` in every request's `_meta` too.
    pub fn meta(mut self, key: &str, value: Value) -> Self {
        self.meta.insert(key.to_owned(), value);
        self
    }

    /// A client of the 2025-11-25 era: opens a session with `initialize` (declaring
    /// `capabilities`) and `notifications/initialized`, and sends its id with every request.
    /// Returns it with what `initialize` answered.
    pub async fn initialize(mut self, capabilities: Value) -> (Self, Value) {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": capabilities,
            "clientInfo": {"name": "hookd-tests", "version": "0"}}});
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(init.to_string());
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let response = req.send().await.expect("hookd answers initialize");
        let id = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let answer = answer(response).await;
        let result = answer.result().clone();
        assert_eq!(result["protocolVersion"], "2025-11-25", "{}", answer.raw);
        self.session = Some(id);
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let r = self.post(initialized).send().await.expect("hookd answers");
        assert!(r.status().is_success(), "initialized: {}", r.status());
        (self, result)
    }

    /// A POST of `body` as this client sends it (with its session and token, when it has them).
    fn post(&self, body: Value) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string());
        if let Some(session) = &self.session {
            req = req
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-11-25");
        }
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        req
    }

    /// The request as it goes on the wire.
    pub fn request(&self, method: &str, params: Value) -> reqwest::RequestBuilder {
        let mut params = match params {
            Value::Object(p) => p,
            _ => Default::default(),
        };
        if self.session.is_some() {
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
            return self.post(body);
        }
        let mut meta = self.meta.clone();
        meta.extend([
            (
                "io.modelcontextprotocol/protocolVersion".into(),
                json!("2026-07-28"),
            ),
            (
                "io.modelcontextprotocol/clientCapabilities".into(),
                self.capabilities.clone(),
            ),
            (
                "io.modelcontextprotocol/clientInfo".into(),
                json!({"name": "hookd-tests", "version": "0"}),
            ),
        ]);
        params.insert("_meta".into(), Value::Object(meta));
        let name = match method {
            "tools/call" | "prompts/get" => params.get("name"),
            "resources/read" => params.get("uri"),
            "tasks/get" | "tasks/cancel" | "tasks/update" => params.get("taskId"),
            _ => None,
        }
        .and_then(Value::as_str)
        .map(str::to_owned);
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method)
            .body(body.to_string());
        if let Some(name) = name {
            req = req.header("mcp-name", name);
        }
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        req
    }

    pub async fn send(&self, method: &str, params: Value) -> Answer {
        let response = self
            .request(method, params)
            .send()
            .await
            .expect("hookd answers");
        answer(response).await
    }

    /// The result of a request that must succeed.
    pub async fn ok(&self, method: &str, params: Value) -> Value {
        let a = self.send(method, params).await;
        assert_eq!(a.status, 200, "{method}: {:?}", a.body);
        a.result().clone()
    }

    /// A tool's result (`tools/call`).
    pub async fn call(&self, tool: &str, arguments: Value) -> Value {
        self.ok("tools/call", json!({"name": tool, "arguments": arguments}))
            .await
    }
}

/// Reads an answer, plain JSON or an event stream (the JSON-RPC response is its message with an
/// `id`; notifications before it are skipped).
pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let stream = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let text = response.text().await.unwrap_or_default();
    let body = if stream {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .rfind(|m| m.get("id").is_some())
            .unwrap_or(Value::Null)
    } else {
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    Answer {
        status,
        body,
        raw: text,
    }
}
