#!/usr/bin/python3
"""Kernel-side WebSocket servers for `ustack ws`: Debian's python3-websockets
on PORT (an echo server that first pings each client and waits for its
pong; /big sends a 2 MiB message; /close4000 closes at once with 4000), and
raw sockets on PORT+1 for what that library will not send:
/masked (a masked frame from the server), /drop (the TCP connection ends
without a close frame), /huge (a frame header announcing 2^40 bytes),
/badaccept (a wrong Sec-WebSocket-Accept). Prints one line per event.

usage: ws_server_peer.py ADDR PORT
"""
import asyncio
import base64
import hashlib
import struct
import sys

import websockets

ADDR, PORT = sys.argv[1], int(sys.argv[2])
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def say(line):
    print(line, flush=True)


async def echo(ws, path):
    say(f"connection {path}")
    if path == "/close4000":
        await ws.close(4000, "go away")
        return
    if path == "/big":
        await ws.send(bytes(2 << 20))
    waiter = await ws.ping(b"from the server")
    try:
        await asyncio.wait_for(waiter, 10)
        say("pong ok")
    except asyncio.TimeoutError:
        say("no pong")
    try:
        async for m in ws:
            say(f"message {type(m).__name__} {len(m)}")
            await ws.send(m)
    except websockets.ConnectionClosed:
        pass
    say(f"close {ws.close_code}")


async def raw(reader, writer):
    head = b""
    while b"\r\n\r\n" not in head:
        data = await asyncio.wait_for(reader.read(4096), 10)
        if not data:
            return
        head += data
    lines = head.decode().split("\r\n")
    path = lines[0].split()[1]
    key = next(l.split(":", 1)[1].strip() for l in lines if l.lower().startswith("sec-websocket-key"))
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    if path == "/badaccept":
        accept = base64.b64encode(b"\0" * 20).decode()
    writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
    say(f"raw {path}")
    if path == "/masked":
        writer.write(b"\x81\x82\x01\x02\x03\x04" + bytes([ord("h") ^ 1, ord("i") ^ 2]))
    elif path == "/huge":
        writer.write(b"\x82\x7f" + struct.pack(">Q", 1 << 40))
    await writer.drain()
    if path in ("/drop", "/badaccept"):
        writer.close()
        return
    try:
        await asyncio.wait_for(reader.read(65536), 10)  # the client's close frame
    except asyncio.TimeoutError:
        pass
    writer.close()


async def main():
    async with websockets.serve(echo, ADDR, PORT, max_size=None):
        server = await asyncio.start_server(raw, ADDR, PORT + 1)
        async with server:
            await asyncio.Future()

asyncio.run(main())
