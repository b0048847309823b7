"""hookd verifies what the providers' own signing libraries produce: PyPI `stripe`, `slack_sdk`
and `standardwebhooks` sign real payloads; hookd must accept them (verified) and refuse the same
deliveries tampered with or signed with another secret. `standardwebhooks` also signs as a
third-party MCP server delivering MCP Events would (the `mcp-events` source).

Usage: python signing_libs.py <path to the hookd binary>
Prints one line per check and a closing "N passed, M failed" line; exits non-zero on failure.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import stripe
from slack_sdk.signature import SignatureVerifier
from standardwebhooks import Webhook

HOOKD = sys.argv[1]
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
STRIPE_SECRET = "whsec_test_from_stripe_cli"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CONFIG = f"""
[sources.stripe]
provider = "stripe"
secret = "{STRIPE_SECRET}"
[sources.slack]
provider = "slack"
secret = "{SLACK_SECRET}"
[sources.resend]
provider = "standard-webhooks"
secret = "{SW_SECRET}"
[sources.clerk]
provider = "standard-webhooks"
secret = "{SW_SECRET}"
[sources.upstream]
provider = "mcp-events"
secret = "{SW_SECRET}"
"""
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}", flush=True)


def fixture(path):
    with open(os.path.join(FIXTURES, path), "rb") as f:
        return f.read()


def post(addr, source, body, headers):
    req = urllib.request.Request(f"http://{addr}/webhook/{source}", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def main():
    with tempfile.TemporaryDirectory() as d:
        config = os.path.join(d, "hookd.toml")
        with open(config, "w") as f:
            f.write(CONFIG)
        data = os.path.join(d, "data")
        proc = subprocess.Popen(
            [HOOKD, "serve", "--data-dir", data, "--config", config,
             "--webhook-addr", "127.0.0.1:0", "--mcp-addr", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            addr = None
            for line in proc.stderr:
                if "hookd listening" in line:
                    addr = re.search(r"webhook_addr=(\S+)", line).group(1)
                    break
            accepted = exercise(addr)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        out = subprocess.run([HOOKD, "events", "--json", "--data-dir", data, "--limit", "100"],
                             capture_output=True, text=True, check=True).stdout
        stored = {e["id"]: e for e in map(json.loads, out.splitlines())}
        check("every accepted delivery is stored verified",
              all(stored.get(i, {}).get("verified") is True for i in accepted), (accepted, list(stored)))
        check("nothing refused was stored", len(stored) == len(accepted), list(stored))
        mcp = [e for e in stored.values() if e["source"] == "upstream"]
        kinds = sorted((e["type"], e["subject"], e["occurred_at"]) for e in mcp)
        check("mcp events: stored as name, subscription and timestamp",
              kinds[1] == ("incident.created", "sub_from_elsewhere", "2026-02-19T16:00:00.000000Z")
              and kinds[0][0] == "gap", kinds)


def exercise(addr):
    accepted = []

    def expect(name, status, reply, code):
        check(name, status == code, (status, reply))
        if status == 200:
            accepted.append(reply["event_id"])

    # Stripe: stripe.WebhookSignature.generate_signature_header, as Stripe's own tests do.
    body = fixture("stripe/checkout.session.completed.json")
    sig = stripe.WebhookSignature.generate_signature_header(body.decode(), STRIPE_SECRET)
    ct = {"content-type": "application/json"}
    expect("stripe: signed by the stripe library", *post(addr, "stripe", body, {**ct, "stripe-signature": sig}), 200)
    expect("stripe: tampered body refused", *post(addr, "stripe", body.replace(b"1099", b"9999"), {**ct, "stripe-signature": sig}), 401)
    other = stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_other")
    expect("stripe: another secret refused", *post(addr, "stripe", body, {**ct, "stripe-signature": other}), 401)
    old = stripe.WebhookSignature.generate_signature_header(body.decode(), STRIPE_SECRET, timestamp=int(time.time()) - 301)
    status, reply = post(addr, "stripe", body, {**ct, "stripe-signature": old})
    check("stripe: stale timestamp refused as stale", (status, reply.get("reason")) == (401, "stale_timestamp"), reply)

    # Slack: slack_sdk's SignatureVerifier.generate_signature, JSON and form bodies.
    slack = SignatureVerifier(SLACK_SECRET)
    for path, content_type in [("slack/event_callback.message.json", "application/json"),
                               ("slack/slash_command.txt", "application/x-www-form-urlencoded")]:
        body = fixture(path)
        ts = str(int(time.time()))
        headers = {"content-type": content_type, "x-slack-request-timestamp": ts,
                   "x-slack-signature": slack.generate_signature(timestamp=ts, body=body)}
        expect(f"slack: {path} signed by slack_sdk", *post(addr, "slack", body, headers), 200)
        check(f"slack: slack_sdk itself accepts it ({path})", slack.is_valid(body, ts, headers["x-slack-signature"]))
    retry = dict(headers, **{"x-slack-retry-num": "1"})
    status, reply = post(addr, "slack", body, retry)
    check("slack: a retry of the slash command dedupes", status == 200 and reply["duplicate"] is True, reply)
    stale_ts = str(int(time.time()) - 600)
    stale = {"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": stale_ts,
             "x-slack-signature": slack.generate_signature(timestamp=stale_ts, body=body)}
    expect("slack: a 10-minute-old request refused", *post(addr, "slack", body, stale), 401)

    # Standard Webhooks: the reference library's Webhook.sign, under webhook-* and svix-* headers.
    wh = Webhook(SW_SECRET)
    body = b'{"type":"email.delivered","data":{"email_id":"4ef9a417"}}'
    now = datetime.now(tz=timezone.utc)
    for source, prefix in [("resend", "webhook"), ("clerk", "svix")]:
        msg_id = f"msg_{source}_1"
        headers = {"content-type": "application/json", f"{prefix}-id": msg_id,
                   f"{prefix}-timestamp": str(int(now.timestamp())),
                   f"{prefix}-signature": wh.sign(msg_id, now, body.decode())}
        expect(f"standard webhooks: {prefix}-* headers signed by standardwebhooks", *post(addr, source, body, headers), 200)
        tampered = dict(headers, **{f"{prefix}-id": "msg_other"})
        expect(f"standard webhooks: a changed {prefix}-id refused", *post(addr, source, body, tampered), 401)

    # MCP Events: another MCP server's webhook deliveries, signed by the reference library.
    def mcp(msg_id, payload, secret=SW_SECRET):
        body = json.dumps(payload).encode()
        now = datetime.now(tz=timezone.utc)
        headers = {"content-type": "application/json", "webhook-id": msg_id,
                   "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": Webhook(secret).sign(msg_id, now, body.decode()),
                   "x-mcp-subscription-id": "sub_from_elsewhere"}
        return post(addr, "upstream", body, headers)

    status, reply = mcp("msg_verification_1", {"type": "verification", "challenge": "n0nce-42"})
    check("mcp events: the verification challenge is echoed", (status, reply) == (200, {"challenge": "n0nce-42"}), reply)
    status, reply = mcp("msg_verification_2", {"type": "verification", "challenge": "x"}, "whsec_" + "QUFB" * 8)
    check("mcp events: a challenge signed with another secret is refused", status == 401, reply)
    occurrence = {"eventId": "evt_789", "name": "incident.created", "timestamp": "2026-02-19T16:00:00Z",
                  "data": {"incidentId": "INC-1234", "severity": "P1"}, "cursor": "cursor_xyz"}
    expect("mcp events: an EventOccurrence is stored", *mcp("evt_789", occurrence), 200)
    status, reply = mcp("evt_789", occurrence)
    check("mcp events: a redelivery of the same webhook-id dedupes", status == 200 and reply["duplicate"] is True, reply)
    expect("mcp events: a gap envelope is stored", *mcp("msg_gap_1", {"type": "gap", "cursor": "c2"}), 200)
    return accepted


main()
print(f"{results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
