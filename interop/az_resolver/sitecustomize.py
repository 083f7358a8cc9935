"""Loaded by the `az` processes of interop/test_az_cli.py (through PYTHONPATH): resolves
`localhost` and `*.localhost` to the IPv4 loopback, as RFC 6761 says they are, whatever this
machine's resolver does (Debian without libnss-myhostname does not resolve them). Nothing else
is changed."""
import socket

_system_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    if isinstance(host, bytes):
        host = host.decode()
    if isinstance(host, str):
        name = host.rstrip(".").lower()
        if name == "localhost" or name.endswith(".localhost"):
            host = "127.0.0.1"
    return _system_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo
