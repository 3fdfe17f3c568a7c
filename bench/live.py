"""The live twin under load: what clients cost the simulation, and GetState's latency.

    python bench/live.py          # quickstart over 2030-2034 at --speed max
    python bench/live.py --quick  # 2030 only: a smoke check

Figures (last line, one JSON object):
- sim_wall_s_alone, sim_wall_s_loaded: wall time from resume to the end at --speed max (local
  runtime, telemetry written), the twin in its own process as `ilrs-twin serve` runs it
  (twin.live_process), with no clients, and with 50 Watch streams (every variable of the energy
  instance at every window boundary) and 200 GetState calls per second (all variables), all from
  another process; best of two each.
- sim_slowdown: loaded over alone, minus one (target <= 0.10).
- sim_slowdown_bare_load: the same with 200 calls per second (no watchers) to a bare grpcio
  server in the gateway's process instead: what the load costs on this machine with no gateway
  at all (the client's process shares the CPUs).
- sim_slowdown_in_process (full run only): sim_slowdown with the twin in the gateway's process
  (twin.live.LiveTwin, a thread beside the gRPC server): why serve gives the twin a process.
- getstate_p50_ms, getstate_p99_ms: GetState latency from that process while the twin runs;
  bare_p50_ms, bare_p99_ms: a bare grpcio unary call returning the same number of bytes (a
  grpc.aio server in the twin's process, no framework), at the same rate in the same run;
  getstate_p50_vs_bare (target <= 1.5).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WATCHERS = 50
GETSTATE_PER_S = 200
BARE = "/bench.Bare/Echo"


def _load(port: int, bare_port: int, seconds: float, out: mp.Queue, token: str, stop=None) -> None:
    """In a process of its own: the watchers and the paced GetState calls (then the bare calls)."""
    import grpc

    from services.client import AsyncTwinClient

    async def main():
        twin = AsyncTwinClient(f"127.0.0.1:{port}", token=token, timeout_s=30.0)
        updates = [0] * WATCHERS

        async def watch(i):
            try:
                async for _ in twin.watch(["energy"], every_s=0.0):
                    updates[i] += 1
            except Exception:
                pass

        async def paced(call, n):
            latencies = []
            t0 = time.perf_counter()
            for k in range(n):
                if stop is not None and stop.is_set():  # the session is over: leave cleanly, no call in flight
                    break
                wait = t0 + k / GETSTATE_PER_S - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                a = time.perf_counter()
                await call()
                latencies.append(time.perf_counter() - a)
            return latencies

        tasks = [asyncio.create_task(watch(i)) for i in range(WATCHERS)] if port else []
        n = int(seconds * GETSTATE_PER_S)
        twin_lat = await paced(lambda: twin.state(None), n) if port else []
        bare_lat = []
        if bare_port:  # with the watchers still streaming: the same load around both
            async with grpc.aio.insecure_channel(f"127.0.0.1:{bare_port}") as channel:
                echo = channel.unary_unary(BARE)
                bare_lat = await paced(lambda: echo(b"", timeout=30.0), n)
        for t in tasks:
            t.cancel()
        await twin.close()
        out.put({"twin": twin_lat, "bare": bare_lat, "updates": sum(updates)})

    asyncio.run(main())


def _bare_server(size: int):
    """A grpc.aio server answering BARE with ``size`` bytes, on a loop thread (as the gateway)."""
    import grpc

    from services import server as base

    payload = b"x" * size

    async def echo(request, context):
        return payload

    def add(server):
        handler = grpc.unary_unary_rpc_method_handler(echo, request_deserializer=None, response_serializer=None)
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Bare", {"Echo": handler}),))
        return ("bench.Bare",)

    return base.start(add, "unused", frozenset())


def _session(spec, folder: Path, loaded: bool, bare_size: int = 0, in_process: bool = False) -> tuple[float, dict]:
    from services.twin_server import serve
    from twin.live import LiveTwin
    from twin.live_process import LiveProcess

    live = (LiveTwin if in_process else LiveProcess)(spec, out=folder, speed=None, paused=True).start()
    live.ready.wait()
    server, port, _ = serve(live, "bench-token")
    result = {}
    try:
        if bare_size:  # the same call rate, answered by a bare server in this process: the machine's floor
            bare, bare_port = _bare_server(bare_size)
            queue = mp.get_context("spawn").Queue()
            stop = mp.get_context("spawn").Event()
            load = mp.get_context("spawn").Process(target=_load, args=(0, bare_port, 3600.0, queue, "bench-token", stop))
            load.start()
            time.sleep(2.0)
        if loaded:
            import grpc

            from services.gen.ilrs.twin.v1 import twin_pb2, twin_pb2_grpc

            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                answer = twin_pb2_grpc.TwinServiceStub(channel).GetState(twin_pb2.TwinServiceGetStateRequest(), timeout=10)
                size = answer.ByteSize()
            queue = mp.get_context("spawn").Queue()
            stop = mp.get_context("spawn").Event()
            load = mp.get_context("spawn").Process(target=_load, args=(port, 0, 3600.0, queue, "bench-token", stop))
            load.start()
            time.sleep(2.0)  # the watchers connected and the calls going
        t0 = time.perf_counter()
        from services.client import TwinClient

        with TwinClient(f"127.0.0.1:{port}", token="bench-token") as control:
            control.resume()
        live.wait()
        wall = time.perf_counter() - t0
        if live.error is not None:
            raise live.error
        if loaded or bare_size:
            stop.set()
            queue.get(timeout=60)  # it has closed its channels
            load.join()
        if loaded:
            result["size"] = size
        if bare_size:
            bare.stop()
    finally:
        server.stop()
        live.stop(timeout=60)
    return wall, result


def _latency(port_twin: int, size: int, seconds: float) -> dict:
    """GetState on a running twin, then the bare call of the same size, from one other process."""
    bare, bare_port = _bare_server(size)
    try:
        queue = mp.get_context("spawn").Queue()
        load = mp.get_context("spawn").Process(target=_load, args=(port_twin, bare_port, seconds, queue, "bench-token"))
        load.start()
        result = queue.get(timeout=seconds * 4 + 120)
        load.join()
    finally:
        bare.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one simulated year and fewer calls")
    args = parser.parse_args()
    from twin.clock import parse_utc
    from twin.scenario import load

    end = "2031-01-01T00:00:00Z" if args.quick else "2035-01-01T00:00:00Z"
    spec = load("quickstart").with_span(parse_utc("2030-01-01T00:00:00Z"), parse_utc(end))
    figures: dict = {"scenario": "quickstart", "end": end, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"}
    with tempfile.TemporaryDirectory() as tmp:
        alone, loaded, floor, alone_in, loaded_in = [], [], [], [], []
        for k in range(2):
            alone.append(_session(spec, Path(tmp) / f"alone-{k}", False)[0])
            wall, info = _session(spec, Path(tmp) / f"loaded-{k}", True)
            loaded.append(wall)
            floor.append(_session(spec, Path(tmp) / f"floor-{k}", False, bare_size=info["size"])[0])
            if not args.quick:
                alone_in.append(_session(spec, Path(tmp) / f"alone-in-{k}", False, in_process=True)[0])
                loaded_in.append(_session(spec, Path(tmp) / f"loaded-in-{k}", True, in_process=True)[0])
        size = info["size"]
        print(f"quickstart to {end} at max speed: alone {min(alone):.2f} s, with {WATCHERS} watchers and {GETSTATE_PER_S} GetState/s {min(loaded):.2f} s",
              file=sys.stderr)
        print(f"  each session (s): alone {', '.join(f'{w:.3f}' for w in alone)}; loaded {', '.join(f'{w:.3f}' for w in loaded)}; "
              f"bare load {', '.join(f'{w:.3f}' for w in floor)}", file=sys.stderr)
        figures["sim_wall_s_alone"] = round(min(alone), 3)
        figures["sim_wall_s_loaded"] = round(min(loaded), 3)
        figures["sim_slowdown"] = round(min(loaded) / min(alone) - 1.0, 3)
        figures["sim_wall_s_bare_load"] = round(min(floor), 3)
        figures["sim_slowdown_bare_load"] = round(min(floor) / min(alone) - 1.0, 3)
        if loaded_in:
            figures["sim_slowdown_in_process"] = round(min(loaded_in) / min(alone_in) - 1.0, 3)
            print(f"  in the gateway's process (s): alone {', '.join(f'{w:.3f}' for w in alone_in)}; loaded {', '.join(f'{w:.3f}' for w in loaded_in)}", file=sys.stderr)

        # Latency: a twin paced slowly enough to run throughout the measurement.
        from services.twin_server import serve
        from twin.live_process import LiveProcess

        live = LiveProcess(spec, out=Path(tmp) / "latency", speed=86400.0 * 2).start()
        live.ready.wait()
        server, port, _ = serve(live, "bench-token")
        try:
            result = _latency(port, size, 3.0 if args.quick else 10.0)
        finally:
            live.stop(timeout=60)
            server.stop()
    import numpy as np

    twin_ms, bare_ms = np.array(result["twin"]) * 1e3, np.array(result["bare"]) * 1e3
    figures.update({
        "getstate_bytes": size,
        "getstate_p50_ms": round(float(np.percentile(twin_ms, 50)), 3), "getstate_p99_ms": round(float(np.percentile(twin_ms, 99)), 3),
        "bare_p50_ms": round(float(np.percentile(bare_ms, 50)), 3), "bare_p99_ms": round(float(np.percentile(bare_ms, 99)), 3),
    })
    figures["getstate_p50_vs_bare"] = round(figures["getstate_p50_ms"] / figures["bare_p50_ms"], 3)
    print(f"GetState ({size} bytes): p50 {figures['getstate_p50_ms']} ms, p99 {figures['getstate_p99_ms']} ms; "
          f"bare grpcio: p50 {figures['bare_p50_ms']} ms, p99 {figures['bare_p99_ms']} ms", file=sys.stderr)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
