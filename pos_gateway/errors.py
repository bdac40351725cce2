"""Refusals of the POS gateway, each with the stable code a till acts on."""

from memberpos.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    title = "This transaction id was already used for a different request"
    message_zh = "该交易号已用于另一笔不同的请求"


class RequestInProgress(Conflict):
    code = "request_in_progress"
    title = "The same transaction is being processed; retry in a moment"
    message_zh = "该交易正在处理中，请稍后重试"


class PaymentsMismatch(DomainError):
    code = "payments_mismatch"
    status = 422
    title = "The payments do not add up to the amount due"
    message_zh = "支付金额与应付金额不符"


class PriceChanged(Conflict):
    code = "price_changed"
    title = "The basket prices differently now; quote it again"
    message_zh = "商品价格或优惠已变化，请重新计价"


class ManagerRequired(Forbidden):
    code = "manager_authorisation_required"
    title = "A manager's authorisation is needed for this"
    message_zh = "需要店长授权"


class ManagerNotAuthorised(Forbidden):
    code = "manager_not_authorised"
    title = "That staff member cannot authorise this at this store"
    message_zh = "该员工无权在本店授权此操作"


class SaleNotFound(NotFound):
    code = "sale_not_found"
    title = "No sale with that number"
    message_zh = "未找到该销售单"


class StoreMismatch(Forbidden):
    code = "store_mismatch"
    title = "That belongs to another store"
    message_zh = "该单据属于其他门店"


class RefundExceedsSale(DomainError):
    code = "refund_exceeds_sale"
    status = 422
    title = "That is more than was sold and not yet refunded"
    message_zh = "退货数量超过可退数量"


class NothingToRefund(DomainError):
    code = "nothing_to_refund"
    status = 422
    title = "Everything on that sale has been refunded already"
    message_zh = "该销售单已全部退货"


class UnknownLine(InvalidInput):
    code = "unknown_sale_line"
    title = "That sale has no such line"
    message_zh = "该销售单没有此行"


class UnknownSalesperson(DomainError):
    code = "unknown_salesperson"
    status = 422
    title = "No active salesperson with that employee number"
    message_zh = "营业员工号不存在或已停用"


class SalespersonShares(InvalidInput):
    code = "salesperson_shares_invalid"
    title = "Salesperson shares must all be given and total 100%"
    message_zh = "营业员分成比例须全部填写且合计为100%"


class MemberRequired(DomainError):
    code = "member_required"
    status = 422
    title = "Points and stored value need the member's card"
    message_zh = "积分和储值支付需要先识别会员"


class PaymentPinRequired(Forbidden):
    code = "payment_pin_required"
    title = "The member's payment PIN is needed for this stored-value payment"
    message_zh = "储值支付需要会员输入支付密码"


class PointsValueMismatch(InvalidInput):
    code = "points_value_mismatch"
    title = "The points do not match the amount at the redemption rate"
    message_zh = "积分数量与抵扣金额不符"


class OfflinePaymentNotAllowed(DomainError):
    code = "offline_payment_not_allowed"
    status = 422
    title = "Offline sales take cash or bank card only"
    message_zh = "离线销售仅支持现金或银行卡"


class ChangeNotCash(DomainError):
    code = "change_without_cash"
    status = 422
    title = "Only a cash payment can exceed the amount due (change)"
    message_zh = "只有现金支付可以找零"


class UnknownCashier(DomainError):
    code = "unknown_cashier"
    status = 422
    title = "No active staff member with that employee number at this store"
    message_zh = "收银员工号不存在"


class BatchItemInvalid(InvalidInput):
    code = "batch_item_invalid"
    title = "A batch item is not a valid request of its kind"
    message_zh = "批量上传中的单据格式有误"
