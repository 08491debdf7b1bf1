"""A tiny headless-Chromium driver for tests: the DevTools protocol over ``--remote-debugging-pipe``.

No websocket and no extra package: Chromium reads JSON commands, each ended by a NUL byte, from file
descriptor 3 and writes replies and events to descriptor 4.

    with Browser.start(tmp_path) as b:          # None from find_chromium(): no browser, the test skips
        b.open(path)                             # waits for the page's load event
        b.eval("document.title")
        b.click("#next")
        png = b.screenshot()

Every request the page makes is recorded (``requests``) and every console message, exception and log
entry of level error (``errors``); the network is emulated offline and every host resolves nowhere.
"""

import base64
import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    """$CHROMIUM (a name or path; ``none``: no browser, as .ci/run sets it when Chromium does not start),
    else the first of CANDIDATES on the PATH."""
    env = os.environ.get("CHROMIUM")
    if env == "none":
        return None
    if env and shutil.which(env):
        return shutil.which(env)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    pass


class Browser:
    def __init__(self, proc: subprocess.Popen, to_browser: int, from_browser: int):
        self.proc, self._w, self._r = proc, to_browser, from_browser
        self._buf = b""
        self._next_id = 0
        self.session: str | None = None
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.events: list[dict] = []

    @classmethod
    def start(cls, profile: Path, width: int = 1200, height: int = 900) -> "Browser":
        exe = find_chromium()
        if exe is None:
            raise BrowserError("no Chromium found")
        cmd_r, cmd_w = os.pipe()  # we write commands, Chromium reads them on fd 3
        ev_r, ev_w = os.pipe()  # Chromium writes on fd 4, we read

        def fds() -> None:  # in the child: the two pipe ends as fds 3 and 4 (moved above 10 first)
            a, b = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(ev_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)  # dup2 leaves the new descriptor inheritable, so it survives exec
            os.dup2(b, 4)

        args = [
            exe,
            "--headless=new",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # no name resolves: nothing can leave the machine
            "about:blank",
        ]
        proc = subprocess.Popen(
            args,
            preexec_fn=fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
        )
        os.close(cmd_r)
        os.close(ev_w)
        b = cls(proc, cmd_w, ev_r)
        try:
            target = b.send("Target.createTarget", url="about:blank")["targetId"]
            b.session = b.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Network", "Log"):
                b.send(f"{domain}.enable")
            b.send(
                "Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=-1, uploadThroughput=-1
            )
            b.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        except Exception:
            b.close()
            raise
        return b

    # --- the protocol -----------------------------------------------------------------------------
    def _read_message(self) -> dict:
        while b"\0" not in self._buf:
            chunk = os.read(self._r, 1 << 16)
            if not chunk:
                raise BrowserError("Chromium closed the DevTools pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def _record(self, msg: dict) -> None:
        self.events.append(msg)
        method, p = msg.get("method", ""), msg.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            self.errors.append("exception: " + json.dumps(p["exceptionDetails"])[:500])
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            self.errors.append(f"console.{p['type']}: " + json.dumps(p.get("args"))[:500])
        elif method == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
            self.errors.append(f"log {p['entry']['level']}: {p['entry'].get('text')} {p['entry'].get('url', '')}")

    def send(self, method: str, **params) -> dict:
        """Send one command and wait for its reply (events arriving meanwhile are recorded)."""
        self._next_id += 1
        msg: dict = {"id": self._next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._record(reply)

    def wait_event(self, method: str) -> dict:
        """Block until Chromium sends the event ``method`` (or return one already received)."""
        for ev in self.events:
            if ev.get("method") == method:
                self.events.remove(ev)
                return ev
        while True:
            msg = self._read_message()
            self._record(msg)
            if msg.get("method") == method:
                self.events.remove(msg)
                return msg

    # --- conveniences -----------------------------------------------------------------------------
    def open(self, path: Path) -> None:
        """Load a file and wait for its load event; ``requests`` and ``errors`` then hold this page's."""
        self.events.clear()
        self.requests.clear()
        self.errors.clear()
        self.send("Page.navigate", url=Path(path).resolve().as_uri())
        self.wait_event("Page.loadEventFired")

    def eval(self, expression: str):
        r = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise BrowserError(f"{expression!r}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) at the centre of the first element matching."""
        box = self.eval(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        x, y = box
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
