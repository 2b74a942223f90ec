"""The menu: built once here from the permission check, so hidden means not allowed."""

from django.conf import settings
from django.urls import reverse

from icb.mapping.unmapped_selectors import unmapped_count
from icb.review import selectors as review_selectors
from icb.tenancy.models import Area, Level
from icb.tenancy.permissions import allows


def _item(label, url_name, visible, badge=None):
    """A menu entry; `badge` (a callable) is a count shown beside it, asked only when the
    entry is visible."""
    count = badge() if visible and badge is not None else None
    return {"label": label, "url": reverse(url_name), "visible": visible, "badge": count}


def _mark_current(menu, path: str) -> None:
    for section in menu:
        for group in section["groups"]:
            for item in group["items"]:
                item["current"] = path.startswith(item["url"])


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.company_id:
        return {"menu": [], "hub_name": settings.ICB_HUB_NAME}
    sections = [
        {
            "label": "Finance",
            "groups": [
                {
                    "label": "Finance",
                    "items": [
                        _item(
                            "Contracts", "contracts:list", allows(user, Area.CONTRACTS, Level.VIEW)
                        ),
                        _item(
                            "Sync history",
                            "billing_sync:runs",
                            allows(user, Area.CONTRACTS, Level.VIEW),
                        ),
                        _item(
                            "Unmapped usage",
                            "mapping:unmapped",
                            allows(user, Area.BILLING_REVIEW, Level.VIEW),
                            badge=lambda: unmapped_count(company=user.company),
                        ),
                        _item(
                            "Billing review",
                            "review:page",
                            allows(user, Area.BILLING_REVIEW, Level.VIEW),
                            badge=lambda: review_selectors.pending_count(company=user.company),
                        ),
                        _item(
                            "Invoicing", "invoicing:runs", allows(user, Area.INVOICING, Level.VIEW)
                        ),
                    ],
                },
            ],
        },
        {
            "label": "Admin",
            "groups": [
                {
                    "label": "CRM",
                    "items": [
                        _item("Accounts", "crm:list", allows(user, Area.CRM_ACCOUNTS, Level.VIEW)),
                    ],
                },
                {
                    "label": "My Company",
                    "items": [
                        _item(
                            f"{settings.ICB_HUB_NAME} Settings",
                            "mapping:page",
                            allows(user, Area.HUB_SETTINGS, Level.VIEW),
                        ),
                        _item(
                            "Billing review policy",
                            "review:policy",
                            user.is_administrator or allows(user, Area.BILLING_REVIEW, Level.VIEW),
                        ),
                        _item("Billing settings", "invoicing:settings", user.is_administrator),
                    ],
                },
                {
                    "label": "Integrations",
                    "items": [
                        _item(settings.ICB_HUB_NAME, "hub:page", user.is_administrator),
                        _item(
                            "Webhooks", "notify:webhooks", allows(user, Area.SECURITY, Level.VIEW)
                        ),
                    ],
                },
                {
                    "label": "Security",
                    "items": [
                        _item("Roles", "tenancy:roles", allows(user, Area.SECURITY, Level.VIEW)),
                        _item("Users", "tenancy:users", allows(user, Area.SECURITY, Level.VIEW)),
                    ],
                },
            ],
        },
    ]
    menu = []
    for section in sections:
        groups = []
        for group in section["groups"]:
            items = [i for i in group["items"] if i["visible"]]
            if items:
                groups.append({"label": group["label"], "items": items})
        if groups:
            menu.append({"label": section["label"], "groups": groups})
    _mark_current(menu, request.path)
    return {"menu": menu, "hub_name": settings.ICB_HUB_NAME}
