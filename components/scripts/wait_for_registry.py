"""Wait until the registry's API answers (200, or 401 when it requires credentials)."""

import os
import sys
import time
import urllib.error
import urllib.request

url = os.environ["JHUB_REGISTRY_URL"]
deadline = time.monotonic() + 60
last = "no answer yet"
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            print(f"registry ready at {url} (HTTP {response.status})")
            sys.exit(0)
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            print(f"registry ready at {url} (requires credentials)")
            sys.exit(0)
        last = f"HTTP {exc.code}"
    except OSError as exc:
        last = str(exc)
    time.sleep(0.5)
sys.exit(f"registry did not answer at {url} within 60s (last: {last})")
