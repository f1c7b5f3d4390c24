"""Page numbers. The API's are DRF's, with errors that name the field
(API.md: "4xx with a JSON body naming the field and the reason"); the pages'
are Django's, forgiving (a bad number shows the first page, one past the end
the last) but reading ``page=last`` as the API does."""

from django.core.paginator import Paginator
from rest_framework import exceptions, pagination

PER_PAGE = 50


def page_of(items, request, per_page=PER_PAGE):
    """The page of ``items`` that ``?page=`` asks for, for an HTML page."""
    paginator = Paginator(items, per_page)
    number = request.GET.get("page")
    return paginator.get_page(paginator.num_pages if number == "last" else number)


class PageNumbers(pagination.PageNumberPagination):
    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except exceptions.NotFound:
            name = self.page_query_param
            given = request.query_params.get(name, "")
            if not (given.isascii() and given.isdigit() and int(given) >= 1):
                raise exceptions.ValidationError(
                    {name: ["Give a whole page number from 1, or 'last'."]}
                ) from None
            # Past the end (a count query, on this error path only).
            last = self.django_paginator_class(queryset, self.get_page_size(request)).num_pages
            raise exceptions.NotFound(
                {name: [f"There is no page {given}: the last is {last}."]}
            ) from None
