"""One step as a process on this machine: its script written to a file and executed through its shebang, its
environment, its working folder, its output in a log file, and a deadline after which it is killed.

The step's image is not pulled: the step runs with this machine's tools.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# Tekton puts this in front of a script without a shebang (pkg/pod/script.go).
DEFAULT_PREAMBLE = "#!/bin/sh\nset -e\n"


@dataclass(frozen=True)
class StepProcess:
    """A step ready to run: the script after substitution, its environment and folder."""

    script: str
    env: dict[str, str]
    cwd: Path
    script_path: Path
    log_path: Path


@dataclass(frozen=True)
class ProcessOutcome:
    """How the process ended: its exit code, or the deadline that stopped it, or why it could not start."""

    exit_code: int | None
    seconds: float
    timed_out: bool = False
    error: str = ""


def kube_expand(value: str, defined: dict[str, str]) -> str:
    """Kubernetes' expansion of an env value: ``$(VAR)`` is an earlier env var of the container (else left as
    written), ``$$`` is a literal ``$``; it runs after Tekton's own substitution, on the container spec."""
    out: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char != "$" or i + 1 >= len(value):
            out.append(char)
            i += 1
            continue
        following = value[i + 1]
        if following == "$":
            out.append("$")
            i += 2
        elif following == "(":
            end = value.find(")", i + 2)
            if end < 0:
                out.append("$(")
                i += 2
            else:
                name = value[i + 2 : end]
                out.append(defined.get(name, f"$({name})"))
                i = end + 1
        else:
            out.append("$" + following)
            i += 2
    return "".join(out)


def script_text(script: str) -> str:
    """The script file's content: with Tekton's default preamble when it has no shebang."""
    return script if script.strip().startswith("#!") else DEFAULT_PREAMBLE + script


def run(step: StepProcess, deadline: float | None) -> ProcessOutcome:
    """Run the step until it exits or ``deadline`` (a ``time.monotonic()`` value) passes, then kill its group."""
    step.script_path.write_text(script_text(step.script), encoding="utf-8")
    step.script_path.chmod(0o755)
    started = time.monotonic()
    with step.log_path.open("wb") as log:
        try:
            proc = subprocess.Popen(
                [str(step.script_path)],
                cwd=step.cwd,
                env=step.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a timeout kills what it started too
            )
        except OSError as exc:
            message = f"cannot start the script ({exc.strerror}): is its interpreter installed on this machine?"
            log.write((message + "\n").encode())
            return ProcessOutcome(127, time.monotonic() - started, error=message)
        try:
            code = _wait(proc, deadline)
        except BaseException:
            _kill(proc)
            proc.wait()
            raise
    if code is None:
        return ProcessOutcome(None, time.monotonic() - started, timed_out=True)
    return ProcessOutcome(code, time.monotonic() - started)


def _wait(proc: subprocess.Popen[bytes], deadline: float | None) -> int | None:
    """The exit code, or None when the deadline passed and the group was killed.

    ``Popen.wait(timeout)`` polls with sleeps of up to 50 ms, which would be most of the executor's cost per
    step. On Linux a pidfd is waited on instead; elsewhere a timer thread kills the group at the deadline.
    """
    if deadline is None:
        return proc.wait()
    if hasattr(os, "pidfd_open"):
        fd = os.pidfd_open(proc.pid)
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            if not poller.poll(max(0, math.ceil((deadline - time.monotonic()) * 1000))):
                _kill(proc)
                proc.wait()
                return None
        finally:
            os.close(fd)
        return proc.wait()
    fired = threading.Event()

    def expire() -> None:
        fired.set()
        _kill(proc)

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), expire)
    timer.daemon = True
    timer.start()
    try:
        code = proc.wait()
    finally:
        timer.cancel()
    return None if fired.is_set() and code == -signal.SIGKILL else code


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
