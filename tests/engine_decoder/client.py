"""The engine's own reading of a request body (tests/engine_decoder/main.go), from Python.

`EngineDecoder.build()` compiles the Go program once per content of its sources (go.mod, go.sum,
main.go), into .cache/; the Go module proxy serves its modules (github.com/docker/docker at
v20.10.24, the engine this project is tested on). `view(route, body)` returns what the engine's
decoder fills in, or raises `EngineRefusedError` with the engine's error.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
CACHE = HERE.parent.parent / ".cache" / "engine_decoder"
SOURCES = ("go.mod", "go.sum", "main.go")
BUILD_TIMEOUT = 600  # seconds: a cold module cache downloads the engine's dependencies


class EngineRefusedError(Exception):
    """The engine's decoder refuses the body (the engine would answer 400 and create nothing)."""


class EngineDecoder:
    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self.process = subprocess.Popen(
            [str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    @classmethod
    def build(cls) -> EngineDecoder:
        digest = hashlib.sha256(b"".join((HERE / name).read_bytes() for name in SOURCES)).hexdigest()[:16]
        binary = CACHE / f"engine_decoder-{digest}"
        if not binary.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            partial = binary.with_suffix(".partial")
            env = {**os.environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
            result = subprocess.run(
                ["go", "build", "-o", str(partial), "."],
                cwd=HERE,
                env=env,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT,
            )
            if result.returncode != 0:
                raise RuntimeError(f"go build of tests/engine_decoder failed:\n{result.stderr[-3000:]}")
            partial.rename(binary)
        return cls(binary)

    def fields(self) -> dict[str, list[str]]:
        result = subprocess.run([str(self.binary), "-fields"], capture_output=True, text=True, check=True)
        fields: dict[str, list[str]] = json.loads(result.stdout)
        return fields

    def view(self, route: str, body: bytes) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"route": route, "body": body.decode()}) + "\n")
        answer = json.loads(self.process.stdout.readline())
        if not answer["ok"]:
            raise EngineRefusedError(answer["error"])
        return answer["view"]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)
