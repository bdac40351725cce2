"""The chain: HQ → regions → stores, terminals and their keys, staff, roles and sign-in,
the product catalog with store prices, and the audit log. (Commission lands here too.)"""
