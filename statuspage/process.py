"""What a long-lived process (a task worker, the provider sandbox) does once it is ready."""

from __future__ import annotations

import gc


def freeze_startup_heap(**signal_kwargs) -> None:
    """Take every object alive now out of the garbage collector's full collections.

    A worker's heap is mostly Django, the provider SDKs and the URLconf, loaded at start
    and never freed; every full collection walked all of it: 75 ms in a sending worker,
    110-170 ms (about twenty times a benchmark run) in the sandbox. Frozen objects are
    still freed by reference counting; only cycles among them would no longer be found
    (gc.freeze's documented trade-off, which Instagram's and others' forking servers take
    for the same reason).
    Usable as a django-q2 `post_spawn` receiver.
    """
    gc.collect()
    gc.freeze()
