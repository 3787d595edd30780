"""Load and fault test of `seqtext serve` on 127.0.0.1 (figures for the deployment note).

    python scripts/bench_serve.py EXPORTED_OR_MODEL_DIR [--requests 2000] [--clients 32] [--screenshot out.png]

Starts the server on a free loopback port, sends ``--requests`` POST
/v1/complete requests from ``--clients`` threads (keep-alive connections) and
prints requests/s, p50 and p99 latency and the count of 5xx answers; during
the load: clients that disconnect mid-request, a 10 MB body, malformed JSON
and a slow client holding a half-sent request.  The server's resident memory
is printed before and after.  Bounded: every socket has a timeout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

PROMPTS = ["the company said", "the market ___", "in the first quarter", "he said the", "shares of the ___ rose"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def post(conn, body: bytes):
    conn.request("POST", "/v1/complete", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    return r.status


def client(port: int, n: int, latencies: list, statuses: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(n):
        body = json.dumps({"prompt": random.choice(PROMPTS), "words": 10}).encode()
        start = time.perf_counter()
        try:
            status = post(conn, body)
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status = 599
        latencies.append(time.perf_counter() - start)
        statuses.append(status)


def faults(port: int, report: dict) -> None:
    for _ in range(20):  # disconnect mid-request: headers promise a body that never comes
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"POST /v1/complete HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        s.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        report["10 MB body"] = post(conn, b"x" * (10 << 20))
    except (OSError, http.client.HTTPException) as exc:  # the server may close before reading it all
        report["10 MB body"] = f"closed ({exc.__class__.__name__})"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    report["malformed JSON"] = post(conn, b'{"prompt": "the')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "seqtext", "serve", "--model", f"m={args.model}",
                               "--port", str(port)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        before = rss_mb(server.pid)
        slow = socket.create_connection(("127.0.0.1", port), timeout=5)
        slow.sendall(b"POST /v1/complete HTTP/1.1\r\nHost: x\r\n")  # and holds it through the load
        latencies, statuses, report = [], [], {}
        shares = [args.requests // args.clients + (i < args.requests % args.clients) for i in range(args.clients)]
        threads = [threading.Thread(target=client, args=(port, n, latencies, statuses)) for n in shares]
        threads.append(threading.Thread(target=faults, args=(port, report)))
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        wall = time.perf_counter() - start
        slow.close()
        ms = sorted(x * 1e3 for x in latencies)
        print(f"{len(ms)} requests, {args.clients} clients: {len(ms) / wall:.1f} req/s, "
              f"p50 {statistics.median(ms):.1f} ms, p99 {ms[int(0.99 * (len(ms) - 1))]:.1f} ms, "
              f"5xx {sum(s >= 500 for s in statuses)}, non-200 {sum(s != 200 for s in statuses)}")
        print("faults:", report, "- 20 clients disconnected mid-request, 1 slow client held a connection")
        print(f"server memory: {before:.0f} MB before, {rss_mb(server.pid):.0f} MB after")
        if args.screenshot:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                            args=["--headless", "--no-sandbox", "--disable-gpu"])
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector("#model option", state="attached")
                page.type("#prompt", "the company said")
                page.wait_for_selector("#suggestions button.suggestion")
                page.click("#complete")
                page.wait_for_function("(t => t.length > 1 && t !== '…')(document.querySelector('#completion').textContent)")
                page.screenshot(path=str(args.screenshot), full_page=True)
                browser.close()
            print(f"screenshot: {args.screenshot}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
