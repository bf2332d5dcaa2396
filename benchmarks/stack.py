"""`python -m benchmarks.stack {smimages|ceiling} REQUESTS`: one server's whole request path in-process, no sockets.

The server's connection protocol (smimages/httpserver.py) is fed a DescribeImageVersion's bytes on a fake transport,
REQUESTS times, on one connection. Run under valgrind, two counts give the instructions one request costs, a
figure a shared machine does not disturb (docs/benchmarks/README.md):

    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python -m benchmarks.stack smimages 1000
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python -m benchmarks.stack smimages 3000

(the difference of the two "Collected" totals, divided by 4,000: each run serves its count twice, the first time
to warm up). Without valgrind it prints µs per request."""

import asyncio
import gc
import sys
import tempfile
import time
from pathlib import Path

import uvicorn
from uvicorn.server import ServerState

from smimages import httpserver
from smimages.operations.service import Service
from smimages.server import Server
from smimages.store import Store

from . import ceiling
from .throughput import ceiling_request, describe_request, prepare_smimages


class _Transport(asyncio.Transport):
    """A connection that keeps nothing: it wakes the waiting request when the response is written."""

    def __init__(self):
        super().__init__()
        self.written: asyncio.Future | None = None

    def write(self, data: bytes) -> None:
        if self.written is not None and not self.written.done():
            self.written.set_result(data)

    def get_extra_info(self, name: str, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def is_closing(self) -> bool:
        return False


async def _serve(app, raw: bytes, requests: int) -> float:
    """Seconds the requests took, after as many again to warm up."""
    config = uvicorn.Config(app, lifespan="off", **httpserver.options())
    loop = asyncio.get_running_loop()
    protocol = httpserver.Protocol(config, ServerState(), {}, _loop=loop)
    transport = _Transport()
    protocol.connection_made(transport)
    for _ in range(2):  # the first pass warms up
        started = time.perf_counter()
        for _ in range(requests):
            transport.written = loop.create_future()
            protocol.data_received(raw)
            if not (await transport.written).startswith(b"HTTP/1.1 200"):
                raise RuntimeError("the request was not answered 200")
    return time.perf_counter() - started


def main(server: str, requests: int) -> None:
    if server == "ceiling":
        app, request = ceiling.app, ceiling_request(8000)
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'stack.db'}"
        prepare_smimages(url)
        app, request = Server(Service(Store(url)), worker=False), describe_request(8000)
    raw = (
        f"{request.method} {request.path} HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in request.headers.items())
        + f"Content-Length: {len(request.body)}\r\n\r\n{request.body}"
    ).encode()
    gc.collect()
    gc.freeze()  # as `smimages serve` does after startup
    seconds = asyncio.run(_serve(app, raw, requests))
    print(f"{server}: {seconds / requests * 1e6:.1f} µs per request")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
