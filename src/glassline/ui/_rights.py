"""What each role may see and do on the dashboards.

A page or action names the role it needs; a session's role opens it when ``role.allows(needed)``
(:meth:`glassline.audit.Role.allows`): operator < engineer < admin as in the API, a technician has an operator's
rights plus the monitoring view, a manager and quality have their own views only, an engineer has every view
but tokens, an admin everything. Every signed-in role may open one audit record (every number links to one).

======================  ========  ==========  ========  =======  =======  =====
page / action           operator  technician  engineer  manager  quality  admin
======================  ========  ==========  ========  =======  =======  =====
/ui/operator            yes       yes         yes       no       no       yes
/ui/technician          no        yes         yes       no       no       yes
/ui/engineer            no        no          yes       no       no       yes
/ui/manager             no        no          yes       yes      no       yes
/ui/quality             no        no          yes       no       yes      yes
override, suggestion    yes       yes         yes       no       no       yes
stop / start            no        no          yes       no       no       yes
audit log, CSV, verify  no        no          yes       no       yes      yes
one audit record        yes       yes         yes       yes      yes      yes
======================  ========  ==========  ========  =======  =======  =====
"""

from __future__ import annotations

from glassline.audit import Role

__all__ = ["ACTIONS", "HOME", "PAGES", "allowed_pages", "may"]

#: Each dashboard page and the role it needs.
PAGES: dict[str, Role] = {
    "operator": Role.operator,
    "technician": Role.technician,
    "engineer": Role.engineer,
    "manager": Role.manager,
    "quality": Role.quality,
}

#: Each action and the role it needs (the API's own rule where the API has the action).
ACTIONS: dict[str, Role] = {
    "override": Role.operator,  # POST /v1/override
    "counterfactual": Role.operator,  # POST /v1/models/{name}/counterfactual: operators may call it
    "stop": Role.engineer,  # POST /v1/stop and /v1/start
    "whatif": Role.engineer,  # the what-if curves of the engineer page
    "audit_log": Role.quality,
}

#: The page each role lands on after signing in.
HOME: dict[Role, str] = {
    Role.operator: "operator",
    Role.technician: "technician",
    Role.engineer: "engineer",
    Role.manager: "manager",
    Role.quality: "quality",
    Role.admin: "engineer",
}


def may(role: Role, action: str) -> bool:
    """Whether *role* may do *action* (a key of :data:`ACTIONS`) or open page *action* (a key of :data:`PAGES`)."""
    needed = ACTIONS.get(action) or PAGES[action]
    return role.allows(needed)


def allowed_pages(role: Role) -> list[str]:
    """The pages *role* may open, in navigation order."""
    return [page for page, needed in PAGES.items() if role.allows(needed)]
