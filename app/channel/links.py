"""Where a page finds the room's channel, for the app's side (no aiohttp here)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request

PREFIX = "/channel"


def events_url(attempt_id: int) -> str | None:
    """The attempt's event stream as the page should open it, or None without a channel.
    CHANNEL_URL: a path (a proxy in front routes it to the channel) or a full URL;
    CHANNEL_PORT: that port of the host the page itself came from."""
    url, port = current_app.config.get("CHANNEL_URL"), current_app.config.get("CHANNEL_PORT")
    if url:
        return f"{url.rstrip('/')}/attempts/{attempt_id}"
    if port:
        host = urlsplit(request.host_url).hostname or "localhost"
        if ":" in host:                     # IPv6
            host = f"[{host}]"
        return f"{request.scheme}://{host}:{port}{PREFIX}/attempts/{attempt_id}"
    return None


def connect_origin(url: str | None) -> str | None:
    """The origin the page's content security policy must let it connect to, if not its own."""
    if not url or url.startswith("/"):
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
