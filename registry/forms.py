from decimal import Decimal

from django import forms
from django.conf import settings

from vendors.models import Batch

from .models import Analyte, ConsumerReport, Lab
from .review import REJECT_REASONS


class DateInput(forms.DateInput):
    input_type = "date"


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text="The lab's certificate as PDF, PNG, JPEG or WebP, up to "
        f"{settings.CERTIFICATE_MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
    )
    batches = forms.ModelMultipleChoiceField(
        queryset=Batch.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Every batch (lot) this certificate covers.",
    )
    lab = forms.ModelChoiceField(queryset=Lab.objects.order_by("name"))
    report_number = forms.CharField(max_length=100, label="Lab report number")
    tested_on = forms.DateField(widget=DateInput, label="Tested on")
    sampled_on = forms.DateField(widget=DateInput, required=False)
    issued_on = forms.DateField(widget=DateInput, required=False)

    def __init__(self, *args, vendor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batches"].queryset = (
            Batch.objects.filter(product__vendor=vendor)
            .select_related("product")
            .order_by("product__name", "-created")
        )
        self.fields["batches"].label_from_instance = lambda b: (
            f"{b.product.name} · lot {b.lot_code}"
        )


class RejectForm(forms.Form):
    code = forms.ChoiceField(choices=[("", "Choose a reason")] + list(REJECT_REASONS.items()))
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), label="Explanation to the vendor"
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class ResultRowForm(forms.Form):
    """One result row of the review form, in ``coa/1`` terms."""

    analyte = forms.ModelChoiceField(
        queryset=Analyte.objects.order_by("panel", "position", "name"),
        to_field_name="code",
        required=False,
    )
    value = forms.CharField(required=False, max_length=40)
    unit = forms.CharField(required=False, max_length=16)
    qualifier = forms.ChoiceField(
        required=False,
        choices=[
            ("", "—"),
            ("<", "<"),
            ("ND", "ND"),
            ("<LOQ", "<LOQ"),
            ("absent", "absent"),
            ("present", "present"),
        ],
    )
    loq = forms.CharField(required=False, max_length=40, label="LOQ")
    basis = forms.CharField(required=False, max_length=32)
    confidence = forms.CharField(required=False, widget=forms.HiddenInput)
    snippet = forms.CharField(required=False, widget=forms.HiddenInput)

    def item(self):
        data = self.cleaned_data
        if not data.get("analyte"):
            return None
        item = {"analyte": data["analyte"].code}
        for key in ("value", "unit", "qualifier", "loq", "basis"):
            if data.get(key):
                item[key] = data[key].strip()
        return item


ResultFormSet = forms.formset_factory(ResultRowForm, extra=3, max_num=200)


def rows_from_results(results):
    return [
        {
            "analyte": r.analyte.code,
            "value": "" if r.value is None else format(r.value.normalize(), "f"),
            "unit": r.unit,
            "qualifier": r.qualifier,
            "loq": "" if r.loq is None else format(r.loq.normalize(), "f"),
            "basis": r.basis,
        }
        for r in results
    ]


def rows_from_extracted(extracted):
    rows = []
    for item in (extracted or {}).get("results", []):
        rows.append(
            {
                "analyte": item.get("analyte", ""),
                "value": item.get("value", ""),
                "unit": item.get("unit", ""),
                "qualifier": item.get("qualifier", ""),
                "loq": item.get("loq", ""),
                "basis": item.get("basis", ""),
                "confidence": item.get("confidence", ""),
                "snippet": item.get("snippet", ""),
            }
        )
    return rows


class ReportForm(forms.ModelForm):
    class Meta:
        model = ConsumerReport
        fields = ["message", "email"]
        labels = {
            "message": "What is wrong with this certificate?",
            "email": "Your email (optional)",
        }
        widgets = {"message": forms.Textarea(attrs={"rows": 4})}


class DoseForm(forms.Form):
    grams = forms.DecimalField(
        label="Grams of product",
        min_value=Decimal("0.1"),
        max_value=Decimal("100"),
        decimal_places=2,
        max_digits=6,
    )
