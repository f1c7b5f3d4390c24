from django import forms

from .models import Batch, Product


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
    class Meta:
        model = Batch
        fields = ["lot_code", "on_sale", "produced_on"]
        widgets = {"produced_on": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, product, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.product = product
