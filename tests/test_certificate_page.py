"""The certificate page: it says at the top when its results count toward no
verdict (a lab not accredited on the test date, a withdrawal, with the
replacement), holds each result to the default standard's limit as the API
does, answers GET and HEAD only (its report form posts to its own address),
keeps pages only their vendor may see out of shared caches, and costs a fixed
number of queries; and the labs page counts approved and withdrawn
certificates apart."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from registry import caching, review
from registry.models import CertificateBatch, ConsumerReport

from .factories import (
    BatchFactory,
    LabFactory,
    MembershipFactory,
    UserFactory,
    certificate,
    full_panel_results,
)


def long_date(day):
    return date_format(day, "j F Y")


def page_of(client, cert, **kwargs):
    response = client.get(reverse("certificate_detail", args=[cert.pk]), **kwargs)
    assert response.status_code == 200
    return response.content.decode()


def top_of(page):
    """The page above its facts list: what a reader sees first."""
    return page[: page.index('<dl class="facts">')]


# 1. A certificate from a lab not accredited on the test date


def test_a_lab_whose_accreditation_had_lapsed_is_named_with_its_dates(client, db):
    """An approved certificate whose lab's accreditation ended before the
    test date counts toward no verdict; the top of its page says so, with
    the test date and the accreditation's dates."""
    lab = LabFactory(
        name="Lapsed Lab", accredited_from=dt.date(2019, 3, 1), accredited_until=dt.date(2021, 1, 1)
    )
    tested = timezone.localdate() - dt.timedelta(days=30)
    cert = certificate(BatchFactory(), lab=lab, tested_on=tested)
    assert not cert.counts
    top = top_of(page_of(client, cert))
    assert "Its results do not count toward any verdict" in top
    assert "Lapsed Lab was not ISO/IEC 17025 accredited on the test date" in top
    assert long_date(tested) in top
    assert "ran from 1 March 2019 until <strong>1 January 2021</strong>" in top


def test_testing_before_the_accreditation_began_or_with_none_on_record(client, db):
    tested = timezone.localdate() - dt.timedelta(days=30)
    early = LabFactory(
        name="Early Lab",
        accredited_from=tested + dt.timedelta(days=1),
        accredited_until=dt.date(2099, 1, 1),
    )
    none = LabFactory(name="Unaccredited Lab", accredited_from=None, accredited_until=None)
    before = top_of(page_of(client, certificate(BatchFactory(), lab=early, tested_on=tested)))
    assert "Its results do not count toward any verdict" in before
    assert f"began on <strong>{long_date(tested + dt.timedelta(days=1))}</strong>" in before
    unknown = top_of(page_of(client, certificate(BatchFactory(), lab=none, tested_on=tested)))
    assert "the registry has no accreditation on record for it" in unknown


def test_a_pending_upload_from_such_a_lab_is_told_it_will_not_count(client, db):
    member = MembershipFactory()
    lab = LabFactory(name="Lapsed Lab", accredited_until=dt.date(2021, 1, 1))
    batch = BatchFactory(product__vendor=member.vendor)
    pending = certificate(batch, lab=lab, approve=False)
    client.force_login(member.user)
    top = top_of(page_of(client, pending))
    assert "Even if approved, its results will not count toward any verdict" in top


def test_a_counted_certificate_carries_no_such_notice(client, db):
    cert = certificate(BatchFactory())
    assert cert.counts
    page = page_of(client, cert)
    assert "do not count" not in page and "not accredited" not in page
    assert 'class="notice' not in page


# 2. A withdrawn certificate


def withdraw(cert, reason="The lab reissued this report with corrected metal results."):
    return review.withdraw(cert, by=UserFactory(username="reviewer", is_staff=True), reason=reason)


def test_a_withdrawn_certificate_says_when_why_and_what_replaced_it(client, db):
    batch = BatchFactory()
    old = certificate(batch, report_number="R-OLD")
    withdraw(old)
    certificate(batch, report_number="R-PENDING", approve=False)  # not a replacement
    certificate(BatchFactory(), report_number="R-ELSEWHERE")  # another batch: neither
    new = certificate(batch, report_number="R-NEW")
    old.refresh_from_db()
    top = top_of(page_of(client, old))
    withdrawn_on = long_date(timezone.localtime(old.decided_at).date())
    assert f"Withdrawn on {withdrawn_on}" in top
    assert "The lab reissued this report with corrected metal results." in top
    assert "no longer count toward any verdict" in top
    assert f'href="{new.get_absolute_url()}"' in top
    assert "report R-NEW</a>" in top
    assert "R-PENDING" not in top and "R-ELSEWHERE" not in top
    # The reason is said once, in the notice, not again on the state line.
    assert top.count("corrected metal results") == 1


def test_a_withdrawn_certificate_with_no_replacement_yet_says_so(client, db):
    """Only an approved certificate uploaded after the withdrawn one, for
    one of its batches, replaces it: not an earlier one, nor a rejected one."""
    batch = BatchFactory(lot_code="LOT-W1")
    certificate(batch, report_number="R-EARLIER")
    old = certificate(batch, report_number="R-OLD")
    rejected = certificate(batch, report_number="R-REJECTED", approve=False)
    review.reject(
        rejected, by=UserFactory(username="rev", is_staff=True), code="other", reason="No."
    )
    withdraw(old)
    top = top_of(page_of(client, old))
    assert "No approved certificate has replaced it for lot LOT-W1 yet." in top
    assert "R-EARLIER" not in top and "R-REJECTED" not in top


def test_a_replacement_for_any_one_of_its_batches_is_found(client, db):
    first, second = BatchFactory(), BatchFactory()
    old = certificate(first, report_number="R-OLD")
    CertificateBatch.objects.create(certificate=old, batch=second)
    withdraw(old)
    new = certificate(second, report_number="R-NEW")
    assert f'href="{new.get_absolute_url()}"' in top_of(page_of(client, old))


# 3. GET and HEAD only; the report form posts to its own address


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_certificate_page_answers_get_and_head_only(client, db, method):
    cert = certificate(BatchFactory())
    url = reverse("certificate_detail", args=[cert.pk])
    assert getattr(client, method)(url).status_code == 405
    assert client.head(url).status_code == 200
    assert not ConsumerReport.objects.exists()


def test_the_report_form_posts_to_its_own_address_and_keeps_working(client, db):
    cert = certificate(BatchFactory())
    page = page_of(client, cert)
    report_url = reverse("report_problem", args=[cert.pk])
    assert f'action="{report_url}"' in page
    assert client.get(report_url).status_code == 405
    refused = client.post(report_url, {"message": "   "})
    assert refused.status_code == 400
    # The same page, drawn by the same renderer, with the form's error.
    assert "This field is required." in refused.content.decode()
    assert "Results" in refused.content.decode()
    taken = client.post(report_url, {"message": "The lot code is edited."}, follow=True)
    assert taken.redirect_chain == [(reverse("certificate_detail", args=[cert.pk]), 302)]
    assert "Thank you. Registry staff will look into it." in taken.content.decode()
    assert ConsumerReport.objects.get().certificate == cert


def test_too_many_reports_answer_429_on_the_certificate_page(client, db):
    cert = certificate(BatchFactory())
    url = reverse("report_problem", args=[cert.pk])
    for n in range(review.REPORTS_PER_HOUR):
        assert client.post(url, {"message": f"problem {n}"}).status_code == 302
    answer = client.post(url, {"message": "again"})
    assert answer.status_code == 429
    assert "Too many reports" in answer.content.decode()


# 5. Pages only their vendor and staff may see stay out of shared caches


@pytest.mark.parametrize("state", ["pending", "rejected"])
def test_a_page_only_its_vendor_may_see_is_private_and_never_stored(client, db, state):
    member = MembershipFactory()
    cert = certificate(BatchFactory(product__vendor=member.vendor), approve=False)
    if state == "rejected":
        review.reject(
            cert, by=UserFactory(username="rev", is_staff=True), code="other", reason="No."
        )
    url = reverse("certificate_detail", args=[cert.pk])
    assert client.get(url).status_code == 404  # anonymous: not public
    for user in (member.user, UserFactory(username="staff", is_staff=True)):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives
        assert "public" not in directives
        assert not getattr(response, "public_page", False)
        assert "X-Cache" not in response
    # Its report answer (a POST on a page with the form's error) is private too.
    refused = client.post(reverse("report_problem", args=[cert.pk]), {"message": "x"})
    assert refused.status_code == 400
    assert "private" in refused["Cache-Control"]
    assert not caching.looked_up(url)


@pytest.mark.parametrize("state", ["approved", "withdrawn"])
def test_published_pages_keep_their_caching(client, db, state):
    """A published certificate's page is answered as before: no private or
    no-store directive, for anyone."""
    member = MembershipFactory()
    cert = certificate(BatchFactory(product__vendor=member.vendor))
    if state == "withdrawn":
        withdraw(cert)
    url = reverse("certificate_detail", args=[cert.pk])
    assert "Cache-Control" not in client.get(url)
    client.force_login(member.user)
    assert "Cache-Control" not in client.get(url)


# 6. Each result against the default standard's limit, as the API says


ROW = re.compile(
    r'<th scope="row" role="rowheader">([^<]+)</th>.*?data-label="Within limits">(.*?)</td></tr>',
    re.S,
)


def within_cells(page):
    return dict(ROW.findall(page))


def test_each_result_says_whether_it_is_within_limits_as_the_api_does(client, api, db):
    results = full_panel_results(
        lead={"value": "2.4", "unit": "ppm"},  # over the limit
        salmonella={"qualifier": "present", "basis": "25 g"},  # must be absent
        arsenic={"qualifier": "<LOQ", "loq": "50", "unit": "ppm"},  # LOQ above the limit
    )
    cert = certificate(BatchFactory(), results=results)
    cells = within_cells(page_of(client, cert))
    assert "✖</span> over the limit" in cells["Lead"]
    assert "✖</span> fails: must be absent" in cells["Salmonella"]
    assert "?</span> cannot tell" in cells["Arsenic"]
    assert "✔</span> within limits" in cells["Mercury"]
    assert "—</span> no limit" in cells["Mitragynine"]
    # Every answer is the API's, word for word: the rule is written once.
    body = api.get(f"/api/v1/certificates/{cert.pk}/").json()
    names = {r.analyte.code: r.analyte.name for r in cert.results.select_related("analyte")}
    for item in body["results"]:
        cell = cells[names[item["analyte"]]]
        if item["within_limits"] is True:
            assert "within limits" in cell, item
        elif item["within_limits"] is False:
            assert "over the limit" in cell or "must be absent" in cell, item
        else:
            assert "cannot tell" in cell or "no limit" in cell, item
    assert "“Cannot tell”" in page_of(client, cert)


def test_results_of_a_certificate_that_counts_for_nothing_are_still_held_to_limits(client, db):
    lab = LabFactory(name="Lapsed Lab", accredited_until=dt.date(2021, 1, 1))
    cert = certificate(BatchFactory(), lab=lab)
    page = page_of(client, cert)
    assert "this certificate counts toward no verdict" in page
    assert "✔</span> within limits" in within_cells(page)["Lead"]
    assert "“Cannot tell”" not in page  # explained only where it is shown


# The query budget


def count_queries(client, url):
    caching.forget()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def test_the_certificate_page_costs_the_same_whatever_the_history(client, db):
    """Results, batches, events and the batch's other certificates are each
    read in one query, so a certificate with one batch costs what one with
    ten batches, each with other certificates, costs. The default
    standard and its requirements are two more (as the API reads them for
    ``within_limits``); a withdrawn certificate adds the look-up of its
    replacement."""
    small = certificate(BatchFactory())
    small_withdrawn = certificate(BatchFactory())
    withdraw(small_withdrawn)
    product = BatchFactory().product
    big = certificate(BatchFactory(product=product))
    big_withdrawn = certificate(BatchFactory(product=product))
    for _ in range(10):
        batch = BatchFactory(product=product)
        CertificateBatch.objects.create(certificate=big, batch=batch)
        CertificateBatch.objects.create(certificate=big_withdrawn, batch=batch)
        certificate(batch, results=full_panel_results()[:4])
        certificate(batch, approve=False)
    withdraw(big_withdrawn)
    for n in range(5):
        review.report_problem(big, message=f"problem {n}", address=f"198.51.100.{n}")
    counts = {
        kind: tuple(count_queries(client, reverse("certificate_detail", args=[c.pk])) for c in pair)
        for kind, pair in {
            "approved": (small, big),
            "withdrawn": (small_withdrawn, big_withdrawn),
        }.items()
    }
    assert counts == {"approved": (6, 6), "withdrawn": (7, 7)}


# 4. The labs page


def test_the_labs_page_counts_approved_and_withdrawn_apart_and_nothing_else(client, db):
    busy = LabFactory(name="Busy Lab")
    quiet = LabFactory(name="Quiet Lab")
    for _ in range(3):
        certificate(BatchFactory(), lab=busy)
    withdraw(certificate(BatchFactory(), lab=busy))
    certificate(BatchFactory(), lab=busy, approve=False)  # pending
    review.reject(
        certificate(BatchFactory(), lab=busy, approve=False),
        by=UserFactory(username="rev", is_staff=True),
        code="other",
        reason="No.",
    )
    certificate(BatchFactory(), lab=quiet)
    page = client.get(reverse("lab_list")).content.decode()
    rows = dict(
        re.findall(r'rowheader">([^<]+)</th>.*?data-label="Certificates">([^<]*)<', page, re.S)
    )
    assert rows["Busy Lab"] == "3 approved, 1 withdrawn"
    assert rows["Quiet Lab"] == "1 approved"
