"""LGCL epoch time by torch thread count and OpenMP wait policy, as the machine is and beside a busy neighbour.

On 2 cores a torch process with 2 threads that shares the CPU with another job spends most of
its time in OpenMP threads spin-waiting for each other. This times one LGCL epoch (the relation-
aware graph transformer over the WikiAMR graphs, batch 8, as `stages.train lgcl` runs it) in a
fresh process per setting, first as the machine is, then while an added neighbour process
keeps one core busy (a 1-thread matrix-multiply loop, as a second training would), and prints
the seconds per epoch and each setting's ratio to the 1-thread epoch under the same
conditions. The load average at the start is printed: other jobs on the machine change every
figure.

Usage: python benchmarks/lgcl_threads.py [--dataset politifact] [--epochs 1]
(needs the dataset's LGCL inputs: `dvc repro article_graphs-politifact` or a full run's clone
as the working directory)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time

SETTINGS = {  # name -> environment of the timed process
    "1 thread": {"OMP_NUM_THREADS": "1"},
    "2 threads": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "ACTIVE"},
    "2 threads, OMP_WAIT_POLICY=PASSIVE": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"},
}

EPOCH = """
import sys, time, torch
from pipeline.methods import METHODS
from pipeline.models.lgcl import LGCLDetector
from pipeline.train import load_inputs
data, _ = load_inputs(sys.argv[1], METHODS["lgcl"].reads)
detector = LGCLDetector(seed=0, epochs=int(sys.argv[2]), use_propagation=False)
start = time.perf_counter()
detector._fit_lgcl(data, torch.Generator().manual_seed(0))
print((time.perf_counter() - start) / int(sys.argv[2]))
"""


def busy_core(stop) -> None:
    import torch

    torch.set_num_threads(1)
    a = torch.randn(512, 512)
    while not stop.is_set():
        a = torch.tanh(a @ a)


def seconds_per_epoch(dataset: str, epochs: int, env: dict) -> float:
    done = subprocess.run(
        [sys.executable, "-c", EPOCH, dataset, str(epochs)],
        env=os.environ | {"FND_PROGRESS": "off"} | env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"the timed LGCL epoch failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="politifact")
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}, dataset: {args.dataset}")
    print("| setting | no added neighbour (s/epoch) | ratio | beside an added busy core (s/epoch) | ratio |")
    print("|---|---|---|---|---|")
    results = {}
    for neighbour in (False, True):
        stop = multiprocessing.Event()
        worker = multiprocessing.Process(target=busy_core, args=(stop,)) if neighbour else None
        if worker:
            worker.start()
            time.sleep(2)
        try:
            for name, env in SETTINGS.items():
                results[name, neighbour] = seconds_per_epoch(args.dataset, args.epochs, env)
        finally:
            if worker:
                stop.set()
                worker.join()
    base_as_is, base_beside = results["1 thread", False], results["1 thread", True]
    for name in SETTINGS:
        as_is, beside = results[name, False], results[name, True]
        print(f"| {name} | {as_is:.1f} | {as_is / base_as_is:.2f} | {beside:.1f} | {beside / base_beside:.2f} |")


if __name__ == "__main__":
    main()
