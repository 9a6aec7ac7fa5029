"""A small HTTP/1.1 load generator for model servers (benchmarks, smoke and load tests).

Raw asyncio sockets with keep-alive and pre-built request bytes, so the generator costs
far less CPU than the server it measures (it shares the machine with it). Every run is
bounded by a request count and a time limit, and is meant for loopback addresses only.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field


def build_request(method: str, path: str, host: str, body: bytes = b"",
                  content_type: str = "application/json", headers: dict | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    if body or method in ("POST", "PUT"):
        lines += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_request(path: str, host: str, payload, **kw) -> bytes:
    return build_request("POST", path, host, json.dumps(payload).encode(), **kw)


@dataclass
class LoadResult:
    requests: int = 0
    seconds: float = 0.0
    latencies: list = field(default_factory=list, repr=False)
    statuses: dict = field(default_factory=dict)
    failures: int = 0  # connection errors

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, max(0, int(round(q / 100 * len(xs) + 0.5)) - 1))]

    @property
    def p50_ms(self) -> float:
        return self.percentile(50) * 1000

    @property
    def p99_ms(self) -> float:
        return self.percentile(99) * 1000

    def summary(self) -> str:
        return (f"{self.requests} requests in {self.seconds:.2f} s: {self.rps:.0f} req/s, p50 {self.p50_ms:.2f} ms, "
                f"p99 {self.p99_ms:.2f} ms, statuses {dict(sorted(self.statuses.items()))}"
                + (f", {self.failures} connection failures" if self.failures else ""))


async def _one_connection(host: str, port: int, requests: list[bytes], state: dict, result: LoadResult,
                          deadline: float, offset: int) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        result.failures += 1
        return
    i = offset
    try:
        while time.perf_counter() < deadline and state["left"] > 0:
            state["left"] -= 1
            req = requests[i % len(requests)]
            i += 1
            t0 = time.perf_counter()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            if length:
                await reader.readexactly(length)
            result.latencies.append(time.perf_counter() - t0)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            result.requests += 1
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        result.failures += 1
    finally:
        writer.close()


async def run_async(host: str, port: int, requests: list[bytes], *, concurrency: int = 8, total: int = 1000,
                    duration: float = 30.0, warmup: int = 0) -> LoadResult:
    if warmup:
        await run_async(host, port, requests, concurrency=concurrency, total=warmup, duration=duration)
    result = LoadResult()
    state = {"left": int(total)}
    start = time.perf_counter()
    await asyncio.gather(*(_one_connection(host, port, requests, state, result, start + duration, k)
                           for k in range(concurrency)))
    result.seconds = time.perf_counter() - start
    return result


def run(host: str, port: int, requests: list[bytes], *, concurrency: int = 8, total: int = 1000,
        duration: float = 30.0, warmup: int = 0) -> LoadResult:
    """Send ``total`` requests (cycling through ``requests``) over ``concurrency``
    keep-alive connections, stopping after ``duration`` seconds at the latest."""
    if host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("127."):
        raise ValueError("the load generator only targets loopback addresses")
    return asyncio.run(run_async(host, port, requests, concurrency=concurrency, total=total, duration=duration,
                                 warmup=warmup))
