"""`greenloop serve --tcp HOST:PORT`: the same server over a socket."""

import json
import socket
import subprocess
import sys
import time


def _message(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def _read_message(sock: socket.socket, buffer: bytearray) -> dict:
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(65536)
    header, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
    while len(rest) < length:
        rest += sock.recv(65536)
    buffer[:] = rest[length:]
    return json.loads(rest[:length])


def test_the_server_answers_initialize_over_tcp(tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "greenloop", "serve", "--tcp", f"127.0.0.1:{port}"],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "server did not listen"
                time.sleep(0.1)
        with sock:
            buffer = bytearray()
            sock.sendall(_message({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                   "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}}))
            reply = _read_message(sock, buffer)
            while "id" not in reply:  # skip notifications
                reply = _read_message(sock, buffer)
            assert reply["id"] == 1
            assert reply["result"]["serverInfo"]["name"] == "greenloop"
            assert reply["result"]["capabilities"]["textDocumentSync"]["save"] == {"includeText": False}
            sock.sendall(_message({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
            reply = _read_message(sock, buffer)
            while reply.get("id") != 2:
                reply = _read_message(sock, buffer)
            sock.sendall(_message({"jsonrpc": "2.0", "method": "exit"}))
        server.wait(timeout=20)
    finally:
        server.kill()
        server.wait()
