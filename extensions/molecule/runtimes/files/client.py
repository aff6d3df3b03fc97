"""A client configured by path: trusts only the CA file it is given, checks the host name."""

import socket
import ssl
import sys

host, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    context = ssl.create_default_context(cafile=cafile)
    with (
        socket.create_connection((host, port), timeout=10) as sock,
        context.wrap_socket(sock, server_hostname=host) as tls,
    ):
        print("ok", tls.version())
except (OSError, ssl.SSLError) as exc:
    print("fail", exc)
    sys.exit(2)
