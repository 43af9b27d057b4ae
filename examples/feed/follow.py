#!/usr/bin/env python3
"""Follows every job's events (standard library only), and after a restart goes on from the cursor it saved.

usage: follow.py CURSOR_FILE

Each event is handled, then its cursor is written to CURSOR_FILE (by an atomic rename). Stopped with SIGTERM or
Ctrl-C, it finishes the event in hand first, so a restart gives every later event once: none lost, none twice.
"""

import json
import os
import signal
import subprocess
import sys

busy = False
stopping = False


def on_stop(signum, frame):
    global stopping
    stopping = True
    if not busy:
        raise SystemExit(0)


def handle(item):
    """What to do with an event: here, print the job, its status and the event as one JSON line."""
    event = item["event"]
    print(json.dumps({"job": item["job"]["id"], "status": item["job"]["status"], "type": event["type"],
                      "event": event["id"]}), flush=True)


def save(path, cursor):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(cursor)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    global busy
    if len(sys.argv) != 2:
        sys.exit("usage: follow.py CURSOR_FILE")
    path = sys.argv[1]
    command = ["jobs", "events", "--all", "--follow"]
    try:
        with open(path) as f:
            cursor = f.read().strip()
        if cursor:
            command += ["--since", cursor]
    except FileNotFoundError:
        pass
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    feed = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        for line in feed.stdout:
            busy = True
            item = json.loads(line)
            handle(item)
            save(path, item["cursor"])
            busy = False
            if stopping:
                return
        # the feed ended by itself: `jobs` said why on stderr (a cursor it cannot read, a home it cannot open)
        sys.exit(f"follow.py: jobs events ended (exit {feed.wait()})")
    finally:
        feed.terminate()
        feed.wait()


if __name__ == "__main__":
    main()
