// hookd's dashboard: plain JavaScript, no build step. Data comes from /api/* (see src/dashboard);
// how an event reads (its row, its page) is render.js's, shared with the inbox MCP App.
"use strict";

const $ = (sel) => document.querySelector(sel);
// The MCP token, when this hookd has one: asked once, kept for the browser session.
const token = () => sessionStorage.getItem("hookd-token");
const authHeaders = () => (token() ? { Authorization: "Bearer " + token() } : {});

async function api(path, options = {}, again = true) {
  const r = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  if (r.status === 401 && again && await refreshed()) return api(path, options, false);
  if (r.status === 401) { askToken(); throw new Error("token needed"); }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || r.statusText);
  if (Array.isArray(body)) {
    body.more = r.headers.get("x-hookd-more") === "true";
    body.total = r.headers.get("x-hookd-total");
  }
  return body;
}

function askToken() {
  $("#token").hidden = false;
  $("main").hidden = true;
  signInPlace().then((at) => {
    $("#signin").hidden = !at;
    if (at) $("#signin").textContent = "Sign in with " + at.name;
  });
}

// ---- Signing in: at hookd's own authorization server (--mcp-authorization-server self), or at the
// identity provider (--dashboard-client-id) --------------------------------------------------------
// The dashboard is a public OAuth client redirected back to this page: the authorization code flow
// with PKCE, tokens kept for this browser session; an access token that stops working is refreshed
// once before asking again. /api/signin says where, and for which client.

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

let place = null;
async function signInPlace() {
  if (place) return place;
  try {
    const r = await fetch("/api/signin");
    if (!r.ok) return null;
    const at = await r.json();
    // Sent back to another address, this page would not find what it saved: offer the token.
    return new URL(at.redirect_uri).origin === location.origin ? (place = at) : null;
  } catch { return null; }
}

async function signIn() {
  const at = await signInPlace();
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem("hookd-signin", JSON.stringify({ verifier, state, back: location.hash }));
  const u = new URL(at.authorization_endpoint);
  const p = { response_type: "code", client_id: at.client_id, redirect_uri: at.redirect_uri,
    code_challenge: challenge, code_challenge_method: "S256", state, scope: at.scope };
  if (at.resource) p.resource = at.resource;
  if (at.prompt) p.prompt = at.prompt;
  for (const [k, v] of Object.entries(p)) u.searchParams.set(k, v);
  location.assign(u.href);
}

async function tokens(form) {
  const at = await signInPlace();
  if (!at) return false;
  const r = await fetch(at.token_endpoint, { method: "POST", body: new URLSearchParams({ ...form, client_id: at.client_id }) });
  if (!r.ok) return false;
  const t = await r.json();
  sessionStorage.setItem("hookd-token", t.access_token);
  if (t.refresh_token) sessionStorage.setItem("hookd-refresh", t.refresh_token);
  else sessionStorage.removeItem("hookd-refresh");
  return true;
}

async function finishSignIn() {
  const q = new URLSearchParams(location.search);
  if (!q.has("code") && !q.has("error")) return;
  const saved = JSON.parse(sessionStorage.getItem("hookd-signin") || "{}");
  sessionStorage.removeItem("hookd-signin");
  history.replaceState(null, "", "/" + (saved.back || ""));
  const at = await signInPlace();
  if (!at || !saved.state || q.get("state") !== saved.state) return;
  // RFC 9207: an answer naming another issuer is not this sign-in's.
  if (q.has("iss") && q.get("iss") !== at.issuer) return;
  if (q.has("error")) {
    $("#signin-error").textContent = "Sign-in refused: " + (q.get("error_description") || q.get("error"));
    $("#signin-error").hidden = false;
    return;
  }
  await tokens({ grant_type: "authorization_code", code: q.get("code"), code_verifier: saved.verifier,
    redirect_uri: at.redirect_uri });
}

// One refresh at a time: requests refused together share it (a refresh token presented twice
// would end the sign-in, by design).
let refreshing = null;
function refreshed() {
  if (!refreshing) {
    const refresh = sessionStorage.getItem("hookd-refresh");
    sessionStorage.removeItem("hookd-refresh");
    refreshing = (refresh ? tokens({ grant_type: "refresh_token", refresh_token: refresh }) : Promise.resolve(false))
      .finally(() => setTimeout(() => { refreshing = null; }, 1000));
  }
  return refreshing;
}

$("#signin").addEventListener("click", () => signIn().catch(show));

$("#token").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem("hookd-token", e.target.token.value);
  $("#token").hidden = true;
  $("main").hidden = false;
  route();
  startLive();
  revealTriggers();
});

// ---- The event list, live ----------------------------------------------------------------------

// The list's filters and page, kept in the URL (`#/?source=github&type=push&before=120`), so a
// view can be reloaded and shared.
function filters() {
  const p = new URLSearchParams((location.hash.split("?")[1]) || "");
  const f = {};
  for (const k of ["source", "type", "q", "since", "until", "verified", "before", "limit"]) f[k] = p.get(k) || "";
  return f;
}

// A time in the URL (RFC 3339, UTC) as a datetime-local field shows it (local time), and back.
const pad = (n) => String(n).padStart(2, "0");
function toLocal(iso) {
  const t = new Date(iso);
  if (!iso || isNaN(t)) return "";
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
}
const toIso = (local) => (local ? new Date(local).toISOString() : "");

// The URL of the list with `changes` to its filters.
function listHash(changes) {
  const f = { ...filters(), ...changes };
  const q = query(f);
  return "#/" + (q ? "?" + q : "");
}

// Opening an event from the list.
const openEvent = (e) => { location.hash = "#/event/" + e.id; };

function query(f) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) p.set(k, v);
  return p.toString();
}

async function loadEvents() {
  const f = filters();
  const form = $("#filters");
  form.type.value = f.type; form.q.value = f.q; form.verified.value = f.verified;
  form.since.value = toLocal(f.since); form.until.value = toLocal(f.until);
  const rows = await api("/api/events?" + query(f));
  $("#rows").replaceChildren(...rows.map((e) => eventRow(e, openEvent, false)));
  const filtered = f.source || f.type || f.q || f.since || f.until || f.verified;
  $("#empty").hidden = rows.length > 0;
  $("#empty").replaceChildren(...(filtered || f.before
    ? ["No events match. ", el("a", { href: "#/" }, "Show all events")]
    : ["No events yet. Send one: ", el("code", {}, "hookd send github tests/fixtures/github/push.json --type push")]));
  // Paging back: older than the last row shown; the newest again from the top.
  const last = rows.length ? rows[rows.length - 1].id : null;
  $("#older").hidden = !rows.more || last === null || f.q;
  $("#older").href = last === null ? "#/" : listHash({ before: String(last) });
  $("#newest").hidden = !f.before;
  $("#newest").href = listHash({ before: "" });
  counted = { shown: rows.length, total: rows.total == null ? null : Number(rows.total), more: rows.more };
  showCount();
  $("#more").hidden = true;
}

// How many rows the list shows of how many match; live rows add to both.
let counted = { shown: 0, total: null, more: false };
function showCount() {
  const f = filters();
  $("#count").textContent = counted.total == null ? (counted.more ? "more match than shown: narrow the search" : "")
    : `${counted.shown} shown of ${counted.total} ${f.source || f.type || f.since || f.until ? "matching" : "in all"}${f.before ? ", older ones" : ""}`;
}

async function loadSourceChoices() {
  const sources = await api("/api/sources");
  const select = $("#filters").source;
  const chosen = filters().source;
  select.replaceChildren(el("option", { value: "" }, "all sources"),
    ...sources.map((s) => el("option", { value: s.name }, s.name)));
  if (chosen && !sources.some((s) => s.name === chosen)) select.append(el("option", { value: chosen }, chosen));
  select.value = chosen;
}

// Filtering writes the URL; the list follows it (route).
$("#filters").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  location.hash = listHash({ source: f.get("source") || "", type: f.get("type") || "", q: f.get("q") || "",
    since: toIso(f.get("since")), until: toIso(f.get("until")), verified: f.get("verified") || "", before: "" });
});

// New events arrive over server-sent events, read with fetch so the token can travel in a header.
let liveAbort = null;
// The filters the live stream follows.
let listening = null;
async function startLive() {
  if (liveAbort) liveAbort.abort();
  liveAbort = new AbortController();
  const f = filters();
  listening = query({ source: f.source, type: f.type, verified: f.verified });
  const status = $("#live");
  try {
    const r = await fetch("/api/stream?" + listening,
      { headers: authHeaders(), signal: liveAbort.signal });
    if (r.status === 401) return (await refreshed()) ? startLive() : askToken();
    status.textContent = "live"; status.classList.add("on");
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const message = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        const data = message.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
        // New events belong in the list unless it shows a search, an older page or a past time.
        if (data && !filters().q && !filters().before && !filters().until) {
          $("#rows").prepend(eventRow(JSON.parse(data), openEvent, true));
          $("#empty").hidden = true;
          counted.shown += 1;
          if (counted.total != null) counted.total += 1;
          showCount();
        }
      }
    }
  } catch (err) {
    if (err.name === "AbortError") return;
  }
  status.textContent = "reconnecting…"; status.classList.remove("on");
  setTimeout(startLive, 2000);
}

// ---- One event ---------------------------------------------------------------------------------

async function showEvent(id) {
  const e = await api("/api/events/" + id);
  const replay = (url) => api(`/api/events/${e.id}/replay`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ url }),
  });
  $("#event-view").replaceChildren(...eventView(e, { replay }));
}

// ---- Sources, refused deliveries, consumers ---------------------------------------------------

// A small bar chart of hourly counts, oldest hour left.
function chart(counts) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", "120"); svg.setAttribute("height", "24"); svg.setAttribute("class", "chart");
  svg.setAttribute("viewBox", "0 0 120 24");
  const top = Math.max(1, ...counts);
  counts.forEach((n, i) => {
    const h = Math.round((n / top) * 22);
    const r = document.createElementNS(ns, "rect");
    r.setAttribute("x", String(i * 5)); r.setAttribute("y", String(24 - h - 1));
    r.setAttribute("width", "4"); r.setAttribute("height", String(Math.max(h, n ? 1 : 0)));
    const t = document.createElementNS(ns, "title"); t.textContent = `${n} (${counts.length - i} h ago)`;
    r.append(t); svg.append(r);
  });
  svg.dataset.total = String(counts.reduce((a, b) => a + b, 0));
  return svg;
}

// The URL to give a provider: on a listener bound to every address, the host this page came from.
function webhookUrl(x) {
  return x.public ? x.webhook_url : x.webhook_url.replace(/^http:\/\/(0\.0\.0\.0|\[::\])/, `http://${location.hostname}`);
}

async function showSources() {
  const [s, hourly] = await Promise.all([api("/api/sources"), api("/api/sources/hourly")]);
  $("#source-rows").replaceChildren(...s.map((x) => el("tr", { "data-source": x.name },
    el("td", {}, x.name), el("td", { class: "url" }, el("code", {}, webhookUrl(x)), " ", copyButton(webhookUrl(x))),
    el("td", {}, x.provider || "(not configured)"),
    el("td", {}, x.provider === "none" ? "unsigned" : x.secret_set ? "set" : el("span", { class: "bad" }, "none")),
    el("td", {}, String(x.count)), el("td", { class: "time" }, time(x.last_received_at)),
    el("td", {}, hourly[x.name] ? chart(hourly[x.name]) : ""))));
  const local = s.length && !s[0].public;
  $("#reach").textContent = local
    ? "Providers on the internet cannot reach these addresses: give them a tunnel's URL (README: Getting real webhooks to your laptop) and start hookd with --webhook-public-url set to it, so these show what to paste."
    : "These are the URLs to paste in each provider's webhook settings (--webhook-public-url).";
}

async function showRejected() {
  const r = await api("/api/rejections");
  $("#rejected-rows").replaceChildren(...r.map((x) => el("tr", {},
    el("td", { class: "time" }, time(x.received_at)), el("td", {}, x.source),
    el("td", {}, el("span", { class: "bad" }, x.reason)), el("td", {}, x.detail), el("td", {}, String(x.body_size)))));
}

async function showConsumers() {
  const c = await api("/api/consumers");
  $("#consumer-rows").replaceChildren(...c.map((x) => el("tr", {},
    el("td", {}, x.name), el("td", {}, String(x.cursor)), el("td", {}, String(x.backlog)),
    el("td", { class: "time" }, time(x.updated_at)))));
}

async function showActions() {
  const a = await api("/api/actions");
  $("#action-rows").replaceChildren(...a.map((x) => el("tr", {},
    el("td", { class: "time" }, time(x.created_at)), el("td", {}, x.type),
    el("td", {}, x.fields.customer_email || x.fields.customer || ""),
    el("td", {}, Object.entries(x.fields).filter(([k, v]) => v !== null && !k.startsWith("customer"))
      .map(([k, v]) => `${k}: ${v}`).join(", ")),
    el("td", {}, el("a", { href: "#/event/" + x.event_id }, "#" + x.event_id)))));
}

// Deployments as a timeline: one line per project, its state changes newest first.
async function showDeployments() {
  const list = await api("/api/deployments");
  const byProject = new Map();
  for (const d of list) {
    if (!byProject.has(d.project)) byProject.set(d.project, []);
    byProject.get(d.project).push(d);
  }
  $("#deployment-list").replaceChildren(...[...byProject].map(([project, states]) => el("div", { class: "project" },
    el("h3", {}, project),
    el("ol", { class: "timeline" }, ...states.map((d) => el("li", { class: "state-" + d.state },
      el("span", { class: "time" }, time(d.time)), " ",
      el("strong", {}, d.state), " ", d.environment || "", " ",
      d.sha ? el("code", {}, d.sha.slice(0, 7)) : "", " ",
      d.duration_seconds != null ? `(${d.duration_seconds} s)` : "",
      d.url ? [" ", el("a", { href: d.url.startsWith("http") ? d.url : "https://" + d.url }, "open")] : ""))))));
  if (!list.length) $("#deployment-list").replaceChildren(el("p", { class: "muted" }, "No deployments yet (Vercel and GitHub deployment events make them)."));
}

// ---- Triggers: what [[triggers]] in hookd.toml ran ----------------------------------------------

async function showTriggers() {
  const triggers = await api("/api/triggers");
  $("#trigger-rows").replaceChildren(...triggers.map((t) => el("tr", { "data-trigger": t.name },
    el("td", {}, t.name), el("td", {}, el("code", {}, t.does)),
    el("td", {}, t.disabled ? el("span", { class: "bad" }, "disabled: " + t.disabled)
      : Object.entries(t.runs).map(([status, n]) => `${n} ${status}`).join(", ") || "none yet"))));
  const choice = $("#run-filters").trigger;
  const chosen = choice.value;
  choice.replaceChildren(el("option", { value: "" }, "all triggers"), ...triggers.map((t) => el("option", {}, t.name)));
  choice.value = chosen;
  await loadRuns();
}

async function loadRuns() {
  const f = new FormData($("#run-filters"));
  const runs = await api("/api/triggers/runs?" + query({ trigger: f.get("trigger"), status: f.get("status") }));
  $("#run-rows").replaceChildren(...runs.map((r) => {
    const events = el("td", {}, ...r.event_ids.flatMap((id, i) => [i ? ", " : "", el("a", { href: "#/event/" + id }, "#" + id)]));
    const ended = r.exit_code != null ? "exit " + r.exit_code : r.http_status != null ? "HTTP " + r.http_status : "";
    const took = r.duration_ms != null ? ` (${r.duration_ms} ms)` : "";
    const output = r.output || r.error ? el("details", {}, el("summary", {}, r.error || "output"), el("pre", {}, r.output)) : "";
    const retry = ["failed", "dead"].includes(r.status) ? el("button", { "data-retry": r.id }, "Retry") : "";
    if (retry) retry.addEventListener("click", async () => {
      await api(`/api/triggers/runs/${r.id}/retry`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).catch(show);
      await loadRuns();
    });
    return el("tr", { "data-run": r.id },
      el("td", {}, String(r.id)), el("td", { class: "time" }, time(r.created_at)), el("td", {}, r.trigger),
      el("td", {}, el("span", { class: ["failed", "dead"].includes(r.status) ? "bad" : "" }, r.status)),
      events, el("td", {}, String(r.attempts)), el("td", {}, ended + took), el("td", {}, output), el("td", {}, retry));
  }));
  $("#no-runs").hidden = runs.length > 0;
}

$("#run-filters").addEventListener("change", () => loadRuns().catch(show));

// While the tab is open, it looks again every 2 s (runs change without new events).
let triggersTimer = null;
function followTriggers(open) {
  clearInterval(triggersTimer);
  triggersTimer = open ? setInterval(() => showTriggers().catch(show), 2000) : null;
}

// ---- Access: the clients let in through hookd's own authorization server ------------------------

async function showAccess() {
  const grants = await api("/api/grants");
  $("#grant-rows").replaceChildren(...grants.map((g) => {
    const revoke = el("button", { "data-grant": g.id }, "Revoke");
    revoke.addEventListener("click", async () => {
      await api(`/api/grants/${encodeURIComponent(g.id)}/revoke`, { method: "POST",
        headers: { "content-type": "application/json" }, body: "{}" }).catch(show);
      showAccess().catch(show);
    });
    return el("tr", { "data-grant": g.id }, el("td", {}, g.client_name || g.client_id), el("td", {}, g.scope),
      el("td", { class: "time" }, time(g.granted_at)), el("td", {}, revoke));
  }));
  if (!grants.length) $("#grant-rows").replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "muted" }, "No client has been let in.")));
}

signInPlace().then((at) => { $("#access-tab").hidden = !at?.own; });

// The Triggers tab, where hookd.toml declares some.
function revealTriggers() {
  api("/api/triggers").then((t) => { $("#triggers-tab").hidden = t.length === 0; }).catch(() => {});
}

// ---- Routing -----------------------------------------------------------------------------------

function show(err) { console.error(err); }

// A table that came back empty says why, with the note written under it.
function notesForEmpty() {
  for (const note of document.querySelectorAll(".empty-note")) {
    note.hidden = document.getElementById(note.dataset.for).children.length > 0;
  }
}

// The list's address last shown: going back to it keeps its rows and place.
let listShown = null;
// The narrowest window that shows an event beside the list.
const SPLIT_WIDTH = 1100;

function route() {
  const hash = location.hash || "#/";
  const m = hash.match(/^#\/event\/(\d+)/);
  const tab = m ? "event" : hash.startsWith("#/?") ? "events" : { "#/sources": "sources", "#/rejected": "rejected", "#/consumers": "consumers",
    "#/actions": "actions", "#/deployments": "deployments", "#/access": "access", "#/triggers": "triggers" }[hash] || "events";
  // Wide enough, an event opens beside the list, which keeps its place (it is not loaded again).
  const split = tab === "event" && window.innerWidth >= SPLIT_WIDTH && $("#rows").children.length > 0;
  $("main").classList.toggle("split", split);
  for (const s of document.querySelectorAll("main > section")) s.hidden = !(s.id === tab || (split && s.id === "events"));
  for (const r of $("#rows").children) r.classList.toggle("on", m !== null && r.dataset.id === m[1]);
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("on", a.dataset.tab === tab || (tab === "event" && a.dataset.tab === "events"));
  const load = { event: () => showEvent(m[1]), sources: showSources, rejected: showRejected, consumers: showConsumers,
    actions: showActions, deployments: showDeployments, access: showAccess, triggers: showTriggers,
    events: () => (hash === listShown && $("#rows").children.length ? Promise.resolve() : Promise.all([loadEvents(), loadSourceChoices()]))
      .then(() => { listShown = hash; }) }[tab];
  load().then(notesForEmpty).catch(show);
  if (tab === "events" && listening !== query({ source: filters().source, type: filters().type, verified: filters().verified })) startLive();
  followTriggers(tab === "triggers");
}

window.addEventListener("hashchange", route);
finishSignIn().catch(show).finally(() => {
  route();
  startLive();
  revealTriggers();
});
