"""Pydantic's validation errors as the platform's field errors, in Chinese."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ValidationError

from doudi.core.errors import FieldError, ValidationFailed

# Pydantic error types → what a person reads; anything else keeps a generic message.
MESSAGES = {
    "missing": "必填",
    "decimal_parsing": "金额格式不正确", "decimal_type": "金额格式不正确", "finite_number": "金额格式不正确",
    "int_parsing": "应为整数", "int_type": "应为整数", "int_from_float": "应为整数",
    "float_parsing": "应为数字", "float_type": "应为数字",
    "date_parsing": "应为 YYYY-MM-DD 日期", "date_from_datetime_parsing": "应为 YYYY-MM-DD 日期",
    "date_type": "应为 YYYY-MM-DD 日期", "datetime_parsing": "应为日期时间",
    "datetime_from_date_parsing": "应为日期时间",
    "bool_parsing": "应为 是/否", "bool_type": "应为 是/否",
    "string_type": "应为文字", "string_too_short": "内容过短", "string_too_long": "内容过长",
    "list_type": "应为列表", "dict_type": "格式不正确", "model_type": "格式不正确",
    "model_attributes_type": "格式不正确", "literal_error": "取值不在允许范围内", "enum": "取值不在允许范围内",
    "greater_than": "数值过小", "greater_than_equal": "数值过小",
    "less_than": "数值过大", "less_than_equal": "数值过大",
}
_SKIP = {"body", "query", "path", "form"}


def message_of(error: Mapping[str, Any]) -> str:
    """The Chinese message of one Pydantic error (a validator's own message is kept, it is already Chinese)."""
    if error.get("type") == "value_error":
        return str(error.get("ctx", {}).get("error", error.get("msg", "格式不正确")))
    return MESSAGES.get(str(error.get("type")), "格式不正确")


def field_errors(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    """Field errors named by their dotted path (without FastAPI's body/query prefix)."""
    return [FieldError(".".join(str(p) for p in e["loc"] if p not in _SKIP), message_of(e)) for e in errors]


def from_pydantic(exc: ValidationError) -> ValidationFailed:
    """A model's validation error as ValidationFailed."""
    return ValidationFailed(field_errors(exc.errors()))


# Bounds of identifiers and page numbers in the API: what both databases store (PostgreSQL's INTEGER), so a
# larger number is a 422 naming the field, never a database error.
MAX_ID = 2_147_483_647
MAX_PAGE = 100_000
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="编号")]


class ErrorItem(BaseModel):
    """One problem with one field (or one row and field of a file)."""

    field: str
    message: str
    row: int | None = None


class ErrorOut(BaseModel):
    """The one error body of the API: a Chinese message and, for bad input, every field error."""

    detail: str
    errors: list[ErrorItem] | None = None


# Documented on every API operation (the handlers in main.py answer with ErrorOut for each of them).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text} for status, text in {
        400: "请求无法处理", 401: "未认证或令牌已失效", 403: "无权执行此操作", 404: "未找到，或不在管辖范围内",
        409: "记录已被他人修改，或操作已完成", 422: "输入有误（逐项列出）", 503: "系统繁忙，请稍后重试"}.items()}
