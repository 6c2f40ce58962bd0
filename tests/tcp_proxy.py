"""A small threaded TCP proxy on 127.0.0.1 for outage tests (standard library only).

    proxy = TcpProxy("127.0.0.1", postgres.port).start()
    url = postgres.database_url("wsgi_outage", port=proxy.port)   # the app connects through it
    proxy.cut()       # the database "goes down": open connections close, new ones are dropped
    proxy.restore()   # it "comes back": new connections are forwarded again
    proxy.close()     # or use `with TcpProxy(...) as proxy:`

While cut, the proxy still listens (the port stays ours) but closes each new connection as soon
as it is accepted, as a server that dies during the handshake would: clients see "server closed
the connection unexpectedly" / ECONNRESET rather than "connection refused".

No half-close: when either side ends its connection, the proxy closes both sides.

Threads: one accepting, two per forwarded connection, all daemon; at most `max_connections`
connections are forwarded at once (more are closed on arrival and counted in `.rejected`).
"""

import contextlib
import socket
import threading


def _shutdown(sock: socket.socket) -> None:
    """Wake any thread blocked on the socket and send FIN; a closed socket is left alone."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Link:
    """One client connection and its upstream connection, with the two threads pumping them."""

    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.upstream = upstream
        self.threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._running = 2

    def shutdown(self) -> None:
        _shutdown(self.client)
        _shutdown(self.upstream)

    def pump_finished(self) -> bool:
        """Called by each pump as it ends; True for the last one, which closes the sockets."""
        with self._lock:
            self._running -= 1
            last = self._running == 0
        if last:
            self.client.close()
            self.upstream.close()
        return last


class TcpProxy:
    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        max_connections: int = 64,
        connect_timeout: float = 5.0,
    ):
        self.target = (target_host, target_port)
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.port: int | None = None
        self.accepted = 0  # connections forwarded, in all
        self.rejected = 0  # connections closed on arrival (cut, full, or upstream unreachable)
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._is_cut = False
        self._closing = threading.Event()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "cut" if self._is_cut else "forwarding"
        return f"TcpProxy(127.0.0.1:{self.port} -> {self.target[0]}:{self.target[1]}, {state})"

    @property
    def active(self) -> int:
        """Connections being forwarded now."""
        with self._lock:
            return len(self._links)

    @property
    def is_cut(self) -> bool:
        return self._is_cut

    def start(self) -> "TcpProxy":
        if self._listener is not None:
            raise RuntimeError("proxy already started")
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        # accept() wakes up this often to notice close(): closing a socket does not wake a
        # thread blocked in accept() on Linux.
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(
            target=self._accept_loop, name=f"tcp-proxy-{self.port}-accept", daemon=True
        )
        self._acceptor.start()
        return self

    def cut(self, timeout: float = 5.0) -> None:
        """Close every forwarded connection (both sides get FIN) and drop new ones until
        restore(). Returns once those connections' sockets are closed."""
        with self._lock:
            self._is_cut = True
            links = list(self._links)
        for link in links:
            link.shutdown()
        self._join(links, timeout)

    def restore(self) -> None:
        """Forward new connections again (those closed by cut() stay closed)."""
        with self._lock:
            self._is_cut = False

    def close(self, timeout: float = 5.0) -> None:
        """Stop listening, close every connection and join every thread."""
        self._closing.set()
        if self._acceptor is not None:
            self._acceptor.join(timeout)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            links = list(self._links)
        for link in links:
            link.shutdown()
        self._join(links, timeout)
        if self._acceptor is not None and self._acceptor.is_alive():
            raise RuntimeError(f"{self!r}: accept thread still running after {timeout} s")

    @staticmethod
    def _join(links: list[_Link], timeout: float) -> None:
        stuck = []
        for link in links:
            for thread in link.threads:
                thread.join(timeout)
                if thread.is_alive():
                    stuck.append(thread.name)
        if stuck:
            raise RuntimeError(f"proxy threads still running after {timeout} s: {stuck}")

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        with self._lock:
            refuse = self._is_cut or len(self._links) >= self.max_connections
        if refuse or self._closing.is_set():
            self._reject(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=self.connect_timeout)
        except OSError:
            self._reject(client)
            return
        try:
            for sock in (client, upstream):
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # the client has gone already
            upstream.close()
            self._reject(client)
            return
        link = _Link(client, upstream)
        name = f"tcp-proxy-{self.port}-{self.accepted + self.rejected + 1}"
        link.threads = [
            threading.Thread(target=self._pump, args=args, daemon=True, name=f"{name}-{way}")
            for way, args in (("up", (link, client, upstream)), ("down", (link, upstream, client)))
        ]
        with self._lock:
            # cut() or close() may have run while we connected upstream.
            refuse = self._is_cut or self._closing.is_set()
            if not refuse:
                self._links.add(link)
                self.accepted += 1
                # Started under the lock, so cut() and close() never see a link unstarted.
                for thread in link.threads:
                    thread.start()
        if refuse:
            upstream.close()
            self._reject(client)

    def _reject(self, client: socket.socket) -> None:
        with self._lock:
            self.rejected += 1
        _shutdown(client)
        client.close()

    def _pump(self, link: _Link, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        # One side ended or cut() shut both down: end the other direction too.
        link.shutdown()
        if link.pump_finished():
            with self._lock:
                self._links.discard(link)
