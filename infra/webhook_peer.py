#!/usr/bin/env python3
"""The other side of Herald's webhooks, with the Standard Webhooks reference library (PyPI
`standardwebhooks`), for the end-to-end tests:

  webhook_peer.py receive PORT SECRET_FILE OUT_FILE FAIL_FIRST SECONDS
      listens on 127.0.0.1:PORT; verifies each POST with the secret in SECRET_FILE (read per
      request); answers 500 to the first FAIL_FIRST verified deliveries, 200 to the others,
      401 to what does not verify; appends one JSON line per request to OUT_FILE; stops by
      itself after SECONDS.
  webhook_peer.py sign SECRET MSG_ID BODY_FILE
      prints the three headers, as JSON, that sign BODY_FILE's bytes now.
"""
import json
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


def receive(port, secret_file, out_file, fail_first, seconds):
    verified = {"n": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {k: v for k, v in self.headers.items()}
            record = {
                "id": headers.get("webhook-id") or headers.get("Webhook-Id"),
                "timestamp": headers.get("webhook-timestamp") or headers.get("Webhook-Timestamp"),
            }
            try:
                with open(secret_file) as f:
                    secret = f.read().strip()
                payload = Webhook(secret).verify(body, headers)
                record["verified"] = True
                record["kind"] = payload.get("kind")
                record["data"] = payload.get("data")
                with lock:
                    verified["n"] += 1
                    status = 500 if verified["n"] <= fail_first else 200
            except Exception as e:  # the reference library's refusal, whatever its kind
                record["verified"] = False
                record["error"] = f"{type(e).__name__}: {e}"
                status = 401
            record["status"] = status
            with lock, open(out_file, "a") as f:
                f.write(json.dumps(record) + "\n")
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Timer(seconds, server.shutdown).start()
    print("listening", flush=True)
    server.serve_forever()


def sign(secret, msg_id, body_file):
    with open(body_file, "rb") as f:
        body = f.read().decode()
    now = datetime.now(tz=timezone.utc)
    signature = Webhook(secret).sign(msg_id, now, body)
    print(json.dumps({
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }))


if __name__ == "__main__":
    if sys.argv[1] == "receive":
        receive(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6]))
    elif sys.argv[1] == "sign":
        sign(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
