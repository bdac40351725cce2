"""Refusals of the commission domain, each with its stable code."""

from memberpos.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound


class CommissionRuleNotFound(NotFound):
    code = "commission_rule_not_found"
    title = "No such commission rule"
    message_zh = "提成规则不存在"


class InvalidCommissionRule(InvalidInput):
    code = "invalid_commission_rule"
    title = "The commission rule is not consistent"
    message_zh = "提成规则设置有误"


class CommissionRuleInUse(Conflict):
    code = "commission_rule_in_use"
    title = "The rule has paid commission already; end it with valid_until instead"
    message_zh = "该规则已产生提成，请设置截止日期而不是删除"


class InvalidCommissionSale(InvalidInput):
    code = "invalid_commission_sale"
    title = "The sale handed to commission is not consistent"
    message_zh = "提成所用销售数据有误"


class UnknownSalesperson(DomainError):
    code = "unknown_salesperson"
    status = 422
    title = "Unknown salesperson"
    message_zh = "营业员不存在"


class SaleCommissionNotRecorded(Conflict):
    code = "sale_commission_not_recorded"
    title = "No commission was recorded for the refunded sale"
    message_zh = "被退货的销售没有提成记录"


class RefundExceedsSale(Conflict):
    code = "refund_exceeds_sale"
    title = "More is refunded than the sale line sold"
    message_zh = "退货数量超过原销售数量"


class PeriodNotEnded(Conflict):
    code = "commission_period_not_ended"
    title = "The month has not ended yet in the store's time zone"
    message_zh = "该月尚未结束，不能结算"


class PeriodAlreadyClosed(Conflict):
    code = "commission_period_closed"
    title = "The commission period is closed already"
    message_zh = "该提成周期已结算"


class NotOwnStatement(Forbidden):
    code = "not_own_statement"
    title = "A salesperson sees only their own commission statement"
    message_zh = "营业员只能查看本人的提成明细"


__all__ = [name for name in dir() if name[0].isupper()]
