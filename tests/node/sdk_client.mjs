// hookd against the official TypeScript MCP SDK (@modelcontextprotocol/sdk, the client Claude
// Code and many editors build on), over Streamable HTTP and stdio.
//
// Usage: node sdk_client.mjs <path to the hookd binary>
// Prints one line per check and a closing "N passed, M failed" line; exits non-zero on failure.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const HOOKD = process.argv[2];
const TOOLS = ["get_recent_events", "get_event_by_id", "get_events_since",
  "get_event_sources", "wait_for_event", "subscribe_to_events"];
let passed = 0;
let failed = 0;

function check(name, ok, detail = "") {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ": " + JSON.stringify(detail)}`);
}

async function post(addr, source, body, delivery) {
  const resp = await fetch(`http://${addr}/webhook/${source}`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": delivery },
    body: JSON.stringify(body),
  });
  return resp.json();
}

function freePort() {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

function startServe(dataDir) {
  const proc = spawn(HOOKD, ["serve", "--data-dir", dataDir, "--webhook-addr", "127.0.0.1:0",
    "--mcp-addr", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stderr }).on("line", (line) => {
      if (line.includes("hookd listening")) {
        resolve({ proc, webhook: /webhook_addr=(\S+)/.exec(line)[1], mcp: /mcp_addr=(\S+)/.exec(line)[1] });
      }
    });
    proc.on("exit", () => reject(new Error("hookd serve exited")));
  });
}

async function exercise(label, client, webhook) {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  check(`${label}: lists the six tools`, TOOLS.every((t) => names.includes(t)), names);
  check(`${label}: tools declare output schemas`, tools.every((t) => t.outputSchema), tools);

  const receipt = await post(webhook, "github", { hello: label }, `ts-${label}`);
  const recent = await client.callTool({ name: "get_recent_events", arguments: { source: "github" } });
  const events = recent.structuredContent?.events ?? [];
  check(`${label}: get_recent_events returns the webhook`,
    events.some((e) => e.id === receipt.event_id && e.payload.hello === label), recent);

  const missing = await client.callTool({ name: "get_event_by_id", arguments: { event_id: 987654321 } });
  check(`${label}: unknown id is a tool error`, missing.isError === true, missing);

  const waiting = client.callTool({ name: "wait_for_event",
    arguments: { source: "github", after_id: receipt.event_id, timeout_seconds: 20 } });
  await new Promise((r) => setTimeout(r, 200));
  const second = await post(webhook, "github", { second: label }, `ts2-${label}`);
  const waited = await waiting;
  check(`${label}: wait_for_event returns the next webhook`,
    waited.structuredContent?.event?.id === second.event_id, waited);
}

const dirs = [];
const tempDir = () => { const d = mkdtempSync(join(tmpdir(), "hookd-ts-")); dirs.push(d); return d; };
try {
  const { proc, webhook, mcp } = await startServe(tempDir());
  try {
    const client = new Client({ name: "hookd-ts-test", version: "0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://${mcp}/mcp`)));
    await exercise("http", client, webhook);
    await client.close();
  } finally {
    proc.kill("SIGTERM");
  }

  const webhookAddr = `127.0.0.1:${await freePort()}`;
  const client = new Client({ name: "hookd-ts-test", version: "0" });
  await client.connect(new StdioClientTransport({
    command: HOOKD, args: ["stdio", "--data-dir", tempDir(), "--webhook-addr", webhookAddr], stderr: "inherit",
  }));
  await exercise("stdio", client, webhookAddr);
  await client.close();
} catch (e) {
  check("no exception", false, String(e?.stack ?? e));
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
