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

        async def tracking_send(message):
            nonlocal accepted
            accepted = accepted or message["type"] == "websocket.accept"
            await send(message)

        async def receive_until_drained():
            message = asyncio.ensure_future(receive())
            drained = asyncio.ensure_future(draining().wait())
            await asyncio.wait({message, drained}, return_when=asyncio.FIRST_COMPLETED)
            if message.done():
                drained.cancel()
                return message.result()
            message.cancel()
            if accepted:
                await send(GOING_AWAY)
            return {"type": "websocket.disconnect", "code": GOING_AWAY["code"]}

        await self.app(scope, receive_until_drained, tracking_send)
