// The inbox MCP App's own part (see src/mcp/inbox.rs). It speaks the MCP Apps protocol
// (io.modelcontextprotocol/ui, revision 2026-01-26) with the host that drew it: JSON-RPC 2.0 over
// postMessage with the parent window. The host hands it the read tool's arguments and result;
// everything else it asks of hookd is a tools/call the host forwards (get_event_by_id to open an
// event, wait_for_event to follow new ones, replay_event to replay). It draws with render.js.

const PROTOCOL = "2026-01-26";
// The most rows the list keeps: the oldest go when new ones arrive.
const MOST_ROWS = 500;
// How long one follow call waits for an event (hosts bound how long a call may take).
const FOLLOW_SECONDS = 25;
// How often it reads what arrived, in a host that cannot hold a wait for it.
const POLL_MS = 3000;

const $ = (sel) => document.querySelector(sel);

// ---- The host: requests and notifications over postMessage -----------------------------------

const host = {
  next: 1,
  pending: new Map(),
  capabilities: {},
  post(message) { window.parent.postMessage({ jsonrpc: "2.0", ...message }, "*"); },
  request(method, params) {
    const id = this.next++;
    this.post({ id, method, params });
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  },
  notify(method, params) { this.post({ method, params }); },
  // A tool's result, or an Error saying why there is none (a refused call, or the tool's error).
  async call(name, args) {
    const r = await this.request("tools/call", { name, arguments: args });
    if (r.isError) throw new Error(text(r) || `${name} failed`);
    return structured(r);
  },
};

// What a tool result carries: its structured content, else its text read as JSON.
function structured(r) {
  if (r && r.structuredContent && typeof r.structuredContent === "object") return r.structuredContent;
  try { return JSON.parse(text(r)); } catch { return null; }
}
const text = (r) => ((r && r.content) || []).filter((c) => c.type === "text").map((c) => c.text).join("\n");

window.addEventListener("message", (ev) => {
  const m = ev.data;
  if (ev.source !== window.parent || !m || m.jsonrpc !== "2.0") return;
  if (m.method === undefined) {
    const waiting = host.pending.get(m.id);
    if (!waiting) return;
    host.pending.delete(m.id);
    if (m.error) waiting.reject(new Error(m.error.message || "the host refused"));
    else waiting.resolve(m.result);
  } else if (m.id !== undefined) {
    answer(m);
  } else {
    const on = notifications[m.method];
    if (on) on(m.params || {});
  }
});

// Requests from the host.
function answer(m) {
  if (m.method === "ui/resource-teardown") stopFollowing();
  if (m.method === "ui/resource-teardown" || m.method === "ping") host.post({ id: m.id, result: {} });
  else host.post({ id: m.id, error: { code: -32601, message: `the inbox does not handle ${m.method}` } });
}

const notifications = {
  "ui/notifications/tool-input": (p) => { input = p.arguments || {}; },
  "ui/notifications/tool-result": (r) => showResult(r),
  "ui/notifications/tool-cancelled": (p) => { $("#what").textContent = "the call was cancelled" + (p.reason ? `: ${p.reason}` : ""); },
  "ui/notifications/host-context-changed": (c) => applyContext(c),
};

function applyContext(c) {
  if (c.theme) document.documentElement.dataset.theme = c.theme;
}

// ---- The list -------------------------------------------------------------------------------

// The arguments of the tool call the host drew the inbox for.
let input = {};
const shown = new Map();
// The newest receive time shown (where reading what arrived starts, when polling).
let newestAt = null;

function showResult(r) {
  const out = structured(r);
  if (r.isError || !out) return problem(text(r) || "the tool returned nothing to show");
  // get_event_by_id answers one event; the lists answer `events`, search_events `hits`.
  const one = out.id !== undefined && out.source !== undefined ? [out] : null;
  const events = one || out.events || out.hits || [];
  for (const e of events) add(e, false);
  const filter = [input.source && `source ${input.source}`, input.type && `type ${input.type}`].filter(Boolean).join(", ");
  $("#what").textContent = `${events.length} event${events.length === 1 ? "" : "s"}${filter ? ` (${filter})` : ""}` +
    (input.query ? ` matching “${input.query}”` : "");
  empty();
  if (one) showEvent(one[0]);
  startFollowing(events);
}

// A row, newest on top (the tools answer oldest first; a search newest first).
function add(e, fresh) {
  if (shown.has(e.id)) return;
  if (!newestAt || e.received_at > newestAt) newestAt = e.received_at;
  const row = eventRow(e, openEvent, fresh);
  shown.set(e.id, row);
  const newer = [...$("#rows").children].find((r) => Number(r.dataset.id) < e.id);
  $("#rows").insertBefore(row, newer || null);
  while (shown.size > MOST_ROWS) {
    const oldest = $("#rows").lastElementChild;
    shown.delete(Number(oldest.dataset.id));
    oldest.remove();
  }
}

const empty = () => { $("#empty").hidden = shown.size > 0; };

function problem(message) {
  $("#problem").textContent = message;
  $("#problem").hidden = !message;
}

// ---- One event, fetched through the host ---------------------------------------------------

async function openEvent(e) {
  problem("");
  for (const r of $("#rows").children) r.classList.toggle("on", Number(r.dataset.id) === e.id);
  try {
    // A list's rows may come without their payload; get_event_by_id gives the event whole.
    showEvent(await host.call("get_event_by_id", { event_id: e.id }));
  } catch (err) {
    problem(`cannot open event ${e.id}: ${err.message}`);
  }
}

// The event whole (payload folded below its first level), with Replay through replay_event.
function showEvent(whole) {
  const replay = (url) => host.call("replay_event", { event_id: whole.id, url });
  $("#event-view").replaceChildren(...eventView(whole, { replay, openTo: 1 }));
  $("#list").hidden = true;
  $("#event").hidden = false;
}

$("#back").addEventListener("click", () => {
  $("#event").hidden = true;
  $("#list").hidden = false;
});

// ---- Following new events while the inbox is open --------------------------------------------

let following = false;

function startFollowing(events) {
  if (following) return;
  if (!host.capabilities.serverTools) {
    $("#live").textContent = "this host does not let the inbox call tools: no new events";
    return;
  }
  following = true;
  const newest = events.reduce((top, e) => Math.max(top, e.id), 0);
  follow(newest || undefined);
}

function stopFollowing() {
  following = false;
  $("#live").textContent = "";
  $("#live").classList.remove("on");
}

// wait_for_event returns the next matching event after `after` (or says it timed out): called
// again and again, it shows each new event as it lands, missing none.
async function follow(after) {
  const live = $("#live");
  let failures = 0;
  while (following) {
    live.textContent = "live"; live.classList.add("on");
    try {
      const args = { timeout_seconds: FOLLOW_SECONDS };
      if (after !== undefined) args.after_id = after;
      if (input.source) args.source = input.source;
      if (input.type) args.type = input.type;
      const r = await host.call("wait_for_event", args);
      // Not an event nor a time-out (a task, when the host's client runs waits as tasks): the
      // host cannot hold a wait for the app, which reads what arrived every few seconds instead.
      if (!r || (r.event === undefined && r.timed_out === undefined)) return poll(after);
      failures = 0;
      if (r.event) {
        add(r.event, true);
        empty();
        after = r.event.id;
      }
    } catch (err) {
      failures += 1;
      live.classList.remove("on");
      // A host that keeps refusing the wait (some cannot hold one for an app): read instead.
      if (failures >= 3) return poll(after);
      live.textContent = "reconnecting…";
      await new Promise((resolve) => setTimeout(resolve, 2000 * failures));
    }
  }
}

// Every few seconds, the events received since the newest shown (get_events_since, oldest first).
async function poll(after) {
  const live = $("#live");
  live.textContent = "live (read every 3 s)"; live.classList.add("on");
  let since = newestAt || new Date(Date.now() - 60000).toISOString();
  while (following) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    try {
      const args = { timestamp: since, limit: 100, include_payload: false };
      if (input.source) args.source = input.source;
      const r = await host.call("get_events_since", args);
      for (const e of (r && r.events) || []) {
        since = e.received_at;
        if (e.id > (after || 0) && (!input.type || e.type === input.type)) add(e, true);
      }
      empty();
    } catch (err) {
      live.classList.remove("on");
      live.textContent = `not following new events: ${err.message}`;
      following = false;
    }
  }
}

// ---- Start: initialize with the host, and tell it the size drawn ------------------------------

host.request("ui/initialize", {
  appInfo: { name: "hookd-inbox", version: "1.0.0" },
  appCapabilities: {},
  protocolVersion: PROTOCOL,
}).then((init) => {
  host.capabilities = init.hostCapabilities || {};
  applyContext(init.hostContext || {});
  host.notify("ui/notifications/initialized", {});
  // From now on the host hears of each change of height, so its frame fits what is drawn.
  new ResizeObserver(() => {
    host.notify("ui/notifications/size-changed", { height: Math.ceil(document.documentElement.scrollHeight) });
  }).observe(document.body);
}, (err) => problem(`the host did not start the inbox: ${err.message}`));
