"""``quarantine serve --workers N``: one SO_REUSEPORT listening socket per worker."""

from __future__ import annotations

import socket

import pytest
from uvicorn import Config

from quarantine.cli.serve import reuse_port_listener, spread_workers
from quarantine.errors import EnvironmentProblem

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "SO_REUSEPORT"), reason="SO_REUSEPORT is not available here"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_each_worker_gets_its_own_socket_on_the_same_port() -> None:
    port = _free_port()
    config = Config("quarantine.web.asgi:build", factory=True, port=port, workers=2)
    supervisor = spread_workers(config, "127.0.0.1", port)
    first, second = supervisor.sockets[0], supervisor.sockets[0]
    try:
        assert first is not second and first.fileno() != second.fileno()
        assert first.getsockname() == second.getsockname() == ("127.0.0.1", port)
        assert first.proto == socket.IPPROTO_TCP  # accepted sockets get TCP_NODELAY
        first.listen()
        second.listen()  # both listen: the kernel spreads connections over them
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    finally:
        first.close()
        second.close()


def test_a_port_already_served_is_refused_not_shared() -> None:
    port = _free_port()
    serving = reuse_port_listener("127.0.0.1", port)
    serving.listen()
    try:
        config = Config("quarantine.web.asgi:build", factory=True, port=port, workers=2)
        with pytest.raises(EnvironmentProblem) as raised:
            spread_workers(config, "127.0.0.1", port)
        assert raised.value.code == "ADDRESS_IN_USE"
    finally:
        serving.close()
