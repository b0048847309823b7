// The browser half of the test host: the official host-side library of MCP Apps
// (@modelcontextprotocol/ext-apps' AppBridge) draws hookd's inbox as a host does. The page runs
// the tool call a model would (`?tool=…&args=…`), finds the tool's UI resource in its
// `_meta.ui.resourceUri`, reads it, puts its HTML in a sandboxed frame under the CSP its
// `_meta.ui.csp` asks for, and forwards the app's tools/call to hookd through the host's own
// backend (apps_host.mjs), as web hosts do. `window.host` tells the test how far it got.
import { AppBridge, PostMessageTransport, RESOURCE_MIME_TYPE, getToolUiResourceUri }
  from "@modelcontextprotocol/ext-apps/app-bridge";

window.host = { stage: "starting", calls: [], error: null };

async function rpc(method, params) {
  const r = await fetch("/rpc", { method: "POST", body: JSON.stringify({ method, params }) });
  const body = await r.json();
  if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code });
  return body.result;
}

// The policy a host puts on the app's frame: nothing beyond what `csp` declares.
function policy(csp = {}) {
  const list = (domains) => (domains && domains.length ? domains.join(" ") : "'none'");
  const resources = csp.resourceDomains && csp.resourceDomains.length ? " " + csp.resourceDomains.join(" ") : "";
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline'${resources}`,
    `style-src 'unsafe-inline'${resources}`,
    `img-src data:${resources}`,
    `font-src${resources || " 'none'"}`,
    `connect-src ${list(csp.connectDomains)}`,
    `frame-src ${list(csp.frameDomains)}`,
    "base-uri 'none'",
  ].join("; ");
}

async function main() {
  const q = new URLSearchParams(location.search);
  const name = q.get("tool") || "get_recent_events";
  const args = JSON.parse(q.get("args") || "{}");
  const { tools } = await rpc("tools/list", {});
  const tool = tools.find((t) => t.name === name);
  if (!tool) throw new Error(`no tool ${name}`);
  const uri = getToolUiResourceUri(tool);
  if (!uri) throw new Error(`${name} names no UI resource`);
  const read = await rpc("resources/read", { uri });
  const content = read.contents.find((c) => c.uri === uri);
  if (content.mimeType !== RESOURCE_MIME_TYPE) throw new Error(`mime type ${content.mimeType}`);
  window.host.csp = policy(content._meta && content._meta.ui && content._meta.ui.csp);
  const result = await rpc("tools/call", { name, arguments: args });

  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.style.cssText = "width: 100%; height: 400px; border: 1px solid #ccc";
  document.body.append(frame);
  const bridge = new AppBridge(null, { name: "hookd-test-host", version: "1.0.0" },
    { serverTools: {}, openLinks: {} },
    { hostContext: { theme: "light", displayMode: "inline", platform: "web" } });
  bridge.oncalltool = (params) => {
    window.host.calls.push(params.name);
    return rpc("tools/call", params);
  };
  bridge.onsizechange = ({ height }) => {
    if (height) frame.style.height = `${height}px`;
    window.host.height = height;
  };
  bridge.oninitialized = async () => {
    await bridge.sendToolInput({ arguments: args });
    await bridge.sendToolResult(result);
    window.host.stage = "shown";
  };
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  const csp = `<meta http-equiv="Content-Security-Policy" content="${window.host.csp}">`;
  frame.srcdoc = content.text.replace("<head>", "<head>" + csp);
  window.host.stage = "loading";
  window.host.bridge = bridge;
}

main().catch((err) => { window.host.stage = "failed"; window.host.error = String(err && err.message || err); });
