// hookd verifies what GitHub's own signing code produces: @octokit/webhooks-methods signs a real
// push payload; hookd must accept it (verified) and refuse it tampered or signed with another
// secret.
//
// Usage: node signing_libs.mjs <path to the hookd binary>

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { sign, verify } from "@octokit/webhooks-methods";

const HOOKD = process.argv[2];
const SECRET = "gh-secret-for-octokit";
let passed = 0;
let failed = 0;
const check = (name, ok, detail = "") => {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ": " + JSON.stringify(detail)}`);
};

const dir = mkdtempSync(join(tmpdir(), "hookd-octokit-"));
const config = join(dir, "hookd.toml");
writeFileSync(config, `[sources.github]\nprovider = "github"\nsecret = "${SECRET}"\n`);
const proc = spawn(HOOKD, ["serve", "--data-dir", join(dir, "data"), "--config", config,
  "--webhook-addr", "127.0.0.1:0", "--mcp-addr", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
try {
  const webhook = await new Promise((resolve) => {
    createInterface({ input: proc.stderr }).on("line", (line) => {
      if (line.includes("hookd listening")) resolve(/webhook_addr=(\S+)/.exec(line)[1]);
    });
  });
  const here = dirname(fileURLToPath(import.meta.url));
  const payload = readFileSync(join(here, "..", "fixtures", "github", "push.json"), "utf8");
  const post = async (body, signature, delivery) => {
    const resp = await fetch(`http://${webhook}/webhook/github`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-event": "push",
        "x-github-delivery": delivery, "x-hub-signature-256": signature },
      body,
    });
    return { status: resp.status, body: await resp.json() };
  };
  const signature = await sign(SECRET, payload);
  check("octokit verifies its own signature", await verify(SECRET, payload, signature));
  const ok = await post(payload, signature, "octo-1");
  check("signed by @octokit/webhooks-methods: accepted", ok.status === 200 && ok.body.duplicate === false, ok);
  const tampered = await post(payload.replace("Codertocat", "Mallory"), signature, "octo-2");
  check("tampered: 401 bad_signature", tampered.status === 401 && tampered.body.reason === "bad_signature", tampered);
  const other = await post(payload, await sign("another-secret", payload), "octo-3");
  check("another secret: 401", other.status === 401, other);
} catch (e) {
  check("no exception", false, String(e?.stack ?? e));
} finally {
  proc.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
