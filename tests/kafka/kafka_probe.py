#!/usr/bin/env python3
"""Helpers for kafka.sh that bash cannot do alone (standard library only, any python3).

  kafka_probe.py ports N          print N free 127.0.0.1 TCP ports, one a line
  kafka_probe.py uuid             print a random Kafka cluster id (base64url of 16 bytes)
  kafka_probe.py ready HOST:PORT  exit 0 when the broker answers a Metadata request and lists
                                  itself (a KRaft broker is listed only once it is unfenced)

The Metadata request is written by hand (v1, no topics) so that the readiness check needs
neither a JVM start nor a Kafka client library.
"""
import base64
import os
import socket
import struct
import sys

API_METADATA = 3


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def random_cluster_id():
    # Kafka's Uuid.randomUuid(): never the zero or metadata-topic id, never starts with '-'.
    while True:
        raw = os.urandom(16)
        text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        if raw not in (bytes(16), bytes(15) + b"\x01") and not text.startswith("-"):
            return text


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        buf += chunk
    return buf


def metadata_brokers(host, port, timeout=2.0):
    """Return [(node_id, host, port)] from a Metadata v1 response."""
    client_id = b"herald-kafka-probe"
    body = struct.pack(">hhih", API_METADATA, 1, 7, len(client_id)) + client_id
    body += struct.pack(">i", 0)  # topics: empty array = no topics (v1)
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", recv_exact(s, 4))
        resp = recv_exact(s, size)
    pos = 0

    def take(fmt):
        nonlocal pos
        vals = struct.unpack_from(fmt, resp, pos)
        pos += struct.calcsize(fmt)
        return vals

    (corr,) = take(">i")
    if corr != 7:
        raise ValueError("unexpected correlation id %d" % corr)
    (count,) = take(">i")
    brokers = []
    for _ in range(count):
        (node_id, hlen) = take(">ih")
        bhost = resp[pos : pos + hlen].decode()
        pos += hlen
        (bport, rlen) = take(">ih")
        if rlen > 0:
            pos += rlen
        brokers.append((node_id, bhost, bport))
    return brokers


def main(argv):
    if len(argv) == 3 and argv[1] == "ports":
        print("\n".join(str(p) for p in free_ports(int(argv[2]))))
        return 0
    if len(argv) == 2 and argv[1] == "uuid":
        print(random_cluster_id())
        return 0
    if len(argv) == 3 and argv[1] == "ready":
        host, _, port = argv[2].rpartition(":")
        try:
            brokers = metadata_brokers(host, int(port))
        except (OSError, ValueError, struct.error) as e:
            print("not ready: %s" % e, file=sys.stderr)
            return 1
        if not any(p == int(port) for (_, _, p) in brokers):
            print("not ready: broker not yet listed in metadata (%r)" % brokers, file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
