from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from rest_framework.routers import DefaultRouter

from . import api, views

router = DefaultRouter(trailing_slash=True)
router.register("products", api.ProductViewSet, basename="product")
router.register("lots", api.LotViewSet, basename="lot")
router.register("vendors", api.VendorViewSet, basename="vendor")
router.register("labs", api.LabViewSet, basename="lab")
router.register("analytes", api.AnalyteViewSet, basename="analyte")
router.register("standards", api.StandardViewSet, basename="standard")
router.register("certificates", api.CertificateViewSet, basename="certificate")

api_patterns = [
    path("", include(router.urls)),
    path("auth/token", api.TokenView.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularRedocView.as_view(url_name="api:schema"), name="docs"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("products/", views.product_list, name="product_list"),
    path("products/<slug:vendor>/<slug:product>/", views.product_detail, name="product_detail"),
    path("lots/", views.lot_list, name="lot_list"),
    path("vendors/<slug:slug>/", views.vendor_detail, name="vendor_detail"),
    path("labs/", views.lab_list, name="lab_list"),
    path("certificates/<int:pk>/", views.certificate_detail, name="certificate_detail"),
    path("certificates/<int:pk>/file", views.certificate_file, name="certificate_file"),
    path("api/v1/", include((api_patterns, "api"))),
    path("admin/", admin.site.urls),
]
