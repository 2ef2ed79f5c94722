#!/usr/bin/env python3
"""The lesson's greeting server, the lesson's way: a thread per client,
blocking sockets, `Welcome!`, `Hello, <message>!` per message, `Bye!` on
`exit`. Two changes only: no time.sleep(1) per message (we measure the
server, not the nap), and messages are read as lines, since pipelined
clients would otherwise hit the "sticky packets" the lesson warns about.

Usage: threaded_greeter.py [PORT]   (0, the default, picks a free port)
Prints `Greeting on tcp://127.0.0.1:PORT` once listening.
"""
import socket
import sys
import threading


def tcplink(sock, addr):
    sock.send(b'Welcome!\n')
    reader = sock.makefile('rb')
    for line in reader:
        data = line.rstrip(b'\r\n').decode('utf-8', 'replace')
        if data == 'exit':
            sock.sendall(b'Bye!\n')
            break
        sock.sendall(('Hello, %s!\n' % data).encode('utf-8'))
    reader.close()
    sock.close()


def serve_threads(handler, announce, backlog):
    """The lessons' accept loop: a thread running handler(sock, addr) per
    client, on 127.0.0.1:PORT (argv[1], 0 by default: a free port), after
    printing `ANNOUNCE tcp://127.0.0.1:PORT`. benches/threaded_chat.py
    uses it too."""
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', port))
    s.listen(backlog)
    print('%s tcp://127.0.0.1:%d' % (announce, s.getsockname()[1]), flush=True)
    try:
        while True:
            sock, addr = s.accept()
            t = threading.Thread(target=handler, args=(sock, addr), daemon=True)
            t.start()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    serve_threads(tcplink, 'Greeting on', 1024)
