// hookd verifies what GitHub's own signing code produces: @octokit/webhooks-methods signs a real
// push payload; hookd must accept it (verified) and refuse it tampered or signed with another
// secret. Mux's own library (@mux/mux-node, which only verifies) checks a Mux delivery before
// hookd accepts it, and checks what `hookd send` signs for a Mux source.
//
// Usage: node signing_libs.mjs <path to the hookd binary>

import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import Mux from "@mux/mux-node";
import { sign, verify } from "@octokit/webhooks-methods";

const HOOKD = process.argv[2];
const SECRET = "gh-secret-for-octokit";
const MUX_SECRET = "mux-signing-secret";
let passed = 0;
let failed = 0;
const check = (name, ok, detail = "") => {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ": " + JSON.stringify(detail)}`);
};

const dir = mkdtempSync(join(tmpdir(), "hookd-octokit-"));
const config = join(dir, "hookd.toml");
writeFileSync(config, `[sources.github]\nprovider = "github"\nsecret = "${SECRET}"\n` +
  `[sources.video]\nprovider = "mux"\nsecret = "${MUX_SECRET}"\n`);
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

  // Mux: t=…,v1=<hex HMAC-SHA256("t.body")>, checked by @mux/mux-node first.
  const mux = new Mux({ tokenId: "unused", tokenSecret: "unused" });
  const asset = JSON.stringify({ type: "video.asset.ready", id: "3a56ac3d",
    object: { type: "asset", id: "0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002" }, data: { status: "ready" } });
  const muxHeader = (secret, body) => {
    const t = Math.floor(Date.now() / 1000);
    return `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}`;
  };
  const muxVerifies = async (body, headers) => {
    try { await mux.webhooks.verifySignature(body, headers, MUX_SECRET); return true; } catch { return false; }
  };
  const postMux = async (body, signature) => {
    const resp = await fetch(`http://${webhook}/webhook/video`, {
      method: "POST", headers: { "content-type": "application/json", "mux-signature": signature }, body,
    });
    return { status: resp.status, body: await resp.json() };
  };
  const muxSig = muxHeader(MUX_SECRET, asset);
  check("mux: @mux/mux-node verifies the delivery", await muxVerifies(asset, { "mux-signature": muxSig }));
  const muxOk = await postMux(asset, muxSig);
  check("mux: the same delivery accepted by hookd, verified", muxOk.status === 200 && muxOk.body.verified === true, muxOk);
  const muxTampered = await postMux(asset.replace("ready", "errored"), muxSig);
  check("mux: tampered: 401", muxTampered.status === 401, muxTampered);
  const muxOther = muxHeader("another-secret", asset);
  check("mux: @mux/mux-node refuses another secret", !(await muxVerifies(asset, { "mux-signature": muxOther })));
  const muxForged = await postMux(asset, muxOther);
  check("mux: hookd refuses another secret", muxForged.status === 401, muxForged);

  // What `hookd send` signs for the Mux source, checked by @mux/mux-node.
  const seen = [];
  const capture = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => { seen.push({ headers: req.headers, body }); res.end('{"verified":true}'); });
  });
  await new Promise((resolve) => capture.listen(0, "127.0.0.1", resolve));
  const file = join(dir, "asset.json");
  writeFileSync(file, asset);
  const url = `http://127.0.0.1:${capture.address().port}/mux`;
  const sent = await new Promise((resolve) => {
    const child = spawn(HOOKD, ["send", "video", file, "--config", config, "--url", url], { stdio: "ignore" });
    child.on("exit", resolve);
  });
  capture.close();
  check("hookd send mux: posted", sent === 0 && seen.length === 1, { sent, seen: seen.length });
  check("hookd send mux: @mux/mux-node verifies it", seen.length === 1 && await muxVerifies(seen[0].body, seen[0].headers), seen[0]?.headers);
} catch (e) {
  check("no exception", false, String(e?.stack ?? e));
} finally {
  proc.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
