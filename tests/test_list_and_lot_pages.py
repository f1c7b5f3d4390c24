"""The product list and the lot page when the visitor's input is wrong or finds
nothing: a filter that cannot be read lists nothing and says why; an empty
search or an unknown lot says what to try; a lot code typed on a phone's
fullwidth keyboard or pasted with invisible characters finds its batch, on
the pages and in the API alike."""

import importlib

import pytest
from django.apps import apps as django_apps

from vendors.models import Batch, clean_lot_code, looks_like_lot, normalize_lot

from .factories import BatchFactory, ProductFactory, VendorFactory


@pytest.mark.parametrize(
    "params, field",
    [
        ({"verdict": "bogus"}, "Verdict"),
        ({"tested_after": "yesterday"}, "Tested on or after"),
        ({"tested_within": "0"}, "Tested within (days)"),
    ],
)
def test_a_filter_that_cannot_be_read_lists_nothing_and_names_the_filter(client, db, params, field):
    product = ProductFactory(name="Red Bali Powder")
    response = client.get("/products/", params)
    page = response.content.decode()
    assert response.status_code == 400  # as the API answers the same parameters
    assert "1 filter could not be used" in page
    assert f">{field}</a>:" in page  # the summary links to the field
    assert "No products are listed until they are fixed." in page
    assert product.name not in page
    assert "Download these products as CSV" not in page
    # The panel holding the wrong field is open, so the error is in view.
    assert '<details class="filter-panel" open>' in page


def test_a_page_of_errors_is_not_kept_in_the_page_cache(client, db):
    ProductFactory(name="Red Bali Powder")
    assert client.get("/products/", {"verdict": "bogus"}).status_code == 400
    assert client.get("/products/", {"verdict": "bogus"}).status_code == 400
    assert "Red Bali Powder" in client.get("/products/").content.decode()


def test_filters_in_use_are_named_on_the_folded_panel(client, db):
    ProductFactory(form="capsule")
    page = client.get("/products/", {"form": "capsule", "search": "maeng"}).content.decode()
    # Folded (products first on a phone), but its summary says what is set.
    assert '<details class="filter-panel">' in page
    assert "(1 in use: Form)" in page
    assert 'type="date"' in page  # "tested on or after" is a date picker


def test_a_search_that_finds_nothing_says_what_to_try(client, db):
    ProductFactory(name="Red Bali Powder")
    page = client.get("/products/", {"search": "purple unicorn"}).content.decode()
    assert "Nothing matches “purple unicorn”" in page
    assert "Try fewer words" in page
    assert "If “purple unicorn” is a lot code" not in page


def test_a_search_that_reads_as_a_lot_code_offers_the_lot_look_up(client, db):
    BatchFactory(lot_code="GMD-0926")
    page = client.get("/products/", {"search": "GMD-09"}).content.decode()
    assert "If “GMD-09” is a lot code, no registered batch has it." in page
    assert 'href="/lots/?code=GMD-09"' in page


def test_part_of_a_vendors_name_leads_to_that_vendor(client, db):
    vendor = VendorFactory(name="Golden Leaf Trading")
    ProductFactory(vendor=vendor, name="Gold Reserve Extract")
    response = client.get("/products/", {"vendor": "golden leaf", "form": "powder"})
    assert response.status_code == 302
    assert response["Location"] == "/products/?vendor=Golden+Leaf+Trading&form=powder"
    assert "Gold Reserve Extract" in client.get(response["Location"]).content.decode()


def test_part_of_several_vendors_names_offers_a_choice(client, db):
    VendorFactory(name="Golden Leaf Trading")
    VendorFactory(name="Golden Hour Botanicals")
    page = client.get("/products/", {"vendor": "golden"}).content.decode()
    assert "These vendors' names contain “golden”" in page
    assert "?vendor=Golden+Hour+Botanicals" in page
    assert "?vendor=Golden+Leaf+Trading" in page


def test_a_vendor_no_name_contains_offers_to_drop_the_filter(client, db):
    page = client.get("/products/", {"vendor": "nobody", "form": "powder"}).content.decode()
    assert "No vendor's name contains “nobody”." in page
    assert 'href="?form=powder">Drop the vendor filter' in page


def test_an_unknown_lot_says_what_to_try_and_the_list_keeps_its_layout(client, db):
    BatchFactory(lot_code="GMD-0926")
    page = client.get("/lots/", {"code": "GMD-0929"}).content.decode()
    assert "No batch with lot code “GMD-0929” is registered" in page
    assert "O and 0, I and 1 are easy to confuse" in page
    assert "<table" not in page


@pytest.mark.parametrize(
    "typed",
    [
        "ＧＭＤ－０９２６",  # a phone's fullwidth keyboard
        "GMD-09\u200b26",  # a zero-width space from a copied web page
        "GMD-0926\x00",  # a NUL
        "  gmd   0926 ",
    ],
)
def test_a_lot_code_typed_any_way_finds_its_batch_on_the_page_and_in_the_api(client, db, typed):
    batch = BatchFactory(lot_code="GMD-0926")
    page = client.get("/lots/", {"code": typed}).content.decode()
    assert "1 batch with lot" in page
    assert batch.product.name in page
    api = client.get("/api/v1/lots/", {"code": typed}).json()
    assert [row["lot"] for row in api["results"]] == ["GMD-0926"]


def test_lot_codes_are_cleaned_and_keyed_in_one_place():
    assert clean_lot_code("ＥＸＡ－２６１２\u202e") == "EXA-2612"
    assert normalize_lot("ＥＸＡ－２６１２") == normalize_lot("exa 2612") == "EXA2612"
    assert looks_like_lot("EXA 2612")
    assert not looks_like_lot("red bali powder")
    assert not looks_like_lot("kratom")


def test_the_migration_rekeys_stored_codes_and_keeps_a_twin_for_staff(db):
    migration = importlib.import_module("vendors.migrations.0007_lot_key_compatibility_forms")
    product = ProductFactory()
    plain = BatchFactory(product=product, lot_code="AB1")
    fullwidth = BatchFactory(product=product)
    other = BatchFactory()
    # As stored before this release: the old key kept the fullwidth letters.
    Batch.objects.filter(pk=fullwidth.pk).update(lot_code="ＡＢ１", lot_key="ＡＢ１")
    Batch.objects.filter(pk=other.pk).update(lot_code="ＣＤ２", lot_key="ＣＤ２")
    long = BatchFactory()
    Batch.objects.filter(pk=long.pk).update(lot_code="ﷺ" * 5, lot_key="OLD")
    migration.rekey(django_apps, None)
    keys = dict(Batch.objects.values_list("pk", "lot_key"))
    assert keys[other.pk] == "CD2"
    assert keys[plain.pk] == "AB1"
    assert keys[fullwidth.pk] == "ＡＢ１"  # its twin holds AB1: left for staff
    assert keys[long.pk] == "OLD"  # 75 letters folded: longer than the column


def test_page_last_is_the_last_page_as_in_the_api(client, db):
    ProductFactory.create_batch(51)
    page = client.get("/products/", {"page": "last"}).content.decode()
    assert "Page 2 of 2" in page
    assert client.get("/api/v1/products/", {"page": "last"}).json()["next"] is None
    # The pages stay forgiving where the API answers 400 or 404.
    assert "Page 1 of 2" in client.get("/products/", {"page": "first"}).content.decode()
    assert "Page 2 of 2" in client.get("/products/", {"page": "9"}).content.decode()


def test_a_vendor_name_stored_with_spaces_is_reached_once_not_in_a_loop(client, db):
    vendor = VendorFactory(name=" Loopy  Vendor ", slug="loopy-vendor")
    ProductFactory(vendor=vendor, name="Loop Powder")
    response = client.get("/products/", {"vendor": "loopy"})
    assert response["Location"] == "/products/?vendor=loopy-vendor"
    assert "Loop Powder" in client.get(response["Location"]).content.decode()


def test_an_empty_lot_code_after_cleaning_is_required_in_the_api(client, db):
    for code in ["\x00", "\u200b", " ", "\u202e"]:
        response = client.get("/api/v1/lots/", {"code": code})
        assert response.status_code == 400, code
        assert response.json() == {"code": ["A lot code is required."]}
