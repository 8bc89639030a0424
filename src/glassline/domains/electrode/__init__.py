"""The electrode reference case: constants, physics and the simulated pilot line, as a domain pack.

:data:`pack` (a :class:`glassline.domains.DomainPack`, the entry point ``electrode`` of the group
``glassline.domains``) is built on first access, so importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glassline.domains import DomainPack

__all__ = ["SIMULATOR_SEED", "pack"]

#: The simulated pilot line's default random seed (the paper's year): the simulator's and its command's.
SIMULATOR_SEED = 2023

pack: DomainPack


def __getattr__(name: str) -> Any:
    if name == "pack":
        from glassline.domains.electrode._pack import pack

        return pack
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
