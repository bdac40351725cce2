"""Domain errors: one type per refusal, each with a stable machine ``code``.

Domain modules raise these; the web layer turns them into RFC 9457 problem+json once, in
``memberpos.problems``. No HTTP code lives in a domain module other than as the class
attribute ``status`` here, which is the one place that maps a refusal to its HTTP meaning.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal the caller can act on. Subclasses set ``code``, ``status`` and messages."""

    code: ClassVar[str] = "domain_error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request refused"
    message_zh: ClassVar[str] = "请求被拒绝"

    def __init__(self, detail: str | None = None, *, field: str | None = None, **extra: Any):
        self.detail = detail or self.title
        self.field = field
        self.extra = extra
        super().__init__(self.detail)


class InvalidInput(DomainError):
    code = "validation_error"
    status = 400
    title = "Invalid input"
    message_zh = "输入有误"


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"
    message_zh = "未找到"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict with the current state"
    message_zh = "与当前状态冲突"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401
    title = "Sign-in required"
    message_zh = "需要登录"


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    title = "Not allowed"
    message_zh = "无权操作"


class OutOfScope(Forbidden):
    code = "store_out_of_scope"
    title = "That store is outside your scope"
    message_zh = "该门店不在您的权限范围内"
