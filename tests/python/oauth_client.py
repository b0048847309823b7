"""hookd as its own OAuth authorization server (`--mcp-authorization-server self`), driven by the
official Python MCP SDK's OAuth client (`mcp.client.auth.OAuthClientProvider`): it discovers the
server from the 401, registers (RFC 7591), sends the "browser" to the consent page, which this
script answers over HTTP as a browser would (the page's form, its cookie, the operator's secret),
gets its tokens with PKCE, then lists and calls tools. Then: a read-only grant, a refresh,
refresh-token reuse detection and revocation.

Usage: python oauth_client.py <path to the hookd binary>
Prints one line per check and a closing "N passed, M failed" line; exits non-zero on failure.
"""

import asyncio
import base64
import hashlib
import html
import json
import re
import subprocess
import sys
import tempfile
import urllib.parse

import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

HOOKD = sys.argv[1] if len(sys.argv) > 1 else "hookd"
OPERATOR = "operator-secret-5b1e"
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}", flush=True)


class Memory(TokenStorage):
    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull):
        self.client = client_info


class Browser:
    """Opens the consent page, answers it with `secret`, and hands the redirect to the SDK."""

    def __init__(self, secret, decision="allow", grant=("hookd:read", "hookd:write")):
        self.secret = secret
        self.decision = decision
        self.grant = list(grant)
        self.result = None
        self.pages = []

    async def open(self, url):
        async with httpx2.AsyncClient(follow_redirects=False) as http:
            page = await http.get(url)
            self.pages.append(page)
            fields = dict(re.findall(r'<input type=hidden name="?([a-z_]+)"? value="([^"]*)">', page.text))
            fields = {k: html.unescape(v) for k, v in fields.items()}
            offered = re.findall(r'name=grant_scope value="([^"]+)" checked', page.text)
            fields.update(secret=self.secret, decision=self.decision,
                          grant_scope=[s for s in offered if s in self.grant])
            answer = await http.post(url.split("?")[0], data=fields)
            self.pages.append(answer)
            location = answer.headers.get("location", "")
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
            self.result = query

    async def callback(self):
        q = self.result or {}
        if "code" not in q:
            raise RuntimeError(f"no code: {q}")
        return AuthorizationCodeResult(code=q["code"], state=q.get("state"), iss=q.get("iss"))


def provider(url, browser, storage, scope=None):
    metadata = OAuthClientMetadata(
        client_name="hookd's Python test",
        redirect_uris=["http://127.0.0.1:9/callback"],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        scope=scope,
    )
    return OAuthClientProvider(
        server_url=url,
        client_metadata=metadata,
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.callback,
    )


def start_serve(data_dir):
    proc = subprocess.Popen(
        [HOOKD, "serve", "--data-dir", data_dir, "--webhook-addr", "127.0.0.1:0", "--mcp-addr", "127.0.0.1:0",
         "--mcp-token", OPERATOR, "--mcp-authorization-server", "self"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    for line in proc.stderr:
        if "hookd listening" in line:
            return proc, re.search(r"mcp_addr=(\S+)", line).group(1)
    raise RuntimeError("hookd serve did not start")


async def connect(url, auth):
    return Client(streamable_http_client(url, http_client=httpx2.AsyncClient(auth=auth, timeout=30)))


def form_post(url, fields):
    return httpx2.post(url, data=fields)


async def main():
    with tempfile.TemporaryDirectory() as d:
        proc, mcp = start_serve(d)
        url = f"http://{mcp}/mcp"
        try:
            # The whole flow, from nothing but the MCP URL.
            storage = Memory()
            browser = Browser(OPERATOR)
            async with await connect(url, provider(url, browser, storage)) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                check("the SDK signed in and lists every tool", "ack_events" in names and "get_recent_events" in names, names)
                acked = await client.call_tool("ack_events", {"consumer": "py", "up_to_id": 0})
                check("a write tool runs with hookd:write", not acked.is_error, acked)
            page = browser.pages[0]
            check("the consent page names the client", "hookd&#39;s Python test" in page.text, page.text[:300])
            check("the consent page cannot be framed",
                  "frame-ancestors 'none'" in page.headers.get("content-security-policy", "")
                  and page.headers.get("x-frame-options") == "DENY", dict(page.headers))
            check("the grant covers both scopes", storage.tokens and set(storage.tokens.scope.split()) == {"hookd:read", "hookd:write"},
                  storage.tokens)
            first = storage.tokens

            # A refresh: the pair rotates, the new access token works, the old refresh token is spent.
            client_id = storage.client.client_id
            token_url = f"http://{mcp}/oauth/token"
            fresh = form_post(token_url, {"grant_type": "refresh_token", "refresh_token": first.refresh_token,
                                          "client_id": client_id})
            check("a refresh gives a new pair", fresh.status_code == 200 and fresh.json()["refresh_token"] != first.refresh_token,
                  fresh.text)
            second = fresh.json()
            listed = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"}}}},
                headers={"authorization": f"Bearer {second['access_token']}", "accept": "application/json, text/event-stream",
                         "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list"})
            check("the refreshed access token works", listed.status_code == 200 and "ack_events" in listed.text, listed.text[:200])
            again = form_post(token_url, {"grant_type": "refresh_token", "refresh_token": first.refresh_token,
                                          "client_id": client_id})
            check("a spent refresh token is refused", again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text)
            after = form_post(token_url, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"],
                                          "client_id": client_id})
            check("...and its whole family is revoked", after.status_code == 400, after.text)
            stale = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
                                headers={"authorization": f"Bearer {second['access_token']}"})
            check("...access tokens included", stale.status_code == 401, stale.status_code)

            # The operator grants only hookd:read: the write tools are not listed, and calling one is
            # a step-up 403.
            storage = Memory()
            async with await connect(url, provider(url, Browser(OPERATOR, grant=["hookd:read"]), storage)) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                check("a hookd:read grant lists no write tool", "get_recent_events" in names and "ack_events" not in names, names)
            refused = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": "ack_events", "arguments": {"consumer": "py", "up_to_id": 0}}},
                headers={"authorization": f"Bearer {storage.tokens.access_token}",
                         "accept": "application/json, text/event-stream"})
            check("the token says what was granted", storage.tokens.scope == "hookd:read", storage.tokens.scope)
            check("a write tool with hookd:read is 403 insufficient_scope",
                  refused.status_code == 403 and 'error="insufficient_scope"' in refused.headers.get("www-authenticate", ""),
                  (refused.status_code, refused.headers.get("www-authenticate")))

            # Revocation (RFC 7009).
            revoked = form_post(f"http://{mcp}/oauth/revoke", {"token": storage.tokens.refresh_token})
            gone = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
                               headers={"authorization": f"Bearer {storage.tokens.access_token}"})
            check("revoking the refresh token ends the grant", revoked.status_code == 200 and gone.status_code == 401,
                  (revoked.status_code, gone.status_code))

            # A wrong operator secret issues nothing.
            storage = Memory()
            wrong = Browser("not-the-secret")
            try:
                async with await connect(url, provider(url, wrong, storage)) as client:
                    await client.list_tools()
                check("a wrong operator secret gets no code", False, "signed in")
            except Exception:
                check("a wrong operator secret gets no code", storage.tokens is None and wrong.pages[-1].status_code == 403,
                      wrong.pages[-1].status_code)
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    asyncio.run(main())
    print(f"{results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)
