"""The one place that decides what a user may see and do. Pages, the API and the menu
all ask here."""

from functools import wraps

from django.core.exceptions import PermissionDenied

from .models import LEVEL_RANK, Area, Level, Role


def level_of(user, area: Area | str) -> str:
    if not user.is_authenticated or not user.is_active or user.company_id is None:
        return Level.NONE
    if user.role is None:
        return Level.NONE
    return user.role.level(area)


def allows(user, area: Area | str, level: Level | str) -> bool:
    return LEVEL_RANK[Level(level_of(user, area))] >= LEVEL_RANK[Level(level)]


def require(user, area: Area | str, level: Level | str) -> None:
    if not allows(user, area, level):
        raise PermissionDenied(f"Your role does not allow this ({Area(area).label}).")


def require_administrator(user) -> None:
    if not (user.is_authenticated and user.company_id and user.is_administrator):
        raise PermissionDenied("Only administrators may do this.")


def held_role(user) -> Role | None:
    """The role `user` holds as stored, not an in-memory object that may be the one
    being edited."""
    if not (user.is_authenticated and user.is_active and user.company_id and user.role_id):
        return None
    return Role.objects.filter(pk=user.role_id, company_id=user.company_id).first()


def areas_above(role: Role, user) -> list[Area]:
    """The areas where `role` gives more than `user` has (every area, for the
    Administrator role, to anyone who is not an administrator)."""
    held = held_role(user)
    if held is not None and held.is_administrator:
        return []
    if role.is_administrator:
        return list(Area)

    def rank(r, area):
        return LEVEL_RANK[Level(r.level(area))] if r is not None else 0

    return [a for a in Area if rank(role, a) > rank(held, a)]


def may_grant(user, role: Role) -> bool:
    """Only administrators may grant the Administrator role or a role with more access
    than their own in any area; so nobody can raise their own access either."""
    return not areas_above(role, user)


def require_may_grant(user, role: Role) -> None:
    """Granting `role` (to a user, or by giving a role these levels)."""
    if may_grant(user, role):
        return
    if role.is_administrator:
        raise PermissionDenied("Only administrators may grant the Administrator role.")
    raise PermissionDenied("You cannot grant a role with more access than your own.")


def require_may_change(user, role: Role, what: str) -> None:
    """Changing a user who holds `role`, or `role` itself: not when it has more access
    than `user` (a non-administrator cannot demote or lock out those above them)."""
    if not may_grant(user, role):
        raise PermissionDenied(f"You cannot change a {what} with more access than your own.")


SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def area_required(area: Area):
    """Page decorator: reading needs "view", any other method needs "modify"."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            needed = Level.VIEW if request.method in SAFE_METHODS else Level.MODIFY
            require(request.user, area, needed)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def administrator_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        require_administrator(request.user)
        return view(request, *args, **kwargs)

    return wrapped
