#!/usr/bin/env python3
"""Runs the README's walk-through ("Your first scheduled post") exactly as written: the serve
command from its first shell block, then its second block in bash, and checks what it printed.

Only two things are changed, so a run cannot touch a developer's own server: the data
directory is a fresh temporary one (HERALD_DATA), and if port 8080 is taken, another port is
used and the block's `localhost:8080` is rewritten to it.

  python3 infra/walkthrough.py
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTION = "## Your first scheduled post"


def blocks():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end > 0 else len(text)]
    found = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    if len(found) < 2:
        sys.exit("walkthrough: the README section lost its two shell blocks")
    return found[0].strip(), found[1]


def documents(text):
    """The JSON documents curl printed one after another (without newlines between)."""
    decoder, out, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        doc, i = decoder.raw_decode(text, i)
        out.append(doc)
    return out


def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def any_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, proc, log):
    deadline = time.time() + 600  # the first `cargo run` may compile
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"walkthrough: herald serve exited:\n{open(log).read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit("walkthrough: herald serve never answered /healthz")


def main():
    serve, walk = blocks()
    port = 8080 if free(8080) else any_port()
    if port != 8080:
        walk = walk.replace("localhost:8080", f"localhost:{port}")
    with tempfile.TemporaryDirectory(prefix="herald-walkthrough-") as tmp:
        env = dict(os.environ, HERALD_DATA=os.path.join(tmp, "data"))
        env = {k: v for k, v in env.items() if not k.startswith("HERALD_") or k == "HERALD_DATA"}
        if port != 8080:
            env["HERALD_ADDR"] = f"127.0.0.1:{port}"
        log = os.path.join(tmp, "serve.log")
        print(f"walkthrough: {serve}", file=sys.stderr)
        with open(log, "w") as out:
            proc = subprocess.Popen(
                ["bash", "-c", serve], cwd=ROOT, env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            wait_healthy(port, proc, log)
            run = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", walk], cwd=tmp, env=env,
                capture_output=True, text=True, timeout=120,
            )
            if run.returncode != 0:
                sys.exit(f"walkthrough: the block failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
            answers = documents(run.stdout)
            if len(answers) != 2:
                sys.exit(f"walkthrough: expected two answers, got:\n{run.stdout}")
            post, outbox = answers
            if post.get("status") != "published" or not post["targets"][0].get("remote_id"):
                sys.exit(f"walkthrough: the post is not published: {post}")
            texts = [i["text"] for i in outbox.get("items", [])]
            if texts != ["Hello from Herald"]:
                sys.exit(f"walkthrough: the sandbox outbox holds {texts}")
            print("walkthrough: published as the README says, sent once", file=sys.stderr)
        finally:
            stop(proc)


def stop(proc):
    # The session holds bash, cargo and herald: stop them all.
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
