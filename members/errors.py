"""Refusals of the members domain, each with its stable code (a POS acts on the code)."""

from memberpos.errors import Conflict, DomainError, InvalidInput, NotFound


class InvalidPhone(InvalidInput):
    code = "invalid_phone"
    title = "That is not a valid mobile number"
    message_zh = "手机号格式不正确"


class InvalidCardNumber(InvalidInput):
    code = "invalid_card_number"
    title = "That card number is mistyped (check digit)"
    message_zh = "卡号有误（校验位不符）"


class UnknownMember(NotFound):
    code = "unknown_member"
    title = "No member with that card, code or phone"
    message_zh = "未找到该会员"


class UnknownCard(NotFound):
    code = "unknown_card"
    title = "No such card"
    message_zh = "卡号不存在"


class InvalidQrToken(DomainError):
    code = "invalid_qr_token"
    status = 422
    title = "The member QR code is expired or not genuine; ask for a fresh one"
    message_zh = "会员码已过期或无效，请刷新会员码"


class CardLost(Conflict):
    code = "card_lost"
    title = "This card was reported lost"
    message_zh = "该卡已挂失"


class CardFrozen(Conflict):
    code = "card_frozen"
    title = "This card is frozen"
    message_zh = "该卡已冻结"


class CardReplaced(Conflict):
    code = "card_replaced"
    title = "This card was replaced by a new card"
    message_zh = "该卡已换新卡，旧卡作废"


class CardCancelled(Conflict):
    code = "card_cancelled"
    title = "This card is cancelled"
    message_zh = "该卡已注销"


class MembershipCancelled(Conflict):
    code = "membership_cancelled"
    title = "This membership is cancelled"
    message_zh = "该会员已注销"


class CardTransitionRefused(Conflict):
    code = "card_transition_refused"
    title = "That card operation is not allowed in the card's current state"
    message_zh = "当前卡状态不允许此操作"


class WrongPin(DomainError):
    code = "wrong_pin"
    status = 403
    title = "Wrong payment PIN"
    message_zh = "支付密码错误"


class PinLocked(DomainError):
    code = "pin_locked"
    status = 429
    title = "Too many wrong PINs; the card's payments are locked for a while"
    message_zh = "密码错误次数过多，请稍后再试"


class UnknownTier(DomainError):
    code = "unknown_tier"
    status = 422
    title = "Unknown tier code"
    message_zh = "会员等级不存在"


CARD_STATUS_ERRORS: dict[str, type[DomainError]] = {
    "lost": CardLost,
    "frozen": CardFrozen,
    "replaced": CardReplaced,
    "cancelled": CardCancelled,
}
