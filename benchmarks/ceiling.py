"""The ceiling: a bare ASGI app on `smimages serve`'s HTTP server, reading the body and answering a fixed one."""

import sys

from smimages import httpserver

BODY = b'{"ImageVersionStatus":"CREATED","Version":1}'
HEADERS = [(b"content-type", b"application/x-amz-json-1.1"), (b"x-amzn-requestid", b"ceiling")]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


if __name__ == "__main__":
    httpserver.run(app, httpserver.listen("127.0.0.1", int(sys.argv[1])), lifespan="off")
