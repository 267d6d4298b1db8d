"""Cursor pagination: ``{results, next, previous}``. No COUNT(*) over a million rows, and a
page's query count does not grow with the table."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class DefaultCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-created_at", "id")


class PeoplePagination(DefaultCursorPagination):
    """People by username (unique), the order the administrator looks them up in."""

    ordering = ("username", "id")
