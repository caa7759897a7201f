"""A Slack incoming webhook served on 127.0.0.1 for the tests: records every JSON body it receives."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WEBHOOK_TOKEN = "T0TEST/B0TEST/s3cr3tWebhookToken42"


class WebhookServer:
    """`url` is the webhook (its path is the secret token); `bodies` the JSON received; `status` what it answers."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = status
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                server.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(server.status)
                self.end_headers()
                self.wfile.write(b"ok" if server.status == 200 else b"invalid_token")

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/services/{WEBHOOK_TOKEN}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def connection_json(self) -> str:
        """The `slack_alerts` connection as AIRFLOW_CONN_SLACK_ALERTS: the whole URL in the password field."""
        return json.dumps({"conn_type": "slackwebhook", "password": self.url})

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
