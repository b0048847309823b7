// A test host for MCP Apps, the way a web assistant is built: this backend holds the MCP client
// (the official TypeScript SDK, over Streamable HTTP to hookd) and serves the page
// (apps_host/page.js, bundled with esbuild, which embeds the app with the official host-side
// library). The page's calls to hookd come back here (`POST /rpc`).
//
// Usage: node apps_host.mjs MCP_URL [--tasks]. It prints {"url": …} once it listens, and ends
// when its standard input closes (the test that started it ended). With --tasks its client
// declares the Tasks extension, as some hosts' do: hookd then answers a wait with a task.
import http from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const here = dirname(fileURLToPath(import.meta.url));
const [mcpUrl, ...flags] = process.argv.slice(2);
const extensions = { "io.modelcontextprotocol/ui": { mimeTypes: ["text/html;profile=mcp-app"] } };
if (flags.includes("--tasks")) extensions["io.modelcontextprotocol/tasks"] = {};

const bundle = await esbuild.build({
  entryPoints: [join(here, "apps_host/page.js")],
  bundle: true, format: "iife", write: false, logLevel: "error",
});
const script = bundle.outputFiles[0].text;
const page = `<!doctype html><html><head><meta charset="utf-8"><title>test host</title></head>
<body><h1>test host</h1><script src="/page.js"></script></body></html>`;

const client = new Client({ name: "hookd-apps-test-host", version: "1.0.0" }, {
  capabilities: { extensions },
});
await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl)));

// What the page may ask of hookd: the three calls a host makes for an app.
const allowed = {
  "tools/list": (p) => client.listTools(p),
  "tools/call": (p) => client.callTool(p, undefined, { timeout: 60_000 }),
  "resources/read": (p) => client.readResource(p),
};

async function body(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString() || "{}");
}

const server = http.createServer(async (req, res) => {
  const send = (status, type, text) => { res.writeHead(status, { "content-type": type }); res.end(text); };
  if (req.method === "GET" && (req.url === "/" || req.url.startsWith("/?"))) return send(200, "text/html", page);
  if (req.method === "GET" && req.url === "/page.js") return send(200, "text/javascript", script);
  if (req.method === "POST" && req.url === "/rpc") {
    const { method, params } = await body(req);
    const run = allowed[method];
    if (!run) return send(200, "application/json", JSON.stringify({ error: { code: -32601, message: `not ${method}` } }));
    try {
      send(200, "application/json", JSON.stringify({ result: await run(params) }));
    } catch (err) {
      send(200, "application/json", JSON.stringify({ error: { code: err.code ?? -32603, message: err.message } }));
    }
    return;
  }
  send(404, "text/plain", "not found");
});
server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}/` }));
});
process.stdin.resume();
process.stdin.on("end", () => { client.close().finally(() => process.exit(0)); });
