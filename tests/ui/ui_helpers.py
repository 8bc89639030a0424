"""What the dashboard tests share besides fixtures: the served app's address, tokens, models and provider calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from glassline.serve import ServedModel


@dataclass
class Served:
    url: str
    db_url: str
    tokens: dict[str, str]
    models: dict[str, ServedModel]
    calls: list[tuple[str, dict[str, Any]]]

    def client(self, role: str = "admin") -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[role]}"}, timeout=30)
