// hookd as its own OAuth authorization server (`--mcp-authorization-server self`), signed into by
// the official TypeScript MCP SDK's OAuth support (an OAuthClientProvider on the Streamable HTTP
// transport): it discovers the server from the 401, registers, is sent to the consent page (which
// this script answers over HTTP as a browser would: the page's form, its cookie, the operator's
// secret), finishes with PKCE and calls tools. Then the access token stops working (revoked, as
// if expired) and the SDK refreshes on its own.
//
// Usage: node oauth_client.mjs <path to the hookd binary>
// Prints one line per check and a closing "N passed, M failed" line; exits non-zero on failure.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const HOOKD = process.argv[2];
const OPERATOR = "operator-secret-ts-71fa";
const REDIRECT = "http://127.0.0.1:9/callback";
let passed = 0;
let failed = 0;

function check(name, ok, detail = "") {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ": " + JSON.stringify(detail)}`);
}

function startServe(dataDir) {
  const proc = spawn(HOOKD, ["serve", "--data-dir", dataDir, "--webhook-addr", "127.0.0.1:0",
    "--mcp-addr", "127.0.0.1:0", "--mcp-token", OPERATOR, "--mcp-authorization-server", "self"],
  { stdio: ["ignore", "ignore", "pipe"] });
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stderr }).on("line", (line) => {
      if (line.includes("hookd listening")) resolve({ proc, mcp: /mcp_addr=(\S+)/.exec(line)[1] });
    });
    proc.on("exit", () => reject(new Error("hookd serve exited")));
  });
}

/** What the SDK keeps between runs, in memory. */
class Provider {
  constructor() { this.client = undefined; this.saved = undefined; this.verifier = undefined; this.authUrl = undefined; }
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return { client_name: "hookd's TypeScript test", redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" };
  }
  clientInformation() { return this.client; }
  saveClientInformation(info) { this.client = info; }
  tokens() { return this.saved; }
  saveTokens(tokens) { this.saved = tokens; }
  redirectToAuthorization(url) { this.authUrl = url; }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
}

/** Opens the consent page and allows with the operator's secret: the code from the redirect. */
async function consent(url) {
  const page = await fetch(url, { redirect: "manual" });
  const cookie = page.headers.get("set-cookie").split(";")[0];
  const text = await page.text();
  const form = new URLSearchParams();
  for (const [, name, value] of text.matchAll(/<input type=hidden name="?([a-z_]+)"? value="([^"]*)">/g)) {
    form.append(name, value.replaceAll("&amp;", "&").replaceAll("&quot;", '"').replaceAll("&#39;", "'")
      .replaceAll("&lt;", "<").replaceAll("&gt;", ">"));
  }
  for (const [, scope] of text.matchAll(/name=grant_scope value="([^"]+)" checked/g)) form.append("grant_scope", scope);
  form.append("secret", OPERATOR);
  form.append("decision", "allow");
  const answer = await fetch(new URL("/oauth/authorize", url), {
    method: "POST", redirect: "manual", body: form,
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
  });
  return new URL(answer.headers.get("location")).searchParams;
}

async function connect(url, provider) {
  const client = new Client({ name: "hookd-oauth-test", version: "0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider }));
  return client;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "hookd-ts-oauth-"));
  const { proc, mcp } = await startServe(dir);
  const url = `http://${mcp}/mcp`;
  try {
    const provider = new Provider();
    const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
    let unauthorized = false;
    try {
      await new Client({ name: "hookd-oauth-test", version: "0" }).connect(transport);
    } catch (e) {
      unauthorized = e instanceof UnauthorizedError;
    }
    check("the SDK is sent to the consent page", unauthorized && provider.authUrl !== undefined, String(provider.authUrl));
    check("it registered first", provider.client?.client_id?.startsWith("hookd-client-"), provider.client);
    const back = await consent(provider.authUrl);
    check("the redirect carries the code, the state and iss", back.get("code") && back.get("iss") === `http://${mcp}`,
      Object.fromEntries(back));
    await transport.finishAuth(back.get("code"));
    check("the code became tokens", typeof provider.saved?.access_token === "string" && provider.saved.refresh_token, provider.saved);

    let client = await connect(url, provider);
    const { tools } = await client.listTools();
    check("lists tools with its token", tools.some((t) => t.name === "ack_events"), tools.map((t) => t.name));
    const acked = await client.callTool({ name: "ack_events", arguments: { consumer: "ts", up_to_id: 0 } });
    check("calls a write tool", !acked.isError, acked);
    await client.close();

    // The access token stops working (revoked here, as if it had expired): the SDK refreshes.
    const first = provider.saved;
    await fetch(`http://${mcp}/oauth/revoke`, { method: "POST", body: new URLSearchParams({ token: first.access_token }) });
    client = await connect(url, provider);
    const again = await client.listTools();
    check("after the access token stopped working, the SDK refreshed and carries on",
      again.tools.length === tools.length && provider.saved.access_token !== first.access_token
        && provider.saved.refresh_token !== first.refresh_token, provider.saved);
    await client.close();
  } finally {
    proc.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

main()
  .catch((e) => { failed++; console.log(`FAIL unexpected: ${e.stack ?? e}`); })
  .finally(() => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  });
