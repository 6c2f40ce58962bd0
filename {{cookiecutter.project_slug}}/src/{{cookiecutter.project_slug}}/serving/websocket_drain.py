"""Close open WebSockets when a worker drains, as uvicorn does: code 1012, "server restarting".

Hypercorn leaves WebSockets open on shutdown until the graceful timeout, then cancels them (the
client sees 1011, the log an error), although a WebSocket may live for hours and the client only
needs to hear that it should reconnect. This middleware closes each one as soon as its worker
starts to drain (hypercorn_workers.draining) and tells the app the client has gone.
"""

import asyncio

from .hypercorn_workers import draining

GOING_AWAY = {"type": "websocket.close", "code": 1012, "reason": "server restarting"}


class CloseWebSocketsOnDrain:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        accepted = False
        drained = asyncio.ensure_future(draining().wait())  # one waiter for the connection

        async def tracking_send(message):
            nonlocal accepted
            accepted = accepted or message["type"] == "websocket.accept"
            await send(message)

        async def receive_until_drained():
            message = asyncio.ensure_future(receive())
            try:
                await asyncio.wait({message, drained}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:  # the app gave up waiting
                message.cancel()
                raise
            if message.done():
                return message.result()
            message.cancel()
            # Not accepted yet: a plain close, which refuses the handshake with a 403.
            await send(GOING_AWAY if accepted else {"type": "websocket.close"})
            return {"type": "websocket.disconnect", "code": GOING_AWAY["code"]}

        try:
            await self.app(scope, receive_until_drained, tracking_send)
        finally:
            drained.cancel()
