// The operator's part of the conformance suite's `authorization-code-grant` scenario, done as a
// browser would: open hookd's consent page, answer its form (its cookie, every scope, the
// operator's secret), and follow the redirect to the suite's callback server.
//
// Usage: node consent.mjs <authorization URL> <operator secret>
// Exits non-zero, saying why, when any step fails.

const [url, secret] = process.argv.slice(2);
const page = await fetch(url, { redirect: "manual" });
if (page.status !== 200) throw new Error(`consent page: HTTP ${page.status}: ${await page.text()}`);
const cookie = page.headers.get("set-cookie").split(";")[0];
const text = await page.text();
const unescape = (v) => v.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<")
  .replaceAll("&gt;", ">").replaceAll("&amp;", "&");
const form = new URLSearchParams();
for (const [, name, value] of text.matchAll(/<input type=hidden name="?([a-z_]+)"? value="([^"]*)">/g)) {
  form.append(name, unescape(value));
}
for (const [, scope] of text.matchAll(/name=grant_scope value="([^"]+)" checked/g)) form.append("grant_scope", scope);
form.append("secret", secret);
form.append("decision", "allow");
const answer = await fetch(new URL("/oauth/authorize", url), {
  method: "POST", redirect: "manual", body: form,
  headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
});
const location = answer.headers.get("location");
if (answer.status !== 303 || !location) throw new Error(`consent: HTTP ${answer.status}: ${await answer.text()}`);
const callback = await fetch(location);
if (!callback.ok) throw new Error(`callback: HTTP ${callback.status}`);
