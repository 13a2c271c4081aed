"""Instructions per CPU-second of a mixed CPython workload: the basis of the instruction model's default.

Run it twice and divide: natively it prints the median CPU time of the workload; under callgrind (with
``valgrind --tool=callgrind --collect-atstart=no python benchmarks/instructions_per_cpu_second.py count``)
it opens one window around the same workload and prints its instruction count.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import sys
import time


class _Point:
    def __init__(self, x: int) -> None:
        self.x = x

    def shifted(self) -> int:
        return self.x + 1


def workload() -> int:
    """JSON, regular expressions, sorting, dictionaries, integer loops and small objects."""
    rnd = random.Random(0)
    data = [{"id": i, "name": f"item{i}", "tags": [rnd.random() for _ in range(5)]} for i in range(3000)]
    text = json.dumps(data)
    back = json.loads(text)
    words = re.findall(r"item\d+", text)
    ordered = sorted(back, key=lambda d: d["tags"][0])
    counts: dict[str, int] = {}
    for word in words:
        counts[word[-1]] = counts.get(word[-1], 0) + 1
    total = sum(i * i for i in range(100000))
    points = [_Point(i).shifted() for i in range(50000)]
    joined = "".join(str(i) for i in range(20000))
    return len(ordered) + total + len(points) + len(joined) + len(counts)


def main() -> None:
    workload()  # warm: imports, caches and (under Valgrind) translation stay out of the figure
    if sys.argv[1:] == ["count"]:
        from greencode.config import Config
        from greencode.meters.instructions import create

        meter = create(Config(), functions=False)
        window = meter.start()
        workload()
        print("instructions", window.stop().counts["instructions"])
        meter.close()
        return
    cpu = []
    for _ in range(7):
        start = time.process_time()
        workload()
        cpu.append(time.process_time() - start)
    print(f"cpu_s median {statistics.median(cpu):.4f} min {min(cpu):.4f}")


if __name__ == "__main__":
    main()
