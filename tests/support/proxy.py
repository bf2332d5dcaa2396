"""A TCP proxy on 127.0.0.1 that can fall silent (connections kept open, no byte relayed), as behind a partition."""

import selectors
import socket
import threading

from smimages.net import free_port


class SilentProxy:
    """Relays 127.0.0.1:port to `upstream`; while `frozen` is set it keeps every connection open and relays nothing
    (a database behind a network partition). Without an upstream it accepts connections and never says a word."""

    def __init__(self, upstream: tuple[str, int] | None = None):
        self.upstream = upstream
        self.port = free_port()
        self.frozen = threading.Event()
        if upstream is None:
            self.frozen.set()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._peers: dict[socket.socket, socket.socket | None] = {}
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._closed.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    self._accept()
                elif not self.frozen.is_set():
                    self._relay(sock)
            if self.frozen.is_set():
                self._closed.wait(0.02)  # what is waiting to be relayed stays unread

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        server = socket.create_connection(self.upstream) if self.upstream else None
        self._peers[client] = server
        if server is not None:
            self._peers[server] = client
            for sock in (client, server):
                self._selector.register(sock, selectors.EVENT_READ)

    def _relay(self, sock: socket.socket) -> None:
        other = self._peers.get(sock)
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if data and other is not None:
            other.sendall(data)
            return
        for end in (sock, other):
            if end is not None and end in self._peers:
                self._selector.unregister(end)
                del self._peers[end]
                end.close()

    def close(self) -> None:
        self._closed.set()
        self._thread.join()
        for sock in list(self._peers):
            sock.close()
        self._listener.close()
