"""A registry that never answers: it accepts connections on 127.0.0.1:argv[1] and holds
them open without a byte, so a pull from it waits until the engine gives up."""
import socket, sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(64)
held = []
while True:
    connection, _ = server.accept()
    held.append(connection)
