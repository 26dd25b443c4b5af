# A TCP listener that never accepts, with the smallest backlog: once its accept queue holds one
# connection, the kernel drops further SYNs, so a client's connect hangs as on a lossy network.
# Prints its port, then waits until its standard input closes.
import socket
import sys

s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
