//! MCP sessions of the 2025 protocol era, capped: rmcp's in-memory session manager, plus the
//! bounds a public endpoint needs.
//!
//! - At most `max` sessions exist; a new one closes the least recently used session first,
//!   preferring one with no request or stream open (3,000 `initialize` calls held 216 MB for
//!   five minutes without this).
//! - A request that reuses the id of a request still in flight in its session is answered with
//!   a JSON-RPC error at once: rmcp would route both answers to the newer stream and leave the
//!   older one open.
//! - `is_gone` lets the HTTP layer answer 404, not 500, to a call whose session was deleted while
//!   it was on its way.

use super::events::advertise::Advertised;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures_util::{Stream, StreamExt};
use rmcp::ErrorData;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::common::server_side_http::{ServerSseMessage, SessionId};
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError,
};
use tokio::time::Instant;

/// What each live session is doing.
#[derive(Debug)]
struct Usage {
    last_used: Instant,
    /// Streams open (request answers and the GET stream).
    streams: usize,
    /// JSON-RPC ids of requests in flight, as JSON text.
    requests: HashSet<String>,
}

impl Usage {
    fn new() -> Self {
        Self {
            last_used: Instant::now(),
            streams: 0,
            requests: HashSet::new(),
        }
    }

    fn idle(&self) -> bool {
        self.streams == 0 && self.requests.is_empty()
    }
}

type Table = Arc<Mutex<HashMap<SessionId, Usage>>>;

/// rmcp's local session manager with a cap and request-id hygiene.
pub struct Sessions {
    inner: LocalSessionManager,
    max: usize,
    usage: Table,
    /// Held while one session is made: making room and adding the session are one step, so
    /// concurrent `initialize` calls cannot all find room for themselves.
    creating: tokio::sync::Mutex<()>,
}

impl Sessions {
    pub fn new(max: usize) -> Self {
        Self {
            inner: LocalSessionManager::default(),
            max: max.max(1),
            usage: Default::default(),
            creating: Default::default(),
        }
    }

    /// Whether `id` names no live session (closed, expired or evicted).
    pub async fn is_gone(&self, id: &str) -> bool {
        !self.inner.sessions.read().await.contains_key(id)
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Usage>> {
        self.usage.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn touch(&self, id: &SessionId) {
        if let Some(u) = self.table().get_mut(id) {
            u.last_used = Instant::now();
        }
    }

    /// Makes room for one more session: forgets sessions rmcp already ended (idle timeout),
    /// then closes the least recently used, idle ones first.
    async fn make_room(&self) {
        let live: HashSet<SessionId> = self.inner.sessions.read().await.keys().cloned().collect();
        let victim = {
            let mut table = self.table();
            table.retain(|id, _| live.contains(id));
            if table.len() < self.max {
                return;
            }
            table
                .iter()
                .min_by_key(|(_, u)| (!u.idle(), u.last_used))
                .map(|(id, _)| id.clone())
        };
        if let Some(id) = victim {
            tracing::info!(session = %id, max = self.max, "MCP session limit reached: closing the least recently used session");
            self.table().remove(&id);
            let _ = self.inner.close_session(&id).await;
        }
    }

    /// Counts a stream open until it is dropped, and the request it answers (if any) in flight.
    fn track<S>(&self, id: &SessionId, request: Option<String>, stream: S) -> Tracked<S> {
        if let Some(u) = self.table().get_mut(id) {
            u.streams += 1;
            u.last_used = Instant::now();
        }
        Tracked {
            inner: Box::pin(stream),
            _open: Open {
                table: self.usage.clone(),
                id: id.clone(),
                request,
            },
        }
    }
}

/// A stream that tells the table when it ends.
pub struct Tracked<S> {
    inner: std::pin::Pin<Box<S>>,
    _open: Open,
}

impl<S: Stream> Stream for Tracked<S> {
    type Item = S::Item;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

struct Open {
    table: Table,
    id: SessionId,
    request: Option<String>,
}

impl Drop for Open {
    fn drop(&mut self) {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(u) = table.get_mut(&self.id) {
            u.streams = u.streams.saturating_sub(1);
            u.last_used = Instant::now();
            if let Some(r) = &self.request {
                u.requests.remove(r);
            }
        }
    }
}

/// The one message answering a request whose id is already in flight.
fn reused_id(message: &ClientJsonRpcMessage, shown: &str) -> ServerSseMessage {
    let id = match message {
        ClientJsonRpcMessage::Request(r) => Some(r.id.clone()),
        _ => None,
    };
    let error = ErrorData::invalid_request(
        format!("request id {shown} is already in use by a request in flight in this session"),
        None,
    );
    ServerSseMessage::from_message(ServerJsonRpcMessage::error(error, id))
}

impl SessionManager for Sessions {
    type Error = LocalSessionManagerError;
    type Transport = Advertised<<LocalSessionManager as SessionManager>::Transport>;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let _one_at_a_time = self.creating.lock().await;
        self.make_room().await;
        let (id, transport) = self.inner.create_session().await?;
        self.table().insert(id.clone(), Usage::new());
        Ok((id, Advertised(transport)))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.touch(id);
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.table().remove(id);
        self.inner.close_session(id).await
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let request = match &message {
            ClientJsonRpcMessage::Request(r) => serde_json::to_string(&r.id).ok(),
            _ => None,
        };
        if let Some(r) = &request {
            let fresh = match self.table().get_mut(id) {
                Some(u) => u.requests.insert(r.clone()),
                None => true,
            };
            if !fresh {
                let answer = futures_util::stream::iter([reused_id(&message, r)]);
                return Ok(answer.left_stream());
            }
        }
        let stream = match self.inner.create_stream(id, message).await {
            Ok(stream) => stream,
            Err(e) => {
                if let (Some(r), Some(u)) = (&request, self.table().get_mut(id)) {
                    u.requests.remove(r);
                }
                return Err(e);
            }
        };
        Ok(self.track(id, request, stream).right_stream())
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.touch(id);
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let stream = self.inner.create_standalone_stream(id).await?;
        Ok(self.track(id, None, stream))
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let stream = self.inner.resume(id, last_event_id).await?;
        Ok(self.track(id, None, stream))
    }
}
