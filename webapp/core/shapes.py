"""The base of every declared shape (webapp.core.validation for requests, webapp.core.envelope and
the packages' schemas modules for answers): pydantic models whose names are their names in
/openapi.json."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, GenerateJsonSchema, JsonSchemaMode


class Described(GenerateJsonSchema):
    """JSON Schema without pydantic's generated property titles and `default: null`: a property's
    name and its `description` say it."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def generate(self, schema: Any, mode: JsonSchemaMode = "validation") -> dict[str, Any]:
        document = super().generate(schema, mode)
        for model in [document, *document.get("$defs", {}).values()]:
            for prop in model.get("properties", {}).values():
                if "default" in prop and prop["default"] is None:
                    del prop["default"]
        return document


MODELS: dict[str, type[Shape]] = {}


class Shape(BaseModel):
    """A declared shape: every model of a request or a response. Its name is its name in
    /openapi.json, so names are unique. JSON uses the aliases (`from`, `contactName`)."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        known = MODELS.setdefault(cls.__name__, cls)
        if known is not cls and f"{known.__module__}.{known.__qualname__}" != f"{cls.__module__}.{cls.__qualname__}":
            raise TypeError(f"two declared shapes are named {cls.__name__}: {known.__module__}, {cls.__module__}")

    @classmethod
    def model_json_schema(
        cls,
        by_alias: bool = True,
        ref_template: str = DEFAULT_REF_TEMPLATE,
        schema_generator: type[GenerateJsonSchema] = Described,
        mode: JsonSchemaMode = "validation",
        **kwargs: Any,
    ) -> dict[str, Any]:
        return super().model_json_schema(by_alias, ref_template, schema_generator, mode, **kwargs)


