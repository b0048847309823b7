// hookd's tool definitions as strict clients read them: the default `tools/list` within its
// budget, every input and output schema compiled by Ajv in strict mode (JSON Schema 2020-12, the
// validator the official TypeScript SDK builds on) and by the SDK's own default validator
// without a warning, and every tool's answer valid against its output schema (the SDK checks each
// call's structured content; Ajv checks it again, strictly).
//
// Usage: node tool_schemas.mjs <path to the hookd binary> <fixtures dir>
// Prints one line per check and a closing "N passed, M failed" line; exits non-zero on failure.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";

const [HOOKD, FIXTURES] = process.argv.slice(2);
const BUDGET = 20 * 1024;
let passed = 0;
let failed = 0;

function check(name, ok, detail = "") {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ": " + JSON.stringify(detail).slice(0, 2000)}`);
}

/// hookd on a fresh data dir, in a fresh working directory and with no provider secrets in its
/// environment: the defaults a newcomer gets.
function serve(dir, args) {
  const env = Object.fromEntries(Object.entries(process.env)
    .filter(([k]) => !k.endsWith("_WEBHOOK_SECRET") && !k.startsWith("HOOKD_")));
  const proc = spawn(HOOKD, ["serve", "--data-dir", join(dir, "data"), "--webhook-addr",
    "127.0.0.1:0", "--mcp-addr", "127.0.0.1:0", ...args], { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stderr }).on("line", (line) => {
      if (line.includes("hookd listening")) {
        resolve({ proc, webhook: /webhook_addr=(\S+)/.exec(line)[1], mcp: /mcp_addr=(\S+)/.exec(line)[1] });
      }
    });
    proc.on("exit", () => reject(new Error("hookd serve exited")));
  });
}

async function connect(mcp) {
  const client = new Client({ name: "hookd-schema-test", version: "0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://${mcp}/mcp`)));
  return client;
}

async function post(webhook, source, file, headers = {}) {
  const body = readFileSync(join(FIXTURES, file));
  const r = await fetch(`http://${webhook}/webhook/${source}`, {
    method: "POST", body, headers: { "content-type": "application/json", ...headers },
  });
  return r.json();
}

/// A strict Ajv: unknown keywords and formats, union types and loose type keywords are errors,
/// and anything it would only log counts as a failure too.
function strictAjv(warnings) {
  const log = (...m) => warnings.push(m.join(" "));
  const ajv = new Ajv2020({ strict: true, allErrors: true, logger: { log, warn: log, error: log } });
  addFormats(ajv);
  return ajv;
}

const dirs = [];
const tempDir = () => { const d = mkdtempSync(join(tmpdir(), "hookd-schemas-")); dirs.push(d); return d; };
try {
  // The default list: within the budget, and what a newcomer's first conversation needs.
  const first = await serve(tempDir(), []);
  try {
    const client = await connect(first.mcp);
    const { tools } = await client.listTools();
    const bytes = JSON.stringify(tools).length;
    console.log(`default tools/list: ${tools.length} tools, ${bytes} bytes`);
    check(`the default tools/list is at most ${BUDGET} bytes (${bytes})`, bytes <= BUDGET, bytes);
    const names = tools.map((t) => t.name);
    check("the default offers the event tools", ["get_recent_events", "wait_for_event",
      "search_events", "next_events"].every((n) => names.includes(n)), names);
    await client.close();
  } finally {
    first.proc.kill("SIGTERM");
  }

  // Every tool, with events of each provider stored.
  // (With a Redis URL, so that the Redis tools are listed too; whether one answers there does not
  // matter to their schemas.)
  const all = await serve(tempDir(), ["--toolsets", "events,github,stripe,deployments",
    "--redis-url", "redis://127.0.0.1:6379"]);
  try {
    const push = JSON.parse(readFileSync(join(FIXTURES, "github/push.json")));
    const stored = await post(all.webhook, "github", "github/push.json",
      { "x-github-event": "push", "x-github-delivery": "schema-1" });
    await post(all.webhook, "github", "github/pull_request.opened.json",
      { "x-github-event": "pull_request", "x-github-delivery": "schema-2" });
    await post(all.webhook, "stripe", "stripe/checkout.session.completed.json");
    await post(all.webhook, "vercel", "vercel/deployment.succeeded.json");
    const client = await connect(all.mcp);
    const { tools } = await client.listTools();
    console.log(`every toolset: ${tools.length} tools, ${JSON.stringify(tools).length} bytes`);
    check("the Redis tools are listed", tools.some((t) => t.name === "publish_event"),
      tools.map((t) => t.name));

    const warnings = [];
    const ajv = strictAjv(warnings);
    const sdk = new AjvJsonSchemaValidator();
    const validators = {};
    for (const tool of tools) {
      for (const [kind, schema] of [["input", tool.inputSchema], ["output", tool.outputSchema]]) {
        if (!schema) continue;
        const before = warnings.length;
        try {
          const validate = ajv.compile(schema);
          if (kind === "output") validators[tool.name] = validate;
          check(`${tool.name}: ${kind} schema compiles strictly without a warning`,
            warnings.length === before, warnings.slice(before));
        } catch (e) {
          check(`${tool.name}: ${kind} schema compiles strictly`, false, String(e));
        }
        const sdkWarnings = [];
        const warn = console.warn;
        console.warn = (...m) => sdkWarnings.push(m.join(" "));
        try {
          sdk.getValidator(schema);
        } finally {
          console.warn = warn;
        }
        check(`${tool.name}: ${kind} schema: the SDK's validator has no warning`,
          sdkWarnings.length === 0, sdkWarnings);
      }
    }

    const repo = push.repository.full_name;
    const args = {
      ack_events: { consumer: "schema-test", up_to_id: stored.event_id },
      correlate_push_to_deployment: { commit_sha: push.after },
      get_deployment_status: { project: "my-app" },
      get_event_by_id: { event_id: stored.event_id },
      get_events_since: { timestamp: "2000-01-01T00:00:00Z" },
      get_pr_activity: { repo },
      get_repo_activity: { repo },
      summarize_commits: { repo },
      next_events: { consumer: "schema-test" },
      search_events: { query: "push" },
      wait_for_event: { timeout_seconds: 0 },
      watch_deployment: { project: "my-app", timeout_seconds: 0 },
      mark_action_complete: { action_id: 987654321 },
      publish_event: { channel: "schema-test", event_data: { n: 1 } },
      // Sent to hookd itself, where it is a duplicate of the stored delivery.
      replay_event: { event_id: stored.event_id, url: `http://${all.webhook}/webhook/github` },
    };
    // Tools whose call may fail here: an unknown action, and Redis, which may not be running.
    const mayFail = ["mark_action_complete", "publish_event", "get_channel_stats"];
    for (const tool of tools) {
      const given = args[tool.name] ?? {};
      try {
        // The SDK validates the structured content against the tool's output schema itself.
        const r = await client.callTool({ name: tool.name, arguments: given });
        if (r.isError) {
          check(`${tool.name}: an error answer carries no structured content`,
            mayFail.includes(tool.name) && !r.structuredContent, r);
          continue;
        }
        const validate = validators[tool.name];
        const ok = validate(r.structuredContent);
        check(`${tool.name}: its answer is valid against its output schema`, ok,
          { errors: validate.errors, answer: r.structuredContent });
        check(`${tool.name}: its text content is the same JSON`,
          JSON.stringify(JSON.parse(r.content[0].text)) === JSON.stringify(r.structuredContent), r);
      } catch (e) {
        check(`${tool.name}: called with ${JSON.stringify(given)}`, false, String(e));
      }
    }
    await client.close();
  } finally {
    all.proc.kill("SIGTERM");
  }
} catch (e) {
  check("no exception", false, String(e?.stack ?? e));
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
