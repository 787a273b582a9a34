"""scale.py - the guide's "Async Sleep" listing with 100,000 tasks: task i
sleeps as the guide's task (i % 3) + 1 does, a tenth of 1.0, 0.5 and 1.5 s,
all under one asyncio.gather. The C twin is ../scale_waits.c; `make
bench-scale` runs both. The prints are left out of both: 200,000 lines of
output would measure the terminal, not the waits.
Usage: python3 scale.py [TASKS]   (100000)
"""
import asyncio
import resource
import sys
import time

DELAYS = (0.100, 0.050, 0.150)  # the guide's 1.0, 0.5 and 1.5 s, a tenth


async def task(name: str, delay: float) -> None:
    """Task with delay."""
    await asyncio.sleep(delay)


async def main(n: int) -> None:
    """Run tasks concurrently."""
    await asyncio.gather(*(task(f"Task {i % 3 + 1}", DELAYS[i % 3]) for i in range(n)))


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    t0 = time.monotonic()
    asyncio.run(main(n))
    elapsed = (time.monotonic() - t0) * 1000
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{n} tasks, longest wait 150 ms")
    print(f"measured: elapsed_ms={elapsed:.0f} peak_kib={peak}")
