"""Refusals of the ledgers, each with its stable code."""

from memberpos.errors import Conflict, DomainError, InvalidInput


class InsufficientPoints(Conflict):
    code = "insufficient_points"
    title = "Not enough spendable points"
    message_zh = "可用积分不足"


class InsufficientStoredValue(Conflict):
    code = "insufficient_stored_value"
    title = "Not enough stored value on the card"
    message_zh = "储值余额不足"


class DailyLimitExceeded(Conflict):
    code = "stored_value_daily_limit"
    title = "This spend is over the card's daily stored-value limit"
    message_zh = "超出储值卡每日消费限额"


class RedemptionRefused(DomainError):
    code = "points_redemption_refused"
    status = 422
    title = "Those points cannot pay for this basket"
    message_zh = "积分抵扣不符合规则"


class AdjustmentRefused(DomainError):
    code = "adjustment_refused"
    status = 403
    title = "That adjustment is beyond your role's limit"
    message_zh = "调整超出您的权限额度"


class InvalidAmount(InvalidInput):
    code = "invalid_amount"
    title = "The amount must be a positive whole number of minor units"
    message_zh = "金额必须为正整数（分）"


class TopUpNotRefundable(Conflict):
    code = "top_up_not_refundable"
    title = "Nothing of that top-up can be refunded"
    message_zh = "该充值已无可退金额"
