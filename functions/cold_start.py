"""What a Lambda function does while its module loads, once per sandbox."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loading_for_good() -> Iterator[None]:
    """Load a function's modules with the collector paused, then keep what they made out of its passes.

    Loading the API allocates about 50,000 objects that live as long as the sandbox; while they pile up the
    collector runs over them ~120 times, one full pass included (about a sixth of the cold start, measured by
    bench/run.py's bench_imports). Nothing made while loading is garbage worth finding, so the collector waits,
    and `gc.freeze` moves it all out of later passes too, which keeps warm requests' full passes short. Nested
    uses (an entry module importing another) leave the pause to the outermost."""
    outermost = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if outermost:
            gc.freeze()
            gc.enable()
