"""hookd against the providers' own libraries (PyPI), both ways.

Deliveries signed with each library (or, where a library only verifies, signed here and checked
by the library first) must be accepted by hookd (stored verified) and refused tampered with,
signed with another key, or too old; and what `hookd send` signs must verify with the library:
- twilio: RequestValidator (form bodies, JSON bodies with bodySHA256, SharedKey HMAC-SHA256);
- PyNaCl: Ed25519 as Discord signs interactions (and Discord's PING);
- sendgrid: EventWebhook.verify_signature (ECDSA P-256, keys made with `cryptography`);
- svix: Webhook.sign, as Resend and Clerk send;
- squareup: square.utils.webhooks_helper.verify_signature (URL + body);
- hubspot-api-client: hubspot.utils.signature.Signature (v3: method, URL, body, timestamp);
- paddle-python-sdk: paddle_billing.Notifications.Verifier (ts=…;h1=…).

Usage: python provider_libs.py <path to the hookd binary>
Prints one line per check and a closing "N passed, M failed" line; exits non-zero on failure.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import nacl.encoding
import nacl.signing
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hubspot.utils.signature import Signature
from paddle_billing.Notifications import Secret as PaddleSecret, Verifier as PaddleVerifier
from sendgrid.helpers.eventwebhook import EventWebhook
from square.utils.webhooks_helper import verify_signature as square_verify
from svix.webhooks import Webhook as SvixWebhook
from twilio.request_validator import RequestValidator

HOOKD = sys.argv[1]
TWILIO_TOKEN = "twilio-auth-token-0123456789abcdef"
SQUARE_KEY = "square-signature-key"
HUBSPOT_SECRET = "hubspot-client-secret"
PADDLE_KEY = "pdl_ntfset_01h_secret"
SVIX_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DISCORD = nacl.signing.SigningKey.generate()
DISCORD_PUBLIC = DISCORD.verify_key.encode(nacl.encoding.HexEncoder).decode()
# The seed as a PKCS#8 private key, the form hookd's `secret` takes for signing (`hookd send`).
DISCORD_PKCS8 = base64.b64encode(bytes.fromhex("302e020100300506032b657004220420") + bytes(DISCORD)).decode()
SENDGRID = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC = base64.b64encode(SENDGRID.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
SENDGRID_PKCS8 = base64.b64encode(SENDGRID.private_bytes(
    serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())).decode()
CONFIG = f"""
[sources.sms]
provider = "twilio"
secret = "{TWILIO_TOKEN}"
[sources.bot]
provider = "discord"
secret = "{DISCORD_PKCS8}"
public_key = "{DISCORD_PUBLIC}"
[sources.mail]
provider = "sendgrid"
secret = "{SENDGRID_PKCS8}"
public_key = "{SENDGRID_PUBLIC}"
[sources.resend]
provider = "resend"
secret = "{SVIX_SECRET}"
[sources.clerk]
provider = "clerk"
secret = "{SVIX_SECRET}"
[sources.pay]
provider = "square"
secret = "{SQUARE_KEY}"
[sources.crm]
provider = "hubspot"
secret = "{HUBSPOT_SECRET}"
[sources.billing]
provider = "paddle"
secret = "{PADDLE_KEY}"
"""
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}", flush=True)


class PaddleRequest:
    """What Paddle's Verifier reads of a request: its headers and raw body."""

    def __init__(self, headers, body):
        self.headers = headers
        self.body = body


def paddle_verifies(headers, body):
    wanted = {k.lower(): v for k, v in headers.items()}
    request = PaddleRequest({"Paddle-Signature": wanted.get("paddle-signature", "")}, body)
    return PaddleVerifier().verify(request, PaddleSecret(PADDLE_KEY))


def post(addr, path, body, headers):
    req = urllib.request.Request(f"http://{addr}{path}", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class Capture(http.server.BaseHTTPRequestHandler):
    """Keeps what `hookd send` POSTs, to check it with the libraries."""
    seen = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        Capture.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"verified":true}')

    def log_message(self, *args):
        pass


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
        sent_by_hookd(config, d)


def exercise(addr):
    accepted = []

    def expect(name, status, reply, code):
        check(name, status == code, (status, reply))
        if status == 200 and isinstance(reply, dict) and "event_id" in reply:
            accepted.append(reply["event_id"])

    form = {"content-type": "application/x-www-form-urlencoded"}
    js = {"content-type": "application/json"}

    # Twilio: a form body, signed over the URL hookd is called at and the sorted parameters.
    url = f"http://{addr}/webhook/sms?account=main"
    params = {"MessageSid": "SM0123", "SmsStatus": "received", "From": "+15551230000",
              "To": "+15559870000", "Body": "Is the deploy done?"}
    body = urllib.parse.urlencode(params).encode()
    twilio = RequestValidator(TWILIO_TOKEN)
    sig = twilio.compute_signature(url, params)
    path = "/webhook/sms?account=main"
    expect("twilio: a form body signed by RequestValidator", *post(addr, path, body, {**form, "X-Twilio-Signature": sig}), 200)
    changed = body.replace(b"deploy", b"deploi")
    expect("twilio: a changed parameter refused", *post(addr, path, changed, {**form, "X-Twilio-Signature": sig}), 401)
    other = RequestValidator("another-token").compute_signature(url, params)
    expect("twilio: another token refused", *post(addr, path, body, {**form, "X-Twilio-Signature": other}), 401)
    sha256 = twilio.compute_signature(url, params, "HMAC_SHA256")
    settings = {"X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"}
    expect("twilio: a SharedKey HMAC-SHA256 signature", *post(addr, path, body, {**form, **settings, "X-Twilio-Signature": sha256}), 200)
    # A JSON body: its SHA-256 in the URL, the URL signed.
    body = b'{"MessageSid":"SM0124","MessageStatus":"delivered"}'
    json_path = f"/webhook/sms?bodySHA256={hashlib.sha256(body).hexdigest()}"
    json_url = f"http://{addr}{json_path}"
    sig = twilio.compute_signature(json_url, {})
    check("twilio: RequestValidator.validate accepts the JSON delivery", twilio.validate(json_url, body.decode(), sig))
    expect("twilio: a JSON body with bodySHA256", *post(addr, json_path, body, {**js, "X-Twilio-Signature": sig}), 200)
    expect("twilio: a JSON body that is not the one hashed", *post(addr, json_path, body + b" ", {**js, "X-Twilio-Signature": sig}), 401)

    # Discord: Ed25519 over timestamp + body with PyNaCl; its PING answered, not stored.
    def discord(payload, key=DISCORD, ts=None):
        ts = ts or str(int(time.time()))
        sig = key.sign(ts.encode() + payload).signature.hex()
        return {**js, "X-Signature-Ed25519": sig, "X-Signature-Timestamp": ts}

    ping = b'{"id":"1","application_id":"2","type":1,"token":"t","version":1}'
    status, reply = post(addr, "/webhook/bot", ping, discord(ping))
    check("discord: a PING signed with PyNaCl is answered {\"type\":1}", (status, reply) == (200, {"type": 1}), (status, reply))
    command = b'{"id":"786008729715212338","type":2,"guild_id":"290926798626357999","data":{"name":"status"}}'
    expect("discord: a command signed with PyNaCl", *post(addr, "/webhook/bot", command, discord(command)), 200)
    expect("discord: signed by another key", *post(addr, "/webhook/bot", command, discord(command, nacl.signing.SigningKey.generate())), 401)
    expect("discord: a changed body", *post(addr, "/webhook/bot", command.replace(b"status", b"deploy"), discord(command)), 401)
    status, reply = post(addr, "/webhook/bot", command, discord(command, ts=str(int(time.time()) - 600)))
    check("discord: a 10-minute-old timestamp refused as stale", (status, reply.get("reason")) == (401, "stale_timestamp"), reply)

    # SendGrid: ECDSA P-256 over timestamp + body, checked by the sendgrid library first.
    events = b'[{"email":"ann@example.com","timestamp":1700000000,"event":"delivered","sg_event_id":"sg1","sg_message_id":"m1"}]\r\n'
    ts = str(int(time.time()))
    sig = base64.b64encode(SENDGRID.sign(ts.encode() + events, ec.ECDSA(hashes.SHA256()))).decode()
    library = EventWebhook(SENDGRID_PUBLIC)
    check("sendgrid: EventWebhook.verify_signature accepts the delivery", library.verify_signature(events.decode(), sig, ts))
    headers = {**js, "X-Twilio-Email-Event-Webhook-Signature": sig, "X-Twilio-Email-Event-Webhook-Timestamp": ts}
    expect("sendgrid: the same delivery accepted by hookd", *post(addr, "/webhook/mail", events, headers), 200)
    expect("sendgrid: a changed body", *post(addr, "/webhook/mail", events.replace(b"delivered", b"bounce"), headers), 401)
    other = ec.generate_private_key(ec.SECP256R1())
    forged = base64.b64encode(other.sign(ts.encode() + events, ec.ECDSA(hashes.SHA256()))).decode()
    expect("sendgrid: signed by another key", *post(addr, "/webhook/mail", events, {**headers, "X-Twilio-Email-Event-Webhook-Signature": forged}), 401)

    # Resend and Clerk: svix's own Webhook.sign, under svix-* headers.
    for source, payload in [("resend", b'{"type":"email.bounced","data":{"email_id":"56761188","to":["a@example.com"]}}'),
                            ("clerk", b'{"type":"user.created","data":{"id":"user_29w83sxmDNGwOuEthce5gg56FcC"}}')]:
        msg_id = f"msg_{source}_1"
        now = datetime.now(tz=timezone.utc)
        headers = {**js, "svix-id": msg_id, "svix-timestamp": str(int(now.timestamp())),
                   "svix-signature": SvixWebhook(SVIX_SECRET).sign(msg_id, now, payload.decode())}
        expect(f"{source}: signed by svix", *post(addr, f"/webhook/{source}", payload, headers), 200)
        expect(f"{source}: a changed svix-id refused", *post(addr, f"/webhook/{source}", payload, {**headers, "svix-id": "msg_x"}), 401)

    # Square: HMAC-SHA256 of the notification URL + body, which Square's helper verifies first.
    payload = b'{"merchant_id":"6SSW7HV8K2ST5","type":"payment.updated","event_id":"13b867cf","data":{"type":"payment","id":"KkAkhd"}}'
    url = f"http://{addr}/webhook/pay"
    sig = base64.b64encode(hmac.new(SQUARE_KEY.encode(), url.encode() + payload, hashlib.sha256).digest()).decode()
    check("square: verify_signature accepts the delivery", square_verify(
        request_body=payload.decode(), signature_header=sig, signature_key=SQUARE_KEY, notification_url=url))
    square = {**js, "x-square-hmacsha256-signature": sig}
    expect("square: the same delivery accepted by hookd", *post(addr, "/webhook/pay", payload, square), 200)
    elsewhere = base64.b64encode(hmac.new(SQUARE_KEY.encode(), b"https://elsewhere.example/hook" + payload, hashlib.sha256).digest()).decode()
    expect("square: signed for another URL", *post(addr, "/webhook/pay", payload, {**js, "x-square-hmacsha256-signature": elsewhere}), 401)

    # HubSpot v3: the library's own signature over method, URL, body and timestamp.
    payload = b'[{"eventId":1,"subscriptionType":"contact.creation","objectId":123,"occurredAt":1700000000000}]'
    url = f"http://{addr}/webhook/crm"

    def hubspot(ms):
        sig = Signature.get_signature(HUBSPOT_SECRET, payload.decode(), "v3", http_uri=url, timestamp=str(ms))
        return {**js, "X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": str(ms)}

    now_ms = int(time.time() * 1000)
    check("hubspot: Signature.is_valid accepts the delivery", Signature.is_valid(
        hubspot(now_ms)["X-HubSpot-Signature-v3"], HUBSPOT_SECRET, payload.decode(), url,
        signature_version="v3", timestamp=str(now_ms)))
    expect("hubspot: signed by the hubspot library", *post(addr, "/webhook/crm", payload, hubspot(now_ms)), 200)
    status, reply = post(addr, "/webhook/crm", payload, hubspot(now_ms - 6 * 60 * 1000))
    check("hubspot: a 6-minute-old timestamp refused as stale", (status, reply.get("reason")) == (401, "stale_timestamp"), reply)

    # Paddle: ts=…;h1=<HMAC-SHA256("ts:body")>, which Paddle's own Verifier checks first.
    payload = b'{"event_id":"evt_01h","event_type":"transaction.completed","data":{"id":"txn_01h","status":"completed"}}'
    ts = str(int(time.time()))
    h1 = hmac.new(PADDLE_KEY.encode(), f"{ts}:".encode() + payload, hashlib.sha256).hexdigest()
    paddle = {**js, "Paddle-Signature": f"ts={ts};h1={h1}"}
    check("paddle: the SDK's Verifier accepts the delivery", paddle_verifies(paddle, payload))
    expect("paddle: the same delivery accepted by hookd", *post(addr, "/webhook/billing", payload, paddle), 200)
    other = hmac.new(b"another-key", f"{ts}:".encode() + payload, hashlib.sha256).hexdigest()
    check("paddle: the SDK refuses another key", not paddle_verifies({"Paddle-Signature": f"ts={ts};h1={other}"}, payload))
    expect("paddle: hookd refuses another key", *post(addr, "/webhook/billing", payload, {**js, "Paddle-Signature": f"ts={ts};h1={other}"}), 401)
    return accepted


def sent_by_hookd(config, d):
    """What `hookd send` signs, checked by each library."""
    server = http.server.HTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    files = {
        "sms": (b"MessageSid=SM9&SmsStatus=received&From=%2B1555&Body=hi", "/twilio?x=1"),
        "bot": (b'{"id":"9","type":2,"data":{"name":"ping"}}', "/discord"),
        "mail": (b'[{"email":"a@example.com","event":"open","sg_event_id":"e9"}]', "/sendgrid"),
        "billing": (b'{"event_id":"evt_9","event_type":"transaction.paid","data":{"id":"txn_9"}}', "/paddle"),
    }
    sent = {}
    for source, (body, path) in files.items():
        file = os.path.join(d, f"{source}.body")
        with open(file, "wb") as f:
            f.write(body)
        run = subprocess.run([HOOKD, "send", source, file, "--config", config, "--url", base + path],
                             capture_output=True, text=True)
        check(f"hookd send {source}: posted", run.returncode == 0, run.stderr)
        sent[source] = Capture.seen[-1]
    server.shutdown()

    path, headers, body = sent["sms"]
    params = dict(urllib.parse.parse_qsl(body.decode()))
    check("hookd send twilio: RequestValidator.validate accepts it",
          RequestValidator(TWILIO_TOKEN).validate(base + path, params, headers.get("x-twilio-signature", "")), headers)
    path, headers, body = sent["bot"]
    try:
        DISCORD.verify_key.verify(headers["x-signature-timestamp"].encode() + body,
                                  bytes.fromhex(headers["x-signature-ed25519"]))
        check("hookd send discord: PyNaCl verifies it", True)
    except Exception as e:  # nacl.exceptions.BadSignatureError, or a missing header
        check("hookd send discord: PyNaCl verifies it", False, repr(e))
    path, headers, body = sent["mail"]
    check("hookd send sendgrid: EventWebhook.verify_signature accepts it", EventWebhook(SENDGRID_PUBLIC).verify_signature(
        body.decode(), headers.get("x-twilio-email-event-webhook-signature", ""),
        headers.get("x-twilio-email-event-webhook-timestamp", "")), headers)
    path, headers, body = sent["billing"]
    check("hookd send paddle: the SDK's Verifier accepts it", paddle_verifies(headers, body), headers)


main()
print(f"{results['passed']} passed, {results['failed']} failed")
sys.exit(1 if results["failed"] else 0)
