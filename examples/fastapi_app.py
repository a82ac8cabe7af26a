"""FastAPI with cwlogs: correlation IDs per request, one access line, PII redacted.

The log group comes from CWLOGS_LOG_GROUP; leave AWS_ENDPOINT_URL_CLOUDWATCH_LOGS unset
for real AWS, or point it at a local endpoint (`make demo` starts one):

    export CWLOGS_LOG_GROUP=/examples/fastapi AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://127.0.0.1:4566
    python examples/fastapi_app.py                 # one in-process request, then exit
    uvicorn examples.fastapi_app:app --port 8000   # or serve it (pip install uvicorn), then:
    curl -H 'X-Request-ID: r-1' -H 'X-Tenant-ID: acme' -H 'Content-Type: application/json' \
        -d '{"email": "jane@example.com"}' localhost:8000/orders/42
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from pydantic import BaseModel

import cwlogs
from cwlogs.integrations.asgi import CorrelationMiddleware

handler = cwlogs.CloudWatchHandler(service="orders")
logging.getLogger().addHandler(handler)
logging.getLogger().setLevel(logging.INFO)
log = logging.getLogger("orders")

app = FastAPI()
app.add_middleware(CorrelationMiddleware)  # request_id, trace_id, tenant_id; echoes X-Trace-Id


class Order(BaseModel):
    email: str  # in the body, not the URL: URLs end up in proxies' and clients' logs


@app.post("/orders/{order_id}")
async def place_order(order_id: int, order: Order) -> dict[str, int]:
    # request_id, tenant_id and trace_id are added by the handler; the email is masked.
    log.info("order %d placed for %s", order_id, order.email, extra={"order_id": order_id})
    return {"order_id": order_id}


if __name__ == "__main__":
    import asyncio

    import httpx

    async def demo() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            return await client.post(
                "/orders/42",
                json={"email": "jane@example.com"},
                headers={"X-Request-ID": "demo-fastapi-1", "X-Tenant-ID": "acme"},
            )

    response = asyncio.run(demo())
    trace_id = response.headers["x-trace-id"]
    print(response.status_code, "request id", response.headers["x-request-id"])
    print(f"find its lines: cwlogs trace {trace_id} -g {handler.config.log_group} --since 15m")
    print("flushed:", handler.flush(timeout=10))
