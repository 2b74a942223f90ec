"""The filters of a list, declared once per list (a pydantic model in the app's
filters.py) and parsed the same way by its page and its API query.

The API takes the declaration as its query (`filters: Query[AccountFilter]`): a bad value
is a 422 naming the field. A page parses `request.GET` with `from_query`: a bad value is
left out of the filter and its message shown next to the field, so a page never matches
nothing in silence and never fails."""

from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError


class ListFilter(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def from_query(cls, query) -> tuple[Self, dict[str, list[str]]]:
        """The filter of a page's query string (a QueryDict or a dict; empty values mean
        "no filter"), and the messages of the values it refused, by field."""
        data = {name: query.get(name) for name in cls.model_fields if query.get(name)}
        try:
            return cls.model_validate(data), {}
        except ValidationError as exc:
            errors: dict[str, list[str]] = {}
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else "__all__"
                errors.setdefault(field, []).append(error["msg"])
            valid = {name: value for name, value in data.items() if name not in errors}
            return cls.model_validate(valid), errors

    def selector_kwargs(self) -> dict:
        """The declared filters as keyword arguments of the list's selector."""
        return self.model_dump()
