"""Pagination, the same way on every list: `page`, `page_size`, `Link` and `X-Total-Count`
(docs/operations.md, "Errors and headers").

Lists are short by nature: read whole and cut here, so each service keeps one way of reading them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response

from app.schemas import MAX_PAGE

T = TypeVar("T")

DEFAULT_SIZE = 100
MAX_SIZE = 500


class Paging:
    """The page a request asks for, and the headers that tell the client where the others are."""

    def __init__(self, request: Request, response: Response, page: int, page_size: int) -> None:
        self.request = request
        self.response = response
        self.page = page
        self.page_size = page_size

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def window(self, items: Sequence[T]) -> list[T]:
        """This page of a whole list (and the headers for it)."""
        self.announce(len(items))
        return list(items[self.offset:self.offset + self.page_size])

    def announce(self, total: int) -> None:
        """`X-Total-Count` and `Link` for a list of `total` items."""
        last = max(1, math.ceil(total / self.page_size))
        links = {"first": 1, "last": last}
        if self.page > 1:
            links["prev"] = min(self.page - 1, last)
        if self.page < last:
            links["next"] = self.page + 1
        url = self.request.url
        self.response.headers["X-Total-Count"] = str(total)
        self.response.headers["Link"] = ", ".join(
            f'<{url.include_query_params(page=number, page_size=self.page_size)}>; rel="{rel}"'
            for rel, number in links.items()
        )


def paged(default_size: int = DEFAULT_SIZE, max_size: int = MAX_SIZE) -> Any:
    """The dependency for a paged list (its `page` and `page_size` query parameters)."""

    def paging(
        request: Request,
        response: Response,
        # Defaults, not Annotated[...]: the sizes are this closure's, which string annotations cannot see.
        page: int = Query(1, ge=1, le=MAX_PAGE, description="The page, from 1; a page past the end is empty."),
        page_size: int = Query(default_size, ge=1, le=max_size, description="Items per page."),
    ) -> Paging:
        return Paging(request, response, page, page_size)

    setattr(paging, PAGED_MARK, True)  # noqa: B010 - read by app.api.openapi
    return Depends(paging)


PAGED_MARK = "__safeshare_paged__"
Paged = Annotated[Paging, paged()]
"""A list of up to 500 a page, 100 by default."""


def is_paged(call: Callable[..., Any]) -> bool:
    return bool(getattr(call, PAGED_MARK, False))
