#!/usr/bin/env python3
"""M OCPP 1.6J charge points of the python `ocpp` library (mobilityhouse, over `websockets`) in
one asyncio process, for `parkbench-bench ocpp` to measure side by side with ParkBench's chargers.

    python3 ocpp_chargepoints.py --port PORT [--count M (200)] [--seconds S (20)] [--prefix py-]

1. Imports, then RSS: the bare interpreter with the libraries loaded.
2. Connects M charge points to ws://127.0.0.1:PORT/ocpp/<prefix>NNNN (subprotocol ocpp1.6) and
   boots each (BootNotification until Accepted); waits 2 s idle, then RSS again: (idle - bare) / M
   is the library's memory per connected charge point.
3. Flat out for S seconds: every charge point sends calls one after the other, awaiting each
   answer (Heartbeat and MeterValues alternately), as the library is used. Counts the calls
   answered and this process's CPU seconds (getrusage) over the phase.

Prints one JSON object on stdout; progress and problems on stderr.
"""
import argparse
import asyncio
import datetime
import gc
import importlib.metadata
import json
import logging
import os
import resource
import sys
import time

import websockets
from websockets.asyncio.client import connect
from ocpp.v16 import ChargePoint, call

logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
logging.getLogger("ocpp").setLevel(logging.ERROR)


def resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Station:
    def __init__(self, cp_id, url):
        self.id = cp_id
        self.url = url
        self.ws = None
        self.cp = None
        self.reader = None
        self.calls = 0
        self.errors = 0
        self.energy = 1000

    async def open(self):
        self.ws = await connect(self.url, subprotocols=["ocpp1.6"], open_timeout=30, ping_interval=None, max_queue=16)
        self.cp = ChargePoint(self.id, self.ws, response_timeout=30)
        self.reader = asyncio.ensure_future(self.cp.start())
        while True:
            result = await self.cp.call(call.BootNotification(charge_point_vendor="PyCP", charge_point_model="Bench"))
            if result.status == "Accepted":
                return
            await asyncio.sleep(result.interval if result.interval > 0 else 1)

    async def flat_out(self, deadline):
        heartbeat = True
        while time.monotonic() < deadline:
            try:
                if heartbeat:
                    await self.cp.call(call.Heartbeat())
                else:
                    self.energy += 10
                    await self.cp.call(call.MeterValues(connector_id=1, meter_value=[{
                        "timestamp": now_iso(),
                        "sampledValue": [{"value": str(self.energy), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}],
                    }]))
                self.calls += 1
            except Exception as error:  # a timeout or a CallError: counted, and on to the next
                self.errors += 1
                if self.errors <= 3:
                    print(f"{self.id}: {error!r}", file=sys.stderr, flush=True)
                if isinstance(error, websockets.ConnectionClosed):
                    return
            heartbeat = not heartbeat

    async def close(self):
        if self.reader is not None:
            self.reader.cancel()
        if self.ws is not None:
            try:
                await self.ws.close()
            except Exception:
                pass


async def main(args):
    gc.collect()
    bare = resident_bytes()
    stations = [Station(f"{args.prefix}{n:04d}", f"ws://127.0.0.1:{args.port}/ocpp/{args.prefix}{n:04d}") for n in range(1, args.count + 1)]
    started = time.monotonic()
    results = await asyncio.gather(*(station.open() for station in stations), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    for problem in failed[:3]:
        print(f"connect/boot failed: {problem!r}", file=sys.stderr, flush=True)
    booted_seconds = time.monotonic() - started
    await asyncio.sleep(2)
    gc.collect()
    idle = resident_bytes()
    live = [s for s, r in zip(stations, results) if not isinstance(r, BaseException)]
    print(f"python ocpp: {len(live)} of {args.count} charge points booted in {booted_seconds:.2f} s; flat out for {args.seconds} s",
          file=sys.stderr, flush=True)

    cpu_before, wall_before = cpu_seconds(), time.monotonic()
    deadline = wall_before + args.seconds
    await asyncio.gather(*(station.flat_out(deadline) for station in live))
    wall, cpu = time.monotonic() - wall_before, cpu_seconds() - cpu_before
    peak = resident_bytes()
    await asyncio.gather(*(station.close() for station in stations), return_exceptions=True)
    calls = sum(s.calls for s in live)
    print(json.dumps({
        "charge_points": args.count,
        "booted": len(live),
        "boot_seconds": booted_seconds,
        "rss_bare_bytes": bare,
        "rss_idle_bytes": idle,
        "rss_bytes_per_charge_point": (idle - bare) / max(len(live), 1),
        "rss_flat_out_bytes": peak,
        "seconds": wall,
        "calls": calls,
        "errors": sum(s.errors for s in live),
        "cpu_seconds": cpu,
        "calls_per_second": calls / wall if wall > 0 else 0,
        "calls_per_cpu_second": calls / cpu if cpu > 0 else 0,
        "python": sys.version.split()[0],
        "websockets": websockets.__version__,
        "ocpp": importlib.metadata.version("ocpp"),
    }), flush=True)


parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--count", type=int, default=200)
parser.add_argument("--seconds", type=float, default=20)
parser.add_argument("--prefix", default="py-")
asyncio.run(main(parser.parse_args()))
