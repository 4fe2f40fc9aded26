"""An adapter built on its first use, so a Lambda that never calls it never imports its SDK.

The fan-out function, say, is wired with the same services as the API but
never talks to WeChat Pay: with its gateway lazy, wechatpayv3 is never loaded
there, and its cold start does not pay for it.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any


class Lazy:
    def __init__(self, build: Callable[[], Any]) -> None:
        self.__dict__["_build"] = build
        self.__dict__["_made"] = None
        self.__dict__["_lock"] = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        made = self.__dict__["_made"]
        if made is None:
            with self.__dict__["_lock"]:
                made = self.__dict__["_made"]
                if made is None:
                    made = self.__dict__["_made"] = self.__dict__["_build"]()
        return getattr(made, name)


def lazy_module(name: str) -> Any:
    """The module `name`, imported on its first attribute access (import_module is thread-safe; LazyLoader
    in 3.11 is not)."""
    return Lazy(lambda: importlib.import_module(name))
