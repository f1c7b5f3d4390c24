"""The public pages: every page renders for every verdict kind, pinned query
counts that do not grow with history, the badge, search, caching."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from registry import caching, review
from registry.models import Certificate, PublishedState

from .factories import BatchFactory, ProductFactory, UserFactory, certificate, full_panel_results


def count_queries(client, url):
    """Queries for ``url`` in a process that has not read the published
    version yet (so the count includes that read)."""
    caching.forget()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured), response


def failing():
    rest = [r for r in full_panel_results() if r["analyte"] != "lead"]
    return [*rest, {"analyte": "lead", "value": "2.4", "unit": "ppm"}]


@pytest.fixture
def every_verdict(db):
    """One product per verdict kind."""
    today = timezone.localdate()
    made = {}
    made["current"] = BatchFactory()
    certificate(made["current"], results=full_panel_results())
    made["stale"] = BatchFactory()
    certificate(
        made["stale"], results=full_panel_results(), tested_on=today - dt.timedelta(days=400)
    )
    made["incomplete"] = BatchFactory()
    certificate(made["incomplete"], results=full_panel_results()[:2])
    made["fails_limits"] = BatchFactory()
    certificate(made["fails_limits"], results=failing())
    made["untested"] = BatchFactory()
    return made


def public_urls(batch):
    product = batch.product
    return [
        "/",
        reverse("product_list"),
        product.get_absolute_url(),
        product.get_absolute_url() + "?grams=3",
        f"{reverse('lot_list')}?code={batch.lot_code}",
        reverse("vendor_detail", args=[product.vendor.slug]),
        reverse("lab_list"),
        reverse("badge", args=[product.vendor.slug, product.slug]),
    ]


def test_every_page_renders_for_every_verdict(client, every_verdict):
    words = {
        "current": "Tested &amp; current",
        "stale": "Out of date",
        "incomplete": "Incomplete testing",
        "fails_limits": "Fails limits",
        "untested": "Untested",
    }
    for kind, batch in every_verdict.items():
        for url in public_urls(batch):
            response = client.get(url)
            assert response.status_code == 200, url
        page = client.get(batch.product.get_absolute_url()).content.decode()
        assert words[kind] in page, kind
        for certificate_ in Certificate.objects.filter(batches=batch):
            assert client.get(certificate_.get_absolute_url()).status_code == 200


def test_query_counts_do_not_grow_with_history(client, db):
    """Each public page costs the same number of queries for a product with
    one certificate as for one with 30 batches and 60 certificates."""
    small = BatchFactory()
    certificate(small, results=full_panel_results())
    before = {url: count_queries(client, url)[0] for url in public_urls(small)}
    big_product = ProductFactory(vendor=small.product.vendor)
    for _ in range(30):
        batch = BatchFactory(product=big_product)
        certificate(batch, results=full_panel_results()[:5])
        certificate(batch, results=full_panel_results()[5:])
    big_batch = big_product.batches.first()
    after = {url: count_queries(client, url)[0] for url in public_urls(big_batch)}
    for (url_small, n_small), (url_big, n_big) in zip(before.items(), after.items(), strict=True):
        assert n_small == n_big, (url_small, n_small, url_big, n_big)
    budget = dict(
        zip(
            ["home", "list", "product", "dose", "lot", "vendor", "labs", "badge"],
            after.values(),
            strict=True,
        )
    )
    assert budget == {
        "home": 6,
        "list": 6,
        "product": 7,
        "dose": 7,
        "lot": 3,
        "vendor": 4,
        "labs": 2,
        "badge": 3,
    }


def test_cached_page_needs_one_query_and_changes_with_the_data(client, db):
    batch = BatchFactory()
    pending = certificate(batch, approve=False, results=full_panel_results())
    url = batch.product.get_absolute_url()
    first = client.get(url)
    assert first["X-Cache"] == "miss"
    assert "Untested" in first.content.decode()
    n, second = count_queries(client, url)
    assert second["X-Cache"] == "hit" and n == 1  # the published version only
    review.approve(pending, by=UserFactory(username="rev", is_staff=True))
    third = client.get(url)
    assert third["X-Cache"] == "miss"
    assert "Tested &amp; current" in third.content.decode()


def test_a_process_trusts_the_version_it_read_for_a_second(
    client, reference_data, monkeypatch, settings
):
    """Within ``PAGE_CACHE_VERSION_SECONDS`` a hit costs no query; a change
    another process commits shows once that time has passed, and a change
    made here shows at once."""
    now = [100.0]
    monkeypatch.setattr(caching, "clock", lambda: now[0])
    settings.PAGE_CACHE_VERSION_SECONDS = 1
    batch = BatchFactory()
    pending = certificate(batch, approve=False, results=full_panel_results())
    url = batch.product.get_absolute_url()
    assert client.get(url)["X-Cache"] == "miss"
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url)["X-Cache"] == "hit"
    assert len(captured) == 0
    # Another process approves: its bump reaches the database, not this
    # process's memory.
    PublishedState.objects.filter(pk=1).update(version=999)
    now[0] += 0.9
    assert client.get(url)["X-Cache"] == "hit"
    now[0] += 0.2
    assert client.get(url)["X-Cache"] == "miss"
    assert client.get(url)["X-Cache"] == "hit"
    # This process approves: the next page is fresh at once.
    review.approve(pending, by=UserFactory(username="rev", is_staff=True))
    page = client.get(url)
    assert page["X-Cache"] == "miss"
    assert "Tested &amp; current" in page.content.decode()


def test_with_no_memo_every_page_reads_the_version(client, reference_data, settings):
    settings.PAGE_CACHE_VERSION_SECONDS = 0
    url = BatchFactory().product.get_absolute_url()
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url)["X-Cache"] == "hit"
    assert len(captured) == 1


@pytest.mark.django_db(transaction=True)
def test_a_version_read_inside_a_transaction_is_not_kept():
    """A transaction sees its own bump before it commits; if it rolls back,
    the process must not go on keying pages by a version nobody published
    (the next real change would publish that number over stale pages)."""
    caching.bump()
    assert caching.version() == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        caching.bump()
        assert caching.version() == 2
        raise RuntimeError("the change fails")
    assert caching.version() == 1


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_while_the_version_is_read_is_not_hidden():
    """The read races a change: its SELECT returns the old version, then the
    change commits and forgets. The read must not store the old version
    after that forget, or pages would stay stale for the whole window."""
    caching.bump()
    raced = []

    def change_commits_after_the_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not raced:
            raced.append(sql)
            caching.bump()
        return result

    with connection.execute_wrapper(change_commits_after_the_read):
        assert caching.version() == 1  # what the racing read saw
    assert raced
    assert caching.version() == 2


@pytest.mark.django_db(transaction=True)
def test_a_version_another_thread_read_before_a_change_committed_is_forgotten():
    """Between a change's bump and its commit another thread still reads the
    published (old) version and keeps it; the commit forgets it."""
    caching.bump()
    seen = []

    def another_request():
        try:
            seen.append(caching.version())
        finally:
            connection.close()

    with transaction.atomic():
        caching.bump()
        reader = threading.Thread(target=another_request)
        reader.start()
        reader.join(30)
        assert seen == [1]
    assert caching.version() == 2


def test_logged_in_users_are_never_served_from_the_cache(client, db):
    batch = BatchFactory()
    client.get(batch.product.get_absolute_url())
    client.force_login(UserFactory(username="someone"))
    assert "X-Cache" not in client.get(batch.product.get_absolute_url())


def test_badge(client, every_verdict):
    product = every_verdict["fails_limits"].product
    response = client.get(reverse("badge", args=[product.vendor.slug, product.slug]))
    assert response["Content-Type"].startswith("image/svg+xml")
    assert "max-age=3600" in response["Cache-Control"]
    assert b"Fails limits" in response.content
    assert client.get("/badge/nobody/nothing.svg").status_code == 404


def test_search_lands_on_lot_barcode_or_list(client, db):
    batch = BatchFactory(lot_code="GMD-0926", product__gtin="0860001000017")
    assert client.get("/search/?q=gmd 0926")["Location"] == "/lots/?code=gmd+0926"
    assert client.get("/search/?q=0860001000017")["Location"] == batch.product.get_absolute_url()
    for typed in ["0 860001 000017", "0-860001-000017", "00860001000017"]:  # as printed, GTIN-14
        assert client.get("/search/", {"q": typed})["Location"] == batch.product.get_absolute_url()
    assert client.get("/search/?q=maeng")["Location"] == "/products/?search=maeng"


def test_list_filters_on_the_page(client, every_verdict):
    page = client.get("/products/?verdict=fails_limits").content.decode()
    assert every_verdict["fails_limits"].product.name in page
    assert every_verdict["current"].product.name not in page
    stale = client.get("/products/?verdict=stale").content.decode()
    assert every_verdict["stale"].product.name in stale
    assert every_verdict["current"].product.name not in stale
    current = client.get("/products/?verdict=current").content.decode()
    assert every_verdict["current"].product.name in current
    assert every_verdict["stale"].product.name not in current
    panel = client.get("/products/?panel=heavy_metals").content.decode()
    assert every_verdict["current"].product.name in panel
    assert every_verdict["stale"].product.name not in panel  # present but out of date
    assert every_verdict["untested"].product.name not in panel


def test_csv_export_uses_the_same_filters(client, every_verdict):
    response = client.get("/api/v1/products/export/?verdict=current")
    body = b"".join(response.streaming_content).decode()
    lines = body.strip().splitlines()
    assert lines[0].startswith("id,vendor,vendor_slug,name")
    assert len(lines) == 2 and every_verdict["current"].product.name in lines[1]


def test_product_page_with_all_zero_alkaloids(client, db):
    product = ProductFactory()
    zero = [
        {"analyte": "mitragynine", "value": "0", "unit": "%"},
        {"analyte": "7-hydroxymitragynine", "value": "0", "unit": "%"},
    ]
    for _ in range(2):
        certificate(BatchFactory(product=product), results=zero)
    assert client.get(product.get_absolute_url()).status_code == 200


def test_alkaloid_chart_names_its_lines_scale_and_lots_in_full(client, db):
    import re

    product = ProductFactory()
    for lot, mitragynine in (("SHARED-0926", "1.52"), ("EXA-2611-01", "1.31")):
        results = [
            {"analyte": "mitragynine", "value": mitragynine, "unit": "%"},
            {"analyte": "7-hydroxymitragynine", "value": "0.02", "unit": "%"},
        ]
        certificate(BatchFactory(product=product, lot_code=lot), results=results)
    page = client.get(product.get_absolute_url()).content.decode()
    chart = re.search(r'<svg class="trend".*?</svg>', page, re.S).group(0)
    words = re.findall(r"<text[^>]*>([^<]*)</text>", chart)
    assert {"Mitragynine", "7-OH", "% w/w", "0", "2"} <= set(words)  # 1.52 × 1.1 rounds up to 2
    assert {"SHARED-0926", "EXA-2611-01"} <= set(words)  # never cut to ten characters


def test_search_finds_products_by_their_and_their_vendors_words(client, db):
    hit = ProductFactory(name="Red Maeng Da Powder", vendor__name="Kona Leaf Co")
    other = ProductFactory(name="Green Bali Capsules", vendor__name="Borneo Botanics")
    for query in ("maeng", "Kona maeng", "leaf red"):
        page = client.get("/products/", {"search": query}).content.decode()
        assert hit.name in page, query
        assert other.name not in page, query
    assert hit.name not in client.get("/products/?search=maeng+borneo").content.decode()
    czech = ProductFactory(name="Žlutý kratom", vendor__name="Pražská bylinná")
    for query in ("prazska bylinna", "PRAŽSKÁ", "zluty"):
        page = client.get("/products/", {"search": query}).content.decode()
        assert czech.name in page, query
        assert hit.name not in page, query
    vendor = hit.vendor
    vendor.name = "Sunrise Kratom"
    vendor.save()  # renaming a vendor renames what its products are found by
    assert hit.name in client.get("/products/?search=sunrise").content.decode()
    assert hit.name not in client.get("/products/?search=kona").content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the GIN index is PostgreSQL's")
def test_search_is_answered_by_the_full_text_index_on_postgresql(db):
    from registry.filters import ProductFilter
    from vendors.models import Product

    ProductFactory(name="Red Maeng Da Powder")
    products = ProductFilter({"search": "maeng"}, queryset=Product.objects.all()).qs
    with connection.cursor() as cursor:
        # A handful of rows would be scanned whatever the indexes; forbid it
        # to see whether the planner can answer from the index at all.
        cursor.execute("SET enable_seqscan = off")
        plan = products.explain()
        cursor.execute("RESET enable_seqscan")
    assert "product_search_text_fts" in plan
    assert [p.name for p in products] == ["Red Maeng Da Powder"]


def test_cached_pages_are_exactly_the_public_pages():
    """The middleware looks up only where ``@public_page`` views live."""
    from django.urls import URLPattern, get_resolver

    from registry import caching

    public = {
        p.name
        for p in get_resolver().url_patterns
        if isinstance(p, URLPattern) and getattr(p.callback, "public_page", False)
    }
    assert public == {
        "home",
        "product_list",
        "product_detail",
        "lot_list",
        "vendor_detail",
        "lab_list",
        "badge",
    }
    samples = {"product_detail": ["v", "p"], "vendor_detail": ["v"], "badge": ["v", "p"]}
    for name in public:
        assert caching.looked_up(reverse(name, args=samples.get(name, []))), name
    for path in ["/livez", "/healthz", "/search/", "/api/v1/products/", "/portal/", "/admin/"]:
        assert not caching.looked_up(path), path
    assert not caching.looked_up(reverse("certificate_detail", args=[1]))


def test_a_cache_hit_answers_with_the_headers_of_the_miss(client, db):
    batch = BatchFactory()
    url = batch.product.get_absolute_url()
    miss = client.get(url)
    hit = client.get(url)
    assert (miss["X-Cache"], hit["X-Cache"]) == ("miss", "hit")
    assert hit.content == miss.content
    for header in ["Content-Type", "Content-Security-Policy", "X-Frame-Options"]:
        assert hit[header] == miss[header], header
    assert not hit.cookies


def test_credentials_and_cookies_bypass_the_cache(client, db):
    batch = BatchFactory()
    url = batch.product.get_absolute_url()
    client.get(url)
    assert client.get(url)["X-Cache"] == "hit"
    assert "X-Cache" not in client.get(url, headers={"Authorization": "Token abc"})
    client.cookies["messages"] = "x"
    assert "X-Cache" not in client.get(url)


def test_a_certificate_from_a_lapsed_lab_is_shown_as_not_counted(client, db):
    """An approved certificate whose lab was not accredited on the test date
    counts for no verdict: the product page says so, and the dose calculator
    takes no figure from it."""
    from .factories import LabFactory

    lapsed = LabFactory(name="Lapsed Lab", accredited_until=dt.date(2021, 1, 1))
    batch = BatchFactory()
    certificate(batch, results=full_panel_results(), lab=lapsed)
    page = client.get(batch.product.get_absolute_url(), {"grams": "3"}).content.decode()
    assert "Untested" in page
    assert "not counted" in page
    assert "contains about" not in page
    assert f"Lot {batch.lot_code}, the lot the verdict above describes, has no counted" in page


def test_a_filter_value_that_cannot_be_read_says_so(client, db):
    page = client.get("/products/", {"tested_after": "yesterday"}).content.decode()
    assert "Enter a valid date." in page


def test_sorting_by_verdict_puts_the_best_first_and_the_failures_last(client, every_verdict):
    from registry.filters import ProductFilter
    from registry.selectors import VERDICT_ORDER, products_with_verdict

    def order(param):
        products = ProductFilter({"ordering": param}, queryset=products_with_verdict()).qs
        return [p.verdict for p in products]

    best_first = order("verdict")
    assert best_first == sorted(best_first, key=VERDICT_ORDER.index)
    assert best_first[0] == "current" and best_first[-1] == "fails_limits"
    assert order("-verdict") == best_first[::-1]
    page = client.get("/products/").content.decode()
    assert "---------" not in page and ">Any</option>" in page


def test_a_new_release_never_serves_the_old_pages(client, db, settings):
    from registry import caching

    batch = BatchFactory()
    url = batch.product.get_absolute_url()
    client.get(url)
    assert client.get(url)["X-Cache"] == "hit"
    settings.RELEASE = "next-release"
    caching.release.cache_clear()
    try:
        assert client.get(url)["X-Cache"] == "miss"
    finally:
        caching.release.cache_clear()


def test_the_lab_and_tested_within_filters_count_approved_certificates_only(client, db):
    """The lab filter and "tested within N days" list the products with a
    batch covered by an approved certificate of that lab or date; a pending
    upload from the same lab, or an old test, does not put a product there."""
    from .factories import LabFactory

    today = timezone.localdate()
    lab, other = LabFactory(name="Alpha Lab"), LabFactory(name="Beta Lab")
    recent, old, pending_only = BatchFactory(), BatchFactory(), BatchFactory()
    certificate(recent, results=full_panel_results(), lab=lab)
    certificate(
        old, results=full_panel_results(), lab=other, tested_on=today - dt.timedelta(days=200)
    )
    certificate(pending_only, results=full_panel_results(), lab=lab, approve=False)

    def listed(params):
        page = client.get("/products/", params).content.decode()
        return {b for b in (recent, old, pending_only) if b.product.get_absolute_url() in page}

    assert listed({"lab": lab.slug}) == {recent}
    assert listed({"lab": other.slug}) == {old}
    assert listed({"tested_within": 30}) == {recent}
    assert listed({"tested_within": 365}) == {recent, old}
    assert listed({"lab": other.slug, "tested_within": 30}) == set()


def test_the_certificate_history_shows_what_was_published_and_the_lots_it_covers(client, db):
    """The product page lists its approved and withdrawn certificates, newest
    first, with the product's lots each covers and a withdrawal's public
    reason; pending and rejected uploads are not there."""
    from registry.models import CertificateBatch

    today = timezone.localdate()
    first = BatchFactory(lot_code="LOT-ONE")
    second = BatchFactory(product=first.product, lot_code="LOT-TWO")
    both = certificate(first, results=full_panel_results(), report_number="R-BOTH", tested_on=today)
    CertificateBatch.objects.create(certificate=both, batch=second)
    old = certificate(
        second,
        results=full_panel_results(),
        report_number="R-OLD",
        tested_on=today - dt.timedelta(days=30),
    )
    review.withdraw(old, by=None, reason="Reissued with corrected units")
    certificate(first, results=full_panel_results(), report_number="R-PENDING", approve=False)
    rejected = certificate(
        second, results=full_panel_results(), report_number="R-REJECTED", approve=False
    )
    review.reject(rejected, by=None, code="illegible", reason="Blurred scan.")

    page = client.get(first.product.get_absolute_url()).content.decode()
    history = page[page.index('id="certs-heading"') :]
    assert "R-PENDING" not in history and "R-REJECTED" not in history
    assert history.index("R-BOTH") < history.index("R-OLD")
    assert "LOT-ONE, LOT-TWO" in history
    assert "Withdrawn: Reissued with corrected units" in history


@pytest.mark.parametrize(
    ("judgement", "result", "limit", "outcome"),
    [
        (
            {
                "qualifier": "ND",
                "limit": "0.5",
                "comparison": "le",
                "unit": "ppm",
                "outcome": "pass",
            },
            "Not detected",
            "≤ 0.5 ppm",
            "✔ pass",
        ),
        (
            {"qualifier": "<LOQ", "measured": "0.050", "limit": "1", "unit": "ppm"}
            | {"comparison": "lt", "outcome": "indeterminate", "note": "LOQ above the limit"},
            "below LOQ (&lt;0.05 ppm)",
            "&lt; 1 ppm",
            "? cannot tell (LOQ above the limit)",
        ),
        (
            {"qualifier": "present", "basis": "qualitative", "outcome": "fail"},
            "<strong>Present</strong>",
            "absent",
            "<strong>✖ fails: must be absent</strong>",
        ),
        (
            {"measured": "1.5200", "unit": "%", "outcome": "reported"},
            "1.52 %",
            "no limit",
            "— reported; no limit set",
        ),
        ({"outcome": "missing", "required": True}, "not tested", "no limit", "✖ missing"),
        ({"outcome": "missing"}, "not tested", "no limit", "— optional, not tested"),
    ],
)
def test_each_result_reads_as_what_was_found_against_what_limit(judgement, result, limit, outcome):
    """The product page's result table: ND, <LOQ and qualitative findings in
    words, numbers as people write them, the limit with its sign, the
    outcome in words (never colour alone)."""
    from registry.templatetags.registry_tags import limit_text, outcome_text, result_text

    assert str(result_text(judgement)) == result
    assert str(limit_text(judgement)) == limit
    assert str(outcome_text(judgement)) == outcome


@pytest.mark.parametrize("ordering", ["verdict", "-verdict", "name", "-created"])
def test_pages_of_a_sorted_list_neither_repeat_nor_skip_a_product(every_verdict, ordering):
    """Many products share a verdict (or a name, or a day): ties fall back
    on the catalogue's order, so page after page lists each product once.
    PostgreSQL returns tied rows in any order without it."""
    from registry.filters import ProductFilter
    from registry.selectors import products_with_verdict
    from vendors.models import Product

    for _ in range(6):
        BatchFactory(product__name="Same Name")
    products = ProductFilter({"ordering": ordering}, queryset=products_with_verdict()).qs
    paged = [p.pk for start in range(0, 12, 3) for p in products[start : start + 3]]
    assert sorted(paged) == sorted(Product.objects.values_list("pk", flat=True))
