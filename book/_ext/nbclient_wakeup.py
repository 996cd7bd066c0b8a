"""Bounds a lost wake-up in notebook execution to one second.

jupyter_client's asyncio channels wait for a kernel message with a single
zmq poll lasting the whole remaining cell timeout. Under load that poll can
miss the wake-up for a reply already queued on the socket
(jupyter/nbclient#312): the cell then "stalls" for its full timeout (1200 s in
this book) and carries on normally. Polling in one-second slices re-checks
the socket, so a missed wake-up costs at most a second.

Loaded as a Sphinx extension by _config.yml (myst-nb executes notebooks in
the build's own process) and installed by tests/test_notebooks.py.
"""

from __future__ import annotations

import time
from queue import Empty

SLICE_SECONDS = 1.0


def install() -> None:
    from jupyter_client.channels import AsyncZMQSocketChannel

    if getattr(AsyncZMQSocketChannel, "_sliced_poll", False):
        return

    async def get_msg(self, timeout: float | None = None):
        """Gets a message if there is one that is ready (polling in slices)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = SLICE_SECONDS if deadline is None else max(0.0, min(SLICE_SECONDS, deadline - time.monotonic()))
            if await self.socket.poll(int(wait * 1000)):
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty

    AsyncZMQSocketChannel.get_msg = get_msg
    AsyncZMQSocketChannel._sliced_poll = True


def setup(app):
    install()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
