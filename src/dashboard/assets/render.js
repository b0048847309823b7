// How events read, shared by the dashboard (app.js) and the inbox MCP App (src/mcp/inbox): plain
// JavaScript, no build step. It only draws; the caller fetches (the dashboard from /api, the app
// through its host) and says what opening an event and replaying one do.
"use strict";

const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  // Arrays (a link with its space) are spread, not written out as text with commas.
  for (const c of children.flat(Infinity)) e.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return e;
};

const time = (t) => (t ? t.replace("T", " ").slice(0, 19) : "");

// One event as a list row: time, source, type, subject, summary, and a mark when unverified.
// Clicking it calls `open(e)`; a `fresh` row (one that just arrived) flashes.
function eventRow(e, open, fresh) {
  const unverified = e.verified === false ? el("span", { class: "bad", title: "no secret configured: not verified" }, "unverified") : "";
  const tr = el("tr", { "data-id": e.id, class: fresh ? "new" : "" },
    el("td", { class: "time" }, time(e.received_at)),
    el("td", {}, el("span", { class: "tag" }, e.source)),
    el("td", {}, e.type),
    el("td", {}, e.subject || ""),
    el("td", {}, e.summary || ""),
    el("td", {}, unverified));
  tr.addEventListener("click", () => open(e));
  return tr;
}

// A JSON value as a tree; objects and arrays deeper than `openTo` levels start folded.
function json(v, key, openTo = Infinity, depth = 0) {
  const label = key !== undefined ? [el("span", { class: "k" }, JSON.stringify(key)), ": "] : [];
  if (v !== null && typeof v === "object") {
    const entries = Array.isArray(v) ? v.map((x) => [undefined, x]) : Object.entries(v);
    const open = Array.isArray(v) ? "[" : "{", close = Array.isArray(v) ? "]" : "}";
    const d = el("details", depth < openTo ? { open: "" } : {},
      el("summary", {}, ...label, open + " " + entries.length + (Array.isArray(v) ? " items" : " keys")));
    for (const [k, x] of entries) d.append(json(x, k, openTo, depth + 1));
    d.append(el("div", {}, close));
    return d;
  }
  const cls = typeof v === "string" ? "s" : typeof v === "number" ? "n" : "l";
  return el("div", {}, ...label, el("span", { class: cls }, JSON.stringify(v)));
}

// A button that copies `text` (or what a function gives when clicked), saying whether it did.
function copyButton(text, label = "copy") {
  const b = el("button", { type: "button", class: "copy" }, label);
  b.addEventListener("click", async () => {
    const value = typeof text === "function" ? text() : text;
    try { await navigator.clipboard.writeText(value); b.textContent = "copied"; } catch { b.textContent = "select and copy"; }
    setTimeout(() => { b.textContent = label; }, 2000);
  });
  return b;
}

// A curl that sends the delivery again to `url` (the Replay field's, else a local app's): its
// body and the headers hookd kept. Signatures were not kept, so it goes unsigned: Replay re-signs.
function curl(e, url) {
  const q = (s) => "'" + String(s).replaceAll("'", "'\\''") + "'";
  const skip = new Set(["host", "content-length", "connection", "accept-encoding"]);
  const headers = Object.entries(e.headers || {})
    .filter(([k, v]) => !skip.has(k) && v !== "[redacted]")
    .map(([k, v]) => ` \\\n  -H ${q(`${k}: ${v}`)}`).join("");
  const body = typeof e.payload === "string" ? e.payload : JSON.stringify(e.payload);
  return `curl -X POST ${q(url || "http://localhost:3000/api/webhooks")}${headers} \\\n  --data-binary ${q(body)}`;
}

// The rows hookd derived from the event (an action, pushed commits, a deployment, GitHub
// activity): one small table per kind, only the kinds it has.
function derivedTables(d) {
  d = d || {};
  const kinds = [
    ["Action", d.actions, (a) => [a.type, a.status, Object.entries(a.fields || {}).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}`).join(", ")]],
    ["Pushed commits", d.pushes, (p) => [p.repo, p.branch, el("code", {}, p.sha.slice(0, 7)), p.message]],
    ["Deployment", d.deployments, (x) => [x.platform, x.project, x.state, x.environment || "", x.sha ? el("code", {}, x.sha.slice(0, 7)) : ""]],
    ["GitHub activity", d.github_activity, (g) => [g.repo, g.type, g.action || "", g.actor || "", g.title || ""]],
  ];
  return kinds.filter(([, rows]) => rows && rows.length).flatMap(([title, rows, cells]) => [
    el("h3", {}, title),
    el("table", { class: "derived", "data-kind": title }, el("tbody", {}, ...rows.map((r) => el("tr", {}, ...cells(r).map((c) => el("td", {}, c)))))),
  ]);
}

// One event whole: Replay first, then what hookd knows of it, what it derived, the payload (a
// tree, or raw) and the headers, each with a copy button. `replay(url)` sends it and resolves to
// the receiver's answer ({status, elapsed_ms, signed, answer}); `openTo` is how many levels of
// the payload start open.
function eventView(e, { replay, openTo = Infinity }) {
  const result = el("p", { id: "replay-result", class: "muted" });
  const url = el("input", { name: "url", type: "url", placeholder: "http://localhost:3000/api/webhooks" });
  const send = el("button", { type: "button" }, "Replay: send again, re-signed");
  // A button, not a form's submit: a sandboxed frame (the app's) may not submit forms.
  const form = el("form", { id: "replay" }, url, send,
    el("span", { id: "curl-copy" }, copyButton(() => curl(e, url.value), "copy as curl")));
  const go = async () => {
    if (!/^https?:\/\/./.test(url.value)) { result.textContent = "Enter the http(s) URL to send it to."; return; }
    result.textContent = "sending…";
    try {
      const r = await replay(url.value);
      result.textContent = `${r.status} in ${r.elapsed_ms} ms${r.signed ? "" : " (sent unsigned: no secret)"}: ${r.answer}`;
    } catch (err) { result.textContent = err.message; }
  };
  send.addEventListener("click", go);
  form.addEventListener("submit", (ev) => { ev.preventDefault(); go(); });
  const meta = [["received", e.received_at], ["delivery id", e.delivery_id],
    ["duplicates seen", e.delivery_id ? String(e.duplicates || 0) : ""], ["subject", e.subject],
    ["summary", e.summary], ["verified", String(e.verified)], ["occurred", e.occurred_at],
    ["content type", e.content_type], ["encoding", e.payload_encoding || "json"]];
  if (e.note) meta.push(["note", e.note]);
  const raw = typeof e.payload === "string" ? e.payload : JSON.stringify(e.payload, null, 2);
  const tree = el("div", { id: "payload", class: "json" }, json(e.payload, undefined, openTo));
  const rawView = el("pre", { id: "payload-raw", hidden: "" }, raw);
  const toggle = el("button", { id: "payload-view", type: "button", class: "copy" }, "raw");
  toggle.addEventListener("click", () => {
    const showRaw = rawView.hidden;
    tree.hidden = showRaw; rawView.hidden = !showRaw;
    toggle.textContent = showRaw ? "tree" : "raw";
  });
  const headers = Object.entries(e.headers || {});
  const headerLines = headers.map(([k, v]) => `${k}: ${v}`).join("\n");
  return [
    el("h2", { id: "event-title" }, `#${e.id} ${e.source} ${e.type}`),
    form, result,
    el("dl", { id: "event-meta" }, meta.filter(([, v]) => v).map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    el("div", { id: "derived" }, derivedTables(e.derived)),
    el("h3", {}, "Payload ", toggle, " ", el("span", { id: "payload-copy" }, copyButton(raw, "copy payload"))),
    tree, rawView,
    el("h3", {}, "Headers ", el("span", { id: "headers-copy" }, copyButton(headerLines, "copy headers"))),
    el("table", {}, el("tbody", { id: "headers" }, headers.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, String(v)))))),
  ];
}
