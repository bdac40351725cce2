"""Refusals of the printing domain, each with a stable ``code`` the till can act on."""

from __future__ import annotations

from memberpos.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound


class InvalidPrintRequest(InvalidInput):
    code = "invalid_print_request"
    title = "The print request is not valid"
    message_zh = "打印请求无效"


class PrintJobNotFound(NotFound):
    code = "print_job_not_found"
    title = "No such print job"
    message_zh = "打印任务不存在"


class PrintJobNotRetryable(Conflict):
    code = "print_job_not_retryable"
    title = "Only a queued or failed print job can be retried"
    message_zh = "只有排队中或失败的打印任务可以重试"


class PrintJobNotPrinted(Conflict):
    code = "print_job_not_printed"
    title = "Only a printed job can be reprinted; retry a job that has not printed"
    message_zh = "只有已打印的任务可以重印，未打印的任务请重试"


class ManagerApprovalRequired(Forbidden):
    code = "manager_approval_required"
    title = "A reprint needs a store manager's employee number and PIN"
    message_zh = "重印需要店长输入工号和密码"


class ManagerApprovalRefused(Forbidden):
    code = "manager_approval_refused"
    title = "Wrong employee number or PIN, or not a manager of this store"
    message_zh = "工号或密码错误，或不是本店店长"


class TooManyPinAttempts(DomainError):
    code = "too_many_pin_attempts"
    status = 429
    title = "Too many wrong manager PINs at this till; try again later"
    message_zh = "本收银机店长密码错误次数过多，请稍后再试"
