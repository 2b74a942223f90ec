"""The one place that decides what a user may see and do. Pages, the API and the menu
all ask here."""

from functools import wraps

from django.core.exceptions import PermissionDenied

from .models import LEVEL_RANK, Area, Level


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
