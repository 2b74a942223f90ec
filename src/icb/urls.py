from django.urls import include, path

from icb.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("icb.web.urls")),
    path("", include("icb.tenancy.urls")),
    path("", include("icb.crm.urls")),
    path("", include("icb.contracts.urls")),
    path("", include("icb.hub.urls")),
    path("", include("icb.mapping.urls")),
    path("", include("icb.billing_sync.urls")),
    path("", include("icb.invoicing.urls")),
    path("", include("icb.notify.urls")),
    path("", include("icb.review.urls")),
]

handler400 = "icb.web.views.bad_request"
handler403 = "icb.web.views.forbidden"
handler404 = "icb.web.views.not_found"
handler500 = "icb.web.views.server_error"
