"""Puts the user's company on the request and shows times in the company's time zone."""

from django.utils import timezone


class CompanyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        company = None
        if user is not None and user.is_authenticated and user.company_id:
            company = user.company
        request.company = company
        if company is not None:
            timezone.activate(company.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
