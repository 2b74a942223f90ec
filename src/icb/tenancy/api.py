from ninja import Router, Schema

from .models import Area
from .permissions import level_of

router = Router(tags=["me"])


class MeOut(Schema):
    email: str
    full_name: str
    company: str
    time_zone: str
    role: str | None
    administrator: bool
    permissions: dict[str, str]


@router.get("/me", response=MeOut)
def me(request):
    """Who the caller is and what their role allows, per area."""
    user = request.user
    return {
        "email": user.email,
        "full_name": user.full_name,
        "company": user.company.name,
        "time_zone": user.company.time_zone,
        "role": user.role.name if user.role else None,
        "administrator": user.is_administrator,
        "permissions": {a.value: level_of(user, a) for a in Area},
    }
