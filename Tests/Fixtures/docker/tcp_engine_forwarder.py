"""A Docker engine on a plain TCP port of this machine, as `dockerd -H tcp://127.0.0.1:PORT`
gives one: it listens on 127.0.0.1, port argv[1], and passes the
bytes of each connection both ways to /var/run/docker.sock, untouched (hijacked exec and
attach streams included). One line per connection goes to the file argv[2]. With argv[3]
(seconds), the first connection that sends a request is held that long before it is
passed on: a busy engine that accepts a connection but answers late."""
import asyncio, sys

from engine_pipe import pipe

port, log_path = int(sys.argv[1]), sys.argv[2]
first_delay = [float(sys.argv[3])] if len(sys.argv) > 3 else [0.0]
log = open(log_path, "a", buffering=1)


async def handle(reader, writer):
    log.write("connection\n")
    first = b""
    if first_delay[0]:
        # Held: the first connection that sends a request (not a probe of the port).
        first = await reader.read(65536)
        if not first:
            writer.close()
            return
        delay, first_delay[0] = first_delay[0], 0.0
        await asyncio.sleep(delay)
    up_reader, up_writer = await asyncio.open_unix_connection("/var/run/docker.sock")
    if first:
        up_writer.write(first)
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)
    writer.close()
    up_writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", port, limit=1 << 20)
    async with server:
        await server.serve_forever()

asyncio.run(main())
