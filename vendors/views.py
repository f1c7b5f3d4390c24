"""The vendor portal's catalogue pages: a member edits only their own
vendor's products and batches. Other vendors' objects are 404, not 403, so
nothing about them is revealed."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from . import services
from .forms import BatchForm, ProductForm
from .models import Batch, Product


def own_product(user, pk):
    return get_object_or_404(Product.objects.of_member(user).select_related("vendor"), pk=pk)


def own_batch(user, pk):
    return get_object_or_404(
        Batch.objects.filter(product__vendor__members=user).select_related("product__vendor"), pk=pk
    )


@never_cache
@login_required
def product_edit(request, pk):
    product = own_product(request.user, pk)
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            services.product_changed(product)
        messages.success(request, f"Saved {product.name}.")
        return redirect("portal_product", pk=product.pk)
    batches = product.batches.order_by("-on_sale", "-created")
    return render(
        request,
        "vendors/product_edit.html",
        {
            "product": product,
            "form": form,
            "batches": batches,
            "batch_form": BatchForm(product=product),
        },
    )


@never_cache
@login_required
def batch_create(request, pk):
    product = own_product(request.user, pk)
    form = BatchForm(request.POST or None, product=product)
    if request.method == "POST" and form.is_valid():
        batch = services.create_batch(
            product,
            lot_code=form.cleaned_data["lot_code"],
            on_sale=form.cleaned_data["on_sale"],
            produced_on=form.cleaned_data["produced_on"],
        )
        messages.success(request, f"Added lot {batch.lot_code}.")
        return redirect("portal_product", pk=product.pk)
    return render(request, "vendors/batch_edit.html", {"product": product, "form": form})


@never_cache
@login_required
def batch_edit(request, pk):
    batch = own_batch(request.user, pk)
    form = BatchForm(request.POST or None, instance=batch, product=batch.product)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            batch = form.save()
            services.product_changed(batch.product)
        messages.success(request, f"Saved lot {batch.lot_code}.")
        return redirect("portal_product", pk=batch.product_id)
    return render(
        request, "vendors/batch_edit.html", {"product": batch.product, "form": form, "batch": batch}
    )
