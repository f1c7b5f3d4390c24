"""The API's page numbers: DRF's, with errors that name the field (API.md:
"4xx with a JSON body naming the field and the reason")."""

from rest_framework import exceptions, pagination


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
