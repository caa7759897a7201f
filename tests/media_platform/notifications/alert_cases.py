"""A Slack incoming webhook and an SMTP server on 127.0.0.1 for the tests; both keep what they receive."""

from __future__ import annotations

import asyncio
import json
import threading
from email import message_from_bytes
from email.message import Message
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


class SmtpSink:
    """An SMTP server (asyncio, stdlib only) that accepts every mail and keeps it; `connection_json` points the
    `smtp_alerts` connection at it, without TLS."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 sink ESMTP\r\n")
        data: list[bytes] = []
        in_data = False
        while line := await reader.readline():
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    self.messages.append(message_from_bytes(b"".join(data)))
                    writer.write(b"250 queued\r\n")
                else:
                    data.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250 sink\r\n")
            elif verb == b"DATA":
                in_data, data = True, []
                writer.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()

    def connection_json(self) -> str:
        extra = {"disable_ssl": True, "disable_tls": True, "from_email": "alerts@example.com", "retry_limit": 0}
        return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": self.port, "extra": extra})

    def __enter__(self) -> SmtpSink:
        self._thread.start()
        start = asyncio.start_server(self._session, "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(timeout=30)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server:
            self._server.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
