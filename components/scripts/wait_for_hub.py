"""Readiness: return only when the hub answers through the public URL (via the proxy)."""

import os
import sys
import time
import urllib.error
import urllib.request

url = os.environ["JHUB_HEALTH_URL"]
timeout = float(os.environ.get("JHUB_READY_TIMEOUT", "180"))
started = time.monotonic()
last_error = "no answer yet"
while time.monotonic() - started < timeout:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            if response.status == 200:
                print(f"hub ready at {url} after {time.monotonic() - started:.1f}s")
                sys.exit(0)
            last_error = f"HTTP {response.status}"
    except (urllib.error.URLError, OSError) as exc:
        last_error = str(exc)
    time.sleep(1)
sys.exit(f"hub did not answer at {url} within {timeout:.0f}s (last: {last_error})")
