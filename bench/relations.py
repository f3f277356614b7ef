"""References: what holding them per branch costs a writer.

Run with bench/run relations [--quick] (it builds evcs and starts a throwaway server); or directly
with DATABASE_URL pointing at an empty database and PYTHONPATH set to the build's python
directory.

Two entity types with the same columns, one with `project_id` a plain uuid and one with it a
reference to `project` (restrict): the versioned update of one field in autocommit mode,
measured interleaved (bench/versioned.py's Bench), and the bulk create of 10,000 entities
(create_many), alternating between the two types. The targets compare the referring type with
the plain one: update rate >= 0.85x.
"""
from __future__ import annotations

import argparse
import os
import time
from typing import Dict, List

import evcs
from versioned import Bench

ENTITIES = 200
BULK = 10_000
COLUMNS = {"title": "text", "qty": "int"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.5 s per measurement")
    arguments = parser.parse_args()
    bench = Bench(os.environ["DATABASE_URL"], 0.5 if arguments.quick else 2.0)
    with bench.engine.session(author="bench") as s:
        s.create_entity_type("project", {"title": "text"})
        s.create_entity_type("plain_task", {**COLUMNS, "project_id": "uuid"})
        s.create_entity_type("referring_task", {**COLUMNS, "project_id": {"references": "project"}})
        project = s.repository("project").create({"title": "p"}).head_id
        s.commit()
        tasks: Dict[str, List[str]] = {}
        for kind in ("plain_task", "referring_task"):
            repo = s.repository(kind)
            tasks[kind] = [repo.create({"title": "t", "qty": 0, "project_id": project}).head_id
                           for _ in range(ENTITIES)]
        s.commit()

    print("versioned update of one field (autocommit)")
    with bench.engine.session(author="bench", autocommit=True) as s:
        counters = {kind: 0 for kind in tasks}

        def update(kind: str) -> None:
            counters[kind] += 1
            s.repository(kind).update(tasks[kind][counters[kind] % ENTITIES],
                                      {"qty": counters[kind]})

        rates = bench.measure_interleaved({
            kind: (f"update: {kind}", lambda kind=kind: update(kind)) for kind in tasks})

    print("bulk create (create_many)")
    seconds: Dict[str, List[float]] = {kind: [] for kind in tasks}
    for _ in range(2):
        for kind in tasks:
            with bench.engine.session(author="bench") as s:
                rows = [{"title": "b", "qty": 1, "project_id": project} for _ in range(BULK)]
                started = time.perf_counter()
                s.repository(kind).create_many(rows)
                seconds[kind].append(time.perf_counter() - started)
                bench.report(f"bulk create {BULK:,}: {kind}", BULK / seconds[kind][-1],
                             "entities/s")
    bench.engine.close()

    update_ratio = rates["referring_task"] / rates["plain_task"]
    bulk_ratio = min(seconds["referring_task"]) / min(seconds["plain_task"])
    print("\nratios and targets:")
    print(f"  update: referring / plain (rate)           {update_ratio:5.2f}  "
          f"(>= 0.85: {'met' if update_ratio >= 0.85 else 'NOT met'})")
    print(f"  bulk create: referring / plain (time)      {bulk_ratio:5.2f}")


if __name__ == "__main__":
    main()
