"""Where the CLI reaches its own node."""

from __future__ import annotations

import pytest

from node.rpc.self_client import self_endpoint


@pytest.mark.parametrize(
    ("listen", "endpoint"),
    [
        ("127.0.0.1:7443", "127.0.0.1:7443"),
        ("0.0.0.0:7443", "127.0.0.1:7443"),
        ("[::]:7443", "[::1]:7443"),
        ("node.internal:9000", "node.internal:9000"),
    ],
)
def test_self_endpoint(listen: str, endpoint: str) -> None:
    assert self_endpoint(listen) == endpoint


@pytest.mark.parametrize(("listen", "text"), [("127.0.0.1:0", "port 0"), ("nohost", "host:port")])
def test_unusable_listen_addresses(listen: str, text: str) -> None:
    with pytest.raises(ValueError, match=text):
        self_endpoint(listen)
