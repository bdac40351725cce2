"""Refusals of the members domain, each with its stable code (a POS acts on the code)."""

from memberpos.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)


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


class TierNotFound(NotFound):
    code = "tier_not_found"
    title = "No such tier"
    message_zh = "会员等级不存在"


class DuplicateTier(Conflict):
    code = "duplicate_tier"
    title = "A tier with that code or rank exists already"
    message_zh = "等级代码或级别已存在"


class TierThresholdsOutOfOrder(InvalidInput):
    code = "tier_thresholds_out_of_order"
    title = "A higher tier must need more qualifying spend than a lower one"
    message_zh = "高等级的消费门槛必须高于低等级"


class NotAPaidTier(DomainError):
    code = "not_a_paid_tier"
    status = 422
    title = "That tier is not sold as a paid membership"
    message_zh = "该等级不是付费会员等级"


class TierChangeRefused(Conflict):
    code = "tier_change_refused"
    title = "That tier change is not allowed"
    message_zh = "不允许此等级变更"


class FamilyLimitExceeded(DomainError):
    code = "family_limit_exceeded"
    status = 422
    title = "This child card has reached the spending limit its parent set"
    message_zh = "附卡消费已超出主卡设定的限额"


class NotAFamilyChild(DomainError):
    code = "not_a_family_child"
    status = 422
    title = "This member is not attached to a parent card"
    message_zh = "该会员不是附卡"


class FamilyLinkInactive(Forbidden):
    code = "family_link_inactive"
    title = "This child card was detached from its parent card"
    message_zh = "该附卡已与主卡解除关联"


class FamilyLinkRefused(Conflict):
    code = "family_link_refused"
    title = "These two members cannot be linked as parent and child"
    message_zh = "无法建立主附卡关系"


class ChildAlreadyAttached(Conflict):
    code = "child_already_attached"
    title = "This member is already attached to a parent card"
    message_zh = "该会员已是其他主卡的附卡"


class FamilyLinkNotFound(NotFound):
    code = "family_link_not_found"
    title = "No such child card on this parent"
    message_zh = "未找到该附卡关系"


class ParentConsentRequired(DomainError):
    code = "parent_consent_required"
    status = 403
    title = "The parent's payment PIN or a store manager must approve this"
    message_zh = "需要主卡持有人的支付密码或店长授权"


class ReleaseExceedsReservation(InvalidInput):
    code = "release_exceeds_reservation"
    title = "More is being given back than the child card spent"
    message_zh = "退回金额超过附卡消费金额"


class SpendSourceConflict(Conflict):
    code = "spend_source_conflict"
    title = "That sale or refund was recorded already with different figures"
    message_zh = "该单据已记录且内容不同"


class MergeNotAllowed(Forbidden):
    code = "merge_not_allowed"
    title = "Only an HQ administrator may merge members"
    message_zh = "仅总部管理员可合并会员"


class MergeRefused(Conflict):
    code = "merge_refused"
    title = "These members cannot be merged"
    message_zh = "无法合并这两个会员"


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429
    title = "Too many attempts; try again later"
    message_zh = "尝试次数过多，请稍后再试"


class InvalidSignInCode(Unauthenticated):
    code = "invalid_code"
    title = "Wrong or expired sign-in code"
    message_zh = "验证码错误或已过期"


class PinNotSet(Conflict):
    code = "pin_not_set"
    title = "This card has no payment PIN; sign in with your phone number instead"
    message_zh = "该卡未设置支付密码，请使用手机验证码登录"


class InvalidMemberToken(Unauthenticated):
    code = "invalid_member_token"
    title = "Missing, expired or revoked member sign-in"
    message_zh = "会员登录已失效，请重新登录"


class BirthdayAlreadySet(Conflict):
    code = "birthday_already_set"
    title = "The birthday can be set once; ask at a store to correct it"
    message_zh = "生日只能设置一次，如需更正请到门店办理"


class NoActiveCard(Conflict):
    code = "no_active_card"
    title = "This member has no usable card; ask at a store for a new one"
    message_zh = "没有可用的会员卡，请到门店补办"


CARD_STATUS_ERRORS: dict[str, type[DomainError]] = {
    "lost": CardLost,
    "frozen": CardFrozen,
    "replaced": CardReplaced,
    "cancelled": CardCancelled,
}
