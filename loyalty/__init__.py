"""The points and stored-value ledgers: earning, redeeming, expiry, top-ups and their bonus,
prepaid service packages, manual adjustments, liability figures and the nightly jobs.

Where to look: ``points`` and ``stored_value`` (the ledgers the POS gateway posts to inside a
sale's transaction), ``earning`` (how many points, may these points pay), ``packages``
(次卡 / 项目储值), ``adjustments``, ``merge`` (member-merge hook), ``liability``, ``jobs`` and
``cli`` (``memberpos jobs``), ``views`` (read models), ``api`` (HQ and /api/v1/me), ``verify``.
"""
