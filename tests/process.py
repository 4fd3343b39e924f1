"""`followup serve` as a real process: started with an environment, reached over HTTP like Slack reaches it,
stopped with SIGTERM or killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.cli import dies_with_this_process
from tests.fakes.slack_api import FakeSlack
from tests.fakes.smtp import free_port
from tests.harness import SlackRequests

FOLLOWUP = Path(sys.executable).with_name("followup")


class AppProcess(SlackRequests):
    def __init__(self, name: str, env: dict[str, str], *, slack: FakeSlack, signing_secret: str, logs: Path):
        self.name, self.slack, self.signing_secret = name, slack, signing_secret
        self.port = free_port()
        self.log_path = logs / f"{name}.log"
        full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HUBSPOT_", "ANTHROPIC_"))}
        full.update(env, PORT=str(self.port), PYTHONUNBUFFERED="1")
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # gone with the test run, even one interrupted
            [str(FOLLOWUP), "serve"], env=full, cwd=logs, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=dies_with_this_process(),
        )  # fmt: skip

    def wait_healthy(self, timeout: float = 30.0) -> AppProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if self.request("GET", "/healthz").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} never became healthy:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a machine dies."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        return self.proc.returncode
