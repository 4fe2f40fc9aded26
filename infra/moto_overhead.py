"""moto's server without the work it repeats on every request for the same answer.

To find a request's backend moto lists its own package directory, twice a request (a stat of each of its 150-odd
service folders), and to find the action it lists the response class's methods by reflection, once a request. Both
answers never change while the process runs, so each is computed once: about a third of a simple request's time.
Only the local stack and the tests run moto.
"""

from __future__ import annotations

import functools

from moto import backends
from moto.core import responses
from moto.core.utils import method_names_from_class


def install() -> None:
    modules = frozenset(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment,return-value]
    responses.method_names_from_class = functools.cache(method_names_from_class)  # type: ignore[attr-defined]
