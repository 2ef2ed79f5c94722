#!/usr/bin/env python3
"""The lessons' TCP chat made a room, the lessons' way: a thread per
client, blocking sockets, and every line sent to every other member with
sendall under one lock. The first line is the member's name; it is
answered `* Hello NAME` (so a load generator knows it is in); then each
line goes to the others as `<name> text`. No join or leave notices, no
queues, no limits: the baseline benches/chat.sh compares with.

Usage: threaded_chat.py [PORT]   (0, the default, picks a free port)
Prints `Chatting on tcp://127.0.0.1:PORT` once listening.
"""
import threading

from threaded_greeter import serve_threads

members = {}
lock = threading.Lock()


def tcplink(sock, addr):
    reader = sock.makefile('rb')
    name = reader.readline().rstrip(b'\r\n')
    with lock:
        members[sock] = name
    sock.sendall(b'* Hello ' + name + b'\n')
    for line in reader:
        text = line.rstrip(b'\r\n')
        if text == b'/quit':
            break
        out = b'<' + name + b'> ' + text + b'\n'
        with lock:
            for other in members:
                if other is not sock:
                    try:
                        other.sendall(out)
                    except OSError:
                        pass
    with lock:
        del members[sock]
    reader.close()
    sock.close()


if __name__ == '__main__':
    serve_threads(tcplink, 'Chatting on', 4096)
