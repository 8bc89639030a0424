"""Role dashboards served by the service itself under ``/ui/``: operator, technician, engineer, manager, quality.

Pages are rendered on the server; htmx and plotly are served from this package, so no page loads anything
from another host. Sign in with an API token at ``/ui/login``; the token's role decides what each page shows
and allows (:mod:`glassline.ui._rights`). Every number links to the audit record it came from.

>>> from glassline.serve import ServiceConfig, create_app
>>> from glassline.ui import Providers, create_ui
>>> app = create_ui(create_app(models, ServiceConfig("sqlite:///a.db")), Providers())  # doctest: +SKIP
"""

from glassline.ui._app import UiConfig, create_ui
from glassline.ui._providers import CounterfactualProvider, HandoverProvider, MonitorProvider, Providers
from glassline.ui._rights import ACTIONS, HOME, PAGES, allowed_pages, may
from glassline.ui._strings import CATALOGUES, text

__all__ = [
    "ACTIONS",
    "CATALOGUES",
    "HOME",
    "PAGES",
    "CounterfactualProvider",
    "HandoverProvider",
    "MonitorProvider",
    "Providers",
    "UiConfig",
    "allowed_pages",
    "create_ui",
    "may",
    "text",
]
