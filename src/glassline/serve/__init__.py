"""The inference service: FastAPI app with explanations, intervals, validity-domain fallback, auth and an audit log.

>>> from glassline.registry import load_model
>>> from glassline.serve import ServiceConfig, create_app
>>> app = create_app(load_model("adhesion-product@prod"), ServiceConfig("sqlite:///a.db"))  # doctest: +SKIP
"""

from glassline.serve._app import ServiceConfig, create_app
from glassline.serve._run import run_server, wait_until_ready
from glassline.serve._schemas import Fallback
from glassline.serve._store import (
    AuditLog,
    AuditRecord,
    ChainReport,
    Role,
    StoreError,
    TokenStore,
    connect,
    verify_chain,
)

__all__ = [
    "AuditLog",
    "AuditRecord",
    "ChainReport",
    "Fallback",
    "Role",
    "ServiceConfig",
    "StoreError",
    "TokenStore",
    "connect",
    "create_app",
    "run_server",
    "verify_chain",
    "wait_until_ready",
]
