from django import forms

from .models import Batch, Product, lot_code_problem, normalize_lot


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = [
            "name",
            "form",
            "serving_size_g",
            "max_servings_per_day",
            "label_mitragynine_mg",
            "gtin",
        ]


class BatchForm(forms.ModelForm):
    """A new batch. The lot code is fixed once the batch exists: certificates
    name lots, so a different code is a different batch."""

    class Meta:
        model = Batch
        fields = ["lot_code", "on_sale", "produced_on"]
        widgets = {"produced_on": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, product, **kwargs):
        super().__init__(*args, **kwargs)
        self.product = product
        self.instance.product = product
        if self.instance.pk:
            del self.fields["lot_code"]

    def clean_lot_code(self):
        code = self.cleaned_data["lot_code"].strip()
        if problem := lot_code_problem(code):
            raise forms.ValidationError(problem)
        key = normalize_lot(code)
        if Batch.objects.filter(product=self.product, lot_key=key).exists():
            raise forms.ValidationError(f"This product already has lot {code}.")
        return code
