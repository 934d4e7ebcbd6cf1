"""Audit-engine benchmark: a whole organisation's year through ``audit_events``.

For each size in ``--people`` and each of ``--repeat`` runs, a *fresh* Python subprocess
(so one size's peak RSS never pollutes another's) does:

* **pool** — forks ``--workers`` processes; each generates its own people with
  ``bench/generate.py`` (person ``p`` goes to worker ``p % workers``; nothing is pickled
  across), waits on a barrier until every worker has finished generating, then audits its
  people one by one with the ``asn-id`` policy over the 52-week range. Audit wall time is
  ``max(worker end) - min(worker start)`` after the barrier (``time.monotonic`` is
  system-wide on Linux);
* **single** — the same in one process (no pool), for the single-core figure.

Generation is timed separately and never counted as audit time. The median of the runs is
printed per size and mode, with the audit CPU time (``time.thread_time`` of the auditing
threads, summed) next to the wall time. Before each run the driver waits (``--quiet-wait``)
until other load uses under 15 % of the CPUs, so a shared machine does not skew a run.
Peak RSS is reported two ways:

* ``peak RSS`` — the sum of every process's own ``ru_maxrss`` (``getrusage(RUSAGE_SELF)``
  read in the driver subprocess and in each worker at its end). ``RUSAGE_CHILDREN`` is
  not used for the sum because it reports the *largest* child, not the total. The sum is
  an upper bound: it adds per-process peaks that may not coincide and counts pages shared
  copy-on-write after ``fork`` (interpreter, numpy, pandas) once per process;
* ``sampled`` — the highest simultaneous sum of RSS over the driver and its workers,
  sampled every 50 ms with ``psutil`` (when installed).

Both include the generated events held in memory (~1,500 ``Event`` objects a person) —
``after gen`` shows the RSS sum once generation finished, so the engine's own working
memory is roughly ``peak - after gen``.

Run ``python bench/bench_audit.py`` (defaults ``--people 100 1000 --weeks 52 --workers 2
--repeat 3``) or ``make bench``; ``--json FILE`` also writes every run. The code audited is
the tree this file sits in (its parent directory goes first on ``sys.path``). Linux only.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

POLICY = "asn-id"
TARGET_S = 20.0  # the first target for the 1,000-person year on the 2-core bench machine
TARGET_BYTES = 2 * 10**9


# --------------------------------------------------------------------------- measuring

def _maxrss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def _rss_mib() -> float:
    """Current RSS of this process (from /proc, no psutil needed)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler(threading.Thread):
    """Highest simultaneous RSS sum of this process and its descendants (psutil)."""

    def __init__(self, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = 0.0
        self.available = True
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            import psutil
        except ImportError:
            self.available = False
            return
        me = psutil.Process()
        while not self._stop_event.is_set():
            total = 0
            try:
                procs = [me, *me.children(recursive=True)]
            except psutil.Error:
                procs = [me]
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total / 2**20)
            self._stop_event.wait(self.interval)

    def stop(self) -> float | None:
        self._stop_event.set()
        self.join()
        return self.peak if self.available else None


# --------------------------------------------------------------------------- the work

def _generate(people: list[int], weeks: int, seed: int) -> tuple[list[tuple[int, str, list[Any]]], float]:
    from generate import person_events, person_zone

    t0 = time.perf_counter()
    data = [(p, person_zone(p, seed), person_events(p, weeks, seed)) for p in people]
    return data, time.perf_counter() - t0


def _audit(data: list[tuple[int, str, list[Any]]], weeks: int) -> dict[str, Any]:
    """Audit every person; keep only a small summary (results are dropped at once)."""
    from balanced_calendar.engine import audit_events
    from balanced_calendar.policyfile import load_policy
    from generate import audit_range

    policy = load_policy(POLICY)
    start, end = audit_range(weeks)
    events = findings = work = 0
    t0, c0 = time.monotonic(), time.thread_time()  # this thread only: not the RSS sampler
    for p, zone, evs in data:
        result = audit_events(evs, policy, zone=zone, start=start, end=end, person=f"person-{p}")
        events += len(evs)
        findings += len(result.findings)
        work += sum(d["work_minutes"] for d in result.days)
    t1, c1 = time.monotonic(), time.thread_time()
    return {"t0": t0, "t1": t1, "cpu_s": c1 - c0, "events": events, "findings": findings, "work_minutes": work}


def _worker(index: int, people: list[int], weeks: int, seed: int, barrier: Any, queue: Any) -> None:
    try:
        data, gen_s = _generate(people, weeks, seed)
        gc.collect()
        gc.freeze()  # the generated input is permanent: keep the cyclic GC from rescanning it
        after_gen = _rss_mib()
        barrier.wait()
        out = _audit(data, weeks)
        out.update(worker=index, gen_s=gen_s, after_gen_mib=after_gen, maxrss_mib=_maxrss_mib())
        queue.put(out)
    except BaseException as exc:  # report instead of hanging the barrier
        barrier.abort()
        queue.put({"worker": index, "error": repr(exc)})
        raise


def run_once(people: int, weeks: int, workers: int, seed: int, mode: str) -> dict[str, Any]:
    """One measured run in this (fresh) process."""
    import multiprocessing as mp

    # Import the engine and load the policy before forking: workers share it copy-on-write.
    from balanced_calendar.engine import audit_events  # noqa: F401
    from balanced_calendar.policyfile import load_policy

    load_policy(POLICY)
    ids = list(range(people))
    if mode == "single":
        sampler = RssSampler()
        sampler.start()
        data, gen_s = _generate(ids, weeks, seed)
        gc.collect()
        gc.freeze()
        after_gen = _rss_mib()
        out = _audit(data, weeks)
        sampled = sampler.stop()
        return {"mode": mode, "people": people, "weeks": weeks, "workers": 1, "gen_s": gen_s,
                "audit_s": out["t1"] - out["t0"], "cpu_s": out["cpu_s"], "events": out["events"],
                "findings": out["findings"], "work_minutes": out["work_minutes"], "after_gen_mib": after_gen,
                "peak_rss_mib": _maxrss_mib(), "sampled_peak_mib": sampled}

    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(workers)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(w, ids[w::workers], weeks, seed, barrier, queue))
             for w in range(workers)]
    wall0 = time.monotonic()
    for proc in procs:
        proc.start()
    sampler = RssSampler()
    sampler.start()
    results: list[dict[str, Any]] = []
    while len(results) < workers:
        try:
            results.append(queue.get(timeout=2))
        except Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead and queue.empty():
                sampler.stop()
                raise SystemExit(f"a worker died (exit codes {dead}); out of memory?") from None
    for proc in procs:
        proc.join()
    sampled = sampler.stop()
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        raise SystemExit(f"worker failed: {errors}")
    own = _maxrss_mib()
    return {
        "mode": mode, "people": people, "weeks": weeks, "workers": workers,
        "gen_s": max(r["gen_s"] for r in results),
        "audit_s": max(r["t1"] for r in results) - min(r["t0"] for r in results),
        "cpu_s": sum(r["cpu_s"] for r in results),
        "worker_audit_s": [round(r["t1"] - r["t0"], 3) for r in sorted(results, key=lambda r: r["worker"])],
        "events": sum(r["events"] for r in results),
        "findings": sum(r["findings"] for r in results),
        "work_minutes": sum(r["work_minutes"] for r in results),
        "after_gen_mib": own + sum(r["after_gen_mib"] for r in results),
        "peak_rss_mib": own + sum(r["maxrss_mib"] for r in results),
        "sampled_peak_mib": sampled,
        "total_wall_s": time.monotonic() - wall0,
        "children_maxrss_mib": _maxrss_mib(resource.RUSAGE_CHILDREN),
    }


# --------------------------------------------------------------------------- driver

def _cpu_busy(seconds: float = 1.0) -> float:
    """Share of all CPUs busy over ``seconds`` (from /proc/stat), 0..1."""
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values) - idle, sum(values)

    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(total1 - total0, 1)


def _wait_for_quiet(limit_s: float, threshold: float = 0.15) -> float:
    """Wait (up to ``limit_s``) until other load uses < ``threshold`` of the CPUs; returns the last reading."""
    deadline = time.monotonic() + limit_s
    busy = _cpu_busy()
    while busy >= threshold and time.monotonic() < deadline:
        busy = _cpu_busy()
    return busy


def _run_child(people: int, args: argparse.Namespace, mode: str) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_child", mode, "--people", str(people),
           "--weeks", str(args.weeks), "--workers", str(args.workers), "--seed", str(args.seed)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def _machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem:.1f} GiB RAM, Python {sys.version.split()[0]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the audit engine over an organisation's year.")
    parser.add_argument("--people", type=int, nargs="+", default=[100, 1000], help="organisation sizes")
    parser.add_argument("--weeks", type=int, default=52, help="weeks of calendar per person (default 52)")
    parser.add_argument("--workers", type=int, default=2, help="pool processes (default 2 = the bench machine's cores)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the median is printed")
    parser.add_argument("--seed", type=int, default=None, help="generator seed (default: generate.DEFAULT_SEED)")
    parser.add_argument("--no-single", action="store_true", help="skip the single-process runs")
    parser.add_argument("--quiet-wait", type=float, default=60, metavar="S",
                        help="before each run wait up to S seconds for other load to drop under 15%% of the "
                             "CPUs (default 60; 0 = don't wait)")
    parser.add_argument("--json", type=Path, help="also write every run to this file")
    parser.add_argument("--_child", choices=("pool", "single"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed is None:
        from generate import DEFAULT_SEED

        args.seed = DEFAULT_SEED

    if args._child:
        result = run_once(args.people[0], args.weeks, args.workers, args.seed, args._child)
        print(json.dumps(result))
        return 0

    modes = ["pool"] + ([] if args.no_single else ["single"])
    print(f"machine: {_machine()}")
    print(f"policy {POLICY}, {args.weeks} weeks, pool of {args.workers} workers, "
          f"median of {args.repeat} runs, each run in a fresh subprocess", flush=True)
    all_runs: list[dict[str, Any]] = []
    rows = []
    for people in args.people:
        for mode in modes:
            runs = []
            for rep in range(args.repeat):
                load = _wait_for_quiet(args.quiet_wait) if args.quiet_wait > 0 else None
                run = _run_child(people, args, mode)
                run["cpu_busy_before"] = load
                runs.append(run)
                print(f"  {people:>5} people {mode:>6} run {rep + 1}: audit {run['audit_s']:.2f} s "
                      f"(CPU {run['cpu_s']:.2f} s), "
                      f"gen {run['gen_s']:.2f} s, peak RSS {run['peak_rss_mib']:.0f} MiB"
                      + (f" (machine {100 * load:.0f}% busy before)" if load is not None else ""), flush=True)
            checks = {(r["events"], r["findings"], r["work_minutes"]) for r in runs}
            if len(checks) != 1:
                print(f"  WARNING: runs disagree: {checks}")
            all_runs.extend(runs)
            audit_s = _median(runs, "audit_s")
            rows.append({
                "people": people, "mode": f"{mode} x{runs[0]['workers']}" if mode == "pool" else "single",
                "events": runs[0]["events"], "findings": runs[0]["findings"],
                "audit_s": audit_s, "eps": runs[0]["events"] / audit_s,
                "cpu_s": _median(runs, "cpu_s"), "ms_pp": 1000 * _median(runs, "cpu_s") / people,
                "busy": _median([{"b": r["cpu_s"] / r["audit_s"]} for r in runs], "b"),
                "gen_s": _median(runs, "gen_s"), "after_gen": _median(runs, "after_gen_mib"),
                "peak": _median(runs, "peak_rss_mib"), "sampled": _median(runs, "sampled_peak_mib"),
            })

    header = (f"{'people':>6} {'mode':>9} {'events':>10} {'findings':>9} {'audit wall s':>12} "
              f"{'events/s':>10} {'audit CPU s':>11} {'cores busy':>10} {'CPU ms/person':>13} {'gen s':>7} {'after gen MiB':>13} "
              f"{'peak RSS MiB':>12} {'sampled MiB':>11}")
    print()
    print(header)
    print("-" * len(header))
    for r in rows:
        sampled = f"{r['sampled']:.0f}" if r["sampled"] is not None else "n/a"
        print(f"{r['people']:>6} {r['mode']:>9} {r['events']:>10,} {r['findings']:>9,} {r['audit_s']:>12.2f} "
              f"{r['eps']:>10,.0f} {r['cpu_s']:>11.2f} {r['busy']:>10.2f} {r['ms_pp']:>13.1f} {r['gen_s']:>7.1f} {r['after_gen']:>13.0f} "
              f"{r['peak']:>12.0f} {sampled:>11}")
    for line in (
        "",
        "audit wall s, events/s: median audit wall time (generation excluded).",
        "audit CPU s: CPU time of the auditing threads, summed; CPU ms/person = audit CPU s / people.",
        "cores busy: audit CPU s / audit wall s; below the worker count means workers waited for a CPU",
        "  (other load on the machine) or finished unevenly.",
        "after gen: RSS sum once the input was generated; peak RSS: sum of per-process ru_maxrss;",
        "  sampled: highest simultaneous RSS sum (psutil, every 50 ms).",
    ):
        print(line)
    pool = {r["people"]: r for r in rows if r["mode"].startswith("pool")}
    if len(pool) >= 2:
        small, large = pool[min(pool)], pool[max(pool)]
        factor = large["people"] / small["people"]
        print(f"\ngrowth {small['people']} -> {large['people']} people (x{factor:g}), pool: audit wall "
              f"x{large['audit_s'] / small['audit_s']:.1f}, audit CPU x{large['cpu_s'] / small['cpu_s']:.1f}, "
              f"peak RSS +{(large['peak'] - small['peak']) / (large['people'] - small['people']):.2f} MiB/person")
    if 1000 in pool and args.weeks == 52:
        r = pool[1000]
        ok = r["audit_s"] <= TARGET_S and r["peak"] * 2**20 <= TARGET_BYTES
        print(f"target (1,000 people x 52 weeks, {args.workers} workers: <= {TARGET_S:g} s wall, <= 2 GB peak RSS): "
              f"{r['audit_s']:.1f} s, {r['peak'] * 2**20 / 1e9:.2f} GB -> {'met' if ok else 'NOT met'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": _machine(), "runs": all_runs, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
