#!/usr/bin/env python3
"""Opens N keep-alive connections to the benchmark server, sends one request on each, keeps them idle,
and prints the server's resident memory before, while idle (sampled several times), and after closing.

Usage: Benchmarks/idle_connections.py PORT SERVER_PID [N=5000]
"""
import socket, sys, time, resource

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

port, pid = int(sys.argv[1]), int(sys.argv[2])
count = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 256), hard))
print(f"server rss before: {rss_kib(pid)} KiB")
sockets = []
request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
for batch in range(0, count, 500):
    opened = []
    for _ in range(min(500, count - batch)):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(request)
        opened.append(s)
    for s in opened:
        data = b""
        while b"hello, world\n" not in data:
            data += s.recv(4096)
    sockets.extend(opened)
print(f"{len(sockets)} idle keep-alive connections open")
for i in range(3):
    time.sleep(2)
    print(f"server rss with {len(sockets)} idle connections (+{2 * (i + 1)}s): {rss_kib(pid)} KiB")
for s in sockets:
    s.close()
time.sleep(2)
print(f"server rss after closing: {rss_kib(pid)} KiB")
