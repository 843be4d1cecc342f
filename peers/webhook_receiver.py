"""A webhook receiver on loopback that answers Pharos's verification request as documented.

`echo=True` answers the challenge (a willing receiver); `echo=False` answers 204 and nothing
else (any server that takes POSTs, not a consenting receiver). `delay` seconds pass before
it answers (a slow endpoint). Every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """Listens on a loopback address (127.0.0.1 unless told) at `url`; stop() ends it."""

    def __init__(
        self, *, echo: bool = True, status: int = 200, host: str = "127.0.0.1", delay: float = 0.0
    ) -> None:
        self.echo = echo
        self.status = status
        self.delay = delay
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                body = json.loads(raw) if raw else {}
                receiver.requests.append((self.path, dict(self.headers.items()), body))
                time.sleep(receiver.delay)
                answer = b""
                if receiver.echo and body.get("type") == "webhook.verification":
                    answer = json.dumps({"challenge": body["challenge"]}).encode()
                self.send_response(receiver.status if answer or not receiver.echo else 204)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop listening."""
        self.httpd.shutdown()
        self.httpd.server_close()
