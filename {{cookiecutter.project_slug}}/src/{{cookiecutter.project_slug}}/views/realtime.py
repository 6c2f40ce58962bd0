"""A WebSocket sample: /ws/echo sends each text message back.

A binary frame or a message over WS_MAX_MESSAGE_BYTES closes the connection cleanly with a code and
a reason the client can act on, never a crash.
"""

from quart import Blueprint, current_app, websocket

bp = Blueprint("realtime", __name__)

# Close codes from RFC 6455, section 7.4.1.
UNSUPPORTED_DATA = 1003
MESSAGE_TOO_BIG = 1009


@bp.websocket("/ws/echo")
async def echo() -> None:
    limit = current_app.config["WS_MAX_MESSAGE_BYTES"]
    while True:
        message = await websocket.receive()
        if not isinstance(message, str):
            await websocket.close(UNSUPPORTED_DATA, "text messages only")
            return
        if len(message.encode()) > limit:
            await websocket.close(MESSAGE_TOO_BIG, f"messages are limited to {limit} bytes")
            return
        await websocket.send(message)
