"""moto in server mode, as a process of its own: the AWS services the tuned function calls.

Started by `powertuning.local.services` as `python moto_process.py`: serves moto's backends on a
free port of 127.0.0.1, prints the port on stdout, and stops when its stdin closes (the tuner
exited or closed it). Its CPU is this process's, never the function's.
"""

from __future__ import annotations

import logging
import sys


def main() -> int:
    """Serve until stdin closes."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _host, port = server.get_host_and_port()
    print(port, flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
