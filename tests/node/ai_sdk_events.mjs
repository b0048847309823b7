// hookd's MCP Events against the Vercel AI SDK's MCP client (@ai-sdk/mcp, `experimental_events`
// in direct mode, with its own `createMCPEventWebhook` receiver), in both of its modes: its default
// (protocol 2026-07-28, `server/discover` first) and 2025-11-25 (`protocolVersionDiscovery: false`,
// `initialize`). Each mode lists the events, subscribes (the library answers hookd's callback
// challenge), receives a webhook that the library verifies, refreshes and unsubscribes.
//
// Usage: node ai_sdk_events.mjs <path to the hookd binary>   (Node 22, as @ai-sdk/mcp requires)
// Prints one line per check and a closing "N passed, M failed" line; exits non-zero on failure.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

import { createMCPClient, experimental_createMCPEventWebhook as createMCPEventWebhook } from "@ai-sdk/mcp";

const HOOKD = process.argv[2];
const TOKEN = "ai-sdk-events-token";
let passed = 0;
let failed = 0;

function check(name, ok, detail = "") {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ": " + JSON.stringify(detail)}`);
}

function startServe(dataDir) {
  const proc = spawn(HOOKD, ["serve", "--data-dir", dataDir, "--webhook-addr", "127.0.0.1:0",
    "--mcp-addr", "127.0.0.1:0", "--allow-private-callbacks"],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, HOOKD_MCP_TOKEN: TOKEN } });
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stderr }).on("line", (line) => {
      if (line.includes("hookd listening")) {
        resolve({ proc, webhook: /webhook_addr=(\S+)/.exec(line)[1], mcp: /mcp_addr=(\S+)/.exec(line)[1] });
      }
    });
    proc.on("exit", () => reject(new Error("hookd serve exited")));
  });
}

// The application's private subscription store, as the library asks for (in memory here).
function memoryStore() {
  const byKey = new Map();
  return {
    async get(key) { return byKey.get(key); },
    async getById(id) { return [...byKey.values()].find((s) => s.id === id); },
    async set(s) { byKey.set(s.key, structuredClone(s)); },
    async update(key, patch) { const s = byKey.get(key); if (s) byKey.set(key, { ...s, ...patch }); },
    async delete(key) { byKey.delete(key); },
    size() { return byKey.size; },
  };
}

// The library's Web handler served by node:http on loopback; `onEvent` hands events to `seen`.
function receiver(store, seen) {
  const handle = createMCPEventWebhook({
    store,
    onEvent: async ({ subscription, event }) => { seen.push({ subscription, event }); },
    onError: (e) => console.error("receiver:", e),
  });
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method, headers: req.headers, body: req.method === "POST" ? Buffer.concat(chunks) : undefined,
    });
    const response = await handle(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function until(what, ok, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (ok()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  check(what, false, "timed out");
  return false;
}

async function mode(label, discovery, hookd) {
  const store = memoryStore();
  const seen = [];
  const server = await receiver(store, seen);
  const client = await createMCPClient({
    transport: { type: "http", url: `http://${hookd.mcp}/mcp`, headers: { Authorization: `Bearer ${TOKEN}` } },
    experimental_events: { store },
    protocolVersionDiscovery: discovery,
  });
  try {
    const list = await client.experimental_events.list();
    const names = list.events.map((e) => e.name);
    check(`${label}: events/list names any and the sources`, names[0] === "any" && names.includes("github"), names);

    const url = `http://127.0.0.1:${server.address().port}/mcp-events`;
    const sub = await client.experimental_events.subscribe({
      name: "github", arguments: { type: "push" }, ttlMs: 600000,
      delivery: { mode: "webhook", url, allowInsecureLocalhost: true },
    });
    check(`${label}: subscribe answers an id and an expiry`, sub.id && sub.refreshBefore, sub);

    const posted = await fetch(`http://${hookd.webhook}/webhook/github`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": `ai-${label}` },
      body: JSON.stringify({ ref: "refs/heads/main", mode: label }),
    }).then((r) => r.json());
    if (await until(`${label}: the receiver verifies and accepts the event`,
      () => seen.some((s) => s.event.data?.id === posted.event_id))) {
      const got = seen.find((s) => s.event.data.id === posted.event_id);
      check(`${label}: the library verified and accepted the event`,
        got.event.name === "github" && got.event.data.payload.mode === label && got.subscription.id === sub.id, got);
    }

    const refreshed = await client.experimental_events.refresh({ id: sub.id });
    check(`${label}: refresh keeps the subscription`, refreshed.id === sub.id && refreshed.refreshBefore, refreshed);

    await client.experimental_events.unsubscribe({ id: sub.id });
    check(`${label}: unsubscribe forgets it`, store.size() === 0);
  } catch (e) {
    check(`${label}: no exception`, false, String(e?.stack ?? e));
  } finally {
    await client.close();
    server.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), "hookd-ai-sdk-"));
try {
  const hookd = await startServe(dir);
  try {
    await mode("2026-07-28 (default)", true, hookd);
    await mode("2025-11-25", false, hookd);
  } finally {
    hookd.proc.kill("SIGTERM");
  }
} catch (e) {
  check("no exception", false, String(e?.stack ?? e));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
