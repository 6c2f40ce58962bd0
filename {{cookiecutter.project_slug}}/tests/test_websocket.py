"""The WebSocket sample through Quart's test client: echo, and clean closes on bad input."""

import asyncio

import pytest
from quart.testing.connections import WebsocketDisconnectError

from {{ cookiecutter.project_slug }}.settings import load_settings


def run(coroutine):
    return asyncio.run(coroutine)


def test_text_messages_are_echoed_in_order(app):
    async def session():
        async with app.test_client().websocket("/ws/echo") as ws:
            replies = []
            for text in ("hello", "wörld", "{}"):
                await ws.send(text)
                replies.append(await ws.receive())
            return replies

    assert run(session()) == ["hello", "wörld", "{}"]


def close_code_after(app, message):
    """Send one message to /ws/echo; return the code the server closes with."""

    async def session():
        async with app.test_client().websocket("/ws/echo") as ws:
            await ws.send(message)
            with pytest.raises(WebsocketDisconnectError) as closed:
                await ws.receive()
            return closed.value.args[0]

    return run(session())


def test_binary_frame_closes_with_unsupported_data(app):
    assert close_code_after(app, b"\x00\x01") == 1003


def test_over_long_message_closes_with_message_too_big(app):
    assert close_code_after(app, "x" * 65) == 1009  # the test app allows 64 bytes


def test_message_at_the_limit_is_echoed(app):
    async def session():
        async with app.test_client().websocket("/ws/echo") as ws:
            await ws.send("x" * 64)
            return await ws.receive()

    assert run(session()) == "x" * 64


def test_websocket_message_limit_comes_from_the_environment():
    settings = load_settings({"APP_ENV": "development", "WS_MAX_MESSAGE_BYTES": "128"})
    assert settings.ws_max_message_bytes == 128
    assert load_settings({"APP_ENV": "development"}).ws_max_message_bytes == 65536
