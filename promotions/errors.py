"""Refusals of promotions and coupons, each with its stable code (the pricing engine's own
refusals live in ``promotions.engine``)."""

from __future__ import annotations

from memberpos.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound


class PromotionNotFound(NotFound):
    code = "promotion_not_found"
    title = "No such promotion"
    message_zh = "未找到该促销活动"


class DuplicatePromotion(Conflict):
    code = "promotion_exists"
    title = "A promotion with that code already exists"
    message_zh = "该促销编码已存在"


class PromotionStatusConflict(Conflict):
    code = "promotion_status_conflict"
    title = "The promotion cannot change that way in its current status"
    message_zh = "促销活动当前状态不允许此操作"


class PromotionSoldOut(Conflict):
    """A limit of an applied promotion would be passed: the till must quote again."""

    code = "promotion_sold_out"
    title = "A promotion in this sale has just reached its limit; quote the basket again"
    message_zh = "本单中的促销已达上限，请重新计价"


class InvalidLimit(InvalidInput):
    code = "invalid_limit"
    title = "A promotion limit must be a positive whole number"
    message_zh = "促销限量必须为正整数"


class CouponBatchNotFound(NotFound):
    code = "coupon_batch_not_found"
    title = "No such coupon batch"
    message_zh = "未找到该优惠券批次"


class DuplicateCouponBatch(Conflict):
    code = "coupon_batch_exists"
    title = "A coupon batch with that code already exists"
    message_zh = "该优惠券批次编码已存在"


class InvalidCouponBatch(InvalidInput):
    code = "invalid_coupon_batch"
    title = "The coupon batch is not valid"
    message_zh = "优惠券批次设置有误"


class InvalidCouponCode(InvalidInput):
    code = "invalid_coupon_code"
    title = "That is not a valid coupon code (mistyped?)"
    message_zh = "优惠券码无效（请检查输入）"


class CouponNotFound(NotFound):
    code = "coupon_not_found"
    title = "No such coupon"
    message_zh = "未找到该优惠券"


class CouponExpired(DomainError):
    code = "coupon_expired"
    status = 422
    title = "The coupon has expired"
    message_zh = "优惠券已过期"


class CouponNotStarted(DomainError):
    code = "coupon_not_started"
    status = 422
    title = "The coupon is not valid yet"
    message_zh = "优惠券尚未生效"


class CouponUsedUp(Conflict):
    code = "coupon_used_up"
    title = "The coupon has already been used"
    message_zh = "优惠券已使用"


class CouponNotYours(Forbidden):
    code = "coupon_not_yours"
    title = "The coupon was issued to another member"
    message_zh = "该优惠券属于其他会员"


class CouponNotValidHere(DomainError):
    code = "coupon_not_valid_here"
    status = 422
    title = "The coupon is not valid in this store"
    message_zh = "该优惠券不适用于本店"


class UnknownMember(InvalidInput):
    code = "unknown_member"
    status = 422
    title = "No such member"
    message_zh = "未找到该会员"
