from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from vendors import views as vendor_views

from . import api, portal, review_views, views

router = DefaultRouter(trailing_slash=True)
# One URL per resource: no ".json" / ".api" suffixed twins (API.md names
# none; content negotiation picks the format).
router.include_format_suffixes = False
router.register("products", api.ProductViewSet, basename="product")
router.register("lots", api.LotViewSet, basename="lot")
router.register("vendors", api.VendorViewSet, basename="vendor")
router.register("labs", api.LabViewSet, basename="lab")
router.register("analytes", api.AnalyteViewSet, basename="analyte")
router.register("standards", api.StandardViewSet, basename="standard")
router.register("certificates", api.CertificateViewSet, basename="certificate")

# API.md writes the decisions without a trailing slash; the router's
# slashed forms work too.
decisions = [
    path(
        f"certificates/<int:pk>/{name}",
        api.CertificateViewSet.as_view({"post": name}),
        name=f"certificate-{name}-exact",
    )
    for name in ("approve", "reject", "withdraw")
]

api_patterns = [
    *decisions,
    path("", include(router.urls)),
    path("auth/token", api.TokenView.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema", template_name="registry/api/docs.html"
        ),
        name="docs",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path("search/", views.search, name="search"),
    path("products/", views.product_list, name="product_list"),
    path("products/<slug:vendor>/<slug:product>/", views.product_detail, name="product_detail"),
    path("lots/", views.lot_list, name="lot_list"),
    path("vendors/<slug:slug>/", views.vendor_detail, name="vendor_detail"),
    path("labs/", views.lab_list, name="lab_list"),
    path("badge/<slug:vendor>/<slug:product>.svg", views.badge, name="badge"),
    path("certificates/<int:pk>/", views.certificate_detail, name="certificate_detail"),
    path("certificates/<int:pk>/file", views.certificate_file, name="certificate_file"),
    path("certificates/<int:pk>/preview", views.certificate_preview, name="certificate_preview"),
    path("certificates/<int:pk>/report", views.report_problem, name="report_problem"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("portal/", portal.home, name="portal"),
    path("portal/upload/", portal.upload, name="portal_upload"),
    path("portal/token/", portal.token, name="portal_token"),
    path("portal/products/<int:pk>/", vendor_views.product_edit, name="portal_product"),
    path("portal/products/<int:pk>/batches/", vendor_views.batch_create, name="portal_batch_new"),
    path("portal/batches/<int:pk>/", vendor_views.batch_edit, name="portal_batch"),
    path("review/", review_views.queue, name="review_queue"),
    path("review/reports/", review_views.reports, name="review_reports"),
    path("review/reports/<int:pk>/", review_views.handle_report, name="review_report_handle"),
    path("review/<int:pk>/", review_views.detail, name="review_detail"),
    path("review/<int:pk>/claim", review_views.claim, name="review_claim"),
    path("review/<int:pk>/release", review_views.release, name="review_release"),
    path("review/<int:pk>/approve", review_views.approve, name="review_approve"),
    path("review/<int:pk>/reject", review_views.reject, name="review_reject"),
    path("review/<int:pk>/changes", review_views.request_changes, name="review_changes"),
    path("review/<int:pk>/withdraw", review_views.withdraw, name="review_withdraw"),
    path("api/v1/", include((api_patterns, "api"))),
    path("admin/", admin.site.urls),
]
