"""RFC 9457 problem+json for every refusal, with a stable machine ``code``.

One exception handler turns domain errors, Litestar's own HTTP errors and validation
failures into the same shape; a bug becomes a 500 ``internal_error`` without internals.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from memberpos.errors import DomainError

log = logging.getLogger("memberpos.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"

_HTTP_CODES = {
    400: ("bad_request", "Bad request", "请求格式有误"),
    401: ("unauthenticated", "Sign-in required", "需要登录"),
    403: ("forbidden", "Not allowed", "无权操作"),
    404: ("not_found", "Not found", "未找到"),
    405: ("method_not_allowed", "Method not allowed", "不支持该请求方法"),
    409: ("conflict", "Conflict", "状态冲突"),
    413: ("payload_too_large", "Request too large", "请求过大"),
    415: ("unsupported_media_type", "Unsupported media type", "不支持的内容类型"),
    429: ("too_many_requests", "Too many requests", "请求过于频繁"),
    500: ("internal_error", "Internal error", "系统内部错误"),
    503: ("service_unavailable", "Service unavailable", "服务暂不可用"),
}
_FIELD_IN_MESSAGE = re.compile(r"at `\$\.?([^`]*)`|unknown field `([^`]*)`")


def wants_chinese(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("accept-language", "").lower().startswith("zh")


def problem(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    title: str,
    title_zh: str,
    detail: str,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"urn:memberpos:problem:{code}",
        "title": title_zh if wants_chinese(request) else title,
        "status": status,
        "code": code,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def _validation_errors(exc: ValidationException) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        field = item.get("key") or ""
        found = _FIELD_IN_MESSAGE.search(message)
        if found and (found.group(1) or found.group(2)):
            field = found.group(1) or found.group(2)
        errors.append(
            {"field": str(field), "message": message, "source": str(item.get("source", ""))}
        )
    return errors


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, DomainError):
        return problem(
            request,
            status=exc.status,
            code=exc.code,
            title=exc.title,
            title_zh=exc.message_zh,
            detail=exc.detail,
            field=exc.field,
            **exc.extra,
        )
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"field": "", "message": exc.detail}
        return problem(
            request,
            status=400,
            code="validation_error",
            title="Invalid input",
            title_zh="输入有误",
            detail=first["message"] or exc.detail,
            field=first["field"] or None,
            errors=errors or None,
        )
    if isinstance(exc, HTTPException):
        code, title, title_zh = _HTTP_CODES.get(
            exc.status_code, ("http_error", "Request failed", "请求失败")
        )
        return problem(
            request,
            status=exc.status_code,
            code=code,
            title=title,
            title_zh=title_zh,
            detail=exc.detail or title,
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    code, title, title_zh = _HTTP_CODES[500]
    return problem(
        request,
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        code=code,
        title=title,
        title_zh=title_zh,
        detail="The server failed while handling this request.",
    )


EXCEPTION_HANDLERS = {Exception: handle_exception}
