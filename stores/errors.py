"""Refusals of the chain domain, each with its stable code."""

from memberpos.errors import Conflict, DomainError, InvalidInput, NotFound, Unauthenticated


class StoreNotFound(NotFound):
    code = "store_not_found"
    title = "No such store"
    message_zh = "门店不存在"


class UnknownStore(DomainError):
    code = "unknown_store"
    status = 422
    title = "Unknown store code"
    message_zh = "门店代码不存在"


class UnknownRegion(DomainError):
    code = "unknown_region"
    status = 422
    title = "Unknown region code"
    message_zh = "区域代码不存在"


class RegionNotFound(NotFound):
    code = "region_not_found"
    title = "No such region"
    message_zh = "区域不存在"


class DuplicateCode(Conflict):
    code = "duplicate_code"
    title = "That code is already in use"
    message_zh = "代码已被使用"


class DuplicateTerminalName(Conflict):
    code = "duplicate_terminal_name"
    title = "A terminal of that name already exists in this store"
    message_zh = "该门店已有同名终端"


class TerminalNotFound(NotFound):
    code = "terminal_not_found"
    title = "No such terminal"
    message_zh = "终端不存在"


class TerminalRevoked(Unauthenticated):
    code = "terminal_revoked"
    title = "This terminal's key has been revoked"
    message_zh = "该终端密钥已被吊销"


class InvalidTerminalKey(Unauthenticated):
    code = "invalid_terminal_key"
    title = "Missing or invalid terminal key"
    message_zh = "终端密钥缺失或无效"


class StoreNotTrading(Unauthenticated):
    code = "store_not_trading"
    title = "This terminal's store is not trading"
    message_zh = "该终端所属门店未营业"


class StaffNotFound(NotFound):
    code = "staff_not_found"
    title = "No such staff member"
    message_zh = "员工不存在"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    title = "Wrong employee number or password"
    message_zh = "工号或密码错误"


class InvalidToken(Unauthenticated):
    code = "invalid_token"
    title = "Missing, expired or revoked sign-in token"
    message_zh = "登录令牌缺失、过期或已失效"


class RoleNotGrantable(DomainError):
    code = "role_not_grantable"
    status = 403
    title = "You may not grant that role"
    message_zh = "您无权授予该角色"


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "No such product"
    message_zh = "商品不存在"


class UnknownCategory(DomainError):
    code = "unknown_category"
    status = 422
    title = "Unknown category code"
    message_zh = "品类代码不存在"


class UnknownBrand(DomainError):
    code = "unknown_brand"
    status = 422
    title = "Unknown brand code"
    message_zh = "品牌代码不存在"


class MemberPriceAboveRetail(InvalidInput):
    code = "member_price_above_retail"
    title = "The member price may not be above the retail price"
    message_zh = "会员价不能高于零售价"


__all__ = [name for name in dir() if name[0].isupper()]
