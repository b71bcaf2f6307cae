"""Publishes events at a steady rate over Herald's REST API, as a careful producer does: each
event has its own Idempotency-Key and is sent again (same key) until Herald answers 2xx, so an
event whose request died with the server is neither lost nor published twice.

Usage: publisher.py URL API_KEY RATE SECONDS OUT   (THREADS=8 producer threads by default)
Writes one line per accepted event to OUT: its id and when it was first sent (Unix seconds);
prints a summary line.
"""
import http.client
import os
import sys
import threading
import time
import json
from urllib.parse import urlsplit

url, key, rate, seconds, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
parts = urlsplit(url)
THREADS = int(os.environ.get("THREADS", "8"))
total = int(rate * seconds)
start = time.monotonic()
ids = [None] * total
sent = [0.0] * total
resent = [0] * THREADS
late = [0.0] * THREADS


def post(conn, i):
    body = json.dumps({"type": "user.created", "data": {"n": i}})
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {key}",
        "Idempotency-Key": f"crash-{i}",
    }
    conn.request("POST", parts.path, body, headers)
    response = conn.getresponse()
    payload = response.read()
    if response.status not in (200, 201):
        raise OSError(f"status {response.status}")
    return json.loads(payload)["id"]


def worker(t):
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    for i in range(t, total, THREADS):
        due = start + i / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        else:
            late[t] = max(late[t], now - due)
        sent[i] = time.time()
        while ids[i] is None:
            try:
                ids[i] = post(conn, i)
            except (OSError, http.client.HTTPException):
                resent[t] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
                time.sleep(0.05)


threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with open(out, "w") as f:
    f.write("".join(f"{i} {at:.6f}\n" for i, at in zip(ids, sent)))
print(f"published {total} events in {time.monotonic() - start:.1f}s; {sum(resent)} requests sent again; "
      f"at most {max(late):.2f}s behind schedule")
