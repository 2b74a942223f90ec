"""Use cases of Integrated Customer Billing on a service: turn it on (module + billing
type), stop it, apply the choice of a service form, sync it now. The reads are in
selectors.py."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from icb.common.errors import Conflict, InvalidInput, NotFound, ServiceError
from icb.contracts import services as contract_services
from icb.contracts.models import BillingMode, Service, SyncStatus
from icb.hub import services as hub_services
from icb.hub.models import BillingType, Module
from icb.hub.timelimit import time_limit
from icb.tenancy.models import Company, User

from .compute import KEPT_TRY_AGAIN
from .dispatch import claim_for_manual_sync
from .groups import fail_batch, sync_group
from .held_events import record_withdrawn
from .models import HeldChange, HeldStatus, PreviewStatus, SyncPreview
from .preview import PreviewRow, preview_services
from .scheduling import next_midnight

log = logging.getLogger(__name__)

NOT_MAPPED_MESSAGE = (
    "Module organization is not mapped to an account. Please complete ITC Mapping found in "
    "CRM Account, in order to utilize automated ITC billing."
)


def _code(value, *, field: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"Choose a {what}.", field=field)
    return value.strip()[:64]


def resolve_icb_choice(*, company: Company, module, billing_type) -> tuple[Module, BillingType]:
    """The module and billing type named by their codes, or a 422 naming the field."""
    module_code = _code(module, field="module", what="module")
    type_code = _code(billing_type, field="billing_type", what="billing type")
    found = Module.objects.filter(
        company=company, code=module_code, removed_at__isnull=True
    ).first()
    if found is None:
        raise InvalidInput(f"Unknown module “{module_code}”.", field="module")
    kind = BillingType.objects.filter(module=found, code=type_code, removed_at__isnull=True).first()
    if kind is None:
        raise InvalidInput(
            f"Unknown billing type “{type_code}” for the module {found.name}.", field="billing_type"
        )
    return found, kind


def enable_icb(*, service: Service, actor, module, billing_type) -> Service:
    """Bill the service by ICB from (module, billing type). Allowed without a mapping
    (the service then shows "Mapping Settings Incomplete"). Its status is "never" until
    its first sync: the pages and the API run it at once (sync_first), else the next
    nightly one. Changing the module or billing type drops any claim in flight, so a
    sync started with the old choice writes nothing."""
    if not hub_services.is_connected(service.company):
        raise Conflict(f"{hub_services.hub_name()} is not connected; set it up first.")
    found, kind = resolve_icb_choice(
        company=service.company, module=module, billing_type=billing_type
    )
    with transaction.atomic():
        locked = contract_services.lock_service(service)
        same = (
            locked.is_icb
            and locked.icb_module_id == found.pk
            and locked.icb_billing_type_id == kind.pk
        )
        if not same:
            locked.billing_mode = BillingMode.ICB
            locked.icb_module, locked.icb_billing_type = found, kind
            locked.icb_status, locked.icb_message = SyncStatus.NEVER, ""
            locked.last_sync_at = None
            locked.next_sync_at = next_midnight(timezone.now(), service.company.zone)
            locked.sync_claim_token, locked.sync_claimed_until = "", None
            locked.sync_retry_count = 0
            locked.save()
    return _reloaded(service)


def stop_icb(*, service: Service, actor) -> Service:
    """End ICB: the units stay as last synced and are edited by hand again."""
    with transaction.atomic():
        locked = contract_services.lock_service(service)
        locked.billing_mode = BillingMode.MANUAL
        locked.icb_module = locked.icb_billing_type = None
        locked.icb_status, locked.icb_message = SyncStatus.NEVER, ""
        locked.last_sync_at = locked.next_sync_at = None
        locked.sync_claim_token, locked.sync_claimed_until = "", None
        locked.sync_retry_count = 0
        locked.save()
        # Its pending held change no longer has a sync behind it.
        pending = list(
            HeldChange.objects.filter(service=locked, status=HeldStatus.PENDING).values_list(
                "pk", flat=True
            )
        )
        HeldChange.objects.filter(pk__in=pending).update(
            status=HeldStatus.WITHDRAWN,
            decided_at=timezone.now(),
            decided_by=contract_services.actor_user(actor),
            note="Integrated Customer Billing was stopped on the service.",
        )
        record_withdrawn(locked.company_id, pending)
    return _reloaded(service)


class IcbChoiceRefused(ServiceError):
    """The Integrated Customer Billing choice of a service form was refused; its message
    belongs on the form's ICB tab (the rest of the form was fine)."""

    def __init__(self, refused: ServiceError):
        super().__init__(refused.message)
        self.status = refused.status
        self.errors = refused.errors


def apply_icb_choice(*, service: Service, actor, module: str | None, billing_type: str) -> Service:
    """What the ICB tab of a service form asks: a module code turns ICB on (or changes
    it), an empty module ("None (billed manually)") stops it, None (the tab was not
    posted) leaves it. Called inside the form's transaction: a refusal raises
    IcbChoiceRefused, and the caller's save is undone with it."""
    try:
        if module:
            return enable_icb(
                service=service, actor=actor, module=module, billing_type=billing_type
            )
        if module is not None and service.is_icb:
            return stop_icb(service=service, actor=actor)
    except ServiceError as exc:
        raise IcbChoiceRefused(exc) from exc
    return service


def sync_now(*, service: Service, actor: User | None) -> Service:
    """A manual sync, run here and now; answers the service with its new state. It runs
    in a web request, so every hub request and wait fits in ICB_MANUAL_SYNC_SECONDS
    (the hub client gives up when they are spent), and every way it ends is written:
    units or an error with the units kept, the claim released, the run finished."""
    if not service.is_icb:
        raise Conflict(
            "This service is billed manually; turn on Integrated Customer Billing first."
        )
    task = claim_for_manual_sync(service, user=contract_services.actor_user(actor))
    try:
        with time_limit(settings.ICB_MANUAL_SYNC_SECONDS):
            sync_group(task.run_id, task.batches)
    except Exception:
        log.exception("Manual sync of service %s (run %s) failed", service.pk, task.run_id)
        for batch in task.batches:
            fail_batch(
                task.run_id, batch, f"An unexpected error stopped the sync; {KEPT_TRY_AGAIN}"
            )
    return _reloaded(service)


def sync_first(*, service: Service, actor: User | None) -> Service | None:
    """The first sync of a service whose Integrated Customer Billing was just turned on
    or changed (status "never": not synced since), at once: the same code as Sync now,
    bounded alike. Answers the service after it, or None when there is nothing to sync
    first (billed manually, or synced since)."""
    if not service.is_icb or service.icb_status != SyncStatus.NEVER:
        return None
    return sync_now(service=service, actor=actor)


def enable_icb_and_sync(*, service: Service, actor, module, billing_type) -> Service:
    """Turn ICB on (or change its module or billing type) and, when that changed
    anything, sync the service at once; answers it with the sync's result."""
    service = enable_icb(service=service, actor=actor, module=module, billing_type=billing_type)
    return sync_first(service=service, actor=actor) or service


# A company's finished previews older than this are deleted when it starts another.
PREVIEW_KEPT = timedelta(days=1)


def _require_connected(company: Company) -> None:
    if not hub_services.is_connected(company):
        raise Conflict(
            f"{hub_services.hub_name()} is not connected; set it up first.",
            code="hub_not_connected",
        )


def preview_now(*, company: Company, services) -> list[PreviewRow]:
    """What a sync would change now for the company's ICB services among `services` (a
    service's or an account's), written nowhere. Bounded like Sync now: it runs while a
    person waits. A hub that is not connected is a 409; a hub read that fails is each
    service's `failed` row with the reason."""
    _require_connected(company)
    with time_limit(settings.ICB_MANUAL_SYNC_SECONDS):
        return preview_services(company, services)


def start_company_preview(*, company: Company, actor: User | None) -> SyncPreview:
    """A company-wide preview, to run in the background (run_company_preview); the
    company's previews older than PREVIEW_KEPT are deleted."""
    _require_connected(company)
    now = timezone.now()
    SyncPreview.objects.for_company(company).filter(created_at__lt=now - PREVIEW_KEPT).delete()
    total = Service.objects.for_company(company).filter(billing_mode=BillingMode.ICB).count()
    return SyncPreview.objects.create(
        company=company,
        requested_by=contract_services.actor_user(actor),
        services_total=total,
        created_at=now,
    )


def run_company_preview(preview_id: int) -> None:
    """The background work of a company-wide preview: every ICB service, its progress
    stored after each batch, then the rows, largest monthly impact first. Only the
    preview's own row is written."""
    preview = SyncPreview.objects.filter(pk=preview_id).select_related("company").first()
    if preview is None or preview.status != PreviewStatus.RUNNING:
        return

    def progress(done: int, total: int) -> None:
        SyncPreview.objects.filter(pk=preview_id).update(
            services_done=done, services_total=total, updated_at=timezone.now()
        )

    try:
        rows = preview_services(
            preview.company, Service.objects.for_company(preview.company), progress
        )
    except Exception:
        log.exception("Sync preview %s of company %s failed", preview_id, preview.company_id)
        SyncPreview.objects.filter(pk=preview_id).update(
            status=PreviewStatus.FAILED,
            error="The preview stopped on an unexpected error; try again.",
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        return
    rows.sort(key=lambda row: (-abs(row.monthly_impact), row.service_id))
    SyncPreview.objects.filter(pk=preview_id).update(
        status=PreviewStatus.DONE,
        rows=[row.as_json() for row in rows],
        services_done=len(rows),
        services_total=len(rows),
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def _reloaded(service: Service) -> Service:
    fresh = (
        Service.objects.select_related("contract__account", "icb_module", "icb_billing_type")
        .filter(pk=service.pk)
        .first()
    )
    if fresh is None:
        raise NotFound(contract_services.GONE_MESSAGE)
    return fresh
