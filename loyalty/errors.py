"""Refusals of the ledgers, each with its stable code."""

from memberpos.errors import Conflict, DomainError, InvalidInput, NotFound


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


class AdjustmentConflict(Conflict):
    code = "adjustment_conflict"
    title = "That adjustment id was used for a different adjustment"
    message_zh = "该调整单号已用于另一笔调整"


class PackageNotFound(NotFound):
    code = "package_not_found"
    title = "No such service package for this member"
    message_zh = "未找到该会员的次卡/项目"


class PackageProductNotFound(NotFound):
    code = "package_product_not_found"
    title = "No such package product"
    message_zh = "未找到该次卡商品"


class PackageExpired(Conflict):
    code = "package_expired"
    title = "This service package has expired"
    message_zh = "该次卡已过期"


class PackageUsedUp(Conflict):
    code = "package_used_up"
    title = "No uses left on this service package"
    message_zh = "该次卡剩余次数不足"


class PackageWrongStore(Conflict):
    code = "package_wrong_store"
    title = "This service package can only be used at its own store"
    message_zh = "该次卡仅限指定门店使用"


class PackageNotActive(Conflict):
    code = "package_not_active"
    title = "This service package is closed (refunded, expired or merged)"
    message_zh = "该次卡已关闭（已退、已过期或已合并）"


class SourceConflict(Conflict):
    code = "idempotency_conflict"
    title = "That source id was already used for a different posting"
    message_zh = "该单号已用于另一笔记账"
