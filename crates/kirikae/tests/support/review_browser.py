"""Drives headless Chromium for the sweep review page's test (sweep_review_page.rs), with the
standard library only: the DevTools protocol over --remote-debugging-pipe (fd 3: commands in,
fd 4: replies and events out, each message JSON ending in a NUL byte), so no websocket client
and no port is needed.

    python3 review_browser.py steps.json   ->   one JSON object on stdout

steps.json: {"chromium": path, "profile": empty dir, "url": page to open, "steps": [...]}, each
step one of
    {"click": css}                  a real mouse click (pressed + released) at the element's centre
    {"type": css, "text": s}        click into the field, then type s (Input.insertText)
    {"choose": css, "value": v}     pick option v of a <select> (focus, set, "change" as the
                                    browser fires it); fails if there is no such option
    {"clear": css}                  select the field's text and delete it (keyboard)
    {"eval": js, "name": n}         the value of expression js, kept as results[n]
    {"screenshot": path}            the whole page as PNG

The output holds the results, every URL the page requested (Network.requestWillBeSent), what
the browser logged (CSP violations show there), and how many connections reached the proxy
every non-loopback request is sent to: a listener here that answers nothing. A page that loads
nothing leaves the request list at its own file:// URL and the proxy at zero connections.
"""

import base64
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time

TIMEOUT = 30.0


class Proxy:
    """Counts every connection Chromium makes to it and closes it at once."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.first_lines = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.settimeout(2)
            try:
                self.first_lines.append(conn.recv(200).split(b"\r\n")[0].decode("latin-1"))
            except OSError:
                pass
            conn.close()


class Browser:
    def __init__(self, chromium, profile, proxy_port):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def fds():
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self.proc = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                # Chromium's own background calls (network time, component and extension
                # updates, sign-in, safe browsing, metrics, domain reliability, translate):
                # off, so whatever reaches the proxy came from the page.
                "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,"
                "MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,"
                "CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions",
                "--disable-client-side-phishing-detection",
                "--disable-domain-reliability",
                "--safebrowsing-disable-auto-update",
                "--metrics-recording-only",
                "--no-pings",
                "--allow-browser-signin=false",
                "--disable-breakpad",
                "--user-data-dir=" + profile,
                "--window-size=1400,1000",
                "--proxy-server=http://127.0.0.1:%d" % proxy_port,
                # Names are not looked up either (a DNS query leaves the machine too).
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            preexec_fn=fds,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            m = self.read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method):
        deadline = time.monotonic() + TIMEOUT
        for e in self.events:
            if e["method"] == method:
                self.events.remove(e)
                return e
        while True:
            m = self.read_message(deadline)
            if "method" in m:
                self.events.append(m)
                if m["method"] == method:
                    return m

    def evaluate(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def centre(self, css):
        box = self.evaluate(
            "(function(){var e=document.querySelector(%s); if(!e) return null;"
            "e.scrollIntoView({block:'center'}); var r=e.getBoundingClientRect();"
            "return [r.left+r.width/2, r.top+r.height/2, r.width*r.height];})()" % json.dumps(css)
        )
        if box is None:
            raise RuntimeError("no element %s on the page" % css)
        if box[2] == 0:
            raise RuntimeError("element %s is not visible" % css)
        return box[0], box[1]

    def click(self, css):
        x, y = self.centre(css)
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )

    def close(self):
        try:
            self.call("Browser.close", session=False)
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run(spec):
    proxy = Proxy()
    b = Browser(spec["chromium"], spec["profile"], proxy.port)
    out = {"results": {}}
    try:
        targets = b.call("Target.getTargets", session=False)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        b.session = b.call(
            "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}, session=False
        )["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            b.call(domain + ".enable")
        b.call("Page.navigate", {"url": spec["url"]})
        b.wait_event("Page.loadEventFired")
        for step in spec["steps"]:
            if "click" in step:
                b.click(step["click"])
            elif "type" in step:
                b.click(step["type"])
                b.call("Input.insertText", {"text": step["text"]})
            elif "clear" in step:
                b.click(step["clear"])
                b.evaluate("document.querySelector(%s).select()" % json.dumps(step["clear"]))
                for kind in ("keyDown", "keyUp"):
                    b.call(
                        "Input.dispatchKeyEvent",
                        {"type": kind, "key": "Backspace", "code": "Backspace",
                         "windowsVirtualKeyCode": 8},
                    )
            elif "choose" in step:
                ok = b.evaluate(
                    "(function(){var s=document.querySelector(%s);"
                    "if(!s||!Array.prototype.some.call(s.options,function(o){return o.value===%s;}))"
                    "return false; s.focus(); s.value=%s;"
                    "s.dispatchEvent(new Event('input',{bubbles:true}));"
                    "s.dispatchEvent(new Event('change',{bubbles:true})); return true;})()"
                    % (json.dumps(step["choose"]), json.dumps(step["value"]),
                       json.dumps(step["value"]))
                )
                if not ok:
                    raise RuntimeError("no option %r in %s" % (step["value"], step["choose"]))
            elif "eval" in step:
                out["results"][step["name"]] = b.evaluate(step["eval"])
            elif "screenshot" in step:
                shot = b.call(
                    "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
                )
                with open(step["screenshot"], "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
            else:
                raise RuntimeError("unknown step %r" % step)
        # Let anything the page started late reach the log and the proxy.
        b.call(
            "Runtime.evaluate",
            {"expression": "new Promise(function(r){setTimeout(r,300)})", "awaitPromise": True},
        )
    finally:
        b.close()
    time.sleep(0.2)
    out["requests"] = [
        e["params"]["request"]["url"] for e in b.events if e["method"] == "Network.requestWillBeSent"
    ]
    out["log"] = [
        e["params"]["entry"]["text"] for e in b.events if e["method"] == "Log.entryAdded"
    ] + [
        " ".join(str(a.get("value", a.get("description", ""))) for a in e["params"]["args"])
        for e in b.events
        if e["method"] == "Runtime.consoleAPICalled"
    ]
    out["exceptions"] = [
        e["params"]["exceptionDetails"].get("exception", {}).get("description", "")
        or e["params"]["exceptionDetails"].get("text", "")
        for e in b.events
        if e["method"] == "Runtime.exceptionThrown"
    ]
    out["proxy_connections"] = proxy.connections
    out["proxy_requests"] = proxy.first_lines
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    json.dump(run(spec), sys.stdout)
