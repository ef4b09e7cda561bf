"""Child process of the product store crash test: stores, replaces, deletes and marks files
until killed.

Usage: python -m tests.svc.store_child DIRECTORY RUN

Prints ``ready``, then for k = 0, 1, ...: ``storing PATH`` / store / ``acked PATH ID``; the quota
prints ``evicting PATH ID`` before each deletion it makes; now and then ``deleting PATH`` /
``deleted PATH``, ``marking PATH`` / ``marked PATH`` (downlinked). Every file's content follows
from its metadata (`content`), so the parent can check any file it finds.
"""

from __future__ import annotations

import random
import sys

from flight.runtime.runtime import Runtime
from flight.svc.products import FileCategory, ProductStore, StoredFile, StoreError
from hal.clock import SimClock

from .services_rig import epoch_url

QUOTA = 160 * 1024
OUT = sys.stdout


def say(*words: object) -> None:
    OUT.write(" ".join(str(w) for w in words) + "\n")
    OUT.flush()


def content(meta: dict) -> bytes:
    rng = random.Random(f"{meta['run']}-{meta['k']}")
    return rng.randbytes(meta["size"])


class AnnouncingStore(ProductStore):
    def _evicting(self, info: StoredFile) -> None:
        say("evicting", info.path, info.file_id)
        super()._evicting(info)


def build(directory: str) -> Runtime:
    rt = Runtime("crash", clock=SimClock(), tick_hz=10)
    rt.add(AnnouncingStore("store", 0x0C00),
           hardware={"storage": f"file:{directory}", "time": epoch_url()},
           config={"quota_bytes": QUOTA})
    rt.boot()
    rt.components["store"].store.journal.min_compact_bytes = 1024  # compactions crash too
    return rt


def main(directory: str, run: int) -> None:
    rng = random.Random(run)
    store: ProductStore = build(directory).components["store"]
    say("ready")
    k = 0
    while True:
        k += 1
        files = store.file_list()
        action = rng.random()
        if action < 0.1 and files:
            target = rng.choice(files).path
            say("deleting", target)
            store.store.delete(target)
            say("deleted", target)
            continue
        if action < 0.2 and files:
            target = rng.choice(files).path
            say("marking", target)
            store.store.mark_downlinked(target)
            say("marked", target)
            continue
        if action < 0.3 and files:
            path = rng.choice(files).path  # a new version replaces it
        else:
            path = f"p/{run}-{k}"
        meta = {"run": run, "k": k, "size": rng.randrange(0, 6000)}
        priority = 0 if rng.random() < 0.02 else rng.randrange(1, 6)
        say("storing", path)
        try:
            info = store.write(path, content(meta), category=FileCategory.PRODUCT,
                               priority=priority, meta=meta)
        except StoreError:
            say("full", path)
            continue
        say("acked", path, info.file_id)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
