"""A bounded worker pool: jobs in, results out, a WaitGroup to know when.

    python samples/worker_pool.py [JOBS] [WORKERS]

The Go shape:

    jobs := make(chan int, 100)
    results := make(chan result, 100)
    var wg sync.WaitGroup
    for w := 0; w < workers; w++ {
        wg.Go(func() { for j := range jobs { results <- work(j) } })
    }
    go func() { wg.Wait(); close(results) }()

Each job hashes a buffer.  Half of the work is plain Python (it holds the
thread, so the other workers wait their turn: gort does not preempt); the
other half goes through gort.blocking, Go's "entersyscall": the worker parks
in _Gsyscall while a pool thread runs hashlib over a large buffer (which
releases the GIL), so several of those run at once.
"""

import hashlib
import sys
import time

import gort
from gort.sync import WaitGroup

BLOB = b"gort" * 250_000  # 1 MB


def work(j: int) -> tuple[int, str]:
    data = j.to_bytes(4, "little") + BLOB
    if j % 2:
        digest = gort.blocking(lambda: hashlib.sha256(data).hexdigest())
    else:
        digest = hashlib.sha256(data[:4096]).hexdigest()
    return j, digest[:12]


def worker(jobs: gort.Chan, results: gort.Chan) -> None:
    for j in jobs:  # until jobs is closed and drained
        results.send(work(j))


def main(njobs: int, nworkers: int) -> dict[int, str]:
    jobs, results = gort.chan(100), gort.chan(100)
    wg = WaitGroup()
    for _ in range(nworkers):
        wg.go(worker, jobs, results)

    def closer() -> None:
        wg.wait()
        results.close()

    gort.go(closer)

    def feeder() -> None:
        for j in range(njobs):
            jobs.send(j)
        jobs.close()

    gort.go(feeder)
    out = dict(results)  # ranges over results until closer closes it
    assert gort.num_goroutine() == 1  # every worker has returned
    return out


if __name__ == "__main__":
    njobs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    nworkers = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    t = time.perf_counter()
    out = gort.run(main, njobs, nworkers)
    dt = time.perf_counter() - t
    print(f"{len(out)} jobs by {nworkers} workers in {dt * 1e3:.0f} ms; "
          f"job 0 -> {out[0]}, job {njobs - 1} -> {out[njobs - 1]}")
