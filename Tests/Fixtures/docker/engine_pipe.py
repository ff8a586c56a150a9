"""Copies one direction of a proxied engine connection: the test engines in front of this
machine's Docker engine (newer_engine_proxy.py, tcp_engine_forwarder.py) use it."""

async def pipe(reader, writer):
    """Copies `reader` to `writer` until the end, then half-closes `writer`, so that a
    hijacked stream's end of input (exec's stdin) reaches the other side."""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        else:
            writer.close()
    except (ConnectionError, OSError):
        writer.close()
