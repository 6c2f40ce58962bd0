"""How many idle WebSocket connections one Quart server holds, and what each costs in memory."""

import asyncio

from .config import PORT
from .memory import pss_mb
from .processes import running, server_env
from .setups import Setup


async def open_websockets(count: int, into: list) -> int:
    """Open websockets up to `count` in all, then check each echoes; return how many did."""
    import websockets

    while len(into) < count:
        into.append(
            await websockets.connect(
                f"ws://127.0.0.1:{PORT}/ws/echo", open_timeout=10, ping_interval=None
            )
        )

    async def echoes(ws) -> bool:
        await ws.send("ping")
        return await ws.recv() == "ping"

    return sum(await asyncio.gather(*(echoes(ws) for ws in into)))


def websocket_capacity(setup: Setup, steps=(1000, 4000, 8000)) -> list[dict]:
    """Hold many idle WebSocket connections open on one server; memory per connection."""
    print(f"== WebSockets held by {setup.label}", flush=True)
    loop = asyncio.new_event_loop()
    held, found = [], []
    with running(setup.command, setup.cwd, server_env(**setup.env)) as (server, _):
        idle = pss_mb(server.pid)
        for step in steps:
            try:
                alive = loop.run_until_complete(open_websockets(step, held))
            except OSError as error:
                found.append({"connections": step, "error": repr(error)})
                break
            memory = pss_mb(server.pid)
            found.append(
                {
                    "connections": step,
                    "echoing": alive,
                    "pss_mb": memory,
                    "idle_pss_mb": idle,
                    "kb_per_connection": round((memory - idle) * 1024 / step, 1),
                }
            )
            print(f"   {found[-1]}", flush=True)
        for ws in held:
            loop.run_until_complete(ws.close())
    loop.close()
    return found
