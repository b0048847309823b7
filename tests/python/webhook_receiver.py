"""A webhook receiver for hookd's `events/subscribe`, verifying every delivery with the Standard
Webhooks reference library (`standardwebhooks` on PyPI).

Usage: python webhook_receiver.py <whsec_ secret> <how many event deliveries to refuse first> [ok|gone]
Prints "listening <port>", then one JSON line per request: {"kind": "verification" | "event" |
"refused" | "bad_signature", ...}. Answers the verification challenge by echoing it; refuses the
first N event deliveries with 503 (to exercise retries), then answers 200, or 410 Gone with
`gone`; answers 401 to a bad signature.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

hook = Webhook(sys.argv[1])
refuse = int(sys.argv[2])
gone = len(sys.argv) > 3 and sys.argv[3] == "gone"


def emit(record):
    print(json.dumps(record), flush=True)


class Receiver(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        global refuse
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            payload = hook.verify(body, headers)
        except WebhookVerificationError as e:
            emit({"kind": "bad_signature", "error": str(e)})
            return self.answer(401)
        meta = {"webhook_id": headers["webhook-id"], "subscription_id": headers.get("x-mcp-subscription-id")}
        if payload.get("type") == "verification":
            emit({"kind": "verification", **meta})
            return self.answer(200, json.dumps({"challenge": payload["challenge"]}).encode())
        if refuse > 0:
            refuse -= 1
            emit({"kind": "refused", **meta})
            return self.answer(503)
        if gone:
            emit({"kind": "gone", **meta})
            return self.answer(410)
        emit({"kind": "event", **meta, "body": payload})
        self.answer(200)


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()
