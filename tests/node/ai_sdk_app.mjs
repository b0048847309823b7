// hookd's inbox MCP App read by a second client's MCP Apps helpers: the Vercel AI SDK's
// (@ai-sdk/mcp: `mcpAppClientCapabilities`, each tool's `metadata.app`, `splitMCPAppTools`,
// `readMCPAppResource`, `fingerprintMCPAppResource`), in both of its protocol modes (2026-07-28
// discovery, and 2025-11-25 `initialize`). The four read tools name the inbox, the resource reads
// as an MCP App with a CSP that allows no network, and the tools it calls are there.
//
// Usage: node ai_sdk_app.mjs <path to the hookd binary>   (Node 22, as @ai-sdk/mcp requires)
// Prints one line per check and a closing "N passed, M failed" line; exits non-zero on failure.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

import {
  createMCPClient, fingerprintMCPAppResource, mcpAppClientCapabilities, readMCPAppResource,
  splitMCPAppTools,
} from "@ai-sdk/mcp";

const HOOKD = process.argv[2];
const INBOX = "ui://hookd/inbox";
const LINKED = ["get_recent_events", "search_events", "get_events_since", "get_event_by_id"];
let passed = 0;
let failed = 0;

function check(name, ok, detail = "") {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ": " + JSON.stringify(detail)}`);
}

function startServe(dataDir) {
  const proc = spawn(HOOKD, ["serve", "--data-dir", dataDir, "--webhook-addr", "127.0.0.1:0",
    "--mcp-addr", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stderr }).on("line", (line) => {
      if (line.includes("hookd listening")) resolve({ proc, mcp: /mcp_addr=(\S+)/.exec(line)[1] });
    });
    proc.on("exit", () => reject(new Error("hookd serve exited")));
  });
}

async function mode(hookd, label, discovery) {
  const client = await createMCPClient({
    transport: { type: "http", url: `http://${hookd.mcp}/mcp` },
    capabilities: mcpAppClientCapabilities,
    protocolVersionDiscovery: discovery,
  });
  try {
    const tools = await client.tools();
    for (const name of LINKED) {
      const app = tools[name]?.metadata?.app;
      check(`${label}: ${name} names the inbox`, app?.resourceUri === INBOX && app?.mimeType === "text/html;profile=mcp-app", app);
    }
    const linked = Object.entries(tools).filter(([, t]) => t.metadata?.app).map(([n]) => n).sort();
    check(`${label}: only those four name it`, JSON.stringify(linked) === JSON.stringify([...LINKED].sort()), linked);

    const definitions = await client.listTools();
    const { modelVisible, appVisible } = splitMCPAppTools(definitions);
    check(`${label}: every tool stays visible to the model`, modelVisible.tools.length === definitions.tools.length,
      modelVisible.tools.length);
    check(`${label}: no tool is for the app alone`, appVisible.tools.length === 0, appVisible.tools.map((t) => t.name));
    const names = definitions.tools.map((t) => t.name);

    const resources = await client.listResources();
    const listed = resources.resources.find((r) => r.uri === INBOX);
    check(`${label}: resources/list has the inbox as an MCP App`, listed?.mimeType === "text/html;profile=mcp-app", listed);

    const app = await readMCPAppResource({ client, uri: INBOX });
    // The tools its script calls through the host are this server's.
    const called = [...app.html.matchAll(/host\.call\("(\w+)"/g)].map((m) => m[1]);
    check(`${label}: the tools its script calls are there`,
      called.length >= 3 && called.every((n) => names.includes(n)), { called, names });
    const csp = app.meta?.csp ?? {};
    check(`${label}: its CSP allows no network, no outside resource, no frame`,
      [csp.connectDomains, csp.resourceDomains, csp.frameDomains].every((d) => Array.isArray(d) && d.length === 0), csp);
    check(`${label}: it asks for a border`, app.meta?.prefersBorder === true, app.meta);
    check(`${label}: it loads nothing from elsewhere`, !/\b(src|href)\s*=\s*["']?https?:/i.test(app.html));
    const again = await readMCPAppResource({ client, uri: INBOX });
    check(`${label}: it reads the same twice (one fingerprint)`,
      await fingerprintMCPAppResource(app) === await fingerprintMCPAppResource(again));
  } finally {
    await client.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), "hookd-ai-sdk-app-"));
let hookd;
try {
  hookd = await startServe(join(dir, "data"));
  await mode(hookd, "2026-07-28", true);
  await mode(hookd, "2025-11-25", false);
} catch (e) {
  check("no exception", false, String(e?.stack ?? e));
} finally {
  hookd?.proc.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
